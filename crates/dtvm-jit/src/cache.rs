//! Compiled contracts: the per-segment slot table, the compile lock, the process-wide code cache,
//! and the background compiler threads of lazy mode.

use crate::compiler::{CompileError, Compiler, SegmentFn, DONE};
use ::evmc_vm::sys::*;
use dtvm_core::analysis::{analysis_cache, CodeAnalysis};
use dtvm_core::Revision;
use dtvm_interp::{run_segment, Exit, Frame, Status};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, TryLockError, Weak};
use std::time::{Duration, Instant};

/// Slot value of a segment not compiled yet (lazy mode: entering it runs the resolver).
const UNCOMPILED: usize = 0;
/// Slot value of a segment that runs in the interpreter for good.
const INTERPRET: usize = 1;

/// Compile time one call may spend (multipass up front plus lazy resolutions). Segments left
/// when it runs out are interpreted in that call and compiled by later calls or in the
/// background, so no contract, however adversarial, stalls a call for long.
pub(crate) const CALL_COMPILE_BUDGET: Duration = Duration::from_millis(50);
/// How long a background thread keeps the compile lock before letting callers in.
const BACKGROUND_SLICE: Duration = Duration::from_millis(2);
/// Machine code the cache keeps (contracts in use are never freed, whatever this says).
const CACHE_BUDGET_BYTES: usize = 256 << 20;

/// Live machine code bytes of all contracts, cached or still in use.
static CODE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Per-contract compilation counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentStats {
    /// JUMPDEST segments of the contract.
    pub segments: usize,
    /// Segments compiled (by callers or in the background).
    pub compiled: usize,
    /// Of those, compiled by a background thread.
    pub compiled_in_background: usize,
    /// Times a caller entered a segment that was not compiled yet (lazy mode).
    pub resolver_entries: usize,
    /// Segments that will always run in the interpreter (too large, over budget, or failed).
    pub fallbacks: usize,
    /// Bytes of machine code.
    pub code_bytes: usize,
}

#[derive(Default)]
struct Counters {
    compiled: AtomicUsize,
    compiled_in_background: AtomicUsize,
    resolver_entries: AtomicUsize,
    fallbacks: AtomicUsize,
    code_bytes: AtomicUsize,
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
    /// Per segment: `UNCOMPILED`, `INTERPRET` or the address of its compiled function. Written
    /// under the compile lock with release ordering, read lock-free with acquire.
    slots: Box<[AtomicUsize]>,
    jit: Mutex<JitState>,
    all_compiled: AtomicBool,
    counters: Counters,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Caller,
    Background,
}

impl Contract {
    fn new(analysis: Arc<CodeAnalysis>) -> Self {
        let n = analysis.segment_starts().len();
        Self {
            analysis,
            slots: (0..n).map(|_| AtomicUsize::new(UNCOMPILED)).collect(),
            jit: Mutex::new(JitState {
                compiler: None,
                broken: false,
            }),
            all_compiled: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    pub(crate) fn analysis(&self) -> &CodeAnalysis {
        &self.analysis
    }

    fn lock(&self) -> MutexGuard<'_, JitState> {
        self.jit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats(&self) -> SegmentStats {
        let c = &self.counters;
        SegmentStats {
            segments: self.slots.len(),
            compiled: c.compiled.load(Relaxed),
            compiled_in_background: c.compiled_in_background.load(Relaxed),
            resolver_entries: c.resolver_entries.load(Relaxed),
            fallbacks: c.fallbacks.load(Relaxed),
            code_bytes: c.code_bytes.load(Relaxed),
        }
    }

    /// Multipass: compiles every segment not compiled yet, until `deadline`; what is left is
    /// compiled lazily and in the background.
    pub(crate) fn compile_all(self: &Arc<Self>, deadline: Instant) {
        if self.all_compiled.load(Acquire) {
            return;
        }
        let mut state = self.lock();
        if !self.all_compiled.load(Relaxed) {
            let done = self.compile(&mut state, 0..self.slots.len(), Some(deadline), Who::Caller);
            self.all_compiled.store(true, Release);
            drop(state);
            if !done {
                tracing::debug!("dtvm-jit: compile budget exhausted, rest compiled on demand");
                background::enqueue(self);
            }
        }
    }

    /// Compiles the uncompiled segments among `indices` and publishes them, stopping at
    /// `deadline`. Returns whether every index was handled.
    fn compile(
        &self,
        state: &mut JitState,
        indices: impl IntoIterator<Item = usize>,
        deadline: Option<Instant>,
        who: Who,
    ) -> bool {
        if state.compiler.is_none() && !state.broken {
            match Compiler::new() {
                Ok(c) => state.compiler = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "dtvm-jit: no compiler, contract runs interpreted");
                    state.broken = true;
                }
            }
        }
        let starts = self.analysis.segment_starts();
        let mut defined = Vec::new();
        let mut finished = true;
        for idx in indices {
            if self.slots[idx].load(Relaxed) != UNCOMPILED {
                continue;
            }
            let Some(compiler) = state.compiler.as_mut() else {
                self.refuse(idx);
                continue;
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                finished = false;
                break;
            }
            let start = starts[idx] as usize;
            let end = starts.get(idx + 1).map(|&s| s as usize);
            match compiler.define(&self.analysis, start, end) {
                Ok((id, size)) => defined.push((idx, id, size)),
                Err(CompileError::TooLarge) => self.refuse(idx),
                Err(e) => {
                    tracing::warn!(segment = idx, error = %e, "dtvm-jit: segment runs interpreted");
                    self.refuse(idx);
                }
            }
        }
        if defined.is_empty() {
            return finished;
        }
        let compiler = state.compiler.as_mut().expect("defined implies a compiler");
        if let Err(e) = compiler.finalize() {
            tracing::warn!(error = %e, "dtvm-jit: finalize failed, segments run interpreted");
            for (idx, _, _) in defined {
                self.refuse(idx);
            }
            return finished;
        }
        let c = &self.counters;
        for (idx, id, size) in defined {
            let f = compiler.function(id);
            self.slots[idx].store(f as usize, Release);
            c.compiled.fetch_add(1, Relaxed);
            if who == Who::Background {
                c.compiled_in_background.fetch_add(1, Relaxed);
            }
            c.code_bytes.fetch_add(size, Relaxed);
            CODE_BYTES.fetch_add(size, Relaxed);
        }
        finished
    }

