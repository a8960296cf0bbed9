//! The one in-memory EVMC host for engine tests, the bench and `dtvm run`.
//!
//! It takes the host's side of DESIGN.md's VM/host split for a single message tree: storage
//! with EIP-2200 original values (statuses from [`storage_status`]), warm sets (EIP-2929),
//! transient storage (EIP-1153), logs, value transfers, SELFDESTRUCT, and nested calls that
//! re-enter the engine. Every change is journaled, and a nested call that does not succeed is
//! undone. Frames run in-process in a chosen engine ([`MockHost::with_engine`]: a differential
//! run compares whole call trees) or through a loaded VM's C ABI ([`MockHost::with_vm`]: what
//! a client of the plugin gets).
//!
//! Not implemented, and reported by [`MockHost::unsupported`] instead of silently computing
//! something else: CREATE/CREATE2 and calls to the addresses marked with
//! [`MockHost::refuse_calls_to`] (precompiles). Full transaction rules (creates, precompiles,
//! nonces, the refund cap) are dtvm-state's host.
use crate::{word, Exec, Log};
use ::evmc_vm::sys::*;
use ::evmc_vm::*;
use ruint::Uint;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// Maps with a fast hasher: the bench times dtvm with this host, so a state lookup should cost
/// what it costs in the peer engine (revm's maps use foldhash too).
pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// Sets with the same fast hasher as [`Map`].
pub type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

type U256 = Uint<256, 4>;

fn u256(b: &Bytes32) -> U256 {
    U256::from_be_bytes(b.bytes)
}

fn b32(v: U256) -> Bytes32 {
    Bytes32 {
        bytes: v.to_be_bytes::<32>(),
    }
}

enum Undo {
    Storage(Address, Bytes32, Option<Bytes32>),
    Transient(Address, Bytes32, Option<Bytes32>),
    Balance(Address, Option<Bytes32>),
    WarmAccount(Address),
    WarmSlot(Address, Bytes32),
    Destructed(Address),
    Log,
}

/// What [`MockHost::reset`] returns to.
#[derive(Clone, Default)]
struct PreState {
    storage: Map<(Address, Bytes32), Bytes32>,
    balances: Map<Address, Bytes32>,
    warm_accounts: Set<Address>,
}

/// The in-memory host. Tests set up state through the public maps before running; during a
/// run they change only through the `Host` methods, which journal them.
pub struct MockHost {
    /// Runs every frame, the outer one and nested calls (the interpreter unless set), unless
    /// the host was made [`with_vm`](Self::with_vm).
    pub engine: Cell<Exec>,
    vm: Option<Arc<Vm>>,
    /// Current storage values.
    pub storage: RefCell<Map<(Address, Bytes32), Bytes32>>,
    /// EIP-2200's original values: a slot's value before its first write in this run.
    pub original: RefCell<Map<(Address, Bytes32), Bytes32>>,
    /// Transient storage (EIP-1153): cleared by [`reset`](Self::reset), journaled like storage.
    pub transient: RefCell<Map<(Address, Bytes32), Bytes32>>,
    /// Account balances; an account absent here and from `codes` does not exist.
    pub balances: RefCell<Map<Address, Bytes32>>,
    /// Account codes, fixed during a run (code hashes are computed from them once).
    pub codes: RefCell<Map<Address, Vec<u8>>>,
    code_hashes: RefCell<Map<Address, Bytes32>>,
    /// The logs emitted so far, in order; a failed nested call's logs are removed.
    pub logs: RefCell<Vec<Log>>,
    /// Accounts accessed so far (EIP-2929); preset ones start warm.
    pub warm_accounts: RefCell<Set<Address>>,
    /// Storage slots accessed so far (EIP-2929).
    pub warm_slots: RefCell<Set<(Address, Bytes32)>>,
    destructed: RefCell<Set<Address>>,
    journal: RefCell<Vec<Undo>>,
    /// Every message the host received, when `record_calls` is set (the default).
    pub calls: RefCell<Vec<evmc_message>>,
    /// Whether `calls` records messages (off where the copies would distort a timing).
    pub record_calls: Cell<bool>,
    /// The revision every frame, outer and nested, runs at.
    pub rev: Cell<Revision>,
    /// The transaction and block context; a fixed test context when `None`.
    pub tx: RefCell<Option<evmc_tx_context>>,
    /// (stack top, lowest stack address seen in `call`), to measure native stack per depth.
    pub stack_probe: Cell<Option<(usize, usize)>>,
    refused: RefCell<Set<Address>>,
    unsupported: Cell<Option<&'static str>>,
    pre: RefCell<PreState>,
}

