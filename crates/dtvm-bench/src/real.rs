//! The `real/` group: the Uniswap v2/v3 core scenarios of `dtvm-scenarios`, each step a full
//! transaction (dtvm through `dtvm-state`'s host, revm through its transaction path) on its own
//! pre-state. Every engine's first run must reproduce revm's reference result (status, gas
//! used, output, logs, post-state) before anything is timed, and the first warm-up run must
//! again.
//!
//! Call steps get the main table's figures (steady state, first call, compile figures); deploy
//! steps, whose init code runs once by nature, get a table of their first run only. "First
//! sight" follows the contract of a step: the called contract's code (for a call through the V3
//! router, the contract it forwards to) or the init code of a deploy.
use super::report::{self, CaseResult, Column};
use super::{engine_results, settled_jit_stats, timed_rounds, Timing};
use dtvm_scenarios::dtvm::{vm, DtvmTx};
use dtvm_scenarios::reference::RevmTx;
use dtvm_scenarios::{Kind, Scenario, Step, TxRunner, REV};
use evmc_vm::Vm;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

/// The name of a step in the bench: `real/<scenario>/<nn>_<label>`.
pub(crate) fn case_name(step: &Step) -> String {
    format!("real/{}", step.name)
}

/// The contract a step is about: the init code of a deploy, the called contract's code, or for
/// a call to the V3 router (`word(target) ++ call`) the target's code.
fn contract(step: &Step) -> Vec<u8> {
    let Some(to) = step.tx.to else {
        return step.tx.data.to_vec();
    };
    let code = |a| {
        step.pre
            .get(&a)
            .map(|acc| acc.code.to_vec())
            .unwrap_or_default()
    };
    let entry = code(to);
    if entry == dtvm_scenarios::router::runtime() {
        if let Some(target) = dtvm_scenarios::abi::address_at(&step.tx.data, 0) {
            return code(target);
        }
    }
    entry
}

/// The VMs of the dtvm columns (one per mode, beside the lineup's: the code caches are
/// process-wide either way).
pub(crate) struct Engines {
    vms: Vec<Option<Vm>>,
}

impl Engines {
    pub(crate) fn new(columns: &[Column]) -> Result<Self, String> {
        let vms = columns
            .iter()
            .map(|c| (c.name != "revm").then(|| vm(&c.name)).transpose())
            .collect::<Result<_, _>>()?;
        Ok(Self { vms })
    }

    fn runners<'a>(&'a self, step: &'a Step) -> Result<Vec<Box<dyn TxRunner + 'a>>, String> {
        self.vms
            .iter()
            .map(|v| -> Result<Box<dyn TxRunner + 'a>, String> {
                Ok(match v {
                    Some(vm) => Box::new(DtvmTx::new(vm, &step.pre, &step.tx)),
                    None => Box::new(RevmTx::new(&step.pre, &step.tx)?),
                })
            })
            .collect()
    }
}

fn checked(r: &mut dyn TxRunner, column: &str, step: &Step) -> Result<Duration, String> {
    let (took, got) = r.run().map_err(|e| format!("{column}: {e}"))?;
    match got.diff(&step.expected) {
        Some(d) => Err(format!("{column} differs from revm's reference: {d}")),
        None => Ok(took),
    }
}