    fn refuse(&self, idx: usize) {
        self.slots[idx].store(INTERPRET, Release);
        self.counters.fallbacks.fetch_add(1, Relaxed);
    }

    /// A caller entered an uncompiled segment. Compiles it unless another thread holds the
    /// compile lock or the call's compile budget is spent, in which cases the caller runs it in
    /// the interpreter this time.
    fn resolve(&self, idx: usize, deadline: Instant) -> usize {
        self.counters.resolver_entries.fetch_add(1, Relaxed);
        if Instant::now() >= deadline {
            return INTERPRET;
        }
        let mut state = match self.jit.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return INTERPRET,
        };
        self.compile(&mut state, [idx], Some(deadline), Who::Caller);
        self.slots[idx].load(Acquire)
    }

    /// Runs the frame to its end, segment by segment, compiling on the way until `deadline`.
    pub(crate) fn run(&self, frame: &mut Frame, deadline: Instant) -> Status {
        let analysis = &*self.analysis;
        let starts = analysis.segment_starts();
        let mut pc = 0usize;
        let mut idx = 0usize;
        loop {
            let mut slot = self.slots[idx].load(Acquire);
            if slot == UNCOMPILED {
                slot = self.resolve(idx, deadline);
            }
            let next = if slot == UNCOMPILED || slot == INTERPRET {
                match run_segment(frame, pc) {
                    Exit::Done(status) => return status,
                    Exit::Segment(next) => next,
                }
            } else {
                // SAFETY: a slot holding neither marker holds the address of a finalized
                // function of this contract's module with the `SegmentFn` ABI; the module lives
                // as long as `self`, which the caller borrows for the whole run. The frame's
                // stack bounds at the segment's start are those `run_segment` would see.
                let ret = unsafe {
                    let f = std::mem::transmute::<usize, SegmentFn>(slot);
                    f(frame)
                };
                if ret & DONE != 0 {
                    return ret as u32 as Status;
                }
                ret as usize
            };
            if !analysis.is_jumpdest(next) {
                return EVMC_BAD_JUMP_DESTINATION;
            }
            idx = starts
                .binary_search(&(next as u32))
                .expect("every JUMPDEST starts a segment");
            pc = next;
        }
    }

    /// Background slice: compiles uncompiled segments for a while. `false` when none are left.
    fn compile_in_background(&self) -> bool {
        let mut state = self.lock();
        let deadline = Instant::now() + BACKGROUND_SLICE;
        !self.compile(
            &mut state,
            0..self.slots.len(),
            Some(deadline),
            Who::Background,
        )
    }
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
pub(crate) fn contract(code: &[u8], rev: Revision, lazy: bool) -> Arc<Contract> {
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
    let contract = Arc::new(Contract::new(analysis));
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
            usize::MAX => std::env::var("DTVM_EVM_LAZY_BG_THREADS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1),
            n => n,
        }
    }

    pub(super) fn enqueue(contract: &Arc<Contract>) {
        let wanted = wanted();
        if wanted == 0 {
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
                    break;
                }
                drop(contract);
                std::thread::yield_now();
            }
        }
    }
}
