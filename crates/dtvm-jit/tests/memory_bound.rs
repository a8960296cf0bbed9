//! The code cache's memory limit holds while threads run many distinct contracts in both JIT
//! modes and the cache evicts under them: the accounted total stays within the limit (plus the
//! contracts the threads are running), the process' resident memory grows by about the limit
//! and not by what the contracts would keep unbounded, and every result is the interpreter's.

mod common;
use common::gen::program;
use common::rng::SplitMix64;
use common::*;
use dtvm_jit::Setting;

const LIMIT: usize = 2 << 20;
const CONTRACTS: usize = 4_000;
const WORKERS: usize = 4;

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn the_limit_holds_under_concurrent_execution() {
    dtvm_jit::configure(Setting::CacheLimitBytes(LIMIT));
    let mut r = SplitMix64::new(0x11_1e55);
    let contracts: Vec<Vec<u8>> = (0..CONTRACTS)
        .map(|i| {
            let mut code = program(&mut r, dtvm_core::CANCUN, false);
            // A marker keeps every code distinct.
            code.extend([
                dtvm_core::opcode::JUMPDEST,
                0x00,
                0xfe,
                (i >> 8) as u8,
                i as u8,
            ]);
            code
        })
        .collect();
    let input = [0x5a; 40];
    // The interpreter's results; this also fills the analysis cache and the host's buffers, so
    // what resident memory gains below is the JIT's.
    let expected: Vec<_> = contracts
        .iter()
        .map(|c| outcome(Engine::Interp, c, &input))
        .collect();
    let rss_before = rss_bytes();
    let shared = std::sync::Arc::new((contracts, expected));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let (contracts, expected) = &*shared;
                let (mut kept, mut measured, mut over) = (0usize, 0usize, 0usize);
                for i in (w..CONTRACTS).step_by(WORKERS) {
                    let engine = if i % 3 == 0 {
                        Engine::Lazy
                    } else {
                        Engine::Multipass
                    };
                    let got = outcome(engine, &contracts[i], &input);
                    assert_eq!(got, expected[i], "contract {i}, {engine:?}");
                    if let Some(s) = dtvm_jit::segment_stats(&contracts[i], dtvm_core::CANCUN) {
                        kept += s.memory_bytes;
                        measured += 1;
                    }
                    // Every worker may hold one contract beyond the limit (it was created, or
                    // grew by its code, after the last eviction).
                    if dtvm_jit::live_bytes() > LIMIT + WORKERS * (256 << 10) {
                        over += 1;
                    }
                }
                (kept, measured, over)
            })
        })
        .collect();
    let (mut kept, mut measured, mut over) = (0, 0, 0);
    for h in workers {
        let (k, m, o) = h.join().expect("worker panicked");
        (kept, measured, over) = (kept + k, measured + m, over + o);
    }
    let grown = rss_bytes().saturating_sub(rss_before);
    let stats = dtvm_jit::tier_stats();
    let unbounded = kept / measured.max(1) * CONTRACTS;
    eprintln!(
        "{stats:?}; unbounded ~{unbounded} bytes; resident memory grew {grown} bytes; {over} samples over"
    );
    // The workload would keep several times the limit without eviction.
    assert!(unbounded > 4 * LIMIT, "{unbounded}");
    assert!(stats.evictions as usize > CONTRACTS / 2, "{stats:?}");
    assert_eq!(over, 0, "the accounted total went over the limit");
    assert!(stats.cache_bytes <= LIMIT, "{stats:?}");
    // Resident memory: the limit, the compiler threads' working state and allocator slack,
    // well below what the contracts kept unbounded.
    assert!(
        grown < LIMIT + (16 << 20) && grown < unbounded / 2,
        "resident memory grew {grown} bytes (unbounded ~{unbounded})"
    );
}
