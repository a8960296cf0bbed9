//! The helper ABI: calls from compiled code into the environment ([`crate::shims`]). A frame
//! helper runs on the frame's stack in memory, so the operands it reads are flushed and `sp`
//! stored first; for a helper that may use gas the gas is stored before and reloaded after. A
//! pure helper takes its operands in a scratch slot and leaves the virtual stack alone.

use super::*;
use crate::shims::{FrameHelper, PureHelper};
use cranelift_codegen::ir::types::I64X2;
use cranelift_codegen::ir::SigRef;

/// The signatures a region calls by: helpers and the tail calls between segments.
#[derive(Clone, Copy)]
pub(crate) struct Sigs {
    /// Frame helpers, `fn(*mut Frame) -> i32`.
    pub(crate) frame: SigRef,
    /// Pure helpers, `fn(*mut [U256; 3])`.
    pub(crate) pure: SigRef,
    /// The memory expansion stub, `fn(*mut Frame, u64, *mut i32)`, `preserve_all`.
    pub(crate) expand: SigRef,
    /// CALLDATALOAD's helper, `fn(*const u8, usize, u64, *mut U256)`.
    pub(crate) calldata: SigRef,
    /// Segments and stubs, `fn(frame, sp, gas, segment) -> u64` (`tail`).
    pub(crate) tail: SigRef,
}

impl Lower<'_, '_> {
    /// Runs a frame helper that pops `n_in` and pushes `n_out` items.
    pub(super) fn call_frame_helper(&mut self, helper: FrameHelper, n_in: i32, n_out: i32) {
        self.call_helper_on_stack(helper, n_in, n_out, true);
    }

    pub(super) fn call_helper_on_stack(
        &mut self,
        helper: FrameHelper,
        n_in: i32,
        n_out: i32,
        gas: bool,
    ) {
        let off = self.vs.off;
        // The helper reads only its own operands; deeper cached items stay in SSA.
        self.flush_range(off - n_in, off);
        if let Some(gas) = self.invoke_frame_helper(helper, gas) {
            self.gas = gas;
        }
        let first = off - n_in;
        self.vs.slots.retain(|s| s.idx < first);
        self.vs.off = first + n_out;
    }

    /// Calls `helper` on the frame after storing its stack pointer (and, for a helper that
    /// uses gas, the gas left) and fails the frame on a non-zero status (for a plain helper only
    /// a caught panic). Returns the gas left after a gas-using helper.
    pub(super) fn invoke_frame_helper(
        &mut self,
        helper: FrameHelper,
        uses_gas: bool,
    ) -> Option<Value> {
        self.store_sp();
        if uses_gas {
            self.store_gas();
        }
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        let call = self
            .b
            .ins()
            .call_indirect(self.sigs.frame, callee, &[self.frame]);
        let status = self.b.inst_results(call)[0];
        self.fail_with(status);
        uses_gas.then(|| self.b.ins().load(I64, FLAGS, self.frame, OFF_GAS))
    }

    pub(super) fn call_pure_helper(&mut self, helper: PureHelper, args: &[Word]) -> Word {
        for (i, w) in args.iter().enumerate() {
            let limbs = self.materialize(*w);
            // 16-byte stores: the helper reads its operands as whole words, and a load wider
            // than the stores that wrote it cannot be forwarded (a stall of ~15 cycles per
            // operand, measured as most of the time of division-heavy code).
            for half in 0..2 {
                let v = self.b.ins().scalar_to_vector(I64X2, limbs[2 * half]);
                let v = self.b.ins().insertlane(v, limbs[2 * half + 1], 1);
                self.b
                    .ins()
                    .stack_store(I64, v, self.scratch, i as i32 * WORD + 16 * half as i32);
            }
        }
        let ptr = self.b.ins().stack_addr(I64, self.scratch, 0);
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        self.b.ins().call_indirect(self.sigs.pure, callee, &[ptr]);
        Word::Ssa(std::array::from_fn(|k| {
            self.b
                .ins()
                .stack_load(I64, I64, self.scratch, 8 * k as i32)
        }))
    }
}
