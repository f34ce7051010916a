//! Receptive fields through the ONNX operators, against brute force on the ONNX cases with an image input and
//! an image output: nudging one input pixel (every channel) must change a unit only inside its box, and
//! through Pad, Resize and Upsample the changed pixels must span the whole box (units that read only the
//! padding or extrapolation constant change with no pixel).

mod onnx_cases;
use onnx_cases::{data_dir, load_case, manifest};
use zfvis_core::engine;
use zfvis_core::vis::receptive_field::{receptive_field, Rect};

/// Operators whose boxes must be exact (every pixel in the box reaches the unit).
const EXACT: &[&str] = &["Pad", "Resize", "Upsample"];

#[test]
fn onnx_receptive_fields_match_brute_force() {
    let (mut checked, mut failures) = (0, vec![]);
    for folder in ["onnx_node", "onnx_opsets"] {
        for (name, entry) in manifest(folder)["cases"].as_object().unwrap() {
            let Ok(case) = load_case(&data_dir(folder).join(name)) else { continue };
            let g = &case.model.graph;
            let Some(output) = case.outputs.first().and_then(|o| g.value_id(o).map(|id| (o, id))) else { continue };
            let Ok(acts) = engine::forward(g, case.feeds.clone()) else { continue };
            let (x, y) = (&case.feeds[0], &acts.values[output.1]);
            let (&[_, c, h, w], &[_, _, oh, ow]) = (x.shape(), y.shape()) else { continue };
            if g.default_input_shapes()[0] != x.shape() {
                continue;
            }
            let ops: Vec<&str> = entry["ops"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
            let exact = ops.iter().all(|op| EXACT.contains(op));
            // A few units: the corners and the middle.
            let units = [(0, 0), (oh - 1, ow - 1), (oh / 2, ow / 2), (0, ow - 1)];
            let boxes: Vec<Rect> =
                units.iter().map(|&(uy, ux)| receptive_field(g, output.0, uy, ux).unwrap().clip(h, w)).collect();
            let mut reached: Vec<Option<Rect>> = vec![None; units.len()];
            for (py, px) in (0..h).flat_map(|py| (0..w).map(move |px| (py, px))) {
                let mut nudged = case.feeds.clone();
                for ch in 0..c {
                    let v = &mut nudged[0][[0, ch, py, px]];
                    *v += 100.0 * (1.0 + v.abs());
                }
                let moved = engine::forward(g, nudged).unwrap();
                for (u, &(uy, ux)) in units.iter().enumerate() {
                    let changed =
                        (0..y.shape()[1]).any(|ch| moved.values[output.1][[0, ch, uy, ux]] != y[[0, ch, uy, ux]]);
                    if changed {
                        let p = Rect { y0: py as isize, y1: py as isize, x0: px as isize, x1: px as isize };
                        reached[u] = Some(reached[u].map_or(p, |r| union(r, p)));
                    }
                }
            }
            for (u, (b, r)) in boxes.iter().zip(&reached).enumerate() {
                // None: the unit reads only constants (padding, extrapolation).
                let ok = match r {
                    None => true,
                    Some(r) if exact => r == b,
                    Some(r) => r.y0 >= b.y0 && r.y1 <= b.y1 && r.x0 >= b.x0 && r.x1 <= b.x1,
                };
                if !ok {
                    failures.push(format!("{folder}/{name} unit {:?}: box {b:?}, brute force {r:?}", units[u]));
                }
                checked += 1;
            }
        }
    }
    println!("{checked} receptive fields checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn union(a: Rect, b: Rect) -> Rect {
    Rect { y0: a.y0.min(b.y0), y1: a.y1.max(b.y1), x0: a.x0.min(b.x0), x1: a.x1.max(b.x1) }
}
