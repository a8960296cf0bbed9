//! MLOAD and MSTORE: the word is read or written inline. An access inside the current memory
//! size needs neither gas nor a call, so it is a bounds check and four byte-swapped loads or
//! stores. Growth within the bytes the memory has zeroed ahead (`Memory::OFFSET_READY`) is
//! inline too: the Yellow Paper's expansion cost (`dtvm_core::gas::memory_cost`, 3 per word
//! plus words² / 512, whose difference is charged) and a new length. Anything else (growth
//! past them, gas running out, a huge offset) calls the expansion helper
//! ([`shims::expand_word`], the runtime's rule), which charges the gas or fails the frame, and
//! then accesses the word the same way. The call goes through a stub that preserves every
//! register (`Stubs::expand`): with an ordinary call, the values live across each access had
//! to sit in the five callee-saved registers or on the stack, and straight-line code spent
//! more on those spills than on the accesses.
//!
//! Memory never shrinks during a frame, so once an access at a constant offset is done, later
//! accesses of the same segment below its end need no check at all (`Lower::mem_known`): code
//! that keeps its state at fixed addresses (a hash function's) checks each address once per
//! segment rather than at every access. A segment past the prologue starts knowing the memory
//! the prologue's accesses left (`Segments::memory_on_entry`): Solidity's free memory pointer
//! at 0x40 and the scratch words below it are never checked again.
//!
//! Both growth paths are laid out inline, not as cold blocks: straight-line code that grows
//! memory at every access (a loop unrolled by the compiler, a buffer filled word by word)
//! executes each access once, and a jump to a cold block at the end of a large function and
//! back costs an instruction-cache miss each time, measured at about three times the helper's
//! own work.

use super::*;
use crate::shims::FrameHelper;
use cranelift_codegen::ir::condcodes::IntCC;
use dtvm_core::gas::{memory_cost, num_words, MEMORY_QUADRATIC_DIVISOR, MEMORY_WORD_COST};
use dtvm_runtime::memory::Memory;

const OFF_MEM_BASE: i32 =
    (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_BASE) as i32;
const OFF_MEM_LEN: i32 = (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_LEN) as i32;
const OFF_MEM_READY: i32 =
    (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_READY) as i32;
/// EVM memory: any alignment, never trapping (bounds are checked first).
const MEMORY: MemFlagsData = MemFlagsData::new().with_notrap();

/// Where a growing access ends.
#[derive(Clone, Copy)]
enum End {
    /// A constant offset: the memory's new length and its total cost.
    Known { len: u64, cost: i64 },
    /// A run-time offset: the word's end (offset + 32, meaningful when the offset is small).
    RunTime(Value),
}

/// What [`Lower::word_within`] computes.
pub(super) struct WordWithin {
    /// The word lies within the bytes (I8).
    pub(super) fits: Value,
    /// The offset is below 2^32 (I8).
    pub(super) small: Value,
    /// The offset's limbs above the lowest, or-ed: non-zero at 2^64 and beyond.
    pub(super) high: Value,
    /// The lowest limb plus 32: the word's end when `small`.
    pub(super) end: Value,
}