impl MockHost {
    /// A host whose frames run in the interpreter.
    pub fn new(rev: Revision) -> Self {
        Self::with_engine(rev, dtvm_interp::execute as Exec)
    }

    /// A host whose frames run in-process in `engine`.
    pub fn with_engine(rev: Revision, engine: impl Into<Exec>) -> Self {
        Self::build(rev, engine.into(), None)
    }

    /// A host whose frames run in `vm`, through its C function table.
    pub fn with_vm(rev: Revision, vm: Arc<Vm>) -> Self {
        Self::build(rev, dtvm_interp::execute as Exec, Some(vm))
    }

    fn build(rev: Revision, engine: Exec, vm: Option<Arc<Vm>>) -> Self {
        Self {
            engine: Cell::new(engine),
            vm,
            storage: Default::default(),
            original: Default::default(),
            transient: Default::default(),
            balances: Default::default(),
            codes: Default::default(),
            code_hashes: Default::default(),
            logs: Default::default(),
            warm_accounts: Default::default(),
            warm_slots: Default::default(),
            destructed: Default::default(),
            journal: Default::default(),
            calls: Default::default(),
            record_calls: Cell::new(true),
            rev: rev.into(),
            tx: Default::default(),
            stack_probe: Default::default(),
            refused: Default::default(),
            unsupported: Default::default(),
            pre: Default::default(),
        }
    }

    /// Calls to `a` are refused (a failure the host reports through [`unsupported`]).
    ///
    /// [`unsupported`]: Self::unsupported
    pub fn refuse_calls_to(&self, a: Address) {
        self.refused.borrow_mut().insert(a);
    }

