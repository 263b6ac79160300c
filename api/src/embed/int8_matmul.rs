//! Runs the model's weight products on integer kernels.
//!
//! The int8 MiniLM rebuilds each weight matrix as `W = Cast(q) × s` (`q`
//! int8, `s` one scale per output column). ONNX Runtime folds that into an
//! f32 matrix at load and multiplies in f32: 36 of the model's 48 products
//! (query, key, value, output and the two feed-forward ones per layer).
//! [`rewrite`] hands each product to ONNX Runtime's `DynamicQuantizeMatMul`,
//! which keeps `q` as it is and quantises the activations to 8 bits per
//! call (~1.5× the texts per second on the bench's machine):
//!
//! ```text
//! before: MatMul(X, Cast(q) × s)                    f32 kernel, W kept as f32
//! after:  DynamicQuantizeMatMul(X, q, s)            int8 kernel, q kept as int8
//! ```
//!
//! The result is close, not equal, which is why it is opt-in
//! (`EMBED_PRECISION=int8`; the default runs the model as published):
//! - the activations are quantised with one scale per call: on the parity
//!   sentences the vectors keep a cosine of 0.972 or more to the model as
//!   published (mean 0.989; the shortest texts drift most), and a text's
//!   vector would depend on the other texts of its batch, so with this
//!   rewrite texts run through the model one at a time
//!   ([`super::minilm::MiniLm`]);
//! - on CPUs without AVX-512 VNNI the kernel saturates pairs of products
//!   at 16 bits, so the vectors differ slightly between CPU generations.
//!
//! Measured alternatives (BENCHMARKS.md, "Memory"): leaving the products
//! most sensitive to it in f32 keeps less than half the speed-up, and
//! `MatMulNBits` with 8-bit weights is exact but slower than f32 here.

use super::onnx_proto::{Edits, Graph, GraphError, Message, NODE_DOMAIN, NODE_OP_TYPE};

/// ONNX's element type number for int8 tensors.
const INT8: i64 = 3;
/// ONNX's element type number for f32, as `Cast`'s `to`.
const FLOAT: i64 = 1;
/// The operator set holding `DynamicQuantizeMatMul`.
const MICROSOFT: &str = "com.microsoft";

/// One product to hand over: node indexes and names.
struct Product {
    matmul: usize,
    mul: usize,
    cast: usize,
    input: String,
    weights_q: String,
    scale: String,
    columns: i64,
}

/// Find `MatMul(X, Mul(Cast(q), s))` where `q` is an int8 initializer of
/// `rows × columns`, `s` an initializer of `1 × columns` used nowhere else,
/// and the rebuilt matrix feeds nothing else.
fn find_products(graph: &Graph) -> Result<Vec<Product>, GraphError> {
    let mut found = Vec::new();
    for (matmul, node) in graph.nodes.iter().enumerate() {
        if node.op != "MatMul" || node.inputs.len() != 2 || node.outputs.len() != 1 {
            continue;
        }
        let Some(weights) = graph.rebuilt(&node.inputs[1])? else {
            continue;
        };
        if weights.cast_to != Some(FLOAT) {
            continue;
        }
        let (weights_q, scale) = (&weights.q, &weights.scale);
        let (Some(q_dims), Some(scale_dims)) = (graph.dims.get(weights_q), graph.dims.get(scale))
        else {
            continue;
        };
        if q_dims.len() != 2 || scale_dims[..] != [1, q_dims[1]] || !graph.only_use(scale) {
            continue;
        }
        let is_int8 = graph
            .initializer(weights_q)?
            .map(|t| t.ints(super::onnx_proto::TENSOR_DATA_TYPE))
            .transpose()?
            .is_some_and(|types| types.first() == Some(&INT8));
        if !is_int8 {
            continue;
        }
        found.push(Product {
            matmul,
            mul: weights.mul,
            cast: weights.cast,
            input: node.inputs[0].clone(),
            weights_q: weights_q.clone(),
            scale: scale.clone(),
            columns: q_dims[1],
        });
    }
    Ok(found)
}

/// The model with its int8 weight products on integer kernels, and how
/// many were handed over (0: the bytes come back unchanged).
pub fn rewrite(model: &[u8]) -> Result<(Vec<u8>, usize), GraphError> {
    let graph = Graph::decode(model)?;
    let products = find_products(&graph)?;
    if products.is_empty() {
        return Ok((model.to_vec(), 0));
    }
    let mut edits = Edits {
        opset: Some((MICROSOFT, 1)),
        ..Edits::default()
    };
    for product in &products {
        let matmul = &graph.nodes[product.matmul];
        let mut node = matmul.rewired(
            &[&product.input, &product.weights_q, &product.scale],
            &[&matmul.outputs[0]],
        );
        node.set_strings(NODE_OP_TYPE, &["DynamicQuantizeMatMul"]);
        node.set_strings(NODE_DOMAIN, &[MICROSOFT]);
        edits.replaced.insert(product.matmul, vec![node]);
        edits.dropped.extend([product.cast, product.mul]);
        for dead in [product.cast, product.mul] {
            edits
                .stale_names
                .extend(graph.nodes[dead].outputs.iter().cloned());
        }
        // One scale per column, as the operator takes it: the same floats
        // with the leading 1 dropped from the shape.
        let mut scale: Message = graph
            .initializer(&product.scale)?
            .ok_or(GraphError("scale initializer"))?;
        scale.set_ints(super::onnx_proto::TENSOR_DIMS, &[product.columns]);
        edits.initializers.insert(product.scale.clone(), scale);
    }
    let handed = products.len();
    Ok((graph.encode(edits)?, handed))
}

