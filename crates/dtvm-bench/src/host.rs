//! The in-memory EVMC host the bench drives dtvm with: storage with original/current values
//! (for EIP-2200 statuses), warm sets, transient storage, logs, value transfers and nested calls
//! that re-enter the VM, all journaled so a failed call is undone. It covers what the suite and
//! the synthetic cases use; CREATE and precompile calls are refused and reported, so a case that
//! needs them fails validation with a clear reason instead of timing a different computation.
use ::evmc_vm::sys::*;
use ::evmc_vm::{
    AccessStatus, Address, Bytes32, ExecutionResult, Host, Revision, StorageStatus, Vm,
};
// revm's own map types and hasher: state lookups cost the same on both sides.
use revm::primitives::map::{HashMap, HashSet};
use revm::primitives::{keccak256, U256};
use std::cell::RefCell;
use std::sync::Arc;

struct Account {
    balance: U256,
    code: Arc<[u8]>,
    code_hash: Bytes32,
    storage: HashMap<Bytes32, Bytes32>,
}

#[derive(Clone, Copy)]
struct Slot {
    original: Bytes32,
    current: Bytes32,
}

enum Undo {
    Storage(Address, Bytes32, Option<Slot>),
    Transient(Address, Bytes32, Option<Bytes32>),
    Balance(Address, Option<U256>),
    WarmAccount(Address),
    WarmSlot(Address, Bytes32),
    Destructed(Address),
    Log,
}

/// What one execution changed; anything absent reads through to the pre-state.
#[derive(Default)]
struct State {
    storage: HashMap<(Address, Bytes32), Slot>,
    transient: HashMap<(Address, Bytes32), Bytes32>,
    balances: HashMap<Address, U256>,
    warm_accounts: HashSet<Address>,
    warm_slots: HashSet<(Address, Bytes32)>,
    destructed: HashSet<Address>,
    logs: Vec<(Address, Vec<u8>, Vec<Bytes32>)>,
    journal: Vec<Undo>,
    unsupported: Option<&'static str>,
}

pub struct BenchHost {
    vm: Arc<Vm>,
    rev: Revision,
    accounts: HashMap<Address, Account>,
    tx: evmc_tx_context,
    precompiles: HashSet<Address>,
    /// Warm before execution starts, as in a transaction: origin, recipient, coinbase
    /// (Shanghai, EIP-3651) and precompiles (Berlin, EIP-2929).
    initially_warm: Vec<Address>,
    state: RefCell<State>,
}

pub struct HostSetup<'a> {
    pub rev: Revision,
    pub accounts: &'a [super::cases::Account],
    pub tx: evmc_tx_context,
    pub recipient: Address,
    pub precompiles: Vec<Address>,
}

pub fn addr(a: &revm::primitives::Address) -> Address {
    Address { bytes: a.0 .0 }
}

pub fn b32(v: U256) -> Bytes32 {
    Bytes32 {
        bytes: v.to_be_bytes::<32>(),
    }
}

impl BenchHost {
    pub fn new(vm: Arc<Vm>, setup: HostSetup<'_>) -> Self {
        let accounts = setup
            .accounts
            .iter()
            .map(|a| {
                let account = Account {
                    balance: a.balance,
                    code: a.code.clone(),
                    code_hash: Bytes32 {
                        bytes: keccak256(&a.code).0,
                    },
                    storage: a.storage.iter().map(|&(k, v)| (b32(k), b32(v))).collect(),
                };
                (addr(&a.address), account)
            })
            .collect();
        let mut initially_warm = vec![setup.tx.tx_origin, setup.recipient];
        if setup.rev >= EVMC_SHANGHAI {
            initially_warm.push(setup.tx.block_coinbase);
        }
        initially_warm.extend(setup.precompiles.iter().copied());
        let host = Self {
            vm,
            rev: setup.rev,
            accounts,
            tx: setup.tx,
            precompiles: setup.precompiles.into_iter().collect(),
            initially_warm,
            state: RefCell::default(),
        };
        host.reset();
        host
    }

    /// Back to the pre-state, outside any timed region.
    pub fn reset(&self) {
        let mut s = State::default();
        s.warm_accounts.extend(self.initially_warm.iter().copied());
        *self.state.borrow_mut() = s;
    }

    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    pub fn rev(&self) -> Revision {
        self.rev
    }

