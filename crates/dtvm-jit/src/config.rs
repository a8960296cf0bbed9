//! Process-wide settings of the JIT: the code cache's memory limit, tiered mode's promotion
//! rules and the background compilers. The code cache and the compilers are shared by every VM
//! in the process, so these are too: the last setting wins, and changes apply to later
//! decisions (nothing already cached or queued is undone, except that a lower cache limit
//! evicts at the next insertion).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

/// One setting, as a host gives it (see [`set`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Bytes every cached contract keeps, together (see `code_cache.rs` for what is counted).
    CacheLimitBytes(usize),
    /// Background compiler threads (0 = none: lazy compiles in the caller, tiered never
    /// promotes unless [`Setting::CompileNow`]).
    Threads(usize),
    /// Tiered: gas a contract's interpreted calls must use (with decay) before it is compiled.
    HotGas(u64),
    /// Tiered: contracts waiting for a background compiler at most; a promotion beyond that is
    /// retried by a later call.
    MaxPending(usize),
    /// Tiered: longer code is never compiled.
    MaxCodeSize(usize),
    /// Contracts unused for this many seconds leave the cache (0 = never).
    IdleEvictSecs(u64),
    /// Tiered, for debugging: a contract is compiled in the calling thread the moment it gets
    /// hot, and its hot segments later too (calls then wait for compilation).
    CompileNow(bool),
}

/// Default of [`Setting::CacheLimitBytes`].
pub const DEFAULT_CACHE_LIMIT_BYTES: usize = 256 << 20;
/// Default of [`Setting::HotGas`]: a few milliseconds of interpretation. Compiling what such a
/// contract runs costs about that much, and a contract is compiled only once it has been
/// interpreted this much within a few [`HEAT_HALF_LIFE_SECS`], so code run once or rarely
/// (most code a client sees) never is.
pub const DEFAULT_HOT_GAS: u64 = 2_000_000;
/// Default of [`Setting::MaxPending`].
pub const DEFAULT_MAX_PENDING: usize = 1024;
/// Default of [`Setting::MaxCodeSize`]: twice EIP-170's 24,576 bytes (EIP-7907 raises it).
pub const DEFAULT_MAX_CODE_SIZE: usize = 2 * 24_576;
/// Default of [`Setting::IdleEvictSecs`].
pub const DEFAULT_IDLE_EVICT_SECS: u64 = 3_600;
/// Tiered heat halves every this many seconds, so old heat fades.
pub const HEAT_HALF_LIFE_SECS: u64 = 10;

static CACHE_LIMIT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_CACHE_LIMIT_BYTES);
static HOT_GAS: AtomicU64 = AtomicU64::new(DEFAULT_HOT_GAS);
static MAX_PENDING: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_PENDING);
static MAX_CODE_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_CODE_SIZE);
static IDLE_EVICT_SECS: AtomicU64 = AtomicU64::new(DEFAULT_IDLE_EVICT_SECS);
static COMPILE_NOW: AtomicBool = AtomicBool::new(false);

/// Applies one setting to the whole process.
pub fn set(setting: Setting) {
    match setting {
        Setting::CacheLimitBytes(n) => CACHE_LIMIT_BYTES.store(n, Relaxed),
        Setting::Threads(n) => crate::background::set_background_threads(n),
        Setting::HotGas(n) => HOT_GAS.store(n, Relaxed),
        Setting::MaxPending(n) => MAX_PENDING.store(n, Relaxed),
        Setting::MaxCodeSize(n) => MAX_CODE_SIZE.store(n, Relaxed),
        Setting::IdleEvictSecs(n) => IDLE_EVICT_SECS.store(n, Relaxed),
        Setting::CompileNow(b) => COMPILE_NOW.store(b, Relaxed),
    }
}

pub(crate) fn cache_limit_bytes() -> usize {
    CACHE_LIMIT_BYTES.load(Relaxed)
}
pub(crate) fn hot_gas() -> u64 {
    HOT_GAS.load(Relaxed)
}
pub(crate) fn max_pending() -> usize {
    MAX_PENDING.load(Relaxed)
}
pub(crate) fn max_code_size() -> usize {
    MAX_CODE_SIZE.load(Relaxed)
}
pub(crate) fn idle_evict_secs() -> u64 {
    IDLE_EVICT_SECS.load(Relaxed)
}
pub(crate) fn compile_now() -> bool {
    COMPILE_NOW.load(Relaxed)
}
