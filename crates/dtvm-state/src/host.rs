//! The EVMC host of one transaction: frames, creates, selfdestruct, warm sets, logs.
//!
//! Every frame of bytecode runs through `Vm::execute`, i.e. through the VM's C `execute` entry and
//! this host's C function table, so the ABI is exercised exactly as a client would use it.
use crate::conv;
use crate::crypto::{create2_address, create_address};
use crate::precompiles;
use crate::state::State;
use crate::trie::Log;
use crate::{MAX_CODE_SIZE, U256};
use alloy_primitives::{keccak256, Address, Bytes, B256};
use evmc_vm::sys::{self, evmc_message, evmc_tx_context};
use evmc_vm::Revision;
use evmc_vm::{
    AccessStatus, Address as EvmcAddress, Bytes32, ExecutionMessage, ExecutionResult, Host,
    StorageStatus, Vm,
};
use std::cell::RefCell;

/// Block and transaction values the VM reads through `get_tx_context`.
#[derive(Clone, Debug, Default)]
pub struct TxContext {
    /// GASPRICE: the effective price per gas in wei (from London, base fee plus the priority fee).
    pub gas_price: U256,
    /// ORIGIN: the transaction's sender.
    pub origin: Address,
    /// COINBASE: the block's beneficiary.
    pub coinbase: Address,
    /// NUMBER: the block number.
    pub number: i64,
    /// TIMESTAMP: the block time in seconds since the Unix epoch.
    pub timestamp: i64,
    /// GASLIMIT: the block's gas limit.
    pub gas_limit: i64,
    /// PREVRANDAO from Paris (EIP-4399), DIFFICULTY before: the same opcode, 0x44.
    pub prev_randao: B256,
    /// CHAINID (EIP-1344).
    pub chain_id: U256,
    /// BASEFEE (EIP-3198): the block's EIP-1559 base fee per gas in wei.
    pub base_fee: U256,
    /// BLOBBASEFEE (EIP-7516): the block's EIP-4844 price per blob gas in wei.
    pub blob_base_fee: U256,
    /// BLOBHASH (EIP-4844): the transaction's blob versioned hashes.
    pub blob_hashes: Vec<B256>,
}

/// The EIP-7702 delegation designator prefix.
pub const DELEGATION_MAGIC: [u8; 3] = [0xef, 0x01, 0x00];

/// The delegate of an EIP-7702 designator (`0xef0100 ++ address`), if `code` is one.
pub fn delegate_of(code: &[u8]) -> Option<Address> {
    (code.len() == 23 && code[..3] == DELEGATION_MAGIC).then(|| Address::from_slice(&code[3..]))
}

/// The RIPEMD-160 precompile: a touch of it survives the revert of the frame that touched it
/// (the mainnet quirk of block 2675119, kept by every client since Spurious Dragon).
const RIPEMD160: Address = Address::with_last_byte(3);

/// The host of one transaction: its journaled working state, its logs, and the VM that runs every
/// frame of bytecode. Nested calls re-enter through `&self` ([`Host`]), so the mutable parts sit
/// in `RefCell`s that are never borrowed across a VM call.
pub struct TxHost<'s, 'v> {
    vm: &'v Vm,
    rev: Revision,
    pub(crate) state: RefCell<State<'s>>,
    logs: RefCell<Vec<Log>>,
    ctx: TxContext,
    blob_hashes: Vec<sys::evmc_bytes32>,
    /// Fatal host-side errors (never EVM-level failures); a run with any is reported broken.
    errors: RefCell<Vec<String>>,
}

impl<'s, 'v> TxHost<'s, 'v> {
    /// A host for a transaction under the rules of `rev`, over `state`, whose frames `vm` runs.
    pub fn new(vm: &'v Vm, rev: Revision, state: State<'s>, ctx: TxContext) -> Self {
        let blob_hashes = ctx.blob_hashes.iter().map(conv::to_evmc_b256).collect();
        Self {
            vm,
            rev,
            state: RefCell::new(state),
            logs: RefCell::new(Vec::new()),
            ctx,
            blob_hashes,
            errors: RefCell::new(Vec::new()),
        }
    }

