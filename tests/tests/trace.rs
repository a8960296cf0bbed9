//! dtvm's EIP-3155 trace against revm's `TracerEip3155` (the oracle) on the generated programs:
//! line by line, field by field, after normalizing what the two write differently on purpose:
//! * `memSize`: dtvm writes a number (the EIP's type), revm a hex string; compared as numbers.
//! * `error`: revm also writes it on successful halts (`Stop`, `Return`, `SelfDestruct`); only
//!   its presence on failures and reverts is compared, since the wording differs per client.
//! * `gasCost` on a failing line: revm writes 0 for an unpaid static cost, dtvm the cost it
//!   could not pay; not compared there.
//! * `opName` of 0x44: revm names it DIFFICULTY in every fork, dtvm PREVRANDAO (EIP-4399).
//! * `returnData` (revm always writes `0x`), revm's EIP-8037 `reservoir` and `stateGas`: not
//!   compared.
//! * summary: `gasUsed` is the transaction's in revm and the outermost message's in dtvm (a VM
//!   does not see the intrinsic gas): compared with the intrinsic gas added; dtvm writes no
//!   `stateRoot` (revm writes zeros).
use dtvm_tests::host::TestHost;
use dtvm_tests::rng::SplitMix64;
use dtvm_tests::{gen, modes, on_evm_stack, reference};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

const SEED: u64 = 0x3155_0000;
const PROGRAMS: u64 = 300;

/// A trace sink the test reads back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn num(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        _ => None,
    }
}

fn is_failure(line: &Value) -> bool {
    match line.get("error").and_then(Value::as_str) {
        None => false,
        Some(e) => !matches!(e, "Stop" | "Return" | "SelfDestruct"),
    }
}

/// The first difference between a dtvm and a revm step line.
fn step_diff(d: &Value, r: &Value) -> Option<String> {
    let name = |l: &Value| match l["opName"].as_str() {
        Some("DIFFICULTY") => Value::from("PREVRANDAO"),
        _ => l["opName"].clone(),
    };
    if name(d) != name(r) {
        return Some(format!("opName: dtvm {} revm {}", d["opName"], r["opName"]));
    }
    for f in ["pc", "op", "depth", "stack"] {
        if d[f] != r[f] {
            return Some(format!("{f}: dtvm {} revm {}", d[f], r[f]));
        }
    }
    for f in ["gas", "memSize", "refund"] {
        if num(&d[f]) != num(&r[f]) {
            return Some(format!("{f}: dtvm {} revm {}", d[f], r[f]));
        }
    }
    if is_failure(d) != is_failure(r) {
        return Some(format!("error: dtvm {} revm {}", d["error"], r["error"]));
    }
    if !is_failure(d) && num(&d["gasCost"]) != num(&r["gasCost"]) {
        return Some(format!(
            "gasCost: dtvm {} revm {}",
            d["gasCost"], r["gasCost"]
        ));
    }
    None
}

#[test]
fn dtvm_trace_equals_revm_tracer() {
    on_evm_stack(compare)
}

fn compare() {
    let vm = modes::vm("interpreter").unwrap();
    let sink = Buffer::default();
    // SAFETY: a live VM.
    assert!(unsafe { dtvm::set_trace_sink(vm.raw(), Arc::new(Mutex::new(sink.clone()))) });
    let (mut failures, mut lines, mut compared) = (Vec::new(), 0usize, 0u64);
    for i in 0..PROGRAMS {
        let seed = SEED + i;
        let sc = gen::scenario(&mut SplitMix64::new(seed));
        let oracle = Buffer::default();
        if reference::trace(&sc, Box::new(oracle.clone())).is_err() {
            continue; // revm refused the transaction: the differential test reports those
        }
        let host = TestHost::new(&vm, sc.rev, &sc.pre);
        host.transact(&sc.tx);
        let (d, r) = (sink.lines(), oracle.lines());
        compared += 1;
        lines += d.len();
        let fail = |msg: String| format!("seed {seed:#x}: {msg}\n{}", sc.reproducer());
        if d.len() != r.len() {
            let first = d
                .iter()
                .zip(&r)
                .position(|(a, b)| step_diff(a, b).is_some());
            failures.push(fail(format!(
                "{} lines vs revm's {}; first differing line {first:?}: {:?} / {:?}",
                d.len(),
                r.len(),
                first.map(|i| &d[i]),
                first.map(|i| &r[i])
            )));
            continue;
        }
        let n = d.len() - 1;
        if let Some((i, diff)) = (0..n).find_map(|i| step_diff(&d[i], &r[i]).map(|m| (i, m))) {
            failures.push(fail(format!(
                "line {i}: {diff}\n  dtvm {}\n  revm {}",
                d[i], r[i]
            )));
            continue;
        }
        let (ds, rs) = (&d[n], &r[n]);
        let intrinsic = reference::intrinsic_gas(sc.rev, &sc.tx.input);
        if ds["pass"] != rs["pass"]
            || ds["output"] != rs["output"]
            || num(&ds["gasUsed"]).map(|g| g + intrinsic) != num(&rs["gasUsed"])
        {
            failures.push(fail(format!("summary: dtvm {ds} revm {rs}")));
        }
    }
    eprintln!("{compared} programs, {lines} trace lines compared");
    assert!(compared > PROGRAMS / 2);
    assert!(
        failures.is_empty(),
        "{} of {compared} traces differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
