//! 16 threads start together on cold contracts, in both modes: each segment is compiled once,
//! and every result is the interpreter's.

mod common;
use common::gen::program;
use common::rng::SplitMix64;
use common::*;
use std::sync::{Arc, Barrier};

const THREADS: usize = 16;
const CONTRACTS: usize = 24;

#[test]
fn sixteen_threads_on_cold_contracts() {
    let mut r = SplitMix64::new(0x7e57);
    // Distinct codes so every contract starts cold; a marker byte keeps them distinct from the
    // other tests' programs.
    let contracts: Vec<Vec<u8>> = (0..CONTRACTS)
        .map(|i| {
            let mut code = program(&mut r, dtvm_core::CANCUN, false);
            code.extend([dtvm_core::opcode::JUMPDEST, 0x00, 0xfe, i as u8]);
            code
        })
        .collect();
    let inputs: Vec<Vec<u8>> = (0..CONTRACTS).map(|i| vec![i as u8; 36]).collect();
    let expected: Vec<_> = contracts
        .iter()
        .zip(&inputs)
        .map(|(c, i)| outcome(Engine::Interp, c, i))
        .collect();

    let shared = Arc::new((contracts, inputs, expected));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let shared = shared.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let (contracts, inputs, expected) = &*shared;
                barrier.wait();
                for round in 0..3 {
                    for k in 0..CONTRACTS {
                        // Threads walk the contracts in different orders and modes, so the same
                        // contract is cold in several threads at once.
                        let i = (k + t * 5) % CONTRACTS;
                        let engine = if (t + round) % 2 == 0 {
                            Engine::Lazy
                        } else {
                            Engine::Multipass
                        };
                        let got = outcome(engine, &contracts[i], &inputs[i]);
                        assert_eq!(got, expected[i], "thread {t}, contract {i}, {engine:?}");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread panicked");
    }
    for (i, code) in shared.0.iter().enumerate() {
        // Compilation is bounded per call by a wall-clock budget: on a loaded machine the 16
        // threads' calls may leave some regions to later calls, which finish them.
        let mut stats = dtvm_jit::segment_stats(code, dtvm_core::CANCUN).expect("cached");
        for _ in 0..50 {
            if stats.settled() {
                break;
            }
            assert_eq!(outcome(Engine::Multipass, code, &shared.1[i]), shared.2[i]);
            stats = dtvm_jit::segment_stats(code, dtvm_core::CANCUN).expect("cached");
        }
        // Multipass ran on every contract: all segments are compiled, each exactly once (the
        // counter counts publications, and a published slot is never compiled again).
        assert_eq!(
            stats.compiled + stats.fallbacks,
            stats.segments,
            "{stats:?}"
        );
        assert_eq!(stats.fallbacks, 0, "{stats:?}");
    }
}
