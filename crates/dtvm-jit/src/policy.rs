//! The compile policy's constants and estimates: how code is cut into regions, what a region
//! is estimated to cost, when a segment is hot, and the compile budgets per call and per
//! contract. Pure functions and constants; the contracts (`contract.rs`, `compile.rs`) apply
//! them.

use crate::segments::Segments;
use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Compile time one call may spend (multipass up front plus lazy resolutions). Segments left
/// when it runs out are interpreted in that call and compiled by later calls or in the
/// background, so no contract, however adversarial, stalls a call for long.
pub(crate) const CALL_COMPILE_BUDGET: Duration = Duration::from_millis(50);
/// How long a background thread keeps the compile lock before letting callers in (it finishes
/// the region it is in: a few milliseconds, or ~100 ms for a segment only it compiles).
pub(crate) const BACKGROUND_SLICE: Duration = Duration::from_millis(2);

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
/// (which may be starved on a busy machine: it runs at a low priority), and a contract that
/// spent its [`CONTRACT_COMPILE_BUDGET_NANOS`] compiles it at all. A one-instruction segment is
/// hot after 941 entries: interpreted through the stubs, an entry costs ~20 ns more than compiled
/// code, so by then the caller has lost about what compiling it costs (~20 us). Bigger segments
/// are hot sooner in entries (blake2b_huff's 4,400-instruction segments, run once per call,
/// after 4 calls), which favours code that is run over the ski-rental optimum: their compile
/// cost grows faster than their size.
pub(crate) const HOT_WORK: u32 = 16_000;
/// What entering a segment costs the interpreter stub, in instructions.
pub(crate) const ENTRY_WORK: u32 = 16;

/// Compile CPU time a contract gets before its code has proved hot: multipass (up front and in
/// later calls) and the background compilers compile its regions until the next one would go
/// over this; the rest runs interpreted, and a segment is compiled (with its region) only once
/// hot (see [`HOT_WORK`]). This bounds what any contract, however adversarial, costs to
/// compile without being used: 24 KB of compile bombs would take 0.3-0.7 s of compile CPU each,
/// and even ordinary code costs 10-20 us per byte (snailtracer: 0.3 s). Below the 100 ms the
/// multipass issue allows, with room for an estimate that is short by a region.
/// Builds with debug assertions run Cranelift's verifier and less optimised code (the test
/// profile is opt-level 1): compiling is slower there.
pub(crate) const CONTRACT_COMPILE_BUDGET_NANOS: u64 = if cfg!(debug_assertions) {
    2 * 80_000_000
} else {
    80_000_000
};

/// Recent compile cost in nanoseconds per unit of [`region_weight`], a running average: a call
/// does not start a region it cannot finish within its budget (unless it has compiled nothing
/// yet, so that every call makes progress).
static COMPILE_NS_PER_WEIGHT: AtomicU64 = AtomicU64::new(10_000);

/// Compile cost grows with instructions and, apart from those, with blocks (segments); within
/// a segment, faster than linearly (register allocation of long straight-line code: a segment of
/// 2,000 arithmetic instructions costs ~30 us per instruction, one of 250 ~10 us).
pub(crate) fn region_weight(segments: &Segments, region: &Range<usize>) -> u64 {
    region
        .clone()
        .map(|s| {
            let ops = segments.ops(s) as u64;
            ops + 1 + ops * ops / 1024
        })
        .sum()
}

/// Estimated compile time of `region`, in nanoseconds.
pub(crate) fn estimate(segments: &Segments, region: &Range<usize>) -> u64 {
    region_weight(segments, region).saturating_mul(COMPILE_NS_PER_WEIGHT.load(Relaxed))
}

/// Folds a measured compile (`took` nanoseconds for `weight`) into the running estimate.
pub(crate) fn observe(took: u64, weight: u64) {
    let per_weight = took / weight.max(1);
    let average = COMPILE_NS_PER_WEIGHT.load(Relaxed);
    COMPILE_NS_PER_WEIGHT.store((average * 3 + per_weight) / 4, Relaxed);
}

/// The entries after which an uncompiled segment of `ops` instructions is hot.
pub(crate) fn hot_after(ops: usize) -> u32 {
    let work = (ops.min(u32::MAX as usize) as u32).saturating_add(ENTRY_WORK);
    (HOT_WORK / work).max(1)
}

/// Consecutive segments of at most [`REGION_OPS`] instructions and [`REGION_SEGMENTS`] segments.
pub(crate) fn plan_regions(segments: &Segments) -> Vec<Range<usize>> {
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

/// CPU time of the calling thread: compile cost that does not count the time a (low
/// priority) background thread spent preempted. Falls back to 0 where unavailable.
pub(crate) fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux and the BSDs
    // define; on failure `ts` stays zero.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