/// First runs of one step on every engine, checked; with whether each was a first sight.
fn first_runs(
    runners: &mut [Box<dyn TxRunner + '_>],
    columns: &[Column],
    step: &Step,
    seen: &mut HashSet<(usize, Vec<u8>)>,
) -> Result<Vec<(Duration, bool)>, String> {
    let code = contract(step);
    runners
        .iter_mut()
        .enumerate()
        .map(|(i, r)| {
            let took = checked(r.as_mut(), &columns[i].name, step)?;
            Ok((took, seen.insert((i, code.clone()))))
        })
        .collect()
}

/// The main-table result of a call step: first runs, warm-up, rotating rounds.
pub(crate) fn bench_call(
    engines: &Engines,
    columns: &[Column],
    step: &Step,
    timing: &Timing,
    seen: &mut HashSet<(usize, Vec<u8>)>,
) -> Result<CaseResult, String> {
    let mut runners = engines.runners(step)?;
    let first = first_runs(&mut runners, columns, step, seen)?;
    let mut warm_time = vec![Duration::ZERO; runners.len()];
    for w in 0..timing.warmup {
        for (i, r) in runners.iter_mut().enumerate() {
            warm_time[i] = if w == 0 {
                checked(r.as_mut(), &columns[i].name, step)
                    .map_err(|e| format!("a second run: {e}"))?
            } else {
                warm_time[i].min(r.run_timed())
            };
        }
    }
    let code = contract(step);
    for (i, r) in runners.iter_mut().enumerate() {
        if columns[i].name == "tiered" {
            super::settle_tiered(&code, REV, &mut || {
                r.run_timed();
            });
        }
    }
    let samples = timed_rounds(timing, &warm_time, |i| runners[i].run_timed());
    let jit = columns
        .iter()
        .any(|c| c.is_jit)
        .then(|| settled_jit_stats(&code, REV))
        .flatten();
    Ok(CaseResult {
        name: case_name(step),
        code_size: code.len(),
        jit,
        gas_used: step.expected.gas_used,
        engines: engine_results(&samples, first),
    })
}

/// One row of the deploy table: the checked first run on every engine.
pub(crate) fn bench_deploy(
    engines: &Engines,
    columns: &[Column],
    step: &Step,
    seen: &mut HashSet<(usize, Vec<u8>)>,
) -> Result<String, String> {
    let mut runners = engines.runners(step)?;
    let first = first_runs(&mut runners, columns, step, seen)?;
    let mut row = format!(
        "| {} | {} | {} |",
        case_name(step),
        step.tx.data.len(),
        step.expected.gas_used
    );
    for (d, first_sight) in first {
        let mark = if first_sight { "" } else { " (seen)" };
        let _ = write!(row, " {}{mark} |", report::us(d.as_secs_f64() * 1e6));
    }
    Ok(row)
}

/// The header of the deploy table for `columns`.
pub(crate) fn deploy_header(columns: &[Column]) -> String {
    let mut h = String::from("| deploy (init code runs once) | init code bytes | gas used |");
    let mut rule = String::from("|---|---:|---:|");
    for c in columns {
        let _ = write!(h, " {} 1st run µs |", c.name);
        rule.push_str("---:|");
    }
    format!("{h}\n{rule}")
}

/// The steps of `scenarios` whose bench name `selected` accepts, calls and deploys apart.
pub(crate) fn select(
    scenarios: &[Scenario],
    selected: impl Fn(&str) -> bool,
) -> (Vec<&Step>, Vec<&Step>) {
    scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| selected(&case_name(s)))
        .partition(|s| s.kind == Kind::Call)
}

/// Runs the selected `real/` steps on the lineup's engines and prints the pass: the main table
/// and compile figures for calls, the first-run table for deploys. Returns the pass's JSON and
/// its failed cases.
pub(crate) fn run_pass(
    calls: &[&Step],
    deploys: &[&Step],
    columns: &[Column],
    timing: &Timing,
) -> (serde_json::Value, Vec<(String, String)>) {
    let title =
        "real: Uniswap v2/v3 core, full transactions (cancun, dtvm-state host vs revm transact)";
    let mut errors = Vec::new();
    let mut results = Vec::new();
    let mut deploy_rows = Vec::new();
    match Engines::new(columns) {
        Err(e) => errors.push(("real/".to_owned(), e)),
        Ok(engines) => {
            let mut seen = HashSet::new();
            // Deploys first: in a scenario they come first, so their init code is cold here.
            for step in deploys {
                match bench_deploy(&engines, columns, step, &mut seen) {
                    Ok(row) => deploy_rows.push(row),
                    Err(e) => errors.push((case_name(step), e)),
                }
            }
            for step in calls {
                let started = std::time::Instant::now();
                match bench_call(&engines, columns, step, timing, &mut seen) {
                    Ok(r) => {
                        eprintln!("{:<40} {:>6.2}s", r.name, started.elapsed().as_secs_f64());
                        results.push(r);
                    }
                    Err(e) => {
                        eprintln!("{:<40} ERROR: {e}", case_name(step));
                        errors.push((case_name(step), e));
                    }
                }
            }
        }
    }
    println!("\n### {title}\n");
    if !results.is_empty() {
        println!("{}", report::markdown(columns, &results));
        if let Some(t) = report::compile_table(columns, &results) {
            println!("{t}");
        }
    }
    if !deploy_rows.is_empty() {
        println!("{}\n{}\n", deploy_header(columns), deploy_rows.join("\n"));
    }
    let json = report::json(
        columns,
        &results,
        serde_json::json!({"title": title, "revision": "cancun", "deploys": deploy_rows}),
        &errors,
    );
    (json, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_and_a_deploy_agree_and_get_figures_in_every_engine() {
        let scenarios = dtvm_scenarios::build_all().unwrap();
        let (calls, deploys) = select(&scenarios, |n| {
            n.ends_with("uniswap_v2/12_swap_a_for_b") || n.ends_with("uniswap_v3/04_deploy_router")
        });
        assert_eq!((calls.len(), deploys.len()), (1, 1));
        let columns: Vec<Column> = ["interpreter", "multipass", "lazy", "revm"]
            .iter()
            .map(|m| Column {
                name: m.to_string(),
                is_jit: *m == "multipass" || *m == "lazy",
            })
            .collect();
        let timing = Timing {
            rounds: Some(3),
            budget: Duration::ZERO,
            warmup: 1,
        };
        let (json, errors) = run_pass(&calls, &deploys, &columns, &timing);
        assert!(errors.is_empty(), "{errors:?}");
        let cases = json["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 1);
        assert_eq!(json["meta"]["deploys"].as_array().map(Vec::len), Some(1));
    }
}
