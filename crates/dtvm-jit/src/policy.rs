//! The compile policy's constants and estimates: how code is cut into regions, what a region
//! is estimated to cost, when a segment is hot, and the compile budgets per call and per
//! contract. Pure functions and constants; the contracts (`contract.rs`, `compile.rs`) apply
//! them.

use crate::segments::Segments;
use dtvm_core::analysis::CodeAnalysis;
use std::cell::Cell;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Compile time one call may spend (multipass up front plus lazy resolutions). Segments left
/// when it runs out are interpreted in that call and compiled by later calls or in the
/// background, so no contract, however adversarial, stalls a call for long.
pub(crate) const CALL_COMPILE_BUDGET: Duration = Duration::from_millis(50);

/// One call's [`CALL_COMPILE_BUDGET`], counted from the first time the call needs its deadline
/// (to compile, or to wait for the compile lock). Most calls find their code compiled and never
/// read the clock for it: two clock reads were 5% of a 1 µs call (swap_math in evmone-bench).
pub(crate) struct CallBudget {
    budget: Duration,
    deadline: Cell<Option<Instant>>,
}

impl CallBudget {
    pub(crate) fn new() -> Self {
        Self::of(CALL_COMPILE_BUDGET)
    }

    /// A budget other than a call's (tiered's compile-now switch).
    pub(crate) fn of(budget: Duration) -> Self {
        Self {
            budget,
            deadline: Cell::new(None),
        }
    }

    /// When the call must stop compiling.
    pub(crate) fn deadline(&self) -> Instant {
        match self.deadline.get() {
            Some(deadline) => deadline,
            None => {
                let deadline = Instant::now() + self.budget;
                self.deadline.set(Some(deadline));
                deadline
            }
        }
    }
}
/// How long a background thread keeps the compile lock before letting callers in (it finishes
/// the region it is in: a few milliseconds, or ~100 ms for a segment only it compiles).
pub(crate) const BACKGROUND_SLICE: Duration = Duration::from_millis(2);

/// Instructions per region: register allocation cost grows faster than linearly with function
/// size, so regions stay small. Measured on main/ (release, two runs each): 512 and 1,024 give the
/// same steady-state speed (multipass/interpreter 0.34), but compile cost per byte of
/// snailtracer is 17-19 us at 512 against 27 us at 1,024 (and 28 at 2,048), where a 1.3 KB
/// contract costs ~10 us: only 512 keeps big contracts within twice the small ones' cost.
const REGION_OPS: usize = 512;
/// Segments per region: each is a block (and, where the region can be entered there, a
/// `br_table` case: `plan_entries`), and a region of thousands of tiny segments (JUMPDEST runs)
/// would take far longer to compile than its instruction count says.
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
pub(crate) fn region_weight(segments: &Segments, region: &[usize]) -> u64 {
    region
        .iter()
        .map(|&s| {
            let ops = segments.ops(s) as u64;
            ops + 1 + ops * ops / 1024
        })
        .sum()
}

