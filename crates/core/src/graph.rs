//! The format-free network: named values connected by nodes, in execution order.

use crate::ops::Op;
use crate::Tensor;

/// Index of a value (a tensor produced by a node) in [`Graph::values`].
pub type ValueId = usize;

#[derive(Debug, Clone)]
pub struct Node {
    /// The layer or node name from the model file.
    pub name: String,
    /// The type as the model file spells it ("Convolution", "Conv").
    pub type_name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    /// Learned parameters in the order the format stores them (weights, then bias); outside the crate,
    /// through [`Node::weights`] and [`Node::weights_mut`], which keep the op's packed copies true.
    pub(crate) weights: Vec<Tensor>,
}

impl Node {
    pub fn new(name: String, type_name: String, op: Op, inputs: Vec<ValueId>, outputs: Vec<ValueId>, weights: Vec<Tensor>) -> Self {
        Self { name, type_name, op, inputs, outputs, weights }
    }

    pub fn weights(&self) -> &[Tensor] {
        &self.weights
    }

    /// The weights to change; the op's caches of them are dropped.
    pub fn weights_mut(&mut self) -> &mut Vec<Tensor> {
        self.op.clear_caches();
        &mut self.weights
    }
}

#[derive(Debug, Clone)]
pub struct Value {
    /// Unique name: the producing layer's name, or `layer.top` for a layer with several tops.
    pub name: String,
    /// The name the model file uses (a Caffe blob name may be shared by in-place layers).
    pub blob: String,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub values: Vec<Value>,
    /// Values computed by no node that the caller must feed, with their declared shapes.
    pub inputs: Vec<(ValueId, Vec<usize>)>,
}

impl Graph {
    /// A value by its name, or else the first output of the layer of that name (ONNX names nodes and
    /// tensors apart; the page speaks of layers).
    pub fn value_id(&self, name: &str) -> Option<ValueId> {
        self.values
            .iter()
            .position(|v| v.name == name)
            .or_else(|| self.node(name).and_then(|n| n.outputs.first().copied()))
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Readies every node for forward passes (packs convolution weights); the model readers call it.
    pub fn prepare(&self) {
        for n in &self.nodes {
            n.op.prepare(&n.weights);
        }
    }

    pub fn param_count(&self, node: &Node) -> usize {
        node.weights.iter().map(|w| w.len()).sum()
    }

    /// The declared input shapes with the batch dimension set to 1, as the engine runs them.
    pub fn default_input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs
            .iter()
            .map(|(_, s)| {
                let mut s = s.clone();
                if !s.is_empty() {
                    s[0] = 1;
                }
                s
            })
            .collect()
    }
}
