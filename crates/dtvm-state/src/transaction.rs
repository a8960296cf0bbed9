//! Transactions: types, validity, intrinsic gas, fees, and the state transition.
use crate::crypto::{authorization_hash, ecrecover, SECP256K1N_HALF};
use crate::host::{delegate_of, TxContext, TxHost, DELEGATION_MAGIC};
use crate::state::{State, WorldState, EMPTY_CODE_HASH};
use crate::trie::Log;
use crate::{conv, MAX_INITCODE_SIZE};
use alloy_primitives::{Address, Bytes, B256, U256};
use evmc_vm::sys;
use evmc_vm::Revision;
use evmc_vm::{Host, Vm};
use std::fmt;

pub use crate::block::{blob_base_fee, BlobSchedule, BlockEnv};

/// EIP-2718 transaction types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TxType {
    /// Untyped, the only kind before EIP-2718.
    #[default]
    Legacy = 0,
    /// EIP-2930 (Berlin): a gas price and an access list.
    AccessList = 1,
    /// EIP-1559 (London): a fee cap and a priority fee instead of a gas price.
    Eip1559 = 2,
    /// EIP-4844 (Cancun): an EIP-1559 transaction carrying blob versioned hashes.
    Blob = 3,
    /// EIP-7702 (Prague): an EIP-1559 transaction carrying authorizations that set delegations.
    SetCode = 4,
}

/// One EIP-7702 authorization tuple.
#[derive(Clone, Debug, Default)]
pub struct Authorization {
    /// The chain the authorization is valid on; zero means every chain.
    pub chain_id: U256,
    /// The delegate: the authority's code becomes `0xef0100 ++ address`; the zero address
    /// clears the delegation instead.
    pub address: Address,
    /// Must equal the authority's nonce when the authorization is applied.
    pub nonce: u64,
    /// The signature's y parity (recovery id), 0 or 1.
    pub y_parity: U256,
    /// The signature's `r`.
    pub r: U256,
    /// The signature's `s`; above secp256k1n/2 the authorization is skipped (EIP-7702, as EIP-2
    /// requires of transaction signatures).
    pub s: U256,
}

impl Authorization {
    /// The authority: the signer recovered from the signature, if it is a valid one.
    pub fn recover_authority(&self) -> Option<Address> {
        let y = u64::try_from(self.y_parity).ok()?;
        ecrecover(
            &authorization_hash(&self.chain_id, &self.address, self.nonce),
            y,
            &self.r,
            &self.s,
        )
    }
}

/// A transaction with its sender already known (recovered or given by the fixture).
#[derive(Clone, Debug, Default)]
pub struct Transaction {
    /// The EIP-2718 type: which fields apply and from which revision it is valid.
    pub tx_type: TxType,
    /// The signer: pays for gas and value, and its nonce is incremented.
    pub sender: Address,
    /// `None` creates a contract.
    pub to: Option<Address>,
    /// Must equal the sender's nonce.
    pub nonce: u64,
    /// The gas bought up front; the intrinsic gas is charged from it before execution.
    pub gas_limit: u64,
    /// The gas price of legacy and access-list transactions, `max_fee_per_gas` otherwise.
    pub max_fee_per_gas: U256,
    /// Equal to the gas price for legacy and access-list transactions.
    pub max_priority_fee_per_gas: U256,
    /// Wei sent to `to`, or the endowment of the created contract.
    pub value: U256,
    /// The call data, or the init code of a create.
    pub data: Bytes,
    /// EIP-2930: accounts and storage slots that are warm from the start.
    pub access_list: Vec<(Address, Vec<B256>)>,
    /// EIP-4844: the most the sender pays per blob gas.
    pub max_fee_per_blob_gas: U256,
    /// EIP-4844: the versioned hashes of the blobs (BLOBHASH).
    pub blob_hashes: Vec<B256>,
    /// Authorizations with their recovered authority (`None`: invalid signature).
    pub authorizations: Vec<(Authorization, Option<Address>)>,
}

