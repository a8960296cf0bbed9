//! ADDMOD and MULMOD: reduction of a wide (up to 512-bit) value by a 256-bit modulus.
//!
//! ruint's `mul_mod` goes through its generic division, which costs ~400 instructions per call
//! and takes a slow zero-filling path whenever an operand's top limb is zero (small constants,
//! which field arithmetic code such as weierstrudel multiplies by all the time). Here the
//! reduction is Knuth's long division specialised by the modulus' limb count, with the
//! Möller–Granlund reciprocal ("Improved division by invariant integers", 2011) replacing each
//! hardware division: one quotient limb costs a 3-by-2 estimate (three multiplications) and a
//! multiply-subtract over the remaining limbs. The number of quotient limbs follows the actual
//! length of the numerator, so small operands cost little.
//!
//! The work that depends on the modulus alone (normalization shift, shifted limbs, reciprocal:
//! a hardware division) is a [`Divisor`]. Field arithmetic reduces by one prime over and over,
//! so each thread keeps the divisor of the last full-width modulus it used, keyed by that
//! modulus; a cached divisor is always the one [`Divisor::new`] computes from its key.

use dtvm_core::U256;
use std::cell::Cell;

type Limbs = [u64; 4];

/// Normalized numerator: the 512-bit input shifted left by the divisor's normalization shift,
/// plus one limb for the bits shifted out.
type Wide = [u64; 9];

#[inline(always)]
fn mul_wide(a: u64, b: u64) -> u128 {
    a as u128 * b as u128
}

#[inline(always)]
fn join(hi: u64, lo: u64) -> u128 {
    (hi as u128) << 64 | lo as u128
}

/// `floor((2^128 - 1) / d) - 2^64` for a normalized `d` (top bit set): the 2-by-1 reciprocal.
#[inline]
fn reciprocal_2by1(d: u64) -> u64 {
    debug_assert!(d >> 63 == 1);
    // `2^128 - 1 - 2^64 d` is `(!d, 2^64 - 1)` in limbs, and `!d < d`: one 128-by-64 hardware
    // division whose quotient fits 64 bits. Rust's u128 division cannot assume that and calls
    // `__udivti3` (two divisions and a call: 6.5% of weierstrudel's time in compiled code).
    #[cfg(target_arch = "x86_64")]
    {
        let quotient: u64;
        // SAFETY: `div` divides rdx:rax by `d`; rdx = !d < d (top bit of d set), so the
        // quotient fits and the instruction cannot fault. It touches no memory.
        unsafe {
            std::arch::asm!(
                "div {d}",
                d = in(reg) d,
                inout("rax") u64::MAX => quotient,
                inout("rdx") !d => _,
                options(pure, nomem, nostack),
            );
        }
        quotient
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // The quotient lies in [2^64, 2^65): dropping its top bit subtracts 2^64.
        (u128::MAX / d as u128) as u64
    }
}

/// The 3-by-2 reciprocal of the normalized two-limb divisor `d`: `floor((2^192 - 1) / d) - 2^64`.
#[inline]
fn reciprocal_3by2(d: u128) -> u64 {
    let (d1, d0) = ((d >> 64) as u64, d as u64);
    let mut v = reciprocal_2by1(d1);
    let mut p = d1.wrapping_mul(v).wrapping_add(d0);
    if p < d0 {
        v = v.wrapping_sub(1);
        if p >= d1 {
            v = v.wrapping_sub(1);
            p = p.wrapping_sub(d1);
        }
        p = p.wrapping_sub(d1);
    }
    let t = mul_wide(v, d0);
    let (t1, t0) = ((t >> 64) as u64, t as u64);
    let (p, carry) = p.overflowing_add(t1);
    if carry {
        v = v.wrapping_sub(1);
        if p > d1 || (p == d1 && t0 >= d0) {
            v = v.wrapping_sub(1);
        }
    }
    v
}

