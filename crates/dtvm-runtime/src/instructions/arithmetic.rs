//! Arithmetic that is not a single ruint call (division, signed comparison, sign extension,
//! shifts, EXP): pure word functions, shared by the interpreter, the JIT's helpers and its
//! constant folding.

use super::*;

const SIGN_BIT: usize = 255;

#[inline]
fn is_negative(v: &U256) -> bool {
    v.bit(SIGN_BIT)
}

#[inline]
fn abs(v: U256) -> U256 {
    if is_negative(&v) {
        v.wrapping_neg()
    } else {
        v
    }
}

/// DIV: `a / b` rounded down; zero when `b` is zero.
#[inline]
pub fn div(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    match small_division(&a, &b) {
        Some((q, _)) => U256::from(q),
        None if a < b => U256::ZERO,
        None if b.is_power_of_two() => a >> b.trailing_zeros(),
        None => match wide_division(&a, &b) {
            Some((q, _)) => U256::from(q),
            None => a.div_rem(b).0,
        },
    }
}

/// MOD: `a % b`; zero when `b` is zero.
#[inline]
pub fn rem(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    match small_division(&a, &b) {
        Some((_, r)) => U256::from(r),
        None if a < b => a,
        None if b.is_power_of_two() => a & !(U256::MAX << b.trailing_zeros()),
        None => match wide_division(&a, &b) {
            Some((_, r)) => U256::from(r),
            None => a.div_rem(b).1,
        },
    }
}

/// Contracts mostly divide small numbers (fixed-point scaling) or by powers of two (shifts
/// written as `x / 2**n` before EIP-145): one machine division or a shift for those.
/// Quotient and remainder when both fit in 64 bits (`b != 0`).
#[inline(always)]
fn small_division(a: &U256, b: &U256) -> Option<(u64, u64)> {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    (x[1] | x[2] | x[3] | y[1] | y[2] | y[3] == 0).then(|| (x[0] / y[0], x[0] % y[0]))
}

/// Quotient and remainder when both fit in 128 bits (`b != 0`): fixed-point code divides
/// products of two scaled numbers (snailtracer's SDIVs), too wide for 64 bits, and the
/// machine's 128-bit division beats the general 256-bit one.
#[inline(always)]
fn wide_division(a: &U256, b: &U256) -> Option<(u128, u128)> {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    (x[2] | x[3] | y[2] | y[3] == 0).then(|| {
        let x = x[0] as u128 | (x[1] as u128) << 64;
        let y = y[0] as u128 | (y[1] as u128) << 64;
        (x / y, x % y)
    })
}

/// SDIV: two's-complement `a / b` rounded toward zero; zero when `b` is zero, and
/// `-2^255 / -1` wraps to `-2^255`.
pub fn sdiv(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = div(abs(a), abs(b));
    if is_negative(&a) != is_negative(&b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// SMOD: two's-complement remainder, with the sign of `a`; zero when `b` is zero.
pub fn smod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = rem(abs(a), abs(b));
    if is_negative(&a) {
        r.wrapping_neg()
    } else {
        r
    }
}

/// ADDMOD and MULMOD (zero for a zero modulus), written in place.
pub use crate::modular::{addmod, mulmod};

/// The EVM's boolean word: 1 or 0.
#[inline(always)]
pub fn word(v: bool) -> U256 {
    if v {
        U256::from(1)
    } else {
        U256::ZERO
    }
}

/// SLT: whether `a < b` as two's-complement numbers (SGT is `slt(b, a)`).
#[inline]
pub fn slt(a: U256, b: U256) -> bool {
    match (is_negative(&a), is_negative(&b)) {
        (true, false) => true,
        (false, true) => false,
        _ => a < b,
    }
}

/// SIGNEXTEND: extends the sign bit of byte `b` of `x` (byte 0 is the least significant) through
/// the bytes above it; `x` unchanged when `b >= 31`.
#[inline]
pub fn signextend(b: U256, x: U256) -> U256 {
    if b >= U256::from(31) {
        return x;
    }
    // Limb-wise and branch-free: sign-extend inside the limb holding the sign bit, keep the
    // limbs below it, fill the limbs above it with the sign.
    let bit = b.as_limbs()[0] as usize * 8 + 7;
    let (sign_limb, shift) = (bit / 64, 63 - bit % 64);
    let limbs = x.as_limbs();
    let extended = ((limbs[sign_limb] << shift) as i64) >> shift;
    let fill = (extended >> 63) as u64;
    let mut out = [0u64; 4];
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i < sign_limb {
            limbs[i]
        } else if i == sign_limb {
            extended as u64
        } else {
            fill
        };
    }
    U256::from_limbs(out)
}

/// BYTE: byte `i` of `x`, byte 0 being the most significant; zero when `i >= 32`.
#[inline]
pub fn byte(i: U256, x: U256) -> U256 {
    if i >= U256::from(32) {
        return U256::ZERO;
    }
    U256::from(x.byte(31 - i.as_limbs()[0] as usize))
}

