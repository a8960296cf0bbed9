//! dtvm-scenarios: real contracts as workloads. Uniswap v2-core 1.0.1 and v3-core 1.0.1, as
//! published on npm, driven by transaction sequences (deploy tokens and factories, create pairs
//! and pools, add liquidity, swap both ways, ERC-20 transfers and approvals).
//!
//! Every transaction runs on revm's full transaction path first: revm is the reference, and its
//! result (status, gas used, output, logs, post-state) is what every dtvm mode must reproduce
//! through `dtvm-state`'s host (real CREATE/CREATE2, storage, logs, refunds). A step is one
//! transaction with the pre-state it runs on, so each one can be re-run alone (steady state) or
//! written out as a state test.
//!
//! Module map:
//! * [`abi`]: hand ABI encoding (selectors from signatures).
//! * [`artifacts`]: the npm artifacts, read at run time from `../shared/fixtures/contracts`.
//! * [`router`]: the assembled V3 callback router.
//! * [`reference`]: revm's transaction path, and its result as an [`Observed`].
//! * [`dtvm`]: the same transaction through `dtvm-state` and an `evmc_vm*`.
//! * [`scenarios`]: the scripts: which transactions, in which order.
//! * [`statetests`]: steps as state-test JSON (expected post-state root and logs hash from revm).
pub mod abi;
pub mod artifacts;
pub mod dtvm;
pub mod reference;
pub mod router;
pub mod scenarios;
pub mod statetests;

use alloy_primitives::{Address, Bytes, B256, U256};
use dtvm_state::state::WorldState;
use dtvm_state::statetest::first_state_difference;
use dtvm_state::transaction::{BlockEnv, Transaction};
use dtvm_state::trie::Log;
use evmc_vm::Revision;

pub use scenarios::{build_all, Kind, Scenario, Step};

/// The revision every scenario runs at, and its fork name in state-test `post` sections.
pub const REV: Revision = evmc_vm::sys::EVMC_CANCUN;
/// [`REV`]'s name in state-test `post` sections.
pub const FORK: &str = "Cancun";

/// The block every transaction is included in.
pub fn block() -> BlockEnv {
    BlockEnv {
        number: 1,
        timestamp: 1_000,
        gas_limit: 30_000_000,
        coinbase: Address::repeat_byte(0xc0),
        prev_randao: B256::with_last_byte(0x2a),
        base_fee: U256::from(BASE_FEE),
        excess_blob_gas: 0,
        chain_id: U256::from(1),
        blob_schedule: None,
    }
}

/// Base fee of [`block`] and the gas price of every transaction: the coinbase earns the
/// difference per unit of gas used.
pub const BASE_FEE: u64 = 7;
/// The gas price of every transaction (legacy type).
pub const GAS_PRICE: u64 = 10;
/// Gas limit of every transaction: above what any step needs (a V3 factory deploy is ~5 M).
pub const TX_GAS_LIMIT: u64 = 15_000_000;

/// How a transaction ended, in terms both engines report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// STOP or RETURN of the top frame.
    Success,
    /// REVERT of the top frame.
    Revert,
    /// Any exceptional halt (out of gas, invalid instruction, ...).
    Halt,
}

/// What a transaction produced: the fields every engine must agree on.
#[derive(Clone, Debug)]
pub struct Observed {
    /// How the transaction ended.
    pub status: Status,
    /// Gas used by the transaction after the refund (what a receipt records).
    pub gas_used: u64,
    /// Output of a call; revert data of a failed create. A successful create's output is its
    /// deployed code, compared through the post-state instead (EVMC leaves it empty).
    pub output: Bytes,
    /// Logs of the transaction, in order (none when it failed).
    pub logs: Vec<Log>,
    /// The committed state after the transaction.
    pub post: WorldState,
}

impl Observed {
    /// The first field in which `self` (an engine under test) differs from `reference`.
    pub fn diff(&self, reference: &Observed) -> Option<String> {
        let differs = |what: &str, got: String, want: String| {
            (got != want).then(|| format!("{what} {got}, reference {want}"))
        };
        differs(
            "status",
            format!("{:?}", self.status),
            format!("{:?}", reference.status),
        )
        .or_else(|| {
            differs(
                "gas used",
                self.gas_used.to_string(),
                reference.gas_used.to_string(),
            )
        })
        .or_else(|| {
            differs(
                "output",
                self.output.to_string(),
                reference.output.to_string(),
            )
        })
        .or_else(|| self.logs_diff(reference))
        .or_else(|| {
            (self.post != reference.post).then(|| {
                let what = first_state_difference(&reference.post, &self.post)
                    .unwrap_or_else(|| "an account's cached code hash".into());
                format!("post-state: {what}")
            })
        })
    }

    fn logs_diff(&self, reference: &Observed) -> Option<String> {
        if self.logs == reference.logs {
            return None;
        }
        let i = self
            .logs
            .iter()
            .zip(&reference.logs)
            .position(|(a, b)| a != b)
            .unwrap_or(self.logs.len().min(reference.logs.len()));
        Some(format!(
            "logs differ at #{i} ({} logs, reference {})",
            self.logs.len(),
            reference.logs.len()
        ))
    }
}

/// One step's transaction prepared on one engine, re-runnable from the same pre-state: what a
/// bench times. `run` is a checked run (compare its result with the step's expected one before
/// trusting any time); `run_timed` times the transaction alone and drops its result after the
/// clock stops. The first `run` in a process that has not executed the step's code before is
/// its cold (first-call) latency.
pub trait TxRunner {
    /// One run, timed, with what it produced.
    fn run(&mut self) -> Result<(std::time::Duration, Observed), String>;
    /// One run, timed; nothing checked.
    fn run_timed(&mut self) -> std::time::Duration;
}

/// A legacy transaction of the scenarios: [`GAS_PRICE`], [`TX_GAS_LIMIT`], no value.
pub fn transaction(sender: Address, nonce: u64, to: Option<Address>, data: Vec<u8>) -> Transaction {
    Transaction {
        sender,
        to,
        nonce,
        gas_limit: TX_GAS_LIMIT,
        max_fee_per_gas: U256::from(GAS_PRICE),
        max_priority_fee_per_gas: U256::from(GAS_PRICE),
        data: Bytes::from(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dtvm_state::state::AccountData;

    #[test]
    fn diff_names_the_first_differing_field() {
        let reference = Observed {
            status: Status::Success,
            gas_used: 50_000,
            output: Bytes::from(vec![1]),
            logs: vec![Log {
                address: Address::repeat_byte(1),
                topics: vec![B256::ZERO],
                data: Bytes::new(),
            }],
            post: WorldState::default(),
        };
        assert_eq!(reference.diff(&reference), None);
        let mut got = reference.clone();
        got.post
            .accounts
            .insert(Address::repeat_byte(2), AccountData::default());
        assert!(got.diff(&reference).unwrap().starts_with("post-state"));
        got.logs.clear();
        assert!(got
            .diff(&reference)
            .unwrap()
            .starts_with("logs differ at #0"));
        got.output = Bytes::new();
        assert!(got.diff(&reference).unwrap().starts_with("output"));
        got.gas_used += 1;
        assert_eq!(
            got.diff(&reference).as_deref(),
            Some("gas used 50001, reference 50000")
        );
        got.status = Status::Revert;
        assert!(got.diff(&reference).unwrap().starts_with("status Revert"));
    }
}
