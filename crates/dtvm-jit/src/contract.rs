//! A compiled contract: the per-segment slot table that compiled code and the stubs tail-call
//! through, its regions and compile lock, its counters and what it costs in memory; how a
//! frame runs on it (`run`), and the stubs' hooks into Rust. Compilation itself is in
//! `contract/compile.rs`.
//!
//! Invariants:
//! * A slot holds compiled code of this contract's module, the resolver stub or the
//!   interpreter stub; it is written under the compile lock with release ordering and read
//!   lock-free with acquire. The slot table's address is baked into compiled code: it never
//!   moves.
//! * The module (and so the machine code) is freed only when the contract is dropped, i.e. when
//!   the cache and every running frame have let go of their `Arc`.
//! * [`Contract::bytes`] is everything the contract keeps alive: its tables, its analysis, the
//!   pages its code is mapped in and an estimate of its module's state. The same bytes are in
//!   the cache's live total from creation to drop.

mod compile;

use crate::code_cache;
use crate::code_memory::CodeMemory;
use crate::compiler::{Compiler, Effort, Tables, DONE};
use crate::policy::{self, CallBudget};
use crate::segments::Segments;
use crate::stubs::{self, Next, Stubs};
use ::evmc_vm::sys::*;
use dtvm_core::analysis::CodeAnalysis;
use dtvm_interp::{run_segment, Exit};
use dtvm_runtime::{Frame, Status};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

/// Estimated heap of one Cranelift module (its declarations, symbol tables and bookkeeping),
/// and what each function defined in it adds; the module does not expose its own size.
const MODULE_BYTES: usize = 2048;
const FUNCTION_BYTES: usize = 512;

/// The shared stubs; `None` when this machine cannot run Cranelift code.
#[inline(never)]
pub(crate) fn shared_stubs() -> Option<&'static Stubs> {
    stubs::stubs(resolve_hook, interpret_hook)
}

/// Per-contract compilation counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentStats {
    /// JUMPDEST segments of the contract.
    pub segments: usize,
    /// Segments with compiled code (by callers or in the background).
    pub compiled: usize,
    /// Of those, compiled by a background thread.
    pub compiled_in_background: usize,
    /// Times a caller entered a segment that was not compiled yet (with background compilers:
    /// segments a caller entered uncompiled).
    pub resolver_entries: usize,
    /// Segments that will always run in the interpreter (their compilation failed).
    pub fallbacks: usize,
    /// Segments without code that the contract's compile budget no longer covers: they run
    /// interpreted until entered often enough to be compiled.
    pub deferred: usize,
    /// Bytes of bytecode in compiled segments.
    pub compiled_bytes: usize,
    /// Bytes of machine code.
    pub code_bytes: usize,
    /// Bytes of memory the contract keeps: tables, analysis, mapped code pages, module state.
    pub memory_bytes: usize,
    /// CPU time spent compiling this contract, by callers and in the background, in nanoseconds.
    pub compile_nanos: u64,
}

impl SegmentStats {
    /// Nothing is left to compile unless some deferred segment gets hot.
    pub fn settled(&self) -> bool {
        self.compiled + self.fallbacks + self.deferred >= self.segments
    }
}

#[derive(Default)]
struct Counters {
    compiled: AtomicUsize,
    compiled_in_background: AtomicUsize,
    resolver_entries: AtomicUsize,
    fallbacks: AtomicUsize,
    code_bytes: AtomicUsize,
    compiled_bytes: AtomicUsize,
    compile_nanos: AtomicU64,
    /// Functions defined in the module (for its state estimate).
    functions: AtomicUsize,
}

/// A Cranelift module is not `Sync`; it lives behind the contract's compile lock.
struct JitState {
    /// `None` before the first compilation, or when no compiler could be created.
    compiler: Option<Compiler>,
    broken: bool,
}

