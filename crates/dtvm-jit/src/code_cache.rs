//! The process-wide code cache: compiled contracts per (code, revision), shared by all threads,
//! bounded by the memory they keep.
//!
//! Invariants:
//! * The live total ([`live_bytes`]) is the sum of [`Contract::bytes`] over every contract
//!   alive, cached or only held by running frames: each contract charges it from creation to
//!   drop (tables and analysis at creation, code pages as its module maps them, module state
//!   per function defined).
//! * When the total is over the limit ([`crate::Setting::CacheLimitBytes`]), the least recently
//!   used contracts leave the cache until it is 7/8 of the limit; contracts unused for the idle
//!   time leave it too. A contract that leaves is freed when the last frame running it ends
//!   (each frame holds an `Arc`), so eviction never frees code in use.
//! * Freed machine code is unmapped; after a large eviction the allocator is asked to return
//!   free heap to the OS (glibc keeps it otherwise).
//! * Each thread remembers the contract its last lookup found ([`recent`], weakly: see
//!   `dtvm_core::recent`). It may return a contract evicted while a frame still runs it; that
//!   contract is freed when the last such call ends.

use crate::compiler::Effort;
use crate::config;
use crate::contract::{Contract, SegmentStats};
use crate::stubs::Stubs;
use dtvm_core::analysis::analysis_cache;
use dtvm_core::recent::Recent;
use dtvm_core::Revision;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, RwLock};

pub(crate) type Key = (u128, Revision);

static CACHE: once_cell::sync::Lazy<RwLock<HashMap<Key, Arc<Contract>>>> =
    once_cell::sync::Lazy::new(Default::default);
/// Bytes of every live contract (see the invariants).
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
/// Contracts evicted, over the process' life.
static EVICTIONS: AtomicU64 = AtomicU64::new(0);
/// When the next idle sweep is due ([`now_ms`]).
static NEXT_IDLE_SWEEP: AtomicU64 = AtomicU64::new(0);
/// One thread evicts at a time; the others go on.
static EVICTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread's last found contract (see the invariants).
    static RECENT: RefCell<Recent<Contract>> = const { RefCell::new(Recent::EMPTY) };
}

/// Freed bytes after which the allocator is asked to give free heap back.
const TRIM_AFTER_BYTES: usize = 16 << 20;

/// A monotonic clock in milliseconds (the clock of `last_used` and of tiered heat windows),
/// read at every call. On Linux the kernel's coarse clock: its tick (1-4 ms) is finer than any
/// use here needs, and reading it costs a memory load instead of a timer read.
pub(crate) fn now_ms() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC_COARSE exists on every
        // Linux since 2.6.32.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::time::Instant;
        static START: once_cell::sync::Lazy<Instant> = once_cell::sync::Lazy::new(Instant::now);
        START.elapsed().as_millis() as u64
    }
}

/// Adds `delta` bytes to the live total.
pub(crate) fn charge(delta: isize) {
    LIVE_BYTES.fetch_add(delta as i64, Relaxed);
}

/// Bytes every live contract keeps (see the invariants).
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Relaxed).max(0) as usize
}

/// Contracts evicted so far.
pub(crate) fn evictions() -> u64 {
    EVICTIONS.load(Relaxed)
}

pub(crate) fn key(code: &[u8], rev: Revision) -> Key {
    (dtvm_core::analysis::code_hash(code), rev)
}

/// The contract this thread's last lookup found, if `code` at `rev` is its code (see
/// [`dtvm_core::recent`]), marked as used now. A hit costs a byte comparison instead of hashing
/// the code and locking the cache: a fifth of a short call's time in compiled code.
#[inline]
pub(crate) fn recent(code: &[u8], rev: Revision) -> Option<Arc<Contract>> {
    let contract =
        RECENT.with(|memo| Recent::find(memo, code, rev, |c: &Contract| c.analysis().code()))?;
    contract.last_used.store(now_ms(), Relaxed);
    Some(contract)
}

/// Makes `contract`, found for `code` at `rev`, this thread's recent one.
fn remember(code: &[u8], rev: Revision, contract: &Arc<Contract>) {
    RECENT.with(|memo| Recent::remember(memo, code, rev, contract));
}

/// The cached contract for `code` under `key`, marked as used now.
pub(crate) fn lookup(key: &Key, code: &[u8]) -> Option<Arc<Contract>> {
    let cache = CACHE.read().unwrap_or_else(|e| e.into_inner());
    let contract = cache
        .get(key)
        .filter(|c| c.analysis().code() == code)?
        .clone();
    drop(cache);
    contract.last_used.store(now_ms(), Relaxed);
    remember(code, key.1, &contract);
    Some(contract)
}

