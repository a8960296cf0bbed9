//! EIP-3155 execution traces: one JSON line per executed instruction and a summary line at the
//! end of the outermost call.
//!
//! A traced frame runs the interpreter's loop with [`FrameTracer`] as its step hook (a separate
//! instance of the loop: untraced runs are unaffected). That instance charges each instruction's
//! static gas and checks its stack before it runs, instead of once per basic block, so the trace
//! shows each instruction with the gas left before it (`gas`) and what it cost (`gasCost`: static
//! cost plus memory expansion, copies, access and storage costs; for CALL and CREATE also the gas
//! forwarded to the nested frame, stipend excluded, as geth and revm report it). The outcome of a
//! traced run (status, gas, refund, output, state) is the same as an untraced one's: a block's
//! checks fail exactly when one of its instructions' would, and consume all gas either way.
//!
//! Line fields, in the EIP's order and types: `pc` (number), `op` (number), `gas`, `gasCost`
//! (hex), `memSize` (number, bytes), `stack` (hex words, bottom first), `depth` (number, 1 for
//! the outermost frame), `returnData` (hex bytes of the last nested call's output), `refund`
//! (hex: the frame's refund counter, children's refunds included once they return; a negative
//! counter is written as its 64-bit two's complement, as revm writes it), `opName` (omitted for
//! bytes no revision defines) and `error` (only on the instruction that ends the frame with a
//! failure or a revert).
//!
//! The summary line has `output`, `gasUsed` (gas used by the outermost message: the VM does not
//! see the transaction's intrinsic gas), `pass`, `time` (nanoseconds) and, on failure, `error`.
//! `stateRoot` is the host's to write: a VM has no state root.

use crate::interpreter::{run_with, Step};
use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use dtvm_core::analysis::{analysis_cache, UNDEFINED_MARK};
use dtvm_core::gas::{static_gas_table, GasTable};
use dtvm_core::opcode::OPCODES;
use dtvm_core::{Revision, STACK_LIMIT, U256};
use dtvm_runtime::{execute_observed, Frame, NestedCallObserver, Status};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where trace lines go: each line is written whole, with its newline, under the lock.
pub type TraceSink = Arc<Mutex<dyn Write + Send>>;

/// The default sink: the process's stderr.
pub fn stderr_sink() -> TraceSink {
    Arc::new(Mutex::new(std::io::stderr()))
}

/// Executes `code` for `msg` in the interpreter, writing its EIP-3155 trace to `sink`: a line per
/// instruction and, when `msg` is the outermost message (depth 0), the summary line. Nested
/// frames are traced when the host runs them through a VM that traces to the same sink.
pub fn execute_traced(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
    sink: &TraceSink,
) -> ExecutionResult {
    let start = Instant::now();
    let result = if code.is_empty() {
        ExecutionResult::new(EVMC_SUCCESS, msg.gas().max(0), 0, Vec::new())
    } else {
        let analysis = analysis_cache().get(code, rev);
        let tracer = FrameTracer {
            sink,
            code: analysis.code(),
            gas_table: static_gas_table(rev),
            depth: msg.depth() as i64 + 1,
            line: RefCell::new(Line::default()),
        };
        execute_observed(ctx, rev, msg, &analysis, Some(&tracer), |frame| {
            let status = run_with(frame, 0, &tracer);
            tracer.close(frame.gas_left, error_name(status));
            status
        })
    };
    if msg.depth() == 0 {
        let mut s = String::from("{\"output\":\"0x");
        hex_bytes(&mut s, &result.output);
        let used = msg.gas().max(0) - result.gas_left;
        let pass = result.status_code == EVMC_SUCCESS;
        let _ = write!(
            s,
            "\",\"gasUsed\":\"{used:#x}\",\"pass\":{pass},\"time\":{}",
            start.elapsed().as_nanos()
        );
        if let Some(error) = error_name(result.status_code) {
            let _ = write!(s, ",\"error\":\"{error}\"");
        }
        s.push('}');
        write_line(sink, s);
    }
    result
}

/// The `error` of a trace line or summary for a frame that ended with `status`; `None` for
/// success.
pub fn error_name(status: Status) -> Option<&'static str> {
    Some(match status {
        EVMC_SUCCESS => return None,
        EVMC_REVERT => "execution reverted",
        EVMC_OUT_OF_GAS => "out of gas",
        EVMC_INVALID_INSTRUCTION => "invalid opcode",
        EVMC_UNDEFINED_INSTRUCTION => "undefined opcode",
        EVMC_STACK_OVERFLOW => "stack overflow",
        EVMC_STACK_UNDERFLOW => "stack underflow",
        EVMC_BAD_JUMP_DESTINATION => "invalid jump destination",
        EVMC_INVALID_MEMORY_ACCESS => "return data out of bounds",
        EVMC_STATIC_MODE_VIOLATION => "write protection",
        EVMC_CALL_DEPTH_EXCEEDED => "max call depth exceeded",
        EVMC_INTERNAL_ERROR => "internal error",
        _ => "failure",
    })
}

