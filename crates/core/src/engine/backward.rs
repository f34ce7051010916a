//! Backward passes over the graph: a signal placed on one value travels down to the inputs, each node
//! applying its op's backward under the chosen [`Rules`].

use super::Activations;
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, ReluRule, Rules};
use crate::{bail, Result, Tensor};

/// Signals at every value below `start` (by [`ValueId`]; None where none arrived), after sending
/// `signal` down from `start` all the way to the inputs.
pub fn backward(
    graph: &Graph,
    acts: &Activations,
    start: ValueId,
    signal: Tensor,
    rules: Rules,
) -> Result<Vec<Option<Tensor>>> {
    backward_to(graph, acts, start, signal, rules, None)
}

/// Like [`backward`], but stops once the signal at `stop` is complete.
pub fn backward_to(
    graph: &Graph,
    acts: &Activations,
    start: ValueId,
    signal: Tensor,
    rules: Rules,
    stop: Option<ValueId>,
) -> Result<Vec<Option<Tensor>>> {
    Ok(run(graph, acts, start, signal, rules, stop, false)?.values)
}

/// What a training backward pass gives.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// By value, as [`backward`] gives them, except at the graph inputs (not computed).
    pub values: Vec<Option<Tensor>>,
    /// By node, one per weight blob: None for blobs not learned by gradient or that got no signal.
    pub weights: Vec<Vec<Option<Tensor>>>,
}

/// The true gradient of Σ signal ⊙ value(`start`) with respect to every value and every node's weights.
pub fn gradients(graph: &Graph, acts: &Activations, start: ValueId, signal: Tensor) -> Result<Gradients> {
    run(graph, acts, start, signal, Rules { relu: ReluRule::Gradient, lrn_gradient: true }, None, true)
}

fn run(
    graph: &Graph,
    acts: &Activations,
    start: ValueId,
    signal: Tensor,
    rules: Rules,
    stop: Option<ValueId>,
    weights: bool,
) -> Result<Gradients> {
    if signal.shape() != acts.values[start].shape() {
        bail!(
            input,
            "the signal {} does not fit value '{}' of shape {}",
            fmt_shape(signal.shape()),
            graph.values[start].name,
            fmt_shape(acts.values[start].shape())
        );
    }
    let mut grads: Vec<Option<Tensor>> = vec![None; graph.values.len()];
    grads[start] = Some(signal);
    let mut weight_grads: Vec<Vec<Option<Tensor>>> = graph.nodes.iter().map(|n| vec![None; n.weights.len()]).collect();
    let Some(top) = graph.nodes.iter().rposition(|n| n.outputs.contains(&start)) else {
        return Ok(Gradients { values: grads, weights: weight_grads });
    };
    let is_input = |v: ValueId| graph.inputs.iter().any(|(id, _)| *id == v);
    // Nodes at or below the producer of `stop` cannot change its signal.
    let floor = stop.and_then(|v| graph.nodes.iter().position(|n| n.outputs.contains(&v))).map_or(0, |p| p + 1);
    for i in (floor..=top).rev() {
        let node = &graph.nodes[i];
        if node.outputs.iter().all(|&v| grads[v].is_none()) {
            continue;
        }
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&v| &acts.values[v]).collect();
        let outs: Vec<&Tensor> = node.outputs.iter().map(|&v| &acts.values[v]).collect();
        let context = || format!("layer '{}' ({}), going down", node.name, node.type_name);
        if weights && !node.weights.is_empty() {
            if let Some(g) = &grads[node.outputs[0]] {
                weight_grads[i] = node.op.weight_backward(&ins, g, &node.weights).map_err(|e| e.context(context()))?;
            }
            // Training needs no signal at the data.
            if node.inputs.iter().all(|&v| is_input(v)) {
                continue;
            }
        }
        let down = {
            let gs: Vec<Option<&Tensor>> = node.outputs.iter().map(|&v| grads[v].as_ref()).collect();
            node.op
                .backward(rules, &ins, &outs, &gs, &node.weights, acts.switches[i].as_ref())
                .map_err(|e| e.context(context()))?
        };
        for (&v, d) in node.inputs.iter().zip(down) {
            let Some(d) = d else { continue };
            match &mut grads[v] {
                Some(acc) => *acc += &d,
                slot => *slot = Some(d),
            }
        }
    }
    Ok(Gradients { values: grads, weights: weight_grads })
}
