//! What a layer costs: multiply-accumulates and activation memory, from shapes alone (no forward pass).
//!
//! Conventions: one MAC is one multiplication added into a sum. Only Convolution/Conv (grouped and
//! depthwise included), InnerProduct, Gemm and MatMul count, without their bias; pooling, LRN,
//! activations, element-wise ops, BatchNorm and Scale count 0. Activation memory is 4 bytes (f32) per
//! element of every output a layer produces.

use crate::graph::Node;
use crate::ops::Op;

/// Multiply-accumulates of one node at these value shapes (from `infer_shapes`).
pub fn macs(node: &Node, shapes: &[Vec<usize>]) -> u64 {
    let Some(out) = node.outputs.first().map(|&v| &shapes[v]) else { return 0 };
    let outputs = elements(out);
    // Each output value sums this many products.
    let per_output = match &node.op {
        Op::Conv(c) => match shapes[node.inputs[0]].get(1) {
            Some(&channels) => (channels / c.group.max(1) * c.kernel[0] * c.kernel[1]) as u64,
            None => 0,
        },
        // The weights hold K inputs for each of the N features of the output's last axis.
        Op::InnerProduct(_) | Op::Gemm(_) => match (node.weights.first(), out.last()) {
            (Some(w), Some(&n)) if n > 0 => (w.len() / n) as u64,
            _ => 0,
        },
        // K is the last axis of the left operand.
        Op::MatMul(m) => {
            let left = if m.constant_left {
                node.weights.first().map(|w| w.shape())
            } else {
                Some(&shapes[node.inputs[0]][..])
            };
            left.and_then(|s| s.last()).map_or(0, |&k| k as u64)
        }
        _ => 0,
    };
    outputs.saturating_mul(per_output)
}

/// Bytes of a node's outputs as f32.
pub fn activation_bytes(node: &Node, shapes: &[Vec<usize>]) -> u64 {
    node.outputs.iter().map(|&v| elements(&shapes[v]).saturating_mul(4)).fold(0, u64::saturating_add)
}

fn elements(shape: &[usize]) -> u64 {
    shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}
