//! World state: the committed accounts ([`WorldState`]) and the journaled working copy one
//! transaction mutates ([`State`]).
//!
//! The working copy is an overlay: accounts are copied from the committed state on first access
//! and storage slots on first read, so a transaction over a large pre-state costs only what it
//! touches. Every mutation that a failed frame must undo is recorded in the journal; a frame takes
//! a checkpoint (the journal length) and rolls back to it on failure.
//!
//! Mutations made before the outermost checkpoint (sender nonce and gas purchase, EIP-7702
//! authorizations, access-list warming) are deliberately not journaled: no frame can undo them.
use alloy_primitives::map::{AddressMap, B256Map};
use alloy_primitives::{b256, Address, Bytes, B256, U256};
use evmc_vm::sys::{self, evmc_storage_status};
use evmc_vm::Revision;

/// keccak256 of the empty string: the code hash of an account without code.
pub const EMPTY_CODE_HASH: B256 =
    b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// A committed account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountData {
    /// Transactions sent (an externally owned account) or contracts created (a contract, which
    /// starts at 1 from Spurious Dragon, EIP-161).
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// EVM bytecode, an EIP-7702 delegation designator, or empty.
    pub code: Bytes,
    /// Cached keccak256 of `code`; kept in sync by [`AccountData::new`] and [`State::post_state`].
    pub code_hash: B256,
    /// Only non-zero values are stored.
    pub storage: B256Map<B256>,
}

impl Default for AccountData {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code: Bytes::new(),
            code_hash: EMPTY_CODE_HASH,
            storage: Default::default(),
        }
    }
}

impl AccountData {
    /// An account with its code hash computed and zero-valued slots dropped (a zero slot is an
    /// absent one).
    pub fn new(nonce: u64, balance: U256, code: Bytes, storage: B256Map<B256>) -> Self {
        let code_hash = alloy_primitives::keccak256(&code);
        let storage = storage.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        Self {
            nonce,
            balance,
            code,
            code_hash,
            storage,
        }
    }

    /// "Empty" as defined by EIP-161: no nonce, no balance, no code.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code.is_empty()
    }
}

/// The committed state: the pre-state of a transaction or the post-state it produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorldState {
    /// Every existing account; an address missing here has no account.
    pub accounts: AddressMap<AccountData>,
}

impl WorldState {
    /// The account at `addr`, if there is one.
    pub fn get(&self, addr: &Address) -> Option<&AccountData> {
        self.accounts.get(addr)
    }
    /// The value of slot `key` of `addr`: zero when unset or when there is no account.
    pub fn storage(&self, addr: &Address, key: &B256) -> B256 {
        self.accounts
            .get(addr)
            .and_then(|a| a.storage.get(key))
            .copied()
            .unwrap_or_default()
    }
}

/// A storage slot during a transaction.
#[derive(Clone, Copy, Debug, Default)]
pub struct StorageSlot {
    /// The value after the writes made so far (EIP-2200's "current value").
    pub current: B256,
    /// The value at the start of the transaction (EIP-2200's "original value").
    pub original: B256,
    /// Accessed in this transaction or listed in its access list: later accesses cost the warm
    /// price (EIP-2929).
    pub warm: bool,
}

/// An account during a transaction.
#[derive(Clone, Debug)]
pub struct Account {
    /// The nonce, as in [`AccountData::nonce`].
    pub nonce: u64,
    /// The balance in wei.
    pub balance: U256,
    /// The code, as in [`AccountData::code`].
    pub code: Bytes,
    /// keccak256 of `code`; [`set_code`](Self::set_code) keeps the two in sync.
    pub code_hash: B256,
    /// Slots read or written so far; others are still at their committed value.
    pub storage: B256Map<StorageSlot>,
    /// Transient storage (TLOAD/TSTORE, EIP-1153): cleared when the transaction ends, never
    /// committed.
    pub transient: B256Map<B256>,
    /// The committed account had non-empty storage: a create there collides (EIP-7610).
    pub has_initial_storage: bool,
    /// Marked by SELFDESTRUCT; erased when the transaction ends.
    pub destructed: bool,
    /// Touched in the EIP-161 sense (or created empty by an access): erased at the end of the
    /// transaction if it is empty, from Spurious Dragon on.
    pub erase_if_empty: bool,
    /// Created in this transaction (EIP-6780 lets SELFDESTRUCT erase only such accounts).
    pub just_created: bool,
    /// Accessed in this transaction (EIP-2929): later accesses cost the warm price.
    pub warm: bool,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code: Bytes::new(),
            code_hash: EMPTY_CODE_HASH,
            storage: Default::default(),
            transient: Default::default(),
            has_initial_storage: false,
            destructed: false,
            erase_if_empty: false,
            just_created: false,
            warm: false,
        }
    }
}