    /// The first thing the last execution needed that this host does not implement.
    pub fn unsupported(&self) -> Option<&'static str> {
        self.state.borrow().unsupported
    }

    fn refuse(&self, what: &'static str) -> ExecutionResult {
        self.state.borrow_mut().unsupported.get_or_insert(what);
        ExecutionResult::failure(EVMC_FAILURE)
    }

    fn balance(&self, s: &State, a: &Address) -> U256 {
        s.balances
            .get(a)
            .copied()
            .or_else(|| self.accounts.get(a).map(|acc| acc.balance))
            .unwrap_or_default()
    }

    fn set_balance(&self, s: &mut State, a: Address, v: U256) {
        let old = s.balances.insert(a, v);
        s.journal.push(Undo::Balance(a, old));
    }

    fn slot(&self, s: &State, a: &Address, k: &Bytes32) -> Slot {
        s.storage.get(&(*a, *k)).copied().unwrap_or_else(|| {
            let v = self
                .accounts
                .get(a)
                .and_then(|acc| acc.storage.get(k).copied())
                .unwrap_or_default();
            Slot {
                original: v,
                current: v,
            }
        })
    }

    fn revert_to(&self, s: &mut State, mark: usize) {
        while s.journal.len() > mark {
            match s.journal.pop().expect("length checked") {
                Undo::Storage(a, k, Some(slot)) => {
                    s.storage.insert((a, k), slot);
                }
                Undo::Storage(a, k, None) => {
                    s.storage.remove(&(a, k));
                }
                Undo::Transient(a, k, Some(v)) => {
                    s.transient.insert((a, k), v);
                }
                Undo::Transient(a, k, None) => {
                    s.transient.remove(&(a, k));
                }
                Undo::Balance(a, Some(v)) => {
                    s.balances.insert(a, v);
                }
                Undo::Balance(a, None) => {
                    s.balances.remove(&a);
                }
                Undo::WarmAccount(a) => {
                    s.warm_accounts.remove(&a);
                }
                Undo::WarmSlot(a, k) => {
                    s.warm_slots.remove(&(a, k));
                }
                Undo::Destructed(a) => {
                    s.destructed.remove(&a);
                }
                Undo::Log => {
                    s.logs.pop();
                }
            }
        }
    }
}

fn is_zero(v: &Bytes32) -> bool {
    v.bytes == [0; 32]
}

/// The EIP-2200 classification of a store, as EVMC defines `evmc_storage_status`.
fn storage_status(slot: Slot, new: &Bytes32) -> StorageStatus {
    let dirty = slot.original != slot.current;
    let restored = slot.original == *new;
    let (current_zero, new_zero) = (is_zero(&slot.current), is_zero(new));
    match (dirty, restored) {
        (false, false) if current_zero => EVMC_STORAGE_ADDED,
        (false, false) if new_zero => EVMC_STORAGE_DELETED,
        (false, false) => EVMC_STORAGE_MODIFIED,
        (true, false) if current_zero && !new_zero => EVMC_STORAGE_DELETED_ADDED,
        (true, false) if !current_zero && new_zero => EVMC_STORAGE_MODIFIED_DELETED,
        (true, true) if current_zero => EVMC_STORAGE_DELETED_RESTORED,
        (true, true) if new_zero => EVMC_STORAGE_ADDED_DELETED,
        (true, true) => EVMC_STORAGE_MODIFIED_RESTORED,
        _ => EVMC_STORAGE_ASSIGNED,
    }
}

impl Host for BenchHost {
    fn account_exists(&self, a: &Address) -> bool {
        let s = self.state.borrow();
        self.accounts.contains_key(a) || s.balances.get(a).is_some_and(|b| !b.is_zero())
    }

