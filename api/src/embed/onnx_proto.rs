//! Just enough of the ONNX protobuf format to rewrite a model's graph:
//! a message is read as its fields in file order ([`Message`]), only the
//! fields a rewrite looks at are decoded, and every other byte is written
//! back unchanged. [`Graph`] holds a decoded model for a rewrite: its
//! nodes, initializer shapes and who uses what, and writes it back with
//! nodes replaced or dropped.

use std::collections::{HashMap, HashSet};

/// Field numbers used here (onnx.proto3).
pub(super) const MODEL_GRAPH: u32 = 7;
pub(super) const MODEL_OPSET_IMPORT: u32 = 8;
pub(super) const OPSET_DOMAIN: u32 = 1;
pub(super) const OPSET_VERSION: u32 = 2;
pub(super) const GRAPH_NODE: u32 = 1;
pub(super) const GRAPH_INITIALIZER: u32 = 5;
pub(super) const GRAPH_OUTPUT: u32 = 12;
pub(super) const GRAPH_VALUE_INFO: u32 = 13;
pub(super) const NODE_INPUT: u32 = 1;
pub(super) const NODE_OUTPUT: u32 = 2;
pub(super) const NODE_NAME: u32 = 3;
pub(super) const NODE_OP_TYPE: u32 = 4;
pub(super) const NODE_ATTRIBUTE: u32 = 5;
pub(super) const NODE_DOMAIN: u32 = 7;
pub(super) const ATTRIBUTE_NAME: u32 = 1;
pub(super) const ATTRIBUTE_INT: u32 = 3;
pub(super) const TENSOR_DIMS: u32 = 1;
pub(super) const TENSOR_DATA_TYPE: u32 = 2;
pub(super) const TENSOR_NAME: u32 = 8;
pub(super) const VALUE_INFO_NAME: u32 = 1;

pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

/// A file this module cannot read as an ONNX model.
#[derive(Debug, thiserror::Error)]
#[error("the ONNX model could not be read: {0}")]
pub struct GraphError(pub(super) &'static str);

/// One field of a protobuf message: its number, wire type and value bytes
/// (for a length-delimited field the payload, without its length).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    pub(super) number: u32,
    pub(super) wire: u8,
    pub(super) value: Vec<u8>,
}

/// A protobuf message as its fields, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Message(pub(super) Vec<Field>);

