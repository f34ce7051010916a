//! GEMM, convolution and small-model layer timings in headless Chromium; prints them, checks nothing.
//! From crates/core, with chromedriver on PATH (add `,+relaxed-simd` for the FMA build):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_TEST_ONLY_WEB=1
//!  RUSTFLAGS='-C target-feature=+simd128' cargo test --release --target wasm32-unknown-unknown
//!  --test wasm_bench -- --nocapture [gemm|conv|small]`
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;
use zfvis_core::ops::gemm::sgemm;
wasm_bindgen_test_configure!(run_in_browser);

fn seeded(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

/// performance.now(), in milliseconds.
fn now() -> f64 {
    use js_sys::{Function, Reflect};
    let perf = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: Function = Reflect::get(&perf, &"now".into()).unwrap().into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

/// Milliseconds per call: the fastest of many batches of calls, each batch about 4 ms, about 0.8 s in
/// all (each test must end within 20 s, the runner's limit). The minimum shrugs off other processes.
fn best(mut f: impl FnMut()) -> f64 {
    let t = now();
    f();
    f();
    let reps = (8.0 / (now() - t).max(1e-3)).ceil().max(1.0) as usize;
    let (start, mut best) = (now(), f64::INFINITY);
    while now() - start < 800.0 {
        let t = now();
        (0..reps).for_each(|_| f());
        best = best.min((now() - t) / reps as f64);
    }
    best
}

#[wasm_bindgen_test]
fn gemm_gflops() {
    for n in [64, 128, 256, 512, 1024] {
        let (a, b) = (seeded(n * n, 1), seeded(n * n, 2));
        let mut c = vec![0f32; n * n];
        let ms = best(|| sgemm(n, n, n, &a, &b, &mut c));
        let gf = |ms: f64| 2.0 * (n * n * n) as f64 / ms / 1e6;
        console_log!("sgemm {n}: {ms:.3} ms, {:.1} GFLOP/s", gf(ms));
        use zfvis_core::ops::gemm::{gemm_packed, MatRef, PackedA};
        let pack_ms = best(|| drop(PackedA::new(MatRef::new(&a, n, n))));
        let packed = PackedA::new(MatRef::new(&a, n, n));
        let ms = best(|| gemm_packed(&packed, &MatRef::new(&b, n, n), &mut c, n, false));
        console_log!("  packing A {pack_ms:.3} ms; with A packed {ms:.3} ms, {:.1} GFLOP/s", gf(ms));
    }
}

#[wasm_bindgen_test]
fn kernel_gflops() {
    use zfvis_core::ops::gemm::kernel::{tile, MR, NR};
    let kc = 256;
    let (a, b) = (seeded(kc * MR, 1), seeded(kc * NR, 2));
    let mut c = vec![0f32; MR * NR];
    // Not inlined: V8 tiers a function up on its next call, never inside a running loop.
    #[inline(never)]
    fn run(kc: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        for _ in 0..100 {
            tile(kc, a, b, c, NR, true);
        }
    }
    let ms = best(|| run(kc, &a, &b, &mut c));
    console_log!("kernel {MR}x{NR}: {:.1} GFLOP/s", 100.0 * 2.0 * (kc * MR * NR) as f64 / ms / 1e6);
}

/// A convolution layer: (name, in channels, input size, out channels, kernel, stride, pad, group).
type ConvLayer = (&'static str, usize, usize, usize, usize, usize, usize, usize);

/// Convolution layers of the benchmark models.
const CONVS: &[ConvLayer] = &[
    ("VGG-16 conv1_2", 64, 224, 64, 3, 1, 1, 1),
    ("VGG-16 conv1_2 M=4 (packing)", 64, 224, 4, 3, 1, 1, 1),
    ("cifar10_quick conv2 M=4 (packing)", 32, 16, 4, 5, 1, 2, 1),
    ("VGG-16 conv2_2", 128, 112, 128, 3, 1, 1, 1),
    ("VGG-16 conv3_2", 256, 56, 256, 3, 1, 1, 1),
    ("VGG-16 conv4_2", 512, 28, 512, 3, 1, 1, 1),
    ("VGG-16 conv5_2", 512, 14, 512, 3, 1, 1, 1),
    ("VGG-16 conv1_1", 3, 224, 64, 3, 1, 1, 1),
    ("AlexNet conv1", 3, 224, 96, 11, 4, 0, 1),
    ("AlexNet conv2", 96, 27, 256, 5, 1, 2, 2),
    ("ZFNet conv1", 3, 224, 96, 7, 2, 0, 1),
    ("ZFNet conv2", 96, 55, 256, 5, 2, 0, 1),
    ("ZFNet conv4", 512, 12, 512, 3, 1, 1, 1),
    ("cifar10_quick conv2", 32, 16, 32, 5, 1, 2, 1),
    ("LeNet conv2", 20, 12, 50, 5, 1, 0, 1),
];

#[wasm_bindgen_test]
fn conv_gflops() {
    use zfvis_core::ops::Conv;
    use zfvis_core::Tensor;
    for &(name, c, size, m, k, stride, pad, group) in CONVS {
        let conv = Conv {
            out_channels: m,
            kernel: [k, k],
            stride: [stride, stride],
            pads: [pad; 4],
            dilation: [1, 1],
            group,
            bias: true,
            packed: Default::default(),
        };
        let x = Tensor::from_shape_vec(vec![1, c, size, size], seeded(c * size * size, 1)).unwrap();
        let w = Tensor::from_shape_vec(vec![m, c / group, k, k], seeded(m * c / group * k * k, 2)).unwrap();
        let weights = [w, Tensor::zeros(vec![m])];
        let out = conv.output_shape(x.shape()).unwrap();
        let macs = out.iter().product::<usize>() * c / group * k * k;
        let ms = best(|| drop(conv.forward(&x, &weights).unwrap()));
        console_log!("{name}: {ms:.3} ms, {:.1} GFLOP/s", 2.0 * macs as f64 / ms / 1e6);
    }
}

mod small {
    use super::*;
    use zfvis_core::ops::{Activation, Conv, InnerProduct, Op, Pool, PoolKind, PoolRounding, Softmax};
    use zfvis_core::Tensor;

    /// An op and its weights' shapes.
    type Layer = (Op, Vec<Vec<usize>>);

    fn conv(c: usize, m: usize, k: usize, pad: usize) -> Layer {
        let op = Conv {
            out_channels: m,
            kernel: [k, k],
            stride: [1, 1],
            pads: [pad; 4],
            dilation: [1, 1],
            group: 1,
            bias: true,
            packed: Default::default(),
        };
        (Op::Conv(op), vec![vec![m, c, k, k], vec![m]])
    }

    fn pool(kind: PoolKind, k: usize) -> Layer {
        let op = Pool {
            kind,
            kernel: [k, k],
            stride: [2, 2],
            pads: [0; 4],
            dilation: [1, 1],
            rounding: PoolRounding::CaffeCeil,
            global: false,
            count_include_pad: true,
        };
        (Op::Pool(op), vec![])
    }

    fn ip(k: usize, n: usize) -> Layer {
        (
            Op::InnerProduct(InnerProduct { num_output: n, axis: 1, transpose: false, bias: true }),
            vec![vec![n, k], vec![n]],
        )
    }

    fn relu() -> Layer {
        (Op::Activation(Activation::Relu { negative_slope: 0.0 }), vec![])
    }

    /// Runs the layers in a chain, each timed alone on its real input.
    fn profile(name: &str, input: &[usize], layers: Vec<(&str, Layer)>) {
        let mut x = Tensor::from_shape_vec(input.to_vec(), seeded(input.iter().product(), 9)).unwrap();
        let mut total = 0.0;
        let mut line = String::new();
        for (i, (layer, (op, shapes))) in layers.into_iter().enumerate() {
            let weights: Vec<Tensor> = shapes
                .iter()
                .map(|s| {
                    Tensor::from_shape_vec(s.clone(), seeded(s.iter().product(), i as u64)).unwrap().mapv(|v| v * 0.1)
                })
                .collect();
            let ms = best(|| drop(op.forward(&[&x], &weights, 1).unwrap()));
            total += ms;
            line += &format!(" {layer} {:.1}", ms * 1000.0);
            x = op.forward(&[&x], &weights, 1).unwrap().tensors.remove(0);
        }
        console_log!("{name}: sum of layers {:.3} ms; µs per layer:{line}", total);
    }

    #[wasm_bindgen_test]
    fn small_models() {
        profile(
            "LeNet",
            &[1, 1, 28, 28],
            vec![
                ("conv1", conv(1, 20, 5, 0)),
                ("pool1", pool(PoolKind::Max, 2)),
                ("conv2", conv(20, 50, 5, 0)),
                ("pool2", pool(PoolKind::Max, 2)),
                ("ip1", ip(800, 500)),
                ("relu1", relu()),
                ("ip2", ip(500, 10)),
                ("prob", (Op::Softmax(Softmax { axis: 1 }), vec![])),
            ],
        );
        profile(
            "cifar10_quick",
            &[1, 3, 32, 32],
            vec![
                ("conv1", conv(3, 32, 5, 2)),
                ("pool1", pool(PoolKind::Max, 3)),
                ("relu1", relu()),
                ("conv2", conv(32, 32, 5, 2)),
                ("relu2", relu()),
                ("pool2", pool(PoolKind::Average, 3)),
                ("conv3", conv(32, 64, 5, 2)),
                ("relu3", relu()),
                ("pool3", pool(PoolKind::Average, 3)),
                ("ip1", ip(1024, 64)),
                ("ip2", ip(64, 10)),
                ("prob", (Op::Softmax(Softmax { axis: 1 }), vec![])),
            ],
        );
    }
}

#[wasm_bindgen_test]
fn pool_timing() {
    use zfvis_core::ops::{Pool, PoolKind, PoolRounding};
    use zfvis_core::Tensor;
    for (c, size, k, s) in
        [(32, 32, 3, 2), (32, 33, 3, 2), (32, 16, 1, 1), (32, 64, 1, 4), (64, 224, 2, 2), (96, 109, 3, 2)]
    {
        let pool = Pool {
            kind: PoolKind::Max,
            kernel: [k, k],
            stride: [s, s],
            pads: [0; 4],
            dilation: [1, 1],
            rounding: PoolRounding::CaffeCeil,
            global: false,
            count_include_pad: true,
        };
        let x = Tensor::from_shape_vec(vec![1, c, size, size], seeded(c * size * size, 3)).unwrap();
        let outs: usize = pool.output_shape(x.shape()).unwrap().iter().product();
        let ms = best(|| drop(pool.forward(&x).unwrap()));
        console_log!("max pool {k}×{k}/{s} on {c}×{size}²: {ms:.3} ms, {:.2} ns per output", ms * 1e6 / outs as f64);
    }
}

#[wasm_bindgen_test]
fn fc_timing() {
    use zfvis_core::ops::InnerProduct;
    use zfvis_core::Tensor;
    // ZFNet-512's first fully connected layer, and LeNet's.
    for (k, n) in [(18432, 4096), (800, 500)] {
        let ip = InnerProduct { num_output: n, axis: 1, transpose: false, bias: true };
        let x = Tensor::from_shape_vec(vec![1, k], seeded(k, 1)).unwrap();
        let w = Tensor::from_shape_vec(vec![n, k], vec![0.25; n * k]).unwrap();
        let weights = [w, Tensor::zeros(vec![n])];
        let ms = best(|| drop(ip.forward(&x, &weights).unwrap()));
        console_log!("fc {k}→{n}: {ms:.3} ms, {:.1} GB/s of weights", (n * k * 4) as f64 / ms / 1e6);
    }
}
