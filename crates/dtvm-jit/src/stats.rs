//! Process-wide JIT counters, readable through [`tier_stats`]: promotions, compile time,
//! evictions and what the code cache holds. Counters only grow (except the gauges: cache bytes,
//! cached contracts, pending jobs), and are updated with relaxed atomics: a snapshot is
//! consistent per field, not across fields.

use crate::{background, code_cache};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Contracts tiered mode promoted to the compilers.
pub(crate) static PROMOTIONS: AtomicU64 = AtomicU64::new(0);
/// Promotions put off because the pending-job cap was reached (retried by later calls).
pub(crate) static PROMOTIONS_DEFERRED: AtomicU64 = AtomicU64::new(0);
/// CPU time spent compiling, all threads and modes, in nanoseconds.
pub(crate) static COMPILE_NANOS: AtomicU64 = AtomicU64::new(0);
/// Regions and segments compiled (functions defined), all modes.
pub(crate) static FUNCTIONS_COMPILED: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the JIT's process-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Contracts tiered mode found hot and handed to the compilers.
    pub promotions: u64,
    /// Promotions put off because the pending-job cap was reached.
    pub promotions_deferred: u64,
    /// CPU time spent compiling (callers and background threads), in nanoseconds.
    pub compile_nanos: u64,
    /// Functions (regions or single segments) compiled.
    pub functions_compiled: u64,
    /// Contracts evicted from the code cache (by the limit or the idle time).
    pub evictions: u64,
    /// Bytes every live contract keeps: tables, analyses, mapped code, module state.
    pub cache_bytes: usize,
    /// Contracts in the code cache.
    pub cached_contracts: usize,
    /// Contracts waiting for a background compiler.
    pub pending_jobs: usize,
}

/// The JIT's counters now.
pub fn tier_stats() -> TierStats {
    TierStats {
        promotions: PROMOTIONS.load(Relaxed),
        promotions_deferred: PROMOTIONS_DEFERRED.load(Relaxed),
        compile_nanos: COMPILE_NANOS.load(Relaxed),
        functions_compiled: FUNCTIONS_COMPILED.load(Relaxed),
        evictions: code_cache::evictions(),
        cache_bytes: code_cache::live_bytes(),
        cached_contracts: code_cache::cached_contracts(),
        pending_jobs: background::pending(),
    }
}