/// SHL (EIP-145): `x << shift`; zero when `shift >= 256`.
#[inline]
pub fn shl(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x << (shift.as_limbs()[0] as usize)
    }
}

/// SHR (EIP-145): logical `x >> shift`; zero when `shift >= 256`.
#[inline]
pub fn shr(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x >> (shift.as_limbs()[0] as usize)
    }
}

/// SAR (EIP-145): arithmetic `x >> shift`, filling with the sign bit; all sign bits when
/// `shift >= 256`.
#[inline]
pub fn sar(shift: U256, x: U256) -> U256 {
    let negative = is_negative(&x);
    if shift >= U256::from(256) {
        return if negative { U256::MAX } else { U256::ZERO };
    }
    let s = shift.as_limbs()[0] as usize;
    if negative {
        !((!x) >> s)
    } else {
        x >> s
    }
}

/// CLZ (EIP-7939, Osaka): the number of leading zero bits of `x`, 256 for zero.
#[inline]
pub fn clz(x: U256) -> U256 {
    U256::from(x.leading_zeros())
}

/// EXP: charges the per-byte cost of the exponent, then computes.
pub fn exp(f: &mut Frame<'_, '_>) -> OpResult {
    let base = f.pop();
    let exponent = *f.top();
    let bytes = exponent.byte_len() as i64;
    f.charge(bytes * exp_byte_cost(f.rev))?;
    *f.top() = base.pow(exponent);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: i64) -> U256 {
        if v < 0 {
            U256::from(v.unsigned_abs()).wrapping_neg()
        } else {
            U256::from(v as u64)
        }
    }

    #[test]
    fn signed_division() {
        assert_eq!(sdiv(n(-7), n(2)), n(-3));
        assert_eq!(sdiv(n(7), n(-2)), n(-3));
        assert_eq!(sdiv(n(-7), n(-2)), n(3));
        let min = U256::from(1) << 255;
        assert_eq!(sdiv(min, n(-1)), min);
        assert_eq!(sdiv(n(5), n(0)), U256::ZERO);
        assert_eq!(smod(n(-7), n(2)), n(-1));
        assert_eq!(smod(n(7), n(-2)), n(1));
        assert_eq!(smod(n(7), n(0)), U256::ZERO);
    }

    #[test]
    fn comparisons_and_shifts() {
        assert!(slt(n(-1), n(0)));
        assert!(!slt(n(0), n(-1)));
        assert!(slt(n(1), n(2)));
        assert_eq!(sar(n(1), n(-4)), n(-2));
        assert_eq!(sar(n(300), n(-4)), U256::MAX);
        assert_eq!(sar(n(300), n(4)), U256::ZERO);
        assert_eq!(shl(n(256), n(1)), U256::ZERO);
        assert_eq!(shr(n(4), n(0x100)), n(0x10));
        assert_eq!(byte(n(31), n(0x1234)), n(0x34));
        assert_eq!(byte(n(32), n(0x1234)), U256::ZERO);
        assert_eq!(clz(U256::ZERO), n(256));
        assert_eq!(clz(U256::from(1)), n(255));
    }

    #[test]
    fn sign_extension() {
        assert_eq!(signextend(n(0), n(0xff)), U256::MAX);
        assert_eq!(signextend(n(0), n(0x7f)), n(0x7f));
        assert_eq!(signextend(n(1), n(0xff_7f)), n(-129));
        assert_eq!(signextend(n(31), n(0xff)), n(0xff));
        assert_eq!(signextend(U256::MAX, n(0xff)), n(0xff));
    }

    #[test]
    fn division_fast_paths_agree_with_ruint() {
        let samples = [
            U256::ZERO,
            U256::from(1),
            U256::from(3),
            U256::from(u64::MAX),
            U256::from(u64::MAX) + U256::from(1),
            U256::from(1_000_000u64) << 100,
            U256::MAX,
            U256::MAX - U256::from(5),
            U256::from(1) << 255,
            (U256::from(1) << 255) + U256::from(7),
            U256::from(1) << 64,
            (U256::from(1) << 127) + U256::from(99),
            (U256::from(1) << 128) - U256::from(1),
            U256::from(3) << 70,
            U256::from(1) << 200,
            (U256::from(1) << 200) - U256::from(1),
        ];
        for &a in &samples {
            for &b in &samples {
                let (q, r) = if b.is_zero() {
                    (U256::ZERO, U256::ZERO)
                } else {
                    a.div_rem(b)
                };
                assert_eq!((div(a, b), rem(a, b)), (q, r), "{a} / {b}");
                if !b.is_zero() {
                    let sq = abs(a) / abs(b);
                    let sq = if is_negative(&a) != is_negative(&b) {
                        sq.wrapping_neg()
                    } else {
                        sq
                    };
                    assert_eq!(sdiv(a, b), sq, "{a} sdiv {b}");
                    let sr = abs(a) % abs(b);
                    let sr = if is_negative(&a) {
                        sr.wrapping_neg()
                    } else {
                        sr
                    };
                    assert_eq!(smod(a, b), sr, "{a} smod {b}");
                }
            }
        }
    }
}