    fn get_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        self.slot(&self.state.borrow(), a, k).current
    }

    fn set_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) -> StorageStatus {
        let mut s = self.state.borrow_mut();
        let slot = self.slot(&s, a, k);
        let status = storage_status(slot, v);
        let old = s.storage.insert(
            (*a, *k),
            Slot {
                original: slot.original,
                current: *v,
            },
        );
        s.journal.push(Undo::Storage(*a, *k, old));
        status
    }

    fn get_balance(&self, a: &Address) -> Bytes32 {
        b32(self.balance(&self.state.borrow(), a))
    }

    fn get_code_size(&self, a: &Address) -> usize {
        self.accounts.get(a).map_or(0, |acc| acc.code.len())
    }

    fn get_code_hash(&self, a: &Address) -> Bytes32 {
        if !self.account_exists(a) {
            return Bytes32::default();
        }
        self.accounts.get(a).map_or(
            Bytes32 {
                bytes: keccak256([]).0,
            },
            |acc| acc.code_hash,
        )
    }

    fn copy_code(&self, a: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        let code = self.accounts.get(a).map_or(&[][..], |acc| &acc.code[..]);
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buffer.len());
        buffer[..n].copy_from_slice(&src[..n]);
        n
    }

    fn selfdestruct(&self, a: &Address, beneficiary: &Address) -> bool {
        let mut s = self.state.borrow_mut();
        let balance = self.balance(&s, a);
        if a != beneficiary {
            let to = self.balance(&s, beneficiary);
            self.set_balance(&mut s, *beneficiary, to + balance);
        }
        self.set_balance(&mut s, *a, U256::ZERO);
        let first = s.destructed.insert(*a);
        if first {
            s.journal.push(Undo::Destructed(*a));
        }
        first
    }

    fn call(&self, msg: &evmc_message) -> ExecutionResult {
        if !matches!(msg.kind, EVMC_CALL | EVMC_CALLCODE | EVMC_DELEGATECALL) {
            return self.refuse("CREATE/CREATE2");
        }
        if self.precompiles.contains(&msg.code_address) {
            return self.refuse("precompile calls");
        }
        let mark = {
            let mut s = self.state.borrow_mut();
            let mark = s.journal.len();
            let value = U256::from_be_bytes(msg.value.bytes);
            // CALLCODE moves value from the caller to itself; DELEGATECALL moves none.
            if msg.kind == EVMC_CALL && !value.is_zero() {
                let from = self.balance(&s, &msg.sender);
                let Some(left) = from.checked_sub(value) else {
                    // The VM checks the balance before it calls; this only guards the host.
                    return ExecutionResult::failure(EVMC_INSUFFICIENT_BALANCE);
                };
                self.set_balance(&mut s, msg.sender, left);
                let to = self.balance(&s, &msg.recipient);
                self.set_balance(&mut s, msg.recipient, to + value);
            }
            mark
        };
        let code = self
            .accounts
            .get(&msg.code_address)
            .map_or(&[][..], |acc| &acc.code[..]);
        let result = if code.is_empty() {
            ExecutionResult::new(EVMC_SUCCESS, msg.gas, 0, Vec::new())
        } else {
            self.vm.execute(self, self.rev, msg, code)
        };
        if result.status_code != EVMC_SUCCESS {
            self.revert_to(&mut self.state.borrow_mut(), mark);
        }
        result
    }

    fn get_tx_context(&self) -> evmc_tx_context {
        self.tx
    }

    fn get_block_hash(&self, number: i64) -> Bytes32 {
        // What revm's in-memory database answers, so BLOCKHASH agrees on both sides.
        Bytes32 {
            bytes: keccak256(number.to_string().as_bytes()).0,
        }
    }

    fn emit_log(&self, a: &Address, data: &[u8], topics: &[Bytes32]) {
        let mut s = self.state.borrow_mut();
        s.logs.push((*a, data.to_vec(), topics.to_vec()));
        s.journal.push(Undo::Log);
    }

    fn access_account(&self, a: &Address) -> AccessStatus {
        let mut s = self.state.borrow_mut();
        if s.warm_accounts.insert(*a) {
            s.journal.push(Undo::WarmAccount(*a));
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }

    fn access_storage(&self, a: &Address, k: &Bytes32) -> AccessStatus {
        let mut s = self.state.borrow_mut();
        if s.warm_slots.insert((*a, *k)) {
            s.journal.push(Undo::WarmSlot(*a, *k));
            EVMC_ACCESS_COLD
        } else {
            EVMC_ACCESS_WARM
        }
    }

    fn get_transient_storage(&self, a: &Address, k: &Bytes32) -> Bytes32 {
        let s = self.state.borrow();
        s.transient.get(&(*a, *k)).copied().unwrap_or_default()
    }

    fn set_transient_storage(&self, a: &Address, k: &Bytes32, v: &Bytes32) {
        let mut s = self.state.borrow_mut();
        let old = s.transient.insert((*a, *k), *v);
        s.journal.push(Undo::Transient(*a, *k, old));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: u8) -> Bytes32 {
        let mut b = Bytes32::default();
        b.bytes[31] = v;
        b
    }

    fn status(original: u8, current: u8, new: u8) -> StorageStatus {
        storage_status(
            Slot {
                original: w(original),
                current: w(current),
            },
            &w(new),
        )
    }

    /// The nine cases of the EVMC storage-status table (X, Y, Z nonzero and distinct).
    #[test]
    fn storage_status_matches_the_evmc_table() {
        assert_eq!(status(0, 0, 0), EVMC_STORAGE_ASSIGNED);
        assert_eq!(status(1, 1, 1), EVMC_STORAGE_ASSIGNED);
        assert_eq!(status(1, 2, 3), EVMC_STORAGE_ASSIGNED);
        assert_eq!(status(0, 0, 3), EVMC_STORAGE_ADDED);
        assert_eq!(status(1, 1, 0), EVMC_STORAGE_DELETED);
        assert_eq!(status(1, 1, 3), EVMC_STORAGE_MODIFIED);
        assert_eq!(status(1, 0, 3), EVMC_STORAGE_DELETED_ADDED);
        assert_eq!(status(1, 2, 0), EVMC_STORAGE_MODIFIED_DELETED);
        assert_eq!(status(1, 0, 1), EVMC_STORAGE_DELETED_RESTORED);
        assert_eq!(status(0, 2, 0), EVMC_STORAGE_ADDED_DELETED);
        assert_eq!(status(1, 2, 1), EVMC_STORAGE_MODIFIED_RESTORED);
    }
}
