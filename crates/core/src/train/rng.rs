//! A small seeded generator (xoshiro256++ seeded through splitmix64) and the draws the fillers need.
//!
//! Every draw uses only IEEE-754 +, −, ×, ÷ and square root (the logarithm of the Gaussian draw comes
//! from [`super::math`], not from the platform's libm), so a seed gives the same numbers bit for bit
//! natively and in WebAssembly.

use super::math::ln;

/// xoshiro256++ (Blackman & Vigna), its state seeded from one u64 by splitmix64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
    /// The second value of the last Gaussian pair, handed out by the next call.
    spare: Option<u64>,
}

/// One splitmix64 step: advances `x` and returns the next output.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let s = [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)];
        Self { s, spare: None }
    }

    /// A generator with this xoshiro256++ state (not all zero).
    pub fn from_state(s: [u64; 4]) -> Self {
        assert!(s != [0; 4], "xoshiro256++ needs a non-zero state");
        Self { s, spare: None }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1), a multiple of 2⁻⁵³.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [a, b] (b itself only by rounding to f32), computed in f64 and rounded once.
    pub fn uniform(&mut self, a: f32, b: f32) -> f32 {
        let (a, b) = (a as f64, b as f64);
        let x = a + (b - a) * self.next_f64();
        (x.min(b)) as f32
    }

    /// True with probability p.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// A standard normal draw: Marsaglia's polar form of the Box–Muller transform, in f64. Draws come in
    /// pairs; the second is kept for the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(bits) = self.spare.take() {
            return f64::from_bits(bits);
        }
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s >= 1.0 || s == 0.0 {
                continue;
            }
            let f = (-2.0 * ln(s) / s).sqrt();
            self.spare = Some((v * f).to_bits());
            return u * f;
        }
    }

    /// mean + std · N(0, 1), rounded once to f32.
    pub fn gaussian(&mut self, mean: f32, std: f32) -> f32 {
        (mean as f64 + std as f64 * self.standard_normal()) as f32
    }
}