impl Transaction {
    /// The blob gas the transaction consumes: [`GAS_PER_BLOB`] per blob (EIP-4844).
    pub fn blob_gas_used(&self) -> u64 {
        GAS_PER_BLOB * self.blob_hashes.len() as u64
    }
}

/// EIP-4844: blob gas per blob, 2^17 (a blob is 4096 field elements of 32 bytes).
pub const GAS_PER_BLOB: u64 = 1 << 17;
/// EIP-7594: blobs per transaction from Osaka.
pub const MAX_BLOBS_PER_TX: usize = 6;
/// EIP-7825: transaction gas limit cap from Osaka.
pub const MAX_TX_GAS_LIMIT: u64 = 1 << 24;

/// Why a transaction is invalid (it is then not included: the state does not change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxError {
    /// The type is not valid yet at the revision: access lists from Berlin, EIP-1559 from
    /// London, blobs from Cancun, set-code from Prague.
    TypeNotSupported,
    /// The priority fee exceeds the fee cap (EIP-1559).
    TipAboveFeeCap,
    /// The gas limit exceeds [`MAX_TX_GAS_LIMIT`] (EIP-7825, Osaka).
    GasLimitAboveCap,
    /// The gas limit exceeds the block's.
    GasLimitAboveBlock,
    /// The fee cap is below the block's base fee (EIP-1559).
    FeeCapBelowBaseFee,
    /// The sender has code other than an EIP-7702 delegation designator (EIP-3607).
    SenderNotEoa,
    /// The sender's nonce is 2^64 - 1 and cannot be incremented (EIP-2681).
    NonceMax,
    /// The transaction's nonce is above the sender's.
    NonceTooHigh,
    /// The transaction's nonce is below the sender's.
    NonceTooLow,
    /// A create whose init code exceeds [`MAX_INITCODE_SIZE`] (EIP-3860, Shanghai).
    InitcodeTooLarge,
    /// The sender cannot pay the gas limit at the fee cap plus the value (plus the blob gas at
    /// its fee cap).
    InsufficientFunds,
    /// The gas limit is below the intrinsic gas or the EIP-7623 calldata floor.
    IntrinsicGasTooLow,
    /// A blob transaction without a recipient: EIP-4844 forbids creates.
    BlobCreate,
    /// A blob transaction without blobs.
    BlobListEmpty,
    /// More than [`MAX_BLOBS_PER_TX`] blobs (EIP-7594, Osaka).
    BlobCountAboveLimit,
    /// The blob fee cap is below the block's blob base fee (EIP-4844).
    BlobFeeCapBelowBlobBaseFee,
    /// A versioned hash whose version byte is not 0x01, the KZG version (EIP-4844).
    BlobVersionInvalid,
    /// More blob gas than the block's maximum.
    BlobGasAboveBlock,
    /// A set-code transaction without a recipient: EIP-7702 forbids creates.
    SetCodeCreate,
    /// A set-code transaction without authorizations (EIP-7702).
    AuthorizationListEmpty,
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Gas figures of a valid transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxGas {
    /// The intrinsic gas (Yellow Paper g0): 21000, calldata, create and init-code words
    /// (EIP-3860), access list (EIP-2930) and authorizations (EIP-7702), charged before execution.
    pub intrinsic: i64,
    /// The EIP-7623 floor (Prague): gas used is at least this.
    pub floor: i64,
}

fn data_tokens(rev: Revision, data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = data.len() as u64 - zeros;
    // EIP-2028 (Istanbul) cut non-zero calldata from 68 to 16 gas: 17 and 4 tokens of 4 gas.
    let nonzero_tokens = if rev >= sys::EVMC_ISTANBUL { 4 } else { 17 };
    zeros + nonzeros * nonzero_tokens
}