/// Divides `(u1, u0)` by the normalized `d` with its reciprocal `v`; requires `u1 < d`.
/// Returns the quotient and the remainder.
#[inline(always)]
fn div_2by1(u1: u64, u0: u64, d: u64, v: u64) -> (u64, u64) {
    let q = mul_wide(v, u1).wrapping_add(join(u1, u0));
    let (mut q1, q0) = (((q >> 64) as u64).wrapping_add(1), q as u64);
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    if r > q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 = q1.wrapping_add(1);
        r -= d;
    }
    (q1, r)
}

/// Divides `(u2, u1, u0)` by the normalized two-limb `d` with its 3-by-2 reciprocal `v`;
/// requires `(u2, u1) < d`. Returns the quotient and the remainder.
#[inline(always)]
fn div_3by2(u2: u64, u1: u64, u0: u64, d: u128, v: u64) -> (u64, u128) {
    let (d1, d0) = ((d >> 64) as u64, d as u64);
    let q = mul_wide(v, u2).wrapping_add(join(u2, u1));
    let (mut q1, q0) = ((q >> 64) as u64, q as u64);
    let r1 = u1.wrapping_sub(q1.wrapping_mul(d1));
    let mut r = join(r1, u0).wrapping_sub(mul_wide(d0, q1)).wrapping_sub(d);
    q1 = q1.wrapping_add(1);
    if (r >> 64) as u64 >= q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        // Rare (none in 2.8 million steps of products of random field elements): a branch,
        // where LLVM would otherwise compute both sides and select (~8 instructions per step).
        std::hint::cold_path();
        q1 = q1.wrapping_add(1);
        r -= d;
    }
    (q1, r)
}

/// `u -= q * d` over `d.len()` limbs of `u`; returns the limb borrowed out of the top.
#[inline(always)]
fn submul(u: &mut [u64], d: &[u64], q: u64) -> u64 {
    let mut carry = 0u64;
    for (ui, &di) in u.iter_mut().zip(d) {
        let p = mul_wide(di, q) + carry as u128;
        let (s, borrow) = ui.overflowing_sub(p as u64);
        *ui = s;
        carry = (p >> 64) as u64 + borrow as u64;
    }
    carry
}

/// `u += d` over `d.len()` limbs of `u`, dropping the carry out of the top.
#[inline(always)]
fn add_back(u: &mut [u64], d: &[u64]) {
    let mut carry = false;
    for (ui, &di) in u.iter_mut().zip(d) {
        let (s, c1) = ui.overflowing_add(di);
        let (s, c2) = s.overflowing_add(carry as u64);
        *ui = s;
        carry = c1 | c2;
    }
}

/// Shifts `x` left by `shift` (< 64) into nine limbs.
#[inline(always)]
fn normalize(x: &[u64; 8], shift: u32) -> Wide {
    let mut u = [0u64; 9];
    // `>> 1 >> (63 - shift)` is `>> (64 - shift)` without the undefined shift by 64 at shift 0.
    u[8] = x[7] >> 1 >> (63 - shift);
    for i in (1..8).rev() {
        u[i] = x[i] << shift | x[i - 1] >> 1 >> (63 - shift);
    }
    u[0] = x[0] << shift;
    u
}

/// Remainder of `x` by a modulus of one limb.
#[inline(never)]
fn rem_1(x: &[u64; 8], m: u64, out: &mut U256) {
    let shift = m.leading_zeros();
    let d = m << shift;
    let v = reciprocal_2by1(d);
    let u = normalize(x, shift);
    let mut r = 0;
    for &limb in u.iter().rev() {
        r = div_2by1(r, limb, d, v).1;
    }
    *out = U256::from_limbs([r >> shift, 0, 0, 0]);
}

