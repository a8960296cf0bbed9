//! Compiled contracts: the per-segment slot table, regions, the compile lock, the process-wide
//! code cache, and the background compiler threads.

use crate::compiler::{CompileError, Compiler, Tables, DONE};
use crate::segments::Segments;
use crate::stubs::{self, Next, Stubs};
use ::evmc_vm::sys::*;
use dtvm_core::analysis::{analysis_cache, CodeAnalysis};
use dtvm_core::Revision;
use dtvm_interp::{run_segment, Exit};
use dtvm_runtime::{Frame, Status};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, TryLockError, Weak};
use std::time::{Duration, Instant};

/// Compile time one call may spend (multipass up front plus lazy resolutions). Segments left
/// when it runs out are interpreted in that call and compiled by later calls or in the
/// background, so no contract, however adversarial, stalls a call for long.
pub(crate) const CALL_COMPILE_BUDGET: Duration = Duration::from_millis(50);
/// How long a background thread keeps the compile lock before letting callers in (it finishes
/// the region it is in: a few milliseconds, or ~100 ms for a segment only it compiles).
const BACKGROUND_SLICE: Duration = Duration::from_millis(2);

/// Machine code the cache keeps (contracts in use are never freed, whatever this says).
const CACHE_BUDGET_BYTES: usize = 256 << 20;
/// Instructions per region: register allocation cost grows faster than linearly with function
/// size, so regions stay small. Measured on main/ (release, two runs each): 512 and 1,024 give the
/// same steady-state speed (multipass/interpreter 0.34), but compile cost per byte of
/// snailtracer is 17-19 us at 512 against 27 us at 1,024 (and 28 at 2,048), where a 1.3 KB
/// contract costs ~10 us: only 512 keeps big contracts within twice the small ones' cost.
const REGION_OPS: usize = 512;
/// Segments per region: each is a block with a `br_table` entry, and a region of thousands of
/// tiny segments (JUMPDEST runs) would take far longer to compile than its instruction count says.
const REGION_SEGMENTS: usize = 256;

/// Work in an uncompiled segment (entries times its instructions plus [`ENTRY_WORK`]) after
/// which it is *hot*: a caller compiles it itself instead of waiting for the background compiler
/// (which may be starved on a busy machine: it runs at the lowest priority), and a contract that
/// spent its [`CONTRACT_COMPILE_BUDGET_NANOS`] compiles it at all. A one-instruction segment is
/// hot after 941 entries: interpreted through the stubs, an entry costs ~20 ns more than compiled
/// code, so by then the caller has lost about what compiling it costs (~20 us). Bigger segments
/// are hot sooner in entries (blake2b_huff's 4,400-instruction segments, run once per call,
/// after 4 calls), which favours code that is run over the ski-rental optimum: their compile
/// cost grows faster than their size.
const HOT_WORK: u32 = 16_000;
/// What entering a segment costs the interpreter stub, in instructions.
const ENTRY_WORK: u32 = 16;

/// Compile CPU time a contract gets before its code has proved hot: multipass (up front and in
/// later calls) and the background compilers compile its regions until the next one would go
/// over this; the rest runs interpreted, and a segment is compiled (with its region) only once
/// hot (see [`HOT_WORK`]). This bounds what any contract, however adversarial, costs to
/// compile without being used: 24 KB of compile bombs would take 0.3-0.7 s of compile CPU each,
/// and even ordinary code costs 10-20 us per byte (snailtracer: 0.3 s). Below the 100 ms the
/// multipass issue allows, with room for an estimate that is short by a region.
/// Builds with debug assertions run Cranelift's verifier and less optimised code (the test
/// profile is opt-level 1): compiling is slower there.
const CONTRACT_COMPILE_BUDGET_NANOS: u64 = if cfg!(debug_assertions) {
    2 * 80_000_000
} else {
    80_000_000
};

/// Live machine code bytes of all contracts, cached or still in use.
static CODE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Recent compile cost in nanoseconds per unit of [`region_weight`], a running average: a call
/// does not start a region it cannot finish within its budget (unless it has compiled nothing
/// yet, so that every call makes progress).
static COMPILE_NS_PER_WEIGHT: AtomicU64 = AtomicU64::new(10_000);