#[cfg(test)]
mod tests {
    use super::super::onnx_proto::testing::*;
    use super::super::onnx_proto::*;
    use super::*;

    /// The testing module's initializer, with an element type and data.
    fn typed_tensor(name: &str, dims: &[i64], data_type: i64) -> Field {
        let mut tensor = Message::decode(&tensor(name, dims).value).unwrap();
        let mut data_type_bytes = Vec::new();
        write_varint(data_type as u64, &mut data_type_bytes);
        tensor.0.push(Field {
            number: TENSOR_DATA_TYPE,
            wire: VARINT,
            value: data_type_bytes,
        });
        // The scale's four floats, so the test can see they are kept.
        tensor.0.push(Field {
            number: 9,
            wire: LEN,
            value: vec![7; 16],
        });
        message_field(GRAPH_INITIALIZER, &tensor)
    }

    fn cast_to(input: &str, output: &str, to: i64) -> Field {
        let mut node = Message::decode(&node("Cast", &[input], &[output], None).value).unwrap();
        let mut value = Vec::new();
        write_varint(to as u64, &mut value);
        node.0.push(message_field(
            NODE_ATTRIBUTE,
            &Message(vec![
                string_field(ATTRIBUTE_NAME, "to"),
                Field {
                    number: ATTRIBUTE_INT,
                    wire: VARINT,
                    value,
                },
            ]),
        ));
        message_field(GRAPH_NODE, &node)
    }

    /// A model shaped like one of the MiniLM's products: q, s → Cast →
    /// Mul → MatMul(x, ·), then a consumer.
    fn model(q_type: i64, scale_dims: &[i64], to: i64) -> Vec<u8> {
        let graph = Message(vec![
            cast_to("w_q", "w_f", to),
            node("Mul", &["w_f", "w_scale"], &["w"], None),
            node("MatMul", &["x", "w"], &["y"], None),
            node("Add", &["y", "bias"], &["out"], None),
            typed_tensor("w_q", &[8, 4], q_type),
            typed_tensor("w_scale", scale_dims, 1),
            value_info("w"),
            value_info("y"),
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
    fn an_int8_product_runs_on_the_integer_kernel() {
        let (rewritten, handed) = rewrite(&model(INT8, &[1, 4], FLOAT)).unwrap();
        assert_eq!(handed, 1);
        let graph = graph_of(&rewritten);
        assert_eq!(
            ops(&graph),
            vec![
                (
                    "DynamicQuantizeMatMul".into(),
                    strs(&["x", "w_q", "w_scale"]),
                    strs(&["y"])
                ),
                ("Add".into(), strs(&["y", "bias"]), strs(&["out"])),
            ]
        );
        let nodes = graph.messages(GRAPH_NODE).unwrap();
        assert_eq!(nodes[0].string(NODE_DOMAIN).as_deref(), Some(MICROSOFT));
        // The scale is one float per column, its bytes unchanged.
        let scale = graph
            .messages(GRAPH_INITIALIZER)
            .unwrap()
            .into_iter()
            .find(|t| t.string(TENSOR_NAME).as_deref() == Some("w_scale"))
            .unwrap();
        assert_eq!(scale.ints(TENSOR_DIMS).unwrap(), vec![4]);
        assert!(scale.0.iter().any(|f| f.number == 9 && f.value == [7; 16]));
        // The rebuilt matrix's shape hint is gone; the product's stays.
        let hints: Vec<String> = graph
            .messages(GRAPH_VALUE_INFO)
            .unwrap()
            .iter()
            .filter_map(|v| v.string(VALUE_INFO_NAME))
            .collect();
        assert_eq!(hints, strs(&["y"]));
        // The operator set is imported once.
        let model = Message::decode(&rewritten).unwrap();
        let imports = model.messages(MODEL_OPSET_IMPORT).unwrap();
        assert_eq!(imports.len(), 1);
        assert_eq!(imports[0].string(OPSET_DOMAIN).as_deref(), Some(MICROSOFT));
    }

    #[test]
    fn other_types_shapes_and_casts_are_left_alone() {
        for (q_type, scale, to) in [
            (1, &[1, 4][..], FLOAT),    // f32 weights
            (INT8, &[8, 1][..], FLOAT), // a scale per row
            (INT8, &[1, 4][..], 10),    // cast to f16
        ] {
            let original = model(q_type, scale, to);
            let (bytes, handed) = rewrite(&original).unwrap();
            assert_eq!((handed, &bytes), (0, &original));
        }
    }
}
