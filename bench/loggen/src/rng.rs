//! A small seedable PRNG and the helpers the line generators draw with.
//!
//! Everything is integer-first so a seed gives the same bytes on every
//! machine; floats are only used for shapes (skew, log-normal latencies)
//! and are rounded before they reach a line.

/// splitmix64-seeded xorshift64*.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let z = mix(seed);
        // xorshift has one fixed point; never start there.
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (0 when `n` is 0), without modulo bias worth
    /// mentioning: the multiply-shift maps the full 64 bits onto the range.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index in `0..n` skewed towards 0: popular clients, products and
    /// pages get most of the traffic, as in real access logs.
    pub fn skewed(&mut self, n: u64, power: f64) -> u64 {
        let i = (self.uniform().powf(power) * n as f64) as u64;
        i.min(n.saturating_sub(1))
    }

    /// Log-normal around `median` with shape `sigma`: request latencies.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median * (sigma * normal).exp()
    }

    /// One element of a non-empty table.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// An index chosen with the given relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }
}

/// splitmix64's finaliser: a stable hash for values that must not depend on
/// the order lines were drawn in (asset hashes, file sizes, MAC addresses).
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` hex digits of `v`, most significant first.
pub fn put_hex(out: &mut Vec<u8>, v: u64, digits: u32) {
    for i in (0..digits.min(16)).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xF) as usize]);
    }
}

/// Appends `digits` random hex digits (trace ids, request ids).
pub fn rand_hex(out: &mut Vec<u8>, rng: &mut Rng, digits: u32) {
    let mut left = digits;
    while left > 0 {
        let n = left.min(16);
        put_hex(out, rng.next_u64(), n);
        left -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(3);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = rng.below(7) as usize;
            assert!(v < 7);
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn hex_is_fixed_width() {
        let mut out = Vec::new();
        put_hex(&mut out, 0xab, 4);
        assert_eq!(out, b"00ab");
        let mut rng = Rng::new(1);
        out.clear();
        rand_hex(&mut out, &mut rng, 32);
        assert_eq!(out.len(), 32);
        assert!(out.iter().all(u8::is_ascii_hexdigit));
    }
}
