//! Rough figures for the Uniswap scenarios: the steps with revm's gas used, steady-state time per
//! call step for libdtvm's modes and revm, and first-call (cold) latency of the V3 factory deploy,
//! `createPool` (the factory's first call, which runs the pool's init code) and the pool's first
//! call (`initialize`) per mode.
//!
//! ```text
//! cargo run --release -p dtvm-scenarios --example figures
//! ```
//! Every run is checked against revm's result before its time counts. A cold figure is the first
//! run of that step in a fresh process (this program re-executed with `--cold ENGINE STEP`, after
//! a warm-up on unrelated code so process-wide one-time costs are excluded), median of 3
//! processes. Timings on a shared, loaded machine are rough.
use dtvm_scenarios::dtvm::{vm, DtvmTx, MODES};
use dtvm_scenarios::reference::RevmTx;
use dtvm_scenarios::scenarios::calls;
use dtvm_scenarios::{build_all, Scenario, Step, TxRunner, REV};
use evmc_vm::Vm;
use std::process::Command;
use std::time::{Duration, Instant};

const ENGINES: [&str; 4] = ["interpreter", "multipass", "lazy", "revm"];
const COLD_STEPS: [&str; 3] = ["deploy_factory", "create_pool", "initialize"];
const COLD_PROCESSES: usize = 3;
const STEADY_BUDGET: Duration = Duration::from_millis(150);

/// The step called `name`, or whose name ends with `name`.
fn find<'a>(scenarios: &'a [Scenario], name: &str) -> &'a Step {
    scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .find(|s| s.name == name || s.name.ends_with(name))
        .unwrap_or_else(|| panic!("no step {name}"))
}

fn runner<'a>(engine: &str, vms: &'a [(String, Vm)], step: &'a Step) -> Box<dyn TxRunner + 'a> {
    match vms.iter().find(|(m, _)| m == engine) {
        Some((_, vm)) => Box::new(DtvmTx::new(vm, &step.pre, &step.tx)),
        None => Box::new(RevmTx::new(&step.pre, &step.tx).expect("revm setup")),
    }
}

/// One checked run; panics on disagreement (a figure for a wrong result means nothing).
fn checked(r: &mut dyn TxRunner, engine: &str, step: &Step) -> Duration {
    let (took, got) = r
        .run()
        .unwrap_or_else(|e| panic!("{engine} {}: {e}", step.name));
    if let Some(d) = got.diff(&step.expected) {
        panic!("{engine} {}: {d}", step.name);
    }
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Child process: the first run of `step` on `engine` in this process.
fn cold(engine: &str, step_name: &str) {
    let scenarios = build_all().expect("scenarios");
    let vms: Vec<(String, Vm)> = MODES
        .iter()
        .filter(|m| **m == engine)
        .map(|m| (m.to_string(), vm(m).expect("vm")))
        .collect();
    // Process-wide one-time costs (JIT stubs, allocator growth) on code the measured step does
    // not run: a V2 pair swap.
    let warm = find(&scenarios, "_swap_a_for_b");
    checked(runner(engine, &vms, warm).as_mut(), engine, warm);
    let step = find(&scenarios, step_name);
    let took = checked(runner(engine, &vms, step).as_mut(), engine, step);
    println!("{}", took.as_nanos());
}

fn cold_figure(engine: &str, step: &str) -> Duration {
    let exe = std::env::current_exe().expect("current_exe");
    let samples = (0..COLD_PROCESSES)
        .map(|_| {
            let out = Command::new(&exe)
                .args(["--cold", engine, step])
                .output()
                .expect("spawn");
            assert!(
                out.status.success(),
                "{engine} {step}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let ns: u64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("ns");
            Duration::from_nanos(ns)
        })
        .collect();
    median(samples)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, engine, step] = args.as_slice() {
        if flag == "--cold" {
            return cold(engine, step);
        }
    }
    let scenarios = build_all().expect("scenarios");
    println!("Rough figures on a shared, loaded machine (2 cores); medians, microseconds.\n");
    println!("| step | kind | gas used (revm) |\n|---|---|---|");
    for s in scenarios.iter().flat_map(|s| &s.steps) {
        println!("| {} | {:?} | {} |", s.name, s.kind, s.expected.gas_used);
    }

    let vms: Vec<(String, Vm)> = MODES
        .iter()
        .map(|m| (m.to_string(), vm(m).expect("vm")))
        .collect();
    println!(
        "\nSteady state (same pre-state every run; every engine checked against revm first)\n"
    );
    println!(
        "| step | interpreter | multipass | lazy | revm | lazy / revm |\n|---|---|---|---|---|---|"
    );
    for step in calls(&scenarios) {
        let mut runners: Vec<Box<dyn TxRunner>> =
            ENGINES.iter().map(|e| runner(e, &vms, step)).collect();
        for (r, e) in runners.iter_mut().zip(ENGINES) {
            checked(r.as_mut(), e, step);
        }
        // Warm-up until the JIT has compiled what it will of every contract in the pre-state
        // (bounded), then rounds rotating the order.
        let start = Instant::now();
        loop {
            runners.iter_mut().for_each(|r| {
                r.run_timed();
            });
            let settled = step
                .pre
                .accounts
                .values()
                .all(|a| dtvm_jit::segment_stats(&a.code, REV).is_none_or(|s| s.settled()));
            let waited = start.elapsed();
            if (settled && waited > Duration::from_millis(50)) || waited > Duration::from_secs(3) {
                break;
            }
        }
        for (r, e) in runners.iter_mut().zip(ENGINES) {
            checked(r.as_mut(), e, step);
        }
        let mut samples = vec![Vec::new(); ENGINES.len()];
        let start = Instant::now();
        let mut round = 0;
        while start.elapsed() < STEADY_BUDGET || round < 10 {
            for k in 0..ENGINES.len() {
                let i = (k + round) % ENGINES.len();
                samples[i].push(runners[i].run_timed());
            }
            round += 1;
        }
        let m: Vec<Duration> = samples.into_iter().map(median).collect();
        println!(
            "| {} | {} | {} | {} | {} | {:.2} |",
            step.name,
            us(m[0]),
            us(m[1]),
            us(m[2]),
            us(m[3]),
            m[2].as_secs_f64() / m[3].as_secs_f64()
        );
    }

    println!(
        "\nFirst call (cold: analysis and compilation included), fresh process each, median of {COLD_PROCESSES}\n"
    );
    println!("| step | interpreter | multipass | lazy | revm |\n|---|---|---|---|---|");
    for label in COLD_STEPS {
        let name = scenarios[1]
            .step(label)
            .map(|s| s.name.clone())
            .expect("V3 step");
        let row: Vec<String> = ENGINES.iter().map(|e| us(cold_figure(e, &name))).collect();
        println!("| {name} | {} |", row.join(" | "));
    }
}
