//! Logarithm, exponential and powers from IEEE-754 basic arithmetic only, so that they give the same bits
//! on every platform (the platform's libm may differ in the last place between native and WebAssembly).

use std::f64::consts::{LN_2, SQRT_2};

/// The natural logarithm of a positive finite x, from basic arithmetic only (so it is the same on every
/// platform): x = m·2ᵉ with m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)) by its series. Within a few ulp of
/// the correctly rounded value.
pub fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    let (mut m, mut e) = if (bits >> 52) & 0x7ff == 0 {
        // Subnormal: scale into the normal range first.
        let y = x * (1u64 << 54) as f64;
        let b = y.to_bits();
        (f64::from_bits((b & !(0x7ffu64 << 52)) | (1023u64 << 52)), ((b >> 52) & 0x7ff) as i64 - 1023 - 54)
    } else {
        (f64::from_bits((bits & !(0x7ffu64 << 52)) | (1023u64 << 52)), ((bits >> 52) & 0x7ff) as i64 - 1023)
    };
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    // |t| ≤ 0.1716, t² ≤ 0.0295: 14 terms take the series below 1e-22 relative.
    let mut sum = 0.0;
    for k in (0..14).rev() {
        sum = sum * t2 + 1.0 / (2 * k + 1) as f64;
    }
    2.0 * t * sum + e as f64 * LN_2
}

/// e^x, within a few ulp: x = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series, times 2^k.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.8 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = (x / LN_2).round();
    // ln 2 in two parts (fdlibm's), the first with trailing zero bits so that k·LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // |r| ≤ 0.347: 18 terms leave a remainder below 1e-20.
    let mut sum = 1.0;
    for n in (1..18).rev() {
        sum = 1.0 + sum * r / n as f64;
    }
    let k = k as i64;
    // 2^k in two factors, so that neither over- nor underflows on its own.
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

fn pow2(k: i64) -> f64 {
    if k < -1022 {
        // Subnormal 2^k.
        return f64::from_bits(1u64 << (k + 1074).max(0));
    }
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// x^y for x > 0, as exp(y · ln x).
pub fn powf(x: f64, y: f64) -> f64 {
    exp(y * ln(x))
}

/// x^n by repeated squaring (exact for the powers of small integers, deterministic for all).
pub fn powi(x: f64, n: u32) -> f64 {
    let (mut acc, mut base, mut n) = (1.0, x, n);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}
