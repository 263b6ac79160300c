//! What provisioning did: one line per thing put in place, and whether
//! anything changed (a second `vectadb provision` reports no change).

/// The report of `vectadb provision` (and of its parts).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// What is now in place, one line per thing, for people and the operator.
    pub lines: Vec<String>,
    /// Whether this run created or changed anything.
    pub changed: bool,
}

impl Provisioned {
    /// Record one thing and whether this run created or changed it.
    pub fn step(&mut self, line: String, changed: bool) {
        self.lines.push(line);
        self.changed |= changed;
    }

    /// Append another report.
    pub fn extend(&mut self, other: Provisioned) {
        self.lines.extend(other.lines);
        self.changed |= other.changed;
    }
}
