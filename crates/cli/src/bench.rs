//! `zfvis bench`: timings of the forward pass, a deconvnet projection and filter tiling on a seeded random
//! input; optionally the time of every node of the forward pass (GFLOP/s per convolution) and the GEMM
//! micro-benchmark.

use serde_json::json;
use std::time::Instant;
use zfvis_core::formats::Model;
use zfvis_core::ops::{gemm::sgemm, Op};
use zfvis_core::vis::projection::{project, Method, Options, Target, Unit};
use zfvis_core::vis::tile::{tile_filters, TileOptions};
use zfvis_core::{analysis, engine, Result, Tensor};

/// Median, min and max in milliseconds of `runs` calls after a warm-up, then every sample in run order.
pub fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    f()?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut sorted = ms.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    Ok([sorted[sorted.len() / 2], sorted[0], sorted[sorted.len() - 1]].into_iter().chain(ms).collect())
}

/// What to measure besides the forward pass, projection and tiling.
pub struct Extra {
    /// Forward passes timed node by node.
    pub profile: usize,
    /// Square sizes of the GEMM micro-benchmark.
    pub gemm: Vec<usize>,
    pub gemm_runs: usize,
}

/// 2·MACs per millisecond, in GFLOP/s.
fn gflops(macs: u64, ms: f64) -> f64 {
    2.0 * macs as f64 / ms / 1e6
}

fn ms3(t: &[f64]) -> String {
    format!("median {:.3} ms (min {:.3}, max {:.3})", t[0], t[1], t[2])
}

pub fn run(model: Option<&Model>, runs: usize, extra: &Extra, json: bool) -> Result<()> {
    let mut v = json!({});
    if let Some(model) = model {
        v = bench_model(model, runs, extra.profile, json)?;
    }
    if !extra.gemm.is_empty() {
        let rows: Vec<_> = extra
            .gemm
            .iter()
            .map(|&n| {
                let t = bench_sgemm(n, n, n, extra.gemm_runs);
                let flops = 2 * (n as u64).pow(3);
                if !json {
                    println!(
                        "sgemm {n}×{n}×{n}: {} = {:.1} GFLOP/s (best {:.1})",
                        ms3(&t),
                        gflops(flops / 2, t[0]),
                        gflops(flops / 2, t[1])
                    );
                }
                json!({"m": n, "k": n, "n": n, "ms": t})
            })
            .collect();
        v["sgemm"] = rows.into();
    }
    if json {
        println!("{v}");
    }
    Ok(())
}

fn bench_model(model: &Model, runs: usize, profile: usize, json: bool) -> Result<serde_json::Value> {
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
    let last_conv = g.nodes.iter().rev().find(|n| matches!(n.op, Op::Conv(_)));
    let projection = match last_conv {
        Some(n) => {
            let target = Target { value: g.values[n.outputs[0]].name.clone(), channel: 0, unit: Unit::Max };
            let t = time(runs, || project(g, &acts, &target, Method::Deconvnet, Options::default()).map(|_| ()))?;
            Some((n.name.clone(), t))
        }
        None => None,
    };
    drop(acts);
    let first_conv = g.nodes.iter().find(|n| matches!(n.op, Op::Conv(_)));
    let tile = match first_conv {
        Some(n) => {
            Some((n.name.clone(), time(runs, || tile_filters(&n.weights()[0], &TileOptions::default()).map(|_| ()))?))
        }
        None => None,
    };
    let mut v = json!({"model": g.name, "runs": runs, "forward_ms": forward});
    if let Some((layer, t)) = &projection {
        v["projection_layer"] = layer.clone().into();
        v["projection_ms"] = json!(t);
    }
    if let Some((layer, t)) = &tile {
        v["tile_layer"] = layer.clone().into();
        v["tile_ms"] = json!(t);
    }
    if !json {
        println!("{}: forward {} over {runs} runs", g.name, ms3(&forward));
        if let Some((layer, t)) = &projection {
            println!("{}: deconvnet from {layer} {}", g.name, ms3(t));
        }
        if let Some((layer, t)) = &tile {
            println!("{}: tile {layer} {}", g.name, ms3(t));
        }
    }
    if profile > 0 {
        // Mean time of every node over `profile` passes.
        let origin = Instant::now();
        let mut clock = || origin.elapsed().as_secs_f64() * 1e3;
        engine::forward_timed(g, vec![input.clone()], &mut clock)?;
        let mut runs = Vec::with_capacity(profile);
        for _ in 0..profile {
            runs.push(engine::forward_timed(g, vec![input.clone()], &mut clock)?.1);
        }
        let totals: Vec<f64> = runs.iter().map(|t| t.iter().sum()).collect();
        let shapes = engine::infer_shapes(g, &g.default_input_shapes())?;
        let nodes: Vec<_> = g
            .nodes
            .iter()
            .zip(faster_half_mean(&runs))
            .map(|(n, ms)| {
                let (macs, conv) = (analysis::macs(n, &shapes), matches!(n.op, Op::Conv(_)));
                if !json && conv {
                    println!("{}: {} {:.3} ms, {:.1} GFLOP/s", g.name, n.name, ms, gflops(macs, ms));
                }
                json!({"name": n.name, "type": n.type_name, "conv": conv, "macs": macs, "ms": ms})
            })
            .collect();
        v["profile"] = json!({"nodes": nodes, "runs": totals});
    }
    Ok(v)
}

/// Each node's mean time over the faster half of the runs (by their sum): runs slowed down by something
/// else on the machine drop out, while the mean keeps a coarse clock's quantization from biasing it (the
/// browser's clock ticks by 0.1 ms with jitter). The same statistic as the page binding's.
pub fn faster_half_mean(runs: &[Vec<f64>]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    let total = |i: usize| runs[i].iter().sum::<f64>();
    order.sort_by(|&a, &b| total(a).total_cmp(&total(b)));
    let kept = &order[..runs.len().div_ceil(2)];
    let nodes = runs.first().map_or(0, |r| r.len());
    (0..nodes).map(|j| kept.iter().map(|&i| runs[i][j]).sum::<f64>() / kept.len() as f64).collect()
}

/// Milliseconds per `sgemm` call of C (m×n) = A (m×k) · B (k×n): [median, min, max, ...samples] over
/// `runs` samples after a warm-up call; a sample repeats the call until 20 ms have passed, as the
/// browser's `benchSgemm` does.
pub fn bench_sgemm(m: usize, k: usize, n: usize, runs: usize) -> Vec<f64> {
    let fill =
        |len: usize, seed: u32| (0..len).map(|i| ((i as u32 ^ seed) % 17) as f32 / 8.0 - 1.0).collect::<Vec<_>>();
    let (a, b, mut c) = (fill(m * k, 5), fill(k * n, 11), vec![0.0; m * n]);
    sgemm(m, k, n, &a, &b, &mut c);
    let ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let (start, mut calls) = (Instant::now(), 0);
            loop {
                sgemm(m, k, n, &a, &b, &mut c);
                calls += 1;
                let elapsed = start.elapsed().as_secs_f64() * 1e3;
                if elapsed >= 20.0 {
                    break elapsed / calls as f64;
                }
            }
        })
        .collect();
    let mut sorted = ms.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    [sorted[sorted.len() / 2], sorted[0], sorted[sorted.len() - 1]].into_iter().chain(ms).collect()
}
