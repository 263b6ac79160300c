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

use std::collections::{HashMap, HashSet};

/// Field numbers used here (onnx.proto3).
const MODEL_GRAPH: u32 = 7;
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_OUTPUT: u32 = 12;
const GRAPH_VALUE_INFO: u32 = 13;
const NODE_INPUT: u32 = 1;
const NODE_OUTPUT: u32 = 2;
const NODE_NAME: u32 = 3;
const NODE_OP_TYPE: u32 = 4;
const NODE_ATTRIBUTE: u32 = 5;
const ATTRIBUTE_NAME: u32 = 1;
const ATTRIBUTE_INT: u32 = 3;
const TENSOR_DIMS: u32 = 1;
const TENSOR_NAME: u32 = 8;
const VALUE_INFO_NAME: u32 = 1;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A file this module cannot read as an ONNX model.
#[derive(Debug, thiserror::Error)]
#[error("the ONNX model could not be read: {0}")]
pub struct GraphError(&'static str);

/// One field of a protobuf message: its number, wire type and value bytes
/// (for a length-delimited field the payload, without its length).
#[derive(Debug, Clone, PartialEq)]
struct Field {
    number: u32,
    wire: u8,
    value: Vec<u8>,
}

/// A protobuf message as its fields, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
struct Message(Vec<Field>);

fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, GraphError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or(GraphError("truncated varint"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(GraphError("varint too long"))
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Message {
    fn decode(bytes: &[u8]) -> Result<Message, GraphError> {
        let mut fields = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let key = read_varint(bytes, &mut at)?;
            let number = u32::try_from(key >> 3).map_err(|_| GraphError("field number"))?;
            let wire = (key & 7) as u8;
            let start = at;
            let value = match wire {
                VARINT => {
                    read_varint(bytes, &mut at)?;
                    &bytes[start..at]
                }
                FIXED64 | FIXED32 => {
                    at += if wire == FIXED64 { 8 } else { 4 };
                    bytes.get(start..at).ok_or(GraphError("truncated field"))?
                }
                LEN => {
                    let len = read_varint(bytes, &mut at)? as usize;
                    let begin = at;
                    at = begin.checked_add(len).ok_or(GraphError("field length"))?;
                    bytes.get(begin..at).ok_or(GraphError("truncated field"))?
                }
                _ => return Err(GraphError("unsupported wire type")),
            };
            fields.push(Field {
                number,
                wire,
                value: value.to_vec(),
            });
        }
        Ok(Message(fields))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for field in &self.0 {
            write_varint(
                u64::from(field.number) << 3 | u64::from(field.wire),
                &mut out,
            );
            if field.wire == LEN {
                write_varint(field.value.len() as u64, &mut out);
            }
            out.extend_from_slice(&field.value);
        }
        out
    }

    fn strings(&self, number: u32) -> Vec<String> {
        self.0
            .iter()
            .filter(|f| f.number == number && f.wire == LEN)
            .map(|f| String::from_utf8_lossy(&f.value).into_owned())
            .collect()
    }

    fn string(&self, number: u32) -> Option<String> {
        self.strings(number).into_iter().next()
    }

    /// Replace every occurrence of string field `number` by `values`, at the
    /// place of the first one.
    fn set_strings(&mut self, number: u32, values: &[&str]) {
        let at = self.0.iter().position(|f| f.number == number);
        self.0.retain(|f| f.number != number);
        let new = values.iter().map(|v| Field {
            number,
            wire: LEN,
            value: v.as_bytes().to_vec(),
        });
        let at = at.unwrap_or(self.0.len()).min(self.0.len());
        self.0.splice(at..at, new);
    }

    fn messages(&self, number: u32) -> Result<Vec<Message>, GraphError> {
        self.0
            .iter()
            .filter(|f| f.number == number && f.wire == LEN)
            .map(|f| Message::decode(&f.value))
            .collect()
    }

    /// The values of repeated int64 field `number`, packed or not.
    fn ints(&self, number: u32) -> Result<Vec<i64>, GraphError> {
        let mut out = Vec::new();
        for field in self.0.iter().filter(|f| f.number == number) {
            let mut at = 0;
            while at < field.value.len() {
                out.push(read_varint(&field.value, &mut at)? as i64);
            }
        }
        Ok(out)
    }
}

/// A node of the graph, decoded enough to be rewired.
struct Node {
    message: Message,
    op: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl Node {
    fn new(message: Message) -> Node {
        Node {
            op: message.string(NODE_OP_TYPE).unwrap_or_default(),
            inputs: message.strings(NODE_INPUT),
            outputs: message.strings(NODE_OUTPUT),
            message,
        }
    }

    /// Integer attribute `name`, if the node sets it.
    fn int_attribute(&self, name: &str) -> Result<Option<i64>, GraphError> {
        for attribute in self.message.messages(NODE_ATTRIBUTE)? {
            if attribute.string(ATTRIBUTE_NAME).as_deref() == Some(name) {
                return Ok(attribute.ints(ATTRIBUTE_INT)?.first().copied());
            }
        }
        Ok(None)
    }

    fn rewired(&self, inputs: &[&str], outputs: &[&str]) -> Message {
        let mut message = self.message.clone();
        message.set_strings(NODE_INPUT, inputs);
        message.set_strings(NODE_OUTPUT, outputs);
        message
    }
}

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
fn find_lookups(
    nodes: &[Node],
    dims: &HashMap<String, Vec<i64>>,
    graph_outputs: &HashSet<String>,
) -> Result<Vec<Lookup>, GraphError> {
    let mut producer = HashMap::new();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for output in &node.outputs {
            producer.insert(output.as_str(), i);
        }
        for input in &node.inputs {
            *uses.entry(input.as_str()).or_default() += 1;
        }
    }
    let only_use = |name: &str| uses.get(name) == Some(&1) && !graph_outputs.contains(name);
    let mut found = Vec::new();
    for (gather, node) in nodes.iter().enumerate() {
        if node.op != "Gather" || node.inputs.len() != 2 || node.outputs.len() != 1 {
            continue;
        }
        if node.int_attribute("axis")?.unwrap_or(0) != 0 {
            continue;
        }
        let Some(&mul) = producer.get(node.inputs[0].as_str()) else {
            continue;
        };
        let mul_node = &nodes[mul];
        if mul_node.op != "Mul" || mul_node.inputs.len() != 2 || !only_use(&node.inputs[0]) {
            continue;
        }
        let Some(&cast) = producer.get(mul_node.inputs[0].as_str()) else {
            continue;
        };
        let cast_node = &nodes[cast];
        if cast_node.op != "Cast" || cast_node.inputs.len() != 1 || !only_use(&mul_node.inputs[0]) {
            continue;
        }
        let (table_q, scale) = (&cast_node.inputs[0], &mul_node.inputs[1]);
        let (Some(table_dims), Some(scale_dims)) = (dims.get(table_q), dims.get(scale)) else {
            continue;
        };
        if table_dims.len() != 2 || scale_dims[..] != [table_dims[0], 1] {
            continue;
        }
        found.push(Lookup {
            gather,
            mul,
            cast,
            table_q: table_q.clone(),
            scale: scale.clone(),
            ids: node.inputs[1].clone(),
            output: node.outputs[0].clone(),
        });
    }
    Ok(found)
}

/// The model with its table lookups moved in front of the int8 rebuild,
/// and how many were moved (0: the bytes come back unchanged).
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let mut model_message = Message::decode(model)?;
    let graph_at = model_message
        .0
        .iter()
        .position(|f| f.number == MODEL_GRAPH && f.wire == LEN)
        .ok_or(GraphError("no graph"))?;
    let graph = Message::decode(&model_message.0[graph_at].value)?;

    let nodes: Vec<Node> = graph
        .messages(GRAPH_NODE)?
        .into_iter()
        .map(Node::new)
        .collect();
    let mut dims = HashMap::new();
    for tensor in graph.messages(GRAPH_INITIALIZER)? {
        if let Some(name) = tensor.string(TENSOR_NAME) {
            dims.insert(name, tensor.ints(TENSOR_DIMS)?);
        }
    }
    let graph_outputs: HashSet<String> = graph
        .messages(GRAPH_OUTPUT)?
        .iter()
        .filter_map(|v| v.string(VALUE_INFO_NAME))
        .collect();
    let lookups = find_lookups(&nodes, &dims, &graph_outputs)?;
    if lookups.is_empty() {
        return Ok((model.to_vec(), 0));
    }

    // Each lookup's three nodes become four, placed where the Gather was
    // (its inputs exist there); the rebuilt table's names are gone, and so
    // are their shape hints.
    let mut replaced: HashMap<usize, Vec<Message>> = HashMap::new();
    let mut dropped = HashSet::new();
    let mut stale_names = HashSet::new();
    for lookup in &lookups {
        let rows_q = format!("{}.int8_rows", lookup.output);
        let rows_f = format!("{}.f32_rows", lookup.output);
        let row_scales = format!("{}.row_scales", lookup.output);
        let gather = &nodes[lookup.gather];
        let mut scale_gather = gather.rewired(&[&lookup.scale, &lookup.ids], &[&row_scales]);
        let name = gather.message.string(NODE_NAME).unwrap_or_default();
        scale_gather.set_strings(NODE_NAME, &[&format!("{name}.row_scales")]);
        replaced.insert(
            lookup.gather,
            vec![
                gather.rewired(&[&lookup.table_q, &lookup.ids], &[&rows_q]),
                scale_gather,
                nodes[lookup.cast].rewired(&[&rows_q], &[&rows_f]),
                nodes[lookup.mul].rewired(&[&rows_f, &row_scales], &[&lookup.output]),
            ],
        );
        dropped.extend([lookup.cast, lookup.mul]);
        stale_names.extend(nodes[lookup.mul].outputs.iter().cloned());
        stale_names.extend(nodes[lookup.cast].outputs.iter().cloned());
    }

    let mut new_graph = Message::default();
    let mut node_index = 0;
    for field in graph.0 {
        match (field.number, field.wire) {
            (GRAPH_NODE, LEN) => {
                let i = node_index;
                node_index += 1;
                if dropped.contains(&i) {
                    continue;
                }
                match replaced.remove(&i) {
                    Some(messages) => new_graph.0.extend(messages.into_iter().map(|m| Field {
                        number: GRAPH_NODE,
                        wire: LEN,
                        value: m.encode(),
                    })),
                    None => new_graph.0.push(field),
                }
            }
            (GRAPH_VALUE_INFO, LEN) => {
                let name = Message::decode(&field.value)?.string(VALUE_INFO_NAME);
                if !name.is_some_and(|n| stale_names.contains(&n)) {
                    new_graph.0.push(field);
                }
            }
            _ => new_graph.0.push(field),
        }
    }
    model_message.0[graph_at].value = new_graph.encode();
    Ok((model_message.encode(), lookups.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_field(number: u32, value: &str) -> Field {
        Field {
            number,
            wire: LEN,
            value: value.as_bytes().to_vec(),
        }
    }

    fn message_field(number: u32, message: &Message) -> Field {
        Field {
            number,
            wire: LEN,
            value: message.encode(),
        }
    }

    fn node(op: &str, inputs: &[&str], outputs: &[&str], axis: Option<i64>) -> Field {
        let mut fields: Vec<Field> = inputs.iter().map(|i| string_field(NODE_INPUT, i)).collect();
        fields.extend(outputs.iter().map(|o| string_field(NODE_OUTPUT, o)));
        fields.push(string_field(NODE_NAME, &format!("{op}_{}", outputs[0])));
        fields.push(string_field(NODE_OP_TYPE, op));
        if let Some(axis) = axis {
            let mut value = Vec::new();
            write_varint(axis as u64, &mut value);
            let attribute = Message(vec![
                string_field(ATTRIBUTE_NAME, "axis"),
                Field {
                    number: ATTRIBUTE_INT,
                    wire: VARINT,
                    value,
                },
            ]);
            fields.push(message_field(NODE_ATTRIBUTE, &attribute));
        }
        message_field(GRAPH_NODE, &Message(fields))
    }

    fn tensor(name: &str, dims: &[i64]) -> Field {
        let mut packed = Vec::new();
        for d in dims {
            write_varint(*d as u64, &mut packed);
        }
        let tensor = Message(vec![
            Field {
                number: TENSOR_DIMS,
                wire: LEN,
                value: packed,
            },
            string_field(TENSOR_NAME, name),
        ]);
        message_field(GRAPH_INITIALIZER, &tensor)
    }

    fn value_info(name: &str) -> Field {
        message_field(
            GRAPH_VALUE_INFO,
            &Message(vec![string_field(VALUE_INFO_NAME, name)]),
        )
    }

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

    fn graph_of(model: &[u8]) -> Message {
        let model = Message::decode(model).unwrap();
        let graph = model.0.iter().find(|f| f.number == MODEL_GRAPH).unwrap();
        Message::decode(&graph.value).unwrap()
    }

    fn ops(graph: &Message) -> Vec<(String, Vec<String>, Vec<String>)> {
        graph
            .messages(GRAPH_NODE)
            .unwrap()
            .into_iter()
            .map(|m| {
                let n = Node::new(m);
                (n.op, n.inputs, n.outputs)
            })
            .collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
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