    /// The revision whose rules the transaction runs under.
    pub fn rev(&self) -> Revision {
        self.rev
    }

    /// The working state at the end, the logs of the frames that did not revert, and the fatal
    /// host-side errors (a transaction with any cannot be trusted).
    pub fn into_parts(self) -> (State<'s>, Vec<Log>, Vec<String>) {
        (
            self.state.into_inner(),
            self.logs.into_inner(),
            self.errors.into_inner(),
        )
    }

    /// Marks an account warm; before Berlin there are no warm sets and nothing is recorded.
    pub fn warm_account(&self, addr: &Address) -> AccessStatus {
        if self.rev < sys::EVMC_BERLIN {
            return sys::EVMC_ACCESS_COLD;
        }
        // Precompiles are always warm (EIP-2929); nothing needs recording for them.
        if precompiles::is_precompile(self.rev, addr) {
            return sys::EVMC_ACCESS_WARM;
        }
        if self.state.borrow_mut().access_account(addr) {
            sys::EVMC_ACCESS_WARM
        } else {
            sys::EVMC_ACCESS_COLD
        }
    }

    /// Moves the value of a message. The VM checks the balance before it sends a message with
    /// value (DESIGN.md); a message that breaks that contract is recorded as a host error
    /// instead of letting the balance wrap.
    fn transfer(&self, st: &mut State<'_>, from: &Address, to: &Address, value: U256) -> bool {
        if st.balance(from) < value {
            self.errors.borrow_mut().push(format!(
                "message value {value} from {from} exceeds its balance {}",
                st.balance(from)
            ));
            return false;
        }
        st.transfer(from, to, value);
        true
    }

    /// Nonce bump and address of a create, and the nonce-limit check of every top-level or
    /// create message. `None` is a "light" failure: the caller gets its gas back.
    fn prepare_message(&self, orig: &evmc_message) -> Option<evmc_message> {
        let is_create = orig.kind == sys::EVMC_CREATE || orig.kind == sys::EVMC_CREATE2;
        if orig.depth != 0 && !is_create {
            return Some(*orig);
        }
        let sender = conv::addr(&orig.sender);
        let mut msg = *orig;
        let mut st = self.state.borrow_mut();
        let sender_nonce = st.find(&sender).map(|a| a.nonce).unwrap_or(0);
        // EIP-2681: the nonce cannot overflow. At depth 0 validation already checked it.
        if sender_nonce == u64::MAX {
            return None;
        }
        if msg.depth != 0 {
            st.bump_nonce_journaled(&sender);
        }
        if is_create {
            // The transaction (depth 0) or the line above bumped the nonce; the address uses the
            // value before the bump.
            let nonce = st.find(&sender).map(|a| a.nonce).unwrap_or(1) - 1;
            let new_addr = if msg.kind == sys::EVMC_CREATE {
                create_address(&sender, nonce)
            } else {
                // SAFETY: the input of a message is valid for the duration of the call.
                let initcode = unsafe { ExecutionMessage::new(orig) }.input();
                create2_address(&sender, &conv::b256(&msg.create2_salt), initcode)
            };
            msg.recipient = conv::to_evmc_addr(&new_addr);
            drop(st);
            // EIP-2929: the new address is warm even when the creation fails.
            self.warm_account(&new_addr);
        }
        Some(msg)
    }