// SAFETY: `JITModule` is `!Sync` because of interior mutability without locking, and `!Send` only
// through raw pointers into its own executable memory, which it owns. It is only ever accessed
// through the `Mutex` around `JitState`, by one thread at a time.
unsafe impl Send for JitState {}

pub(crate) struct Contract {
    analysis: Arc<CodeAnalysis>,
    segments: Segments,
    stubs: &'static Stubs,
    /// How hard its compiler optimises (whoever created the contract chose).
    effort: Effort,
    /// Per segment: the address compiled code tail-calls to enter it (see the invariants).
    slots: Box<[AtomicUsize]>,
    /// Per code byte: `segment + 1` at a JUMPDEST, 0 elsewhere (the dynamic-jump table).
    segment_of_pc: Box<[u32]>,
    /// The regions whole-contract compilation uses (segments in layout order), and whether
    /// each is done.
    regions: Box<[Box<[usize]>]>,
    /// Per segment: its region and its case of the region's entry switch (see
    /// [`policy::plan_entries`]); compiled code reads it to enter a region at a segment.
    place: Box<[u32]>,
    region_done: Box<[AtomicBool]>,
    jit: Mutex<JitState>,
    /// Every region is compiled, refused, or deferred for want of budget: the whole-contract
    /// passes (multipass calls, background) have nothing left to do.
    up_front_done: AtomicBool,
    /// A region was deferred: the compile budget is spent, only hot segments get compiled.
    budget_spent: AtomicBool,
    /// Handed to the background compiler already (once is enough: it works until all is done).
    pub(crate) queued: AtomicBool,
    /// Compiled on demand only (tiered): the background compilers compile the regions calls
    /// enter, never the whole contract.
    pub(crate) on_demand: AtomicBool,
    /// Callers waiting for the compile lock: the background compiler gives way to them.
    callers_waiting: AtomicUsize,
    /// Per segment: entries while uncompiled (see [`Contract::resolve`]).
    entries: Box<[AtomicU32]>,
    /// Per segment: the entries that make it hot (see [`policy::HOT_WORK`]).
    hot_after: Box<[u32]>,
    /// Segments a caller entered uncompiled, for the background compiler to do first.
    pending: Mutex<Vec<usize>>,
    counters: Counters,
    /// Bytes of the code pages the module mapped (kept up to date by its [`CodeMemory`]).
    mapped: Arc<AtomicUsize>,
    /// Bytes of the tables and the analysis, fixed at creation.
    table_bytes: usize,
    /// When a call last used the contract ([`code_cache::now_ms`]), for eviction.
    pub(crate) last_used: AtomicU64,
}

/// How the calls of a mode treat uncompiled code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CallerPolicy {
    /// Multipass and lazy: a caller compiles what is hot (or, without background compilers,
    /// what it enters) within its call's budget.
    Compiles,
    /// Tiered: callers never compile; everything goes to the background compilers.
    Never,
}

/// What compiled code and the stubs' hooks reach through `Frame::engine` during one call.
struct CallContext<'c> {
    contract: &'c Arc<Contract>,
    budget: &'c CallBudget,
    policy: CallerPolicy,
}