/// Intrinsic gas (Yellow Paper g0) and the EIP-7623 calldata floor.
pub fn intrinsic_gas(rev: Revision, tx: &Transaction) -> TxGas {
    const TX_BASE: u64 = 21_000;
    let is_create = tx.to.is_none();
    let tokens = data_tokens(rev, &tx.data);
    let mut gas = TX_BASE + tokens * 4;
    if is_create && rev >= sys::EVMC_HOMESTEAD {
        gas += 32_000;
    }
    if is_create && rev >= sys::EVMC_SHANGHAI {
        // EIP-3860: 2 gas per initcode word.
        gas += 2 * (tx.data.len() as u64).div_ceil(32);
    }
    for (_, keys) in &tx.access_list {
        gas += 2_400 + 1_900 * keys.len() as u64;
    }
    gas += 25_000 * tx.authorizations.len() as u64;
    let floor = if rev >= sys::EVMC_PRAGUE {
        TX_BASE + tokens * 10
    } else {
        0
    };
    // Bounded by the data size of a fixture, far below i64::MAX.
    TxGas {
        intrinsic: gas as i64,
        floor: floor as i64,
    }
}

/// The checks a block builder makes before including a transaction, in evmone's order (which
/// matters only for which error is reported; fixtures accept any when several apply).
pub fn validate(
    pre: &WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
) -> Result<TxGas, TxError> {
    match tx.tx_type {
        TxType::Blob => {
            if rev < sys::EVMC_CANCUN {
                return Err(TxError::TypeNotSupported);
            }
            if tx.to.is_none() {
                return Err(TxError::BlobCreate);
            }
            if tx.blob_hashes.is_empty() {
                return Err(TxError::BlobListEmpty);
            }
            if rev >= sys::EVMC_OSAKA && tx.blob_hashes.len() > MAX_BLOBS_PER_TX {
                return Err(TxError::BlobCountAboveLimit);
            }
            if tx.max_fee_per_blob_gas < block.blob_base_fee(rev) {
                return Err(TxError::BlobFeeCapBelowBlobBaseFee);
            }
            if tx.blob_hashes.iter().any(|h| h[0] != 0x01) {
                return Err(TxError::BlobVersionInvalid);
            }
            if tx.blob_gas_used() > block.blob_schedule(rev).max * GAS_PER_BLOB {
                return Err(TxError::BlobGasAboveBlock);
            }
        }
        TxType::SetCode => {
            if rev < sys::EVMC_PRAGUE {
                return Err(TxError::TypeNotSupported);
            }
            if tx.to.is_none() {
                return Err(TxError::SetCodeCreate);
            }
            if tx.authorizations.is_empty() {
                return Err(TxError::AuthorizationListEmpty);
            }
        }
        _ => {}
    }
    match tx.tx_type {
        TxType::Eip1559 | TxType::Blob | TxType::SetCode => {
            if rev < sys::EVMC_LONDON {
                return Err(TxError::TypeNotSupported);
            }
            if tx.max_priority_fee_per_gas > tx.max_fee_per_gas {
                return Err(TxError::TipAboveFeeCap);
            }
        }
        TxType::AccessList if rev < sys::EVMC_BERLIN => return Err(TxError::TypeNotSupported),
        _ => {}
    }

    if rev >= sys::EVMC_OSAKA && tx.gas_limit > MAX_TX_GAS_LIMIT {
        return Err(TxError::GasLimitAboveCap);
    }
    if tx.gas_limit > u64::try_from(block.gas_limit).unwrap_or(0) {
        return Err(TxError::GasLimitAboveBlock);
    }
    if rev >= sys::EVMC_LONDON && tx.max_fee_per_gas < block.base_fee {
        return Err(TxError::FeeCapBelowBaseFee);
    }

    let sender = pre.get(&tx.sender);
    let (nonce, balance) = sender.map_or((0, U256::ZERO), |a| (a.nonce, a.balance));
    // EIP-3607: the sender must not have code, except an EIP-7702 delegation designator.
    if let Some(acc) = sender {
        if acc.code_hash != EMPTY_CODE_HASH && delegate_of(&acc.code).is_none() {
            return Err(TxError::SenderNotEoa);
        }
    }
    // EIP-2681.
    if nonce == u64::MAX {
        return Err(TxError::NonceMax);
    }
    if nonce < tx.nonce {
        return Err(TxError::NonceTooHigh);
    }
    if nonce > tx.nonce {
        return Err(TxError::NonceTooLow);
    }
    if rev >= sys::EVMC_SHANGHAI && tx.to.is_none() && tx.data.len() > MAX_INITCODE_SIZE {
        return Err(TxError::InitcodeTooLarge);
    }

    // The sender must afford the worst case at the fee cap, not at the effective price.
    let max_cost = U256::from(tx.gas_limit)
        .checked_mul(tx.max_fee_per_gas)
        .and_then(|c| c.checked_add(tx.value))
        .and_then(|c| {
            if tx.tx_type != TxType::Blob {
                return Some(c);
            }
            U256::from(tx.blob_gas_used())
                .checked_mul(tx.max_fee_per_blob_gas)
                .and_then(|b| c.checked_add(b))
        });
    match max_cost {
        Some(cost) if cost <= balance => {}
        _ => return Err(TxError::InsufficientFunds),
    }

    let gas = intrinsic_gas(rev, tx);
    if (tx.gas_limit as i64) < gas.intrinsic.max(gas.floor) {
        return Err(TxError::IntrinsicGasTooLow);
    }
    Ok(gas)
}

