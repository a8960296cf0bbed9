//! EVM memory: bytes that grow in 32-byte words, charged by the Yellow Paper formula.
//!
//! Small memories live in a (recycled) vector. A memory that grows past [`MAPPED_FROM`] moves
//! into an anonymous mapping of its own, whose pages the kernel commits on first write and
//! `munmap` returns: memory a program expands but never writes (a CALL's 1 MB argument area,
//! 1,024 deep in `static_Call1MB1024Calldepth`) then costs address space, not resident memory,
//! and a finished frame's memory goes back to the OS. Left to the allocator, big buffers come
//! from the heap once glibc's dynamic mmap threshold has risen past their size (after the
//! first such buffer is freed), and zeroing them commits every page: 552 MB for that test.
//! Each thread keeps its last finished mapping (up to 16 MB) for its next frame, zeroing only
//! what was used, so a contract that needs a big memory on every call pays neither fresh page
//! faults nor a move every time.

use crate::Status;
use ::evmc_vm::sys::{EVMC_OUT_OF_GAS, EVMC_OUT_OF_MEMORY};
use dtvm_core::gas::{memory_cost, num_words, MAX_MEMORY_SIZE};
use dtvm_core::U256;

/// Memories larger than this move into a mapping of their own (if the platform has `mmap`).
pub const MAPPED_FROM: usize = 256 << 10;

/// Bytes a vector-held memory zeroes past its size at most (see `Memory::grow`).
const ZERO_AHEAD: usize = 4 << 10;

/// `#[repr(C)]` with the bytes' address and length mirrored in plain fields, so that compiled
/// code can access memory in bounds without a call ([`Memory::OFFSET_BASE`],
/// [`Memory::OFFSET_LEN`]). Only `grow` and `from_buffer` change them.
///
/// Invariant: `base[..len]` are the memory's bytes, initialized: `data`'s when `mapping` is
/// `None` (then `len <= data.len() == ready`, the bytes past `len` zero), otherwise the
/// mapping's (`len <= capacity`; a mapping's bytes are all initialized, to zero by the kernel).
/// Growth within `ready` only sets `len` and charges gas: compiled code does that inline
/// ([`Memory::OFFSET_READY`]).
#[repr(C)]
pub struct Memory {
    base: *mut u8,
    len: usize,
    data: Vec<u8>,
    mapping: Option<mapping::Mapping>,
    /// The mapping's bytes from `max(clean_from, len)` on are zero (kernel pages nothing has
    /// written; a reused mapping was written up to where its last user's memory reached).
    clean_from: usize,
    /// Growth up to here only sets `len`: the bytes in `[len, ready)` are zero. Without a
    /// mapping, the vector's length; with one, past `clean_from`, the mapping's capacity.
    ready: usize,
}

impl Default for Memory {
    fn default() -> Self {
        Self::from_buffer(Vec::new())
    }
}

impl Memory {
    /// Offset of the bytes' address (a `*mut u8`) in `Memory`.
    pub const OFFSET_BASE: usize = std::mem::offset_of!(Memory, base);
    /// Offset of the length in bytes (a `usize`) in `Memory`.
    pub const OFFSET_LEN: usize = std::mem::offset_of!(Memory, len);
    /// Offset of the bytes zeroed ahead (a `usize`, see the invariant) in `Memory`.
    pub const OFFSET_READY: usize = std::mem::offset_of!(Memory, ready);

    /// Wraps a (possibly recycled) buffer; it is cleared first. A thread's kept mapping, if any,
    /// holds the bytes instead: a contract that needs a big memory on every call then grows it
    /// in place, without moving its first bytes.
    pub fn from_buffer(mut data: Vec<u8>) -> Self {
        data.clear();
        let mut memory = Self {
            base: data.as_mut_ptr(),
            len: 0,
            data,
            mapping: None,
            clean_from: 0,
            ready: 0,
        };
        if let Some((mut m, dirty)) = mapping::reuse(0) {
            memory.base = m.bytes_mut().as_mut_ptr();
            memory.mapping = Some(m);
            memory.clean_from = dirty;
        }
        memory
    }

