//! 256-bit arithmetic on 4 x 64-bit limbs: the pure word operations, folded when their operands
//! are constants ([`shims::fold`], the list's own word functions), otherwise lowered inline
//! (with fast paths that fall back to the list's pure helper) or by a call to that helper.

use super::*;
use crate::shims::PureHelper;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I128, I16, I8};
use cranelift_codegen::ir::{InstructionData, Opcode, ValueDef};

impl Lower<'_, '_> {
    pub(super) fn lower_pure(&mut self, op: u8, helper: PureHelper) {
        let n = OPCODES[op as usize].stack_in as usize;
        let mut args = [Word::Const(U256::ZERO); 3];
        for a in args.iter_mut().take(n) {
            *a = self.pop();
        }
        let consts = args.map(|w| match w {
            Word::Const(c) => Some(c),
            Word::Ssa(_) => None,
        });
        let result = if let [Some(a), Some(b), Some(c)] = consts {
            Word::Const(shims::fold(op, a, b, c))
        } else {
            self.lower_pure_dynamic(op, helper, &args[..n], consts[0], consts[1])
        };
        self.push(result);
    }

    pub(super) fn lower_pure_dynamic(
        &mut self,
        op: u8,
        helper: PureHelper,
        args: &[Word],
        const_a: Option<U256>,
        const_b: Option<U256>,
    ) -> Word {
        let two = |s: &mut Self| (s.materialize(args[0]), s.materialize(args[1]));
        let flag = |s: &mut Self, f: Value| {
            let v = s.b.ins().uextend(I64, f);
            {
                let z = s.zero();
                Word::Ssa([v, z, z, z])
            }
        };
        let power_of_two = const_b.filter(|b| b.is_power_of_two());
        match op {
            // x * 2^k, x / 2^k, x % 2^k: shifts and masks (Solidity before EIP-145 shifts so).
            MUL if power_of_two.is_some() => {
                let k = U256::from(power_of_two.unwrap_or_default().trailing_zeros());
                let a = self.materialize(args[0]);
                Word::Ssa(self.shift_const(SHL, k, a))
            }
            MUL if const_a.is_some_and(|a| a.is_power_of_two()) => {
                let k = U256::from(const_a.unwrap_or_default().trailing_zeros());
                let b = self.materialize(args[1]);
                Word::Ssa(self.shift_const(SHL, k, b))
            }
            DIV if power_of_two.is_some() => {
                let k = U256::from(power_of_two.unwrap_or_default().trailing_zeros());
                let a = self.materialize(args[0]);
                Word::Ssa(self.shift_const(SHR, k, a))
            }
            MOD if power_of_two.is_some() => {
                let k = power_of_two.unwrap_or_default().trailing_zeros();
                let a = self.materialize(args[0]);
                Word::Ssa(self.low_bits(a, k))
            }
            DIV | MOD | SDIV | SMOD => self.lower_division(op, args),
            // (a + b) % 2^k: 2^k divides 2^256, so the wrapping sum's low k bits (Solidity
            // adds uint64 lanes so: `addmod(a, b, 2**64)`).
            ADDMOD if modulus_power_of_two(args).is_some() => {
                let k = modulus_power_of_two(args).unwrap_or_default();
                let (a, b) = two(self);
                let sum = self.add(a, b);
                Word::Ssa(self.low_bits(sum, k))
            }
            ADDMOD => self.lower_addmod(args),
            // SIGNEXTEND(k, x) with a constant byte index: within the limb holding the sign bit,
            // extend it (a sign-extending move at 8, 16 and 32 bits, a shift up and back
            // otherwise); the limbs above are copies of the sign, the ones below stay. A limb
            // already extended from that bit or below is left as it is. (Two 256-bit shifts
            // would be ~25 instructions on the critical path.)
            SIGNEXTEND if const_a.is_some() => {
                let k = const_a.unwrap_or_default();
                let x = self.materialize(args[1]);
                if k >= U256::from(31) {
                    return Word::Ssa(x);
                }
                let sign_bit = k.as_limbs()[0] as usize * 8 + 7;
                let (limb, bit) = (sign_bit / 64, (sign_bit % 64) as u8);
                let mut r = x;
                r[limb] = self.sign_extend_limb(x[limb], bit);
                if limb < 3 {
                    let sign = self.b.ins().sshr_imm_u(r[limb], 63);
                    self.sign_extended.insert(sign, 0);
                    r[limb + 1..].fill(sign);
                }
                Word::Ssa(r)
            }
            ADD => {
                let (a, b) = two(self);
                Word::Ssa(self.add(a, b))
            }
            SUB => {
                let (a, b) = two(self);
                Word::Ssa(self.sub(a, b))
            }
            MUL => {
                let (a, b) = two(self);
                Word::Ssa(self.mul(a, b))
            }
            AND | OR | XOR => {
                let (a, b) = two(self);
                Word::Ssa(std::array::from_fn(|i| match op {
                    AND => self.and_limb(a[i], b[i]),
                    OR => self.or_limb(a[i], b[i]),
                    _ => self.xor_limb(a[i], b[i]),
                }))
            }
            NOT => {
                let a = self.materialize(args[0]);
                Word::Ssa(a.map(|l| self.b.ins().bnot(l)))
            }
            ISZERO => {
                let a = self.materialize(args[0]);
                let z = self.is_zero(a);
                flag(self, z)
            }
            EQ => {
                let (a, b) = two(self);
                // A selector against a word whose high limbs are known zero (Solidity's
                // dispatch) compares one limb.
                let differing: Vec<usize> = (0..4)
                    .filter(|&i| match (self.known_limb(a[i]), self.known_limb(b[i])) {
                        (Some(p), Some(q)) => p != q,
                        _ => a[i] != b[i],
                    })
                    .collect();
                let z = match differing[..] {
                    [] => return Word::Const(U256::from(1)),
                    [i] => self.b.ins().icmp(IntCC::Equal, a[i], b[i]),
                    _ => {
                        let x: [Value; 4] = std::array::from_fn(|i| self.xor_limb(a[i], b[i]));
                        self.is_zero(x)
                    }
                };
                flag(self, z)
            }
            LT | GT | SLT | SGT => {
                let (a, b) = two(self);
                let (x, y) = if matches!(op, LT | SLT) {
                    (a, b)
                } else {
                    (b, a)
                };
                let f = self.less_than(x, y, matches!(op, SLT | SGT));
                flag(self, f)
            }
            SHL | SHR | SAR if const_a.is_some() => {
                let shift = const_a.unwrap_or_default();
                let x = self.materialize(args[1]);
                Word::Ssa(self.shift_const(op, shift, x))
            }
            BYTE if const_a.is_some() => {
                let i = const_a.unwrap_or_default();
                if i >= U256::from(32) {
                    return Word::Const(U256::ZERO);
                }
                let x = self.materialize(args[1]);
                let k = 31 - i.as_limbs()[0] as usize; // byte index from the least significant
                let v = self.b.ins().ushr_imm_u(x[k / 8], ((k % 8) * 8) as i64);
                let v = self.b.ins().band_imm_u(v, 0xff);
                {
                    let z = self.zero();
                    Word::Ssa([v, z, z, z])
                }
            }
            _ => self.call_pure_helper(helper, args),
        }
    }

