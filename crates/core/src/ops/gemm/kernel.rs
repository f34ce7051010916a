//! Micro-kernels: C (MR×NR, rows `ldc` apart) = or += A panel (kc×MR) · B panel (kc×NR).
//! One per target: wasm simd128 (with relaxed-simd FMA when built with it), x86_64 AVX2+FMA (detected at
//! run time), and portable Rust that the compiler vectorises.

/// Checks what every kernel relies on before it reads and writes through raw pointers.
#[inline(always)]
fn check(kc: usize, a: &[f32], b: &[f32], c: &[f32], ldc: usize) {
    assert!(a.len() >= kc * MR && b.len() >= kc * NR && ldc >= NR && c.len() >= (MR - 1) * ldc + NR);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    pub const MR: usize = 4;
    pub const NR: usize = 8;
    const NV: usize = NR / 4;

    #[inline(always)]
    fn madd(a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        return f32x4_relaxed_madd(a, b, c);
        #[cfg(not(target_feature = "relaxed-simd"))]
        return f32x4_add(c, f32x4_mul(a, b));
    }

    /// Never inlined: V8 then allocates registers for this loop alone.
    #[inline(never)]
    pub fn tile(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        super::check(kc, a, b, c, ldc);
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // SAFETY: `check` bounds every offset below.
        unsafe {
            let mut acc = [[f32x4_splat(0.0); NV]; MR];
            for p in 0..kc {
                let bv: [v128; NV] = core::array::from_fn(|j| v128_load(b.add(p * NR + 4 * j) as *const v128));
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = v128_load32_splat(a.add(p * MR + i) as *const u32);
                    for (r, &bj) in row.iter_mut().zip(&bv) {
                        *r = madd(av, bj, *r);
                    }
                }
            }
            for (i, row) in acc.iter().enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    let p = c.add(i * ldc + 4 * j) as *mut v128;
                    let v = if accumulate { f32x4_add(v128_load(p), v) } else { v };
                    v128_store(p, v);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    pub const MR: usize = 6;
    pub const NR: usize = 16;

    pub fn tile(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        super::check(kc, a, b, c, ldc);
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            unsafe { tile_fma(kc, a, b, c, ldc, accumulate) }
        } else {
            super::portable::<f32, MR, NR, false>(kc, a, b, c, ldc, accumulate)
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn tile_fma(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        super::portable::<f32, MR, NR, true>(kc, a, b, c, ldc, accumulate)
    }
}

#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
mod imp {
    pub const MR: usize = 4;
    pub const NR: usize = 8;

    pub fn tile(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        super::check(kc, a, b, c, ldc);
        // Fused multiply-add only where it is an instruction, never a libm call.
        const FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));
        super::portable::<f32, MR, NR, FMA>(kc, a, b, c, ldc, accumulate)
    }
}

pub use imp::{tile, MR, NR};

/// Plain Rust with fixed-size arrays, which LLVM keeps in vector registers.
/// Also the kernel of f64, which only gradient checks use.
#[inline(always)]
pub(crate) fn portable<T: crate::Real, const M: usize, const N: usize, const FMA: bool>(
    kc: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    ldc: usize,
    accumulate: bool,
) {
    assert!(a.len() >= kc * M && b.len() >= kc * N && ldc >= N && c.len() >= (M - 1) * ldc + N);
    let mut acc = [[T::zero(); N]; M];
    for (ap, bp) in a.chunks_exact(M).zip(b.chunks_exact(N)).take(kc) {
        let ap: &[T; M] = ap.try_into().unwrap();
        let bp: &[T; N] = bp.try_into().unwrap();
        for (row, &ai) in acc.iter_mut().zip(ap) {
            for (r, &bj) in row.iter_mut().zip(bp) {
                *r = if FMA { ai.mul_add(bj, *r) } else { *r + ai * bj };
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let cr = &mut c[i * ldc..i * ldc + N];
        if accumulate {
            cr.iter_mut().zip(row).for_each(|(o, v)| *o += *v);
        } else {
            cr.copy_from_slice(row);
        }
    }
}
