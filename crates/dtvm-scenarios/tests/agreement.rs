//! The Uniswap scenarios in every libdtvm mode against revm: each step's status, gas used,
//! output, logs and post-state must equal revm's, on the first run and on a re-run from the same
//! pre-state; the generated state tests must pass through `dtvm_state::statetest` in every mode.
use dtvm_scenarios::dtvm::{vm, DtvmTx, MODES};
use dtvm_scenarios::reference::RevmTx;
use dtvm_scenarios::scenarios::{calls, deploys};
use dtvm_scenarios::{build_all, statetests, Scenario, Status};
use dtvm_state::statetest::{load_file, run_case, Outcome};
use std::sync::OnceLock;

fn scenarios() -> &'static [Scenario] {
    static S: OnceLock<Vec<Scenario>> = OnceLock::new();
    S.get_or_init(|| build_all().unwrap_or_else(|e| panic!("building the scenarios: {e}")))
}

/// Runs `f` on a thread with a large stack: JIT compilation of 24 KB contracts and nested
/// frames must not depend on the test harness's 2 MiB threads.
fn big_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("test thread panicked");
    });
}

#[test]
fn scenarios_cover_deploys_and_calls_of_both_versions() {
    let s = scenarios();
    assert_eq!(s.len(), 2);
    assert_eq!(
        deploys(s).count(),
        7,
        "tokens x4, two factories, the router"
    );
    assert!(calls(s).count() >= 25);
    for step in s.iter().flat_map(|s| &s.steps) {
        assert!(step.expected.gas_used > 21_000, "{}", step.name);
    }
    let reverting: Vec<&str> = s
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| s.expected.status == Status::Revert)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        reverting,
        [
            "uniswap_v2/15_swap_without_input_reverts",
            "uniswap_v3/14_swap_past_price_limit_reverts"
        ]
    );
}

#[test]
fn every_step_agrees_with_revm_in_every_mode() {
    big_stack(|| {
        let mut failures = Vec::new();
        for mode in MODES {
            let vm = vm(mode).unwrap();
            for step in scenarios().iter().flat_map(|s| &s.steps) {
                let run = DtvmTx::new(&vm, &step.pre, &step.tx);
                for attempt in ["first run", "re-run"] {
                    match run.run() {
                        Ok((_, got)) => {
                            if let Some(d) = got.diff(&step.expected) {
                                failures.push(format!("{mode} {} ({attempt}): {d}", step.name));
                            }
                        }
                        Err(e) => failures.push(format!("{mode} {} ({attempt}): {e}", step.name)),
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    });
}

#[test]
fn revm_reruns_reproduce_the_reference() {
    for step in scenarios().iter().flat_map(|s| &s.steps) {
        let mut r = RevmTx::new(&step.pre, &step.tx).unwrap();
        for _ in 0..2 {
            let (_, got) = r.run().unwrap();
            assert_eq!(got.diff(&step.expected), None, "{}", step.name);
        }
    }
}

#[test]
fn generated_state_tests_pass_in_every_mode() {
    let dir = std::env::temp_dir().join(format!("dtvm-scenarios-{}", std::process::id()));
    let files = statetests::write_dir(scenarios(), &dir).unwrap();
    let steps: usize = scenarios().iter().map(|s| s.steps.len()).sum();
    big_stack(|| {
        for mode in MODES {
            let vm = vm(mode).unwrap();
            let mut cases = 0;
            for f in &files {
                for t in load_file(f).unwrap() {
                    for c in &t.cases {
                        cases += 1;
                        let outcome = run_case(&t, c, &vm);
                        assert_eq!(outcome, Outcome::Pass, "{mode} {}", t.name);
                    }
                }
            }
            assert_eq!(cases, steps, "{mode}: one case per step");
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
