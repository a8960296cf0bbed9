//! MLOAD and MSTORE: an access inside the current memory size needs neither gas nor the helper,
//! so it is a bounds check and four byte-swapped loads or stores; anything else (growth, a huge
//! offset) takes a cold path through the instruction's frame helper.

use super::*;
use crate::shims::FrameHelper;
use cranelift_codegen::ir::condcodes::IntCC;
use dtvm_runtime::memory::Memory;

const OFF_MEM_BASE: i32 =
    (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_BASE) as i32;
const OFF_MEM_LEN: i32 = (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_LEN) as i32;
/// EVM memory: any alignment, never trapping (bounds are checked first).
const MEMORY: MemFlagsData = MemFlagsData::new().with_notrap();

impl Lower<'_, '_> {
    /// For a 32-byte access at `offset`: (in bounds, address), or `None` when the offset can
    /// never be in bounds (memory is below 2^32 bytes).
    pub(super) fn memory_fast_path(&mut self, offset: Word) -> Option<(Value, Value)> {
        let len = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_LEN);
        let (fits, offset) = match offset {
            Word::Const(c) => {
                let off = u32::try_from(c).ok()?;
                let fits = self.b.ins().icmp_imm_s(
                    IntCC::UnsignedGreaterThanOrEqual,
                    len,
                    off as i64 + WORD as i64,
                );
                (fits, self.b.ins().iconst(I64, off as i64))
            }
            Word::Ssa([l0, l1, l2, l3]) => {
                let hi = self.b.ins().bor(l1, l2);
                let hi = self.b.ins().bor(hi, l3);
                let big = self.b.ins().ushr_imm_u(l0, 32);
                let hi = self.b.ins().bor(hi, big);
                let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
                // Below 2^32 + 32: no overflow.
                let end = self.b.ins().iadd_imm_s(l0, WORD as i64);
                let inside = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
                (self.b.ins().band(small, inside), l0)
            }
        };
        let base = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_BASE);
        Some((fits, self.b.ins().iadd(base, offset)))
    }

    /// Writes the cached item at stack index `idx` to the frame's stack without marking it
    /// clean (for a slow path that must leave the virtual stack as the fast path does).
    pub(super) fn spill_for_helper(&mut self, idx: i32) {
        if let Some(p) = self.find(idx) {
            let limbs = self.materialize(self.vs.slots[p].word);
            for (k, limb) in limbs.into_iter().enumerate() {
                self.b
                    .ins()
                    .store(FLAGS, limb, self.sp, idx * WORD + 8 * k as i32);
            }
        }
    }

    /// Calls a memory helper on a cold path: operands `idx..off` spilled, sp and gas stored.
    /// Returns the gas left after it (the helper charged expansion).
    pub(super) fn memory_slow_path(
        &mut self,
        helper: FrameHelper,
        operands: std::ops::Range<i32>,
    ) -> Value {
        for idx in operands {
            self.spill_for_helper(idx);
        }
        self.invoke_frame_helper(helper, true)
            .expect("a gas-using helper returns the gas left")
    }

    pub(super) fn lower_mload(&mut self, helper: FrameHelper) {
        let offset = self.peek(1);
        let idx = self.vs.off - 1;
        let Some((fits, addr)) = self.memory_fast_path(offset) else {
            self.call_frame_helper(helper, 1, 1);
            return;
        };
        let (slow, merge) = self.fast_path_split(fits, 5);
        // Big-endian bytes: the first 8 are the most significant limb.
        let limbs: [Value; 4] = std::array::from_fn(|k| {
            let v = self.b.ins().load(I64, MEMORY, addr, 8 * (3 - k as i32));
            self.b.ins().bswap(v)
        });
        let args = [limbs[0], limbs[1], limbs[2], limbs[3], self.gas].map(BlockArg::Value);
        self.b.ins().jump(merge, &args);

        self.b.switch_to_block(slow);
        let gas = self.memory_slow_path(helper, idx..idx + 1);
        let limbs: [Value; 4] = std::array::from_fn(|k| {
            self.b
                .ins()
                .load(I64, FLAGS, self.sp, idx * WORD + 8 * k as i32)
        });
        let args = [limbs[0], limbs[1], limbs[2], limbs[3], gas].map(BlockArg::Value);
        self.b.ins().jump(merge, &args);

        self.b.switch_to_block(merge);
        let params = self.b.block_params(merge).to_vec();
        self.gas = params[4];
        self.set(idx, Word::Ssa([params[0], params[1], params[2], params[3]]));
    }

    pub(super) fn lower_mstore(&mut self, helper: FrameHelper) {
        let offset = self.peek(1);
        let value = self.peek(2);
        let off = self.vs.off;
        let Some((fits, addr)) = self.memory_fast_path(offset) else {
            self.call_frame_helper(helper, 2, 0);
            return;
        };
        let (slow, merge) = self.fast_path_split(fits, 1);
        let limbs = self.materialize(value);
        for (k, limb) in limbs.into_iter().enumerate() {
            let v = self.b.ins().bswap(limb);
            self.b.ins().store(MEMORY, v, addr, 8 * (3 - k as i32));
        }
        self.b.ins().jump(merge, &[BlockArg::Value(self.gas)]);

        self.b.switch_to_block(slow);
        let gas = self.memory_slow_path(helper, off - 2..off);
        self.b.ins().jump(merge, &[BlockArg::Value(gas)]);

        self.b.switch_to_block(merge);
        self.gas = self.b.block_params(merge)[0];
        self.vs.slots.retain(|s| s.idx < off - 2);
        self.vs.off = off - 2;
    }
}