impl Account {
    fn from_committed(a: &AccountData) -> Self {
        Self {
            nonce: a.nonce,
            balance: a.balance,
            code: a.code.clone(),
            code_hash: a.code_hash,
            has_initial_storage: !a.storage.is_empty(),
            ..Self::default()
        }
    }

    /// "Empty" as defined by EIP-161.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == EMPTY_CODE_HASH
    }

    /// Replaces the code (a deployment or an EIP-7702 delegation) together with its hash.
    pub fn set_code(&mut self, code: Bytes) {
        self.code_hash = alloy_primitives::keccak256(&code);
        self.code = code;
    }
}

#[derive(Clone, Debug)]
enum JournalEntry {
    Balance {
        addr: Address,
        prev: U256,
    },
    NonceBump {
        addr: Address,
    },
    Storage {
        addr: Address,
        key: B256,
        prev: B256,
        prev_warm: bool,
    },
    Transient {
        addr: Address,
        key: B256,
        prev: B256,
    },
    /// An account came into existence (`existed == false`) or was created over an existing
    /// empty account (`existed == true`).
    Create {
        addr: Address,
        existed: bool,
    },
    Destruct {
        addr: Address,
    },
    AccessAccount {
        addr: Address,
    },
    Touched {
        addr: Address,
    },
}

/// The journaled working state of one transaction over a committed [`WorldState`].
pub struct State<'a> {
    initial: &'a WorldState,
    accounts: AddressMap<Account>,
    journal: Vec<JournalEntry>,
}

impl<'a> State<'a> {
    /// A working state over `initial` with nothing loaded and an empty journal.
    pub fn new(initial: &'a WorldState) -> Self {
        Self {
            initial,
            accounts: Default::default(),
            journal: Vec::new(),
        }
    }

    /// The account, loading it from the committed state on first access.
    pub fn find(&mut self, addr: &Address) -> Option<&mut Account> {
        if !self.accounts.contains_key(addr) {
            let committed = self.initial.get(addr)?;
            self.accounts
                .insert(*addr, Account::from_committed(committed));
        }
        self.accounts.get_mut(addr)
    }

    /// Whether `addr` has an account in the working state; an empty account exists until the
    /// end of the transaction erases it.
    pub fn exists(&mut self, addr: &Address) -> bool {
        self.find(addr).is_some()
    }

    /// The account; inserts a new empty one (not journaled) when there is none.
    pub fn get_or_insert(&mut self, addr: &Address, erase_if_empty: bool) -> &mut Account {
        if self.find(addr).is_none() {
            self.accounts.insert(
                *addr,
                Account {
                    erase_if_empty,
                    ..Account::default()
                },
            );
        }
        self.accounts
            .get_mut(addr)
            .expect("account was just ensured")
    }

    /// Inserts an account known to be absent, journaling its creation so a rollback removes it.
    pub fn insert_journaled(&mut self, addr: &Address, erase_if_empty: bool) -> &mut Account {
        self.journal.push(JournalEntry::Create {
            addr: *addr,
            existed: false,
        });
        let acc = self.accounts.entry(*addr).or_default();
        acc.erase_if_empty = erase_if_empty;
        acc
    }

    /// Touches the account in the EIP-161 sense, creating it empty (and erasable) when absent.
    pub fn touch(&mut self, addr: &Address) -> &mut Account {
        if self.find(addr).is_none() {
            return self.get_or_insert(addr, true);
        }
        let acc = self.accounts.get_mut(addr).expect("found above");
        if !acc.erase_if_empty && acc.is_empty() {
            acc.erase_if_empty = true;
            self.journal.push(JournalEntry::Touched { addr: *addr });
        }
        acc
    }

    /// The code of `addr`; empty when there is no account.
    pub fn code(&mut self, addr: &Address) -> Bytes {
        self.find(addr).map(|a| a.code.clone()).unwrap_or_default()
    }

    /// The storage slot, loading its committed value on first access. The account is created
    /// (erasable) when absent, so a slot always has an owner to roll back into.
    pub fn storage_slot(&mut self, addr: &Address, key: &B256) -> &mut StorageSlot {
        let initial = self.initial;
        let acc = self.get_or_insert(addr, true);
        acc.storage.entry(*key).or_insert_with(|| {
            let v = initial.storage(addr, key);
            StorageSlot {
                current: v,
                original: v,
                warm: false,
            }
        })
    }

