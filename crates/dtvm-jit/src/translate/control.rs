//! Control flow: the region's entry switch and dynamic-jump dispatch, block entry (gas and
//! stack checks per basic block, in `Frame::begin_block`'s order), jumps, tail calls to other segments, and the
//! exits (success, failure with a status).

use super::*;
use crate::policy::{LOCAL_BITS, NO_ENTRY};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockCall, JumpTableData};
use dtvm_core::STACK_LIMIT;

impl Lower<'_, '_> {
    /// The block that branches to the region's segment whose local index is its parameter.
    pub(super) fn switch_block(&mut self) -> Block {
        *self.switch.get_or_insert_with(|| {
            let block = self.b.create_block();
            for _ in 0..4 {
                self.b.append_block_param(block, I64);
            }
            block
        })
    }

    pub(super) fn lower_switch(&mut self, switch: Block) {
        self.b.switch_to_block(switch);
        let params = self.b.block_params(switch).to_vec();
        let (case, sp, gas, segment) = (params[0], params[1], params[2], params[3]);
        // A segment without a case (see `policy::plan_entries`) runs in the interpreter.
        let miss = self.b.create_block();
        self.b.set_cold_block(miss);
        let pool = &mut self.b.func.dfg.value_lists;
        let default = BlockCall::new(miss, [], pool);
        let targets: Vec<BlockCall> = self
            .cases
            .iter()
            .map(|&local| {
                let block = self.segment_blocks[local];
                BlockCall::new(block, [BlockArg::Value(sp), BlockArg::Value(gas)], pool)
            })
            .collect();
        let table = self
            .b
            .create_jump_table(JumpTableData::new(default, &targets));
        let case = self.b.ins().ireduce(I32, case);
        self.b.ins().br_table(case, table);
        self.b.switch_to_block(miss);
        let interpret = self.b.ins().iconst(I64, self.tables.interpret as i64);
        self.b.ins().return_call_indirect(
            self.sigs.tail,
            interpret,
            &[self.frame, sp, gas, segment],
        );
    }

    /// Dynamic jumps: validates the destination (its parameter, below 2^32) against the jump
    /// table, then branches inside the region or tail-calls the target segment's slot.
    pub(super) fn lower_dispatch(&mut self, dispatch: Block) {
        self.b.switch_to_block(dispatch);
        let params = self.b.block_params(dispatch).to_vec();
        let (dest, sp, gas) = (params[0], params[1], params[2]);
        let outside = self.b.ins().icmp_imm_s(
            IntCC::UnsignedGreaterThanOrEqual,
            dest,
            self.tables.code_len as i64,
        );
        self.fail_if(outside, EVMC_BAD_JUMP_DESTINATION);
        let offset = self.b.ins().ishl_imm_u(dest, 2);
        let entry = self
            .b
            .ins()
            .iadd_imm_s(offset, self.tables.segment_of_pc as i64);
        let entry = self.b.ins().uload32(FLAGS, entry, 0);
        let not_jumpdest = self.b.ins().icmp_imm_s(IntCC::Equal, entry, 0);
        self.fail_if(not_jumpdest, EVMC_BAD_JUMP_DESTINATION);
        let segment = self.b.ins().iadd_imm_s(entry, -1);
        let (inside, case) = match self.region {
            Some(region) => {
                let place = self.load_place(segment);
                let which = self.b.ins().ushr_imm_u(place, LOCAL_BITS as i64);
                let inside = self.b.ins().icmp_imm_s(IntCC::Equal, which, region as i64);
                let case = self.b.ins().band_imm_u(place, NO_ENTRY as i64);
                (inside, case)
            }
            None => {
                let only = self.segments[0] as i64;
                let inside = self.b.ins().icmp_imm_s(IntCC::Equal, segment, only);
                (inside, self.b.ins().iconst(I64, 0))
            }
        };
        let switch = self.switch_block();
        let out = self.b.create_block();
        self.b.ins().brif(
            inside,
            switch,
            &[case, sp, gas, segment].map(BlockArg::Value),
            out,
            &[],
        );
        self.b.switch_to_block(out);
        let slot = self.b.ins().ishl_imm_u(segment, 3);
        let slot = self.b.ins().iadd_imm_s(slot, self.tables.slots as i64);
        let target = self.b.ins().load(I64, FLAGS, slot, 0);
        self.b
            .ins()
            .return_call_indirect(self.sigs.tail, target, &[self.frame, sp, gas, segment]);
    }

    /// The place (see `policy::plan_regions`) of `segment` (I64), zero-extended.
    fn load_place(&mut self, segment: Value) -> Value {
        let offset = self.b.ins().ishl_imm_u(segment, 2);
        let entry = self
            .b
            .ins()
            .iadd_imm_s(offset, self.tables.place.as_ptr() as i64);
        self.b.ins().uload32(FLAGS, entry, 0)
    }

