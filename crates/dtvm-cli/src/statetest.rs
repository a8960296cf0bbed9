//! `dtvm statetest [--mode M] [--fork F] [--filter SUBSTR] [-j N] PATH...`
//!
//! Runs Ethereum state-test fixtures (files or directories, recursively) against dtvm through
//! its EVMC entry points, in parallel, and ends with the plain closing line
//! `N passed, N failed, N skipped`. The exit code is non-zero on any failure.
use dtvm_state::revision_from_fork_name;
use dtvm_state::statetest::{self, Outcome, StateTest};
use evmc_vm::{sys, Vm};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

const USAGE: &str = "usage: dtvm statetest [--mode M] [--fork F] [--filter SUBSTR] [-j N] PATH...";

/// Stack of a worker thread (virtual: only the pages a deep call chain touches are committed).
const WORKER_STACK_SIZE: usize = 512 << 20;

struct Options {
    mode: Option<String>,
    fork: Option<String>,
    filter: Option<String>,
    jobs: usize,
    paths: Vec<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        mode: None,
        fork: None,
        filter: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        paths: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--mode" => o.mode = Some(value("--mode")?),
            "--fork" => o.fork = Some(value("--fork")?),
            "--filter" => o.filter = Some(value("--filter")?),
            "-j" | "--jobs" => {
                let v = value("-j")?;
                o.jobs = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("bad job count {v:?}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            p => o.paths.push(PathBuf::from(p)),
        }
    }
    if o.paths.is_empty() {
        return Err("no fixture path given".into());
    }
    if let Some(f) = &o.fork {
        if revision_from_fork_name(f).is_none() {
            return Err(format!("unknown fork {f}"));
        }
    }
    Ok(o)
}

/// A path given on the command line is run whatever its name; inside directories only `.json`
/// files are fixtures (the sets also hold licenses and placeholder files).
fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect_files(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "json") {
            out.push(e);
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.failures.extend(other.failures);
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
    gas_limit: u64,
}

pub fn main(args: &[String]) -> i32 {
    let opts = match dtvm_bench::options("statetest", USAGE, parse_args(args)) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let mut files = Vec::new();
    for p in &opts.paths {
        if let Err(e) = collect_files(p, &mut files) {
            eprintln!("statetest: {}: {e}", p.display());
            return 2;
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

    let start = Instant::now();
    // Phase 1: parse every file.
    let loaded: Vec<OnceLock<Result<Vec<StateTest>, String>>> =
        files.iter().map(|_| OnceLock::new()).collect();
    let mut total = parallel(opts.jobs, files.len(), |i, _| {
        let _ = loaded[i].set(statetest::load_file(&files[i]));
    });

    // Phase 2: select the cases and run them, those with the largest gas limit first: the gas
    // limit bounds the work a case can do, so the few long ones (e.g. blake2f with 2^32 rounds)
    // start early instead of leaving one worker busy after the others have finished.
    let wanted_rev = opts.fork.as_deref().and_then(revision_from_fork_name);
    let mut jobs = Vec::new();
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
            for (ci, case) in test.cases.iter().enumerate() {
                if wanted_rev.is_some() && case.rev != wanted_rev {
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
                jobs.push(Job {
                    file: fi,
                    test: ti,
                    case: ci,
                    gas_limit,
                });
            }
        }
    }
    jobs.sort_by_key(|j| std::cmp::Reverse(j.gas_limit));
    total.merge(parallel(opts.jobs, jobs.len(), |i, tally| {
        let j = &jobs[i];
        let Some(Ok(tests)) = loaded[j.file].get() else {
            unreachable!("jobs refer to loaded files")
        };
        let (test, case) = (&tests[j.test], &tests[j.test].cases[j.case]);
        match statetest::run_case(test, case, &vm) {
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
    }));
    total.failures.sort();
    for f in &total.failures {
        println!("{f}");
    }
    let skipped: usize = total.skipped.values().sum();
    for (why, n) in &total.skipped {
        println!("skipped {n}: {why}");
    }
    println!(
        "{} files, {} threads, {:.2}s",
        files.len(),
        opts.jobs,
        start.elapsed().as_secs_f64()
    );
    println!(
        "{} passed, {} failed, {skipped} skipped",
        total.passed, total.failed
    );
    if total.failed > 0 {
        1
    } else {
        0
    }
}
