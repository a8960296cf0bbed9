//! `dtvm statetest [--mode M] [--fork F] [--filter SUBSTR] [--index N] [-j N] [--json]
//! [--trace] PATH...`
//!
//! Runs Ethereum state-test fixtures (files or directories, recursively) against dtvm through
//! its EVMC entry points, in parallel, with progress on stderr, and ends with the plain closing
//! line `N passed, N failed, N skipped` on stdout. The exit code is 1 on any failure, 2 when the
//! fixtures or the mode cannot be used.
//!
//! `--json` puts one JSON object per case run on stdout instead (in fixture order; the shape
//! geth's `evm statetest --json` prints, see `dtvm_state::results`) and everything else on
//! stderr. `--trace` sets the VM's `trace` option and runs one case at a time, so each case's
//! EIP-3155 lines on stderr stay together.
use crate::args::StatetestArgs;
use crate::progress::Counter;
use dtvm_state::results;
use dtvm_state::revision_from_fork_name;
use dtvm_state::statetest::{self, Outcome, StateTest};
use evmc_vm::{sys, Vm};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Stack of a worker thread (virtual: only the pages a deep call chain touches are committed).
const WORKER_STACK_SIZE: usize = 512 << 20;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: BTreeMap<String, usize>,
    failures: Vec<String>,
    /// `--json`: (job number, the case's JSON line).
    records: Vec<(usize, String)>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.failures.extend(other.failures);
        self.records.extend(other.records);
    }
}

/// Runs `work(i, tally)` for `i` in `0..count` on `threads` workers taking indexes in order.
fn parallel(threads: usize, count: usize, work: impl Fn(usize, &mut Tally) + Sync) -> Tally {
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..threads.min(count).max(1) {
            // Each of the up to 1024 nested calls stacks a VM frame and the host's call path;
            // the default 2 MiB thread stack is far too small for that.
            let worker = std::thread::Builder::new().stack_size(WORKER_STACK_SIZE);
            worker
                .spawn_scoped(s, || {
                    let mut local = Tally::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        work(i, &mut local);
                    }
                    total.lock().expect("a worker panicked").merge(local);
                })
                .expect("cannot spawn a worker thread");
        }
    });
    total.into_inner().expect("a worker panicked")
}

/// One case to run: indexes into the loaded files, tests and cases.
struct Job {
    file: usize,
    test: usize,
    case: usize,
    /// The case's position among its test's cases for its fork.
    index: usize,
    gas_limit: u64,
}

pub(crate) fn main(opts: StatetestArgs) -> i32 {
    let jobs = match opts.jobs {
        // One case at a time keeps each case's trace lines together.
        _ if opts.trace => 1,
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut files = Vec::new();
    for p in &opts.paths {
        match statetest::fixture_files(p) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("statetest: {}: {e}", p.display());
                return 2;
            }
        }
    }

    // SAFETY: `create` returns a fresh VM that nothing else owns.
    let vm = unsafe { Vm::from_raw(dtvm::create()) };
    if let Some(mode) = &opts.mode {
        let r = vm.set_option("mode", mode);
        if r != sys::EVMC_SET_OPTION_SUCCESS {
            eprintln!("statetest: the VM rejected mode {mode:?} (evmc_set_option_result {r})");
            return 2;
        }
    }
    if opts.trace && vm.set_option("trace", "1") != sys::EVMC_SET_OPTION_SUCCESS {
        eprintln!("statetest: the VM has no trace option");
        return 2;
    }

    let start = Instant::now();
    // Phase 1: parse every file.
    let loaded: Vec<OnceLock<Result<Vec<StateTest>, String>>> =
        files.iter().map(|_| OnceLock::new()).collect();
    let mut total = parallel(jobs, files.len(), |i, _| {
        let _ = loaded[i].set(statetest::load_file(&files[i]));
    });

    // Phase 2: select the cases and run them, those with the largest gas limit first: the gas
    // limit bounds the work a case can do, so the few long ones (e.g. blake2f with 2^32 rounds)
    // start early instead of leaving one worker busy after the others have finished.
    let wanted_rev = opts.fork.as_deref().and_then(revision_from_fork_name);
    let mut work = Vec::new();
    for (fi, slot) in loaded.iter().enumerate() {
        let path = files[fi].display().to_string();
        let tests = match slot.get().expect("every file was loaded") {
            Ok(tests) => tests,
            Err(e) => {
                total.failed += 1;
                total
                    .failures
                    .push(format!("FAIL {path}: cannot load: {e}"));
                continue;
            }
        };
        for (ti, test) in tests.iter().enumerate() {
            if let Some(f) = &opts.filter {
                if !test.name.contains(f.as_str()) && !path.contains(f.as_str()) {
                    continue;
                }
            }
            let mut per_fork: BTreeMap<&str, usize> = BTreeMap::new();
            for (ci, case) in test.cases.iter().enumerate() {
                let next = per_fork.entry(case.fork.as_str()).or_default();
                let index = *next;
                *next += 1;
                if wanted_rev.is_some() && case.rev != wanted_rev {
                    continue;
                }
                if opts.index.is_some_and(|i| i != index) {
                    continue;
                }
                if let Some(reason) = statetest::skip_reason(&test.name) {
                    *total
                        .skipped
                        .entry(format!("skip list: {reason}"))
                        .or_default() += 1;
                    continue;
                }
                let gas_limit = test.tx.gas_limits.get(case.gas).copied().unwrap_or(0);
                work.push(Job {
                    file: fi,
                    test: ti,
                    case: ci,
                    index,
                    gas_limit,
                });
            }
        }
    }
    work.sort_by_key(|j| std::cmp::Reverse(j.gas_limit));
    let counter = Counter::new(work.len());
    total.merge(parallel(jobs, work.len(), |i, tally| {
        let j = &work[i];
        let Some(Ok(tests)) = loaded[j.file].get() else {
            unreachable!("jobs refer to loaded files")
        };
        let (test, case) = (&tests[j.test], &tests[j.test].cases[j.case]);
        let failed_before = tally.failed;
        let run = statetest::run_case_detailed(test, case, &vm);
        if opts.json {
            let line = results::record(test, case, j.index, &run).to_json_line();
            tally.records.push((i, line));
        }
        match run.outcome {
            Outcome::Pass => tally.passed += 1,
            Outcome::Skipped(why) => *tally.skipped.entry(why).or_default() += 1,
            Outcome::Fail(msg) => {
                tally.failed += 1;
                tally.failures.push(format!(
                    "FAIL {} {} [{}]: {msg}",
                    files[j.file].display(),
                    test.name,
                    case.label()
                ));
            }
        }
        counter.inc(tally.failed > failed_before);
    }));
    counter.finish();
    // With --json, stdout carries the records alone.
    let say = |line: String| {
        if opts.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    // Fixture order: file, test, case (jobs ran largest gas limit first).
    let order = |job: usize| (work[job].file, work[job].test, work[job].case);
    total.records.sort_by_key(|(job, _)| order(*job));
    for (_, line) in &total.records {
        println!("{line}");
    }
    total.failures.sort();
    for f in &total.failures {
        say(f.clone());
    }
    let skipped: usize = total.skipped.values().sum();
    for (why, n) in &total.skipped {
        say(format!("skipped {n}: {why}"));
    }
    say(format!(
        "{} files, {} threads, {:.2}s",
        files.len(),
        jobs,
        start.elapsed().as_secs_f64()
    ));
    say(format!(
        "{} passed, {} failed, {skipped} skipped",
        total.passed, total.failed
    ));
    if total.failed > 0 {
        1
    } else {
        0
    }
}
