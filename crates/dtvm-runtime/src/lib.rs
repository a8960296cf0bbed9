//! The runtime every dtvm engine shares: the execution [`Frame`], EVM [`Memory`](memory::Memory),
//! and the [`instructions`]' bodies: one definition of each EVM rule, which the interpreter's
//! dispatch loop and the JIT's compiled code both call.
//!
//! Invariants the engines rely on:
//! * Gas and stack bounds are checked once per run of blocks that fall into one another
//!   ([`Frame::begin_run`]) or once per basic block ([`Frame::begin_block`]; see
//!   `dtvm_core::analysis`); instruction bodies access the stack unchecked inside a checked block.
//! * `Frame` and `Memory` are `#[repr(C)]`: compiled code addresses `sp`, `gas_left` and the
//!   memory's mirrored base and length by offset.

pub mod instructions;
pub mod memory;
pub mod modular;

use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use dtvm_core::analysis::CodeAnalysis;
use dtvm_core::{Revision, STACK_LIMIT, U256};
use memory::Memory;
use std::cell::RefCell;

/// An EVMC status code.
pub type Status = evmc_status_code;

/// The EVM stack storage of one frame.
#[repr(C, align(32))]
pub struct StackSpace(pub [U256; STACK_LIMIT]);

/// The state of one execution frame, shared by the interpreter and JIT code.
///
/// `#[repr(C)]` so that JIT code can address the hot fields (stack pointer, gas) by offset.
#[repr(C)]
pub struct Frame<'a, 'h> {
    /// Next free stack slot; the top item is at `sp - 1`.
    pub sp: *mut U256,
    /// First stack slot.
    pub stack_base: *mut U256,
    /// Gas left. A charge that makes it negative ends the frame with `EVMC_OUT_OF_GAS`.
    pub gas_left: i64,
    /// The refund counter (SSTORE, and SELFDESTRUCT before London); the caller receives it only
    /// if the frame succeeds.
    pub gas_refund: i64,
    /// The frame's memory, charged as it grows.
    pub memory: Memory,
    /// The output of the last nested call or create (RETURNDATASIZE, RETURNDATACOPY, EIP-211).
    pub return_data: Vec<u8>,
    /// The revision whose rules apply.
    pub rev: Revision,
    /// The message that started the frame: caller, value, input, depth, static flag.
    pub msg: ExecutionMessage<'a>,
    /// The analysis of the running code at `rev`: jump destinations and basic blocks.
    pub analysis: &'a CodeAnalysis,
    /// The host: state access, logs and nested calls.
    pub host: &'a mut ExecutionContext<'h>,
    /// Output region (offset, size) in memory set by RETURN/REVERT.
    pub output: (usize, usize),
    /// Opaque state of the engine running the frame (the JIT's per-call context); null in the
    /// interpreter.
    pub engine: *const (),
    /// The tracer of a traced frame (EIP-3155), told about nested messages; `None` otherwise.
    pub observer: Option<&'a dyn NestedCallObserver>,
}

/// Watches the nested messages of a traced frame. An EIP-3155 trace shows a CALL or CREATE line
/// before the lines of the frame it starts, and counts the gas it forwards in its `gasCost`, as
/// EVMs that charge per instruction report it; the instruction's line is only complete at that
/// point, inside its body.
pub trait NestedCallObserver {
    /// Called by the CALL-family and CREATE-family bodies once the instruction's own costs are
    /// charged and `forwarded` gas (a value call's stipend included, which `f.gas_left` then
    /// includes too) is about to leave with the nested message, or to come back at once when the
    /// message cannot be sent (depth limit, balance).
    fn before_nested(&self, f: &Frame<'_, '_>, forwarded: i64);
}

impl Frame<'_, '_> {
    /// Stack height in items.
    #[inline]
    pub fn stack_height(&self) -> usize {
        // SAFETY: `sp` always points into (or one past the end of) the stack that starts at
        // `stack_base`.
        unsafe { self.sp.offset_from(self.stack_base) as usize }
    }

    /// Charges `cost`; out of gas when the gas left goes negative.
    #[inline]
    pub fn charge(&mut self, cost: i64) -> Result<(), Status> {
        self.gas_left -= cost;
        if self.gas_left < 0 {
            Err(EVMC_OUT_OF_GAS)
        } else {
            Ok(())
        }
    }

    /// Charges memory expansion for a region read from the stack; `None` for a zero size.
    #[inline]
    pub fn memory_region(
        &mut self,
        offset: U256,
        size: U256,
    ) -> Result<Option<(usize, usize)>, Status> {
        let region = memory::region(offset, size)?;
        if let Some((o, s)) = region {
            self.memory.expand(&mut self.gas_left, o as u64, s as u64)?;
        }
        Ok(region)
    }