impl Contract {
    #[inline(never)]
    pub(crate) fn new(analysis: Arc<CodeAnalysis>, stubs: &'static Stubs, effort: Effort) -> Self {
        let segments = Segments::new(&analysis);
        let mut segment_of_pc = vec![0u32; analysis.code_len()].into_boxed_slice();
        for (index, &pc) in segments.starts().iter().enumerate() {
            if analysis.is_jumpdest(pc as usize) {
                segment_of_pc[pc as usize] = index as u32 + 1;
            }
        }
        let (regions, mut place) =
            policy::plan_regions(&segments, |s| segments.layout_next(&analysis, s));
        policy::plan_entries(&segments, &analysis, &regions, &mut place);
        let regions: Box<[Box<[usize]>]> = regions.into_iter().map(Vec::into_boxed_slice).collect();
        let n = segments.len();
        let table_bytes = std::mem::size_of::<Self>()
            + analysis.heap_size()
            + std::mem::size_of::<CodeAnalysis>()
            + segment_of_pc.len() * 4
            + segments.heap_size()
            + n * (8 + 8)
            + regions.len() * (std::mem::size_of::<Box<[usize]>>() + 1)
            + n * (8 + 4)
            + MODULE_BYTES;
        code_cache::charge(table_bytes as isize);
        Self {
            slots: (0..n).map(|_| AtomicUsize::new(stubs.resolve)).collect(),
            segment_of_pc,
            region_done: regions.iter().map(|_| AtomicBool::new(false)).collect(),
            regions,
            place: place.into_boxed_slice(),
            hot_after: (0..n).map(|s| policy::hot_after(segments.ops(s))).collect(),
            analysis,
            segments,
            stubs,
            effort,
            jit: Mutex::new(JitState {
                compiler: None,
                broken: false,
            }),
            up_front_done: AtomicBool::new(false),
            budget_spent: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            on_demand: AtomicBool::new(false),
            callers_waiting: AtomicUsize::new(0),
            entries: (0..n).map(|_| AtomicU32::new(0)).collect(),
            pending: Mutex::new(Vec::new()),
            counters: Counters::default(),
            mapped: Arc::new(AtomicUsize::new(0)),
            table_bytes,
            last_used: AtomicU64::new(code_cache::now_ms()),
        }
    }

    pub(crate) fn analysis(&self) -> &CodeAnalysis {
        &self.analysis
    }

    /// Everything this contract keeps in memory (see the invariants).
    pub(crate) fn bytes(&self) -> usize {
        self.table_bytes
            + self.mapped.load(Relaxed)
            + self.counters.functions.load(Relaxed) * FUNCTION_BYTES
    }

    fn lock(&self) -> MutexGuard<'_, JitState> {
        self.jit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tables(&self) -> Tables<'_> {
        Tables {
            slots: self.slots.as_ptr() as usize,
            segment_of_pc: self.segment_of_pc.as_ptr() as usize,
            code_len: self.segment_of_pc.len(),
            place: &self.place,
            interpret: self.stubs.interpret,
            expand: self.stubs.expand,
        }
    }

    /// A new compiler for this contract, its code in pages counted as the contract's.
    fn new_compiler(&self) -> Result<Compiler, String> {
        Compiler::new(Box::new(CodeMemory::new(self.mapped.clone())), self.effort)
    }

    pub(crate) fn stats(&self) -> SegmentStats {
        let c = &self.counters;
        let deferred = if self.budget_spent.load(Relaxed) {
            let resolve = self.stubs.resolve;
            self.slots
                .iter()
                .filter(|s| s.load(Relaxed) == resolve)
                .count()
        } else {
            0
        };
        SegmentStats {
            segments: self.slots.len(),
            compiled: c.compiled.load(Relaxed),
            compiled_in_background: c.compiled_in_background.load(Relaxed),
            resolver_entries: c.resolver_entries.load(Relaxed),
            fallbacks: c.fallbacks.load(Relaxed),
            deferred,
            code_bytes: c.code_bytes.load(Relaxed),
            compiled_bytes: c.compiled_bytes.load(Relaxed),
            memory_bytes: self.bytes(),
            compile_nanos: c.compile_nanos.load(Relaxed),
        }
    }

    /// Runs the frame to its end in compiled code (and the interpreter for the segments that
    /// have none), compiling on the way within `budget` if `policy` lets callers compile.
    pub(crate) fn run(
        self: &Arc<Self>,
        frame: &mut Frame<'_, '_>,
        budget: &CallBudget,
        policy: CallerPolicy,
    ) -> Status {
        let context = CallContext {
            contract: self,
            budget,
            policy,
        };
        frame.engine = &context as *const CallContext<'_> as *const ();
        let entry = self.slots[0].load(Acquire);
        let (sp, gas) = (frame.sp, frame.gas_left);
        // SAFETY: `enter` calls the slot's code with the tail ABI every slot holds (a region of
        // this contract's module, or a stub); the module lives as long as `self`, which the
        // caller borrows for the whole run, and `context` outlives the call. `sp` and `gas` are
        // the frame's own, at the start of segment 0 as `run_segment` would see them.
        let ret = unsafe { (self.stubs.enter)(frame, entry, sp, gas, 0) };
        frame.engine = std::ptr::null();
        debug_assert!(ret & DONE != 0);
        ret as u32 as Status
    }
}