    /// The current value of a slot without loading the account into the working set.
    pub fn storage_value(&mut self, addr: &Address, key: &B256) -> B256 {
        match self.find(addr) {
            Some(acc) => match acc.storage.get(key) {
                Some(slot) => slot.current,
                None => self.initial.storage(addr, key),
            },
            None => B256::ZERO,
        }
    }

    /// Sets a slot and returns its EIP-2200 status from the original, current and new values.
    pub fn set_storage(&mut self, addr: &Address, key: &B256, value: B256) -> evmc_storage_status {
        let slot = *self.storage_slot(addr, key);
        self.journal.push(JournalEntry::Storage {
            addr: *addr,
            key: *key,
            prev: slot.current,
            prev_warm: slot.warm,
        });
        self.storage_slot(addr, key).current = value;
        storage_status(&slot.original, &slot.current, &value)
    }

    /// Marks a slot warm (EIP-2929) and returns whether it already was.
    pub fn access_storage(&mut self, addr: &Address, key: &B256) -> bool {
        let slot = self.storage_slot(addr, key);
        let was_warm = slot.warm;
        if !was_warm {
            slot.warm = true;
            let current = slot.current;
            self.journal.push(JournalEntry::Storage {
                addr: *addr,
                key: *key,
                prev: current,
                prev_warm: false,
            });
        }
        was_warm
    }

    /// Marks a slot warm outside any frame (transaction access list).
    pub fn warm_storage_unjournaled(&mut self, addr: &Address, key: &B256) {
        self.storage_slot(addr, key).warm = true;
    }

    /// Transient slot `key` of `addr` (TLOAD, EIP-1153); zero unless written in this transaction.
    pub fn transient(&mut self, addr: &Address, key: &B256) -> B256 {
        self.find(addr)
            .and_then(|a| a.transient.get(key).copied())
            .unwrap_or_default()
    }

    /// Writes transient slot `key` of `addr` (TSTORE, EIP-1153), journaled: a reverted frame
    /// undoes it like a storage write.
    pub fn set_transient(&mut self, addr: &Address, key: &B256, value: B256) {
        let acc = self.get_or_insert(addr, true);
        let prev = acc.transient.insert(*key, value).unwrap_or_default();
        self.journal.push(JournalEntry::Transient {
            addr: *addr,
            key: *key,
            prev,
        });
    }

    /// Sets the balance of an existing account, journaling the previous value.
    pub fn set_balance(&mut self, addr: &Address, balance: U256) {
        let acc = self
            .find(addr)
            .expect("balance change of a missing account");
        let prev = std::mem::replace(&mut acc.balance, balance);
        self.journal
            .push(JournalEntry::Balance { addr: *addr, prev });
    }

    /// The balance of `addr` in wei; zero when there is no account.
    pub fn balance(&mut self, addr: &Address) -> U256 {
        self.find(addr).map(|a| a.balance).unwrap_or_default()
    }

    /// Moves `value` between two existing accounts (journaled). The caller has checked the
    /// sender's balance; a self-transfer is a no-op.
    pub fn transfer(&mut self, from: &Address, to: &Address, value: U256) {
        if value.is_zero() || from == to {
            return;
        }
        let from_balance = self.balance(from);
        self.set_balance(from, from_balance - value);
        let to_balance = self.balance(to);
        self.set_balance(to, to_balance.saturating_add(value));
    }

    /// Increments the nonce of an existing account (the sender of a nested CREATE or CREATE2),
    /// journaled so a reverted frame restores it.
    pub fn bump_nonce_journaled(&mut self, addr: &Address) {
        let acc = self.find(addr).expect("nonce bump of a missing account");
        acc.nonce += 1;
        self.journal.push(JournalEntry::NonceBump { addr: *addr });
    }

    /// Records a create over an existing empty account, so a rollback resets the nonce and code
    /// the creation set while the account itself stays.
    pub fn journal_create_existing(&mut self, addr: &Address) {
        self.journal.push(JournalEntry::Create {
            addr: *addr,
            existed: true,
        });
    }

    /// Records that SELFDESTRUCT marked `addr` destructed, so a rollback clears the mark.
    pub fn journal_destruct(&mut self, addr: &Address) {
        self.journal.push(JournalEntry::Destruct { addr: *addr });
    }

    /// Marks an account warm (EIP-2929), creating it erasable when absent; returns whether it
    /// already was warm.
    pub fn access_account(&mut self, addr: &Address) -> bool {
        let acc = self.get_or_insert(addr, true);
        if acc.warm {
            return true;
        }
        acc.warm = true;
        self.journal
            .push(JournalEntry::AccessAccount { addr: *addr });
        false
    }

