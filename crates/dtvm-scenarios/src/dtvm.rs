//! A step's transaction through `dtvm-state` (validation, intrinsic gas, the host of every frame,
//! refunds, fees) with an `evmc_vm*` behind the C function table: libdtvm in a given mode, or any
//! other EVMC VM.
//!
//! The timed region is validation plus execution up to the receipt's figures; building the
//! committed post-state (a copy of the pre-state with the changes applied) happens after the
//! clock stops, as revm's `transact` also returns only the changed accounts.
use crate::{Observed, Status, TxRunner, REV};
use alloy_primitives::Bytes;
use dtvm_state::state::WorldState;
use dtvm_state::transaction::{execute, validate, BlockEnv, Transaction};
use evmc_vm::sys::{self, EVMC_SET_OPTION_SUCCESS};
use evmc_vm::Vm;
use std::time::{Duration, Instant};

/// libdtvm's execution modes.
pub const MODES: [&str; 3] = ["interpreter", "multipass", "lazy"];

/// A libdtvm instance in `mode` (one of [`MODES`]).
pub fn vm(mode: &str) -> Result<Vm, String> {
    // SAFETY: `create` returns a fresh VM that only this `Vm` owns and destroys.
    let vm = unsafe { Vm::from_raw(dtvm::create()) };
    match vm.set_option("mode", mode) {
        EVMC_SET_OPTION_SUCCESS => Ok(vm),
        other => Err(format!("mode {mode}: set_option returned {other}")),
    }
}

/// One transaction on one VM, re-runnable from the same pre-state (dtvm-state never mutates
/// the committed pre-state).
pub struct DtvmTx<'a> {
    vm: &'a Vm,
    pre: &'a WorldState,
    tx: &'a Transaction,
    block: BlockEnv,
}

impl<'a> DtvmTx<'a> {
    /// `tx` on `pre` in [`crate::block`], executed by `vm`.
    pub fn new(vm: &'a Vm, pre: &'a WorldState, tx: &'a Transaction) -> Self {
        Self {
            vm,
            pre,
            tx,
            block: crate::block(),
        }
    }

    /// One run, timed, with what it produced.
    pub fn run(&self) -> Result<(Duration, Observed), String> {
        let start = Instant::now();
        let gas = validate(self.pre, &self.block, self.tx, REV)
            .map_err(|e| format!("invalid transaction: {e}"))?;
        let executed = execute(self.pre, &self.block, self.tx, REV, self.vm, gas);
        let took = start.elapsed();
        let r = executed.into_receipt(REV);
        if !r.host_errors.is_empty() {
            return Err(format!("host errors: {}", r.host_errors.join("; ")));
        }
        let status = match r.status {
            sys::EVMC_SUCCESS => Status::Success,
            sys::EVMC_REVERT => Status::Revert,
            _ => Status::Halt,
        };
        let output = if self.tx.to.is_none() && status == Status::Success {
            Bytes::new()
        } else {
            r.output
        };
        let gas_used = u64::try_from(r.gas_used).map_err(|_| "negative gas used")?;
        Ok((
            took,
            Observed {
                status,
                gas_used,
                output,
                logs: r.logs,
                post: r.post,
            },
        ))
    }

    /// One run, timed; the result is dropped after the clock stops. A transaction that fails
    /// validation takes no time (callers check with [`DtvmTx::run`] first).
    pub fn run_timed(&self) -> Duration {
        let start = Instant::now();
        let Ok(gas) = validate(self.pre, &self.block, self.tx, REV) else {
            return Duration::ZERO;
        };
        let executed = execute(self.pre, &self.block, self.tx, REV, self.vm, gas);
        let took = start.elapsed();
        std::hint::black_box(&executed);
        took
    }
}

impl TxRunner for DtvmTx<'_> {
    fn run(&mut self) -> Result<(Duration, Observed), String> {
        DtvmTx::run(self)
    }
    fn run_timed(&mut self) -> Duration {
        DtvmTx::run_timed(self)
    }
}
