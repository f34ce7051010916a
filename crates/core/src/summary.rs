//! What a model is, layer by layer: the table the page, `zfvis info` and the bindings show.

use crate::analysis::{activation_bytes, macs};
use crate::engine::infer_shapes;
use crate::formats::Model;
use crate::ops::Op;
use crate::vis::receptive_field::{fields, Field};
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
    /// Multiply-accumulates at batch 1 (see [`crate::analysis`]).
    pub macs: u64,
    /// Its outputs' size as f32.
    pub activation_bytes: u64,
    /// Its first output's receptive field; None when that output has no spatial layout.
    pub receptive_field: Option<Field>,
}

/// Sums over layers (the input itself is not in `activation_bytes`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub params: u64,
    pub macs: u64,
    pub activation_bytes: u64,
}

/// Sums over the layers of one type.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeTotals {
    #[serde(rename = "type")]
    pub type_name: String,
    pub count: usize,
    pub params: u64,
    pub macs: u64,
    pub activation_bytes: u64,
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
    pub totals: Totals,
    /// Per layer type, in order of first appearance.
    pub by_type: Vec<TypeTotals>,
    /// Class names for the last layer's outputs, when a built-in label set fits.
    pub labels: Option<Vec<String>>,
}

/// The table at the model's default input shapes (batch 1).
pub fn summarize(model: &Model) -> Result<Summary> {
    let g = &model.graph;
    let shapes = infer_shapes(g, &g.default_input_shapes())?;
    let tensor = |v: usize| Tensor { name: g.values[v].name.clone(), shape: shapes[v].clone() };
    let fields = fields(g, &shapes);
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
            macs: macs(n, &shapes),
            activation_bytes: activation_bytes(n, &shapes),
            receptive_field: n.outputs.first().and_then(|&v| fields[v]),
        })
        .collect();
    let (totals, by_type) = sums(&layers);
    Ok(Summary {
        name: g.name.clone(),
        format: model.format.clone(),
        notes: model.notes.clone(),
        inputs: g.inputs.iter().map(|(v, _)| tensor(*v)).collect(),
        params: layers.iter().map(|l| l.params).sum(),
        totals,
        by_type,
        labels: layers
            .last()
            .and_then(|l| crate::labels::for_model(&g.name, l.outputs[0].shape.iter().skip(1).product())),
        layers,
    })
}

/// Totals over all layers and per type.
fn sums(layers: &[LayerRow]) -> (Totals, Vec<TypeTotals>) {
    let mut totals = Totals::default();
    let mut by_type: Vec<TypeTotals> = Vec::new();
    for l in layers {
        let i = match by_type.iter().position(|t| t.type_name == l.type_name) {
            Some(i) => i,
            None => {
                by_type.push(TypeTotals { type_name: l.type_name.clone(), ..Default::default() });
                by_type.len() - 1
            }
        };
        let t = &mut by_type[i];
        t.count += 1;
        t.params += l.params as u64;
        t.macs = t.macs.saturating_add(l.macs);
        t.activation_bytes = t.activation_bytes.saturating_add(l.activation_bytes);
        totals.params += l.params as u64;
        totals.macs = totals.macs.saturating_add(l.macs);
        totals.activation_bytes = totals.activation_bytes.saturating_add(l.activation_bytes);
    }
    (totals, by_type)
}
