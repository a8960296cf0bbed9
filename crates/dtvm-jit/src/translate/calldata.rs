//! CALLDATALOAD inline: a word wholly inside the input (the ABI decoding at every function's
//! entry reads its arguments so) is four byte-swapped loads from the message's input; anything
//! else, a read past the end or at a huge offset, calls [`shims::calldata_word`], the runtime's
//! rule, which zero-pads. Either way the instruction cannot fail and uses no gas beyond its
//! block's, so the virtual stack stays as it is and the word arrives as an SSA value.

use super::*;
use crate::shims::CalldataHelper;
use ::evmc_vm::ExecutionMessage;
use cranelift_codegen::ir::condcodes::IntCC;

/// The message's address in the frame (`ExecutionMessage` is a transparent reference).
const OFF_MSG: i32 = offset_of!(Frame<'static, 'static>, msg) as i32;
const OFF_INPUT_DATA: i32 = offset_of!(evmc_message, input_data) as i32;
const OFF_INPUT_SIZE: i32 = offset_of!(evmc_message, input_size) as i32;
/// The input: any alignment, never trapping (bounds are checked first), never written.
const INPUT: MemFlagsData = MemFlagsData::new().with_notrap().with_readonly();

// The transparent wrapper is what makes `OFF_MSG` the message's address.
const _: () = assert!(
    std::mem::size_of::<ExecutionMessage<'static>>() == std::mem::size_of::<&evmc_message>()
);

impl Lower<'_, '_> {
    pub(super) fn lower_calldataload(&mut self) {
        let idx = self.vs.off - 1;
        let offset = self.peek(1);
        let msg = self.b.ins().load(I64, FLAGS, self.frame, OFF_MSG);
        let len = self.b.ins().load(I64, FLAGS, msg, OFF_INPUT_SIZE);
        let data = self.b.ins().load(I64, FLAGS, msg, OFF_INPUT_DATA);
        // `fits`: the word lies inside the input; `saturated`: the offset for the helper.
        let (fits, offset, saturated) = match offset {
            Word::Const(c) => match u32::try_from(c) {
                Ok(off) => {
                    let fits = self.b.ins().icmp_imm_s(
                        IntCC::UnsignedGreaterThanOrEqual,
                        len,
                        off as i64 + WORD as i64,
                    );
                    let off = self.b.ins().iconst(I64, off as i64);
                    (Some(fits), off, off)
                }
                Err(_) => {
                    let off = u64::try_from(c).unwrap_or(u64::MAX);
                    let off = self.b.ins().iconst(I64, off as i64);
                    (None, off, off)
                }
            },
            Word::Ssa(limbs) => {
                let w = self.word_within(limbs, len);
                let saturated = self.b.ins().iconst(I64, -1);
                let saturated = self.b.ins().select(w.high, saturated, limbs[0]);
                (Some(w.fits), limbs[0], saturated)
            }
        };
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let merge = self.b.create_block();
        for _ in 0..4 {
            self.b.append_block_param(merge, I64);
        }
        if let Some(fits) = fits {
            let fast = self.b.create_block();
            self.b.ins().brif(fits, fast, &[], slow, &[]);
            self.b.switch_to_block(fast);
            let addr = self.b.ins().iadd(data, offset);
            // Big-endian bytes: the first 8 are the most significant limb.
            let limbs: [BlockArg; 4] = std::array::from_fn(|k| {
                let v = self.b.ins().load(I64, INPUT, addr, 8 * (3 - k as i32));
                BlockArg::Value(self.b.ins().bswap(v))
            });
            self.b.ins().jump(merge, &limbs);
        } else {
            self.b.ins().jump(slow, &[]);
        }

        self.b.switch_to_block(slow);
        let out = self.b.ins().stack_addr(I64, self.scratch, 0);
        let helper: CalldataHelper = shims::calldata_word;
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        self.b
            .ins()
            .call_indirect(self.sigs.calldata, callee, &[data, len, saturated, out]);
        let limbs: [BlockArg; 4] = std::array::from_fn(|k| {
            BlockArg::Value(
                self.b
                    .ins()
                    .stack_load(I64, I64, self.scratch, 8 * k as i32),
            )
        });
        self.b.ins().jump(merge, &limbs);

        self.b.switch_to_block(merge);
        let word = self.b.block_params(merge);
        let word = [word[0], word[1], word[2], word[3]];
        self.set(idx, Word::Ssa(word));
    }
}
