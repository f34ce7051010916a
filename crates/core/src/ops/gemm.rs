//! Matrix multiply: the kernel behind convolutions and fully connected layers (f32; f64 for gradient checks).
//!
//! A packed, cache-blocked GEMM in the usual three levels: A is packed into panels of [`MR`] rows over
//! all of K (weights once, at first use: [`PackedA`]); B is packed block by block (KC×NC) into panels of
//! [`NR`] columns, straight from its source ([`PackB`]: a strided matrix, or a convolution's input
//! unfolded on the fly); a micro-kernel keeps an MR×NR tile of C in registers.

pub mod kernel;

use crate::real::{Real, Scratch};

pub use kernel::{MR, NR};

/// Depth of one packed block: a B panel (KC×NR) and an A panel (KC×MR) stay in L1 (24 KiB in wasm).
const KC: usize = 512;
/// Rows of A per block (a multiple of MR): an A block (MC×KC) stays in L2.
const MC: usize = 96;
/// Columns of B per block (a multiple of NR).
const NC: usize = 1024;

/// C (m×n) = A (m×k) · B (k×n), all row-major and contiguous; C is overwritten.
pub fn sgemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n, "sgemm operand sizes");
    gemm(MatRef::new(a, m, k), &MatRef::new(b, k, n), c, n, false);
}

/// A read-only matrix: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a, T = f32> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T: Real> MatRef<'a, T> {
    /// A row-major rows×cols matrix.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix data too short");
        MatRef { data, rows, cols, rs: cols, cs: 1 }
    }

    pub fn t(self) -> Self {
        MatRef { rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs, ..self }
    }

    fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.rs + j * self.cs]
    }
}

/// A source of B for the GEMM: k×n values, packed a block at a time.
pub trait PackB<T = f32> {
    fn k(&self) -> usize;
    fn n(&self) -> usize;
    /// Packs rows `k0..k0 + kc` and columns `n0..n0 + nc` into panels of NR columns: panel q holds
    /// columns n0 + q·NR.. as `dst[(q·kc + kk)·NR + j]`, columns past `nc` zero.
    fn pack(&self, k0: usize, kc: usize, n0: usize, nc: usize, dst: &mut [T]);
}

impl<T: Real> PackB<T> for MatRef<'_, T> {
    fn k(&self) -> usize {
        self.rows
    }

    fn n(&self) -> usize {
        self.cols
    }

    fn pack(&self, k0: usize, kc: usize, n0: usize, nc: usize, dst: &mut [T]) {
        for (q, panel) in dst[..kc * nc.next_multiple_of(NR)].chunks_exact_mut(kc * NR).enumerate() {
            let (j0, cols) = (n0 + q * NR, NR.min(nc - q * NR));
            if self.rs == 1 && cols == NR {
                // A transposed matrix: each of the panel's columns is a contiguous run of the data.
                let runs: [&[T]; NR] = std::array::from_fn(|j| &self.data[(j0 + j) * self.cs + k0..][..kc]);
                for (kk, d) in panel.chunks_exact_mut(NR).enumerate() {
                    d.iter_mut().zip(&runs).for_each(|(d, run)| *d = run[kk]);
                }
                continue;
            }
            for (kk, d) in panel.chunks_exact_mut(NR).enumerate() {
                // Fixed-size copies: in wasm a variable-length one calls into the engine.
                let d: &mut [T; NR] = d.try_into().unwrap();
                let start = (k0 + kk) * self.rs + j0 * self.cs;
                *d = if self.cs == 1 && cols == NR {
                    self.data[start..start + NR].try_into().unwrap()
                } else {
                    std::array::from_fn(|j| if j < cols { self.data[start + j * self.cs] } else { T::zero() })
                };
            }
        }
    }
}

/// A packed into panels of MR rows over all of K: panel p holds rows p·MR.. as `data[(p·k + kk)·MR + r]`,
/// rows past `m` zero.
#[derive(Debug, Clone, Default)]
pub struct PackedA<T = f32> {
    m: usize,
    k: usize,
    data: Vec<T>,
}

impl<T: Real> PackedA<T> {
    pub fn new(a: MatRef<T>) -> Self {
        Self::pack_into(a, Vec::new())
    }

    /// Packs `a` reusing `buf`'s allocation.
    fn pack_into(a: MatRef<T>, mut buf: Vec<T>) -> Self {
        let (m, k) = (a.rows, a.cols);
        buf.clear();
        buf.resize(m.div_ceil(MR) * k * MR, T::zero());
        for (p, panel) in buf.chunks_exact_mut(k * MR).enumerate() {
            let rows = MR.min(m - p * MR);
            if a.rs == 1 {
                // A transposed matrix: the panel's rows at one depth are contiguous.
                for (kk, d) in panel.chunks_exact_mut(MR).enumerate() {
                    let start = kk * a.cs + p * MR;
                    d[..rows].copy_from_slice(&a.data[start..start + rows]);
                }
                continue;
            }
            for r in 0..rows {
                let start = (p * MR + r) * a.rs;
                let dst = panel.iter_mut().skip(r).step_by(MR);
                if a.cs == 1 {
                    dst.zip(&a.data[start..start + k]).for_each(|(d, v)| *d = *v);
                } else {
                    dst.zip(a.data[start..].iter().step_by(a.cs)).for_each(|(d, v)| *d = *v);
                }
            }
        }
        PackedA { m, k, data: buf }
    }

