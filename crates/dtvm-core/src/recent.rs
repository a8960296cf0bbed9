//! A thread's memo of what it last found for a code buffer: engines called again and again with
//! the same code (a client re-executing a contract, a benchmark) find their analysis or compiled
//! contract by comparing the code with the memo's, instead of hashing it and locking a cache.
//!
//! Invariants: a hit is the same buffer (address and length), the same revision and then the same
//! bytes (a host may reuse one buffer for other code); the memo holds a weak reference, so it keeps
//! nothing alive that its cache has dropped.

use crate::Revision;
use std::cell::RefCell;
use std::sync::{Arc, Weak};

/// The memo: one per thread and kind of value, in a `thread_local!`
/// (`RefCell<Recent<T>>`, initialized with [`Recent::EMPTY`]).
pub struct Recent<T> {
    last: Option<(*const u8, usize, Revision, Weak<T>)>,
}

impl<T> Recent<T> {
    /// Nothing remembered.
    pub const EMPTY: Self = Self { last: None };

    /// The remembered value if `code` at `rev` is what it was found for; `code_of` gives a
    /// value's code.
    #[inline]
    pub fn find(
        memo: &RefCell<Self>,
        code: &[u8],
        rev: Revision,
        code_of: impl Fn(&T) -> &[u8],
    ) -> Option<Arc<T>> {
        let memo = memo.borrow();
        let (ptr, len, r, value) = memo.last.as_ref()?;
        if *ptr != code.as_ptr() || *len != code.len() || *r != rev {
            return None;
        }
        value.upgrade().filter(|v| code_of(v) == code)
    }

    /// Remembers `value`, found for `code` at `rev`.
    pub fn remember(memo: &RefCell<Self>, code: &[u8], rev: Revision, value: &Arc<T>) {
        let entry = (code.as_ptr(), code.len(), rev, Arc::downgrade(value));
        let old = memo.borrow_mut().last.replace(entry);
        // Outside the borrow: the last weak reference may free the old value's allocation.
        drop(old);
    }
}