    fn create(&self, msg: &evmc_message) -> ExecutionResult {
        let rev = self.rev;
        let new_addr = conv::addr(&msg.recipient);
        let sender = conv::addr(&msg.sender);
        let value = conv::u256(&msg.value);
        {
            let mut st = self.state.borrow_mut();
            match st.find(&new_addr) {
                Some(acc) => {
                    // EIP-7610 (applied to every revision, as all clients do): an address with a
                    // nonce, code or storage cannot be created again. All gas is consumed.
                    if acc.nonce != 0 || !acc.code.is_empty() || acc.has_initial_storage {
                        return ExecutionResult::failure(sys::EVMC_FAILURE);
                    }
                    st.journal_create_existing(&new_addr);
                }
                None => {
                    st.insert_journaled(&new_addr, false);
                }
            }
            let acc = st.find(&new_addr).expect("created above");
            // EIP-161: new accounts start at nonce 1. Not journaled: undoing the create resets it.
            if rev >= sys::EVMC_SPURIOUS_DRAGON {
                acc.nonce = 1;
            }
            acc.just_created = true;
            if !self.transfer(&mut st, &sender, &new_addr, value) {
                return ExecutionResult::failure(sys::EVMC_INTERNAL_ERROR);
            }
        }

        // SAFETY: the input of a message is valid for the duration of the call.
        let initcode = unsafe { ExecutionMessage::new(msg) }.input();
        let mut create_msg = *msg;
        create_msg.input_data = std::ptr::null();
        create_msg.input_size = 0;
        let mut result = self.vm.execute(self, rev, &create_msg, initcode);
        if result.status_code != sys::EVMC_SUCCESS {
            result.create_address = Some(msg.recipient);
            return result;
        }

        let code = std::mem::take(&mut result.output);
        // EIP-170.
        if rev >= sys::EVMC_SPURIOUS_DRAGON && code.len() > MAX_CODE_SIZE {
            return ExecutionResult::failure(sys::EVMC_FAILURE);
        }
        let deposit_cost = code.len() as i64 * 200;
        let gas_left = result.gas_left - deposit_cost;
        if gas_left < 0 {
            // Frontier keeps the account, without code, when the deposit cannot be paid.
            if rev == sys::EVMC_FRONTIER {
                let mut r = ExecutionResult::new(
                    sys::EVMC_SUCCESS,
                    result.gas_left,
                    result.gas_refund,
                    Vec::new(),
                );
                r.create_address = Some(msg.recipient);
                return r;
            }
            return ExecutionResult::failure(sys::EVMC_FAILURE);
        }
        // EIP-3541: no new code starting with 0xEF.
        if rev >= sys::EVMC_LONDON && code.first() == Some(&0xef) {
            return ExecutionResult::failure(sys::EVMC_CONTRACT_VALIDATION_FAILURE);
        }
        if !code.is_empty() {
            let mut st = self.state.borrow_mut();
            st.find(&new_addr)
                .expect("created above")
                .set_code(Bytes::from(code));
        }
        let mut r =
            ExecutionResult::new(sys::EVMC_SUCCESS, gas_left, result.gas_refund, Vec::new());
        r.create_address = Some(msg.recipient);
        r
    }

    fn execute_message(&self, msg: &evmc_message) -> ExecutionResult {
        if msg.kind == sys::EVMC_CREATE || msg.kind == sys::EVMC_CREATE2 {
            return self.create(msg);
        }
        let recipient = conv::addr(&msg.recipient);
        let code_address = conv::addr(&msg.code_address);
        let code = {
            let mut st = self.state.borrow_mut();
            if msg.kind == sys::EVMC_CALL {
                let value = conv::u256(&msg.value);
                if !st.exists(&recipient) {
                    // A value transfer makes the account non-empty; a zero-value call only
                    // touches it (and from Spurious Dragon it disappears again).
                    st.insert_journaled(&recipient, value.is_zero());
                }
                if value.is_zero() {
                    st.touch(&recipient);
                } else if !self.transfer(&mut st, &conv::addr(&msg.sender), &recipient, value) {
                    return ExecutionResult::failure(sys::EVMC_INTERNAL_ERROR);
                }
            }
            // A delegated call (EIP-7702) to a precompile address runs the (empty) code there,
            // not the precompile.
            if msg.flags & sys::EVMC_DELEGATED == 0
                && precompiles::is_precompile(self.rev, &code_address)
            {
                drop(st);
                // SAFETY: the input of a message is valid for the duration of the call.
                let input = unsafe { ExecutionMessage::new(msg) }.input();
                return match precompiles::call(self.rev, &code_address, input, msg.gas) {
                    Ok(r) => r,
                    Err(e) => {
                        self.errors.borrow_mut().push(e);
                        ExecutionResult::failure(sys::EVMC_INTERNAL_ERROR)
                    }
                };
            }
            st.code(&code_address)
        };
        if code.is_empty() {
            return ExecutionResult::new(sys::EVMC_SUCCESS, msg.gas, 0, Vec::new());
        }
        self.vm.execute(self, self.rev, msg, &code)
    }
}