    /// x % 2^k: the low `k` bits of `x`.
    fn low_bits(&mut self, x: [Value; 4], k: usize) -> [Value; 4] {
        std::array::from_fn(|i| {
            let (lo, hi) = (64 * i, 64 * i + 64);
            if k >= hi {
                x[i]
            } else if k <= lo {
                self.zero()
            } else {
                let mask = (1u64 << (k - lo)) - 1;
                self.b.ins().band_imm_u(x[i], mask as i64)
            }
        })
    }

    /// DIV/MOD/SDIV/SMOD: one machine instruction when both operands fit in 64 bits (as
    /// unsigned, or sign-extended for the signed ops), the shared helper otherwise.
    pub(super) fn lower_division(&mut self, op: u8, args: &[Word]) -> Word {
        let (a, b) = (self.materialize(args[0]), self.materialize(args[1]));
        let signed = matches!(op, SDIV | SMOD);
        let fits = if signed {
            let a_ok = self.sign_extended(a);
            let b_ok = self.sign_extended(b);
            let both = self.b.ins().band(a_ok, b_ok);
            let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, b[0], 0);
            let both = self.b.ins().band(both, nonzero);
            // i64::MIN / -1 overflows the machine instruction (the EVM result is 2^63).
            let min = self.b.ins().icmp_imm_s(IntCC::Equal, a[0], i64::MIN);
            let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b[0], -1);
            let overflow = self.b.ins().band(min, minus_one);
            self.b.ins().band_not(both, overflow)
        } else {
            let hi = self.b.ins().bor(a[1], a[2]);
            let hi = self.b.ins().bor(hi, a[3]);
            let hi = self.b.ins().bor(hi, b[1]);
            let hi = self.b.ins().bor(hi, b[2]);
            let hi = self.b.ins().bor(hi, b[3]);
            let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
            let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, b[0], 0);
            self.b.ins().band(small, nonzero)
        };
        let (slow, merge) = self.fast_path_split(fits, 4);
        let r = match op {
            DIV => self.b.ins().udiv(a[0], b[0]),
            MOD => self.b.ins().urem(a[0], b[0]),
            SDIV => self.b.ins().sdiv(a[0], b[0]),
            _ => self.b.ins().srem(a[0], b[0]),
        };
        let ext = if signed {
            self.b.ins().sshr_imm_u(r, 63)
        } else {
            self.zero()
        };
        self.b
            .ins()
            .jump(merge, &[r, ext, ext, ext].map(BlockArg::Value));

        self.pure_slow_path(op, args, slow, merge)
    }

    /// ADDMOD: with both addends below the modulus (modular arithmetic keeps them so), the sum
    /// is below twice the modulus and one conditional subtraction reduces it; otherwise (or for
    /// a zero modulus) the shared helper.
    pub(super) fn lower_addmod(&mut self, args: &[Word]) -> Word {
        let (a, b, m) = (
            self.materialize(args[0]),
            self.materialize(args[1]),
            self.materialize(args[2]),
        );
        let a_below = self.less_than(a, m, false);
        let b_below = self.less_than(b, m, false);
        let reduced = self.b.ins().band(a_below, b_below);
        let (slow, merge) = self.fast_path_split(reduced, 4);

        let (sum, carry) = self.add_with_carry(a, b);
        let below = self.less_than(sum, m, false);
        let at_least = self.b.ins().bxor_imm_u(below, 1);
        let subtract = self.b.ins().bor(at_least, carry);
        let diff = self.sub(sum, m);
        let r: [Value; 4] = std::array::from_fn(|i| self.b.ins().select(subtract, diff[i], sum[i]));
        self.b.ins().jump(merge, &r.map(BlockArg::Value));

        self.pure_slow_path(ADDMOD, args, slow, merge)
    }

    /// Ends a split made by [`Lower::fast_path_split`] for a pure word operation: the cold
    /// `slow` block runs the shared helper for `op`, and the result is the word `merge` receives
    /// from either path.
    pub(super) fn pure_slow_path(
        &mut self,
        op: u8,
        args: &[Word],
        slow: Block,
        merge: Block,
    ) -> Word {
        self.b.switch_to_block(slow);
        let Word::Ssa(limbs) = self.call_pure_helper(shims::pure_helper(op), args) else {
            unreachable!("helpers return SSA words")
        };
        self.b.ins().jump(merge, &limbs.map(BlockArg::Value));
        self.b.switch_to_block(merge);
        let p = self.b.block_params(merge);
        Word::Ssa([p[0], p[1], p[2], p[3]])
    }

    /// 256-bit sum and its carry out (I8).
    pub(super) fn add_with_carry(&mut self, a: [Value; 4], b: [Value; 4]) -> ([Value; 4], Value) {
        let (s0, c0) = self.b.ins().uadd_overflow(a[0], b[0]);
        let (s1, c1) = self.add_carry(a[1], b[1], c0);
        let (s2, c2) = self.add_carry(a[2], b[2], c1);
        let (s3, c3) = self.add_carry(a[3], b[3], c2);
        ([s0, s1, s2, s3], c3)
    }

    /// `x` with the bits above `bit` copies of it.
    fn sign_extend_limb(&mut self, x: Value, bit: u8) -> Value {
        if bit == 63 || self.sign_extended.get(&x).is_some_and(|&b| b <= bit) {
            return x;
        }
        let narrow = match bit {
            7 => Some(I8),
            15 => Some(I16),
            31 => Some(I32),
            _ => None,
        };
        let r = match narrow {
            Some(narrow) => {
                let low = self.b.ins().ireduce(narrow, x);
                self.b.ins().sextend(I64, low)
            }
            None => {
                let up = 63 - bit as i64;
                let shifted = self.b.ins().ishl_imm_s(x, up);
                self.b.ins().sshr_imm_s(shifted, up)
            }
        };
        self.sign_extended.insert(r, bit);
        r
    }

    /// 0 or 1 (I8): whether the word is its low limb sign-extended.
    pub(super) fn sign_extended(&mut self, a: [Value; 4]) -> Value {
        let sign = self.b.ins().sshr_imm_u(a[0], 63);
        let x1 = self.b.ins().bxor(a[1], sign);
        let x2 = self.b.ins().bxor(a[2], sign);
        let x3 = self.b.ins().bxor(a[3], sign);
        let x = self.b.ins().bor(x1, x2);
        let x = self.b.ins().bor(x, x3);
        self.b.ins().icmp_imm_s(IntCC::Equal, x, 0)
    }

    /// 0 or 1 (I8): whether any limb is non-zero.
    pub(super) fn is_nonzero(&mut self, a: [Value; 4]) -> Value {
        let x = self.or_limbs(a);
        self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
    }

    /// 0 or 1 (I8): whether every limb is zero.
    pub(super) fn is_zero(&mut self, a: [Value; 4]) -> Value {
        let x = self.or_limbs(a);
        self.b.ins().icmp_imm_s(IntCC::Equal, x, 0)
    }

    /// The limbs or-ed together, known zeros left out (a flag's or a small word's high limbs).
    fn or_limbs(&mut self, a: [Value; 4]) -> Value {
        let x = self.or_limb(a[0], a[1]);
        let y = self.or_limb(a[2], a[3]);
        self.or_limb(x, y)
    }

    pub(super) fn add(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        self.add_or_sub(a, b, false)
    }

    pub(super) fn sub(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        self.add_or_sub(a, b, true)
    }

    /// Wrapping 256-bit sum or difference as two 128-bit halves: x86-64 lowers a 128-bit add
    /// (sub) to add/adc (sub/sbb), where a carry chain of 64-bit overflow checks costs three
    /// instructions per limb (Cranelift has no add-with-carry on 64-bit values for this target).
    pub(super) fn add_or_sub(
        &mut self,
        a: [Value; 4],
        b: [Value; 4],
        subtract: bool,
    ) -> [Value; 4] {
        let zero = |s: &Self, v: Value| s.known_limb(v) == Some(0);
        if b.iter().all(|&l| zero(self, l)) {
            return a;
        }
        if !subtract && a.iter().all(|&l| zero(self, l)) {
            return b;
        }
        if !subtract && zero(self, a[1]) && zero(self, b[1]) {
            // The low half's sum fits in 65 bits: no carry into the high half. Words holding
            // 64-bit lanes (hash functions' state) add so lane by lane.
            let (r0, r1) = self.add_small(a[0], b[0]);
            let [r2, r3] = if zero(self, a[3]) && zero(self, b[3]) {
                let (r2, r3) = self.add_small(a[2], b[2]);
                [r2, r3]
            } else {
                let a_hi = self.b.ins().iconcat(a[2], a[3]);
                let b_hi = self.b.ins().iconcat(b[2], b[3]);
                let hi = self.b.ins().iadd(a_hi, b_hi);
                let (r2, r3) = self.b.ins().isplit(hi);
                [r2, r3]
            };
            return [r0, r1, r2, r3];
        }
        let mut half = |x: [Value; 4], i: usize| self.b.ins().iconcat(x[i], x[i + 1]);
        let (a_lo, b_lo, a_hi, b_hi) = (half(a, 0), half(b, 0), half(a, 2), half(b, 2));
        let op = |s: &mut Self, x, y| {
            if subtract {
                s.b.ins().isub(x, y)
            } else {
                s.b.ins().iadd(x, y)
            }
        };
        // The low half with its carry (borrow) out: add/adc (sub/sbb) and a setb.
        let (lo, carry) = if subtract {
            self.b.ins().usub_overflow(a_lo, b_lo)
        } else {
            self.b.ins().uadd_overflow(a_lo, b_lo)
        };
        // Through an i64: a 128-bit add of a zero-extended i64 lowers to add/adc with 0.
        let carry = self.b.ins().uextend(I64, carry);
        let carry = self.b.ins().uextend(I128, carry);
        let hi = op(self, a_hi, b_hi);
        let hi = op(self, hi, carry);
        let (r0, r1) = self.b.ins().isplit(lo);
        let (r2, r3) = self.b.ins().isplit(hi);
        [r0, r1, r2, r3]
    }

    /// x + y as a low limb and its carry (0 or 1) as the next limb.
    fn add_small(&mut self, x: Value, y: Value) -> (Value, Value) {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0), _) => (y, self.zero()),
            (_, Some(0)) => (x, self.zero()),
            _ => {
                let sum = self.b.ins().iadd(x, y);
                let carry = self.b.ins().icmp(IntCC::UnsignedLessThan, sum, x);
                (sum, self.b.ins().uextend(I64, carry))
            }
        }
    }

    pub(super) fn add_carry(&mut self, a: Value, b: Value, carry: Value) -> (Value, Value) {
        let (t, c1) = self.b.ins().uadd_overflow(a, b);
        let carry = self.b.ins().uextend(I64, carry);
        let (s, c2) = self.b.ins().uadd_overflow(t, carry);
        (s, self.b.ins().bor(c1, c2))
    }

    /// Wrapping 256-bit product, schoolbook on 64-bit limbs: limb k collects the low halves of
    /// a_i * b_j with i + j = k, the high halves with i + j = k - 1, and the carries of limb k - 1.
    /// Products with a limb known at compile time fold ([`Lower::mul_lo`], [`Lower::mul_hi`]):
    /// a multiplier such as 2^64 + 1 (a lane copied into the next limb) is then a few moves.
    pub(super) fn mul(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let mut r = [a[0]; 4];
        // Carries into the next limb, counted in an i64; `None` when known zero.
        let mut carry = None;
        for k in 0..4 {
            let mut terms = Vec::with_capacity(8);
            for i in 0..=k {
                terms.extend(self.mul_lo(a[i], b[k - i]));
            }
            for i in 0..k {
                terms.extend(self.mul_hi(a[i], b[k - 1 - i]));
            }
            let mut acc = carry;
            if k == 3 {
                // The top limb wraps: no carry out.
                for t in terms {
                    acc = Some(match acc {
                        None => t,
                        Some(x) => self.b.ins().iadd(x, t),
                    });
                }
                r[3] = acc.unwrap_or_else(|| self.zero());
                break;
            }
            let mut next = None;
            for t in terms {
                let Some(x) = acc else {
                    acc = Some(t);
                    continue;
                };
                let (sum, c) = self.b.ins().uadd_overflow(x, t);
                let c = self.b.ins().uextend(I64, c);
                next = Some(match next {
                    None => c,
                    Some(n) => self.b.ins().iadd(n, c),
                });
                acc = Some(sum);
            }
            r[k] = acc.unwrap_or_else(|| self.zero());
            carry = next;
        }
        r
    }

    /// The value of a limb defined by an `iconst`.
    pub(super) fn known_limb(&self, v: Value) -> Option<u64> {
        let dfg = &self.b.func.dfg;
        match dfg.value_def(v) {
            ValueDef::Result(inst, 0) => match dfg.insts[inst] {
                InstructionData::UnaryImm {
                    opcode: Opcode::Iconst,
                    imm,
                } => Some(imm.bits() as u64),
                _ => None,
            },
            _ => None,
        }
    }

    fn limb(&mut self, k: u64) -> Value {
        if k == 0 {
            self.zero()
        } else {
            self.b.ins().iconst(I64, k as i64)
        }
    }

    /// The low half of x * y, `None` when known zero.
    fn mul_lo(&mut self, x: Value, y: Value) -> Option<Value> {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0), _) | (_, Some(0)) => None,
            (Some(p), Some(q)) => Some(self.limb(p.wrapping_mul(q))),
            (Some(1), _) => Some(y),
            (_, Some(1)) => Some(x),
            (Some(p), _) if p.is_power_of_two() => {
                Some(self.b.ins().ishl_imm_u(y, p.trailing_zeros() as i64))
            }
            (_, Some(q)) if q.is_power_of_two() => {
                Some(self.b.ins().ishl_imm_u(x, q.trailing_zeros() as i64))
            }
            _ => Some(self.b.ins().imul(x, y)),
        }
    }

    /// The high half of x * y, `None` when known zero.
    fn mul_hi(&mut self, x: Value, y: Value) -> Option<Value> {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0 | 1), _) | (_, Some(0 | 1)) => None,
            (Some(p), Some(q)) => {
                let hi = ((p as u128 * q as u128) >> 64) as u64;
                (hi != 0).then(|| self.limb(hi))
            }
            (Some(p), _) if p.is_power_of_two() => {
                Some(self.b.ins().ushr_imm_u(y, 64 - p.trailing_zeros() as i64))
            }
            (_, Some(q)) if q.is_power_of_two() => {
                Some(self.b.ins().ushr_imm_u(x, 64 - q.trailing_zeros() as i64))
            }
            _ => Some(self.b.ins().umulhi(x, y)),
        }
    }

    /// x & y, folded when either limb is known.
    pub(super) fn and_limb(&mut self, x: Value, y: Value) -> Value {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0), _) | (_, Some(0)) => self.zero(),
            (Some(p), Some(q)) => self.limb(p & q),
            (Some(u64::MAX), _) => y,
            (_, Some(u64::MAX)) => x,
            _ => self.b.ins().band(x, y),
        }
    }

    /// x | y, folded when either limb is known.
    pub(super) fn or_limb(&mut self, x: Value, y: Value) -> Value {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0), _) => y,
            (_, Some(0)) => x,
            (Some(p), Some(q)) => self.limb(p | q),
            _ => self.b.ins().bor(x, y),
        }
    }

    /// x ^ y, folded when either limb is known.
    pub(super) fn xor_limb(&mut self, x: Value, y: Value) -> Value {
        match (self.known_limb(x), self.known_limb(y)) {
            (Some(0), _) => y,
            (_, Some(0)) => x,
            (Some(p), Some(q)) => self.limb(p ^ q),
            _ => self.b.ins().bxor(x, y),
        }
    }

    /// x << r and x >> r (logical), 0 < r < 64, folded when x is known.
    fn shl_limb(&mut self, x: Value, r: i64) -> Value {
        match self.known_limb(x) {
            Some(k) => self.limb(k << r),
            None => self.b.ins().ishl_imm_u(x, r),
        }
    }

    fn shr_limb(&mut self, x: Value, r: i64) -> Value {
        match self.known_limb(x) {
            Some(k) => self.limb(k >> r),
            None => self.b.ins().ushr_imm_u(x, r),
        }
    }

    /// a < b (I8), unsigned or as two's-complement signed words.
    pub(super) fn less_than(&mut self, a: [Value; 4], b: [Value; 4], signed: bool) -> Value {
        // Lexicographic from the least significant limb up: at each limb, strictly less decides,
        // equal defers to the lower limbs.
        let mut lt = self.b.ins().icmp(IntCC::UnsignedLessThan, a[0], b[0]);
        for i in 1..4 {
            let cc = if signed && i == 3 {
                IntCC::SignedLessThan
            } else {
                IntCC::UnsignedLessThan
            };
            let less = self.b.ins().icmp(cc, a[i], b[i]);
            let eq = self.b.ins().icmp(IntCC::Equal, a[i], b[i]);
            let keep = self.b.ins().band(eq, lt);
            lt = self.b.ins().bor(less, keep);
        }
        debug_assert_eq!(self.b.func.dfg.value_type(lt), I8);
        lt
    }

    /// SHL / SHR / SAR by a constant amount, limb by limb.
    pub(super) fn shift_const(&mut self, op: u8, shift: U256, x: [Value; 4]) -> [Value; 4] {
        let fill = if op == SAR {
            self.b.ins().sshr_imm_u(x[3], 63)
        } else {
            self.zero()
        };
        if shift >= U256::from(256) {
            return [fill; 4];
        }
        let s = shift.as_limbs()[0] as usize;
        let (q, r) = (s / 64, (s % 64) as i64);
        std::array::from_fn(|i| {
            if op == SHL {
                if i < q {
                    return self.zero();
                }
                if r == 0 {
                    return x[i - q];
                }
                let v = self.shl_limb(x[i - q], r);
                if i == q {
                    return v;
                }
                let lo = self.shr_limb(x[i - q - 1], 64 - r);
                self.or_limb(v, lo)
            } else {
                let j = i + q;
                if j > 3 {
                    return fill;
                }
                if r == 0 {
                    return x[j];
                }
                if j == 3 {
                    return if op == SAR {
                        self.b.ins().sshr_imm_u(x[3], r)
                    } else {
                        self.shr_limb(x[3], r)
                    };
                }
                let v = self.shr_limb(x[j], r);
                let hi = self.shl_limb(x[j + 1], 64 - r);
                self.or_limb(v, hi)
            }
        })
    }
}

/// k when ADDMOD's modulus (its third operand) is the constant 2^k.
fn modulus_power_of_two(args: &[Word]) -> Option<usize> {
    match args.get(2) {
        Some(Word::Const(m)) if m.is_power_of_two() => Some(m.trailing_zeros()),
        _ => None,
    }
}
