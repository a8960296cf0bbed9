//! Test support shared by dtvm's engine crates: a small in-memory EVMC host whose nested calls
//! run in the same engine as the outer frame, so a differential run compares whole call trees.
//! (The full transaction host, with reverts and revm's precompiles, is `dtvm-tests`'s; the
//! state-test host is `dtvm-state`'s.)
//!
//! * [`rng`]: the one source of test randomness (seeded, or a fuzzer's bytes).
//! * [`gen`]: random programs for the engines' differential tests.
//! * [`Engine`]: which engine runs a [`MockHost`]'s frames.

pub mod gen;
pub mod rng;

use ::evmc_vm::sys::*;
use ::evmc_vm::*;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// (address, data, topics)
pub type Log = (Address, Vec<u8>, Vec<Bytes32>);

/// What executes a frame: `dtvm_interp::execute` or a JIT mode's entry with the same signature.
pub type Exec = fn(&mut ExecutionContext, Revision, &ExecutionMessage, &[u8]) -> ExecutionResult;

pub struct MockHost {
    /// Runs every frame, the outer one and nested calls (the interpreter unless set).
    pub engine: std::cell::Cell<Exec>,
    pub storage: RefCell<HashMap<(Address, Bytes32), Bytes32>>,
    pub original: RefCell<HashMap<(Address, Bytes32), Bytes32>>,
    pub transient: RefCell<HashMap<(Address, Bytes32), Bytes32>>,
    pub balances: RefCell<HashMap<Address, Bytes32>>,
    pub codes: RefCell<HashMap<Address, Vec<u8>>>,
    pub logs: RefCell<Vec<Log>>,
    pub warm_accounts: RefCell<HashSet<Address>>,
    pub warm_slots: RefCell<HashSet<(Address, Bytes32)>>,
    pub calls: RefCell<Vec<evmc_message>>,
    pub rev: std::cell::Cell<Revision>,
    pub tx: RefCell<Option<evmc_tx_context>>,
    /// (stack top, lowest stack address seen in `call`), to measure native stack per depth.
    pub stack_probe: std::cell::Cell<Option<(usize, usize)>>,
}

pub fn addr(n: u8) -> Address {
    let mut a = Address::default();
    a.bytes[19] = n;
    a
}

pub fn word(n: u64) -> Bytes32 {
    let mut b = Bytes32::default();
    b.bytes[24..].copy_from_slice(&n.to_be_bytes());
    b
}

impl MockHost {
    pub fn new(rev: Revision) -> Self {
        Self::with_engine(rev, dtvm_interp::execute as Exec)
    }

    pub fn with_engine(rev: Revision, engine: impl Into<Exec>) -> Self {
        Self {
            engine: std::cell::Cell::new(engine.into()),
            storage: Default::default(),
            original: Default::default(),
            transient: Default::default(),
            balances: Default::default(),
            codes: Default::default(),
            logs: Default::default(),
            warm_accounts: Default::default(),
            warm_slots: Default::default(),
            calls: Default::default(),
            rev: rev.into(),
            tx: Default::default(),
            stack_probe: Default::default(),
        }
    }

    /// Runs `code` as the callee `addr(1)` called by `addr(2)`.
    pub fn run(&self, code: &[u8], gas: i64, input: &[u8]) -> ExecutionResult {
        let mut msg = empty_message();
        msg.gas = gas;
        msg.recipient = addr(1);
        msg.sender = addr(2);
        msg.code_address = addr(1);
        msg.input_data = input.as_ptr();
        msg.input_size = input.len();
        self.execute(&msg, code)
    }

    pub fn execute(&self, msg: &evmc_message, code: &[u8]) -> ExecutionResult {
        let table = host_interface::<MockHost>();
        // SAFETY: table and context outlive the call; the message's pointers are live.
        unsafe {
            let mut ctx = ExecutionContext::new(&table, host_context(self));
            let m = ExecutionMessage::new(msg);
            (self.engine.get())(&mut ctx, self.rev.get(), &m, code)
        }
    }
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
        self.storage.borrow_mut().insert((*a, *k), *v);
        storage_status(&original.bytes, &current.bytes, &v.bytes)
    }
    fn get_balance(&self, a: &Address) -> Bytes32 {
        self.balances.borrow().get(a).copied().unwrap_or_default()
    }
    fn get_code_size(&self, a: &Address) -> usize {
        self.codes.borrow().get(a).map_or(0, |c| c.len())
    }
    fn get_code_hash(&self, a: &Address) -> Bytes32 {
        match self.codes.borrow().get(a) {
            Some(c) => Bytes32 {
                bytes: dtvm_runtime::instructions::keccak256(c),
            },
            None => Bytes32::default(),
        }
    }
    fn copy_code(&self, a: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        let codes = self.codes.borrow();
        let code = codes.get(a).map(|c| c.as_slice()).unwrap_or(&[]);
        let n = code.len().saturating_sub(offset).min(buffer.len());
        if n == 0 {
            return 0;
        }
        buffer[..n].copy_from_slice(&code[offset..offset + n]);
        n
    }
    fn selfdestruct(&self, _a: &Address, _b: &Address) -> bool {
        true
    }
    fn call(&self, msg: &evmc_message) -> ExecutionResult {
        if let Some((top, low)) = self.stack_probe.get() {
            let here = 0u8;
            let here = &here as *const u8 as usize;
            self.stack_probe.set(Some((top, low.min(here))));
        }
        self.calls.borrow_mut().push(*msg);
        let code = self
            .codes
            .borrow()
            .get(&msg.code_address)
            .cloned()
            .unwrap_or_default();
        self.execute(msg, &code)
    }
    fn get_tx_context(&self) -> evmc_tx_context {
        self.tx.borrow().unwrap_or(evmc_tx_context {
            tx_gas_price: word(7),
            tx_origin: addr(9),
            block_coinbase: addr(8),
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
    fn get_block_hash(&self, n: i64) -> Bytes32 {
        word(n as u64 + 0x1000)
    }
    fn emit_log(&self, a: &Address, data: &[u8], topics: &[Bytes32]) {
        self.logs
            .borrow_mut()
            .push((*a, data.to_vec(), topics.to_vec()));
    }
    fn access_account(&self, a: &Address) -> AccessStatus {
        if self.warm_accounts.borrow_mut().insert(*a) {
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }
    fn access_storage(&self, a: &Address, k: &Bytes32) -> AccessStatus {
        if self.warm_slots.borrow_mut().insert((*a, *k)) {
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
        self.transient.borrow_mut().insert((*a, *k), *v);
    }
}

/// Which engine executes a [`MockHost`]'s frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    #[default]
    Interp,
    Multipass,
    Lazy,
}

impl From<Engine> for Exec {
    fn from(engine: Engine) -> Exec {
        match engine {
            Engine::Interp => dtvm_interp::execute,
            Engine::Multipass => {
                |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, false)
            }
            Engine::Lazy => |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, true),
        }
    }
}

/// Everything a run of `code` at Cancun with 300,000 gas observably produces, for comparing
/// engines: status, gas left, refund, output and logs.
pub fn outcome(engine: Engine, code: &[u8], input: &[u8]) -> (i32, i64, i64, Vec<u8>, Vec<Log>) {
    let h = MockHost::with_engine(::evmc_vm::sys::EVMC_CANCUN, engine);
    let r = h.run(code, 300_000, input);
    (
        r.status_code,
        r.gas_left,
        r.gas_refund,
        r.output,
        h.logs.take(),
    )
}

/// Runs `f` on a thread with a stack deep enough for 1024 nested EVM calls, as clients do.
pub fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Assembles hex like "6001600201" into bytes.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
