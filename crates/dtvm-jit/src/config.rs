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
    /// Tiered: microseconds a contract's interpreted calls must have run (with decay) before it
    /// is compiled, on top of [`Setting::HotCompilePercent`] of its estimated compile time.
    HotMicros(u64),
    /// Tiered: interpreted time a contract must have run (with decay) before it is compiled, in
    /// percent of what compiling it is estimated to cost, on top of [`Setting::HotMicros`].
    HotCompilePercent(u64),
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
/// Default of [`Setting::HotMicros`]: the least a contract must have run, however small, since
/// compiling anything costs about a millisecond (a region's fixed cost). Heat counts within a few
/// [`HEAT_HALF_LIFE_SECS`], so code run once or rarely (most code a client sees) is never
/// compiled.
pub const DEFAULT_HOT_MICROS: u64 = 1_000;
/// Default of [`Setting::HotCompilePercent`]: the ski-rental rule. A contract is compiled once
/// interpreting it has cost about what compiling it will, so whatever its calls do next, tiered
/// mode never spends much more than twice what the better of the two choices would have (and a
/// contract whose calls stop before that costs exactly the interpreter's time). Heat is time, not
/// gas: gas prices storage and calls far above their cost in the interpreter (an SSTORE to a new
/// slot is 22,100 gas and well under a microsecond of interpretation), so gas-weighted heat
/// compiled storage-heavy code ten times too early.
pub const DEFAULT_HOT_COMPILE_PERCENT: u64 = 100;
/// What compiling a contract is estimated to cost per byte of its code: 9-20 us (`policy.rs`;
/// 8 KB generated contracts: 9 us, snailtracer 17-19 us). Capped at the compile budget a
/// contract gets before its code has proved hot, beyond which only hot segments are compiled.
const COMPILE_NANOS_PER_CODE_BYTE: u64 = 10_000;
/// Default of [`Setting::MaxPending`].
pub const DEFAULT_MAX_PENDING: usize = 1024;
/// Default of [`Setting::MaxCodeSize`]: twice EIP-170's 24,576 bytes (EIP-7907 raises it).
pub const DEFAULT_MAX_CODE_SIZE: usize = 2 * 24_576;
/// Default of [`Setting::IdleEvictSecs`].
pub const DEFAULT_IDLE_EVICT_SECS: u64 = 3_600;
/// Tiered heat halves every this many seconds, so old heat fades.
pub const HEAT_HALF_LIFE_SECS: u64 = 10;

static CACHE_LIMIT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_CACHE_LIMIT_BYTES);
static HOT_MICROS: AtomicU64 = AtomicU64::new(DEFAULT_HOT_MICROS);
static HOT_COMPILE_PERCENT: AtomicU64 = AtomicU64::new(DEFAULT_HOT_COMPILE_PERCENT);
static MAX_PENDING: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_PENDING);
static MAX_CODE_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_CODE_SIZE);
static IDLE_EVICT_SECS: AtomicU64 = AtomicU64::new(DEFAULT_IDLE_EVICT_SECS);
static COMPILE_NOW: AtomicBool = AtomicBool::new(false);

/// Applies one setting to the whole process.
pub fn set(setting: Setting) {
    match setting {
        Setting::CacheLimitBytes(n) => CACHE_LIMIT_BYTES.store(n, Relaxed),
        Setting::Threads(n) => crate::background::set_background_threads(n),
        Setting::HotMicros(n) => HOT_MICROS.store(n, Relaxed),
        Setting::HotCompilePercent(n) => HOT_COMPILE_PERCENT.store(n, Relaxed),
        Setting::MaxPending(n) => MAX_PENDING.store(n, Relaxed),
        Setting::MaxCodeSize(n) => MAX_CODE_SIZE.store(n, Relaxed),
        Setting::IdleEvictSecs(n) => IDLE_EVICT_SECS.store(n, Relaxed),
        Setting::CompileNow(b) => COMPILE_NOW.store(b, Relaxed),
    }
}

pub(crate) fn cache_limit_bytes() -> usize {
    CACHE_LIMIT_BYTES.load(Relaxed)
}
/// The heat (interpreted nanoseconds) at which tiered mode compiles a contract of `code_len`
/// bytes.
pub(crate) fn hot_nanos(code_len: usize) -> u64 {
    let compile = (code_len as u64)
        .saturating_mul(COMPILE_NANOS_PER_CODE_BYTE)
        .min(crate::policy::CONTRACT_COMPILE_BUDGET_NANOS);
    let payback = compile.saturating_mul(HOT_COMPILE_PERCENT.load(Relaxed)) / 100;
    HOT_MICROS
        .load(Relaxed)
        .saturating_mul(1_000)
        .saturating_add(payback)
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