/// One quotient limb of Knuth's division: `u[j..=j + N] -= q * d << 64j` with the `q` that
/// leaves `u[j + N] = 0` and `u[j..j + N] < d`. Requires `(u[j + N], u[j + N - 1]) < (d[N - 1],
/// d[N - 2])` for the normalized `d` with its 3-by-2 reciprocal `v`.
#[inline(always)]
fn quotient_step<const N: usize>(u: &mut Wide, j: usize, d: &[u64; N], v: u64) {
    let dd = join(d[N - 1], d[N - 2]);
    let (u2, u1, u0) = (u[j + N], u[j + N - 1], u[j + N - 2]);
    if join(u2, u1) == dd {
        // The estimate would overflow: the quotient limb is then exactly 2^64 - 1 (Knuth,
        // TAOCP 4.3.1, with a two-limb divisor prefix), and the product it subtracts takes the
        // top limb to zero.
        let borrow = submul(&mut u[j..j + N], d, u64::MAX);
        debug_assert_eq!(borrow, u2);
        u[j + N] = 0;
        return;
    }
    let (q, r) = div_3by2(u2, u1, u0, dd, v);
    let borrow = submul(&mut u[j..j + N - 2], &d[..N - 2], q);
    let (r, negative) = r.overflowing_sub(borrow as u128);
    u[j + N - 2] = r as u64;
    u[j + N - 1] = (r >> 64) as u64;
    u[j + N] = 0;
    if negative {
        // The estimate was one too large (rare): add one divisor back.
        add_back(&mut u[j..j + N], d);
    }
}

/// A modulus of exactly `N` limbs (2 ≤ N ≤ 4, top limb non-zero) prepared for division: its
/// normalization shift, the shifted limbs and their 3-by-2 reciprocal.
#[derive(Clone, Copy)]
struct Divisor<const N: usize> {
    shift: u32,
    d: [u64; N],
    v: u64,
}

impl<const N: usize> Divisor<N> {
    #[inline(always)]
    fn new(m: &Limbs) -> Self {
        let shift = m[N - 1].leading_zeros();
        let mut d = [0u64; N];
        d[0] = m[0] << shift;
        for i in 1..N {
            d[i] = m[i] << shift | m[i - 1] >> 1 >> (63 - shift);
        }
        let v = reciprocal_3by2(join(d[N - 1], d[N - 2]));
        Self { shift, d, v }
    }
}

/// The full-width divisor of `m` (`m[3] != 0`), computed at a miss.
#[cold]
#[inline(never)]
fn divisor_4_miss(m: &Limbs) -> Divisor<4> {
    Divisor::new(m)
}

std::thread_local! {
    /// The last full-width modulus reduced by on this thread, with its divisor: field arithmetic
    /// reduces by one prime over and over, and the divisor costs a hardware division. The key
    /// is zero (which no full-width modulus is) until the first reduction.
    static LAST_DIVISOR: Cell<(Limbs, Divisor<4>)> = const {
        Cell::new(([0; 4], Divisor { shift: 0, d: [0; 4], v: 0 }))
    };
}

/// The divisor of a full-width `m` (`m[3] != 0`), from this thread's cache when it holds `m`.
#[inline(always)]
fn divisor_4(m: &Limbs) -> Divisor<4> {
    LAST_DIVISOR.with(|last| {
        let (key, divisor) = last.get();
        if key == *m {
            return divisor;
        }
        let divisor = divisor_4_miss(m);
        last.set((*m, divisor));
        divisor
    })
}

