//! The reference EVM: revm driven through its full transaction path (validation, nonce bump,
//! intrinsic gas, warm sets, refunds, state finalization) on an in-memory `CacheDB`.
use crate::world::*;
use ::evmc_vm::sys::*;
use ::evmc_vm::{Address, Bytes32, Revision};
use revm::context::result::{ExecutionResult as RevmResult, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas;
use revm::database::{CacheDB, EmptyDB};
use revm::precompile::{PrecompileSpecId, Precompiles};
use revm::primitives::eip4844::{
    BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{keccak256, Bytes, TxKind, B256, U256};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};

pub use dtvm_bench::spec_of;

/// The precompiles of `rev` as revm implements them. The test host calls these, so precompile
/// calls compare equal by construction and the VM's side of a call (gas, memory, return data)
/// is what the differential test checks.
pub fn precompiles(rev: Revision) -> Option<&'static Precompiles> {
    spec_of(rev).map(|s| Precompiles::new(PrecompileSpecId::from_spec_id(s)))
}

/// Intrinsic gas of a plain call transaction with this calldata (no access list).
pub fn intrinsic_gas(rev: Revision, input: &[u8]) -> u64 {
    let spec = spec_of(rev).unwrap_or(SpecId::PETERSBURG);
    calculate_initial_tx_gas(spec, input, false, 0, 0, 0, None).initial_regular_gas()
}

fn raddr(a: &Address) -> revm::primitives::Address {
    revm::primitives::Address::from(a.bytes)
}

/// The pieces of revm's run of `sc`: database, configuration, block, transaction and the
/// transaction's intrinsic gas.
type Setup = (CacheDB<EmptyDB>, CfgEnv, BlockEnv, TxEnv, u64);

fn setup(sc: &Scenario) -> Result<Setup, String> {
    let spec = spec_of(sc.rev).ok_or("revision without a revm equivalent")?;
    let mut db = CacheDB::new(EmptyDB::default());
    for (addr, a) in &sc.pre {
        let code = Bytes::copy_from_slice(&a.code);
        // A designator only where EIP-7702 is in force and the bytes are one; anything else is
        // legacy code, never reinterpreted.
        let bytecode =
            if sc.rev >= EVMC_PRAGUE && code.len() == 23 && code.starts_with(&[0xef, 1, 0]) {
                Bytecode::new_raw(code.clone())
            } else {
                Bytecode::new_legacy(code.clone())
            };
        let info = AccountInfo::new(a.balance, a.nonce, keccak256(&code), bytecode);
        db.insert_account_info(raddr(addr), info);
        for (k, v) in &a.storage {
            db.insert_account_storage(raddr(addr), u256(k), u256(v))
                .map_err(|e| e.to_string())?;
        }
    }
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = block::CHAIN_ID;
    // Neither the block's gas limit nor Osaka's per-transaction cap (EIP-7825) may cut the gas
    // the VM side gets: the depth-1024 bombs need billions.
    cfg.disable_block_gas_limit = true;
    cfg.tx_gas_limit_cap = Some(u64::MAX);
    let fraction = if spec >= SpecId::PRAGUE {
        BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
    } else {
        BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
    };
    let blk = BlockEnv {
        number: U256::from(block::NUMBER),
        beneficiary: raddr(&COINBASE),
        timestamp: U256::from(block::TIMESTAMP),
        gas_limit: block::GAS_LIMIT,
        basefee: 0,
        difficulty: U256::from(block::DIFFICULTY),
        prevrandao: Some(B256::from(block::PREVRANDAO)),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, fraction)),
        slot_num: 0,
    };
    let intrinsic = intrinsic_gas(sc.rev, &sc.tx.input);
    let tx = TxEnv::builder()
        .caller(raddr(&sc.tx.sender))
        .gas_limit(sc.tx.exec_gas as u64 + intrinsic)
        .gas_price(0)
        .kind(TxKind::Call(raddr(&sc.tx.to)))
        .data(Bytes::copy_from_slice(&sc.tx.input))
        .nonce(sc.pre.get(&sc.tx.sender).map_or(0, |a| a.nonce))
        .build()
        .map_err(|e| format!("revm transaction: {e:?}"))?;
    Ok((db, cfg, blk, tx, intrinsic))
}

/// Runs `sc` on revm with its EIP-3155 tracer (`TracerEip3155`, the oracle of dtvm's traces)
/// writing to `out`.
pub fn trace(sc: &Scenario, out: Box<dyn std::io::Write>) -> Result<(), String> {
    use revm::inspector::inspectors::TracerEip3155;
    use revm::InspectEvm;
    let (db, cfg, blk, tx, _) = setup(sc)?;
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(blk)
        .build_mainnet_with_inspector(TracerEip3155::new(out));
    evm.inspect_tx(tx)
        .map_err(|e| format!("revm rejected the transaction: {e}"))?;
    Ok(())
}

