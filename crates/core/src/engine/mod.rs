//! Runs a [`Graph`]: shape inference and the forward pass, keeping every value and every switch.

pub mod backward;

use crate::graph::Graph;
use crate::ops::{fmt_shape, Switches};
use crate::{bail, limits, Error, Result, Tensor};

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
        limits::check_shape(s, format_args!("input '{}'", graph.values[*id].name))?;
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
            limits::check_shape(&s, format_args!("{}: output '{}'", node_context(graph, i), graph.values[v].name))?;
            shapes[v] = Some(s);
        }
    }
    Ok(shapes.into_iter().map(|s| s.unwrap_or_default()).collect())
}

/// Runs the whole graph on these inputs (one per graph input, in order).
pub fn forward(graph: &Graph, inputs: Vec<Tensor>) -> Result<Activations> {
    run(graph, inputs, None)
}

/// [`forward`], timing every node with `clock` (milliseconds from any fixed origin: `Instant` natively,
/// JS `performance.now()` in a browser, where `std::time::Instant` panics). Also returns each node's
/// time by node index; shape inference and input checks are not counted.
pub fn forward_timed(
    graph: &Graph,
    inputs: Vec<Tensor>,
    clock: &mut dyn FnMut() -> f64,
) -> Result<(Activations, Vec<f64>)> {
    let mut times = Vec::with_capacity(graph.nodes.len());
    let acts = run(graph, inputs, Some((clock, &mut times)))?;
    Ok((acts, times))
}

type Timing<'a> = Option<(&'a mut dyn FnMut() -> f64, &'a mut Vec<f64>)>;

fn run(graph: &Graph, inputs: Vec<Tensor>, mut timing: Timing) -> Result<Activations> {
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
    limits::check_activations(&infer_shapes(graph, &shapes)?)?;
    let mut values: Vec<Option<Tensor>> = vec![None; graph.values.len()];
    for ((id, _), t) in graph.inputs.iter().zip(inputs) {
        values[*id] = Some(t.as_standard_layout().into_owned());
    }
    let mut switches = vec![None; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&v| values[v].as_ref().expect("topological order")).collect();
        let start = timing.as_mut().map(|(clock, _)| clock());
        let out = node
            .op
            .forward(&ins, &node.weights, node.outputs.len())
            .map_err(|e: Error| e.context(node_context(graph, i)))?;
        if let (Some((clock, times)), Some(start)) = (timing.as_mut(), start) {
            times.push(clock() - start);
        }
        for (&v, t) in node.outputs.iter().zip(out.tensors) {
            values[v] = Some(t);
        }
        switches[i] = out.switches;
    }
    Ok(Activations { values: values.into_iter().map(|v| v.unwrap_or_default()).collect(), switches })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_timed_times_every_node_and_computes_what_forward_does() {
        use crate::graph::{Node, Value};
        use crate::ops::{Op, Softmax};
        let value = |name: &str| Value { name: name.into(), blob: name.into() };
        let node = |name: &str, op, i, o| Node {
            name: name.into(),
            type_name: name.into(),
            op,
            inputs: vec![i],
            outputs: vec![o],
            weights: vec![],
        };
        let graph = Graph {
            name: "t".into(),
            nodes: vec![node("Identity", Op::Identity, 0, 1), node("Softmax", Op::Softmax(Softmax { axis: -1 }), 1, 2)],
            values: vec![value("data"), value("Identity"), value("Softmax")],
            inputs: vec![(0, vec![1, 2, 4, 4])],
        };
        let x = Tensor::from_shape_fn(ndarray::IxDyn(&[1, 2, 4, 4]), |i| (i[1] * 16 + i[2] * 4 + i[3]) as f32 / 9.0);
        let plain = forward(&graph, vec![x.clone()]).unwrap();
        // A clock that advances 1.5 ms per reading: every node takes one tick.
        let mut now = 0.0;
        let mut clock = || {
            now += 1.5;
            now
        };
        let (timed, times) = forward_timed(&graph, vec![x], &mut clock).unwrap();
        assert_eq!(times, vec![1.5; 2]);
        assert_eq!(plain.values, timed.values);
    }
}
