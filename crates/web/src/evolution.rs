//! Training evolution (Zeiler & Fergus 2014, Fig. 4): weight snapshots of one net, compared one with the
//! next. The page loads each snapshot as a `Model` of its own and asks the later one for its change.

use crate::{from_js, js_error, to_js, GridJs, Model, TileJs};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use zfvis_core::ops::fmt_shape;
use zfvis_core::vis::tile::{self, Norm};

#[derive(Serialize)]
struct ChangeJs {
    layer: String,
    /// ‖W − W_before‖ / ‖W_before‖ over the layer's parameters (null when ‖W_before‖ is 0).
    change: Option<f64>,
    /// ‖W_before‖ and ‖W − W_before‖.
    norm: f64,
    distance: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepJs {
    /// The layer's filters minus those of the snapshot before, zero at mid grey.
    difference: GridJs,
    /// The largest |difference| of the layer's filters: the difference grid's black and white.
    max_abs: f32,
    /// Every layer with parameters, in graph order.
    changes: Vec<ChangeJs>,
}

/// The layers with parameters and their blobs' shapes.
fn signature(m: &Model) -> Vec<(&str, Vec<&[usize]>)> {
    m.inner
        .graph
        .nodes
        .iter()
        .filter(|n| !n.weights().is_empty())
        .map(|n| (n.name.as_str(), n.weights().iter().map(|w| w.shape()).collect()))
        .collect()
}

fn shapes_text(shapes: &[&[usize]]) -> String {
    shapes.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", ")
}

#[wasm_bindgen]
impl Model {
    /// The change from snapshot `before` to this one: `layer`'s filters minus `before`'s, tiled with `opts`
    /// (as `tile`, but zero at mid grey), and every layer's relative change. Fails, naming the layer, unless
    /// both have the same layers with parameters of the same shapes.
    #[wasm_bindgen(js_name = changeFrom)]
    pub fn change_from(&self, before: &Model, layer: &str, opts: JsValue) -> Result<JsValue, JsError> {
        let (was, now) = (signature(before), signature(self));
        for (name, shapes) in &now {
            match was.iter().find(|(n, _)| n == name) {
                None => {
                    return Err(JsError::new(&format!(
                        "layer '{name}' has parameters here but not in the snapshot before"
                    )))
                }
                Some((_, old)) if old != shapes => {
                    return Err(JsError::new(&format!(
                        "layer '{name}' has parameters of shape {} here but {} in the snapshot before",
                        shapes_text(shapes),
                        shapes_text(old)
                    )))
                }
                _ => {}
            }
        }
        if let Some((name, _)) = was.iter().find(|(n, _)| !now.iter().any(|(m, _)| m == n)) {
            return Err(JsError::new(&format!("layer '{name}' of the snapshot before has no parameters here")));
        }
        let g = &self.inner.graph;
        let changes = g
            .nodes
            .iter()
            .filter(|n| !n.weights().is_empty())
            .map(|n| {
                let old = before.inner.graph.node(&n.name).expect("checked above").weights();
                let (change, norm, distance) = tile::relative_change(old, n.weights())
                    .map_err(|e| js_error(e.context(format!("layer '{}'", n.name))))?;
                Ok(ChangeJs { layer: n.name.clone(), change, norm, distance })
            })
            .collect::<Result<Vec<_>, JsError>>()?;
        let o: TileJs = if opts.is_undefined() || opts.is_null() { TileJs::default() } else { from_js(opts)? };
        let filters = |m: &Model| {
            m.inner
                .graph
                .node(layer)
                .and_then(|n| n.weights().first())
                .cloned()
                .ok_or_else(|| JsError::new(&format!("layer '{layer}' has no weights to tile")))
        };
        let diff = tile::difference(&filters(before)?, &filters(self)?).map_err(js_error)?;
        let max_abs = diff.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let opts = tile::TileOptions { norm: Norm::Symmetric, ..o.options()? };
        let grid = tile::tile_filters(&diff, &opts).map_err(|e| js_error(e.context(format!("layer '{layer}'"))))?;
        to_js(&StepJs { difference: grid.into(), max_abs, changes })
    }
}
