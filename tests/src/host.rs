//! An in-memory EVMC host that runs whole transactions against a VM through its C ABI.
//!
//! It takes the host's side of the VM/host split of DESIGN.md (after evmone's `test/state`):
//! snapshots and reverts, value transfers, precompiles (revm's implementations, so they are not
//! what is under test), CREATE address derivation, collision and code-deposit rules, EIP-2200
//! storage statuses, warm sets, transient storage, logs, SELFDESTRUCT with EIP-6780.
//! Nested calls re-enter the VM through [`Vm::execute`], as an EVMC client does.
//!
//! State is reverted by restoring a clone taken at each call: the worlds here are a handful of
//! small accounts, and a clone cannot get a journal entry wrong.
use crate::reference;
use crate::world::*;
use ::evmc_vm::sys::*;
use ::evmc_vm::{
    empty_message, status_name, Address, Bytes32, ExecutionResult, Host, Revision, Vm,
};
use revm::precompile::{PrecompileStatus, Precompiles};
use revm::primitives::{keccak256, U256};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

/// EIP-170.
const MAX_CODE_SIZE: usize = 24_576;
const CODE_DEPOSIT_COST: i64 = 200;

#[derive(Clone, Default)]
struct State {
    accounts: World,
    warm_accounts: BTreeSet<Address>,
    warm_slots: BTreeSet<(Address, Bytes32)>,
    transient: BTreeMap<(Address, Bytes32), Bytes32>,
    logs: Vec<Log>,
    /// Accounts marked by SELFDESTRUCT, deleted when the transaction ends.
    destructed: BTreeSet<Address>,
    /// Accounts created by this transaction (EIP-6780 lets only these be destroyed).
    created: BTreeSet<Address>,
}

/// The transaction host: runs a [`Tx`] on a pre-state with `vm` and reports its [`Outcome`].
pub struct TestHost<'vm> {
    vm: &'vm Vm,
    rev: Revision,
    /// Storage as the transaction found it: EIP-2200's "original" values.
    committed: World,
    precompiles: Option<&'static Precompiles>,
    state: RefCell<State>,
    origin: Cell<Address>,
    /// Messages the host received (calls and creates), for tests that want to know the depth
    /// or volume a program reached.
    pub calls: Cell<u64>,
    /// The deepest message depth the host received.
    pub max_depth: Cell<i32>,
    /// Native stack addresses at the transaction's start and the deepest host callback: each
    /// EVM call level is a native recursion (host -> VM -> host), so this is what a depth-1024
    /// program costs a host thread.
    stack_top: Cell<usize>,
    stack_low: Cell<usize>,
    /// When set, a line per message, result and SELFDESTRUCT, for reading a mismatch.
    pub trace: RefCell<Option<Vec<String>>>,
}

impl<'vm> TestHost<'vm> {
    /// A host for one transaction at `rev` on the state `pre`, running frames in `vm`.
    pub fn new(vm: &'vm Vm, rev: Revision, pre: &World) -> Self {
        Self {
            vm,
            rev,
            committed: pre.clone(),
            precompiles: reference::precompiles(rev),
            state: RefCell::new(State {
                accounts: pre.clone(),
                ..State::default()
            }),
            origin: Cell::new(Address::default()),
            calls: Cell::new(0),
            max_depth: Cell::new(0),
            stack_top: Cell::new(0),
            stack_low: Cell::new(usize::MAX),
            trace: RefCell::new(None),
        }
    }

    /// Bytes of native stack between the transaction's start and the deepest nested call.
    pub fn stack_used(&self) -> usize {
        self.stack_top.get().saturating_sub(self.stack_low.get())
    }

    fn note_stack(&self) -> usize {
        let marker = 0u8;
        let here = std::hint::black_box(&marker) as *const u8 as usize;
        self.stack_low.set(self.stack_low.get().min(here));
        here
    }