    /// The first thing a run needed that this host does not implement.
    pub fn unsupported(&self) -> Option<&'static str> {
        self.unsupported.get()
    }

    /// Remembers the current storage, balances and warm accounts as the state [`reset`]
    /// returns to (codes never change during a run).
    ///
    /// [`reset`]: Self::reset
    pub fn save_pre_state(&self) {
        *self.pre.borrow_mut() = PreState {
            storage: self.storage.borrow().clone(),
            balances: self.balances.borrow().clone(),
            warm_accounts: self.warm_accounts.borrow().clone(),
        };
    }

    /// Back to the state [`save_pre_state`](Self::save_pre_state) saved, with everything a run
    /// accumulates (logs, warm slots, transient storage, recorded calls) cleared.
    pub fn reset(&self) {
        let pre = self.pre.borrow();
        self.storage.borrow_mut().clone_from(&pre.storage);
        self.balances.borrow_mut().clone_from(&pre.balances);
        self.warm_accounts
            .borrow_mut()
            .clone_from(&pre.warm_accounts);
        self.original.borrow_mut().clear();
        self.transient.borrow_mut().clear();
        self.logs.borrow_mut().clear();
        self.warm_slots.borrow_mut().clear();
        self.destructed.borrow_mut().clear();
        self.journal.borrow_mut().clear();
        self.calls.borrow_mut().clear();
        self.unsupported.set(None);
    }

    /// Runs `code` as the callee `addr(1)` called by `addr(2)`.
    pub fn run(&self, code: &[u8], gas: i64, input: &[u8]) -> ExecutionResult {
        let mut msg = empty_message();
        msg.gas = gas;
        msg.recipient = crate::addr(1);
        msg.sender = crate::addr(2);
        msg.code_address = crate::addr(1);
        msg.input_data = input.as_ptr();
        msg.input_size = input.len();
        self.execute(&msg, code)
    }

    /// Executes `code` for `msg` in this host's engine or VM.
    pub fn execute(&self, msg: &evmc_message, code: &[u8]) -> ExecutionResult {
        if let Some(vm) = &self.vm {
            return vm.execute(self, self.rev.get(), msg, code);
        }
        let table = host_interface::<MockHost>();
        // SAFETY: table and context outlive the call; the message's pointers are live.
        unsafe {
            let mut ctx = ExecutionContext::new(&table, host_context(self));
            let m = ExecutionMessage::new(msg);
            (self.engine.get())(&mut ctx, self.rev.get(), &m, code)
        }
    }

    fn refuse(&self, what: &'static str) -> ExecutionResult {
        if self.unsupported.get().is_none() {
            self.unsupported.set(Some(what));
        }
        ExecutionResult::failure(EVMC_FAILURE)
    }

    fn balance(&self, a: &Address) -> U256 {
        self.balances.borrow().get(a).map_or(U256::ZERO, u256)
    }

    fn set_balance(&self, a: Address, v: U256) {
        let old = self.balances.borrow_mut().insert(a, b32(v));
        self.journal.borrow_mut().push(Undo::Balance(a, old));
    }

    fn revert_to(&self, mark: usize) {
        let mut journal = self.journal.borrow_mut();
        while journal.len() > mark {
            match journal.pop().expect("length checked") {
                Undo::Storage(a, k, old) => restore(&mut self.storage.borrow_mut(), (a, k), old),
                Undo::Transient(a, k, old) => {
                    restore(&mut self.transient.borrow_mut(), (a, k), old)
                }
                Undo::Balance(a, old) => restore(&mut self.balances.borrow_mut(), a, old),
                Undo::WarmAccount(a) => {
                    self.warm_accounts.borrow_mut().remove(&a);
                }
                Undo::WarmSlot(a, k) => {
                    self.warm_slots.borrow_mut().remove(&(a, k));
                }
                Undo::Destructed(a) => {
                    self.destructed.borrow_mut().remove(&a);
                }
                Undo::Log => {
                    self.logs.borrow_mut().pop();
                }
            }
        }
    }
}

fn restore<K: Eq + std::hash::Hash, V>(map: &mut Map<K, V>, k: K, old: Option<V>) {
    match old {
        Some(v) => map.insert(k, v),
        None => map.remove(&k),
    };
}

