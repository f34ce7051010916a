//! What a model is, layer by layer: the table the page, `zfvis info` and the bindings show.

use crate::engine::infer_shapes;
use crate::formats::Model;
use crate::ops::Op;
use crate::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerRow {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<Tensor>,
    pub params: usize,
    pub weight_shapes: Vec<Vec<usize>>,
    /// Its weights can be tiled as filters.
    pub filters: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub name: String,
    pub format: String,
    pub notes: Vec<String>,
    pub inputs: Vec<Tensor>,
    pub layers: Vec<LayerRow>,
    pub params: usize,
    /// Class names for the last layer's outputs, when a built-in label set fits.
    pub labels: Option<Vec<String>>,
}

/// The table at the model's default input shapes (batch 1).
pub fn summarize(model: &Model) -> Result<Summary> {
    let g = &model.graph;
    let shapes = infer_shapes(g, &g.default_input_shapes())?;
    let tensor = |v: usize| Tensor { name: g.values[v].name.clone(), shape: shapes[v].clone() };
    let layers: Vec<LayerRow> = g
        .nodes
        .iter()
        .map(|n| LayerRow {
            name: n.name.clone(),
            type_name: n.type_name.clone(),
            inputs: n.inputs.iter().map(|&v| g.values[v].name.clone()).collect(),
            outputs: n.outputs.iter().map(|&v| tensor(v)).collect(),
            params: g.param_count(n),
            weight_shapes: n.weights.iter().map(|w| w.shape().to_vec()).collect(),
            filters: matches!(n.op, Op::Conv(_)) && n.weights.first().is_some_and(|w| w.ndim() == 4),
        })
        .collect();
    Ok(Summary {
        name: g.name.clone(),
        format: model.format.clone(),
        notes: model.notes.clone(),
        inputs: g.inputs.iter().map(|(v, _)| tensor(*v)).collect(),
        params: layers.iter().map(|l| l.params).sum(),
        labels: layers
            .last()
            .and_then(|l| crate::labels::for_model(&g.name, l.outputs[0].shape.iter().skip(1).product())),
        layers,
    })
}