    /// Runs `tx` as a transaction: nonce bump, warm sets (EIP-2929, EIP-3651), the top-level
    /// call, refund cap, SELFDESTRUCT deletions. The host can run one transaction.
    pub fn transact(&self, tx: &Tx) -> Outcome {
        self.stack_top.set(self.note_stack());
        self.origin.set(tx.sender);
        {
            let mut s = self.state.borrow_mut();
            s.accounts.entry(tx.sender).or_default().nonce += 1;
            if self.rev >= EVMC_BERLIN {
                s.warm_accounts.insert(tx.sender);
                s.warm_accounts.insert(tx.to);
                if let Some(p) = self.precompiles {
                    s.warm_accounts
                        .extend(p.addresses().map(|a| Address { bytes: a.0 .0 }));
                }
            }
            if self.rev >= EVMC_SHANGHAI {
                s.warm_accounts.insert(COINBASE);
            }
        }
        let msg = evmc_message {
            gas: tx.exec_gas,
            recipient: tx.to,
            sender: tx.sender,
            code_address: tx.to,
            input_data: tx.input.as_ptr(),
            input_size: tx.input.len(),
            ..empty_message()
        };
        let r = self.call(&msg);
        let class = Class::of(r.status_code);
        let gas_left = if class == Class::Failure {
            0
        } else {
            r.gas_left
        };
        let gas_used = (tx.exec_gas - gas_left) as u64;
        let intrinsic = reference::intrinsic_gas(self.rev, &tx.input);
        let refund = if class == Class::Success {
            capped_refund(self.rev, intrinsic + gas_used, r.gas_refund)
        } else {
            0
        };
        let mut s = self.state.borrow_mut();
        for a in std::mem::take(&mut s.destructed) {
            s.accounts.remove(&a);
        }
        Outcome {
            class,
            status: status_name(r.status_code),
            gas_used,
            refund,
            output: if class == Class::Failure {
                Vec::new()
            } else {
                r.output
            },
            logs: if class == Class::Success {
                std::mem::take(&mut s.logs)
            } else {
                Vec::new()
            },
            state: normalize(&s.accounts),
        }
    }

    /// The raw result of executing `code` as the top-level message, for tests that look at
    /// EVMC fields (status code, raw refund) rather than a transaction outcome.
    pub fn execute(&self, msg: &evmc_message, code: &[u8]) -> ExecutionResult {
        self.vm.execute(self, self.rev, msg, code)
    }

    fn log_trace(&self, line: impl FnOnce() -> String) {
        if let Some(t) = self.trace.borrow_mut().as_mut() {
            t.push(line());
        }
    }

    fn with_account<T>(&self, a: &Address, f: impl FnOnce(Option<&Account>) -> T) -> T {
        f(self.state.borrow().accounts.get(a))
    }

    fn snapshot(&self) -> State {
        self.state.borrow().clone()
    }

    fn restore(&self, s: State) {
        *self.state.borrow_mut() = s;
    }

    fn transfer(&self, from: &Address, to: &Address, value: U256) {
        if value.is_zero() || from == to {
            return;
        }
        let mut s = self.state.borrow_mut();
        let f = s.accounts.entry(*from).or_default();
        // The VM checked the balance before sending the message.
        f.balance = f
            .balance
            .checked_sub(value)
            .expect("VM checked the balance");
        let t = s.accounts.entry(*to).or_default();
        t.balance = t.balance.saturating_add(value);
    }

    fn precompile(&self, msg: &evmc_message) -> Option<ExecutionResult> {
        let p = self
            .precompiles?
            .get(&revm::primitives::Address::from(msg.code_address.bytes))?;
        // SAFETY: the VM passes an input pointer valid for `input_size` bytes during the call.
        let input = unsafe { ::evmc_vm::slice_from_raw(msg.input_data, msg.input_size) };
        let r = p.execute(input, msg.gas as u64, 0);
        Some(match r {
            Ok(out) => match out.status {
                PrecompileStatus::Success => ExecutionResult::new(
                    EVMC_SUCCESS,
                    msg.gas - out.gas_used as i64,
                    0,
                    out.bytes.to_vec(),
                ),
                PrecompileStatus::Revert => ExecutionResult::new(
                    EVMC_REVERT,
                    msg.gas - out.gas_used as i64,
                    0,
                    out.bytes.to_vec(),
                ),
                _ => ExecutionResult::failure(EVMC_PRECOMPILE_FAILURE),
            },
            Err(_) => ExecutionResult::failure(EVMC_PRECOMPILE_FAILURE),
        })
    }

    fn call_code(&self, msg: &evmc_message) -> ExecutionResult {
        let snapshot = self.snapshot();
        if msg.kind == EVMC_CALL {
            if self.rev < EVMC_SPURIOUS_DRAGON {
                // Before EIP-161 a call brings its recipient into existence, even empty, and
                // existence decides CALL's new-account charge later in the transaction.
                self.state
                    .borrow_mut()
                    .accounts
                    .entry(msg.recipient)
                    .or_default();
            }
            self.transfer(&msg.sender, &msg.recipient, u256(&msg.value));
        }
        let result = match self.precompile(msg) {
            Some(r) => r,
            None => {
                let code = self.with_account(&msg.code_address, |a| {
                    a.map(|a| a.code.clone()).unwrap_or_else(|| [][..].into())
                });
                if code.is_empty() {
                    ExecutionResult::new(EVMC_SUCCESS, msg.gas, 0, Vec::new())
                } else {
                    self.vm.execute(self, self.rev, msg, &code)
                }
            }
        };
        if result.status_code != EVMC_SUCCESS {
            self.restore(snapshot);
        }
        result
    }

