//! The code cache may drop a contract while frames run its code, and the background compiler
//! may be compiling it: threads run contracts in both JIT modes while another thread empties the
//! cache again and again. Every result must stay the interpreter's, and nothing may crash (a
//! contract's machine code is freed only when the last frame running it ends).

mod common;
use common::gen::program;
use common::rng::SplitMix64;
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WORKERS: usize = 4;
const CONTRACTS: usize = 12;
const ROUNDS: usize = 60;

#[test]
fn results_survive_cache_eviction_under_load() {
    let mut r = SplitMix64::new(0xe71c7);
    let contracts: Vec<Vec<u8>> = (0..CONTRACTS)
        .map(|i| {
            let mut code = program(&mut r, dtvm_core::CANCUN, false);
            // A marker keeps these codes apart from other tests' programs.
            code.extend([dtvm_core::opcode::JUMPDEST, 0x00, 0xfe, 0xe0, i as u8]);
            code
        })
        .collect();
    let inputs: Vec<Vec<u8>> = (0..CONTRACTS).map(|i| vec![i as u8 ^ 0x5a; 40]).collect();
    let expected: Vec<_> = contracts
        .iter()
        .zip(&inputs)
        .map(|(c, i)| outcome(Engine::Interp, c, i))
        .collect();
    let shared = Arc::new((contracts, inputs, expected));
    let done = Arc::new(AtomicBool::new(false));

    let evictor = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut clears = 0u32;
            while !done.load(Ordering::Relaxed) {
                dtvm_jit::clear_cache();
                clears += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            clears
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let (contracts, inputs, expected) = &*shared;
                for round in 0..ROUNDS {
                    for k in 0..CONTRACTS {
                        let i = (k + w * 3) % CONTRACTS;
                        let engine = if (w + round + k) % 2 == 0 {
                            Engine::Lazy
                        } else {
                            Engine::Multipass
                        };
                        let got = outcome(engine, &contracts[i], &inputs[i]);
                        assert_eq!(got, expected[i], "worker {w}, round {round}, {engine:?}");
                    }
                }
            })
        })
        .collect();
    for h in workers {
        h.join().expect("worker panicked");
    }
    done.store(true, Ordering::Relaxed);
    let clears = evictor.join().expect("evictor panicked");
    // The cache really was emptied while the workers ran, many times over.
    assert!(clears > 10, "only {clears} clears");
    dtvm_jit::clear_cache();
    assert_eq!(dtvm_jit::cached_contracts(), 0);
}
