//! The comparator of dtvm's EIP-3155 traces with revm's `TracerEip3155` (the oracle): line by
//! line, field by field, after normalizing what the two write differently on purpose:
//! * `memSize`: dtvm writes a number (the EIP's type), revm a hex string; compared as numbers.
//! * `error`: revm also writes it on successful halts (`Stop`, `Return`, `SelfDestruct`); only
//!   its presence on failures and reverts is compared, since the wording differs per client.
//! * `gasCost` on a failing line: revm writes 0 for an unpaid static cost, dtvm the cost it
//!   could not pay; not compared there.
//! * `opName` of 0x44: revm names it DIFFICULTY in every fork, dtvm PREVRANDAO (EIP-4399).
//! * `opName` of a byte that fails as undefined: revm names bytes that later forks define
//!   (SLOTNUM 0x4b, SWAPN 0xe7) in every fork, dtvm writes no name for a byte its revisions do
//!   not define; compared only where dtvm writes one.
//! * `returnData` (revm always writes `0x`), revm's EIP-8037 `reservoir` and `stateGas`: not
//!   compared.
//! * summary: `gasUsed` is the transaction's in revm and the outermost message's in dtvm (a VM
//!   does not see the intrinsic gas): compared with the intrinsic gas added; dtvm writes no
//!   `stateRoot` (revm writes zeros).
//! * summary of a CREATE transaction whose returned code the host rejects (EIP-170 size limit,
//!   EIP-3541 0xEF prefix, code deposit out of gas): dtvm's summary is the VM's (it returned
//!   successfully), revm's is the creation's (failed, all gas used); only `output` is compared
//!   there.
//! * a transaction whose outermost message runs no code (an account without code, a
//!   precompile): the host never enters dtvm, which writes nothing; revm writes a summary line
//!   alone. The two agree when dtvm's trace is empty and revm's is that one line.
//! * a nested or outermost frame with no code to run that revm still interprets (a CREATE with
//!   empty init code): revm writes one line for it, the STOP it reads past the end of the
//!   empty code (pc 0, one level deeper), dtvm none, as geth (its interpreter returns at once
//!   on empty code); such a revm line is dropped where dtvm has no line at that depth.
//!
//! Every other field of every line (`pc`, `op`, `depth`, `stack`, `gas`, `refund`, `gasCost`)
//! is compared, nested frames included, and the summary's `pass` and `output`.
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A trace sink the tests read back.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

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
    /// The lines written since the last call, parsed; the buffer is left empty.
    pub fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// A number written as a JSON number or as a `0x` hex string.
