//! Backward passes over the graph: a signal placed on one value travels down to the inputs, each node
//! applying its op's backward under the chosen [`Rules`].

use super::Activations;
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, Rules};
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
    let Some(top) = graph.nodes.iter().rposition(|n| n.outputs.contains(&start)) else {
        return Ok(grads);
    };
    // Nodes at or below the producer of `stop` cannot change its signal.
    let floor = stop.and_then(|v| graph.nodes.iter().position(|n| n.outputs.contains(&v))).map_or(0, |p| p + 1);
    for i in (floor..=top).rev() {
        let node = &graph.nodes[i];
        if node.outputs.iter().all(|&v| grads[v].is_none()) {
            continue;
        }
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&v| &acts.values[v]).collect();
        let outs: Vec<&Tensor> = node.outputs.iter().map(|&v| &acts.values[v]).collect();
        let down = {
            let gs: Vec<Option<&Tensor>> = node.outputs.iter().map(|&v| grads[v].as_ref()).collect();
            node.op
                .backward(rules, &ins, &outs, &gs, &node.weights, acts.switches[i].as_ref())
                .map_err(|e| e.context(format!("layer '{}' ({}), going down", node.name, node.type_name)))?
        };
        for (&v, d) in node.inputs.iter().zip(down) {
            let Some(d) = d else { continue };
            match &mut grads[v] {
                Some(acc) => *acc += &d,
                slot => *slot = Some(d),
            }
        }
    }
    Ok(grads)
}