    /// The vector, for the next frame to reuse (a mapping goes to this thread's cache).
    pub fn into_buffer(mut self) -> Vec<u8> {
        if let Some(m) = self.mapping.take() {
            mapping::keep(m, self.clean_from.max(self.len));
        }
        self.data
    }

    /// The size in bytes: a multiple of 32 covering the highest byte accessed so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte has been accessed yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All of memory.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `base[..len]` are the memory's initialized bytes (the type's invariant), owned
        // by `self` and borrowed with it.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, borrowed mutably with `self`.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }

    /// `size` bytes at `offset`, which [`expand`](Self::expand) must already cover (panics
    /// otherwise).
    #[inline]
    pub fn slice(&self, offset: usize, size: usize) -> &[u8] {
        &self.as_slice()[offset..offset + size]
    }

    /// `size` writable bytes at `offset`, which [`expand`](Self::expand) must already cover
    /// (panics otherwise).
    #[inline]
    pub fn slice_mut(&mut self, offset: usize, size: usize) -> &mut [u8] {
        &mut self.as_mut_slice()[offset..offset + size]
    }

    /// Copies `size` bytes from `src` to `dst`; the regions may overlap. Both must be covered.
    #[inline]
    pub fn copy_within(&mut self, src: usize, dst: usize, size: usize) {
        self.as_mut_slice().copy_within(src..src + size, dst);
    }

    /// Makes `[offset, offset + size)` addressable, charging expansion gas from `gas_left`.
    /// `size` must be non-zero (a zero-size access never expands memory).
    #[inline]
    pub fn expand(&mut self, gas_left: &mut i64, offset: u64, size: u64) -> Result<(), Status> {
        let end = offset + size; // both are at most MAX_MEMORY_SIZE: no overflow
        if end as usize > self.len {
            self.grow(gas_left, end)?;
        }
        Ok(())
    }

    #[cold]
    fn grow(&mut self, gas_left: &mut i64, end: u64) -> Result<(), Status> {
        let new_words = num_words(end);
        let old_words = (self.len / 32) as u64;
        *gas_left -= memory_cost(new_words) - memory_cost(old_words);
        if *gas_left < 0 {
            return Err(EVMC_OUT_OF_GAS);
        }
        let new_len = new_words as usize * 32;
        if new_len <= self.ready {
            // Zeros nobody has written (zeroed ahead, or mapped): only count them in.
            self.len = new_len;
            return Ok(());
        }
        if self.mapping.is_none() && (new_len <= MAPPED_FROM || !mapping::AVAILABLE) {
            // Zeroed ahead within the vector's capacity, up to twice the new size but at most
            // ZERO_AHEAD more: memory that grows a word at a time (an unrolled loop filling a
            // buffer) then mostly grows without coming here, and compiled code without a
            // call. Never past the capacity: the allocation stays what growth to `new_len`
            // makes it, and a deep call chain of frames holds no more memory than before.
            self.data.reserve(new_len - self.data.len());
            let ahead = new_len
                .saturating_mul(2)
                .min(new_len + ZERO_AHEAD)
                .min(self.data.capacity())
                .max(new_len);
            self.data.resize(ahead, 0);
            self.base = self.data.as_mut_ptr();
            self.ready = ahead;
        } else {
            self.grow_mapped(new_len)?;
            // Bytes below `clean_from` may be an earlier memory's (a reused mapping).
            let m = self.mapping.as_mut().expect("mapped");
            if self.len < self.clean_from {
                // Zero ahead (up to twice the new size, at least a page), so that growth in small
                // steps over a reused mapping does not come here every time.
                let ahead = new_len.saturating_mul(2).max(new_len + 4096);
                let dirty_end = self.clean_from.min(ahead).min(m.capacity());
                m.bytes_mut()[self.len..dirty_end].fill(0);
                self.ready = dirty_end;
            }
            if new_len >= self.clean_from || self.ready >= self.clean_from {
                self.ready = m.capacity();
            }
        }
        self.len = new_len;
        Ok(())
    }