impl Host for MockHost {
    fn account_exists(&self, a: &Address) -> bool {
        self.codes.borrow().contains_key(a) || self.balances.borrow().contains_key(a)
    }
    fn get_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        self.storage
            .borrow()
            .get(&(*a, *k))
            .copied()
            .unwrap_or_default()
    }
    fn set_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) -> StorageStatus {
        let current = self.get_storage(a, k);
        let original = *self
            .original
            .borrow_mut()
            .entry((*a, *k))
            .or_insert(current);
        let old = self.storage.borrow_mut().insert((*a, *k), *v);
        self.journal.borrow_mut().push(Undo::Storage(*a, *k, old));
        storage_status(&original.bytes, &current.bytes, &v.bytes)
    }
    fn get_balance(&self, a: &Address) -> Bytes32 {
        self.balances.borrow().get(a).copied().unwrap_or_default()
    }
    fn get_code_size(&self, a: &Address) -> usize {
        self.codes.borrow().get(a).map_or(0, |c| c.len())
    }
    fn get_code_hash(&self, a: &Address) -> Bytes32 {
        // EIP-1052: zero for an account that does not exist, keccak256 of its code otherwise.
        if !self.account_exists(a) {
            return Bytes32::default();
        }
        *self.code_hashes.borrow_mut().entry(*a).or_insert_with(|| {
            let codes = self.codes.borrow();
            let code = codes.get(a).map_or(&[][..], |c| &c[..]);
            Bytes32 {
                bytes: dtvm_runtime::instructions::keccak256(code),
            }
        })
    }
    fn copy_code(&self, a: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        let codes = self.codes.borrow();
        let code = codes.get(a).map_or(&[][..], |c| &c[..]);
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buffer.len());
        buffer[..n].copy_from_slice(&src[..n]);
        n
    }
    fn selfdestruct(&self, a: &Address, beneficiary: &Address) -> bool {
        let balance = self.balance(a);
        if a != beneficiary {
            let to = self.balance(beneficiary);
            self.set_balance(*beneficiary, to.saturating_add(balance));
        }
        self.set_balance(*a, U256::ZERO);
        let first = self.destructed.borrow_mut().insert(*a);
        if first {
            self.journal.borrow_mut().push(Undo::Destructed(*a));
        }
        first
    }
    fn call(&self, msg: &evmc_message) -> ExecutionResult {
        if let Some((top, low)) = self.stack_probe.get() {
            let here = 0u8;
            let here = std::hint::black_box(&here) as *const u8 as usize;
            self.stack_probe.set(Some((top, low.min(here))));
        }
        if self.record_calls.get() {
            self.calls.borrow_mut().push(*msg);
        }
        if matches!(msg.kind, EVMC_CREATE | EVMC_CREATE2) {
            return self.refuse("CREATE/CREATE2");
        }
        if self.refused.borrow().contains(&msg.code_address) {
            return self.refuse("precompile calls");
        }
        let mark = self.journal.borrow().len();
        let value = u256(&msg.value);
        // CALLCODE moves value from the caller to itself; DELEGATECALL moves none.
        if msg.kind == EVMC_CALL && !value.is_zero() {
            let Some(left) = self.balance(&msg.sender).checked_sub(value) else {
                // The VM checks the balance before it calls; this only guards the host.
                return ExecutionResult::failure(EVMC_INSUFFICIENT_BALANCE);
            };
            self.set_balance(msg.sender, left);
            let to = self.balance(&msg.recipient);
            self.set_balance(msg.recipient, to.saturating_add(value));
        }
        // Codes do not change during a run: the borrow can span the nested execution.
        let codes = self.codes.borrow();
        let code = codes.get(&msg.code_address).map_or(&[][..], |c| &c[..]);
        let result = if code.is_empty() {
            ExecutionResult::new(EVMC_SUCCESS, msg.gas, 0, Vec::new())
        } else {
            self.execute(msg, code)
        };
        drop(codes);
        if result.status_code != EVMC_SUCCESS {
            self.revert_to(mark);
        }
        result
    }
    fn get_tx_context(&self) -> evmc_tx_context {
        self.tx.borrow().unwrap_or(evmc_tx_context {
            tx_gas_price: word(7),
            tx_origin: crate::addr(9),
            block_coinbase: crate::addr(8),
            block_number: 1000,
            block_timestamp: 1234,
            block_gas_limit: 30_000_000,
            block_prev_randao: word(5),
            chain_id: word(1),
            block_base_fee: word(3),
            blob_base_fee: word(1),
            blob_hashes: std::ptr::null(),
            blob_hashes_count: 0,
            initcodes: std::ptr::null(),
            initcodes_count: 0,
        })
    }
    fn get_block_hash(&self, number: i64) -> Bytes32 {
        // What revm's in-memory database answers, so BLOCKHASH agrees with the bench's peer.
        Bytes32 {
            bytes: dtvm_runtime::instructions::keccak256(number.to_string().as_bytes()),
        }
    }
    fn emit_log(&self, a: &Address, data: &[u8], topics: &[Bytes32]) {
        self.logs
            .borrow_mut()
            .push((*a, data.to_vec(), topics.to_vec()));
        self.journal.borrow_mut().push(Undo::Log);
    }
    fn access_account(&self, a: &Address) -> AccessStatus {
        if self.warm_accounts.borrow_mut().insert(*a) {
            self.journal.borrow_mut().push(Undo::WarmAccount(*a));
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }
    fn access_storage(&self, a: &Address, k: &Bytes32) -> AccessStatus {
        if self.warm_slots.borrow_mut().insert((*a, *k)) {
            self.journal.borrow_mut().push(Undo::WarmSlot(*a, *k));
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }
    fn get_transient_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        self.transient
            .borrow()
            .get(&(*a, *k))
            .copied()
            .unwrap_or_default()
    }
    fn set_transient_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) {
        let old = self.transient.borrow_mut().insert((*a, *k), *v);
        self.journal.borrow_mut().push(Undo::Transient(*a, *k, old));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{addr, hex};

    /// A nested call that fails leaves no trace: storage, balance, logs and warm accounts are
    /// as before it; a successful one keeps its changes.
    #[test]
    fn a_failed_call_is_undone() {
        let h = MockHost::new(EVMC_CANCUN);
        h.balances.borrow_mut().insert(addr(1), word(100));
        // addr(3): SSTORE(0, 1), LOG0(0, 0), then REVERT(0, 0) when the input is empty.
        h.codes.borrow_mut().insert(
            addr(3),
            hex("6001 6000 55 6000 6000 a0 36 6013 57 6000 6000 fd 5b 00"),
        );
        // CALL(gas, addr 3, value 7, no input, no output).
        let r = h.run(
            &hex("6000 6000 6000 6000 6007 6003 5a f1 00"),
            1_000_000,
            &[],
        );
        assert_eq!(r.status_code, EVMC_SUCCESS);
        assert!(h.get_storage(&addr(3), &word(0)) == Bytes32::default());
        assert!(h.logs.borrow().is_empty());
        assert_eq!(h.get_balance(&addr(1)), word(100));
        assert_eq!(h.calls.borrow().len(), 1);
        // With one byte of input the callee stops after its store and log: both stay.
        let r = h.run(
            &hex("6000 6000 6001 6000 6007 6003 5a f1 00"),
            1_000_000,
            &[],
        );
        assert_eq!(r.status_code, EVMC_SUCCESS);
        assert_eq!(h.get_storage(&addr(3), &word(0)), word(1));
        assert_eq!(h.logs.borrow().len(), 1);
        assert_eq!(h.get_balance(&addr(3)), word(7));
        assert_eq!(h.get_balance(&addr(1)), word(93));
    }

    #[test]
    fn creates_and_refused_addresses_are_reported() {
        let h = MockHost::new(EVMC_CANCUN);
        h.refuse_calls_to(addr(4));
        // CALL(gas, addr 4, no value, no input, no output).
        let r = h.run(&hex("6000 6000 6000 6000 6000 6004 5a f1 00"), 100_000, &[]);
        assert_eq!(r.status_code, EVMC_SUCCESS);
        assert_eq!(h.unsupported(), Some("precompile calls"));
        h.reset();
        assert_eq!(h.unsupported(), None);
        // CREATE(0, 0, 0).
        h.run(&hex("6000 6000 6000 f0 00"), 100_000, &[]);
        assert_eq!(h.unsupported(), Some("CREATE/CREATE2"));
    }

    #[test]
    fn reset_returns_to_the_saved_pre_state() {
        let h = MockHost::new(EVMC_CANCUN);
        h.storage.borrow_mut().insert((addr(1), word(0)), word(5));
        h.save_pre_state();
        // SSTORE(0, 9).
        h.run(&hex("6009 6000 55 00"), 100_000, &[]);
        assert_eq!(h.get_storage(&addr(1), &word(0)), word(9));
        h.reset();
        assert_eq!(h.get_storage(&addr(1), &word(0)), word(5));
        assert!(h.original.borrow().is_empty() && h.warm_slots.borrow().is_empty());
    }
}
