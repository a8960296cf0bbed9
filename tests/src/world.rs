//! What a scenario is (pre-state, transaction, revision) and what running it produced.
use ::evmc_vm::sys::*;
use ::evmc_vm::{Address, Bytes32, Revision};
use revm::primitives::U256;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// An account of the world state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Balance in wei.
    pub balance: U256,
    /// The account's nonce.
    pub nonce: u64,
    /// Runtime code; empty for an externally owned account.
    pub code: Arc<[u8]>,
    /// Zero values are never stored: an absent key reads as zero.
    pub storage: BTreeMap<Bytes32, Bytes32>,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            balance: U256::ZERO,
            nonce: 0,
            code: Arc::from(&[][..]),
            storage: BTreeMap::new(),
        }
    }
}

impl Account {
    /// A contract account: `code`, `balance` and nonce 1 (EIP-161), no storage.
    pub fn contract(code: Vec<u8>, balance: U256) -> Self {
        Self {
            balance,
            nonce: 1,
            code: code.into(),
            storage: BTreeMap::new(),
        }
    }

    /// Empty in the sense of EIP-161.
    pub fn is_empty(&self) -> bool {
        self.balance.is_zero() && self.nonce == 0 && self.code.is_empty()
    }
}

/// The accounts of a state, by address (absent accounts do not exist).
pub type World = BTreeMap<Address, Account>;

/// The state as both engines must agree on it: EIP-161 empty accounts are dropped (revm deletes
/// touched ones, a host may keep untouched ones), so "absent" and "empty" compare equal.
pub fn normalize(world: &World) -> World {
    world
        .iter()
        .map(|(k, a)| {
            let mut a = a.clone();
            a.storage.retain(|_, v| *v != Bytes32::default());
            (*k, a)
        })
        .filter(|(_, a)| !(a.is_empty() && a.storage.is_empty()))
        .collect()
}

/// The address whose last four bytes are `n` big-endian (the rest zero).
pub const fn address(n: u32) -> Address {
    let b = n.to_be_bytes();
    let mut bytes = [0u8; 20];
    bytes[16] = b[0];
    bytes[17] = b[1];
    bytes[18] = b[2];
    bytes[19] = b[3];
    Address { bytes }
}

/// `v` as a big-endian EVMC word.
pub fn word(v: U256) -> Bytes32 {
    Bytes32 {
        bytes: v.to_be_bytes(),
    }
}

/// The big-endian EVMC word `w` as a number.
pub fn u256(w: &Bytes32) -> U256 {
    U256::from_be_bytes(w.bytes)
}

/// The transaction's sender, an externally owned account.
pub const SENDER: Address = address(0x5e_4de7);
/// An externally owned account with a balance that programs can send value to or inspect.
pub const EOA: Address = address(0xe0a);
/// The block's beneficiary, what COINBASE returns (warm from Shanghai, EIP-3651).
pub const COINBASE: Address = address(0xc0ffee);
/// From Prague, an externally owned account whose code is an EIP-7702 delegation designator.
pub const DELEGATED: Address = address(0x7702);
/// Where generated contracts live; far from the precompile range on purpose.
pub const CONTRACTS: [Address; 4] = [
    address(0x1000),
    address(0x1001),
    address(0x1002),
    address(0x1003),
];

/// The block every scenario runs in; both engines are configured from these.
pub mod block {
    /// NUMBER.
    pub const NUMBER: u64 = 1000;
    /// TIMESTAMP, in seconds.
    pub const TIMESTAMP: u64 = 1_700_000_000;
    /// GASLIMIT.
    pub const GAS_LIMIT: u64 = 30_000_000;
    /// PREVRANDAO, from Paris.
    pub const PREVRANDAO: [u8; 32] = [0x42; 32];
    /// Before Paris the PREVRANDAO opcode was DIFFICULTY.
    pub const DIFFICULTY: u64 = 0x2_0000;
    /// CHAINID (mainnet's).
    pub const CHAIN_ID: u64 = 1;
    /// At zero excess blob gas (EIP-4844 pricing).
    pub const BLOB_BASE_FEE: u64 = 1;
}

/// A call transaction (no value, no creation).
pub struct Tx {
    /// The externally owned account sending it.
    pub sender: Address,
    /// The account called.
    pub to: Address,
    /// Calldata.
    pub input: Vec<u8>,
    /// Gas given to the top-level message: the transaction's gas limit minus intrinsic gas.
    pub exec_gas: i64,
}

/// One differential test case: a transaction on a pre-state at a revision.
pub struct Scenario {
    /// The revision both engines run at.
    pub rev: Revision,
    /// The state before the transaction.
    pub pre: World,
    /// The transaction.
    pub tx: Tx,
}

/// The fork's name for `rev` (`?` past the known ones).
pub fn revision_name(rev: Revision) -> &'static str {
    const NAMES: [&str; 15] = [
        "Frontier",
        "Homestead",
        "TangerineWhistle",
        "SpuriousDragon",
        "Byzantium",
        "Constantinople",
        "Petersburg",
        "Istanbul",
        "Berlin",
        "London",
        "Paris",
        "Shanghai",
        "Cancun",
        "Prague",
        "Osaka",
    ];
    usize::try_from(rev)
        .ok()
        .and_then(|r| NAMES.get(r))
        .copied()
        .unwrap_or("?")
}

