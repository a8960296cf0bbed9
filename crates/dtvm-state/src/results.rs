//! Machine-readable state-test results: one JSON object per case, in the shape geth's
//! `evm statetest --json` prints and goevmlab reads (`name`, `pass`, `stateRoot`, `fork`,
//! `error`), with the case's `index` (its position in the test's `post` list for its fork) and
//! `logsHash` added.

use crate::statetest::{run_case_detailed, Case, Outcome, StateTest};
use crate::B256;
use evmc_vm::Vm;
use serde::Serialize;

/// One case's outcome with the post-state root and logs hash it computed (`None` when the case
/// ended before computing them: unknown fork, fixture or host error, validity mismatch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRun {
    /// Pass, fail or skip.
    pub outcome: Outcome,
    /// The post-state root.
    pub state_root: Option<B256>,
    /// The hash of the transaction's logs.
    pub logs_hash: Option<B256>,
}

/// The result record of one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    /// The test's name.
    pub name: String,
    /// The fork name as the fixture spells it.
    pub fork: String,
    /// The case's index among the test's cases for its fork.
    pub index: usize,
    /// Whether state root, logs hash and validity matched.
    pub pass: bool,
    /// The computed post-state root (0x-prefixed hex), when the run got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_root: Option<String>,
    /// The computed logs hash (0x-prefixed hex), when the run got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_hash: Option<String>,
    /// Why the case failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CaseResult {
    /// The record as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a CaseResult always serializes")
    }
}

/// Runs every case of `test` on `vm`, in fixture order, each as a [`CaseResult`]. To trace one
/// case, run it on a VM with the `trace` option set (`dtvm::set_trace_sink` for a Rust sink).
pub fn run_test(test: &StateTest, vm: &Vm) -> Vec<CaseResult> {
    let mut per_fork: std::collections::HashMap<&str, usize> = Default::default();
    test.cases
        .iter()
        .map(|case| {
            let index = per_fork.entry(case.fork.as_str()).or_default();
            let r = case_result(test, case, *index, vm);
            *index += 1;
            r
        })
        .collect()
}

/// Runs one case (`index` is its position among the test's cases for its fork).
pub fn case_result(test: &StateTest, case: &Case, index: usize, vm: &Vm) -> CaseResult {
    record(test, case, index, &run_case_detailed(test, case, vm))
}

/// The record of a case already run (`index` is its position among the test's cases for its
/// fork).
pub fn record(test: &StateTest, case: &Case, index: usize, run: &CaseRun) -> CaseResult {
    let (pass, error) = match &run.outcome {
        Outcome::Pass => (true, None),
        Outcome::Skipped(why) => (false, Some(format!("skipped: {why}"))),
        Outcome::Fail(why) => (false, Some(why.clone())),
    };
    CaseResult {
        name: test.name.clone(),
        fork: case.fork.clone(),
        index,
        pass,
        state_root: run.state_root.map(|h| h.to_string()),
        logs_hash: run.logs_hash.map(|h| h.to_string()),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let r = CaseResult {
            name: "t".into(),
            fork: "Cancun".into(),
            index: 2,
            pass: true,
            state_root: Some(B256::repeat_byte(0xab).to_string()),
            logs_hash: None,
            error: None,
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(v["name"], "t");
        assert_eq!(v["fork"], "Cancun");
        assert_eq!(v["index"], 2);
        assert_eq!(v["pass"], true);
        assert_eq!(v["stateRoot"], format!("0x{}", "ab".repeat(32)));
        assert!(v.get("logsHash").is_none() && v.get("error").is_none());
    }
}