impl Lower<'_, '_> {
    /// Makes the 32-byte word at `offset` addressable (charging the expansion, or failing the
    /// frame as the instruction would) and returns its address. `None` when a constant offset
    /// can never be in bounds (memory is below 2^32 bytes): the caller runs the whole
    /// instruction's helper instead.
    fn word_address(&mut self, offset: Word) -> Option<Value> {
        // The end of a constant access, when the access is possible at all.
        let const_end = match offset {
            Word::Const(c) => Some(u32::try_from(c).ok()? as u64 + WORD as u64),
            Word::Ssa(_) => None,
        };
        if let Some(end) = const_end.filter(|&end| end <= self.mem_known) {
            // In bounds: an earlier access of this segment reached at least as far.
            let base = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_BASE);
            return Some(self.b.ins().iadd_imm_s(base, (end - WORD as u64) as i64));
        }
        let len = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_LEN);
        // `high`: the limbs above the lowest, non-zero when the offset is 2^64 or more;
        // `small`: the offset is below 2^32 (else only the helper can tell what happens).
        let (fits, offset, end, small, high) = match offset {
            Word::Const(c) => {
                let off = u32::try_from(c).ok()?;
                let fits = self.b.ins().icmp_imm_s(
                    IntCC::UnsignedGreaterThanOrEqual,
                    len,
                    off as i64 + WORD as i64,
                );
                let offset = self.b.ins().iconst(I64, off as i64);
                // `Memory::grow`'s new size and `memory_cost` of it, known here.
                let words = num_words(off as u64 + WORD as u64);
                let end = End::Known {
                    len: words * WORD as u64,
                    cost: memory_cost(words),
                };
                (fits, offset, end, None, None)
            }
            Word::Ssa(limbs) => {
                let w = self.word_within(limbs, len);
                (
                    w.fits,
                    limbs[0],
                    End::RunTime(w.end),
                    Some(w.small),
                    Some(w.high),
                )
            }
        };
        let zeroed = self.b.create_block();
        let grow = self.b.create_block();
        let call = self.b.create_block();
        let access = self.b.create_block();
        self.b.append_block_param(access, I64);
        self.b
            .ins()
            .brif(fits, access, &[BlockArg::Value(self.gas)], zeroed, &[]);

        // Growth into zeroed bytes: only gas and the length (`Memory::grow`'s first case).
        self.b.switch_to_block(zeroed);
        let new_len = match end {
            End::Known { len, .. } => self.b.ins().iconst(I64, len as i64),
            End::RunTime(end) => {
                let new_len = self.b.ins().iadd_imm_s(end, WORD as i64 - 1);
                self.b.ins().band_imm_s(new_len, -(WORD as i64))
            }
        };
        let ready = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_READY);
        let within = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, new_len, ready);
        let within = match small {
            Some(small) => self.b.ins().band(small, within),
            None => within,
        };
        self.b.ins().brif(within, grow, &[], call, &[]);

        self.b.switch_to_block(grow);
        let old_cost = self.memory_cost(len);
        let gas = match end {
            End::Known { cost, .. } => self.b.ins().iadd_imm_s(self.gas, -cost),
            End::RunTime(_) => {
                let cost = self.memory_cost(new_len);
                self.b.ins().isub(self.gas, cost)
            }
        };
        let gas = self.b.ins().iadd(gas, old_cost);
        // Out of gas: the helper fails the frame as the instruction would.
        let enough = self
            .b
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, gas, 0);
        let commit = self.b.create_block();
        self.b.ins().brif(enough, commit, &[], call, &[]);
        self.b.switch_to_block(commit);
        self.b.ins().store(FLAGS, new_len, self.frame, OFF_MEM_LEN);
        self.b.ins().jump(access, &[BlockArg::Value(gas)]);

        self.b.switch_to_block(call);
        let arg = match high {
            None => offset,
            Some(high) => {
                let saturated = self.b.ins().iconst(I64, -1);
                self.b.ins().select(high, saturated, offset)
            }
        };
        self.store_gas();
        // Through the stub that preserves every register: the status comes back in scratch.
        let status_out = self.b.ins().stack_addr(I64, self.scratch, 0);
        let callee = self.b.ins().iconst(I64, self.tables.expand as i64);
        self.b
            .ins()
            .call_indirect(self.sigs.expand, callee, &[self.frame, arg, status_out]);
        let status = self.b.ins().stack_load(I32, I32, self.scratch, 0);
        self.fail_with(status);
        let gas = self.b.ins().load(I64, FLAGS, self.frame, OFF_GAS);
        self.b.ins().jump(access, &[BlockArg::Value(gas)]);

        self.b.switch_to_block(access);
        self.gas = self.b.block_params(access)[0];
        if let Some(end) = const_end {
            self.mem_known = self.mem_known.max(end);
        }
        // Loaded here: growth may have moved the buffer.
        let base = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_BASE);
        Some(self.b.ins().iadd(base, offset))
    }

    /// Whether the 32 bytes at the run-time offset `limbs` lie within `len` bytes (memory's, or
    /// the input's), with the pieces a slow path needs.
    pub(super) fn word_within(&mut self, [l0, l1, l2, l3]: [Value; 4], len: Value) -> WordWithin {
        let high = self.b.ins().bor(l1, l2);
        let high = self.b.ins().bor(high, l3);
        let big = self.b.ins().ushr_imm_u(l0, 32);
        let hi = self.b.ins().bor(high, big);
        let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
        // Below 2^32 + 32: no overflow.
        let end = self.b.ins().iadd_imm_s(l0, WORD as i64);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        let fits = self.b.ins().band(small, inside);
        WordWithin {
            fits,
            small,
            high,
            end,
        }
    }

    /// `dtvm_core::gas::memory_cost` of a memory of `len` bytes (a multiple of 32 below
    /// 2^32 + 64: the square cannot overflow), from the same constants.
    fn memory_cost(&mut self, len: Value) -> Value {
        let words = self.b.ins().ushr_imm_u(len, 5);
        let square = self.b.ins().imul(words, words);
        let shift = MEMORY_QUADRATIC_DIVISOR.trailing_zeros() as i64;
        let quadratic = self.b.ins().ushr_imm_u(square, shift);
        let linear = self.b.ins().imul_imm_s(words, MEMORY_WORD_COST as i64);
        self.b.ins().iadd(linear, quadratic)
    }

    pub(super) fn lower_mload(&mut self, helper: FrameHelper) {
        let offset = self.peek(1);
        let idx = self.vs.off - 1;
        let Some(addr) = self.word_address(offset) else {
            self.call_frame_helper(helper, 1, 1);
            return;
        };
        // Big-endian bytes: the first 8 are the most significant limb.
        let limbs: [Value; 4] = std::array::from_fn(|k| {
            let v = self.b.ins().load(I64, MEMORY, addr, 8 * (3 - k as i32));
            self.b.ins().bswap(v)
        });
        self.set(idx, Word::Ssa(limbs));
    }

    pub(super) fn lower_mstore(&mut self, helper: FrameHelper) {
        let offset = self.peek(1);
        let value = self.peek(2);
        let off = self.vs.off;
        let Some(addr) = self.word_address(offset) else {
            self.call_frame_helper(helper, 2, 0);
            return;
        };
        let limbs = self.materialize(value);
        for (k, limb) in limbs.into_iter().enumerate() {
            // Big-endian bytes; a limb known here is swapped here.
            let v = match self.known_limb(limb) {
                Some(c) => self.b.ins().iconst(I64, c.swap_bytes() as i64),
                None => self.b.ins().bswap(limb),
            };
            self.b.ins().store(MEMORY, v, addr, 8 * (3 - k as i32));
        }
        self.vs.slots.retain(|s| s.idx < off - 2);
        self.vs.off = off - 2;
    }
}