    /// Makes the mapping (created here, with the vector's bytes, the first time) hold at least
    /// `new_len` bytes; capacity at least doubles, so growth in small steps stays linear.
    #[cold]
    fn grow_mapped(&mut self, new_len: usize) -> Result<(), Status> {
        match &mut self.mapping {
            Some(m) if new_len <= m.capacity() => {}
            Some(m) => {
                let capacity = new_len.max(m.capacity().saturating_mul(2));
                m.grow(capacity, self.len).ok_or(EVMC_OUT_OF_MEMORY)?;
            }
            None => {
                let (mut m, clean_from) = match mapping::reuse(new_len) {
                    Some(kept) => kept,
                    None => {
                        let capacity = new_len.max(2 * MAPPED_FROM);
                        (
                            mapping::Mapping::new(capacity).ok_or(EVMC_OUT_OF_MEMORY)?,
                            0,
                        )
                    }
                };
                m.bytes_mut()[..self.data.len()].copy_from_slice(&self.data);
                self.clean_from = clean_from.max(self.data.len());
                self.data.clear();
                self.mapping = Some(m);
            }
        }
        let m = self.mapping.as_mut().expect("mapped above");
        self.base = m.bytes_mut().as_mut_ptr();
        Ok(())
    }
}

#[cfg(unix)]
mod mapping {
    use std::cell::RefCell;

    /// Whether big memories can move into mappings here.
    pub(super) const AVAILABLE: bool = true;
    /// Largest mapping a thread keeps for reuse (what it keeps resident at most).
    const KEPT_LIMIT: usize = 16 << 20;

    thread_local! {
        /// The thread's last finished mapping and where its written bytes end.
        static KEPT: RefCell<Option<(Mapping, usize)>> = const { RefCell::new(None) };
    }

    /// Keeps a finished memory's mapping (written below `dirty`) for the thread's next one.
    pub(super) fn keep(m: Mapping, dirty: usize) {
        if m.capacity <= KEPT_LIMIT {
            // The mapping kept before is unmapped.
            KEPT.with(|k| *k.borrow_mut() = Some((m, dirty)));
        }
    }

    /// The kept mapping, if it holds `len` bytes, with where its written bytes end.
    pub(super) fn reuse(len: usize) -> Option<(Mapping, usize)> {
        KEPT.with(|k| {
            let mut k = k.borrow_mut();
            match &*k {
                Some((m, _)) if m.capacity >= len => k.take(),
                _ => None,
            }
        })
    }

    /// An anonymous private read-write mapping of `capacity` bytes, unmapped on drop. Every
    /// byte is initialized (the kernel maps zero pages); pages are committed on first write.
    pub(super) struct Mapping {
        ptr: std::ptr::NonNull<u8>,
        capacity: usize,
    }

    impl Mapping {
        pub(super) fn new(capacity: usize) -> Option<Self> {
            // SAFETY: a fresh anonymous mapping aliases nothing; failure is checked.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    capacity,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return None;
            }
            Some(Self {
                ptr: std::ptr::NonNull::new(ptr.cast())?,
                capacity,
            })
        }

        pub(super) fn capacity(&self) -> usize {
            self.capacity
        }

        pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
            // SAFETY: the mapping is `capacity` readable, writable, initialized bytes owned by
            // `self`.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.capacity) }
        }

        /// Grows to `capacity` bytes keeping the first `used` (moving the pages, not copying
        /// them, where the kernel can).
        pub(super) fn grow(&mut self, capacity: usize, used: usize) -> Option<()> {
            #[cfg(target_os = "linux")]
            {
                let _ = used;
                // SAFETY: `ptr`/`self.capacity` is this mapping; MREMAP_MAYMOVE keeps its
                // contents and maps zero pages after them; failure leaves it as it was.
                let ptr = unsafe {
                    libc::mremap(
                        self.ptr.as_ptr().cast(),
                        self.capacity,
                        capacity,
                        libc::MREMAP_MAYMOVE,
                    )
                };
                if ptr == libc::MAP_FAILED {
                    return None;
                }
                self.ptr = std::ptr::NonNull::new(ptr.cast())?;
                self.capacity = capacity;
                Some(())
            }
            #[cfg(not(target_os = "linux"))]
            {
                let mut bigger = Self::new(capacity)?;
                bigger.bytes_mut()[..used].copy_from_slice(&self.bytes_mut()[..used]);
                *self = bigger;
                Some(())
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: `ptr`/`capacity` is this mapping, unmapped once; nothing borrows it past
            // its owner.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.capacity) };
        }
    }
}