pub(super) fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, GraphError> {
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

pub(super) fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Message {
    pub(super) fn decode(bytes: &[u8]) -> Result<Message, GraphError> {
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

    pub(super) fn encode(&self) -> Vec<u8> {
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

    pub(super) fn strings(&self, number: u32) -> Vec<String> {
        self.0
            .iter()
            .filter(|f| f.number == number && f.wire == LEN)
            .map(|f| String::from_utf8_lossy(&f.value).into_owned())
            .collect()
    }

    pub(super) fn string(&self, number: u32) -> Option<String> {
        self.strings(number).into_iter().next()
    }

    /// Replace every occurrence of string field `number` by `values`, at the
    /// place of the first one.
    pub(super) fn set_strings(&mut self, number: u32, values: &[&str]) {
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

    pub(super) fn messages(&self, number: u32) -> Result<Vec<Message>, GraphError> {
        self.0
            .iter()
            .filter(|f| f.number == number && f.wire == LEN)
            .map(|f| Message::decode(&f.value))
            .collect()
    }

    /// Replace every occurrence of int64 field `number` by `values`, packed
    /// into one field at the place of the first one.
    pub(super) fn set_ints(&mut self, number: u32, values: &[i64]) {
        let at = self.0.iter().position(|f| f.number == number);
        self.0.retain(|f| f.number != number);
        let mut packed = Vec::new();
        for value in values {
            write_varint(*value as u64, &mut packed);
        }
        let at = at.unwrap_or(self.0.len()).min(self.0.len());
        self.0.insert(
            at,
            Field {
                number,
                wire: LEN,
                value: packed,
            },
        );
    }

    /// The values of repeated int64 field `number`, packed or not.
    pub(super) fn ints(&self, number: u32) -> Result<Vec<i64>, GraphError> {
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
pub(super) struct Node {
    pub(super) message: Message,
    pub(super) op: String,
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
}

impl Node {
    pub(super) fn new(message: Message) -> Node {
        Node {
            op: message.string(NODE_OP_TYPE).unwrap_or_default(),
            inputs: message.strings(NODE_INPUT),
            outputs: message.strings(NODE_OUTPUT),
            message,
        }
    }

    /// Integer attribute `name`, if the node sets it.
    pub(super) fn int_attribute(&self, name: &str) -> Result<Option<i64>, GraphError> {
        for attribute in self.message.messages(NODE_ATTRIBUTE)? {
            if attribute.string(ATTRIBUTE_NAME).as_deref() == Some(name) {
                return Ok(attribute.ints(ATTRIBUTE_INT)?.first().copied());
            }
        }
        Ok(None)
    }

    pub(super) fn rewired(&self, inputs: &[&str], outputs: &[&str]) -> Message {
        let mut message = self.message.clone();
        message.set_strings(NODE_INPUT, inputs);
        message.set_strings(NODE_OUTPUT, outputs);
        message
    }
}

/// A decoded model, ready for a rewrite.
pub(super) struct Graph {
    model: Message,
    graph_at: usize,
    graph: Message,
    pub(super) nodes: Vec<Node>,
    /// Each initializer's shape, by name.
    pub(super) dims: HashMap<String, Vec<i64>>,
    /// Which node makes each value, by name.
    pub(super) producer: HashMap<String, usize>,
    uses: HashMap<String, usize>,
    graph_outputs: HashSet<String>,
}

/// A weight rebuilt in the graph as `Mul(Cast(q), s)`: the two nodes'
/// indexes, the names of `q` and `s`, and the type the cast makes.
pub(super) struct Rebuilt {
    pub(super) mul: usize,
    pub(super) cast: usize,
    pub(super) q: String,
    pub(super) scale: String,
    pub(super) cast_to: Option<i64>,
}

/// What a rewrite changes: nodes replaced (by index, possibly by several
/// placed where the one was), nodes dropped, value names gone (their shape
/// hints go too), initializers replaced by name, an operator set added.
#[derive(Default)]
pub(super) struct Edits {
    pub(super) replaced: HashMap<usize, Vec<Message>>,
    pub(super) dropped: HashSet<usize>,
    pub(super) stale_names: HashSet<String>,
    pub(super) initializers: HashMap<String, Message>,
    pub(super) opset: Option<(&'static str, i64)>,
}

impl Graph {
    pub(super) fn decode(model: &[u8]) -> Result<Graph, GraphError> {
        let model = Message::decode(model)?;
        let graph_at = model
            .0
            .iter()
            .position(|f| f.number == MODEL_GRAPH && f.wire == LEN)
            .ok_or(GraphError("no graph"))?;
        let graph = Message::decode(&model.0[graph_at].value)?;
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
        let graph_outputs = graph
            .messages(GRAPH_OUTPUT)?
            .iter()
            .filter_map(|v| v.string(VALUE_INFO_NAME))
            .collect();
        let mut producer = HashMap::new();
        let mut uses: HashMap<String, usize> = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            for output in &node.outputs {
                producer.insert(output.clone(), i);
            }
            for input in &node.inputs {
                *uses.entry(input.clone()).or_default() += 1;
            }
        }
        Ok(Graph {
            model,
            graph_at,
            graph,
            nodes,
            dims,
            producer,
            uses,
            graph_outputs,
        })
    }

    /// Whether value `name` feeds exactly one node and is no graph output.
    pub(super) fn only_use(&self, name: &str) -> bool {
        self.uses.get(name) == Some(&1) && !self.graph_outputs.contains(name)
    }

    /// The node making value `name`, if its operator is `op`.
    pub(super) fn made_by(&self, name: &str, op: &str) -> Option<(usize, &Node)> {
        let &i = self.producer.get(name)?;
        let node = &self.nodes[i];
        (node.op == op).then_some((i, node))
    }

    /// How value `name` is made, if it is a weight rebuilt as
    /// `Mul(Cast(q), s)` that feeds one node only (both steps used once).
    pub(super) fn rebuilt(&self, name: &str) -> Result<Option<Rebuilt>, GraphError> {
        let Some((mul, mul_node)) = self.made_by(name, "Mul") else {
            return Ok(None);
        };
        if mul_node.inputs.len() != 2 || !self.only_use(name) {
            return Ok(None);
        }
        let Some((cast, cast_node)) = self.made_by(&mul_node.inputs[0], "Cast") else {
            return Ok(None);
        };
        if cast_node.inputs.len() != 1 || !self.only_use(&mul_node.inputs[0]) {
            return Ok(None);
        }
        Ok(Some(Rebuilt {
            mul,
            cast,
            q: cast_node.inputs[0].clone(),
            scale: mul_node.inputs[1].clone(),
            cast_to: cast_node.int_attribute("to")?,
        }))
    }

    /// Initializer `name` as a message, if there is one.
    pub(super) fn initializer(&self, name: &str) -> Result<Option<Message>, GraphError> {
        Ok(self
            .graph
            .messages(GRAPH_INITIALIZER)?
            .into_iter()
            .find(|t| t.string(TENSOR_NAME).as_deref() == Some(name)))
    }

    /// The model's bytes with `edits` applied.
    pub(super) fn encode(mut self, mut edits: Edits) -> Result<Vec<u8>, GraphError> {
        let mut new_graph = Message::default();
        let mut node_index = 0;
        for field in std::mem::take(&mut self.graph.0) {
            match (field.number, field.wire) {
                (GRAPH_NODE, LEN) => {
                    let i = node_index;
                    node_index += 1;
                    if edits.dropped.contains(&i) {
                        continue;
                    }
                    match edits.replaced.remove(&i) {
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
                    if !name.is_some_and(|n| edits.stale_names.contains(&n)) {
                        new_graph.0.push(field);
                    }
                }
                (GRAPH_INITIALIZER, LEN) => {
                    let name = Message::decode(&field.value)?.string(TENSOR_NAME);
                    match name.and_then(|n| edits.initializers.remove(&n)) {
                        Some(tensor) => new_graph.0.push(Field {
                            value: tensor.encode(),
                            ..field
                        }),
                        None => new_graph.0.push(field),
                    }
                }
                _ => new_graph.0.push(field),
            }
        }
        self.model.0[self.graph_at].value = new_graph.encode();
        if let Some((domain, version)) = edits.opset {
            let present = self
                .model
                .messages(MODEL_OPSET_IMPORT)?
                .iter()
                .any(|o| o.string(OPSET_DOMAIN).as_deref() == Some(domain));
            if !present {
                let mut version_bytes = Vec::new();
                write_varint(version as u64, &mut version_bytes);
                let opset = Message(vec![
                    Field {
                        number: OPSET_DOMAIN,
                        wire: LEN,
                        value: domain.as_bytes().to_vec(),
                    },
                    Field {
                        number: OPSET_VERSION,
                        wire: VARINT,
                        value: version_bytes,
                    },
                ]);
                self.model.0.push(Field {
                    number: MODEL_OPSET_IMPORT,
                    wire: LEN,
                    value: opset.encode(),
                });
            }
        }
        Ok(self.model.encode())
    }
}

/// Builders of small models for the rewrites' tests.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    pub(in crate::embed) fn string_field(number: u32, value: &str) -> Field {
        Field {
            number,
            wire: LEN,
            value: value.as_bytes().to_vec(),
        }
    }

    pub(in crate::embed) fn message_field(number: u32, message: &Message) -> Field {
        Field {
            number,
            wire: LEN,
            value: message.encode(),
        }
    }

    pub(in crate::embed) fn node(
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        axis: Option<i64>,
    ) -> Field {
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

    pub(in crate::embed) fn tensor(name: &str, dims: &[i64]) -> Field {
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

    pub(in crate::embed) fn value_info(name: &str) -> Field {
        message_field(
            GRAPH_VALUE_INFO,
            &Message(vec![string_field(VALUE_INFO_NAME, name)]),
        )
    }

    pub(in crate::embed) fn graph_of(model: &[u8]) -> Message {
        let model = Message::decode(model).unwrap();
        let graph = model.0.iter().find(|f| f.number == MODEL_GRAPH).unwrap();
        Message::decode(&graph.value).unwrap()
    }

    pub(in crate::embed) fn ops(graph: &Message) -> Vec<(String, Vec<String>, Vec<String>)> {
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

    pub(in crate::embed) fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }
}
