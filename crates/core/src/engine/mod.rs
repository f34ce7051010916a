//! Runs a [`Graph`]: shape inference and the forward pass, keeping every value and every switch.

pub mod backward;

use crate::graph::Graph;
use crate::ops::{fmt_shape, Switches};
use crate::{bail, Error, Result, Tensor};

/// Everything one forward pass produced.
#[derive(Debug, Clone)]
pub struct Activations {
    /// By [`ValueId`]: inputs and every node's outputs.
    pub values: Vec<Tensor>,
    /// By node index: max pooling switches.
    pub switches: Vec<Option<Switches>>,
}

impl Activations {
    pub fn get(&self, graph: &Graph, value: &str) -> Option<&Tensor> {
        graph.value_id(value).map(|id| &self.values[id])
    }
}

fn node_context(graph: &Graph, i: usize) -> String {
    let n = &graph.nodes[i];
    format!("layer '{}' ({})", n.name, n.type_name)
}

/// Every value's shape for these input shapes (one per graph input, in order).
pub fn infer_shapes(graph: &Graph, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
    if input_shapes.len() != graph.inputs.len() {
        bail!(input, "the model has {} inputs, {} given", graph.inputs.len(), input_shapes.len());
    }
    let mut shapes: Vec<Option<Vec<usize>>> = vec![None; graph.values.len()];
    for ((id, _), s) in graph.inputs.iter().zip(input_shapes) {
        shapes[*id] = Some(s.clone());
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<&[usize]> =
            node.inputs.iter().map(|&v| shapes[v].as_deref().expect("topological order")).collect();
        let outs = node
            .op
            .output_shapes(&ins, node.outputs.len(), &node.weights)
            .map_err(|e| e.context(node_context(graph, i)))?;
        for (&v, s) in node.outputs.iter().zip(outs) {
            shapes[v] = Some(s);
        }
    }
    Ok(shapes.into_iter().map(|s| s.unwrap_or_default()).collect())
}

/// Runs the whole graph on these inputs (one per graph input, in order).
pub fn forward(graph: &Graph, inputs: Vec<Tensor>) -> Result<Activations> {
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    for ((id, declared), s) in graph.inputs.iter().zip(&shapes) {
        if declared.len() != s.len() || declared.get(1) != s.get(1) {
            bail!(
                input,
                "input '{}' must be {}-D with {} channels (declared {}), got {}",
                graph.values[*id].name,
                declared.len(),
                declared.get(1).copied().unwrap_or(0),
                fmt_shape(declared),
                fmt_shape(s)
            );
        }
    }
    infer_shapes(graph, &shapes)?;
    let mut values: Vec<Option<Tensor>> = vec![None; graph.values.len()];
    for ((id, _), t) in graph.inputs.iter().zip(inputs) {
        values[*id] = Some(t.as_standard_layout().into_owned());
    }
    let mut switches = vec![None; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&v| values[v].as_ref().expect("topological order")).collect();
        let out = node
            .op
            .forward(&ins, &node.weights, node.outputs.len())
            .map_err(|e: Error| e.context(node_context(graph, i)))?;
        for (&v, t) in node.outputs.iter().zip(out.tensors) {
            values[v] = Some(t);
        }
        switches[i] = out.switches;
    }
    Ok(Activations { values: values.into_iter().map(|v| v.unwrap_or_default()).collect(), switches })
}