    fn create(&self, msg: &evmc_message) -> ExecutionResult {
        // SAFETY: the VM passes an input pointer valid for `input_size` bytes during the call.
        let initcode =
            unsafe { ::evmc_vm::slice_from_raw(msg.input_data, msg.input_size) }.to_vec();
        let sender = revm::primitives::Address::from(msg.sender.bytes);
        let nonce = self.with_account(&msg.sender, |a| a.map_or(0, |a| a.nonce));
        if nonce == u64::MAX {
            // EIP-2681: the create does not happen and the gas is returned.
            return ExecutionResult::new(EVMC_FAILURE, msg.gas, 0, Vec::new());
        }
        let new = if msg.kind == EVMC_CREATE {
            sender.create(nonce)
        } else {
            sender.create2_from_code(msg.create2_salt.bytes, &initcode)
        };
        let new = Address { bytes: new.0 .0 };
        // The nonce bump and the warming of the new address survive a failed create: both
        // happen in the caller's frame, before the create's own checkpoint.
        {
            let mut s = self.state.borrow_mut();
            s.accounts.entry(msg.sender).or_default().nonce += 1;
            if self.rev >= EVMC_BERLIN {
                s.warm_accounts.insert(new);
            }
        }
        let snapshot = self.snapshot();
        let collision = self.with_account(&new, |a| {
            a.is_some_and(|a| a.nonce != 0 || !a.code.is_empty() || !a.storage.is_empty())
        });
        if collision {
            return ExecutionResult::failure(EVMC_FAILURE);
        }
        {
            let mut s = self.state.borrow_mut();
            let a = s.accounts.entry(new).or_default();
            a.nonce = if self.rev >= EVMC_SPURIOUS_DRAGON {
                1
            } else {
                0
            };
            a.storage.clear();
            s.created.insert(new);
        }
        self.transfer(&msg.sender, &new, u256(&msg.value));
        let init_msg = evmc_message {
            recipient: new,
            code_address: new,
            input_data: std::ptr::null(),
            input_size: 0,
            ..*msg
        };
        let mut r = if initcode.is_empty() {
            ExecutionResult::new(EVMC_SUCCESS, msg.gas, 0, Vec::new())
        } else {
            self.vm.execute(self, self.rev, &init_msg, &initcode)
        };
        if r.status_code == EVMC_SUCCESS {
            let code = std::mem::take(&mut r.output);
            let cost = CODE_DEPOSIT_COST * code.len() as i64;
            if (self.rev >= EVMC_SPURIOUS_DRAGON && code.len() > MAX_CODE_SIZE)
                || (self.rev >= EVMC_LONDON && code.first() == Some(&0xef))
            {
                r = ExecutionResult::failure(EVMC_FAILURE);
            } else if r.gas_left < cost {
                if self.rev >= EVMC_HOMESTEAD {
                    r = ExecutionResult::failure(EVMC_OUT_OF_GAS);
                }
                // Frontier: the account stays, without code, and keeps the gas.
            } else {
                r.gas_left -= cost;
                let mut s = self.state.borrow_mut();
                s.accounts.entry(new).or_default().code = code.into();
            }
        }
        if r.status_code == EVMC_SUCCESS {
            r.create_address = Some(new);
        } else {
            self.restore(snapshot);
        }
        r
    }
}