/// The outcome of an included transaction.
pub struct Receipt {
    /// How the outermost frame ended.
    pub status: sys::evmc_status_code,
    /// The gas the sender pays for: used gas less the refund (capped at a half, from London a
    /// fifth, of the gas used, EIP-3529), at least the EIP-7623 floor.
    pub gas_used: i64,
    /// The top frame's output: RETURN or REVERT data of a call, REVERT data of a create.
    pub output: Bytes,
    /// The logs of the frames that did not revert; none if the outermost one failed.
    pub logs: Vec<Log>,
    /// The state after the transaction and its fees.
    pub post: WorldState,
    /// Host-side fatal errors (a precompile library failure): the result cannot be trusted.
    pub host_errors: Vec<String>,
}

/// Applies the EIP-7702 authorizations; returns the refund for authorities that already existed.
fn apply_authorizations(
    state: &mut State<'_>,
    rev: Revision,
    chain_id: &U256,
    tx: &Transaction,
) -> i64 {
    const EXISTING_AUTHORITY_REFUND: i64 = 25_000 - 12_500;
    let mut refund = 0;
    for (auth, authority) in &tx.authorizations {
        if !auth.chain_id.is_zero() && auth.chain_id != *chain_id {
            continue;
        }
        if auth.nonce == u64::MAX {
            continue;
        }
        let Some(authority) = authority else { continue };
        if auth.s > SECP256K1N_HALF {
            continue;
        }
        let acc = state.get_or_insert(authority, true);
        // EIP-2929 warm from here on, whether or not the authorization applies.
        if rev >= sys::EVMC_BERLIN {
            acc.warm = true;
        }
        if !acc.code.is_empty() && delegate_of(&acc.code).is_none() {
            continue;
        }
        if acc.nonce != auth.nonce {
            continue;
        }
        // "Exists in the trie" is "not empty" (EIP-161/EIP-7523).
        if !acc.is_empty() {
            refund += EXISTING_AUTHORITY_REFUND;
        }
        if auth.address.is_zero() {
            if !acc.code.is_empty() {
                acc.set_code(Bytes::new());
            }
        } else {
            let mut code = DELEGATION_MAGIC.to_vec();
            code.extend_from_slice(auth.address.as_slice());
            if acc.code.as_ref() != code.as_slice() {
                acc.set_code(Bytes::from(code));
            }
        }
        acc.nonce += 1;
    }
    refund
}