/// The call context of a frame that compiled code runs.
///
/// # Safety
/// `frame` must be the frame `Contract::run` passed to compiled code, still running.
unsafe fn context<'f, 'a, 'h>(
    frame: *mut Frame<'a, 'h>,
) -> (&'f mut Frame<'a, 'h>, &'f CallContext<'f>) {
    // SAFETY: forwarded to the caller; `run` set `engine` to its live `CallContext`.
    unsafe {
        let frame = &mut *frame;
        let context = &*(frame.engine as *const CallContext<'_>);
        (frame, context)
    }
}

/// The resolver stub's hook: compile segment `s` (or not) and say what to run.
unsafe extern "C" fn resolve_hook(frame: *mut Frame<'_, '_>, s: u64) -> usize {
    // SAFETY: only the resolver stub calls this, from code `Contract::run` entered.
    let (_, cx) = unsafe { context(frame) };
    let contract = cx.contract;
    // A panic must not unwind into compiled code, which has no unwind tables.
    catch_unwind(AssertUnwindSafe(|| {
        contract.resolve(s as usize, cx.budget, cx.policy)
    }))
    .unwrap_or(contract.stubs.interpret)
}

/// The interpreter stub's hook: run segment `s` in the interpreter, then say what to run next.
unsafe extern "C" fn interpret_hook(frame: *mut Frame<'_, '_>, s: u64) -> Next {
    // SAFETY: only the interpreter stub calls this, from code `Contract::run` entered, after
    // storing the stack pointer and gas in the frame.
    let (frame, cx) = unsafe { context(frame) };
    let contract = cx.contract;
    let stubs = contract.stubs;
    let done = |status: Status| Next {
        next: DONE | status as u32 as u64,
        segment: 0,
    };
    let starts = contract.segments.starts();
    let mut segment = s as usize;
    // Runs on through segments that have no code, without a round trip through the stubs.
    let run = || loop {
        match interpret(frame, starts[segment] as usize) {
            Exit::Done(status) => return done(status),
            Exit::Segment(next) => {
                if !contract.analysis.is_jumpdest(next) {
                    return done(EVMC_BAD_JUMP_DESTINATION);
                }
                segment = contract.segment_of_pc[next] as usize - 1;
                let mut target = contract.slots[segment].load(Acquire);
                if target == stubs.resolve {
                    target = contract.resolve(segment, cx.budget, cx.policy);
                }
                if target != stubs.interpret {
                    return Next {
                        next: target as u64,
                        segment: segment as u64,
                    };
                }
            }
        }
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| done(EVMC_INTERNAL_ERROR))
}

/// The interpreter's segment loop, out of line so its frame is on the stack only while it runs.
#[inline(never)]
fn interpret(frame: &mut Frame<'_, '_>, pc: usize) -> Exit {
    run_segment(frame, pc)
}

impl Drop for Contract {
    fn drop(&mut self) {
        let state = self.jit.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(compiler) = state.compiler.take() {
            // SAFETY: this is the last reference to the contract: no frame runs its code (each
            // holds an `Arc` for the whole execution) and its slots die with it.
            unsafe { compiler.free() };
        }
        let functions = self.counters.functions.load(Relaxed) * FUNCTION_BYTES;
        code_cache::charge(-((self.table_bytes + functions) as isize));
    }
}