#[cfg(not(unix))]
mod mapping {
    /// Whether big memories can move into mappings here.
    pub(super) const AVAILABLE: bool = false;

    /// Never made: big memories stay in the vector.
    pub(super) enum Mapping {}

    pub(super) fn keep(m: Mapping, _: usize) {
        match m {}
    }

    pub(super) fn reuse(_: usize) -> Option<(Mapping, usize)> {
        None
    }

    impl Mapping {
        pub(super) fn new(_: usize) -> Option<Self> {
            None
        }
        pub(super) fn capacity(&self) -> usize {
            match *self {}
        }
        pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
            match *self {}
        }
        pub(super) fn grow(&mut self, _: usize, _: usize) -> Option<()> {
            match *self {}
        }
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
        let mut gas = 1_000_000_000;
        for end in [32, 64, 4096, 65536] {
            m.expand(&mut gas, 0, end).unwrap();
            assert_eq!(m.base, m.data.as_mut_ptr());
            assert!(m.len <= m.data.len() && m.ready == m.data.len());
        }
        m.expand(&mut gas, 0, 1 << 20).unwrap();
        let mapped = m.mapping.as_mut().expect("mapped").bytes_mut().as_mut_ptr();
        assert_eq!((m.base, m.len), (mapped, 1 << 20));
    }

    #[test]
    fn growth_reads_zeros_and_keeps_what_was_written() {
        let mut gas = 1_000_000_000;
        // A recycled buffer full of old data, then growth within and past its capacity.
        let mut m = Memory::from_buffer(vec![0xab; 256]);
        for end in [32, 200, 256, 4096, 5000, 1 << 16] {
            m.expand(&mut gas, 0, end).unwrap();
            assert!(m.as_slice().iter().all(|&b| b == 0), "end {end}");
            assert_eq!(m.base, m.data.as_mut_ptr());
            assert!(m.len <= m.data.len() && m.ready == m.data.len());
        }
        // Written bytes survive the move into a mapping and the mapping's growth (twice past
        // its first capacity); new bytes read zero.
        m.slice_mut(100, 3).copy_from_slice(&[1, 2, 3]);
        for end in [MAPPED_FROM as u64 + 32, 1 << 20, 5 << 20] {
            m.expand(&mut gas, 0, end).unwrap();
            assert_eq!(m.len(), end as usize);
            assert_eq!(m.slice(99, 5), [0, 1, 2, 3, 0]);
            assert_eq!(m.as_slice().iter().map(|&b| b as u32).sum::<u32>(), 6);
            let last = m.len() - 1;
            m.slice_mut(last, 1)[0] = 9;
            assert_eq!(m.as_slice()[last], 9);
            m.slice_mut(last, 1)[0] = 0;
        }
        m.copy_within(100, (4 << 20) + 1, 3);
        assert_eq!(m.slice(4 << 20, 5), [0, 1, 2, 3, 0]);
        // Recycled: the vector comes back empty, and the kept mapping, reused by the next big
        // memory, reads zero again.
        let mut m = Memory::from_buffer(m.into_buffer());
        m.expand(&mut gas, 0, 4096).unwrap();
        assert!(m.as_slice().iter().all(|&b| b == 0));
        m.slice_mut(7, 1)[0] = 5;
        for end in [MAPPED_FROM as u64 + 32, 5 << 20, 6 << 20] {
            m.expand(&mut gas, 0, end).unwrap();
            assert_eq!(
                m.as_slice().iter().map(|&b| b as u32).sum::<u32>(),
                5,
                "{end}"
            );
        }
        // Small steps (within what is zeroed ahead or past the old data), writing the last
        // byte each time; the next user of the mapping reads zeros anyway.
        for _ in 0..3 {
            let mut m = Memory::from_buffer(Vec::new());
            let mut end = 32;
            while end < (7 << 20) {
                m.expand(&mut gas, 0, end).unwrap();
                assert!(
                    m.as_slice()[m.len() - 32..].iter().all(|&b| b == 0),
                    "{end}"
                );
                m.slice_mut(end as usize - 1, 1)[0] = 1;
                end += 32 * 97;
            }
            let _ = m.into_buffer();
        }
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
