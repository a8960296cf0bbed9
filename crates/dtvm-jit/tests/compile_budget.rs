//! Compile bombs: the most expensive 24 KB contracts must be compiled, or refused and
//! interpreted, within the multipass budget, and still give the interpreter's results.

mod common;
use common::gen::bomb;
use common::*;
use std::time::Duration;

const KINDS: [&str; 6] = [
    "all JUMPDEST",
    "PUSH32 chain",
    "DUP16/SWAP16 run",
    "arithmetic, one segment",
    "arithmetic, segments of 2000 ops",
    "helper calls",
];

/// The bound the first call of any contract must meet. Unoptimised test builds (with the
/// Cranelift verifier on) are several times slower, so they get a proportionally looser bound.
fn bound() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_millis(1000)
    } else {
        Duration::from_millis(100)
    }
}

/// CPU time of the calling thread. Compile budgets are wall-clock, but on a loaded machine
/// (CI runners, parallel tests) wall time measures the scheduler; with the background compiler
/// off, all compilation happens on this thread, so its CPU time is what the budget bounds.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `code` once with no gas (the frame fails at its first block), so the time is analysis
/// plus compilation. Returns that time (CPU time of this thread, see [`thread_cpu`]).
fn first_call(code: &[u8], engine: Engine) -> Duration {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let t = thread_cpu();
    let r = h.run(code, 0, &[]);
    let elapsed = thread_cpu() - t;
    assert_eq!(r.status_code, ::evmc_vm::sys::EVMC_OUT_OF_GAS);
    elapsed
}

#[test]
fn compile_bombs_stay_within_budget() {
    // No background compiler: the counters must show what the calls themselves compiled.
    dtvm_jit::set_background_threads(0);
    for (kind, name) in KINDS.iter().enumerate() {
        let mut per_byte = Vec::new();
        let mut total_per_byte = Vec::new();
        for size in [1024, 24 * 1024] {
            let code = bomb(kind, size);
            let took = first_call(&code, Engine::Multipass);
            let stats = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
            eprintln!(
                "{name:>34} {:>5} B: first call {:>8.2?} ({:>6.0} ns/byte), {:?}",
                size,
                took,
                took.as_nanos() as f64 / size as f64,
                stats
            );
            per_byte.push(took.as_nanos() as f64 / size as f64);
            assert!(took < bound(), "{name}, {size} bytes: {took:?}");
            assert!(stats.compiled + stats.fallbacks <= stats.segments);
            assert!(stats.compiled > 0, "{name}: nothing compiled");
            // A contract over one call's budget is finished by the next calls, each within
            // the bound; once all is compiled (or refused), repeat calls compile nothing.
            let mut settled = stats;
            for _ in 0..100 {
                if settled.compiled + settled.fallbacks == settled.segments {
                    break;
                }
                let took = first_call(&code, Engine::Multipass);
                assert!(took < bound(), "{name}, {size} bytes, later call: {took:?}");
                settled = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
            }
            assert_eq!(
                settled.compiled + settled.fallbacks,
                settled.segments,
                "{name}: {settled:?}"
            );
            first_call(&code, Engine::Multipass);
            assert_eq!(
                dtvm_jit::segment_stats(&code, dtvm_core::CANCUN),
                Some(settled)
            );
            let per_byte = settled.compile_nanos as f64 / size as f64;
            eprintln!(
                "{name:>34} {size:>5} B: all compiled in {:>6.1} ms CPU, {per_byte:>6.0} ns/byte",
                settled.compile_nanos as f64 / 1e6
            );
            total_per_byte.push(per_byte);
        }
        // Compile cost grows linearly with code: per byte, a 24 KB contract costs at most twice
        // what a 1 KB one of the same kind does (refused segments cost nothing). Not for the
        // segments of 2000 instructions: at 1 KB that kind is one short segment, so the two
        // sizes are different code (and long straight-line segments do cost more per
        // instruction: that is why callers compile at most 2048 of them).
        assert!(
            kind == 4 || total_per_byte[1] <= 2.0 * total_per_byte[0],
            "{name}: {:.0} ns/byte at 24 KB against {:.0} at 1 KB",
            total_per_byte[1],
            total_per_byte[0]
        );
    }
}

/// Bombs with gas to run: compiled, partly refused or not, they end as the interpreter does.
#[test]
fn compile_bombs_match_interpreter() {
    for (kind, name) in KINDS.iter().enumerate() {
        // One more byte than the budget test's contract, so each test starts cold.
        let mut code = bomb(kind, 24 * 1024);
        code.push(0);
        let run = |engine| {
            let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
            let r = h.run(&code, 5_000_000, &[]);
            (r.status_code, r.gas_left, r.output)
        };
        let expected = run(Engine::Interp);
        assert_eq!(run(Engine::Multipass), expected, "{name}");
        assert_eq!(run(Engine::Lazy), expected, "{name}");
    }
}
