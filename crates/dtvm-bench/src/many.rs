//! `dtvm many-contracts`: the workload of a client processing blocks. Thousands of distinct
//! contracts (generated, 2-24 KB, sizes log-uniform) are each called once to three times,
//! interleaved with a few hot contracts called thousands of times. Per mode it reports what the
//! whole process spent: CPU time (user + system, every thread: execution and compilation), peak
//! resident memory, and the hot contracts' steady-state time per call. Promotions and compile
//! time are given as "by the workload's end / after the steady state settled".
//!
//! Each mode runs in its own process (the binary re-runs itself with `--child`), so peak memory
//! and CPU are that mode's alone. Every call's status must be a success and its output the same
//! in every mode (each child prints a digest of all outputs; the parent compares them).

use crate::asm::*;
use ::evmc_vm::sys::*;
use ::evmc_vm::Vm;
use dtvm_testkit::rng::{Entropy, SplitMix64};
use dtvm_testkit::MockHost;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// What `dtvm many-contracts` measures.
#[derive(Clone, Debug)]
pub struct Options {
    /// dtvm modes, each measured in its own process.
    pub modes: Vec<String>,
    /// Distinct cold contracts, each called 1-3 times.
    pub contracts: usize,
    /// Hot contracts (at least 1).
    pub hot: usize,
    /// Calls of each hot contract, interleaved with the cold ones.
    pub hot_calls: usize,
    /// Generator seed.
    pub seed: u64,
    /// This process is the child measuring `modes[0]`: print its figures as `key=value` words.
    pub child: bool,
}

/// Runs the workload (see the module header); the process exit status.
pub fn main(opts: Options) -> i32 {
    if opts.child {
        return match run_child(&opts) {
            Ok(line) => {
                println!("{line}");
                0
            }
            Err(e) => {
                eprintln!("many-contracts: {e}");
                1
            }
        };
    }
    run_parent(&opts)
}

fn run_parent(opts: &Options) -> i32 {
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("many-contracts: cannot find this executable");
        return 1;
    };
    println!(
        "{} cold contracts (1-3 calls each), {} hot contracts x {} calls, seed {}",
        opts.contracts, opts.hot, opts.hot_calls, opts.seed
    );
    println!(
        "{:<12} {:>9} {:>9} {:>10} {:>13} {:>9} {:>10} {:>11} {:>10}",
        "mode",
        "cpu s",
        "wall s",
        "peak MB",
        "hot us/call",
        "settle s",
        "promoted",
        "compile ms",
        "evicted"
    );
    let mut digests = Vec::new();
    let mut status = 0;
    for mode in &opts.modes {
        let out = std::process::Command::new(&exe)
            .arg("many-contracts")
            .args(["--mode", mode, "--child"])
            .args(["--contracts", &opts.contracts.to_string()])
            .args(["--hot", &opts.hot.to_string()])
            .args(["--hot-calls", &opts.hot_calls.to_string()])
            .args(["--seed", &opts.seed.to_string()])
            .output();
        let out = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => {
                eprintln!(
                    "{mode}: failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                status = 1;
                continue;
            }
            Err(e) => {
                eprintln!("{mode}: {e}");
                status = 1;
                continue;
            }
        };
        let fields: HashMap<&str, &str> = out
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let get = |k: &str| fields.get(k).copied().unwrap_or("?");
        println!(
            "{:<12} {:>9} {:>9} {:>10} {:>13} {:>9} {:>10} {:>11} {:>10}",
            mode,
            get("cpu_s"),
            get("wall_s"),
            get("peak_mb"),
            get("hot_us"),
            get("settle_s"),
            format!("{}/{}", get("workload_promotions"), get("promotions")),
            format!("{}/{}", get("workload_compile_ms"), get("compile_ms")),
            get("evictions")
        );
        digests.push((mode.clone(), get("digest").to_owned()));
    }
    if let Some((first, digest)) = digests.first() {
        for (mode, d) in &digests[1..] {
            if d != digest {
                eprintln!("many-contracts: {mode}'s outputs differ from {first}'s");
                status = 1;
            }
        }
    }
    status
}