/// Estimated compile time of `region`, in nanoseconds.
pub(crate) fn estimate(segments: &Segments, region: &[usize]) -> u64 {
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

/// Bits of a segment's place (see [`plan_regions`], [`plan_entries`]) below its region.
pub(crate) const LOCAL_BITS: u32 = 9;
/// The low bits of the place of a segment that its region's entry switch has no case for.
pub(crate) const NO_ENTRY: u32 = (1 << LOCAL_BITS) - 1;
const _: () = assert!(REGION_SEGMENTS < NO_ENTRY as usize);

/// Regions of at most [`REGION_OPS`] instructions and [`REGION_SEGMENTS`] segments, each a list
/// of segments in layout order, and every segment's place: `region << LOCAL_BITS | local` (the
/// low bits are renumbered by [`plan_entries`]).
///
/// A region follows the code's static control flow (`next`, [`Segments::layout_next`]): from
/// the first segment not placed yet, it takes the segment a static jump goes to, while not
/// placed, then starts over at the next unplaced segment. Jumps inside a region are direct
/// branches (a jump to the block laid out next is no branch at all), while one into another
/// region is an indirect tail call and, in a region of several segments, an indirect branch of
/// its entry switch: code that jumps all over (`micro/jump_around`) spends most of its time in
/// those when regions are runs of consecutive segments. Code without static jumps between
/// segments gets the consecutive runs as before.
pub(crate) fn plan_regions(
    segments: &Segments,
    next: impl Fn(usize) -> Option<usize>,
) -> (Vec<Vec<usize>>, Vec<u32>) {
    let n = segments.len();
    let mut place = vec![u32::MAX; n];
    let mut regions: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut ops = 0;
    for first in 0..n {
        let mut index = first;
        while place[index] == u32::MAX {
            let size = segments.ops(index);
            if !current.is_empty() && (ops + size > REGION_OPS || current.len() == REGION_SEGMENTS)
            {
                regions.push(std::mem::take(&mut current));
                ops = 0;
            }
            place[index] = (regions.len() as u32) << LOCAL_BITS | current.len() as u32;
            current.push(index);
            ops += size;
            match next(index) {
                Some(to) => index = to,
                None => break,
            }
        }
    }
    if !current.is_empty() {
        regions.push(current);
    }
    (regions, place)
}

/// Consecutive segments of a region's layout without a case of its entry switch, at most. A
/// segment reached by one branch gets its stack pointer and gas left as that branch's values
/// (Cranelift removes block parameters with one incoming value), so a run of them is one chain of
/// gas charges, and Cranelift's rewriting of chained additions costs time quadratic in the
/// chain's length: 170 segments in one chain took 6-10 ms to compile against 3-5 ms. A case
/// every so often breaks the chain for an edge block each.
const MAX_RUN_WITHOUT_ENTRY: usize = 16;

/// Numbers the segments execution may enter their region at (the low bits of their place, in
/// layout order; [`NO_ENTRY`] for the others): those that start the code, may be fallen into from a
/// segment of another region or are a static jump's destination from one, and, when the code has a jump
/// to a computed destination, every JUMPDEST. Others are reached only by branches inside their
/// region's function, which then needs no case of its entry switch for them: every case is an
/// edge into a block that the region's own jumps also reach, an edge Cranelift must split, and
/// in code that only jumps statically (`micro/jump_around`) these were most of the compile
/// cost. Should a segment without a case be entered all the same (a segment compiled alone
/// before its region was, still running, jumps to a neighbour), the switch's default runs it in
/// the interpreter: slower, never wrong.
pub(crate) fn plan_entries(
    segments: &Segments,
    analysis: &CodeAnalysis,
    regions: &[Vec<usize>],
    place: &mut [u32],
) {
    let n = segments.len();
    let region = |s: usize| place[s] >> LOCAL_BITS;
    let mut entered = vec![false; n];
    let mut computed = false;
    for from in 0..n {
        let mut enter = |to: usize| {
            if region(to) != region(from) {
                entered[to] = true;
            }
        };
        let falls_through = segments.jumps(analysis, from, |edge| match edge {
            Ok(Some(to)) => enter(to),
            Ok(None) => {}
            Err(()) => computed = true,
        });
        if falls_through && from + 1 < n {
            enter(from + 1);
        }
    }
    if let Some(first) = entered.first_mut() {
        *first = true;
    }
    for (s, entered) in entered.iter_mut().enumerate() {
        if computed && analysis.is_jumpdest(segments.starts()[s] as usize) {
            *entered = true;
        }
    }
    for region in regions {
        let (mut next, mut run) = (0, 0);
        for &s in region {
            // See [`MAX_RUN_WITHOUT_ENTRY`].
            run += 1;
            if run > MAX_RUN_WITHOUT_ENTRY {
                entered[s] = true;
            }
            if entered[s] {
                run = 0;
            }
            let number = if entered[s] {
                next += 1;
                next - 1
            } else {
                NO_ENTRY
            };
            place[s] = place[s] & !NO_ENTRY | number;
        }
    }
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