    /// Rows `p·MR..` at depths `k0..k0 + kc`.
    fn panel(&self, p: usize, k0: usize, kc: usize) -> &[T] {
        let start = (p * self.k + k0) * MR;
        &self.data[start..start + kc * MR]
    }

    /// (rows, depth) of A.
    pub fn shape(&self) -> (usize, usize) {
        (self.m, self.k)
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.data.len() * std::mem::size_of::<T>()
    }
}

/// Runs `f` on a thread-local buffer of at least `len` values (contents unspecified), kept for the next call.
pub(crate) fn with_scratch<T: Real, R>(slot: Scratch, len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let slot = T::scratch(slot);
    let mut buf = slot.take();
    if buf.len() < len {
        buf.resize(len, T::zero());
    }
    let r = f(&mut buf[..len]);
    slot.set(buf);
    r
}

/// C (m×n, rows `ldc` apart) = A·B, or C += A·B with `accumulate`.
pub fn gemm<T: Real>(a: MatRef<T>, b: &MatRef<T>, c: &mut [T], ldc: usize, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.n());
    assert_eq!(k, b.k(), "gemm inner dimensions");
    if m == 0 || n == 0 {
        return;
    }
    if m <= 2 && k > 0 {
        return small_m(a, b, c, ldc, accumulate);
    }
    let slot = T::scratch(Scratch::A);
    let packed = PackedA::pack_into(a, slot.take());
    gemm_packed(&packed, b, c, ldc, accumulate);
    slot.set(packed.data);
}

/// A few rows of C as sums of B's rows (no packing: B is read once).
fn small_m<T: Real>(a: MatRef<T>, b: &MatRef<T>, c: &mut [T], ldc: usize, accumulate: bool) {
    let n = b.cols;
    for i in 0..a.rows {
        let row = &mut c[i * ldc..i * ldc + n];
        if !accumulate {
            row.fill(T::zero());
        }
        for kk in 0..a.cols {
            let s = a.at(i, kk);
            let start = kk * b.rs;
            if b.cs == 1 {
                row.iter_mut().zip(&b.data[start..start + n]).for_each(|(o, v)| *o += s * *v);
            } else {
                row.iter_mut().enumerate().for_each(|(j, o)| *o += s * b.data[start + j * b.cs]);
            }
        }
    }
}

/// C (m×n, rows `ldc` apart) = A·B, or C += A·B with `accumulate`, with A packed beforehand.
pub fn gemm_packed<T: Real>(a: &PackedA<T>, b: &impl PackB<T>, c: &mut [T], ldc: usize, accumulate: bool) {
    let (m, k, n) = (a.m, a.k, b.n());
    assert_eq!(k, b.k(), "gemm inner dimensions");
    assert!(m == 0 || n == 0 || c.len() >= (m - 1) * ldc + n, "gemm output too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            (0..m).for_each(|i| c[i * ldc..i * ldc + n].fill(T::zero()));
        }
        return;
    }
    // Even depth blocks: 300 is 150 + 150 rather than 256 + 44.
    let kc_max = k.div_ceil(k.div_ceil(KC));
    let nc_max = NC.min(n.next_multiple_of(NR));
    with_scratch(Scratch::B, kc_max * nc_max, |bbuf: &mut [T]| {
        for jc in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - jc);
            for pc in (0..k).step_by(kc_max) {
                let kc = kc_max.min(k - pc);
                let bpack = &mut bbuf[..kc * nc.next_multiple_of(NR)];
                b.pack(pc, kc, jc, nc, bpack);
                let acc = accumulate || pc > 0;
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    for (q, bp) in bpack.chunks_exact(kc * NR).enumerate() {
                        let j = jc + q * NR;
                        for i in (ic..ic + mc).step_by(MR) {
                            let ap = a.panel(i / MR, pc, kc);
                            tile(ap, bp, kc, &mut c[i * ldc + j..], ldc, MR.min(m - i), NR.min(n - j), acc);
                        }
                    }
                }
            }
        }
    });
}

/// One MR×NR tile of C (only `rows`×`cols` of it real); full tiles go straight to C.
#[allow(clippy::too_many_arguments)]
#[inline]
fn tile<T: Real>(a: &[T], b: &[T], kc: usize, c: &mut [T], ldc: usize, rows: usize, cols: usize, acc: bool) {
    if rows == MR && cols == NR {
        T::tile(kc, a, b, c, ldc, acc);
        return;
    }
    let mut t = [T::zero(); MR * NR];
    T::tile(kc, a, b, &mut t, NR, false);
    for (i, tr) in t.chunks_exact(NR).take(rows).enumerate() {
        // Value by value: a variable-length copy would be a `memory.copy` call in wasm.
        for (j, (o, v)) in c[i * ldc..].iter_mut().zip(tr).enumerate() {
            if j < cols {
                *o = if acc { *o + *v } else { *v };
            }
        }
    }
}
