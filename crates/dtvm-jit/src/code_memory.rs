//! The executable memory of one contract's Cranelift module, mapped in whole pages and counted
//! as mapped (not as emitted), so the code cache can charge a contract what it really keeps.
//!
//! Invariants:
//! * Memory is writable until the module finalizes it, then read-only (and executable for
//!   code), never both writable and executable. A finalize closes the page being filled: the
//!   next function starts on a fresh page (the finalized one may be running).
//! * `mapped` (shared with the owner) is exactly the bytes this provider has mapped and not
//!   unmapped; the code cache's live total moves with it.
//! * Everything is unmapped when the module frees its memory or is dropped; the owner (a
//!   contract) does either only once no frame can run its code.

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::{ModuleError, ModuleResult};
use std::io;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One mapping.
struct Chunk {
    ptr: *mut u8,
    len: usize,
}

/// Mappings of one kind of memory; the last one may still be filling.
#[derive(Default)]
struct Pool {
    chunks: Vec<Chunk>,
    /// `chunks[..finalized]` have their final protection.
    finalized: usize,
    /// Bytes used in the last chunk, when it is still filling (not finalized).
    position: usize,
}

pub(crate) struct CodeMemory {
    code: Pool,
    readonly: Pool,
    writable: Pool,
    /// Bytes mapped now, shared with the owner for accounting.
    mapped: Arc<AtomicUsize>,
}

// SAFETY: the raw pointers are this provider's own mappings; it is used by one thread at a time
// (behind its module's owner's lock).
unsafe impl Send for CodeMemory {}

fn page_size() -> usize {
    static PAGE: once_cell::sync::Lazy<usize> = once_cell::sync::Lazy::new(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096)
    });
    *PAGE
}

impl Pool {
    fn allocate(&mut self, size: usize, align: usize, mapped: &AtomicUsize) -> io::Result<*mut u8> {
        let align = align.max(1);
        let filling = self.chunks.len() > self.finalized;
        if filling {
            let last = self.chunks.last().expect("a filling chunk");
            let start = self.position.next_multiple_of(align);
            if start.checked_add(size).is_some_and(|end| end <= last.len) {
                self.position = start + size;
                // SAFETY: `start + size <= len`: inside the mapping.
                return Ok(unsafe { last.ptr.add(start) });
            }
        }
        let len = size.max(1).next_multiple_of(page_size());
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        mapped.fetch_add(len, Relaxed);
        crate::code_cache::charge(len as isize);
        self.chunks.push(Chunk {
            ptr: ptr as *mut u8,
            len,
        });
        self.position = size;
        Ok(ptr as *mut u8)
    }

    /// Gives every chunk not finalized yet protection `prot`; closes the filling chunk.
    fn protect(&mut self, prot: libc::c_int, code: bool) -> io::Result<()> {
        for chunk in &self.chunks[self.finalized..] {
            if code {
                // SAFETY: the chunk is this pool's mapping, fully written for what it holds.
                unsafe {
                    wasmtime_jit_icache_coherence::clear_cache(chunk.ptr as *const _, chunk.len)
                }
                .map_err(|e| io::Error::other(e.to_string()))?;
            }
            // SAFETY: the chunk is this pool's own mapping.
            if unsafe { libc::mprotect(chunk.ptr as *mut _, chunk.len, prot) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        self.finalized = self.chunks.len();
        self.position = 0;
        Ok(())
    }

    /// Unmaps every chunk; returns the bytes unmapped.
    fn unmap(&mut self) -> usize {
        let mut bytes = 0;
        for chunk in self.chunks.drain(..) {
            // SAFETY: the chunk is this pool's own mapping, and the owner guarantees nothing
            // runs or reads it any more.
            unsafe { libc::munmap(chunk.ptr as *mut _, chunk.len) };
            bytes += chunk.len;
        }
        self.finalized = 0;
        self.position = 0;
        bytes
    }
}

impl CodeMemory {
    pub(crate) fn new(mapped: Arc<AtomicUsize>) -> Self {
        Self {
            code: Pool::default(),
            readonly: Pool::default(),
            writable: Pool::default(),
            mapped,
        }
    }

    fn unmap_all(&mut self) {
        let bytes = self.code.unmap() + self.readonly.unmap() + self.writable.unmap();
        self.mapped.fetch_sub(bytes, Relaxed);
        crate::code_cache::charge(-(bytes as isize));
    }
}

impl JITMemoryProvider for CodeMemory {
    fn allocate(&mut self, size: usize, align: u64, kind: JITMemoryKind) -> io::Result<*mut u8> {
        let align = usize::try_from(align)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "alignment"))?;
        let pool = match kind {
            JITMemoryKind::Executable => &mut self.code,
            JITMemoryKind::ReadOnly => &mut self.readonly,
            JITMemoryKind::Writable => &mut self.writable,
        };
        pool.allocate(size, align, &self.mapped)
    }

    unsafe fn free_memory(&mut self) {
        self.unmap_all();
    }

    fn finalize(&mut self, _branch_protection: BranchProtection) -> ModuleResult<()> {
        let failed = |err| ModuleError::Allocation { err };
        self.readonly
            .protect(libc::PROT_READ, false)
            .map_err(failed)?;
        self.code
            .protect(libc::PROT_READ | libc::PROT_EXEC, true)
            .map_err(failed)?;
        // Writable data stays writable; later data goes to fresh pages like the rest.
        self.writable.finalized = self.writable.chunks.len();
        self.writable.position = 0;
        wasmtime_jit_icache_coherence::pipeline_flush_mt()
            .map_err(|e| failed(io::Error::other(e.to_string())))?;
        Ok(())
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        self.unmap_all();
    }
}