    /// Enters the run starting at the block start `pc`: charges the static gas of its block and
    /// of every block it falls into through JUMPDESTs, and checks their stack bounds, so their
    /// instructions can run unchecked. Returns `false`, and changes nothing, if a check fails:
    /// the run fails then, and the caller finds the block that fails first with
    /// [`begin_block`](Self::begin_block) block by block (see `dtvm_core::analysis`).
    #[inline]
    pub fn begin_run(&mut self, pc: usize) -> bool {
        let run = self.analysis.block(pc);
        let gas_left = self.gas_left - run.gas as i64;
        let height = self.stack_height();
        let ok = gas_left >= 0
            && height >= run.stack_req as usize
            && height + run.stack_max_growth as usize <= STACK_LIMIT;
        if ok {
            self.gas_left = gas_left;
        }
        ok
    }

    /// Enters the basic block starting at `pc` alone: charges its static gas and checks its stack
    /// bounds, in the order that decides the status when several fail (compiled code's).
    /// Walks the block (`CodeAnalysis::basic_block`): for runs that fail.
    #[cold]
    pub fn begin_block(&mut self, pc: usize) -> Result<(), Status> {
        let block = self.analysis.basic_block(pc);
        self.gas_left -= block.gas as i64;
        if self.gas_left < 0 {
            return Err(EVMC_OUT_OF_GAS);
        }
        let height = self.stack_height();
        if height < block.stack_req as usize {
            return Err(EVMC_STACK_UNDERFLOW);
        }
        if height + block.stack_max_growth as usize > STACK_LIMIT {
            return Err(EVMC_STACK_OVERFLOW);
        }
        Ok(())
    }
}

/// Buffers reused across frames of one thread: nested calls must not allocate a fresh 32 KB
/// stack and memory every time. Bounded: a 1,024-deep call chain returns 1,024 stacks and
/// memories, and a pool keeping them all would hold a thread's deepest transaction's memory
/// (575 MB for `static_Call1MB1024Calldepth`) for the rest of the process.
#[derive(Default)]
struct Pool {
    stacks: Vec<Box<StackSpace>>,
    memories: Vec<Vec<u8>>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Largest memory buffer worth keeping for reuse: a vector grows to at most twice
/// [`memory::MAPPED_FROM`] before a memory moves into a mapping (which `Memory` keeps itself).
const POOLED_MEMORY_LIMIT: usize = 2 * memory::MAPPED_FROM;
/// Buffers of each kind a thread keeps: more than the call depth of almost every transaction,
/// at most 2 MB of stacks and 16 MB of memories.
const POOLED_BUFFERS: usize = 32;

fn take_buffers() -> (Box<StackSpace>, Vec<u8>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let stack = p.stacks.pop().unwrap_or_else(|| {
            // SAFETY: U256 is plain integers: all-zero bytes are a valid value.
            unsafe { Box::<StackSpace>::new_zeroed().assume_init() }
        });
        let memory = p.memories.pop().unwrap_or_default();
        (stack, memory)
    })
}

fn return_buffers(stack: Box<StackSpace>, mut memory: Vec<u8>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.stacks.len() < POOLED_BUFFERS {
            p.stacks.push(stack);
        }
        if memory.capacity() <= POOLED_MEMORY_LIMIT && p.memories.len() < POOLED_BUFFERS {
            memory.clear();
            p.memories.push(memory);
        }
    })
}

/// Sets up a frame for `analysis`, runs `body` on it, and turns the frame into a result.
/// The JIT enters here too, with its own body.
pub fn execute_analyzed(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    analysis: &CodeAnalysis,
    body: impl FnOnce(&mut Frame<'_, '_>) -> Status,
) -> ExecutionResult {
    execute_observed(ctx, rev, msg, analysis, None, body)
}

/// [`execute_analyzed`] for a frame whose nested messages `observer` watches (a traced frame).
pub fn execute_observed(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    analysis: &CodeAnalysis,
    observer: Option<&dyn NestedCallObserver>,
    body: impl FnOnce(&mut Frame<'_, '_>) -> Status,
) -> ExecutionResult {
    let (mut stack, memory) = take_buffers();
    let base = stack.0.as_mut_ptr();
    let mut frame = Frame {
        sp: base,
        stack_base: base,
        gas_left: msg.gas().max(0),
        gas_refund: 0,
        memory: Memory::from_buffer(memory),
        return_data: Vec::new(),
        rev,
        msg: *msg,
        analysis,
        host: ctx,
        output: (0, 0),
        engine: std::ptr::null(),
        observer,
    };
    let status = body(&mut frame);
    let result = match status {
        EVMC_SUCCESS | EVMC_REVERT => {
            let (offset, size) = frame.output;
            let output = if size == 0 {
                Vec::new()
            } else {
                frame.memory.slice(offset, size).to_vec()
            };
            let refund = if status == EVMC_SUCCESS {
                frame.gas_refund
            } else {
                0
            };
            ExecutionResult::new(status, frame.gas_left, refund, output)
        }
        failure => ExecutionResult::failure(failure),
    };
    return_buffers(stack, frame.memory.into_buffer());
    result
}