/// Runs `sc` on revm. `Err` when revm refuses the transaction itself (a harness problem, not a
/// VM difference).
pub fn run(sc: &Scenario) -> Result<Outcome, String> {
    let (db, cfg, blk, tx, intrinsic) = setup(sc)?;
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(blk)
        .build_mainnet();
    let r = evm
        .transact(tx)
        .map_err(|e| format!("revm rejected the transaction: {e}"))?;

    let gas = *r.result.gas();
    let gas_used = gas.total_gas_spent() - intrinsic;
    let (class, status, output, logs, refund) = match r.result {
        RevmResult::Success {
            output,
            logs,
            reason,
            ..
        } => {
            let output = match output {
                Output::Call(b) => b.to_vec(),
                Output::Create(b, _) => b.to_vec(),
            };
            let logs = logs
                .into_iter()
                .map(|l| {
                    let topics = l.topics().iter().map(|t| Bytes32 { bytes: t.0 }).collect();
                    (
                        Address {
                            bytes: l.address.0 .0,
                        },
                        l.data.data.to_vec(),
                        topics,
                    )
                })
                .collect();
            (
                Class::Success,
                format!("revm {reason:?}"),
                output,
                logs,
                gas.inner_refunded(),
            )
        }
        RevmResult::Revert { output, .. } => (
            Class::Revert,
            "revm Revert".into(),
            output.to_vec(),
            Vec::new(),
            0,
        ),
        RevmResult::Halt { reason, .. } => (
            Class::Failure,
            format!("revm {reason:?}"),
            Vec::new(),
            Vec::new(),
            0,
        ),
    };

    // Post-state: the pre-state with revm's changes applied.
    let mut post = sc.pre.clone();
    for (addr, acc) in r.state {
        let addr = Address { bytes: addr.0 .0 };
        if acc.is_selfdestructed() {
            post.remove(&addr);
            continue;
        }
        if !acc.is_touched() {
            continue;
        }
        let entry = post.entry(addr).or_default();
        if acc.is_created() {
            entry.storage.clear();
        }
        entry.balance = acc.info.balance;
        entry.nonce = acc.info.nonce;
        if let Some(code) = &acc.info.code {
            entry.code = code.original_bytes().to_vec().into();
        }
        for (k, slot) in acc.storage {
            entry.storage.insert(word(k), word(slot.present_value));
        }
    }
    Ok(Outcome {
        class,
        status,
        gas_used,
        refund,
        output,
        logs,
        state: normalize(&post),
    })
}

/// Runs a state-test transaction on revm with its EIP-3155 tracer writing to `out`: `tx` on
/// `pre` in `block` at revision `rev`, built by the scenarios' conversions of dtvm-state's
/// types. `Err` when `rev` has no revm fork or revm rejects the transaction.
pub fn trace_state_tx(
    pre: &dtvm_state::state::WorldState,
    block: &dtvm_state::transaction::BlockEnv,
    tx: &dtvm_state::transaction::Transaction,
    rev: Revision,
    out: Box<dyn std::io::Write>,
) -> Result<(), TraceError> {
    use dtvm_scenarios::reference::{block_env, database, tx_env};
    use revm::inspector::inspectors::TracerEip3155;
    use revm::InspectEvm;
    let spec = spec_of(rev).ok_or(TraceError::NoFork)?;
    let chain_id = u64::try_from(block.chain_id)
        .map_err(|_| TraceError::Rejected("chain id above 2^64".into()))?;
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = chain_id;
    // The block's blob limit, and from Osaka also the per-transaction one (EIP-7594).
    let mut max_blobs = block.blob_schedule(rev).max;
    if rev >= EVMC_OSAKA {
        max_blobs = max_blobs.min(dtvm_state::transaction::MAX_BLOBS_PER_TX as u64);
    }
    cfg.set_max_blobs_per_tx(max_blobs);
    let tx = tx_env(tx, chain_id).map_err(TraceError::Rejected)?;
    let mut evm = Context::mainnet()
        .with_db(database(pre, rev).map_err(TraceError::Rejected)?)
        .with_cfg(cfg)
        .with_block(block_env(block, rev))
        .build_mainnet_with_inspector(TracerEip3155::new(out));
    evm.inspect_tx(tx)
        .map_err(|e| TraceError::Rejected(format!("revm rejected the transaction: {e}")))?;
    Ok(())
}

/// Why [`trace_state_tx`] produced no trace.
#[derive(Debug)]
pub enum TraceError {
    /// The revision has no revm fork (`spec_of`).
    NoFork,
    /// revm refused the transaction (or it cannot be expressed as revm's).
    Rejected(String),
}