impl Host for TxHost<'_, '_> {
    fn account_exists(&self, address: &EvmcAddress) -> bool {
        let mut st = self.state.borrow_mut();
        match st.find(&conv::addr(address)) {
            Some(acc) => self.rev < sys::EVMC_SPURIOUS_DRAGON || !acc.is_empty(),
            None => false,
        }
    }

    fn get_storage(&self, address: &EvmcAddress, key: &Bytes32) -> Bytes32 {
        let v = self
            .state
            .borrow_mut()
            .storage_value(&conv::addr(address), &conv::b256(key));
        conv::to_evmc_b256(&v)
    }

    fn set_storage(&self, address: &EvmcAddress, key: &Bytes32, value: &Bytes32) -> StorageStatus {
        self.state.borrow_mut().set_storage(
            &conv::addr(address),
            &conv::b256(key),
            conv::b256(value),
        )
    }

    fn get_balance(&self, address: &EvmcAddress) -> Bytes32 {
        conv::to_evmc_u256(&self.state.borrow_mut().balance(&conv::addr(address)))
    }

    fn get_code_size(&self, address: &EvmcAddress) -> usize {
        self.state.borrow_mut().code(&conv::addr(address)).len()
    }

    fn get_code_hash(&self, address: &EvmcAddress) -> Bytes32 {
        let mut st = self.state.borrow_mut();
        match st.find(&conv::addr(address)) {
            Some(acc) if !acc.is_empty() => conv::to_evmc_b256(&acc.code_hash),
            _ => Bytes32::default(),
        }
    }

    fn copy_code(&self, address: &EvmcAddress, offset: usize, buffer: &mut [u8]) -> usize {
        let code = self.state.borrow_mut().code(&conv::addr(address));
        let src = code.get(offset..).unwrap_or_default();
        let n = src.len().min(buffer.len());
        buffer[..n].copy_from_slice(&src[..n]);
        n
    }

    fn selfdestruct(&self, address: &EvmcAddress, beneficiary: &EvmcAddress) -> bool {
        let addr = conv::addr(address);
        let beneficiary = conv::addr(beneficiary);
        let mut st = self.state.borrow_mut();
        if !st.exists(&beneficiary) {
            st.insert_journaled(&beneficiary, true);
        }
        st.touch(&beneficiary);
        let balance = st.balance(&addr);
        let just_created = st.find(&addr).is_some_and(|a| a.just_created);
        if self.rev >= sys::EVMC_CANCUN && !just_created {
            // EIP-6780: only the balance moves; with itself as beneficiary it stays.
            st.set_balance(&addr, U256::ZERO);
            let b = st.balance(&beneficiary);
            st.set_balance(&beneficiary, b.saturating_add(balance));
            return false;
        }
        // The account is erased at the end of the transaction: a balance sent to itself is burnt.
        let b = st.balance(&beneficiary);
        st.set_balance(&beneficiary, b.saturating_add(balance));
        st.set_balance(&addr, U256::ZERO);
        let acc = st.find(&addr).expect("selfdestruct of a missing account");
        if acc.destructed {
            return false;
        }
        acc.destructed = true;
        st.journal_destruct(&addr);
        true
    }

