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
    /// Tiered: gas a contract's interpreted calls must use (with decay) before it is compiled,
    /// on top of [`Setting::HotGasPerCodeByte`] per byte of its code.
    HotGas(u64),
    /// Tiered: gas per byte of a contract's code its interpreted calls must use (with decay),
    /// on top of [`Setting::HotGas`], before it is compiled.
    HotGasPerCodeByte(u64),
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
/// Default of [`Setting::HotGas`]: about a millisecond of interpretation, the least a contract
/// must have run, however small, since compiling anything costs about that much (a region's
/// fixed cost). Heat counts within a few [`HEAT_HALF_LIFE_SECS`], so code run once or rarely
/// (most code a client sees) is never compiled.
pub const DEFAULT_HOT_GAS: u64 = 2_000_000;
/// Default of [`Setting::HotGasPerCodeByte`]. Compiling costs 9-20 us per byte of bytecode
/// (`policy.rs`; 8 KB generated contracts: 9 us), while the interpreter runs about 2,000 gas
/// per us (`dtvm bench` main/ medians), so a byte costs about as much to compile as 20,000-40,000
/// gas costs to interpret. Promoting at 10,000 gas per byte, about half of that because calls
/// reach only part of a contract and only that part is compiled, is the ski-rental rule: a
/// contract is compiled once the interpreter has cost it about what compiling it will, so neither
/// choice ever costs much more than twice the better one. A fixed threshold instead compiles a
/// 24 KB contract that has run for 1 ms, a 300 ms compile that its calls may never earn back.
pub const DEFAULT_HOT_GAS_PER_CODE_BYTE: u64 = 10_000;
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
static HOT_GAS_PER_CODE_BYTE: AtomicU64 = AtomicU64::new(DEFAULT_HOT_GAS_PER_CODE_BYTE);
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
        Setting::HotGasPerCodeByte(n) => HOT_GAS_PER_CODE_BYTE.store(n, Relaxed),
        Setting::MaxPending(n) => MAX_PENDING.store(n, Relaxed),
        Setting::MaxCodeSize(n) => MAX_CODE_SIZE.store(n, Relaxed),
        Setting::IdleEvictSecs(n) => IDLE_EVICT_SECS.store(n, Relaxed),
        Setting::CompileNow(b) => COMPILE_NOW.store(b, Relaxed),
    }
}

pub(crate) fn cache_limit_bytes() -> usize {
    CACHE_LIMIT_BYTES.load(Relaxed)
}
/// The heat at which tiered mode compiles a contract of `code_len` bytes.
pub(crate) fn hot_gas(code_len: usize) -> u64 {
    HOT_GAS_PER_CODE_BYTE
        .load(Relaxed)
        .saturating_mul(code_len as u64)
        .saturating_add(HOT_GAS.load(Relaxed))
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