/// The contract for `code` at `rev`, created (uncompiled) on first use, its code to be compiled
/// with `effort`; whether it was created.
// Out of line: creation and eviction (dropping a contract frees its module) have large frames.
#[inline(never)]
pub(crate) fn contract(
    key: &Key,
    code: &[u8],
    rev: Revision,
    stubs: &'static Stubs,
    effort: Effort,
) -> (Arc<Contract>, bool) {
    if let Some(c) = lookup(key, code) {
        return (c, false);
    }
    let analysis = analysis_cache().get(code, rev);
    let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = cache.get(key).filter(|c| c.analysis().code() == code) {
        let c = c.clone();
        drop(cache);
        remember(code, rev, &c);
        return (c, false);
    }
    let contract = Arc::new(Contract::new(analysis, stubs, effort));
    // Same hash, different code: the newer one takes the slot.
    let old = cache.insert(*key, contract.clone());
    drop(cache);
    drop(old);
    remember(code, rev, &contract);
    maintain();
    (contract, true)
}

/// Evicts what the limit and the idle time say must go (see the invariants). Cheap when there
/// is nothing to do: called at every insertion and after background compilations.
pub(crate) fn maintain() {
    let limit = config::cache_limit_bytes();
    let idle_ms = config::idle_evict_secs().saturating_mul(1000);
    let now = now_ms();
    let over = live_bytes() > limit;
    let idle_due = idle_ms > 0 && now >= NEXT_IDLE_SWEEP.load(Relaxed);
    if !over && !idle_due || EVICTING.swap(true, Acquire) {
        return;
    }
    let mut victims = Vec::new();
    {
        let mut cache = CACHE.write().unwrap_or_else(|e| e.into_inner());
        if idle_due {
            NEXT_IDLE_SWEEP.store(now + (idle_ms / 4).max(1000), Relaxed);
            cache.retain(|_, c| {
                let idle = now.saturating_sub(c.last_used.load(Relaxed)) >= idle_ms;
                if idle {
                    victims.push(c.clone());
                }
                !idle
            });
        }
        let freed: usize = victims.iter().map(|c| c.bytes()).sum();
        let live = live_bytes().saturating_sub(freed);
        if live > limit {
            let target = limit - limit / 8;
            let mut by_use: Vec<(u64, Key)> = cache
                .iter()
                .map(|(k, c)| (c.last_used.load(Relaxed), *k))
                .collect();
            by_use.sort_unstable();
            let mut freed = 0;
            for (_, key) in by_use {
                if live.saturating_sub(freed) <= target {
                    break;
                }
                if let Some(c) = cache.remove(&key) {
                    freed += c.bytes();
                    victims.push(c);
                }
            }
        }
    }
    EVICTING.store(false, Release);
    if victims.is_empty() {
        return;
    }
    let count = victims.len();
    let freed: usize = victims.iter().map(|c| c.bytes()).sum();
    EVICTIONS.fetch_add(count as u64, Relaxed);
    // Outside the lock: dropping the last reference frees a contract's module.
    drop(victims);
    tracing::debug!(
        evicted = count,
        freed_bytes = freed,
        live_bytes = live_bytes(),
        limit,
        "dtvm-jit: code cache eviction"
    );
    if freed >= TRIM_AFTER_BYTES {
        trim();
    }
}

/// Asks the allocator to return free heap pages to the OS.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Compilation counters of the cached contract for `code` at `rev`.
pub fn segment_stats(code: &[u8], rev: Revision) -> Option<SegmentStats> {
    let cache = CACHE.read().unwrap_or_else(|e| e.into_inner());
    cache
        .get(&key(code, rev))
        .filter(|c| c.analysis().code() == code)
        .map(|c| c.stats())
}

/// Number of contracts in the code cache.
pub fn cached_contracts() -> usize {
    CACHE.read().unwrap_or_else(|e| e.into_inner()).len()
}

/// Drops every cached contract (code in use stays alive until its frames end).
pub(crate) fn clear_cache() {
    let old = std::mem::take(&mut *CACHE.write().unwrap_or_else(|e| e.into_inner()));
    let freed: usize = old.values().map(|c| c.bytes()).sum();
    drop(old);
    if freed >= TRIM_AFTER_BYTES {
        trim();
    }
}