    /// The journal length: [`rollback`](Self::rollback) to it undoes every later change.
    pub fn checkpoint(&self) -> usize {
        self.journal.len()
    }

    /// Undoes every journaled change made after `checkpoint`, newest first.
    pub fn rollback(&mut self, checkpoint: usize) {
        while self.journal.len() > checkpoint {
            let entry = self.journal.pop().expect("journal longer than checkpoint");
            match entry {
                JournalEntry::Balance { addr, prev } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.balance = prev;
                    }
                }
                JournalEntry::NonceBump { addr } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.nonce -= 1;
                    }
                }
                JournalEntry::Storage {
                    addr,
                    key,
                    prev,
                    prev_warm,
                } => {
                    if let Some(s) = self
                        .accounts
                        .get_mut(&addr)
                        .and_then(|a| a.storage.get_mut(&key))
                    {
                        s.current = prev;
                        s.warm = prev_warm;
                    }
                }
                JournalEntry::Transient { addr, key, prev } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.transient.insert(key, prev);
                    }
                }
                JournalEntry::Create { addr, existed } => {
                    if existed {
                        // Created over an existing empty account: value transfers and storage
                        // writes are undone by their own entries; what is left is the nonce and
                        // code the creation set.
                        if let Some(a) = self.accounts.get_mut(&addr) {
                            a.nonce = 0;
                            a.code = Bytes::new();
                            a.code_hash = EMPTY_CODE_HASH;
                            a.just_created = false;
                        }
                    } else {
                        self.accounts.remove(&addr);
                    }
                }
                JournalEntry::Destruct { addr } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.destructed = false;
                    }
                }
                JournalEntry::AccessAccount { addr } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.warm = false;
                    }
                }
                JournalEntry::Touched { addr } => {
                    if let Some(a) = self.accounts.get_mut(&addr) {
                        a.erase_if_empty = false;
                    }
                }
            }
        }
    }

    /// The committed state after the transaction: destructed accounts and (from Spurious Dragon)
    /// touched empty accounts are erased, storage slots set to zero are dropped.
    pub fn post_state(self, rev: Revision) -> WorldState {
        let mut post = self.initial.clone();
        for (addr, acc) in self.accounts {
            if acc.destructed
                || (acc.erase_if_empty && rev >= sys::EVMC_SPURIOUS_DRAGON && acc.is_empty())
            {
                post.accounts.remove(&addr);
                continue;
            }
            let entry = post.accounts.entry(addr).or_default();
            entry.nonce = acc.nonce;
            entry.balance = acc.balance;
            entry.code = acc.code;
            entry.code_hash = acc.code_hash;
            for (key, slot) in acc.storage {
                if slot.current == slot.original {
                    continue;
                }
                if slot.current.is_zero() {
                    entry.storage.remove(&key);
                } else {
                    entry.storage.insert(key, slot.current);
                }
            }
        }
        post
    }
}