/// Remainder of `x` by the modulus `divisor` was prepared from.
#[inline(always)]
fn rem_n<const N: usize>(x: &[u64; 8], divisor: &Divisor<N>, out: &mut U256) {
    let Divisor { shift, d, v } = *divisor;
    let dd = join(d[N - 1], d[N - 2]);
    let mut u = normalize(x, shift);

    // Quotient limbs from the top (`u[8] < 2^shift <= 2^63 <= d[N - 1]`, so the first step
    // meets the 3-by-2 precondition), skipping the leading steps whose quotient limb is zero:
    // steps are taken from the first one whose top limbs reach `dd`. A product of reduced
    // operands skips the top step, one by a small constant more. Unrolled: each step's `j` is a
    // constant, so that `u` lives in registers (a loop indexes it in memory); `j + N < 9`
    // (constant) keeps the indices in bounds.
    let mut started = false;
    macro_rules! steps {
        ($($j:literal)*) => {$(
            if $j + N < u.len() {
                started = started || u[$j + N] != 0 || join(u[$j + N - 1], u[$j + N - 2]) >= dd;
                if started {
                    quotient_step(&mut u, $j, &d, v);
                }
            }
        )*};
    }
    steps!(6 5 4 3 2 1 0);

    let mut r = [0u64; 4];
    for i in 0..N - 1 {
        r[i] = (join(u[i + 1], u[i]) >> shift) as u64;
    }
    r[N - 1] = u[N - 1] >> shift;
    *out = U256::from_limbs(r);
}

/// `x mod m`, zero when `m` is zero. The full-width modulus (field arithmetic) is inlined into the
/// caller: its remainder then goes from registers to the destination, where returning it through
/// memory would make the caller's 16-byte reload wait on four 8-byte stores (store-forwarding
/// stall, ~15 cycles).
#[inline(always)]
fn rem_wide(x: &[u64; 8], m: &Limbs, out: &mut U256) {
    if m[3] != 0 {
        rem_n(x, &divisor_4(m), out)
    } else {
        rem_narrow(x, m, out)
    }
}

#[inline(never)]
fn rem_narrow(x: &[u64; 8], m: &Limbs, out: &mut U256) {
    if m[2] != 0 {
        rem_n(x, &Divisor::<3>::new(m), out)
    } else if m[1] != 0 {
        rem_n(x, &Divisor::<2>::new(m), out)
    } else if m[0] != 0 {
        rem_1(x, m[0], out)
    } else {
        *out = U256::ZERO;
    }
}