/// An executed transaction before its post-state is built: the working state holds only what
/// the transaction touched, so dropping it costs what the transaction did, not the size of the
/// pre-state (what a timed run wants).
pub struct Executed<'a> {
    /// As [`Receipt::status`].
    pub status: sys::evmc_status_code,
    /// As [`Receipt::gas_used`].
    pub gas_used: i64,
    /// As [`Receipt::output`].
    pub output: Bytes,
    /// As [`Receipt::logs`].
    pub logs: Vec<Log>,
    /// The working state after the transaction and its fees, over the pre-state.
    pub state: State<'a>,
    /// As [`Receipt::host_errors`].
    pub host_errors: Vec<String>,
}

impl Executed<'_> {
    /// The receipt with the committed post-state.
    pub fn into_receipt(self, rev: Revision) -> Receipt {
        Receipt {
            status: self.status,
            gas_used: self.gas_used,
            output: self.output,
            logs: self.logs,
            post: self.state.post_state(rev),
            host_errors: self.host_errors,
        }
    }
}

/// Executes a transaction that passed [`validate`] and returns its receipt with the post-state.
pub fn transition(
    pre: &WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
    vm: &Vm,
    gas: TxGas,
) -> Receipt {
    execute(pre, block, tx, rev, vm, gas).into_receipt(rev)
}

/// Executes a transaction that passed [`validate`]: the whole transition except building the
/// post-state.
pub fn execute<'a>(
    pre: &'a WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
    vm: &Vm,
    gas: TxGas,
) -> Executed<'a> {
    let mut state = State::new(pre);
    state.get_or_insert(&tx.sender, false).nonce += 1;

    let auth_refund = apply_authorizations(&mut state, rev, &block.chain_id, tx);

    let base_fee = if rev >= sys::EVMC_LONDON {
        block.base_fee
    } else {
        U256::ZERO
    };
    let priority_fee = tx
        .max_priority_fee_per_gas
        .min(tx.max_fee_per_gas - base_fee);
    let gas_price = base_fee + priority_fee;
    let gas_limit = tx.gas_limit as i64;
    let prepaid = U256::from(tx.gas_limit) * gas_price;
    let blob_fee = U256::from(tx.blob_gas_used()) * block.blob_base_fee(rev);
    {
        let sender = state.find(&tx.sender).expect("inserted above");
        sender.balance -= prepaid + blob_fee;
        sender.warm = true;
    }

    let ctx = TxContext {
        gas_price,
        origin: tx.sender,
        coinbase: block.coinbase,
        number: block.number,
        timestamp: block.timestamp,
        gas_limit: block.gas_limit,
        prev_randao: block.prev_randao,
        chain_id: block.chain_id,
        base_fee: block.base_fee,
        blob_base_fee: block.blob_base_fee(rev),
        blob_hashes: tx.blob_hashes.clone(),
    };
    let host = TxHost::new(vm, rev, state, ctx);

    if let Some(to) = &tx.to {
        host.warm_account(to);
    }
    for (addr, keys) in &tx.access_list {
        host.warm_account(addr);
        let mut st = host.state.borrow_mut();
        for key in keys {
            st.warm_storage_unjournaled(addr, key);
        }
    }
    // EIP-3651. Before Shanghai the coinbase must not be created by the warm-up.
    if rev >= sys::EVMC_SHANGHAI {
        host.warm_account(&block.coinbase);
    }

    let mut msg = evmc_vm::empty_message();
    msg.kind = if tx.to.is_some() {
        sys::EVMC_CALL
    } else {
        sys::EVMC_CREATE
    };
    msg.gas = gas_limit - gas.intrinsic;
    msg.sender = conv::to_evmc_addr(&tx.sender);
    msg.input_data = tx.data.as_ptr();
    msg.input_size = tx.data.len();
    msg.value = conv::to_evmc_u256(&tx.value);
    if let Some(to) = &tx.to {
        msg.recipient = conv::to_evmc_addr(to);
        msg.code_address = msg.recipient;
        let code = host.state.borrow_mut().code(to);
        if let Some(delegate) = delegate_of(&code) {
            msg.code_address = conv::to_evmc_addr(&delegate);
            msg.flags |= sys::EVMC_DELEGATED;
            host.warm_account(&delegate);
        }
    }

    let result = host.call(&msg);

    let mut gas_used = gas_limit - result.gas_left;
    // The refund counter is reverted with a failed top frame; authorization refunds are not.
    let exec_refund = if result.status_code == sys::EVMC_SUCCESS {
        result.gas_refund
    } else {
        0
    };
    let max_refund_quotient = if rev >= sys::EVMC_LONDON { 5 } else { 2 };
    gas_used -= (auth_refund + exec_refund).min(gas_used / max_refund_quotient);
    gas_used = gas_used.max(gas.floor);

    let (mut state, logs, host_errors) = host.into_parts();
    let unused = U256::from((gas_limit - gas_used) as u64) * gas_price;
    let sender = state.find(&tx.sender).expect("sender exists");
    sender.balance += unused;
    let fee = U256::from(gas_used as u64) * priority_fee;
    let coinbase = state.touch(&block.coinbase);
    coinbase.balance = coinbase.balance.saturating_add(fee);

    Executed {
        status: result.status_code,
        gas_used,
        output: Bytes::from(result.output),
        logs,
        state,
        host_errors,
    }
}

