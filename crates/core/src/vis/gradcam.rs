//! Grad-CAM (Selvaraju et al. 2017): a class's gradient-weighted sum of one layer's feature maps.

use crate::engine::{backward::backward_to, Activations};
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, Op, ReluRule, Rules};
use crate::{bail, Error, Result, Tensor};

/// The value holding the class scores: the input of a final Softmax, else the last output.
pub fn class_scores(graph: &Graph) -> ValueId {
    let last = graph.nodes.last().expect("a graph has nodes");
    match last.op {
        Op::Softmax(_) => last.inputs[0],
        _ => last.outputs[0],
    }
}

/// The class activation map at `layer`'s resolution, N×1×H×W: ReLU(Σ_k α_k·A_k) with α_k the spatial
/// mean of ∂score_class/∂A_k.
pub fn grad_cam(graph: &Graph, acts: &Activations, layer: &str, class: usize) -> Result<Tensor> {
    let id = graph.value_id(layer).ok_or_else(|| Error::input(format!("no layer or value named '{layer}'")))?;
    let a = &acts.values[id];
    let &[n, c, h, w] = a.shape() else {
        bail!(input, "Grad-CAM needs a layer with N×C×H×W maps; '{layer}' has shape {}", fmt_shape(a.shape()))
    };
    let scores = class_scores(graph);
    let s = &acts.values[scores];
    let classes: usize = s.shape().iter().skip(1).product();
    if class >= classes {
        bail!(input, "class {class} does not exist: the model has {classes} classes");
    }
    let mut seed = Tensor::zeros(s.raw_dim());
    seed.as_slice_mut().expect("fresh tensor")[..].chunks_mut(classes).for_each(|row| row[class] = 1.0);
    let rules = Rules { relu: ReluRule::Gradient, lrn_gradient: true };
    let grads = backward_to(graph, acts, scores, seed, rules, Some(id))?;
    let Some(g) = grads[id].as_ref() else { bail!(input, "the class scores do not depend on '{layer}'") };
    let (gs, av) = (g.as_standard_layout(), a.as_standard_layout());
    let (gs, av) = (gs.as_slice().unwrap(), av.as_slice().unwrap());
    let plane = h * w;
    let mut cam = vec![0f32; n * plane];
    for b in 0..n {
        for k in 0..c {
            let base = (b * c + k) * plane;
            let alpha = gs[base..base + plane].iter().sum::<f32>() / plane as f32;
            for (o, v) in cam[b * plane..(b + 1) * plane].iter_mut().zip(&av[base..base + plane]) {
                *o += alpha * v;
            }
        }
    }
    cam.iter_mut().for_each(|v| *v = v.max(0.0));
    Ok(crate::ops::tensor(&[n, 1, h, w], cam))
}