/// Compile cost grows with instructions and, apart from those, with blocks (segments); within
/// a segment, faster than linearly (register allocation of long straight-line code: a segment of
/// 2,000 arithmetic instructions costs ~30 us per instruction, one of 250 ~10 us).
fn region_weight(segments: &Segments, region: &Range<usize>) -> u64 {
    region
        .clone()
        .map(|s| {
            let ops = segments.ops(s) as u64;
            ops + 1 + ops * ops / 1024
        })
        .sum()
}

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
    /// Per segment: the address compiled code tail-calls to enter it: its compiled region, the
    /// resolver stub (not compiled yet) or the interpreter stub. Written under the compile lock
    /// with release ordering, read lock-free with acquire. Its address is baked into compiled
    /// code, so it never moves.
    slots: Box<[AtomicUsize]>,
    /// Per code byte: `segment + 1` at a JUMPDEST, 0 elsewhere (the dynamic-jump table).
    segment_of_pc: Box<[u32]>,
    /// The regions whole-contract compilation uses, and whether each is done.
    regions: Box<[Range<usize>]>,
    region_done: Box<[AtomicBool]>,
    jit: Mutex<JitState>,
    /// Every region is compiled, refused, or deferred for want of budget: the whole-contract
    /// passes (multipass calls, background) have nothing left to do.
    up_front_done: AtomicBool,
    /// A region was deferred: the compile budget is spent, only hot segments get compiled.
    budget_spent: AtomicBool,
    /// Handed to the background compiler already (once is enough: it works until all is done).
    queued: AtomicBool,
    /// Callers waiting for the compile lock: the background compiler gives way to them.
    callers_waiting: AtomicUsize,
    /// Per segment: entries while uncompiled (see [`Contract::resolve`]).
    entries: Box<[AtomicU32]>,
    /// Per segment: the entries that make it hot (see [`HOT_WORK`]).
    hot_after: Box<[u32]>,
    /// Segments a caller entered uncompiled, for the background compiler to do first.
    pending: Mutex<Vec<usize>>,
    counters: Counters,
}

/// What compiled code and the stubs' hooks reach through `Frame::engine` during one call.
struct CallContext<'c> {
    contract: &'c Arc<Contract>,
    deadline: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Caller,
    Background,
}

/// Consecutive segments of at most [`REGION_OPS`] instructions and [`REGION_SEGMENTS`] segments.
fn plan_regions(segments: &Segments) -> Vec<Range<usize>> {
    let n = segments.len();
    let mut regions = Vec::new();
    let (mut start, mut ops) = (0, 0);
    for index in 0..n {
        let size = segments.ops(index);
        if index > start && (ops + size > REGION_OPS || index - start == REGION_SEGMENTS) {
            regions.push(start..index);
            (start, ops) = (index, 0);
        }
        ops += size;
    }
    if start < n {
        regions.push(start..n);
    }
    regions
}

impl Contract {
    #[inline(never)]
    fn new(analysis: Arc<CodeAnalysis>, stubs: &'static Stubs) -> Self {
        let segments = Segments::new(&analysis);
        let mut segment_of_pc = vec![0u32; analysis.code_len()].into_boxed_slice();
        for (index, &pc) in segments.starts().iter().enumerate() {
            if analysis.is_jumpdest(pc as usize) {
                segment_of_pc[pc as usize] = index as u32 + 1;
            }
        }
        let regions = plan_regions(&segments).into_boxed_slice();
        let n = segments.len();
        let hot_after = (0..n)
            .map(|s| {
                let work = (segments.ops(s) as u32).saturating_add(ENTRY_WORK);
                (HOT_WORK / work).max(1)
            })
            .collect();
        Self {
            slots: (0..n).map(|_| AtomicUsize::new(stubs.resolve)).collect(),
            segment_of_pc,
            region_done: regions.iter().map(|_| AtomicBool::new(false)).collect(),
            regions,
            analysis,
            segments,
            stubs,
            jit: Mutex::new(JitState {
                compiler: None,
                broken: false,
            }),
            up_front_done: AtomicBool::new(false),
            budget_spent: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            callers_waiting: AtomicUsize::new(0),
            entries: (0..n).map(|_| AtomicU32::new(0)).collect(),
            hot_after,
            pending: Mutex::new(Vec::new()),
            counters: Counters::default(),
        }
    }