/// The EIP-2200 storage status of writing `new` to a slot whose value was `original` at the
/// start of the transaction and is `current` now (EVMC's `evmc_storage_status` table). The VM
/// derives gas cost and refund from it for every revision's SSTORE rules.
pub fn storage_status(original: &B256, current: &B256, new: &B256) -> evmc_storage_status {
    let dirty = original != current;
    let restored = original == new;
    let current_zero = current.is_zero();
    let new_zero = new.is_zero();
    match (dirty, restored) {
        (false, false) if current_zero => sys::EVMC_STORAGE_ADDED, // 0 -> 0 -> Z
        (false, false) if new_zero => sys::EVMC_STORAGE_DELETED,   // X -> X -> 0
        (false, false) => sys::EVMC_STORAGE_MODIFIED,              // X -> X -> Z
        (true, false) if current_zero && !new_zero => sys::EVMC_STORAGE_DELETED_ADDED, // X -> 0 -> Z
        (true, false) if !current_zero && new_zero => sys::EVMC_STORAGE_MODIFIED_DELETED, // X -> Y -> 0
        (true, true) if current_zero => sys::EVMC_STORAGE_DELETED_RESTORED, // X -> 0 -> X
        (true, true) if new_zero => sys::EVMC_STORAGE_ADDED_DELETED,        // 0 -> Y -> 0
        (true, true) => sys::EVMC_STORAGE_MODIFIED_RESTORED,                // X -> Y -> X
        // Unchanged value (X -> X -> X, or a dirty slot set to yet another value).
        _ => sys::EVMC_STORAGE_ASSIGNED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;
    use sys::*;

    fn v(n: u8) -> B256 {
        B256::with_last_byte(n)
    }

    #[test]
    fn storage_status_covers_the_eip2200_table() {
        let z = B256::ZERO;
        // (original, current, new) -> status, one row per entry of EVMC's table.
        let rows = [
            ((z, z, z), EVMC_STORAGE_ASSIGNED),
            ((v(1), v(1), v(1)), EVMC_STORAGE_ASSIGNED),
            ((z, z, v(1)), EVMC_STORAGE_ADDED),
            ((v(1), v(1), z), EVMC_STORAGE_DELETED),
            ((v(1), v(1), v(2)), EVMC_STORAGE_MODIFIED),
            ((v(1), z, v(2)), EVMC_STORAGE_DELETED_ADDED),
            ((v(1), v(2), z), EVMC_STORAGE_MODIFIED_DELETED),
            ((v(1), z, v(1)), EVMC_STORAGE_DELETED_RESTORED),
            ((z, v(1), z), EVMC_STORAGE_ADDED_DELETED),
            ((v(1), v(2), v(1)), EVMC_STORAGE_MODIFIED_RESTORED),
            // Dirty slots moved to yet another value are plain assignments.
            ((v(1), v(2), v(3)), EVMC_STORAGE_ASSIGNED),
            ((z, v(1), v(2)), EVMC_STORAGE_ASSIGNED),
            ((v(1), z, z), EVMC_STORAGE_ASSIGNED),
        ];
        for ((o, c, n), expected) in rows {
            assert_eq!(storage_status(&o, &c, &n), expected, "{o} {c} {n}");
        }
    }

    #[test]
    fn set_storage_uses_the_original_value_of_the_transaction() {
        let a = address!("00000000000000000000000000000000000000aa");
        let mut pre = WorldState::default();
        let mut storage = B256Map::default();
        storage.insert(v(1), v(7));
        pre.accounts
            .insert(a, AccountData::new(1, U256::ZERO, Bytes::new(), storage));
        let mut st = State::new(&pre);
        assert_eq!(st.set_storage(&a, &v(1), v(8)), EVMC_STORAGE_MODIFIED);
        assert_eq!(
            st.set_storage(&a, &v(1), v(7)),
            EVMC_STORAGE_MODIFIED_RESTORED
        );
        assert_eq!(st.set_storage(&a, &v(2), v(1)), EVMC_STORAGE_ADDED);
        let post = st.post_state(EVMC_CANCUN);
        assert_eq!(post.storage(&a, &v(1)), v(7));
        assert_eq!(post.storage(&a, &v(2)), v(1));
    }

    #[test]
    fn rollback_restores_values_warmth_and_existence() {
        let a = address!("00000000000000000000000000000000000000aa");
        let b = address!("00000000000000000000000000000000000000bb");
        let mut pre = WorldState::default();
        pre.accounts.insert(
            a,
            AccountData::new(0, U256::from(100), Bytes::new(), Default::default()),
        );
        let mut st = State::new(&pre);
        let cp = st.checkpoint();
        st.insert_journaled(&b, false);
        st.transfer(&a, &b, U256::from(40));
        st.set_storage(&a, &v(1), v(1));
        assert!(!st.access_account(&a));
        assert!(st.access_account(&a));
        st.set_transient(&a, &v(1), v(5));
        st.rollback(cp);
        assert!(!st.exists(&b));
        assert_eq!(st.balance(&a), U256::from(100));
        assert_eq!(st.storage_value(&a, &v(1)), B256::ZERO);
        assert_eq!(st.transient(&a, &v(1)), B256::ZERO);
        assert!(!st.access_account(&a), "warmth is undone with the frame");
    }

    #[test]
    fn touched_empty_accounts_are_erased_from_spurious_dragon() {
        let a = address!("00000000000000000000000000000000000000aa");
        let mut pre = WorldState::default();
        pre.accounts.insert(a, AccountData::default());
        for (rev, kept) in [
            (EVMC_TANGERINE_WHISTLE, true),
            (EVMC_SPURIOUS_DRAGON, false),
        ] {
            let mut st = State::new(&pre);
            st.touch(&a);
            assert_eq!(st.post_state(rev).accounts.contains_key(&a), kept);
        }
        // Untouched empty accounts stay.
        let st = State::new(&pre);
        assert!(st.post_state(EVMC_CANCUN).accounts.contains_key(&a));
    }
}
