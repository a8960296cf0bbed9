//! Entropy for the program generator: a seeded PRNG for deterministic tests, or the fuzzer's
//! input bytes, behind one trait so the fuzz target explores exactly the programs the test
//! command generates.

/// A source of random choices for the program generator.
pub trait Entropy {
    /// The next 64 random bits (all draws derive from this one).
    fn next_u64(&mut self) -> u64;

    /// Uniform-enough in `0..n` (`n > 0`); the modulo bias is irrelevant for test generation.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// A uniform-enough element of `items` (which must not be empty).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random bytes.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// SplitMix64: tiny, fast and good enough to drive a generator; seeded runs are reproducible
/// across platforms because it is pure 64-bit arithmetic.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator for `seed`: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl Entropy for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The fuzzer's input as entropy. When the bytes run out every draw is 0, and the generator
/// treats 0 as "smallest choice", so every input yields a finite program.
pub struct ByteSource<'a> {
    data: &'a [u8],
}

impl<'a> ByteSource<'a> {
    /// Entropy drawn from `data`, one byte per draw.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
}

impl Entropy for ByteSource<'_> {
    fn next_u64(&mut self) -> u64 {
        // One byte per draw: most choices are small, and a fuzzer mutates single decisions
        // more easily when each takes one byte.
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b as u64
            }
            None => 0,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        if n <= 256 {
            self.next_u64() % n
        } else {
            let mut v = 0u64;
            for _ in 0..8 {
                v = (v << 8) | self.next_u64();
            }
            v % n
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let take = n.min(self.data.len());
        let (head, rest) = self.data.split_at(take);
        self.data = rest;
        let mut v = head.to_vec();
        v.resize(n, 0);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic_and_spread() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SplitMix64::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut r = SplitMix64::new(1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[r.below(10) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }

    #[test]
    fn byte_source_runs_dry_to_zero() {
        let mut s = ByteSource::new(&[5, 6]);
        assert_eq!(s.next_u64(), 5);
        assert_eq!(s.bytes(3), vec![6, 0, 0]);
        assert_eq!(s.below(1000), 0);
    }
}
