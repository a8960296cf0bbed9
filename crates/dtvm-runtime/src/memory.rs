//! EVM memory: a byte vector that grows in 32-byte words, charged by the Yellow Paper formula.
//!
//! Growth past the buffer's capacity takes a fresh zeroed allocation (`calloc`), which the
//! allocator maps, for big sizes, as untouched zero pages: memory a program expands but never
//! writes (a CALL's 1 MB argument area, repeated 1,024 deep in `static_Call1MB1024Calldepth`)
//! costs address space, not resident memory. `Vec::resize` would write every byte.

use crate::Status;
use ::evmc_vm::sys::EVMC_OUT_OF_GAS;
use dtvm_core::gas::{memory_cost, num_words, MAX_MEMORY_SIZE};
use dtvm_core::U256;

/// `#[repr(C)]` with the buffer's address and length mirrored in plain fields, so that compiled
/// code can access memory in bounds without a call ([`Memory::OFFSET_BASE`],
/// [`Memory::OFFSET_LEN`]). Only `grow` and `from_buffer` change the vector's length or address,
/// and both refresh the mirror.
#[repr(C)]
pub struct Memory {
    base: *mut u8,
    len: usize,
    data: Vec<u8>,
    /// Bytes of `data`'s spare capacity from here on are zeros the allocator wrote and nothing
    /// has written since (nothing writes past `data.len()`, and this only grows while the
    /// allocation lives): growing over them needs no writing. A recycled buffer knows nothing.
    zero_from: usize,
}

impl Default for Memory {
    fn default() -> Self {
        Self::from_buffer(Vec::new())
    }
}

impl Memory {
    /// Offset of the buffer's address (a `*mut u8`) in `Memory`.
    pub const OFFSET_BASE: usize = std::mem::offset_of!(Memory, base);
    /// Offset of the buffer's length in bytes (a `usize`) in `Memory`.
    pub const OFFSET_LEN: usize = std::mem::offset_of!(Memory, len);

    /// Wraps a (possibly recycled) buffer; it is cleared first.
    pub fn from_buffer(mut data: Vec<u8>) -> Self {
        data.clear();
        Self {
            base: data.as_mut_ptr(),
            len: 0,
            zero_from: data.capacity(),
            data,
        }
    }

    /// The buffer, for the next frame to reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.data
    }

    /// The size in bytes: a multiple of 32 covering the highest byte accessed so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no byte has been accessed yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All of memory.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// `size` bytes at `offset`, which [`expand`](Self::expand) must already cover (panics
    /// otherwise).
    #[inline]
    pub fn slice(&self, offset: usize, size: usize) -> &[u8] {
        &self.data[offset..offset + size]
    }

    /// `size` writable bytes at `offset`, which [`expand`](Self::expand) must already cover
    /// (panics otherwise).
    #[inline]
    pub fn slice_mut(&mut self, offset: usize, size: usize) -> &mut [u8] {
        &mut self.data[offset..offset + size]
    }

    /// Copies `size` bytes from `src` to `dst`; the regions may overlap. Both must be covered.
    #[inline]
    pub fn copy_within(&mut self, src: usize, dst: usize, size: usize) {
        self.data.copy_within(src..src + size, dst);
    }

    /// Makes `[offset, offset + size)` addressable, charging expansion gas from `gas_left`.
    /// `size` must be non-zero (a zero-size access never expands memory).
    #[inline]
    pub fn expand(&mut self, gas_left: &mut i64, offset: u64, size: u64) -> Result<(), Status> {
        let end = offset + size; // both are at most MAX_MEMORY_SIZE: no overflow
        if end as usize > self.data.len() {
            self.grow(gas_left, end)?;
        }
        Ok(())
    }

    #[cold]
    fn grow(&mut self, gas_left: &mut i64, end: u64) -> Result<(), Status> {
        let new_words = num_words(end);
        let old_words = (self.data.len() / 32) as u64;
        *gas_left -= memory_cost(new_words) - memory_cost(old_words);
        if *gas_left < 0 {
            return Err(EVMC_OUT_OF_GAS);
        }
        let new_len = new_words as usize * 32;
        if new_len > self.data.capacity() {
            self.reallocate(new_len);
        }
        // Bytes below `zero_from` may hold an earlier frame's data (a recycled buffer).
        let dirty_end = self.zero_from.min(new_len);
        if dirty_end > self.data.len() {
            self.data.resize(dirty_end, 0);
        }
        // SAFETY: new_len <= capacity (reallocated above), and the bytes in
        // [data.len(), new_len) are at or above `zero_from`: zeros the allocator wrote, never
        // written since, so initialized.
        unsafe { self.data.set_len(new_len) };
        self.zero_from = self.zero_from.max(new_len);
        self.base = self.data.as_mut_ptr();
        self.len = self.data.len();
        Ok(())
    }

    /// Moves the contents into a zeroed allocation of at least `min_len` bytes (at least twice
    /// the old capacity, so growth in small steps stays linear).
    fn reallocate(&mut self, min_len: usize) {
        let capacity = min_len.max(self.data.capacity().saturating_mul(2));
        let mut fresh = vec![0u8; capacity];
        let len = self.data.len();
        fresh[..len].copy_from_slice(&self.data);
        fresh.truncate(len);
        self.data = fresh;
        self.zero_from = len;
    }
}

