//! Reading a CouchDB `_all_docs?include_docs=true` export as a stream: one
//! row at a time, so an export of any size is read in bounded memory.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use serde_json::Value;

/// One row of the export: its position and its document (or why it has
/// none: a row CouchDB reported as an error, or without `doc`).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub index: u64,
    pub id: Option<String>,
    pub doc: Result<Value, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the export is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("reading the export failed: {0}")]
    Io(String),
    #[error(
        "the export has no \"rows\" array (expected the output of _all_docs?include_docs=true)"
    )]
    NoRows,
}

/// Call `on_row` for every row, in order, until it returns false.
/// Returns the number of rows read.
pub fn read_rows<R: Read>(
    reader: R,
    mut on_row: impl FnMut(Row) -> bool,
) -> Result<u64, ExportError> {
    let mut deserializer = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut state = State {
        on_row: &mut on_row,
        index: 0,
        saw_rows: false,
        stopped: false,
    };
    let result = (&mut deserializer).deserialize_map(ExportVisitor { state: &mut state });
    match result {
        Ok(()) if state.saw_rows => Ok(state.index),
        Ok(()) => Err(ExportError::NoRows),
        // Stopping early leaves the rest unread on purpose.
        Err(_) if state.stopped => Ok(state.index),
        Err(error) if error.is_io() => Err(ExportError::Io(error.to_string())),
        Err(error) => Err(ExportError::Syntax {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }),
    }
}

struct State<'f> {
    on_row: &'f mut dyn FnMut(Row) -> bool,
    index: u64,
    saw_rows: bool,
    stopped: bool,
}

struct ExportVisitor<'s, 'f> {
    state: &'s mut State<'f>,
}

impl<'de> Visitor<'de> for ExportVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an _all_docs response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "rows" {
                self.state.saw_rows = true;
                map.next_value_seed(RowsSeed {
                    state: &mut *self.state,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct RowsSeed<'s, 'f> {
    state: &'s mut State<'f>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<Value>()? {
            let index = self.state.index;
            self.state.index += 1;
            let id = row
                .get("id")
                .or_else(|| row.get("key"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let doc = match (row.get("doc"), row.get("error")) {
                (Some(doc), _) if doc.is_object() => Ok(doc.clone()),
                (_, Some(error)) => Err(format!("CouchDB reported {error} for this row")),
                _ => Err("the row has no document (export with include_docs=true)".into()),
            };
            if !(self.state.on_row)(Row { index, id, doc }) {
                self.state.stopped = true;
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_one_by_one_with_their_documents() {
        let export = r#"{"total_rows": 3, "offset": 0, "rows": [
            {"id": "a", "key": "a", "value": {"rev": "1-x"}, "doc": {"_id": "a", "type": "agent"}},
            {"key": "gone", "error": "not_found"},
            {"id": "b", "key": "b", "value": {"rev": "1-y"}}
        ], "update_seq": 9}"#;
        let mut rows = Vec::new();
        let n = read_rows(export.as_bytes(), |row| {
            rows.push(row);
            true
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(rows[0].doc.as_ref().unwrap()["type"], "agent");
        assert!(rows[1].doc.as_ref().unwrap_err().contains("not_found"));
        assert_eq!(rows[1].id.as_deref(), Some("gone"));
        assert!(rows[2].doc.as_ref().unwrap_err().contains("include_docs"));
    }

    #[test]
    fn stopping_early_and_bad_exports() {
        let export =
            r#"{"rows": [{"id": "1", "doc": {}}, {"id": "2", "doc": {}}, {"id": "3", "doc": {}}]}"#;
        let mut seen = 0;
        let n = read_rows(export.as_bytes(), |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
        assert_eq!((n, seen), (2, 2));
        assert!(matches!(
            read_rows(r#"{"total_rows": 0}"#.as_bytes(), |_| true),
            Err(ExportError::NoRows)
        ));
        assert!(matches!(
            read_rows(r#"{"rows": [{"id": "1", "doc": {}}, {"#.as_bytes(), |_| {
                true
            }),
            Err(ExportError::Syntax { .. })
        ));
    }
}