    fn call(&self, orig: &evmc_message) -> ExecutionResult {
        let Some(msg) = self.prepare_message(orig) else {
            return ExecutionResult::new(sys::EVMC_FAILURE, orig.gas, 0, Vec::new());
        };
        let logs_checkpoint = self.logs.borrow().len();
        let state_checkpoint = self.state.borrow().checkpoint();

        let result = self.execute_message(&msg);

        if result.status_code != sys::EVMC_SUCCESS {
            let mut st = self.state.borrow_mut();
            let ripemd_touched = st.find(&RIPEMD160).is_some_and(|a| a.erase_if_empty);
            st.rollback(state_checkpoint);
            self.logs.borrow_mut().truncate(logs_checkpoint);
            if ripemd_touched && self.rev >= sys::EVMC_SPURIOUS_DRAGON {
                st.touch(&RIPEMD160);
            }
        }
        result
    }

    fn get_tx_context(&self) -> evmc_tx_context {
        let c = &self.ctx;
        evmc_tx_context {
            tx_gas_price: conv::to_evmc_u256(&c.gas_price),
            tx_origin: conv::to_evmc_addr(&c.origin),
            block_coinbase: conv::to_evmc_addr(&c.coinbase),
            block_number: c.number,
            block_timestamp: c.timestamp,
            block_gas_limit: c.gas_limit,
            block_prev_randao: conv::to_evmc_b256(&c.prev_randao),
            chain_id: conv::to_evmc_u256(&c.chain_id),
            block_base_fee: conv::to_evmc_u256(&c.base_fee),
            blob_base_fee: conv::to_evmc_u256(&c.blob_base_fee),
            blob_hashes: if self.blob_hashes.is_empty() {
                std::ptr::null()
            } else {
                self.blob_hashes.as_ptr()
            },
            blob_hashes_count: self.blob_hashes.len(),
            initcodes: std::ptr::null(),
            initcodes_count: 0,
        }
    }

    fn get_block_hash(&self, number: i64) -> Bytes32 {
        conv::to_evmc_b256(&block_hash(number))
    }

    fn emit_log(&self, address: &EvmcAddress, data: &[u8], topics: &[Bytes32]) {
        self.logs.borrow_mut().push(Log {
            address: conv::addr(address),
            topics: topics.iter().map(conv::b256).collect(),
            data: Bytes::copy_from_slice(data),
        });
    }

    fn access_account(&self, address: &EvmcAddress) -> AccessStatus {
        self.warm_account(&conv::addr(address))
    }

    fn access_storage(&self, address: &EvmcAddress, key: &Bytes32) -> AccessStatus {
        let was_warm = self
            .state
            .borrow_mut()
            .access_storage(&conv::addr(address), &conv::b256(key));
        if was_warm {
            sys::EVMC_ACCESS_WARM
        } else {
            sys::EVMC_ACCESS_COLD
        }
    }

    fn get_transient_storage(&self, address: &EvmcAddress, key: &Bytes32) -> Bytes32 {
        let v = self
            .state
            .borrow_mut()
            .transient(&conv::addr(address), &conv::b256(key));
        conv::to_evmc_b256(&v)
    }

    fn set_transient_storage(&self, address: &EvmcAddress, key: &Bytes32, value: &Bytes32) {
        self.state.borrow_mut().set_transient(
            &conv::addr(address),
            &conv::b256(key),
            conv::b256(value),
        )
    }
}

/// The block hash convention of the state tests (shared by geth, evmone and the execution specs):
/// `keccak256` of the block number in decimal. The VM decides which numbers are in range.
pub fn block_hash(number: i64) -> B256 {
    keccak256(number.to_string().as_bytes())
}
