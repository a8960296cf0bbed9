//! The block a transaction runs in: its environment (NUMBER, TIMESTAMP, COINBASE, BASEFEE,
//! PREVRANDAO, CHAINID) and the blob fee market of EIP-4844 with the per-fork schedules of
//! EIP-7691 and EIP-7840.
use alloy_primitives::{Address, B256, U256};
use evmc_vm::sys;
use evmc_vm::Revision;

/// Target, maximum and base-fee update fraction of blobs per block (EIP-7840).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobSchedule {
    /// Blobs per block the blob base fee steers towards: excess blob gas grows above it.
    pub target: u64,
    /// The most blobs a block may hold.
    pub max: u64,
    /// The denominator of the blob base fee's exponential (`BLOB_BASE_FEE_UPDATE_FRACTION`).
    pub base_fee_update_fraction: u64,
}

impl BlobSchedule {
    /// The mainnet schedule of a revision: Cancun (EIP-4844), Prague (EIP-7691), Osaka unchanged.
    pub fn for_revision(rev: Revision) -> Self {
        if rev >= sys::EVMC_PRAGUE {
            Self {
                target: 6,
                max: 9,
                base_fee_update_fraction: 5_007_716,
            }
        } else {
            Self {
                target: 3,
                max: 6,
                base_fee_update_fraction: 3_338_477,
            }
        }
    }
}

/// `fake_exponential(1, excess_blob_gas, update_fraction)` of EIP-4844: the blob base fee.
pub fn blob_base_fee(excess_blob_gas: u64, update_fraction: u64) -> U256 {
    let denominator = U256::from(update_fraction);
    let numerator = U256::from(excess_blob_gas);
    let mut i = U256::from(1);
    let mut output = U256::ZERO;
    let mut accum = denominator; // factor (1) * denominator
    while !accum.is_zero() {
        output = output.saturating_add(accum);
        let Some(product) = accum.checked_mul(numerator) else {
            return U256::MAX;
        };
        accum = product / (denominator * i);
        i += U256::from(1);
    }
    output / denominator
}

/// The block a transaction runs in.
#[derive(Clone, Debug, Default)]
pub struct BlockEnv {
    /// NUMBER: the block number.
    pub number: i64,
    /// TIMESTAMP: seconds since the Unix epoch.
    pub timestamp: i64,
    /// GASLIMIT: no transaction may have a larger gas limit.
    pub gas_limit: i64,
    /// COINBASE: receives the priority fees.
    pub coinbase: Address,
    /// PREVRANDAO from Paris, the difficulty (DIFFICULTY) before.
    pub prev_randao: B256,
    /// BASEFEE: the EIP-1559 base fee per gas in wei, burnt (from London).
    pub base_fee: U256,
    /// EIP-4844: the blob gas above target accumulated by earlier blocks; sets the blob base fee.
    pub excess_blob_gas: u64,
    /// CHAINID (EIP-1344), also the chain EIP-7702 authorizations must name.
    pub chain_id: U256,
    /// The fixture's blob schedule for this fork; `None`: the mainnet one.
    pub blob_schedule: Option<BlobSchedule>,
}

impl BlockEnv {
    /// The blob schedule at `rev`: the fixture's if it gave one, otherwise mainnet's.
    pub fn blob_schedule(&self, rev: Revision) -> BlobSchedule {
        self.blob_schedule
            .unwrap_or_else(|| BlobSchedule::for_revision(rev))
    }
    /// BLOBBASEFEE: the price per blob gas in wei at `rev` (EIP-4844, EIP-7516).
    pub fn blob_base_fee(&self, rev: Revision) -> U256 {
        blob_base_fee(
            self.excess_blob_gas,
            self.blob_schedule(rev).base_fee_update_fraction,
        )
    }
}