/// The instruction being traced: its fields as they were before it ran.
#[derive(Default)]
struct Line {
    /// A line is open from [`FrameTracer::before`] until it is written.
    open: bool,
    pc: usize,
    op: u8,
    gas: i64,
    mem_size: usize,
    refund: i64,
    stack: Vec<U256>,
    return_data: Vec<u8>,
}

/// The step hook and nested-call observer of one traced frame.
struct FrameTracer<'t> {
    sink: &'t TraceSink,
    /// The original code (the executed copy has undefined opcodes replaced).
    code: &'t [u8],
    gas_table: &'static GasTable,
    depth: i64,
    line: RefCell<Line>,
}

impl FrameTracer<'_> {
    /// Writes the open line, if any, with the gas left after the instruction.
    fn close(&self, gas_after: i64, error: Option<&str>) {
        let mut line = self.line.borrow_mut();
        if !line.open {
            return;
        }
        line.open = false;
        let mut s = String::with_capacity(128 + 70 * line.stack.len());
        let _ = write!(
            s,
            "{{\"pc\":{},\"op\":{},\"gas\":\"{:#x}\",\"gasCost\":\"{:#x}\",\"memSize\":{},\"stack\":[",
            line.pc,
            line.op,
            line.gas,
            line.gas - gas_after,
            line.mem_size
        );
        for (i, v) in line.stack.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('"');
            hex_word(&mut s, v);
            s.push('"');
        }
        let _ = write!(s, "],\"depth\":{},\"returnData\":\"0x", self.depth);
        hex_bytes(&mut s, &line.return_data);
        let _ = write!(s, "\",\"refund\":\"{:#x}\"", line.refund as u64);
        let info = &OPCODES[line.op as usize];
        if info.since.is_some() {
            let _ = write!(s, ",\"opName\":\"{}\"", info.name);
        }
        if let Some(error) = error {
            let _ = write!(s, ",\"error\":\"{error}\"");
        }
        s.push('}');
        drop(line);
        write_line(self.sink, s);
    }
}

impl Step for FrameTracer<'_> {
    const ON: bool = true;

    fn before(&self, f: &mut Frame<'_, '_>, pc: usize, op: u8) -> Result<(), Status> {
        self.close(f.gas_left, None);
        {
            let mut line = self.line.borrow_mut();
            let height = f.stack_height();
            line.open = true;
            line.pc = pc;
            line.op = self.code.get(pc).copied().unwrap_or(0); // past the end: the padding STOP
            line.gas = f.gas_left;
            line.mem_size = f.memory.len();
            line.refund = f.gas_refund;
            line.stack.clear();
            // SAFETY: the `height` items from `stack_base` are the frame's live stack.
            line.stack
                .extend_from_slice(unsafe { std::slice::from_raw_parts(f.stack_base, height) });
            line.return_data.clear();
            line.return_data.extend_from_slice(&f.return_data);
        }
        if op == UNDEFINED_MARK {
            return Ok(()); // the dispatch ends the frame with EVMC_UNDEFINED_INSTRUCTION
        }
        // The checks `Frame::begin_block` makes for a whole block, for this instruction alone.
        f.charge(self.gas_table[op as usize] as i64)?;
        let info = &OPCODES[op as usize];
        let height = f.stack_height();
        if height < info.stack_in as usize {
            return Err(EVMC_STACK_UNDERFLOW);
        }
        if height - info.stack_in as usize + info.stack_out as usize > STACK_LIMIT {
            return Err(EVMC_STACK_OVERFLOW);
        }
        Ok(())
    }
}

impl NestedCallObserver for FrameTracer<'_> {
    fn before_nested(&self, f: &Frame<'_, '_>, forwarded: i64) {
        self.close(f.gas_left - forwarded, None);
    }
}

fn write_line(sink: &TraceSink, mut line: String) {
    line.push('\n');
    // A poisoned lock only means another thread panicked mid-line; the sink is still usable.
    let mut w = sink.lock().unwrap_or_else(|e| e.into_inner());
    // Tracing must not change the execution: a failing sink loses lines, nothing else.
    let _ = w.write_all(line.as_bytes());
}

/// Appends a word as a minimal hex number (`0x0`, `0x1f`).
fn hex_word(s: &mut String, v: &U256) {
    if v.is_zero() {
        s.push_str("0x0");
    } else {
        let _ = write!(s, "{v:#x}");
    }
}

/// Appends bytes as hex digits (no prefix).
fn hex_bytes(s: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
}
