//! Keeps the model's embedding tables int8 in memory.
//!
//! The int8 MiniLM stores each weight `w` as `q` (int8) and a scale `s`,
//! and rebuilds it in the graph as `w = Cast(q) × s`. ONNX Runtime folds
//! those constants when it loads the model, so every table is held as f32:
//! the word-embedding table alone (30,522 × 384) becomes 47 MB. A lookup
//! reads a few rows of it per text, so [`rewrite`] moves the lookup in
//! front of the rebuild:
//!
//! ```text
//! before: Gather(Cast(q) × s, ids)            table kept as f32
//! after:  Cast(Gather(q, ids)) × Gather(s, ids)   table kept as int8
//! ```
//!
//! Both compute `f32(q[i][j]) × s[i]` for each looked-up row `i`: the same
//! floats in the same order, so the vectors do not change
//! (`embedding_parity` compares them with the Python reference on the file
//! as published). Matrix weights are left as they are: a product needs
//! every element of its matrix on every call.
//!
//! The ONNX file is a protobuf; only the fields this rewrite reads are
//! decoded ([`Message`]), every other byte is written back unchanged.

use super::onnx_proto::{Edits, Graph, GraphError, NODE_NAME};

/// One table lookup to move: node indexes and names.
struct Lookup {
    gather: usize,
    mul: usize,
    cast: usize,
    table_q: String,
    scale: String,
    ids: String,
    output: String,
}

/// Find `Gather(Mul(Cast(q), s), ids)` on axis 0 where `q` is an
/// initializer of `rows × columns`, `s` one of `rows × 1`, and the rebuilt
/// table is used by nothing else.
fn find_lookups(graph: &Graph) -> Result<Vec<Lookup>, GraphError> {
    let mut found = Vec::new();
    for (gather, node) in graph.nodes.iter().enumerate() {
        if node.op != "Gather" || node.inputs.len() != 2 || node.outputs.len() != 1 {
            continue;
        }
        if node.int_attribute("axis")?.unwrap_or(0) != 0 {
            continue;
        }
        let Some(table) = graph.rebuilt(&node.inputs[0])? else {
            continue;
        };
        let (Some(table_dims), Some(scale_dims)) =
            (graph.dims.get(&table.q), graph.dims.get(&table.scale))
        else {
            continue;
        };
        if table_dims.len() != 2 || scale_dims[..] != [table_dims[0], 1] {
            continue;
        }
        found.push(Lookup {
            gather,
            mul: table.mul,
            cast: table.cast,
            table_q: table.q,
            scale: table.scale,
            ids: node.inputs[1].clone(),
            output: node.outputs[0].clone(),
        });
    }
    Ok(found)
}

/// The model with its table lookups moved in front of the int8 rebuild,
/// and how many were moved (0: the bytes come back unchanged).
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph = Graph::decode(model)?;
    let lookups = find_lookups(&graph)?;
    if lookups.is_empty() {
        return Ok((model.to_vec(), 0));
    }

    // Each lookup's three nodes become four, placed where the Gather was
    // (its inputs exist there); the rebuilt table's names are gone, and so
    // are their shape hints.
    let mut edits = Edits::default();
    for lookup in &lookups {
        let rows_q = format!("{}.int8_rows", lookup.output);
        let rows_f = format!("{}.f32_rows", lookup.output);
        let row_scales = format!("{}.row_scales", lookup.output);
        let gather = &graph.nodes[lookup.gather];
        let mut scale_gather = gather.rewired(&[&lookup.scale, &lookup.ids], &[&row_scales]);
        let name = gather.message.string(NODE_NAME).unwrap_or_default();
        scale_gather.set_strings(NODE_NAME, &[&format!("{name}.row_scales")]);
        edits.replaced.insert(
            lookup.gather,
            vec![
                gather.rewired(&[&lookup.table_q, &lookup.ids], &[&rows_q]),
                scale_gather,
                graph.nodes[lookup.cast].rewired(&[&rows_q], &[&rows_f]),
                graph.nodes[lookup.mul].rewired(&[&rows_f, &row_scales], &[&lookup.output]),
            ],
        );
        edits.dropped.extend([lookup.cast, lookup.mul]);
        edits
            .stale_names
            .extend(graph.nodes[lookup.mul].outputs.iter().cloned());
        edits
            .stale_names
            .extend(graph.nodes[lookup.cast].outputs.iter().cloned());
    }
    let moved = lookups.len();
    Ok((graph.encode(edits)?, moved))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::onnx_proto::testing::*;
    use super::super::onnx_proto::*;
    use super::*;

    /// A model shaped like the MiniLM's embedding: q, s → Cast → Mul →
    /// Gather, then a consumer of the lookup.
    fn model(scale_dims: &[i64], axis: Option<i64>) -> Vec<u8> {
        let graph = Message(vec![
            node("Cast", &["w_q"], &["w_f"], None),
            node("Mul", &["w_f", "w_scale"], &["w"], None),
            node("Gather", &["w", "ids"], &["emb"], axis),
            node("Add", &["emb", "pos"], &["sum"], None),
            tensor("w_q", &[100, 8]),
            tensor("w_scale", scale_dims),
            value_info("w"),
            value_info("emb"),
        ]);
        Message(vec![
            Field {
                number: 1,
                wire: VARINT,
                value: vec![8],
            },
            message_field(MODEL_GRAPH, &graph),
        ])
        .encode()
    }

    #[test]
    fn decoding_and_encoding_give_back_the_same_bytes() {
        let bytes = model(&[100, 1], Some(0));
        assert_eq!(Message::decode(&bytes).unwrap().encode(), bytes);
    }

    #[test]
    fn the_lookup_moves_in_front_of_the_rebuild() {
        let (rewritten, moved) = rewrite(&model(&[100, 1], Some(0))).unwrap();
        assert_eq!(moved, 1);
        let graph = graph_of(&rewritten);
        assert_eq!(
            ops(&graph),
            vec![
                (
                    "Gather".into(),
                    strs(&["w_q", "ids"]),
                    strs(&["emb.int8_rows"])
                ),
                (
                    "Gather".into(),
                    strs(&["w_scale", "ids"]),
                    strs(&["emb.row_scales"])
                ),
                (
                    "Cast".into(),
                    strs(&["emb.int8_rows"]),
                    strs(&["emb.f32_rows"])
                ),
                (
                    "Mul".into(),
                    strs(&["emb.f32_rows", "emb.row_scales"]),
                    strs(&["emb"])
                ),
                ("Add".into(), strs(&["emb", "pos"]), strs(&["sum"])),
            ]
        );
        // The rebuilt table's shape hint is gone; the lookup's stays.
        let hints: Vec<String> = graph
            .messages(GRAPH_VALUE_INFO)
            .unwrap()
            .iter()
            .filter_map(|v| v.string(VALUE_INFO_NAME))
            .collect();
        assert_eq!(hints, strs(&["emb"]));
        // Node names stay unique.
        let names: HashSet<String> = graph
            .messages(GRAPH_NODE)
            .unwrap()
            .iter()
            .filter_map(|n| n.string(NODE_NAME))
            .collect();
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn other_shapes_and_axes_are_left_alone() {
        for (scale, axis) in [(&[1, 8][..], Some(0)), (&[100, 1][..], Some(1))] {
            let original = model(scale, axis);
            let (bytes, moved) = rewrite(&original).unwrap();
            assert_eq!((moved, &bytes), (0, &original));
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = model(&[100, 1], None);
        assert!(rewrite(&bytes[..bytes.len() - 3]).is_err());
    }
}
