//! Instruction bodies that are too large to inline in the dispatch loop: environment and state
//! access, memory copies, logs, calls, creates. Each operates on the [`Frame`]'s stack and gas, and
//! is the single definition of its EVM rule: the JIT calls these same functions.
//!
//! Stack access is unchecked: engines call these only inside a basic block whose stack bounds were
//! checked on entry ([`Frame::begin_run`], [`Frame::begin_block`]), so the items an instruction pops exist and the items
//! it pushes fit.

use crate::{Frame, Status};
use ::evmc_vm::sys::*;
use ::evmc_vm::{Address, Bytes32};
use dtvm_core::gas::{self, *};
use dtvm_core::{opcode as op, *};

/// The outcome of an instruction body: `Err` ends the frame with that status.
pub type OpResult = Result<(), Status>;

mod arithmetic;
mod calls;
mod environment;
mod memory;
mod storage;

pub use arithmetic::*;
pub use calls::*;
pub use environment::*;
pub use memory::*;
pub use storage::*;

impl Frame<'_, '_> {
    /// Removes and returns the top stack item.
    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(self.stack_height() > 0);
        // SAFETY: the block entry checked that the block's stack requirement is met, so the items
        // this instruction pops exist: `sp - 1` is a written slot of the stack.
        unsafe {
            self.sp = self.sp.sub(1);
            *self.sp
        }
    }

    /// Pushes `value` onto the stack.
    #[inline(always)]
    pub fn push(&mut self, value: U256) {
        debug_assert!(self.stack_height() < STACK_LIMIT);
        // SAFETY: the block entry checked that the block's maximum growth fits under STACK_LIMIT,
        // so `sp` is a slot of the stack (not its end) and `sp + 1` stays in or one past it.
        unsafe {
            *self.sp = value;
            self.sp = self.sp.add(1);
        }
    }

    /// The top stack item, to overwrite in place (a body that pops n items and pushes one pops
    /// n - 1 and replaces the top).
    #[inline(always)]
    pub fn top(&mut self) -> &mut U256 {
        debug_assert!(self.stack_height() > 0);
        // SAFETY: the block entry checked the block's stack requirement, so there is a top item at
        // `sp - 1`; the returned borrow keeps `self` (and so `sp`) borrowed while it lives.
        unsafe { &mut *self.sp.sub(1) }
    }

    fn address_access_cost(&mut self, address: &Address) -> OpResult {
        if self.rev >= BERLIN && self.host.access_account(address) == EVMC_ACCESS_COLD {
            self.charge(ADDITIONAL_COLD_ACCOUNT_ACCESS_COST)?;
        }
        Ok(())
    }

    fn check_not_static(&self) -> OpResult {
        if self.msg.is_static() {
            Err(EVMC_STATIC_MODE_VIOLATION)
        } else {
            Ok(())
        }
    }
}

/// The address in the low 20 bytes of a word; the EVM ignores the upper 12 bytes of an
/// address operand.
#[inline]
pub fn to_address(v: U256) -> Address {
    let bytes = v.to_be_bytes::<32>();
    let mut a = Address::default();
    a.bytes.copy_from_slice(&bytes[12..]);
    a
}

/// An address as a word, zero-extended (ADDRESS, CALLER, ORIGIN, ...).
#[inline]
pub fn address_to_u256(a: &Address) -> U256 {
    let mut bytes = [0u8; 32];
    bytes[12..].copy_from_slice(&a.bytes);
    U256::from_be_bytes(bytes)
}

/// A big-endian 32-byte value from the host as a word.
#[inline]
pub fn bytes32_to_u256(b: &Bytes32) -> U256 {
    U256::from_be_bytes(b.bytes)
}

/// A word as the big-endian 32 bytes the host takes (storage keys and values, topics).
#[inline]
pub fn u256_to_bytes32(v: U256) -> Bytes32 {
    Bytes32 {
        bytes: v.to_be_bytes::<32>(),
    }
}

/// Saturating conversion used for offsets into call data, code and return data.
#[inline]
pub fn saturating_usize(v: U256) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Copies `src[offset..]` into `dst`, filling what is past the end of `src` with zeros.
#[inline]
fn copy_padded(dst: &mut [u8], src: &[u8], offset: usize) {
    let available = src.len().saturating_sub(offset);
    let n = available.min(dst.len());
    if n > 0 {
        dst[..n].copy_from_slice(&src[offset..offset + n]);
    }
    dst[n..].fill(0);
}

/// Keccak-256 of `data` (the original Keccak padding, not FIPS SHA3-256), as KECCAK256 computes
/// it.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::Hasher;
    let mut k = tiny_keccak::Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trip() {
        let mut a = Address::default();
        a.bytes[0] = 0xaa;
        a.bytes[19] = 0x01;
        assert_eq!(to_address(address_to_u256(&a)), a);
        assert_eq!(to_address(U256::MAX).bytes, [0xff; 20]);
    }

    #[test]
    fn padded_copy() {
        let mut dst = [9u8; 4];
        copy_padded(&mut dst, &[1, 2, 3], 1);
        assert_eq!(dst, [2, 3, 0, 0]);
        copy_padded(&mut dst, &[1, 2, 3], usize::MAX);
        assert_eq!(dst, [0; 4]);
    }
}