    pub(crate) fn analysis(&self) -> &CodeAnalysis {
        &self.analysis
    }

    fn lock(&self) -> MutexGuard<'_, JitState> {
        self.jit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tables(&self) -> Tables {
        Tables {
            slots: self.slots.as_ptr() as usize,
            segment_of_pc: self.segment_of_pc.as_ptr() as usize,
            code_len: self.segment_of_pc.len(),
        }
    }

    fn stats(&self) -> SegmentStats {
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
            compile_nanos: c.compile_nanos.load(Relaxed),
        }
    }

    /// Whether a segment of `segments` is hot (see [`HOT_WORK`]).
    fn is_hot(&self, segments: &Range<usize>) -> bool {
        segments
            .clone()
            .any(|s| self.entries[s].load(Relaxed) >= self.hot_after[s])
    }

    /// Whether compiling `segments`, estimated at `estimate` nanoseconds, fits the contract's
    /// compile budget, or they are hot. Marks the budget spent when it does not fit.
    fn affordable(&self, segments: &Range<usize>, estimate: u64) -> bool {
        let spent = self.counters.compile_nanos.load(Relaxed);
        if !self.budget_spent.load(Relaxed)
            && spent.saturating_add(estimate) <= CONTRACT_COMPILE_BUDGET_NANOS
        {
            return true;
        }
        self.budget_spent.store(true, Relaxed);
        self.is_hot(segments)
    }

    /// Estimated compile time of `segments`, in nanoseconds.
    fn estimate(&self, segments: &Range<usize>) -> u64 {
        region_weight(&self.segments, segments).saturating_mul(COMPILE_NS_PER_WEIGHT.load(Relaxed))
    }

    /// Multipass: compiles every region not compiled yet, until `deadline`. A contract too big
    /// for one call's budget is finished by the next calls (and the background compiler);
    /// meanwhile its uncompiled segments resolve lazily.
    pub(crate) fn compile_all(self: &Arc<Self>, deadline: Instant) {
        if !self.up_front_done.load(Acquire) {
            self.compile_rest(deadline);
        }
    }

    // Out of line, as everything that compiles: the compiler's large locals must not sit in the
    // frame of `execute`, which stays on the native stack across nested calls.
    #[inline(never)]
    fn compile_rest(self: &Arc<Self>, deadline: Instant) {
        // The lock holder is compiling this contract: another caller, or the background
        // compiler, which gives way at its next region boundary when a caller waits (a region
        // takes milliseconds). The wait ends with the call's budget at the latest.
        self.callers_waiting.fetch_add(1, Relaxed);
        let state = loop {
            match self.jit.try_lock() {
                Ok(g) => break Some(g),
                Err(TryLockError::Poisoned(e)) => break Some(e.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => break None,
                Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_micros(50)),
            }
        };
        self.callers_waiting.fetch_sub(1, Relaxed);
        let Some(mut state) = state else {
            return;
        };
        if !self.up_front_done.load(Relaxed) {
            if self.compile_regions(&mut state, Some(deadline), Who::Caller) {
                self.up_front_done.store(true, Release);
            } else {
                drop(state);
                tracing::debug!("dtvm-jit: compile budget exhausted, next calls go on");
                background::enqueue(self);
            }
        }
    }

    fn ensure_compiler<'s>(&self, state: &'s mut JitState) -> Option<&'s mut Compiler> {
        if state.compiler.is_none() && !state.broken {
            match Compiler::new() {
                Ok(c) => state.compiler = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "dtvm-jit: no compiler, contract runs interpreted");
                    state.broken = true;
                }
            }
        }
        if state.broken {
            return None;
        }
        state.compiler.as_mut()
    }

    /// Compiles the regions not done yet, stopping at `deadline`. Returns whether all are done.
    fn compile_regions(&self, state: &mut JitState, deadline: Option<Instant>, who: Who) -> bool {
        self.compile_regions_in(state, 0..self.regions.len(), deadline, who)
    }

    /// [`Contract::compile_regions`] for the regions `which` (indices, ascending).
    #[inline(never)]
    fn compile_regions_in(
        &self,
        state: &mut JitState,
        which: impl IntoIterator<Item = usize>,
        deadline: Option<Instant>,
        who: Who,
    ) -> bool {
        let mut defined = Vec::new();
        let mut finished = true;
        for r in which {
            let region = &self.regions[r];
            if self.region_done[r].load(Relaxed) {
                continue;
            }
            if who == Who::Background && self.callers_waiting.load(Relaxed) > 0 {
                finished = false;
                break;
            }
            let weight = region_weight(&self.segments, region);
            let estimate = self.estimate(region);
            if !self.affordable(region, estimate) {
                // Deferred: compiled once hot (see `resolve`), not by whole-contract passes.
                continue;
            }
            let now = Instant::now();
            if let Some(deadline) = deadline {
                let estimate = Duration::from_nanos(estimate);
                if now >= deadline || (!defined.is_empty() && now + estimate > deadline) {
                    finished = false;
                    break;
                }
            }
            let Some(compiler) = self.ensure_compiler(state) else {
                region.clone().for_each(|s| self.refuse(s));
                self.mark_done(r);
                continue;
            };
            let cpu = thread_cpu_nanos();
            let compiled = compiler.define(
                &self.analysis,
                &self.segments,
                region.clone(),
                &self.tables(),
            );
            let took = thread_cpu_nanos().saturating_sub(cpu);
            self.counters.compile_nanos.fetch_add(took, Relaxed);
            let per_weight = took / weight.max(1);
            let average = COMPILE_NS_PER_WEIGHT.load(Relaxed);
            COMPILE_NS_PER_WEIGHT.store((average * 3 + per_weight) / 4, Relaxed);
            if matches!(compiled, Err(CompileError::Panicked)) {
                state.broken = true;
            }
            match compiled {
                Ok((id, size)) => defined.push((region.clone(), id, size)),
                Err(e) => {
                    // Its segments stay with whatever they have (the resolver compiles them
                    // one by one, or they already run single-segment code).
                    tracing::warn!(region = ?region, error = %e, "dtvm-jit: region not compiled");
                }
            }
            self.mark_done(r);
        }
        self.publish(state, defined, who);
        finished
    }

    /// Region `r` needs no more compiling (under the compile lock).
    fn mark_done(&self, r: usize) {
        self.region_done[r].store(true, Relaxed);
    }

    /// Makes the defined regions executable and points their segments' slots at them.
    fn publish(
        &self,
        state: &mut JitState,
        defined: Vec<(Range<usize>, cranelift_module::FuncId, usize)>,
        who: Who,
    ) {
        if defined.is_empty() {
            return;
        }
        let compiler = state.compiler.as_mut().expect("defined implies a compiler");
        if let Err(e) = compiler.finalize() {
            tracing::warn!(error = %e, "dtvm-jit: finalize failed, segments run interpreted");
            for (segments, _, _) in defined {
                segments.for_each(|s| self.refuse(s));
            }
            return;
        }
        let c = &self.counters;
        for (segments, id, size) in defined {
            let address = compiler.address(id);
            for s in segments {
                let old = self.slots[s].swap(address, AcqRel);
                if old == self.stubs.resolve || old == self.stubs.interpret {
                    c.compiled_bytes.fetch_add(self.segments.bytes(s), Relaxed);
                }
                if old == self.stubs.resolve {
                    c.compiled.fetch_add(1, Relaxed);
                    if who == Who::Background {
                        c.compiled_in_background.fetch_add(1, Relaxed);
                    }
                } else if old == self.stubs.interpret {
                    c.compiled.fetch_add(1, Relaxed);
                    c.fallbacks.fetch_sub(1, Relaxed);
                }
            }
            c.code_bytes.fetch_add(size, Relaxed);
            CODE_BYTES.fetch_add(size, Relaxed);
        }
    }

    /// Points segment `s` at the interpreter, unless it has code already.
    fn refuse(&self, s: usize) {
        let swapped = self.slots[s].compare_exchange(
            self.stubs.resolve,
            self.stubs.interpret,
            AcqRel,
            Relaxed,
        );
        if swapped.is_ok() {
            self.counters.fallbacks.fetch_add(1, Relaxed);
        }
    }

    /// A caller entered an uncompiled segment; returns the address to continue with.
    ///
    /// Without background compilers the caller compiles the segment (unless another thread
    /// holds the compile lock or the call's compile budget is spent: then it interprets this
    /// time). With them (the default), the first entry hands the segment to them, to compile
    /// before anything else, and the caller interprets it until it is published, so a cold call
    /// costs what the interpreter costs; a segment that gets hot (see [`HOT_WORK`]) meanwhile is
    /// compiled by the caller after all. Once the contract's compile budget is spent, only
    /// hot segments are compiled, in either case.
    #[inline(never)]
    fn resolve(self: &Arc<Self>, s: usize, deadline: Instant) -> usize {
        // Counted without read-modify-write (racing threads may lose a count, which only
        // delays the hot threshold): this runs at every entry of an interpreted segment.
        let entries = self.entries[s].load(Relaxed);
        self.entries[s].store(entries.saturating_add(1), Relaxed);
        let hot = entries + 1 >= self.hot_after[s];
        let spent = self.budget_spent.load(Relaxed);
        let background = background::enabled();
        if !background || entries == 0 {
            self.counters.resolver_entries.fetch_add(1, Relaxed);
        }
        if background && (entries == 0 && !spent || entries + 1 == self.hot_after[s]) {
            // The background compiler does it first; a hot one also in case this caller
            // cannot (its call's budget is spent, or the compile lock is taken).
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s);
            background::enqueue(self);
        }
        if !hot && (background || spent) {
            return self.stubs.interpret;
        }
        if Instant::now() >= deadline {
            return self.stubs.interpret;
        }
        let mut state = match self.jit.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return self.stubs.interpret,
        };
        if hot {
            // Its whole region (a few milliseconds), which the whole-contract pass would
            // otherwise compile again after this segment alone.
            let region = self.regions.partition_point(|r| r.end <= s);
            self.compile_regions_in(&mut state, [region], Some(deadline), Who::Caller);
        }
        self.compile_segment(&mut state, s, Who::Caller);
        match self.slots[s].load(Acquire) {
            // Not compiled (publication failed without refusing, or over budget): interpret
            // this time.
            a if a == self.stubs.resolve => self.stubs.interpret,
            a => a,
        }
    }

    /// Compiles segment `s` alone, unless it has code (or a refusal) already.
    #[inline(never)]
    fn compile_segment(&self, state: &mut JitState, s: usize, who: Who) {
        if self.slots[s].load(Acquire) != self.stubs.resolve {
            return;
        }
        if !self.affordable(&(s..s + 1), self.estimate(&(s..s + 1))) {
            // Left to run interpreted until hot.
            return;
        }
        let tables = self.tables();
        let cpu = thread_cpu_nanos();
        let compiled = self
            .ensure_compiler(state)
            .map(|compiler| compiler.define(&self.analysis, &self.segments, s..s + 1, &tables));
        let took = thread_cpu_nanos().saturating_sub(cpu);
        self.counters.compile_nanos.fetch_add(took, Relaxed);
        let defined = match compiled {
            Some(Ok((id, size))) => Some((s..s + 1, id, size)),
            None => {
                self.refuse(s);
                None
            }
            Some(Err(e)) => {
                if matches!(e, CompileError::Panicked) {
                    state.broken = true;
                }
                tracing::warn!(segment = s, error = %e, "dtvm-jit: segment runs interpreted");
                self.refuse(s);
                None
            }
        };
        self.publish(state, defined.into_iter().collect(), who);
    }

    /// Runs the frame to its end in compiled code (and the interpreter for the segments that
    /// have none), compiling on the way until `deadline`.
    pub(crate) fn run(self: &Arc<Self>, frame: &mut Frame, deadline: Instant) -> Status {
        let context = CallContext {
            contract: self,
            deadline,
        };
        frame.engine = &context as *const CallContext as *const ();
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

    /// Background slice: compiles the segments callers asked for, then regions for a while.
    /// `false` when none are left.
    fn compile_in_background(&self) -> bool {
        if self.callers_waiting.load(Relaxed) > 0 {
            // A caller compiles this contract itself: come back later.
            std::thread::sleep(Duration::from_millis(1));
            return true;
        }
        let mut state = self.lock();
        let requested =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        // Whole regions rather than single segments: the whole-contract pass would compile
        // them again otherwise. A segment whose region is done yet has no code (the region
        // failed) gets compiled alone.
        let mut regions: Vec<usize> = requested
            .iter()
            .map(|&s| self.regions.partition_point(|r| r.end <= s))
            .collect();
        regions.sort_unstable();
        regions.dedup();
        self.compile_regions_in(&mut state, regions, None, Who::Background);
        let mut later = Vec::new();
        for s in requested {
            let region = self.regions.partition_point(|r| r.end <= s);
            if self.region_done[region].load(Relaxed) {
                self.compile_segment(&mut state, s, Who::Background);
            } else if self.budget_spent.load(Relaxed) && !self.is_hot(&self.regions[region]) {
                // Deferred: asked again when hot.
            } else {
                // Its region was left for a waiting caller: ask again next slice.
                later.push(s);
            }
        }
        if !later.is_empty() {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(later);
        }
        let deadline = Instant::now() + BACKGROUND_SLICE;
        let finished = self.compile_regions(&mut state, Some(deadline), Who::Background);
        if finished {
            self.up_front_done.store(true, Release);
        }
        !finished
    }
}

