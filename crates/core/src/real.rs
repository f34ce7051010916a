//! The element types the ops run in: f32 for everything the page and CLI compute, f64 for gradient
//! checks against finite differences. One trait, so every op is written once.

use std::cell::Cell;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};
use std::thread::LocalKey;

pub trait Real:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// A constant or hyperparameter given in f32.
    fn of(v: f32) -> Self;
    fn of_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    /// The GEMM micro-kernel: C (MR×NR, rows `ldc` apart) = or += A panel (kc×MR) · B panel (kc×NR).
    fn tile(kc: usize, a: &[Self], b: &[Self], c: &mut [Self], ldc: usize, accumulate: bool);
    /// The values as f32, for code with an f32-only fast path (SIMD); None for other types.
    fn f32s(s: &[Self]) -> Option<&[f32]>;
    fn f32s_mut(s: &mut [Self]) -> Option<&mut [f32]>;
    /// Per-thread scratch buffers: the GEMM's packed A and B, a convolution's unfolded gradient and
    /// padded input.
    fn scratch(slot: Scratch) -> &'static LocalKey<Cell<Vec<Self>>>;
}

#[derive(Debug, Clone, Copy)]
pub enum Scratch {
    A,
    B,
    Fold,
    Padded,
}

macro_rules! scratch {
    ($t:ty) => {
        fn scratch(slot: Scratch) -> &'static LocalKey<Cell<Vec<$t>>> {
            thread_local! {
                static A: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
                static B: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
                static FOLD: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
                static PADDED: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
            }
            match slot {
                Scratch::A => &A,
                Scratch::B => &B,
                Scratch::Fold => &FOLD,
                Scratch::Padded => &PADDED,
            }
        }
    };
}

impl Real for f32 {
    fn of(v: f32) -> Self {
        v
    }
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn tile(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        crate::ops::gemm::kernel::tile(kc, a, b, c, ldc, accumulate)
    }
    fn f32s(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn f32s_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
    scratch!(f32);
}

impl Real for f64 {
    fn of(v: f32) -> Self {
        v as f64
    }
    fn of_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn tile(kc: usize, a: &[f64], b: &[f64], c: &mut [f64], ldc: usize, accumulate: bool) {
        use crate::ops::gemm::{MR, NR};
        crate::ops::gemm::kernel::portable::<f64, MR, NR, false>(kc, a, b, c, ldc, accumulate)
    }
    fn f32s(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn f32s_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
    scratch!(f64);
}
