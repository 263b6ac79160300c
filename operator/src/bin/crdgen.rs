//! Prints the `VectaDB` CRD (what `crds/vectadb.yaml` holds).
#![forbid(unsafe_code)]

fn main() {
    print!("{}", vectadb_operator::crd::crd_yaml());
}