    /// The entry switch's case for `segment` (I64), one of the region's.
    pub(super) fn load_case(&mut self, segment: Value) -> Value {
        let place = self.load_place(segment);
        self.b.ins().band_imm_u(place, NO_ENTRY as i64)
    }

    /// The local index of segment `index` if it is one of the region's.
    pub(super) fn local_of(&self, index: usize) -> Option<usize> {
        let at = self.locals.binary_search_by_key(&index, |&(s, _)| s).ok()?;
        Some(self.locals[at].1)
    }

    /// A segment that is a lone JUMPDEST falling through into the next segment of the region
    /// charges its gas without checking it: the next segment's block check catches a deficit
    /// (its charge is at least 1, so the check fails whenever the sum of both would), and nothing
    /// observable happens in between; out of gas is out of gas wherever it is detected. This
    /// takes the check's branch and blocks out of JUMPDEST runs, the cheapest code to write and
    /// otherwise among the most expensive to compile. A row of such segments is charged and
    /// crossed at once from wherever it is entered: one add and one jump, not one per JUMPDEST.
    pub(super) fn lower_bare_jumpdest(&mut self, index: usize) -> bool {
        let mut next = index;
        let mut gas = 0i64;
        while let Some(charge) = self.bare_jumpdest_gas(next) {
            gas += charge;
            next += 1;
        }
        if next == index {
            return false;
        }
        self.gas = self.b.ins().iadd_imm_s(self.gas, -gas);
        self.goto_segment(next);
        true
    }

    /// The gas of segment `index` if it is a lone JUMPDEST that falls through into the next
    /// segment of the region and needs no stack check.
    fn bare_jumpdest_gas(&self, index: usize) -> Option<i64> {
        let start = *self.starts.get(index)? as usize;
        let end = self.starts.get(index + 1).map(|&s| s as usize);
        if self.code[start] != JUMPDEST || end != Some(start + 1) {
            return None;
        }
        self.local_of(index + 1)?;
        let info = self.analysis.basic_block(start);
        (info.stack_req == 0 && info.stack_max_growth == 0).then_some(info.gas as i64)
    }

