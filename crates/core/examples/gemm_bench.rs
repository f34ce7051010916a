//! GFLOP/s of `sgemm` (and ndarray's matrixmultiply for comparison) on square sizes.
//! `cargo run --release -p zfvis-core --example gemm_bench [sizes...]`

use std::time::Instant;
use zfvis_core::ops::gemm::sgemm;

fn seeded(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

/// Best seconds of a few runs, each long enough to time.
fn best(mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let mut reps = 0;
        while t.elapsed().as_secs_f64() < 0.2 {
            f();
            reps += 1;
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![64, 128, 256, 512, 1024] } else { sizes };
    println!("size  zfvis GFLOP/s  matrixmultiply GFLOP/s");
    for n in sizes {
        let (a, b) = (seeded(n * n, 1), seeded(n * n, 2));
        let mut c = vec![0f32; n * n];
        let flops = 2.0 * (n * n * n) as f64;
        let ours = best(|| sgemm(n, n, n, &a, &b, &mut c));
        let av = ndarray::ArrayView2::from_shape((n, n), &a[..]).unwrap();
        let bv = ndarray::ArrayView2::from_shape((n, n), &b[..]).unwrap();
        let mut cm = ndarray::Array2::<f32>::zeros((n, n));
        let mm = best(|| ndarray::linalg::general_mat_mul(1.0, &av, &bv, 0.0, &mut cm));
        println!("{n:5} {:14.1} {:22.1}", flops / ours / 1e9, flops / mm / 1e9);
    }
}
