//! dtvm's JIT: EVM bytecode compiled with Cranelift. The unit of entry is a JUMPDEST segment;
//! the unit of compilation is a region of consecutive segments (one function).
//!
//! * multipass: the whole contract is compiled, region by region, before its first run.
//! * lazy: a segment is compiled when execution first reaches it (by the background compilers,
//!   or the caller without them or once it is hot), and the background compilers go on with
//!   the whole-contract regions.
//! * tiered: a contract runs in the plain interpreter until the time its calls take makes it hot;
//!   then the background compilers compile the regions its calls enter (`tiered.rs`). Callers
//!   never compile.
//!
//! Every segment has a slot holding the address execution tail-calls to enter it: compiled code,
//! a resolver stub (compile or request on entry) or an interpreter stub. Compiled and
//! interpreted segments (`dtvm_interp::run_segment`) run on the same `dtvm_runtime::Frame` and
//! hand over at JUMPDESTs, so any segment that is not compiled (not yet, over the compile
//! budget, a codegen error) simply runs in the interpreter. Long JUMPDEST segments are cut into
//! pieces (see `segments.rs`) that hand over the same way. All complex instructions call the
//! shared instruction bodies (`dtvm_runtime::instructions`): results are the interpreter's, bit for bit.
//!
//! Compilation is bounded twice: per call (a wall-clock budget, the rest interpreted or left to
//! later calls) and per contract (a CPU-time budget; past it only hot segments are compiled).
//!
//! Compiled code is cached per (code, revision) for the process, shared by all threads, bounded
//! by the memory contracts keep (`code_cache.rs`). A running frame holds its contract's `Arc`,
//! so eviction never frees code in use.
//!
//! Files: `contract.rs` (slot table, run, hooks) and `contract/compile.rs` (compile passes),
//! `policy.rs` (budgets, regions, hotness), `code_cache.rs`, `code_memory.rs` (pages),
//! `background.rs`, `tiered.rs`, `config.rs` (process-wide settings), `stats.rs`;
//! `translate/` lowers regions (driver, virtual stack, control, memory, helper calls, u256),
//! `compiler.rs` the ISA and `JITModule` setup, `stubs.rs` the shared trampolines, `shims.rs`
//! the helpers generated from the opcode list.

mod background;
mod code_cache;
mod code_memory;
mod compiler;
mod config;
mod contract;
mod policy;
mod segments;
mod shims;
mod stats;
mod stubs;
mod tiered;
mod translate;

use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use compiler::Effort;
use contract::CallerPolicy;
use dtvm_core::Revision;

pub use background::set_background_threads;
pub use code_cache::{cached_contracts, live_bytes, segment_stats};
pub use config::{
    set as configure, Setting, DEFAULT_CACHE_LIMIT_BYTES, DEFAULT_HOT_COMPILE_PERCENT,
    DEFAULT_HOT_MICROS, DEFAULT_IDLE_EVICT_SECS, DEFAULT_MAX_CODE_SIZE, DEFAULT_MAX_PENDING,
    HEAT_HALF_LIFE_SECS,
};
pub use contract::SegmentStats;
pub use stats::{tier_stats, TierStats};

/// Executes `code` for `msg` at `rev` with compiled code: all segments compiled up front
/// (`lazy == false`, multipass) or on first use (`lazy == true`).
pub fn execute(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
    lazy: bool,
) -> ExecutionResult {
    if code.is_empty() {
        return ExecutionResult::new(EVMC_SUCCESS, msg.gas().max(0), 0, Vec::new());
    }
    let Some(stubs) = contract::shared_stubs() else {
        return interpret(ctx, rev, msg, code, dtvm_core::analysis::code_hash(code));
    };
    let budget = policy::CallBudget::new();
    let (contract, created) = match code_cache::recent(code, rev) {
        Some(contract) => (contract, false),
        None => code_cache::contract(&code_cache::key(code, rev), code, rev, stubs, Effort::Quick),
    };
    if !lazy {
        contract.compile_all(&budget);
    } else if created {
        background::enqueue(&contract);
    }
    dtvm_runtime::execute_analyzed(ctx, rev, msg, contract.analysis(), |frame| {
        contract.run(frame, &budget, CallerPolicy::Compiles)
    })
}

/// Executes `code` tiered: interpreted until the contract is hot, then with what the background
/// compilers compiled for it (see `tiered.rs`).
pub fn execute_tiered(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
) -> ExecutionResult {
    match contract::shared_stubs() {
        Some(stubs) if !code.is_empty() => tiered::execute(ctx, rev, msg, code, stubs),
        _ => interpret(ctx, rev, msg, code, dtvm_core::analysis::code_hash(code)),
    }
}

/// Drops every cached contract (code in use stays alive until its frames end) and, for tiered
/// mode, all heat: every contract starts cold again.
pub fn clear_cache() {
    code_cache::clear_cache();
    tiered::clear_heat();
}

/// The interpreter, for tiered mode's cold calls and a machine Cranelift cannot target;
/// `code_hash` is `dtvm_core::analysis::code_hash(code)` (tiered has it already).
/// Out of line: inlined, the interpreter loop's frame would sit in `execute`'s, which stays on
/// the native stack at every call level.
#[inline(never)]
pub(crate) fn interpret(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
    code_hash: u128,
) -> ExecutionResult {
    dtvm_interp::execute_hashed(ctx, rev, msg, code, code_hash)
}
