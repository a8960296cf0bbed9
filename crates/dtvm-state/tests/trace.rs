//! EIP-3155 tracing end to end: state-test cases run on a VM that traces into a buffer. Each
//! case's result must equal the untraced run's (tracing never changes the execution), every line
//! must parse with the EIP's required fields and types, and the per-instruction gas must be
//! consistent: within a frame, the next line's `gas` is this line's `gas` minus its `gasCost`,
//! except after a CALL or CREATE line (the unused forwarded gas comes back).
use dtvm_state::results::run_test;
use dtvm_state::statetest::load_file;
use evmc_vm::Vm;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn hex(v: &Value, field: &str) -> u64 {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} not a string: {v}"));
    u64::from_str_radix(s.strip_prefix("0x").expect("0x prefix"), 16).expect("hex number")
}

/// Checks a trace's lines; returns the number of instruction lines.
fn check_trace(text: &str) -> usize {
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = lines.last().expect("a summary line");
    assert!(
        summary["pass"].is_boolean() && summary["output"].is_string(),
        "{summary}"
    );
    hex(summary, "gasUsed");
    let steps = &lines[..lines.len() - 1];
    for (i, l) in steps.iter().enumerate() {
        assert!(
            l["pc"].is_u64() && l["op"].is_u64() && l["memSize"].is_u64(),
            "{l}"
        );
        assert!(l["depth"].as_u64().is_some_and(|d| d >= 1), "{l}");
        assert!(l["stack"].as_array().unwrap().iter().all(|w| w
            .as_str()
            .is_some_and(|w| w.starts_with("0x") && w.len() > 2)));
        assert!(l["returnData"].as_str().unwrap().starts_with("0x"));
        hex(l, "refund");
        let (gas, cost) = (hex(l, "gas"), hex(l, "gasCost"));
        let Some(next) = steps.get(i + 1) else {
            continue;
        };
        let name = l["opName"].as_str().unwrap_or("");
        let nested = name.contains("CALL") || name.starts_with("CREATE");
        if next["depth"] == l["depth"] && l.get("error").is_none() && !nested {
            assert_eq!(hex(next, "gas"), gas - cost, "gas after {l}");
        }
    }
    steps.len()
}

#[test]
fn traced_cases_match_untraced_and_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/state_tests/ethereum-tests-GeneralStateTests");
    let files = [
        "stCallCodes/callcall_00.json",
        "stCreate2/CREATE2_Bounds.json",
        "stRefundTest/refund_CallA.json",
        "stMemoryTest/mem64kb.json",
        "stStackTests/stackOverflowM1.json",
        "stRevertTest/RevertOpcodeCalls.json",
    ];
    let mut steps = 0;
    let mut cases = 0;
    for file in files {
        let path = root.join(file);
        let tests = load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for test in &tests {
            // SAFETY: fresh VMs owned by the wrappers.
            let (plain, traced) =
                unsafe { (Vm::from_raw(dtvm::create()), Vm::from_raw(dtvm::create())) };
            let buffer = Arc::new(Mutex::new(Vec::new()));
            // SAFETY: a live VM.
            assert!(unsafe { dtvm::set_trace_sink(traced.raw(), buffer.clone()) });
            // A JIT mode: traced calls run interpreted whatever the mode.
            assert_eq!(traced.set_option("mode", "multipass"), 0);
            let expected = run_test(test, &plain);
            for (case, want) in test.cases.iter().zip(&expected) {
                buffer.lock().unwrap().clear();
                let got = dtvm_state::results::case_result(test, case, want.index, &traced);
                assert_eq!(&got, want, "{file}");
                assert!(got.pass, "{file}: {got:?}");
                let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
                steps += check_trace(&text);
                cases += 1;
            }
        }
    }
    assert!(cases > 0 && steps > 0);
    eprintln!("{cases} cases, {steps} trace lines checked");
}
