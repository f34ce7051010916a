//! The packed GEMM and the convolution fast paths (unfolding while packing, 1×1, grouped, depthwise,
//! cached packed weights) against plain loops in f64, on seeded random shapes. Runs natively and in
//! Chromium on the wasm kernels (the command in wasm_bench.rs, with `--test fast_paths`).

use zfvis_core::ops::gemm::{gemm, gemm_packed, sgemm, MatRef, PackedA};
use zfvis_core::graph::Node;
use zfvis_core::ops::{Conv, Gemm, InnerProduct, MatMul, Op};
use zfvis_core::Tensor;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// xorshift64*: reproducible shapes and values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in lo..=hi.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn values(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0).collect()
    }
}

/// A value computed in f64 with the sum of its terms' magnitudes, which bounds f32 rounding error.
#[derive(Clone, Copy, Default)]
struct Exact {
    sum: f64,
    abs: f64,
    terms: usize,
}

impl Exact {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.abs += v.abs();
        self.terms += 1;
    }
}

/// Every entry within the worst-case bound of a float32 sum of its terms, in any order.
fn assert_close(got: &[f32], want: &[Exact], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 2.0 * (w.terms + 1) as f64 * f32::EPSILON as f64 * w.abs + 1e-30;
        let err = (*g as f64 - w.sum).abs();
        assert!(err <= tol, "{what}: entry {i} is {g}, expected {} (error {err:e}, bound {tol:e})", w.sum);
    }
}

fn at(m: &MatRef, i: usize, j: usize) -> f64 {
    m.data[i * m.rs + j * m.cs] as f64
}

/// C = A·B (+ C0) in f64.
fn reference(a: &MatRef, b: &MatRef, c0: Option<&[f32]>) -> Vec<Exact> {
    let mut out = vec![Exact::default(); a.rows * b.cols];
    for i in 0..a.rows {
        for j in 0..b.cols {
            let e = &mut out[i * b.cols + j];
            if let Some(c0) = c0 {
                e.add(c0[i * b.cols + j] as f64);
            }
            for p in 0..a.cols {
                e.add(at(a, i, p) * at(b, p, j));
            }
        }
    }
    out
}

