//! The reference: revm's full transaction path (validation, caller load, intrinsic gas, warm
//! sets, frames, refunds, coinbase payment, state finalization) on an in-memory `CacheDB`
//! holding a step's pre-state, and its result as an [`Observed`].
//!
//! `transact` does not commit, so every run of a [`RevmTx`] starts from the same pre-state; the
//! database and revm's bytecode analysis stay warm between runs, as dtvm's code caches do.
use crate::{Observed, Status, TxRunner};
use alloy_primitives::{Bytes, B256, U256};
use dtvm_state::host::delegate_of;
use dtvm_state::state::{AccountData, WorldState, EMPTY_CODE_HASH};
use dtvm_state::transaction::{BlockEnv, Transaction, TxType};
use dtvm_state::trie::Log;
use evmc_vm::{sys, Revision};
use revm::context::result::{ExecutionResult, Output};
use revm::context::transaction::{
    AccessList, AccessListItem, Authorization, RecoveredAuthority, RecoveredAuthorization,
};
use revm::context::{BlockEnv as RevmBlockEnv, CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::primitives::TxKind;
use revm::state::{AccountInfo, Bytecode, EvmState};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use std::time::{Duration, Instant};

/// revm's fork for [`crate::REV`].
pub const SPEC: SpecId = SpecId::CANCUN;

type RevmEvm = MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>;

/// `pre` as revm's in-memory database at revision `rev`: code that is an EIP-7702 designator is
/// one only from Prague; before, and for any other bytes, it is legacy code.
pub fn database(pre: &WorldState, rev: Revision) -> Result<CacheDB<EmptyDB>, String> {
    let mut db = CacheDB::new(EmptyDB::default());
    for (addr, a) in &pre.accounts {
        let designator = rev >= sys::EVMC_PRAGUE && delegate_of(&a.code).is_some();
        let code = if designator {
            Bytecode::new_raw(a.code.clone())
        } else {
            Bytecode::new_legacy(a.code.clone())
        };
        let info = AccountInfo::new(a.balance, a.nonce, a.code_hash, code);
        db.insert_account_info(*addr, info);
        for (k, v) in &a.storage {
            db.insert_account_storage(*addr, U256::from_be_bytes(k.0), U256::from_be_bytes(v.0))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(db)
}

/// dtvm-state's block as revm's at revision `rev`: `prev_randao` is also the difficulty (it
/// holds the difficulty before Paris), and the blob base fee follows the block's blob schedule.
pub fn block_env(b: &BlockEnv, rev: Revision) -> RevmBlockEnv {
    RevmBlockEnv {
        number: U256::from(b.number),
        beneficiary: b.coinbase,
        timestamp: U256::from(b.timestamp),
        gas_limit: b.gas_limit as u64,
        basefee: u64::try_from(b.base_fee).unwrap_or(u64::MAX),
        difficulty: U256::from_be_bytes(b.prev_randao.0),
        prevrandao: Some(b.prev_randao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            b.excess_blob_gas,
            b.blob_schedule(rev).base_fee_update_fraction,
        )),
        slot_num: 0,
    }
}

/// dtvm-state's transaction as revm's, of the same EIP-2718 type, on chain `chain_id`.
/// Authorizations carry the authority dtvm-state recovered (`None`: an invalid signature), so
/// revm needs no signature recovery of its own.
pub fn tx_env(tx: &Transaction, chain_id: u64) -> Result<TxEnv, String> {
    let fee = |v: U256, what: &str| u128::try_from(v).map_err(|_| format!("{what} above u128"));
    let access_list = tx
        .access_list
        .iter()
        .map(|(address, keys)| AccessListItem {
            address: *address,
            storage_keys: keys.clone(),
        })
        .collect::<Vec<_>>();
    let authorizations = tx
        .authorizations
        .iter()
        .map(|(a, authority)| {
            let inner = Authorization {
                chain_id: a.chain_id,
                address: a.address,
                nonce: a.nonce,
            };
            let authority =
                authority.map_or(RecoveredAuthority::Invalid, RecoveredAuthority::Valid);
            RecoveredAuthorization::new_unchecked(inner, authority)
        })
        .collect();
    TxEnv::builder()
        .tx_type(Some(tx.tx_type as u8))
        .caller(tx.sender)
        .gas_limit(tx.gas_limit)
        .gas_price(fee(tx.max_fee_per_gas, "gas price")?)
        .gas_priority_fee(match tx.tx_type {
            TxType::Legacy | TxType::AccessList => None,
            _ => Some(fee(tx.max_priority_fee_per_gas, "priority fee")?),
        })
        .kind(tx.to.map_or(TxKind::Create, TxKind::Call))
        .data(tx.data.clone())
        .value(tx.value)
        .nonce(tx.nonce)
        .chain_id(Some(chain_id))
        .access_list(AccessList(access_list))
        .blob_hashes(tx.blob_hashes.clone())
        .max_fee_per_blob_gas(fee(tx.max_fee_per_blob_gas, "blob fee")?)
        .authorization_list_recovered(authorizations)
        .build()
        .map_err(|e| format!("revm transaction: {e:?}"))
}

/// The committed state after a transaction: `pre` with revm's changes applied. Touched empty
/// accounts are gone (EIP-161; no scenario runs before Spurious Dragon).
fn apply(pre: &WorldState, changes: EvmState) -> WorldState {
    let mut post = pre.clone();
    for (addr, acc) in changes {
        if !acc.is_touched() {
            continue;
        }
        if acc.is_selfdestructed() {
            post.accounts.remove(&addr);
            continue;
        }
        let entry = post.accounts.entry(addr).or_default();
        if acc.is_created() {
            entry.storage.clear();
        }
        entry.nonce = acc.info.nonce;
        entry.balance = acc.info.balance;
        if acc.info.code_hash != entry.code_hash {
            entry.code = match &acc.info.code {
                Some(code) if acc.info.code_hash != EMPTY_CODE_HASH => code.original_bytes(),
                _ => Bytes::new(),
            };
            entry.code_hash = acc.info.code_hash;
        }
        for (key, slot) in acc.storage {
            let key = B256::from(key.to_be_bytes::<32>());
            if slot.present_value.is_zero() {
                entry.storage.remove(&key);
            } else {
                entry
                    .storage
                    .insert(key, B256::from(slot.present_value.to_be_bytes::<32>()));
            }
        }
        if entry.is_empty() {
            post.accounts.remove(&addr);
        }
    }
    post
}

fn logs(logs: Vec<revm::primitives::Log>) -> Vec<Log> {
    logs.into_iter()
        .map(|l| Log {
            address: l.address,
            topics: l.data.topics().to_vec(),
            data: l.data.data,
        })
        .collect()
}

/// One transaction prepared on revm, re-runnable from the same pre-state.
pub struct RevmTx {
    evm: RevmEvm,
    tx: TxEnv,
    pre: WorldState,
}

impl RevmTx {
    /// `tx` on `pre` in [`crate::block`].
    pub fn new(pre: &WorldState, tx: &Transaction) -> Result<Self, String> {
        let mut cfg = CfgEnv::new_with_spec(SPEC);
        cfg.chain_id = 1;
        let evm = Context::mainnet()
            .with_db(database(pre, crate::REV)?)
            .with_cfg(cfg)
            .with_block(block_env(&crate::block(), crate::REV))
            .build_mainnet();
        Ok(Self {
            evm,
            tx: tx_env(tx, 1)?,
            pre: pre.clone(),
        })
    }

    /// One run, timed (the transaction alone), with what it produced.
    pub fn run(&mut self) -> Result<(Duration, Observed), String> {
        let tx = self.tx.clone();
        let start = Instant::now();
        let r = self.evm.transact(tx);
        let took = start.elapsed();
        let r = r.map_err(|e| format!("revm rejected the transaction: {e}"))?;
        let gas_used = r.result.gas().tx_gas_used();
        let (status, output, logs) = match r.result {
            ExecutionResult::Success {
                output, logs: l, ..
            } => {
                let output = match output {
                    Output::Call(b) => b,
                    Output::Create(..) => Bytes::new(),
                };
                (Status::Success, output, logs(l))
            }
            ExecutionResult::Revert { output, .. } => (Status::Revert, output, Vec::new()),
            ExecutionResult::Halt { .. } => (Status::Halt, Bytes::new(), Vec::new()),
        };
        let observed = Observed {
            status,
            gas_used,
            output,
            logs,
            post: apply(&self.pre, r.state),
        };
        Ok((took, observed))
    }

    /// One run, timed; the result is dropped after the clock stops.
    pub fn run_timed(&mut self) -> Duration {
        let tx = self.tx.clone();
        let start = Instant::now();
        let r = self.evm.transact(tx);
        let took = start.elapsed();
        std::hint::black_box(&r);
        took
    }
}

impl TxRunner for RevmTx {
    fn run(&mut self) -> Result<(Duration, Observed), String> {
        RevmTx::run(self)
    }
    fn run_timed(&mut self) -> Duration {
        RevmTx::run_timed(self)
    }
}

/// Runs `tx` on `pre` once: the reference result of a step.
pub fn run(pre: &WorldState, tx: &Transaction) -> Result<Observed, String> {
    RevmTx::new(pre, tx)?.run().map(|(_, o)| o)
}

/// An externally owned account with `balance` and nothing else.
pub fn eoa(balance: U256) -> AccountData {
    AccountData::new(0, balance, Bytes::new(), Default::default())
}