/// Runs the workload in this process with one mode; returns the report line.
fn run_child(opts: &Options) -> Result<String, String> {
    let mode = opts.modes.first().ok_or("no mode")?;
    // SAFETY: `create` returns a fresh VM that `Vm` owns and destroys once.
    let vm = unsafe { Vm::from_raw(dtvm::create()) };
    if vm.set_option("mode", mode) != EVMC_SET_OPTION_SUCCESS {
        return Err(format!("the VM refuses mode {mode}"));
    }
    let host = MockHost::with_vm(EVMC_CANCUN, Arc::new(vm));
    host.record_calls.set(false);
    let mut gen = SplitMix64::new(opts.seed);
    let hot: Vec<Contract> = (0..opts.hot)
        .map(|_| Contract::generate(&mut gen, 8 << 10, 255))
        .collect();
    let start = Instant::now();
    let mut digest = 0u64;
    let hot_every = opts
        .contracts
        .checked_div(opts.hot_calls)
        .map_or(usize::MAX, |n| n.max(1));
    let (mut hot_done, mut next_hot) = (0, 0);
    for i in 0..opts.contracts {
        // Sizes log-uniform in 2-24 KB.
        let size = (2048.0 * 12f64.powf(unit(&mut gen))) as usize;
        let contract = Contract::generate(&mut gen, size, 4);
        for _ in 0..1 + gen.below(3) {
            let f = gen.below(contract.functions as u64) as usize;
            digest = mix(digest, call(&host, &contract, f)?);
        }
        if i % hot_every == 0 && hot_done < opts.hot_calls * opts.hot {
            for c in &hot {
                digest = mix(digest, call(&host, c, next_hot % c.functions)?);
                hot_done += 1;
            }
            next_hot += 1;
        }
    }
    while hot_done < opts.hot_calls * opts.hot {
        for c in &hot {
            digest = mix(digest, call(&host, c, next_hot % c.functions)?);
            hot_done += 1;
        }
        next_hot += 1;
    }
    let wall = start.elapsed();
    // CPU of the workload (compilation still in flight in the background is not in it).
    let (cpu, _) = process_usage();
    let workload = dtvm_jit::tier_stats();
    // Steady state: every hot function once per round, the median round, once compilation has
    // settled (no job pending and no compile time added for half a second; at most 60 s).
    let warm = Instant::now();
    let mut last = (Instant::now(), dtvm_jit::tier_stats().compile_nanos);
    while warm.elapsed().as_secs() < 60 {
        for c in &hot {
            for f in 0..c.functions {
                let _ = call(&host, c, f);
            }
        }
        if last.0.elapsed().as_millis() >= 500 {
            let stats = dtvm_jit::tier_stats();
            if stats.pending_jobs == 0 && stats.compile_nanos == last.1 {
                break;
            }
            last = (Instant::now(), stats.compile_nanos);
        }
    }
    let settle = warm.elapsed();
    let mut rounds: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            for c in &hot {
                for f in 0..c.functions {
                    let _ = call(&host, c, f);
                }
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    let calls_per_round: usize = hot.iter().map(|c| c.functions).sum();
    let hot_us = rounds[rounds.len() / 2] * 1e6 / calls_per_round.max(1) as f64;
    if std::env::var_os("MANY_DEBUG").is_some() {
        for c in &hot {
            eprintln!("{:?}", dtvm_jit::segment_stats(&c.code, EVMC_CANCUN));
        }
    }
    let (_, peak) = process_usage();
    let stats = dtvm_jit::tier_stats();
    Ok(format!(
        "mode={mode} cpu_s={cpu:.2} wall_s={:.2} peak_mb={peak:.0} hot_us={hot_us:.2} \
         settle_s={:.1} workload_promotions={} workload_compile_ms={} promotions={} \
         compile_ms={} evictions={} digest={digest:016x}",
        wall.as_secs_f64(),
        settle.as_secs_f64(),
        workload.promotions,
        workload.compile_nanos / 1_000_000,
        stats.promotions,
        stats.compile_nanos / 1_000_000,
        stats.evictions,
    ))
}

fn mix(digest: u64, word: u64) -> u64 {
    (digest ^ word)
        .wrapping_mul(0x100_0000_01b3)
        .rotate_left(17)
}

/// Calls function `f` of `contract`, as a transaction of its own on empty storage; returns a
/// digest of the output. Anything but success is an error: the generated code always returns.
fn call(host: &MockHost, contract: &Contract, f: usize) -> Result<u64, String> {
    host.reset();
    let r = host.run(&contract.code, 10_000_000, &(f as u32).to_be_bytes());
    if r.status_code != EVMC_SUCCESS {
        return Err(format!("status {} (function {f})", r.status_code));
    }
    Ok(r.output
        .iter()
        .fold(r.gas_left as u64, |d, &b| mix(d, b as u64)))
}

/// (user + system CPU seconds of every thread, peak resident MB), from /proc (Linux).
fn process_usage() -> (f64, f64) {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (USER_HZ, 100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, peak_kb / 1024.0)
}

/// Uniform in [0, 1).
fn unit(gen: &mut SplitMix64) -> f64 {
    (gen.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A generated contract: a selector dispatcher (calldata's first 4 bytes) over `functions`
/// bodies of arithmetic, memory, hashing, storage, branches and loops, each returning a word.
struct Contract {
    code: Vec<u8>,
    functions: usize,
}

impl Contract {
    /// About `size` bytes; loops in the bodies run up to `max_loop` times.
    fn generate(gen: &mut SplitMix64, size: usize, max_loop: u64) -> Self {
        let functions = (size / 700).clamp(2, 40);
        let mut code = vec![PUSH1, 0, 0x35, PUSH1, 0xe0, 0x1c]; // selector
        let mut patches = Vec::new();
        for f in 0..functions {
            // DUP1 PUSH2 f EQ PUSH2 dest JUMPI
            code.extend([0x80, PUSH2, 0, f as u8, 0x14, PUSH2]);
            patches.push((code.len(), f));
            code.extend([0, 0, JUMPI]);
        }
        code.extend([PUSH1, 0, 0x80, 0xfd]); // REVERT(0, 0)
        let body = size.saturating_sub(code.len()) / functions;
        let mut starts = Vec::new();
        for _ in 0..functions {
            starts.push(code.len());
            code.push(JUMPDEST);
            let end = code.len() + body;
            while code.len() < end {
                statement(gen, &mut code, max_loop);
            }
            code.extend([PUSH1, 0x20, PUSH1, 0, 0xf3]); // RETURN(0, 32)
        }
        for (at, f) in patches {
            code[at..at + 2].copy_from_slice(&(starts[f] as u16).to_be_bytes());
        }
        Self { code, functions }
    }
}

/// One stack-neutral statement.
fn statement(gen: &mut SplitMix64, code: &mut Vec<u8>, max_loop: u64) {
    let slot = (gen.below(8) * 32) as u8;
    let binops = [0x01, 0x02, 0x03, 0x16, 0x17, 0x18, 0x04, 0x06, 0x1b, 0x1c];
    match gen.below(10) {
        // mem[slot] = mem[slot] op constant
        0..=3 => {
            code.push(PUSH32);
            code.extend((0..4).flat_map(|_| gen.next_u64().to_be_bytes()));
            code.extend([PUSH1, slot, 0x51, binops[gen.below(10) as usize]]);
            code.extend([PUSH1, slot, 0x52]);
        }
        // mem[slot] = mem[a] op mem[b]
        4 | 5 => {
            let a = (gen.below(8) * 32) as u8;
            code.extend([
                PUSH1,
                a,
                0x51,
                PUSH1,
                slot,
                0x51,
                binops[gen.below(10) as usize],
            ]);
            code.extend([PUSH1, slot, 0x52]);
        }
        // mem[slot] = keccak(mem[0..64])
        6 => code.extend([PUSH1, 0x40, PUSH1, 0, 0x20, PUSH1, slot, 0x52]),
        // storage[slot] += mem[slot]
        7 => code.extend([
            PUSH1, slot, 0x51, PUSH1, slot, 0x54, 0x01, PUSH1, slot, 0x55,
        ]),
        // a loop of up to `max_loop` rounds of mem[slot] = mem[slot] * 3 + counter
        8 => {
            code.extend([PUSH1, 1 + gen.below(max_loop) as u8]);
            let top = code.len();
            code.extend([JUMPDEST, 0x80, PUSH1, slot, 0x51, PUSH1, 3, 0x02, 0x01]);
            code.extend([PUSH1, slot, 0x52, PUSH1, 1, 0x90, 0x03, 0x80, PUSH2]);
            code.extend((top as u16).to_be_bytes());
            code.extend([JUMPI, 0x50]);
        }
        // if mem[0] is odd, skip a statement
        _ => {
            code.extend([PUSH1, 0, 0x51, PUSH1, 1, 0x16, PUSH2]);
            let at = code.len();
            code.extend([0, 0, JUMPI, PUSH1, slot, 0x51, 0x19, PUSH1, slot, 0x52]);
            let skip = code.len() as u16;
            code.push(JUMPDEST);
            code[at..at + 2].copy_from_slice(&skip.to_be_bytes());
        }
    }
}