pub fn num(v: &Value) -> Option<u64> {
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

fn is_summary(line: &Value) -> bool {
    line.get("pass").is_some() && line.get("pc").is_none()
}

/// The first difference between a dtvm and a revm step line.
pub fn step_diff(d: &Value, r: &Value) -> Option<String> {
    let name = |l: &Value| match l["opName"].as_str() {
        Some("DIFFICULTY") => Value::from("PREVRANDAO"),
        _ => l["opName"].clone(),
    };
    // revm names bytes of later forks (e.g. SLOTNUM, SWAPN) in every fork; dtvm names only what
    // some revision it runs defines. Where the byte fails as undefined, the name is not compared.
    let unnamed_undefined = d.get("opName").is_none() && is_failure(d) && is_failure(r);
    if name(d) != name(r) && !unnamed_undefined {
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

/// Whether revm's line `i` is the only line of a frame with no code to run: STOP at pc 0, one
/// level deeper than the line before it (or the first line), and followed by a shallower line
/// or the summary.
fn lone_stop_frame(r: &[Value], i: usize) -> bool {
    let depth = |l: &Value| num(&l["depth"]);
    let l = &r[i];
    let before = if i == 0 { Some(0) } else { depth(&r[i - 1]) };
    num(&l["op"]) == Some(0)
        && num(&l["pc"]) == Some(0)
        && before.map(|b| b + 1) == depth(l)
        && r.get(i + 1)
            .is_none_or(|n| is_summary(n) || depth(n) < depth(l))
}

/// revm's lines without the lone STOP lines of frames that run no code where dtvm has no line
/// for them (see the module docs); a frame whose code is a STOP has the line in both.
fn without_empty_frames<'a>(d: &[Value], r: &'a [Value]) -> Vec<&'a Value> {
    let mut kept = Vec::with_capacity(r.len());
    for (i, l) in r.iter().enumerate() {
        let dl = d.get(kept.len());
        let dtvm_has_it = dl.is_some_and(|dl| !is_summary(dl) && dl["depth"] == l["depth"]);
        if dtvm_has_it || !lone_stop_frame(r, i) {
            kept.push(l);
        }
    }
    kept
}

/// What the comparison needs to know of the traced transaction.
#[derive(Clone, Copy, Debug)]
pub struct TxInfo {
    /// The intrinsic gas, which revm's summary counts and dtvm's does not.
    pub intrinsic: u64,
    /// A contract-creating transaction.
    pub create: bool,
}

/// Compares dtvm's trace `d` of one transaction with revm's `r` under the normalizations of the
/// module docs. `Err` names the first difference.
pub fn compare(d: &[Value], r: &[Value], tx: TxInfo) -> Result<(), String> {
    let intrinsic = tx.intrinsic;
    if d.is_empty() && r.len() == 1 && is_summary(&r[0]) {
        return Ok(());
    }
    let r = without_empty_frames(d, r);
    if d.len() != r.len() {
        let first = d
            .iter()
            .zip(&r)
            .position(|(a, b)| step_diff(a, b).is_some());
        return Err(format!(
            "{} lines vs revm's {}; first differing line {first:?}: {:?} / {:?}",
            d.len(),
            r.len(),
            first.map(|i| &d[i]),
            first.map(|i| r[i])
        ));
    }
    let Some(n) = d.len().checked_sub(1) else {
        return Err("neither engine wrote a line".into());
    };
    if let Some((i, diff)) = (0..n).find_map(|i| step_diff(&d[i], r[i]).map(|m| (i, m))) {
        return Err(format!(
            "line {i}: {diff}\n  dtvm {}\n  revm {}",
            d[i], r[i]
        ));
    }
    let (ds, rs) = (&d[n], r[n]);
    let code_rejected = tx.create && ds["pass"] == true && rs["pass"] == false;
    if code_rejected && ds["output"] == rs["output"] {
        return Ok(());
    }
    if ds["pass"] != rs["pass"]
        || ds["output"] != rs["output"]
        || num(&ds["gasUsed"]).map(|g| g + intrinsic) != num(&rs["gasUsed"])
    {
        return Err(format!(
            "summary (intrinsic gas {intrinsic}): dtvm {ds} revm {rs}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(pc: u64, op: u64, depth: u64, gas: u64) -> Value {
        json!({"pc": pc, "op": op, "gas": format!("{gas:#x}"), "gasCost": "0x3", "memSize": 0,
               "stack": [], "depth": depth, "refund": "0x0"})
    }

    fn summary(used: u64, pass: bool) -> Value {
        json!({"output": "0x", "gasUsed": format!("{used:#x}"), "pass": pass})
    }

    const CALL: TxInfo = TxInfo {
        intrinsic: 21_000,
        create: false,
    };

    #[test]
    fn equal_traces_compare_equal_and_any_field_differs() {
        let d = vec![step(0, 0x60, 1, 100), summary(3, true)];
        let r = vec![step(0, 0x60, 1, 100), summary(21_003, true)];
        assert_eq!(compare(&d, &r, CALL), Ok(()));
        let r2 = vec![step(0, 0x60, 1, 99), summary(21_003, true)];
        assert!(compare(&d, &r2, CALL).unwrap_err().contains("gas"));
        let r3 = vec![step(0, 0x60, 1, 100), summary(3, true)];
        assert!(compare(&d, &r3, CALL).unwrap_err().contains("summary"));
    }

    #[test]
    fn lone_stop_of_an_empty_frame_is_dropped_only_where_dtvm_has_no_line() {
        // A CREATE at depth 1 whose init code is empty: revm's extra STOP line at depth 2.
        let create = step(0, 0xf0, 1, 100);
        let after = step(1, 0x50, 1, 50);
        let d = vec![create.clone(), after.clone(), summary(3, true)];
        let r = vec![
            create.clone(),
            step(0, 0, 2, 40),
            after.clone(),
            summary(21_003, true),
        ];
        assert_eq!(compare(&d, &r, CALL), Ok(()));
        // Init code that is a STOP: both write the line, and a missing one is a difference.
        let d_stop = vec![create.clone(), step(0, 0, 2, 40), after, summary(3, true)];
        assert_eq!(compare(&d_stop, &r, CALL), Ok(()));
        let r_other = vec![create, step(0, 0, 2, 41), step(1, 0x50, 1, 50)];
        assert!(compare(&d_stop[..3], &r_other, CALL).is_err());
    }
}