    /// Charges and checks the basic block starting at `pc` (compiled code checks every basic
    /// block, where the interpreter checks runs). Returns `false`
    /// when the block fails unconditionally (the rest of the segment is then unreachable).
    pub(super) fn enter_block(&mut self, pc: usize) -> bool {
        let info = self.analysis.basic_block(pc);
        // The failure conditions, in `Frame::begin_block`'s order (which decides the status
        // when several hold).
        let mut failures: Vec<(Value, i32)> = Vec::with_capacity(3);
        if info.gas > 0 {
            let g = self.b.ins().iadd_imm_s(self.gas, -(info.gas as i64));
            let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, g, 0);
            failures.push((out, EVMC_OUT_OF_GAS));
            self.gas = g;
        }
        let off = self.vs.off;
        let req = info.stack_req as i32;
        let growth = info.stack_max_growth as i32;
        let limit = STACK_LIMIT as i32;
        // Whatever the height, the block overflows.
        let overflows = off + growth > limit;
        // The materialised height `h` is that of a real earlier stack pointer: 0 <= h <= limit.
        if req > off || (off + growth > 0 && !overflows) {
            let h = self.b.ins().isub(self.sp, self.base);
            if req > off {
                let under =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::SignedLessThan, h, ((req - off) * WORD) as i64);
                failures.push((under, EVMC_STACK_UNDERFLOW));
            }
            if off + growth > 0 && !overflows {
                let over = self.b.ins().icmp_imm_s(
                    IntCC::SignedGreaterThan,
                    h,
                    ((limit - off - growth) * WORD) as i64,
                );
                failures.push((over, EVMC_STACK_OVERFLOW));
            }
        }
        if overflows {
            let status = self.first_failure(&failures, EVMC_STACK_OVERFLOW);
            self.b.ins().jump(self.fail, &[BlockArg::Value(status)]);
            return false;
        }
        // A branch per check, in order, to the region's shared exit for its status: each
        // compare fuses with its jump. (One branch on the checks or-ed together, to a cold exit
        // of the block's own working out the status, costs a set, an or and a test more on
        // the path taken, and measured 3-6% slower on main/ without the e-graph pass.)
        for (cond, status) in failures {
            self.fail_if(cond, status);
        }
        true
    }

    /// The status (I32) of the first of `failures` that holds, `otherwise` if none does.
    pub(super) fn first_failure(&mut self, failures: &[(Value, i32)], otherwise: i32) -> Value {
        let mut status = self.b.ins().iconst(I32, otherwise as i64);
        for &(cond, code) in failures.iter().rev() {
            let code = self.b.ins().iconst(I32, code as i64);
            status = self.b.ins().select(cond, code, status);
        }
        status
    }

    /// The block after an instruction that ends a block without leaving the segment.
    pub(super) fn enter_next_block(&mut self, next: usize) -> bool {
        // A JUMPDEST there starts the next segment and enters its own block.
        if self.code[next] == JUMPDEST {
            true
        } else {
            self.enter_block(next)
        }
    }

    pub(super) fn fail_if(&mut self, cond: Value, status: i32) {
        let cont = self.b.create_block();
        let fail = self.fail_block(status);
        self.b.ins().brif(cond, fail, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// The exit failing the frame with the constant `status`. One per status and without
    /// parameters: branches to it carry no arguments, so they need no edge blocks of moves
    /// (most blocks have one or two such branches; this keeps the function small to compile).
    pub(super) fn fail_block(&mut self, status: i32) -> Block {
        if let Some(&(_, block)) = self.fail_blocks.iter().find(|(s, _)| *s == status) {
            return block;
        }
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.fail_blocks.push((status, block));
        block
    }

    /// Fails the frame with `status` (I32) unless it is 0 (EVMC_SUCCESS).
    pub(super) fn fail_with(&mut self, status: Value) {
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(status, self.fail, &[BlockArg::Value(status)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    pub(super) fn jump_fail(&mut self, status: i32) {
        let fail = self.fail_block(status);
        self.b.ins().jump(fail, &[]);
    }

    /// Branches on `fast` into a fast path (the current block afterwards) and a cold slow path;
    /// both end by jumping to the returned merge block, which takes `merge_params` I64 values.
    /// Returns (slow, merge).
    pub(super) fn fast_path_split(&mut self, fast: Value, merge_params: usize) -> (Block, Block) {
        let fast_block = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let merge = self.b.create_block();
        for _ in 0..merge_params {
            self.b.append_block_param(merge, I64);
        }
        self.b.ins().brif(fast, fast_block, &[], slow, &[]);
        self.b.switch_to_block(fast_block);
        (slow, merge)
    }

    /// Continues at the start of segment `index`: a branch inside the region, a tail call
    /// through the slot table otherwise. Terminates the current block.
    pub(super) fn goto_segment(&mut self, index: usize) {
        let sp = self.settle();
        if let Some(local) = self.local_of(index) {
            let block = self.segment_blocks[local];
            self.b
                .ins()
                .jump(block, &[sp, self.gas].map(BlockArg::Value));
        } else {
            let slot = self.tables.slots + index * std::mem::size_of::<usize>();
            let slot = self.b.ins().iconst(I64, slot as i64);
            let target = self.b.ins().load(I64, FLAGS, slot, 0);
            let index = self.b.ins().iconst(I64, index as i64);
            self.b.ins().return_call_indirect(
                self.sigs.tail,
                target,
                &[self.frame, sp, self.gas, index],
            );
        }
    }

    /// Ends the frame with a success status (gas left matters, the stack does not).
    pub(super) fn exit_done(&mut self, status: i32) {
        self.store_gas();
        let ret = self
            .b
            .ins()
            .iconst(I64, (DONE | status as u32 as u64) as i64);
        self.b.ins().return_(&[ret]);
    }

    pub(super) fn store_sp(&mut self) {
        let sp = self.sp_at_top();
        self.b.ins().store(FLAGS, sp, self.frame, OFF_SP);
    }

    pub(super) fn store_gas(&mut self) {
        self.b.ins().store(FLAGS, self.gas, self.frame, OFF_GAS);
    }

    /// The segment a valid jump destination starts.
    pub(super) fn segment_at(&self, pc: usize) -> usize {
        self.starts
            .binary_search(&(pc as u32))
            .expect("every JUMPDEST starts a segment")
    }

    /// JUMP to `dest` (also JUMPI's taken path). Terminates the current Cranelift block.
    pub(super) fn lower_jump(&mut self, dest: Word) {
        match dest {
            Word::Const(d) => match usize::try_from(d) {
                Ok(d) if self.analysis.is_jumpdest(d) => {
                    let index = self.segment_at(d);
                    self.goto_segment(index);
                }
                _ => self.jump_fail(EVMC_BAD_JUMP_DESTINATION),
            },
            Word::Ssa([l0, l1, l2, l3]) => {
                // A word that cannot be a pc fails here; the dispatch block checks the rest.
                let hi = self.b.ins().bor(l1, l2);
                let hi = self.b.ins().bor(hi, l3);
                let big = self.b.ins().ushr_imm_u(l0, 32);
                let any = self.b.ins().bor(hi, big);
                let bad = self.b.ins().icmp_imm_s(IntCC::NotEqual, any, 0);
                self.fail_if(bad, EVMC_BAD_JUMP_DESTINATION);
                let sp = self.settle();
                let dispatch = *self.dispatch.get_or_insert_with(|| {
                    let block = self.b.create_block();
                    for _ in 0..3 {
                        self.b.append_block_param(block, I64);
                    }
                    block
                });
                self.b
                    .ins()
                    .jump(dispatch, &[l0, sp, self.gas].map(BlockArg::Value));
            }
        }
    }
}