/// The full 512-bit product.
#[inline(always)]
fn mul_full(a: &Limbs, b: &Limbs) -> [u64; 8] {
    let mut p = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u64;
        for j in 0..4 {
            let t = mul_wide(a[i], b[j]) + p[i + j] as u128 + carry as u128;
            p[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
        p[i + 4] = carry;
    }
    p
}

/// MULMOD: `a * b mod m` into `out`, zero when `m` is zero. Out of line: inlined, its unrolled
/// division sat in the interpreter's dispatch loop and slowed unrelated code there
/// (loop_with_many_jumpdests 1.5x), for 1-4% fewer instructions on weierstrudel.
#[inline(never)]
pub fn mulmod(a: &U256, b: &U256, m: &U256, out: &mut U256) {
    // A zero modulus is rare: `rem_wide` tests it off the full-width path.
    rem_wide(&mul_full(a.as_limbs(), b.as_limbs()), m.as_limbs(), out);
}

/// ADDMOD: `a + b mod m` into `out`, zero when `m` is zero.
#[inline]
pub fn addmod(a: &U256, b: &U256, m: &U256, out: &mut U256) {
    let ml = m.as_limbs();
    // Operands whose top limbs do not exceed a modulus' non-zero top limb are below twice the
    // modulus (the common case of reduced operands): conditional subtractions suffice.
    if ml[3] != 0 && a.as_limbs()[3] <= ml[3] && b.as_limbs()[3] <= ml[3] {
        let reduce = |x: U256| {
            let (r, borrow) = x.overflowing_sub(*m);
            if borrow {
                x
            } else {
                r
            }
        };
        let (sum, carry) = reduce(*a).overflowing_add(reduce(*b));
        let (r, borrow) = sum.overflowing_sub(*m);
        *out = if carry || !borrow { r } else { sum };
        return;
    }
    let (sum, carry) = a.overflowing_add(*b);
    let s = sum.as_limbs();
    let x = [s[0], s[1], s[2], s[3], carry as u64, 0, 0, 0];
    rem_wide(&x, ml, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruint::Uint;

    type U512 = Uint<512, 8>;

    fn mulmod(a: &U256, b: &U256, m: &U256) -> U256 {
        let mut out = U256::from(0xdead);
        super::mulmod(a, b, m, &mut out);
        out
    }

    fn addmod(a: &U256, b: &U256, m: &U256) -> U256 {
        let mut out = U256::from(0xdead);
        super::addmod(a, b, m, &mut out);
        out
    }

    fn rem_wide(x: &[u64; 8], m: &Limbs) -> U256 {
        let mut out = U256::from(0xdead);
        super::rem_wide(x, m, &mut out);
        out
    }

    fn wide(x: U256) -> U512 {
        U512::from(x)
    }

    fn reference_mulmod(a: U256, b: U256, m: U256) -> U256 {
        if m.is_zero() {
            return U256::ZERO;
        }
        U256::from(wide(a) * wide(b) % wide(m))
    }

    fn reference_addmod(a: U256, b: U256, m: U256) -> U256 {
        if m.is_zero() {
            return U256::ZERO;
        }
        U256::from((wide(a) + wide(b)) % wide(m))
    }

    /// Edge values: zero, one, limb and word boundaries, powers of two, all-ones patterns that
    /// make quotient estimates overflow, and the field moduli contracts use.
    fn samples() -> Vec<U256> {
        let mut v = vec![
            U256::ZERO,
            U256::from(1),
            U256::from(2),
            U256::from(3),
            U256::MAX,
        ];
        for bits in [63, 64, 65, 127, 128, 129, 191, 192, 193, 254, 255] {
            let p = U256::from(1) << bits;
            v.extend([p, p - U256::from(1), p + U256::from(1)]);
        }
        v.push(U256::MAX - U256::from(1));
        v.push(U256::MAX >> 1);
        v.push(U256::from(u64::MAX));
        v.push(U256::from_limbs([0, u64::MAX, u64::MAX, u64::MAX]));
        v.push(U256::from_limbs([u64::MAX, 0, u64::MAX, u64::MAX]));
        v.push(U256::from_limbs([1, 0, 0, 1 << 63]));
        v.push(U256::from_limbs([0, 0, 1 << 63, 1 << 63]));
        // alt_bn128 base field and group order, secp256k1 field.
        v.push(
            "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"
                .parse()
                .unwrap(),
        );
        v.push(
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
                .parse()
                .unwrap(),
        );
        v.push(
            "0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"
                .parse()
                .unwrap(),
        );
        v
    }

    /// A deterministic generator (xorshift) so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// A value whose limbs are random, zero or all ones, with a random number of top limbs
        /// cleared: covers every modulus length and the carry patterns between limbs.
        fn value(&mut self) -> U256 {
            let mut limbs = [0u64; 4];
            for l in &mut limbs {
                *l = match self.next() % 8 {
                    0 => 0,
                    1 => u64::MAX,
                    2 => 1 << 63,
                    _ => self.next(),
                };
            }
            let keep = (self.next() % 4 + 1) as usize;
            limbs[keep..].fill(0);
            U256::from_limbs(limbs) >> (self.next() % 64) as usize
        }
    }

    fn assert_matches_reference(a: U256, b: U256, m: U256) {
        assert_eq!(
            mulmod(&a, &b, &m),
            reference_mulmod(a, b, m),
            "{a} * {b} % {m}"
        );
        assert_eq!(
            addmod(&a, &b, &m),
            reference_addmod(a, b, m),
            "{a} + {b} % {m}"
        );
    }

    #[test]
    fn edge_values_match_wide_arithmetic() {
        let s = samples();
        for &a in &s {
            for &b in &s {
                for &m in &s {
                    assert_matches_reference(a, b, m);
                }
            }
        }
    }

    #[test]
    fn random_values_match_wide_arithmetic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let (a, b, m) = (rng.value(), rng.value(), rng.value());
            assert_matches_reference(a, b, m);
        }
    }

    /// Runs of one modulus (cache hits after the first), moduli alternating call by call
    /// (misses), and narrow, zero and one moduli in between (which leave the cache alone), each
    /// against the reference.
    fn check_modulus_sequences(seed: u64) {
        let mut rng = Rng(seed);
        let mut moduli: Vec<U256> = samples()
            .into_iter()
            .filter(|m| m.bit_len() > 192)
            .collect();
        moduli.extend((0..8).map(|_| rng.value() | U256::from(1) << 200));
        let narrow = [U256::ZERO, U256::from(1), U256::from(3), U256::MAX >> 100];
        for &m in &moduli {
            for _ in 0..200 {
                assert_matches_reference(rng.value(), rng.value(), m);
            }
        }
        for _ in 0..20_000 {
            let m = match rng.next() % 4 {
                0 => narrow[(rng.next() % 4) as usize],
                _ => moduli[(rng.next() % moduli.len() as u64) as usize],
            };
            assert_matches_reference(rng.value(), rng.value(), m);
        }
        for (&m, &n) in moduli.iter().zip(moduli.iter().skip(1)) {
            for k in 0..8 {
                let m = [m, n, narrow[k % 4]][k % 3];
                assert_matches_reference(rng.value(), rng.value(), m);
            }
        }
    }

    #[test]
    fn cached_divisors_match_wide_arithmetic() {
        check_modulus_sequences(0x2545_f491_4f6c_dd1d);
    }

    #[test]
    fn cached_divisors_on_concurrent_threads() {
        let threads: Vec<_> = (1..=4u64)
            .map(|seed| std::thread::spawn(move || check_modulus_sequences(seed)))
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn quotient_estimate_overflow() {
        // A partial remainder whose top two limbs equal the divisor's takes the branch where the
        // 3-by-2 estimate would overflow. With m = [1, 1, 2^63, 2^63] (already normalized) and
        // x = [5, 0, 0, 2^63, 2^63], the first quotient limb is zero and leaves exactly that
        // pair on top for the second. Then the same pair at every position, with other limbs
        // varied.
        let m = [1, 1, 1 << 63, 1 << 63];
        let check = |x: [u64; 8], m: &Limbs| {
            let expected = U512::from_limbs(x) % wide(U256::from_limbs(*m));
            assert_eq!(U512::from(rem_wide(&x, m)), expected, "{x:?} % {m:?}");
        };
        check([5, 0, 0, 1 << 63, 1 << 63, 0, 0, 0], &m);
        let mut rng = Rng(7);
        for _ in 0..2_000 {
            let n = (rng.next() % 3 + 2) as usize;
            let mut m = [0u64; 4];
            for l in &mut m[..n] {
                *l = rng.next();
            }
            m[n - 1] |= 1 << 63;
            for k in 1..8 {
                let mut x = [0u64; 8];
                for l in &mut x[..k] {
                    *l = rng.next() % 3;
                }
                x[k] = m[n - 1];
                x[k - 1] = m[n - 2];
                check(x, &m);
            }
        }
    }

    #[test]
    fn reciprocals() {
        for d in [
            1u64 << 63,
            (1 << 63) + 1,
            u64::MAX,
            u64::MAX - 1,
            0xdead_beef_0000_0001 | 1 << 63,
        ] {
            assert_eq!(
                reciprocal_2by1(d) as u128,
                u128::MAX / d as u128 - (1 << 64)
            );
            for d0 in [0, 1, u64::MAX, d] {
                let dd = join(d, d0);
                let expected = ((U256::from(1) << 192) - U256::from(1)) / U256::from(dd)
                    - (U256::from(1) << 64);
                assert_eq!(U256::from(reciprocal_3by2(dd)), expected, "{dd:#x}");
            }
        }
    }
}