/// CPU time of the calling thread: compile cost that does not count the time a (lowest
/// priority) background thread spent preempted. Falls back to 0 where unavailable.
fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux and the BSDs
    // define; on failure `ts` stays zero.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
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
        let context = &*(frame.engine as *const CallContext);
        (frame, context)
    }
}

/// The resolver stub's hook: compile segment `s` (or not) and say what to run.
unsafe extern "C" fn resolve_hook(frame: *mut Frame, s: u64) -> usize {
    // SAFETY: only the resolver stub calls this, from code `Contract::run` entered.
    let (_, cx) = unsafe { context(frame) };
    let contract = cx.contract;
    // A panic must not unwind into compiled code, which has no unwind tables.
    catch_unwind(AssertUnwindSafe(|| {
        contract.resolve(s as usize, cx.deadline)
    }))
    .unwrap_or(contract.stubs.interpret)
}

/// The interpreter stub's hook: run segment `s` in the interpreter, then say what to run next.
unsafe extern "C" fn interpret_hook(frame: *mut Frame, s: u64) -> Next {
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
                    target = contract.resolve(segment, cx.deadline);
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
fn interpret(frame: &mut Frame, pc: usize) -> Exit {
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
        CODE_BYTES.fetch_sub(self.counters.code_bytes.load(Relaxed), Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// The code cache.

type Key = (u128, Revision);

#[derive(Default)]
struct CacheMap {
    map: HashMap<Key, Arc<Contract>>,
    /// Insertion order, for eviction.
    order: VecDeque<Key>,
}

static CACHE: once_cell::sync::Lazy<RwLock<CacheMap>> =
    once_cell::sync::Lazy::new(|| RwLock::new(CacheMap::default()));

/// The compiled contract for `code` at `rev`, created (uncompiled) on first use.
// Out of line: creation and eviction (dropping a contract frees its module) have large frames.
#[inline(never)]
pub(crate) fn contract(
    code: &[u8],
    rev: Revision,
    lazy: bool,
    stubs: &'static Stubs,
) -> Arc<Contract> {
    let key = (xxhash_rust::xxh3::xxh3_128(code), rev);
    if let Some(c) = lookup(&key, code) {
        return c;
    }
    let analysis = analysis_cache().get(code, rev);
    let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = cache.map.get(&key).filter(|c| c.analysis.code() == code) {
        return c.clone();
    }
    // Evict the oldest contracts while machine code is over budget. Contracts still running
    // stay alive through their frames' `Arc`s and free their code when those end.
    while CODE_BYTES.load(Relaxed) > CACHE_BUDGET_BYTES {
        let Some(old) = cache.order.pop_front() else {
            break;
        };
        cache.map.remove(&old);
    }
    let contract = Arc::new(Contract::new(analysis, stubs));
    if let Some(old) = cache.map.insert(key, contract.clone()) {
        // Same hash, different code: the newer one takes the slot.
        drop(old);
        cache.order.retain(|k| *k != key);
    }
    cache.order.push_back(key);
    drop(cache);
    if lazy {
        background::enqueue(&contract);
    }
    contract
}

fn lookup(key: &Key, code: &[u8]) -> Option<Arc<Contract>> {
    let cache = CACHE.read().unwrap_or_else(|e| e.into_inner());
    cache
        .map
        .get(key)
        .filter(|c| c.analysis.code() == code)
        .cloned()
}

/// Compilation counters of the cached contract for `code` at `rev`.
pub fn segment_stats(code: &[u8], rev: Revision) -> Option<SegmentStats> {
    lookup(&(xxhash_rust::xxh3::xxh3_128(code), rev), code).map(|c| c.stats())
}

/// Number of contracts in the code cache.
pub fn cached_contracts() -> usize {
    CACHE.read().unwrap_or_else(|e| e.into_inner()).map.len()
}

/// Drops every cached contract (code in use stays alive until its frames end).
pub fn clear_cache() {
    let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
    cache.map.clear();
    cache.order.clear();
}

pub use background::set_background_threads;

mod background {
    //! Lazy mode's background compilers: lowest priority, never holding a caller up (callers
    //! only `try_lock` the compile lock and interpret when it is taken).
    use super::*;

    struct Queue {
        jobs: Mutex<VecDeque<Weak<Contract>>>,
        ready: Condvar,
    }

    static QUEUE: Queue = Queue {
        jobs: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
    };
    /// Requested thread count; `usize::MAX` = not set (use `DTVM_EVM_LAZY_BG_THREADS`).
    static REQUESTED: AtomicUsize = AtomicUsize::new(usize::MAX);
    static STARTED: Mutex<usize> = Mutex::new(0);

    /// Sets the number of background compiler threads for lazy mode (0 = none). Threads already
    /// started keep running; call this before the first lazy execution to take full effect.
    pub fn set_background_threads(n: usize) {
        REQUESTED.store(n, Relaxed);
    }

    fn wanted() -> usize {
        match REQUESTED.load(Relaxed) {
            usize::MAX => {
                let n = std::env::var("DTVM_EVM_LAZY_BG_THREADS")
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(1);
                // Read once; a concurrent `set_background_threads` wins.
                let _ = REQUESTED.compare_exchange(usize::MAX, n, Relaxed, Relaxed);
                REQUESTED.load(Relaxed)
            }
            n => n,
        }
    }

    /// Whether background compilers are wanted (resolvers then hand their work over).
    pub(super) fn enabled() -> bool {
        wanted() > 0
    }

    pub(super) fn enqueue(contract: &Arc<Contract>) {
        let wanted = wanted();
        if wanted == 0 || contract.queued.swap(true, SeqCst) {
            return;
        }
        {
            let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
            while *started < wanted {
                let spawned = std::thread::Builder::new()
                    .name("dtvm-jit-bg".into())
                    .spawn(worker);
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "dtvm-jit: no background compiler thread");
                    break;
                }
                *started += 1;
            }
            if *started == 0 {
                return;
            }
        }
        QUEUE
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Arc::downgrade(contract));
        QUEUE.ready.notify_one();
    }

    fn worker() {
        // SAFETY: plain syscall on the calling thread (on Linux the nice value is per thread).
        #[cfg(target_os = "linux")]
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
        loop {
            let job = {
                let mut jobs = QUEUE.jobs.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(job) = jobs.pop_front() {
                        break job;
                    }
                    jobs = QUEUE.ready.wait(jobs).unwrap_or_else(|e| e.into_inner());
                }
            };
            // Upgrade per slice, so an evicted contract is not kept alive by its compilation.
            while let Some(contract) = job.upgrade() {
                if !contract.compile_in_background() {
                    // Done; a later request re-queues it. One that raced with the last slice
                    // finds `queued` still set, so look again after clearing it.
                    contract.queued.store(false, SeqCst);
                    let more = !contract
                        .pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .is_empty();
                    if more {
                        enqueue(&contract);
                    }
                    break;
                }
                drop(contract);
                std::thread::yield_now();
            }
        }
    }
}
