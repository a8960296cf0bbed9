//! Native stack guard for `execute`.
//!
//! Every nested EVM call is a native recursion: the VM calls the host's `call`, which calls
//! `execute` again on the same thread. A contract recursing to depth 1024 therefore needs
//! 1024 times one level's frames, and a host thread with less stack than that would overflow it,
//! which kills the whole process. `execute` refuses to start a level when less than
//! [`STACK_MARGIN`] is left below its own frame, so the deepest level fails cleanly instead.
//!
//! The bounds come from the thread library once per thread (Linux only; elsewhere, or if the
//! query fails, there is no guard and behaviour is as before).
use std::cell::Cell;

/// Stack `execute` must find free below itself to start a level: the most one level can use
/// before the next `execute` checks again, plus slack for the host's own frames in between.
///
/// Measured in release builds on x86-64 (see README, "Security and robustness"): one CALL level
/// costs about 3.8 KB in the interpreter and 2.9 KB in the JIT modes, host frames included
/// (`tests/tests/adversarial.rs`, `native_stack_per_call_level`); the first run of a contract in
/// a JIT mode compiles it on the calling thread, which peaked at about 72 KB above the
/// interpreter's use (measured before the JIT's tail-call rewrite). A level deep in the chain
/// can call a contract not compiled yet, so the compile peak counts, and 256 KiB leaves about
/// 128 KiB for host frames and future growth.
pub const STACK_MARGIN: usize = 256 << 10;

/// Lowest and highest address of this thread's stack; `UNKNOWN` until first asked, `NONE` when
/// the bounds cannot be found. Const-initialised and without a destructor, so reading it costs
/// one TLS load.
const UNKNOWN: (usize, usize) = (usize::MAX, 0);
const NONE: (usize, usize) = (0, 0);

thread_local! {
    static BOUNDS: Cell<(usize, usize)> = const { Cell::new(UNKNOWN) };
}

/// Bytes of native stack left below the caller, or `None` when the thread's bounds are not
/// known or the caller is not on the thread's stack (an alternate signal stack, a coroutine):
/// then there is nothing to measure against and no guard.
#[inline]
pub fn remaining() -> Option<usize> {
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let (low, high) = BOUNDS.with(|b| {
        if b.get() == UNKNOWN {
            b.set(thread_bounds().unwrap_or(NONE));
        }
        b.get()
    });
    (low < here && here <= high).then(|| here - low)
}

/// Whether a new EVM level may start on this thread.
#[inline]
pub fn enough() -> bool {
    remaining().is_none_or(|left| left >= STACK_MARGIN)
}

/// The usable range of the calling thread's stack (guard page excluded), from the thread
/// library. For the main thread glibc derives it from `RLIMIT_STACK` and the mappings, which is
/// how far the kernel will grow it.
#[cfg(target_os = "linux")]
fn thread_bounds() -> Option<(usize, usize)> {
    use std::mem::MaybeUninit;
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut addr: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: `pthread_getattr_np` initialises `attr` for the calling thread when it returns 0;
    // only then is it read (by `pthread_attr_getstack`, into two locals) and destroyed, once.
    let ok = unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let r = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        r == 0
    };
    let low = addr as usize;
    (ok && low != 0 && size != 0).then(|| (low, low.saturating_add(size)))
}

#[cfg(not(target_os = "linux"))]
fn thread_bounds() -> Option<(usize, usize)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn bounds_contain_the_stack_pointer_on_every_kind_of_thread() {
        // The harness's thread this test runs on, and a spawned thread of known size.
        let left = remaining().expect("bounds of the test thread");
        assert!(left > 0);
        let size = 1 << 20;
        let left = std::thread::Builder::new()
            .stack_size(size)
            .spawn(|| remaining().expect("bounds of a spawned thread"))
            .unwrap()
            .join()
            .unwrap();
        // glibc may hand out a cached stack bigger than asked for, never a smaller one.
        assert!(left > size / 2 && left < 1 << 30, "{left} of {size}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn small_threads_are_refused_big_ones_are_not() {
        let on = |size: usize| {
            std::thread::Builder::new()
                .stack_size(size)
                .spawn(enough)
                .unwrap()
                .join()
                .unwrap()
        };
        assert!(!on(STACK_MARGIN / 2));
        assert!(on(STACK_MARGIN * 4));
    }
}