/// `bytes` as lower-case hex, without `0x`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes hex (whitespace ignored, no `0x`); panics on anything else.
pub fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
        .collect()
}

impl Scenario {
    /// Everything needed to rerun the scenario by hand: revision, gas, calldata, and each
    /// account of the pre-state with its code.
    pub fn reproducer(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "revision {} ({}), exec gas {}, to 0x{}, calldata 0x{}",
            revision_name(self.rev),
            self.rev,
            self.tx.exec_gas,
            hex(&self.tx.to.bytes),
            hex(&self.tx.input)
        );
        for (addr, a) in &self.pre {
            let _ = writeln!(
                s,
                "  account 0x{} balance {} nonce {} code 0x{}",
                hex(&addr.bytes),
                a.balance,
                a.nonce,
                hex(&a.code)
            );
            for (k, v) in &a.storage {
                let _ = writeln!(s, "    storage {} = {}", u256(k), u256(v));
            }
        }
        s
    }
}

/// How a transaction ended, at the level of detail all engines agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Completed: state changes kept.
    Success,
    /// REVERT: state reverted, unused gas returned.
    Revert,
    /// Any exceptional halt. Engines name failures differently (revm's `OutOfGas(Memory)` is
    /// EVMC's `OUT_OF_GAS`, its `OpcodeNotFound` EVMC's `UNDEFINED_INSTRUCTION`...); what the
    /// protocol defines is that all gas is gone and the state is reverted.
    Failure,
}

impl Class {
    /// The class of an EVMC status code.
    pub fn of(status: evmc_status_code) -> Class {
        match status {
            EVMC_SUCCESS => Class::Success,
            EVMC_REVERT => Class::Revert,
            _ => Class::Failure,
        }
    }
}

/// (emitter, data, topics)
pub type Log = (Address, Vec<u8>, Vec<Bytes32>);

/// A transaction's effect, in the terms both engines define the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How the transaction ended.
    pub class: Class,
    /// Engine-specific status name: shown in reports, not compared across engines.
    pub status: String,
    /// Execution gas used, before refunds (intrinsic gas excluded).
    pub gas_used: u64,
    /// Refund granted to the transaction (after the EIP-3529 or pre-London cap); 0 unless
    /// successful.
    pub refund: u64,
    /// The top-level call's output (return or revert data).
    pub output: Vec<u8>,
    /// Logs of a successful transaction (none otherwise).
    pub logs: Vec<Log>,
    /// Post-state, [`normalize`]d.
    pub state: World,
}

/// The refund a transaction gets: EIP-3529 caps it at a fifth of gas used from London, half
/// before. `gas_used` here includes intrinsic gas.
pub fn capped_refund(rev: Revision, gas_used: u64, refund: i64) -> u64 {
    let quotient = if rev >= EVMC_LONDON { 5 } else { 2 };
    (refund.max(0) as u64).min(gas_used / quotient)
}

impl Outcome {
    /// What differs between `self` and `other`, or `None`.
    pub fn diff(&self, other: &Outcome) -> Option<String> {
        let mut d = Vec::new();
        if self.class != other.class {
            d.push(format!("class {:?} vs {:?}", self.class, other.class));
        }
        if self.gas_used != other.gas_used {
            d.push(format!("gas used {} vs {}", self.gas_used, other.gas_used));
        }
        if self.refund != other.refund {
            d.push(format!("refund {} vs {}", self.refund, other.refund));
        }
        if self.output != other.output {
            d.push(format!(
                "output 0x{} vs 0x{}",
                hex(&self.output),
                hex(&other.output)
            ));
        }
        if self.logs != other.logs {
            d.push(format!("logs {:?} vs {:?}", self.logs, other.logs));
        }
        if self.state != other.state {
            d.push(state_diff(&self.state, &other.state));
        }
        (!d.is_empty()).then(|| format!("[{} vs {}] {}", self.status, other.status, d.join("; ")))
    }
}

fn state_diff(a: &World, b: &World) -> String {
    let mut out = Vec::new();
    for addr in a.keys().chain(b.keys().filter(|k| !a.contains_key(k))) {
        match (a.get(addr), b.get(addr)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => out.push(format!(
                "account 0x{}: {} vs {}",
                hex(&addr.bytes),
                describe(x),
                describe(y)
            )),
        }
    }
    format!("state {}", out.join(", "))
}

fn describe(a: Option<&Account>) -> String {
    match a {
        None => "absent".into(),
        Some(a) => format!(
            "balance {} nonce {} code 0x{} storage {:?}",
            a.balance,
            a.nonce,
            hex(&a.code),
            a.storage
                .iter()
                .map(|(k, v)| (u256(k), u256(v)))
                .collect::<Vec<_>>()
        ),
    }
}