impl Host for TestHost<'_> {
    fn account_exists(&self, a: &Address) -> bool {
        self.with_account(a, |a| {
            a.is_some_and(|a| self.rev < EVMC_SPURIOUS_DRAGON || !a.is_empty())
        })
    }
    fn get_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        self.with_account(a, |a| {
            a.and_then(|a| a.storage.get(k).copied())
                .unwrap_or_default()
        })
    }
    fn set_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) -> evmc_storage_status {
        let zero = Bytes32::default();
        let current = self.get_storage(a, k);
        let original = self
            .committed
            .get(a)
            .and_then(|acc| acc.storage.get(k).copied())
            .unwrap_or_default();
        {
            let mut s = self.state.borrow_mut();
            let acc = s.accounts.entry(*a).or_default();
            if *v == zero {
                acc.storage.remove(k);
            } else {
                acc.storage.insert(*k, *v);
            }
        }
        // The VM turns the status into gas and refunds.
        ::evmc_vm::storage_status(&original.bytes, &current.bytes, &v.bytes)
    }
    fn get_balance(&self, a: &Address) -> Bytes32 {
        word(self.with_account(a, |a| a.map_or(U256::ZERO, |a| a.balance)))
    }
    fn get_code_size(&self, a: &Address) -> usize {
        self.with_account(a, |a| a.map_or(0, |a| a.code.len()))
    }
    fn get_code_hash(&self, a: &Address) -> Bytes32 {
        self.with_account(a, |a| match a {
            Some(a) if !a.is_empty() => Bytes32 {
                bytes: keccak256(&a.code).0,
            },
            _ => Bytes32::default(),
        })
    }
    fn copy_code(&self, a: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        self.with_account(a, |a| {
            let code: &[u8] = a.map_or(&[], |a| &a.code);
            let n = code.len().saturating_sub(offset).min(buffer.len());
            if n > 0 {
                buffer[..n].copy_from_slice(&code[offset..offset + n]);
            }
            n
        })
    }
    fn selfdestruct(&self, a: &Address, beneficiary: &Address) -> bool {
        self.log_trace(|| {
            format!(
                "SELFDESTRUCT {} -> {}",
                hex(&a.bytes),
                hex(&beneficiary.bytes)
            )
        });
        let mut s = self.state.borrow_mut();
        let balance = s.accounts.get(a).map_or(U256::ZERO, |a| a.balance);
        // EIP-6780: from Cancun only an account created in this transaction is destroyed;
        // others just hand over their balance.
        let destroy = self.rev < EVMC_CANCUN || s.created.contains(a);
        if a != beneficiary || destroy {
            let b = s.accounts.entry(*beneficiary).or_default();
            b.balance = b.balance.saturating_add(balance);
            // After the credit: a destroyed account that is its own beneficiary burns its
            // balance now, not at the end of the transaction (as geth, revm and evmone do).
            s.accounts.entry(*a).or_default().balance = U256::ZERO;
        }
        destroy && s.destructed.insert(*a)
    }
    fn call(&self, msg: &evmc_message) -> ExecutionResult {
        self.calls.set(self.calls.get() + 1);
        self.max_depth.set(self.max_depth.get().max(msg.depth));
        self.note_stack();
        self.log_trace(|| {
            format!(
                "{:>w$}kind {} depth {} gas {} from {} to {} code {} value {} input {}",
                "",
                msg.kind,
                msg.depth,
                msg.gas,
                hex(&msg.sender.bytes),
                hex(&msg.recipient.bytes),
                hex(&msg.code_address.bytes),
                u256(&msg.value),
                msg.input_size,
                w = msg.depth as usize * 2
            )
        });
        let r = match msg.kind {
            EVMC_CREATE | EVMC_CREATE2 => self.create(msg),
            _ => self.call_code(msg),
        };
        self.log_trace(|| {
            format!(
                "{:>w$}-> {} gas left {} refund {} output {}",
                "",
                status_name(r.status_code),
                r.gas_left,
                r.gas_refund,
                hex(&r.output),
                w = msg.depth as usize * 2
            )
        });
        r
    }
    fn get_tx_context(&self) -> evmc_tx_context {
        let randao = if self.rev >= EVMC_PARIS {
            Bytes32 {
                bytes: block::PREVRANDAO,
            }
        } else {
            word(U256::from(block::DIFFICULTY))
        };
        evmc_tx_context {
            tx_gas_price: Bytes32::default(),
            tx_origin: self.origin.get(),
            block_coinbase: COINBASE,
            block_number: block::NUMBER as i64,
            block_timestamp: block::TIMESTAMP as i64,
            block_gas_limit: block::GAS_LIMIT as i64,
            block_prev_randao: randao,
            chain_id: word(U256::from(block::CHAIN_ID)),
            block_base_fee: Bytes32::default(),
            blob_base_fee: word(U256::from(block::BLOB_BASE_FEE)),
            blob_hashes: std::ptr::null(),
            blob_hashes_count: 0,
            initcodes: std::ptr::null(),
            initcodes_count: 0,
        }
    }
    fn get_block_hash(&self, number: i64) -> Bytes32 {
        // What revm's in-memory database answers; the VM only asks within the 256-block window.
        Bytes32 {
            bytes: keccak256(number.to_string().as_bytes()).0,
        }
    }
    fn emit_log(&self, a: &Address, data: &[u8], topics: &[Bytes32]) {
        self.state
            .borrow_mut()
            .logs
            .push((*a, data.to_vec(), topics.to_vec()));
    }
    fn access_account(&self, a: &Address) -> evmc_access_status {
        if self.state.borrow_mut().warm_accounts.insert(*a) {
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }
    fn access_storage(&self, a: &Address, k: &Bytes32) -> evmc_access_status {
        if self.state.borrow_mut().warm_slots.insert((*a, *k)) {
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }
    fn get_transient_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        self.state
            .borrow()
            .transient
            .get(&(*a, *k))
            .copied()
            .unwrap_or_default()
    }
    fn set_transient_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) {
        let mut s = self.state.borrow_mut();
        if *v == Bytes32::default() {
            s.transient.remove(&(*a, *k));
        } else {
            s.transient.insert((*a, *k), *v);
        }
    }
}