/// A memory region read from the stack, checked against the memory limit.
/// `None` for size 0: the offset is then ignored, as the EVM specifies.
#[inline]
pub fn region(offset: U256, size: U256) -> Result<Option<(usize, usize)>, Status> {
    if size.is_zero() {
        return Ok(None);
    }
    let (Ok(offset), Ok(size)) = (u64::try_from(offset), u64::try_from(size)) else {
        return Err(EVMC_OUT_OF_GAS);
    };
    if offset > MAX_MEMORY_SIZE || size > MAX_MEMORY_SIZE || offset + size > MAX_MEMORY_SIZE {
        return Err(EVMC_OUT_OF_GAS);
    }
    Ok(Some((offset as usize, size as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_charges_the_difference() {
        let mut m = Memory::default();
        let mut gas = 100;
        m.expand(&mut gas, 0, 32).unwrap();
        assert_eq!((gas, m.len()), (97, 32));
        m.expand(&mut gas, 10, 30).unwrap(); // end 40 -> 2 words
        assert_eq!((gas, m.len()), (94, 64));
        m.expand(&mut gas, 0, 64).unwrap();
        assert_eq!(gas, 94);
        let mut little = 2;
        assert_eq!(m.expand(&mut little, 64, 1), Err(EVMC_OUT_OF_GAS));
    }

    #[test]
    fn mirror_follows_the_buffer() {
        let mut m = Memory::from_buffer(vec![7; 100]);
        assert_eq!((m.len, m.len()), (0, 0));
        let mut gas = 1_000_000;
        for end in [32, 64, 4096, 65536] {
            m.expand(&mut gas, 0, end).unwrap();
            assert_eq!(m.base, m.data.as_mut_ptr());
            assert_eq!(m.len, m.data.len());
        }
    }

    #[test]
    fn growth_reads_zeros_over_recycled_and_fresh_bytes() {
        let mut gas = 1_000_000;
        // A recycled buffer full of old data, then growth within and past its capacity.
        let mut m = Memory::from_buffer(vec![0xab; 256]);
        for end in [32, 200, 256, 4096, 5000, 1 << 16] {
            m.expand(&mut gas, 0, end).unwrap();
            assert!(m.as_slice().iter().all(|&b| b == 0), "end {end}");
            assert_eq!((m.base, m.len), (m.data.as_mut_ptr(), m.data.len()));
        }
        // Written bytes survive reallocation; fresh ones read zero.
        m.slice_mut(100, 3).copy_from_slice(&[1, 2, 3]);
        let mut big = 10_000_000;
        m.expand(&mut big, 0, 1 << 20).unwrap();
        assert_eq!(m.slice(99, 5), [0, 1, 2, 3, 0]);
        assert_eq!(m.as_slice().iter().map(|&b| b as u32).sum::<u32>(), 6);
        // Recycled again: what was written is gone.
        let mut m = Memory::from_buffer(m.into_buffer());
        m.expand(&mut gas, 0, 4096).unwrap();
        assert!(m.as_slice().iter().all(|&b| b == 0));
    }

    #[test]
    fn regions_near_the_limit_are_out_of_gas() {
        assert_eq!(region(U256::MAX, U256::ZERO), Ok(None));
        assert_eq!(
            region(U256::from(1u64 << 40), U256::from(1)),
            Err(EVMC_OUT_OF_GAS)
        );
        assert_eq!(
            region(U256::from(u32::MAX), U256::from(1)),
            Err(EVMC_OUT_OF_GAS)
        );
        assert_eq!(region(U256::from(5), U256::from(7)), Ok(Some((5, 7))));
    }
}