/// The zero block reward of the state tests applied to the coinbase: touching it creates it
/// before Spurious Dragon and erases it, if empty, after (this also runs for an invalid
/// transaction, as in geth's and evmone's runners).
pub fn finalize_block(post: &mut WorldState, coinbase: &Address, rev: Revision) {
    match post.accounts.get(coinbase) {
        None if rev < sys::EVMC_SPURIOUS_DRAGON => {
            post.accounts
                .insert(*coinbase, crate::state::AccountData::default());
        }
        Some(acc) if rev >= sys::EVMC_SPURIOUS_DRAGON && acc.is_empty() => {
            post.accounts.remove(coinbase);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sys::*;

    fn tx(to: Option<Address>, data: &[u8]) -> Transaction {
        Transaction {
            to,
            data: Bytes::copy_from_slice(data),
            ..Default::default()
        }
    }

    #[test]
    fn intrinsic_gas_per_fork() {
        let call = tx(Some(Address::ZERO), &[0, 0, 1, 2]);
        // Two zero bytes at 4, two non-zero bytes at 68 (16 from Istanbul, EIP-2028).
        assert_eq!(
            intrinsic_gas(EVMC_FRONTIER, &call).intrinsic,
            21_000 + 8 + 136
        );
        assert_eq!(
            intrinsic_gas(EVMC_PETERSBURG, &call).intrinsic,
            21_000 + 8 + 136
        );
        assert_eq!(
            intrinsic_gas(EVMC_ISTANBUL, &call).intrinsic,
            21_000 + 8 + 32
        );
        assert_eq!(intrinsic_gas(EVMC_ISTANBUL, &call).floor, 0);
        // EIP-7623: 10 gas per token, zero byte 1 token, non-zero 4.
        assert_eq!(
            intrinsic_gas(EVMC_PRAGUE, &call).floor,
            21_000 + 10 * (2 + 8)
        );

        // Creation: +32000 from Homestead, + 2/word of initcode from Shanghai (EIP-3860).
        let create = tx(None, &[1; 33]);
        let data = 33 * 68;
        assert_eq!(
            intrinsic_gas(EVMC_FRONTIER, &create).intrinsic,
            21_000 + data
        );
        assert_eq!(
            intrinsic_gas(EVMC_HOMESTEAD, &create).intrinsic,
            53_000 + data
        );
        assert_eq!(
            intrinsic_gas(EVMC_PARIS, &create).intrinsic,
            53_000 + 33 * 16
        );
        assert_eq!(
            intrinsic_gas(EVMC_SHANGHAI, &create).intrinsic,
            53_000 + 33 * 16 + 4
        );

        // EIP-2930 access list and EIP-7702 authorizations.
        let mut al = tx(Some(Address::ZERO), &[]);
        al.access_list = vec![
            (Address::ZERO, vec![B256::ZERO, B256::ZERO]),
            (Address::ZERO, vec![]),
        ];
        al.authorizations = vec![(Authorization::default(), None)];
        assert_eq!(
            intrinsic_gas(EVMC_PRAGUE, &al).intrinsic,
            21_000 + 2 * 2_400 + 2 * 1_900 + 25_000
        );
    }

    #[test]
    fn blob_base_fee_follows_the_eip4844_exponential() {
        let cancun = BlobSchedule::for_revision(EVMC_CANCUN).base_fee_update_fraction;
        let prague = BlobSchedule::for_revision(EVMC_PRAGUE).base_fee_update_fraction;
        assert_eq!(blob_base_fee(0, cancun), U256::from(1));
        // e^1 rounded down by the Taylor series: excess == fraction gives 2.
        assert_eq!(blob_base_fee(cancun, cancun), U256::from(2));
        // The price rises by ~12.5% per full block above target (Cancun: 3 blobs).
        assert_eq!(blob_base_fee(10 * 3 * GAS_PER_BLOB, cancun), U256::from(3));
        // Prague's larger fraction makes the same excess cheaper.
        assert!(blob_base_fee(50_000_000, prague) < blob_base_fee(50_000_000, cancun));
        assert_eq!(blob_base_fee(u64::MAX, cancun), U256::MAX);
    }

    #[test]
    fn validation_rejects_by_fork_rules() {
        let sender = Address::repeat_byte(1);
        let mut pre = WorldState::default();
        pre.accounts.insert(
            sender,
            crate::state::AccountData::new(
                0,
                U256::from(1_000_000u64),
                Bytes::new(),
                Default::default(),
            ),
        );
        let block = BlockEnv {
            gas_limit: 30_000_000,
            base_fee: U256::from(10),
            chain_id: U256::from(1),
            ..Default::default()
        };
        let mut t = tx(Some(Address::ZERO), &[]);
        t.sender = sender;
        t.gas_limit = 21_000;
        t.max_fee_per_gas = U256::from(10);
        t.max_priority_fee_per_gas = U256::from(10);
        assert!(validate(&pre, &block, &t, EVMC_CANCUN).is_ok());

        t.gas_limit = 20_999;
        assert_eq!(
            validate(&pre, &block, &t, EVMC_CANCUN),
            Err(TxError::IntrinsicGasTooLow)
        );
        t.gas_limit = 21_000;

        t.max_fee_per_gas = U256::from(9);
        t.max_priority_fee_per_gas = U256::from(9);
        assert_eq!(
            validate(&pre, &block, &t, EVMC_LONDON),
            Err(TxError::FeeCapBelowBaseFee)
        );
        // No base fee before London.
        assert!(validate(&pre, &block, &t, EVMC_BERLIN).is_ok());

        t.tx_type = TxType::Eip1559;
        assert_eq!(
            validate(&pre, &block, &t, EVMC_BERLIN),
            Err(TxError::TypeNotSupported)
        );
        t.max_fee_per_gas = U256::from(100);
        // 21000 * 100 > 1_000_000.
        assert_eq!(
            validate(&pre, &block, &t, EVMC_CANCUN),
            Err(TxError::InsufficientFunds)
        );
        t.max_fee_per_gas = U256::from(10);
        t.nonce = 1;
        assert_eq!(
            validate(&pre, &block, &t, EVMC_CANCUN),
            Err(TxError::NonceTooHigh)
        );
        t.nonce = 0;
        t.gas_limit = MAX_TX_GAS_LIMIT + 1;
        t.max_fee_per_gas = U256::ZERO;
        t.max_priority_fee_per_gas = U256::ZERO;
        let free_block = BlockEnv {
            base_fee: U256::ZERO,
            ..block.clone()
        };
        assert!(validate(&pre, &free_block, &t, EVMC_PRAGUE).is_ok());
        assert_eq!(
            validate(&pre, &free_block, &t, EVMC_OSAKA),
            Err(TxError::GasLimitAboveCap)
        );
    }
}
