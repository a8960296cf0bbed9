//! The background compilers: threads at a low scheduling priority that compile queued
//! contracts slice by slice, never holding a caller up (callers only `try_lock` a contract's
//! compile lock and interpret when it is taken).
//!
//! Invariants: a contract is in the queue at most once (its `queued` flag); the queue holds
//! `Weak` references, upgraded per slice, so an evicted contract is not kept alive by its
//! compilation; [`pending`] counts the queued contracts, which tiered mode caps.

use crate::code_cache;
use crate::contract::Contract;
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Condvar, Mutex, Weak};

struct Queue {
    jobs: Mutex<VecDeque<Weak<Contract>>>,
    ready: Condvar,
}

static QUEUE: Queue = Queue {
    jobs: Mutex::new(VecDeque::new()),
    ready: Condvar::new(),
};
/// Contracts in the queue.
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// Requested thread count; `usize::MAX` = not set (use `DTVM_EVM_LAZY_BG_THREADS`).
static REQUESTED: AtomicUsize = AtomicUsize::new(usize::MAX);
static STARTED: Mutex<usize> = Mutex::new(0);

/// Sets the number of background compiler threads (0 = none). Threads already started keep
/// running; call this before the first JIT execution to take full effect.
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
pub(crate) fn enabled() -> bool {
    wanted() > 0
}

/// Contracts waiting for a background compiler.
pub(crate) fn pending() -> usize {
    PENDING.load(Relaxed)
}

/// Queues `contract` for the background compilers (once: it stays until nothing is left to
/// compile). Returns whether it is queued (now or already).
pub(crate) fn enqueue(contract: &Arc<Contract>) -> bool {
    let wanted = wanted();
    if wanted == 0 {
        return false;
    }
    if contract.queued.swap(true, SeqCst) {
        return true;
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
            contract.queued.store(false, SeqCst);
            return false;
        }
    }
    PENDING.fetch_add(1, Relaxed);
    QUEUE
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push_back(Arc::downgrade(contract));
    QUEUE.ready.notify_one();
    true
}

/// The compiler threads' nice value: below execution, so compilation yields to it, but not the
/// lowest: tiered callers never compile, and at nice 19 a machine busy executing (a client on
/// all its cores) would starve the compilers and hot code would never get native.
const NICE: libc::c_int = 10;

fn worker() {
    // SAFETY: plain syscall on the calling thread (on Linux the nice value is per thread).
    #[cfg(target_os = "linux")]
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
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
        PENDING.fetch_sub(1, Relaxed);
        // Upgrade per slice, so an evicted contract is not kept alive by its compilation.
        while let Some(contract) = job.upgrade() {
            if !contract.compile_in_background() {
                // Done; a later request re-queues it. One that raced with the last slice
                // finds `queued` still set, so look again after clearing it.
                contract.queued.store(false, SeqCst);
                if contract.has_requests() {
                    enqueue(&contract);
                }
                break;
            }
            drop(contract);
            std::thread::yield_now();
        }
        // What it compiled counts against the cache's limit.
        code_cache::maintain();
    }
}