/// A shape drawn to hit edges: tiny, one, not a multiple of any tile, or past a block size.
fn dim(rng: &mut Rng) -> usize {
    match rng.int(0, 9) {
        0 => 1,
        1..=5 => rng.int(1, 40),
        6..=8 => rng.int(40, 300),
        _ => rng.int(300, 1100),
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn sgemm_matches_f64_on_random_shapes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut shapes: Vec<(usize, usize, usize)> = vec![(1, 1, 1), (1, 300, 1), (7, 1, 9), (300, 1, 1), (1, 1, 2000)];
    while shapes.len() < 120 {
        let (m, k, n) = (dim(&mut rng), dim(&mut rng), dim(&mut rng));
        // Keep each case small enough for the f64 loop.
        if m * k * n <= 6_000_000 {
            shapes.push((m, k, n));
        }
    }
    for (m, k, n) in shapes {
        let (a, b) = (rng.values(m * k), rng.values(k * n));
        let mut c = vec![f32::NAN; m * n];
        sgemm(m, k, n, &a, &b, &mut c);
        let want = reference(&MatRef::new(&a, m, k), &MatRef::new(&b, k, n), None);
        assert_close(&c, &want, &format!("sgemm {m}×{k}×{n}"));
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn gemm_transposed_strided_accumulated_and_prepacked() {
    let mut rng = Rng(7);
    for case in 0..80 {
        let (m, k, n) = (rng.int(1, 70), rng.int(1, 300), rng.int(1, 70));
        let (ta, tb, acc) = (case % 2 == 1, case / 2 % 2 == 1, case / 4 % 2 == 1);
        let ldc = n + rng.int(0, 5);
        let (ad, bd) = (rng.values(m * k), rng.values(k * n));
        let a = if ta { MatRef::new(&ad, k, m).t() } else { MatRef::new(&ad, m, k) };
        let b = if tb { MatRef::new(&bd, n, k).t() } else { MatRef::new(&bd, k, n) };
        let c0 = rng.values(m * ldc);
        let dense: Vec<f32> = (0..m * n).map(|i| c0[i / n * ldc + i % n]).collect();
        let want = reference(&a, &b, acc.then_some(&dense[..]));
        let what = format!("case {case}: {m}×{k}×{n}, Aᵀ {ta}, Bᵀ {tb}, accumulate {acc}, ldc {ldc}");
        let mut c = c0.clone();
        gemm(a, &b, &mut c, ldc, acc);
        let got: Vec<f32> = (0..m * n).map(|i| c[i / n * ldc + i % n]).collect();
        assert_close(&got, &want, &what);
        // Padding between rows of C is left alone.
        assert!((0..m).all(|i| c[i * ldc + n..(i + 1) * ldc] == c0[i * ldc + n..(i + 1) * ldc]), "{what}");
        let mut c = c0.clone();
        gemm_packed(&PackedA::new(a), &b, &mut c, ldc, acc);
        let got: Vec<f32> = (0..m * n).map(|i| c[i / n * ldc + i % n]).collect();
        assert_close(&got, &want, &format!("{what}, prepacked"));
    }
}

/// A convolution drawn at random: sizes, stride, padding, dilation, groups (depthwise included).
fn random_conv(rng: &mut Rng) -> (Conv, [usize; 4]) {
    let group = match rng.int(0, 3) {
        0 | 1 => 1,
        2 => rng.int(2, 3),
        _ => 0, // depthwise: one group per input channel
    };
    // Now and then enough channels for several depth blocks, and rows wide enough for whole panels.
    let large = group == 1 && rng.int(0, 3) == 0;
    let cg = if group == 0 {
        1
    } else if large {
        rng.int(20, 40)
    } else {
        rng.int(1, 6)
    };
    let c = if group == 0 { rng.int(2, 6) } else { group * cg };
    let group = if group == 0 { c } else { group };
    let mg = rng.int(1, 5);
    let pointwise = rng.int(0, 4) == 0;
    let kernel = if pointwise { [1, 1] } else { [rng.int(1, 5), rng.int(1, 5)] };
    let stride = if pointwise || (large && rng.int(0, 3) > 0) { [1, 1] } else { [rng.int(1, 3), rng.int(1, 3)] };
    let dilation = if pointwise || rng.int(0, 3) > 0 { [1, 1] } else { [rng.int(1, 2), rng.int(1, 2)] };
    let pads = if pointwise { [0; 4] } else { [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)] };
    let extent = |i: usize| dilation[i] * (kernel[i] - 1) + 1;
    let h = rng.int(extent(0), if large { 24 } else { 20 });
    let w = if large { rng.int(extent(1).max(40), 80) } else { rng.int(extent(1), 20) };
    let conv = Conv {
        out_channels: group * mg,
        kernel,
        stride,
        pads,
        dilation,
        group,
        bias: rng.int(0, 1) == 1,
        packed: Default::default(),
    };
    (conv, [rng.int(1, 2), c, h, w])
}

fn random_tensor(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_shape_vec(shape, rng.values(len)).unwrap()
}

/// Which input pixel output (oy, ox) sees through tap (ki, kj), if inside the image.
fn source(conv: &Conv, h: usize, w: usize, oy: usize, ox: usize, ki: usize, kj: usize) -> Option<(usize, usize)> {
    let iy = (oy * conv.stride[0] + ki * conv.dilation[0]) as isize - conv.pads[0] as isize;
    let ix = (ox * conv.stride[1] + kj * conv.dilation[1]) as isize - conv.pads[1] as isize;
    ((0..h as isize).contains(&iy) && (0..w as isize).contains(&ix)).then_some((iy as usize, ix as usize))
}

/// The direct convolution and its input gradient, in f64.
fn conv_reference(conv: &Conv, x: &Tensor, weights: &[Tensor], g: &Tensor) -> (Vec<Exact>, Vec<Exact>) {
    let (xs, wt, gs) = (x.as_slice().unwrap(), weights[0].as_slice().unwrap(), g.as_slice().unwrap());
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let [m, oh, ow] = [g.shape()[1], g.shape()[2], g.shape()[3]];
    let [kh, kw] = conv.kernel;
    let (cg, mg) = (c / conv.group, m / conv.group);
    let mut y = vec![Exact::default(); n * m * oh * ow];
    let mut dx = vec![Exact::default(); n * c * h * w];
    for b in 0..n {
        for oc in 0..m {
            for oy in 0..oh {
                for ox in 0..ow {
                    let yi = ((b * m + oc) * oh + oy) * ow + ox;
                    if conv.bias {
                        y[yi].add(weights[1].as_slice().unwrap()[oc] as f64);
                    }
                    for ci in 0..cg {
                        let ic = oc / mg * cg + ci;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let Some((iy, ix)) = source(conv, h, w, oy, ox, ki, kj) else { continue };
                                let wv = wt[((oc * cg + ci) * kh + ki) * kw + kj] as f64;
                                let xi = ((b * c + ic) * h + iy) * w + ix;
                                y[yi].add(wv * xs[xi] as f64);
                                dx[xi].add(wv * gs[yi] as f64);
                            }
                        }
                    }
                }
            }
        }
    }
    (y, dx)
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn conv_forward_and_backward_match_direct_convolution() {
    let mut rng = Rng(42);
    for case in 0..300 {
        let (conv, shape) = random_conv(&mut rng);
        let x = random_tensor(&mut rng, &shape);
        let wshapes = conv.weight_shapes(&shape).unwrap();
        let weights: Vec<Tensor> = wshapes.iter().map(|s| random_tensor(&mut rng, s)).collect();
        let y = conv.forward(&x, &weights).unwrap();
        let g = random_tensor(&mut rng, y.shape());
        let (want_y, want_dx) = conv_reference(&conv, &x, &weights, &g);
        let what = format!("case {case}: input {shape:?}, {conv:?}");
        assert_close(y.as_slice().unwrap(), &want_y, &format!("{what}, forward"));
        // Second call: the packed weights come from the cache.
        assert_eq!(conv.forward(&x, &weights).unwrap(), y, "{what}, cached");
        let dx = conv.backward(&shape, &g, &weights).unwrap();
        assert_close(dx.as_slice().unwrap(), &want_dx, &format!("{what}, backward"));
        assert_eq!(conv.backward(&shape, &g, &weights).unwrap(), dx, "{what}, backward cached");
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn conv_with_new_weights_repacks() {
    let mut rng = Rng(5);
    let conv = Conv {
        out_channels: 6,
        kernel: [3, 3],
        stride: [1, 1],
        pads: [1; 4],
        dilation: [1, 1],
        group: 1,
        bias: false,
        packed: Default::default(),
    };
    let x = random_tensor(&mut rng, &[1, 4, 9, 9]);
    let g = random_tensor(&mut rng, &[1, 6, 9, 9]);
    let check = |conv: &Conv, w: &Tensor, what: &str| {
        let y = conv.forward(&x, std::slice::from_ref(w)).unwrap();
        assert_close(y.as_slice().unwrap(), &conv_reference(conv, &x, std::slice::from_ref(w), &g).0, what);
    };
    // Two weight sets alive at once, passed in turn to one layer.
    let (w1, w2) = (random_tensor(&mut rng, &[6, 4, 3, 3]), random_tensor(&mut rng, &[6, 4, 3, 3]));
    for _ in 0..2 {
        check(&conv, &w1, "first set");
        check(&conv, &w2, "second set");
    }
    // A node's weights edited in place (same address and length) and replaced, through weights_mut.
    let mut node = Node::new("c".into(), "Conv".into(), Op::Conv(conv), vec![0], vec![1], vec![w1]);
    let run = |node: &Node, what: &str| match &node.op {
        Op::Conv(c) => check(c, &node.weights()[0], what),
        _ => unreachable!(),
    };
    for _ in 0..3 {
        run(&node, "before");
        node.weights_mut()[0][[2, 1, 1, 1]] += 1.0;
        run(&node, "one value changed in place");
        node.weights_mut()[0] = random_tensor(&mut rng, &[6, 4, 3, 3]);
        run(&node, "replaced");
    }
    // A copy of the node packs its own weights.
    let copy = node.clone();
    node.weights_mut()[0][[0, 0, 0, 0]] -= 2.0;
    run(&copy, "copy");
    run(&node, "original after the copy");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn dense_ops_match_f64() {
    let mut rng = Rng(11);
    for case in 0..60 {
        let (m, k, n) = (rng.int(1, 9), rng.int(1, 200), rng.int(1, 50));
        let transpose = case % 2 == 1;
        let ip = InnerProduct { num_output: n, axis: 1, transpose, bias: true };
        let x = random_tensor(&mut rng, &[m, k]);
        let w = random_tensor(&mut rng, &if transpose { [k, n] } else { [n, k] });
        let bias = random_tensor(&mut rng, &[n]);
        let weights = [w.clone(), bias.clone()];
        let wv = if transpose {
            MatRef::new(w.as_slice().unwrap(), k, n)
        } else {
            MatRef::new(w.as_slice().unwrap(), n, k).t()
        };
        let xv = MatRef::new(x.as_slice().unwrap(), m, k);
        let b0: Vec<f32> = (0..m * n).map(|i| bias[i % n]).collect();
        let y = ip.forward(&x, &weights).unwrap();
        assert_close(y.as_slice().unwrap(), &reference(&xv, &wv, Some(&b0)), &format!("InnerProduct {m}×{k}×{n}"));
        let g = random_tensor(&mut rng, &[m, n]);
        let dx = ip.backward(&[m, k], &g, &weights).unwrap();
        let gv = MatRef::new(g.as_slice().unwrap(), m, n);
        assert_close(
            dx.as_slice().unwrap(),
            &reference(&gv, &wv.t(), None),
            &format!("InnerProduct backward {m}×{k}×{n}"),
        );

        if transpose {
            let y = MatMul { constant_left: false }.forward(&[&x], std::slice::from_ref(&w)).unwrap();
            assert_close(y.as_slice().unwrap(), &reference(&xv, &wv, None), &format!("MatMul {m}×{k}×{n}"));
        }
        let gemm_op = Gemm { alpha: 0.5, beta: 2.0, trans_a: false, trans_b: !transpose };
        let y = gemm_op.forward(&x, &weights).unwrap();
        let mut want = reference(&xv, &wv, None);
        for (e, c) in want.iter_mut().zip(&b0) {
            (e.sum, e.abs) = (0.5 * e.sum, 0.5 * e.abs);
            e.add(2.0 * *c as f64);
        }
        assert_close(y.as_slice().unwrap(), &want, &format!("Gemm {m}×{k}×{n}"));
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn max_pooling_matches_first_maximum_with_ties_and_nan() {
    use zfvis_core::ops::{Pool, PoolKind, PoolRounding};
    let mut rng = Rng(3);
    let mut cases = 0;
    while cases < 300 {
        let kernel = [rng.int(1, 4), rng.int(1, 4)];
        let dilation = [rng.int(1, 2), rng.int(1, 2)];
        let extent = |i: usize| dilation[i] * (kernel[i] - 1) + 1;
        let pads = [
            rng.int(0, extent(0) - 1),
            rng.int(0, extent(1) - 1),
            rng.int(0, extent(0) - 1),
            rng.int(0, extent(1) - 1),
        ];
        let rounding = [PoolRounding::Floor, PoolRounding::Ceil, PoolRounding::CaffeCeil][rng.int(0, 2)];
        let pool = Pool {
            kind: PoolKind::Max,
            kernel,
            stride: [rng.int(1, 3), rng.int(1, 3)],
            pads,
            dilation,
            rounding,
            global: false,
            count_include_pad: false,
        };
        let shape = [rng.int(1, 2), rng.int(1, 3), rng.int(1, 20), rng.int(1, 40)];
        let Ok(out) = pool.output_shape(&shape) else { continue };
        cases += 1;
        // Few distinct values, so that ties are common, and now and then a NaN.
        let data: Vec<f32> = (0..shape.iter().product())
            .map(|_| match rng.int(0, 40) {
                0 => f32::NAN,
                r => (r % 5) as f32 - 2.0,
            })
            .collect();
        let x = Tensor::from_shape_vec(&shape[..], data).unwrap();
        let (y, switches) = pool.forward(&x).unwrap();
        let switches = switches.unwrap();
        let [h, w] = [shape[2], shape[3]];
        let (xs, ys) = (x.as_slice().unwrap(), y.as_slice().unwrap());
        for (o, (&got, &at)) in ys.iter().zip(&switches.index).enumerate() {
            let (plane, oy, ox) = (o / (out[2] * out[3]), o / out[3] % out[2], o % out[3]);
            let mut want: Option<(f32, usize)> = None;
            for ki in 0..kernel[0] {
                for kj in 0..kernel[1] {
                    let iy = (oy * pool.stride[0] + ki * dilation[0]) as isize - pads[0] as isize;
                    let ix = (ox * pool.stride[1] + kj * dilation[1]) as isize - pads[1] as isize;
                    if !(0..h as isize).contains(&iy) || !(0..w as isize).contains(&ix) {
                        continue;
                    }
                    let i = iy as usize * w + ix as usize;
                    let v = xs[plane * h * w + i];
                    if want.is_none_or(|(best, _)| v > best) {
                        want = Some((v, i));
                    }
                }
            }
            let (want_v, want_at) = want.map_or((0.0, u32::MAX), |(v, i)| (v, i as u32));
            let what = format!("{pool:?} on {shape:?}, output {o}");
            assert_eq!(got.to_bits(), want_v.to_bits(), "{what}: value");
            assert_eq!(at, want_at, "{what}: switch");
        }
    }
}
