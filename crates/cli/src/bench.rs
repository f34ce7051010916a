//! `zfvis bench`: timings of the forward pass and of filter tiling on a seeded random input.

use std::time::Instant;
use zfvis_core::formats::Model;
use zfvis_core::vis::projection::{project, Method, Options, Target, Unit};
use zfvis_core::vis::tile::{tile_filters, TileOptions};
use zfvis_core::{engine, Result, Tensor};

/// Median, min and max in milliseconds of `runs` calls after a warm-up.
pub fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<[f64; 3]> {
    f()?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok([ms[ms.len() / 2], ms[0], ms[ms.len() - 1]])
}

pub fn run(model: &Model, runs: usize, json: bool) -> Result<()> {
    let g = &model.graph;
    let shape = g.default_input_shapes().remove(0);
    let mut x = 0x2545F4914F6CDD1Du64;
    let input = Tensor::from_shape_fn(ndarray::IxDyn(&shape), |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    });
    let forward = time(runs, || engine::forward(g, vec![input.clone()]).map(|_| ()))?;
    // The deconvnet from the strongest unit of the last convolution's first channel, on one forward pass.
    let acts = engine::forward(g, vec![input.clone()])?;
    let last_conv = g.nodes.iter().rev().find(|n| matches!(n.op, zfvis_core::ops::Op::Conv(_)));
    let projection = match last_conv {
        Some(n) => {
            let target = Target { value: g.values[n.outputs[0]].name.clone(), channel: 0, unit: Unit::Max };
            let t = time(runs, || project(g, &acts, &target, Method::Deconvnet, Options::default()).map(|_| ()))?;
            Some((n.name.clone(), t))
        }
        None => None,
    };
    let first_conv = g.nodes.iter().find(|n| matches!(n.op, zfvis_core::ops::Op::Conv(_)));
    let tile = match first_conv {
        Some(n) => {
            Some((n.name.clone(), time(runs, || tile_filters(&n.weights[0], &TileOptions::default()).map(|_| ()))?))
        }
        None => None,
    };
    if json {
        let mut v = serde_json::json!({"model": g.name, "runs": runs, "forward_ms": forward});
        if let Some((layer, t)) = &projection {
            v["projection_layer"] = layer.clone().into();
            v["projection_ms"] = serde_json::json!(t);
        }
        if let Some((layer, t)) = &tile {
            v["tile_layer"] = layer.clone().into();
            v["tile_ms"] = serde_json::json!(t);
        }
        println!("{v}");
    } else {
        println!(
            "{}: forward median {:.3} ms (min {:.3}, max {:.3}) over {runs} runs",
            g.name, forward[0], forward[1], forward[2]
        );
        if let Some((layer, t)) = &projection {
            println!("{}: deconvnet from {layer} median {:.3} ms (min {:.3}, max {:.3})", g.name, t[0], t[1], t[2]);
        }
        if let Some((layer, t)) = tile {
            println!("{}: tile {layer} median {:.3} ms (min {:.3}, max {:.3})", g.name, t[0], t[1], t[2]);
        }
    }
    Ok(())
}
