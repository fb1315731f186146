//! The generator's randomness: a seedable splitmix64 stream and the few
//! distributions the traces are drawn from.
//!
//! Integer draws decide everything that reaches the wire, so a seed gives
//! the same bytes on every machine; floats only shape durations and are
//! rounded to whole nanoseconds before use.

/// splitmix64 as a generator: one add and one finaliser per draw, with no
/// bad seeds, which is all a load generator needs.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A stream determined by `seed` alone.
    pub fn new(seed: u64) -> Self {
        Self {
            state: finalise(seed),
        }
    }

    /// A stream for `(seed, lane)` that does not overlap `seed`'s own in
    /// any way that matters here: shards draw from their own lanes so each
    /// shard's traces do not depend on how many other shards exist.
    pub fn lane(seed: u64, lane: u64) -> Self {
        Self::new(finalise(seed ^ finalise(lane.wrapping_add(GOLDEN))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        finalise(self.state)
    }

    /// Uniform in `0..n`; 0 when `n` is 0. Multiply-shift rather than
    /// modulo, so small ranges carry no visible bias.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// True with probability `per_10k / 10 000`: error rates are fractions
    /// of a percent, finer than per-mille.
    pub fn chance(&mut self, per_10k: u64) -> bool {
        self.below(10_000) < per_10k
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Log-normal nanoseconds around `median_ms`: service latencies have a
    /// long right tail, which is what makes `duration>…` searches selective.
    pub fn latency_ns(&mut self, median_ms: f64, sigma: f64) -> u64 {
        // Box–Muller; `1 - unit` keeps the logarithm finite.
        let r = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        let z = r * (std::f64::consts::TAU * self.unit()).cos();
        let ms = median_ms * (sigma * z).exp();
        // A bound keeps a freak draw from producing a day-long span.
        (ms.clamp(0.001, 120_000.0) * 1e6).round() as u64
    }

    /// One element of `items`; `None` only when it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// An index drawn with the given relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            match r.checked_sub(u64::from(w)) {
                Some(rest) => r = rest,
                None => return i,
            }
        }
        weights.len().saturating_sub(1)
    }

    /// A random id that is never all zero: OTLP receivers refuse zero ids.
    pub fn nonzero(&mut self) -> u64 {
        loop {
            let v = self.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    /// `len` random characters from `alphabet` (pod hashes, session ids).
    pub fn word(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .filter_map(|_| self.pick(alphabet).map(|&b| char::from(b)))
            .collect()
    }
}

/// splitmix64's output function: a bijective 64-bit mix.
pub fn finalise(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub const HEX: &[u8] = b"0123456789abcdef";

/// Lower-case hex of `bytes`, as trace ids are written in URLs.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_covers_its_range_and_only_it() {
        let mut rng = Rng::new(5);
        let mut seen = [0u32; 9];
        for _ in 0..9000 {
            let v = rng.below(9) as usize;
            assert!(v < 9);
            seen[v] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(4, 4), 4);
    }

    #[test]
    fn lanes_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|l| Rng::lane(1, l).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|l| Rng::lane(1, l).next_u64()).collect();
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
    }

    #[test]
    fn latencies_have_the_asked_median() {
        let mut rng = Rng::new(9);
        let mut v: Vec<u64> = (0..4001).map(|_| rng.latency_ns(2.0, 0.8)).collect();
        v.sort_unstable();
        let median = v[2000] as f64 / 1e6;
        assert!((1.7..2.3).contains(&median), "{median}");
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x0a, 0xff, 0x00]), "0aff00");
    }
}
