//! The environment compiled code runs in, generated from the opcode list
//! (`dtvm_core::for_each_opcode!`): the `extern "C"` helpers compiled code calls, compile-time
//! constant folding, and [`Lowering`], the table the translator lowers every opcode by. Every
//! helper runs the instruction's one definition (a body in `dtvm_runtime::instructions` or the
//! list's word function), so the JIT never re-derives an EVM rule.
//!
//! Two calling conventions:
//! * frame helpers, `fn(*mut Frame) -> i32`: the instruction runs on the frame's stack
//!   (`frame.sp`) and gas exactly as in the interpreter; the result is an EVMC status, 0 for
//!   "continue". Compiled code stores `sp` before the call, and the gas before and after it only
//!   for a body that may use gas: which follows from the body's kind, so no list can drop a
//!   charge (a `plain` or `value` body has no way to fail).
//! * pure helpers, `fn(*mut [U256; 3])`: operands in a scratch buffer, `args[0]` = top of the
//!   stack; the result replaces `args[0]`. No frame access, so the caller keeps its cached stack.

use ::evmc_vm::sys::*;
use dtvm_core::analysis::CodeAnalysis;
use dtvm_core::U256;
use dtvm_runtime::instructions::{self as ins, OpResult};
use dtvm_runtime::Frame;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) type FrameHelper = unsafe extern "C" fn(*mut Frame<'_, '_>) -> i32;
pub(crate) type PureHelper = unsafe extern "C" fn(*mut [U256; 3]);
/// The memory expansion helper's signature, `fn(*mut Frame, offset) -> status` (see
/// [`expand_word`]).
pub(crate) type ExpandHelper = unsafe extern "C" fn(*mut Frame<'_, '_>, u64) -> i32;
/// CALLDATALOAD's word beyond the inline path, `fn(input, input_len, offset, out)` (see
/// [`calldata_word`]).
pub(crate) type CalldataHelper = unsafe extern "C" fn(*const u8, usize, u64, *mut U256);

/// How the translator lowers an opcode, by its kind in the opcode list.
#[derive(Clone, Copy)]
pub(crate) enum Lowering {
    /// Not an instruction at any revision.
    Undefined,
    /// A pure word operation: folded on constants (see [`fold`]), else lowered inline or by
    /// this helper.
    Pure(PureHelper),
    /// A frame helper. `uses_gas`: it may charge gas and fail (a `frame` body), so compiled code
    /// stores the gas before it and reloads it after; otherwise (`plain`, `value`) it fails only
    /// by a caught panic and the gas stays in registers.
    Helper {
        helper: FrameHelper,
        uses_gas: bool,
    },
    /// A frame helper (using gas) after which the frame ends with `status`.
    Exit {
        helper: FrameHelper,
        status: i32,
    },
    /// A word known from the code alone, pushed as a constant.
    Code(fn(&CodeAnalysis) -> U256),
    Stop,
    Invalid,
    Jump,
    Jumpi,
    Jumpdest,
    Pc,
    Gas,
    Pop,
    /// PUSH0..PUSH32: bytes of immediate.
    Push(u8),
    /// DUPn.
    Dup(u8),
    /// SWAPn.
    Swap(u8),
}

/// How `op` is lowered.
#[inline]
pub(crate) fn lowering(op: u8) -> Lowering {
    LOWERINGS[op as usize]
}

/// The pure helper computing `op`, a pure word operation.
pub(crate) fn pure_helper(op: u8) -> PureHelper {
    match lowering(op) {
        Lowering::Pure(helper) => helper,
        _ => unreachable!("not a pure opcode: {op:#x}"),
    }
}

/// Runs an instruction body; a panic (a bug, or a panicking host) must not unwind into
/// compiled code, which has no unwind tables, so it becomes an internal error of the frame.
#[inline(always)]
fn guard(body: impl FnOnce() -> OpResult) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => EVMC_SUCCESS,
        Ok(Err(status)) => status,
        Err(_) => EVMC_INTERNAL_ERROR,
    }
}

unsafe extern "C" fn frame_helper_of<const OP: u8>(frame: *mut Frame<'_, '_>) -> i32 {
    // SAFETY: compiled code only runs inside `Contract::run`, which passes the live,
    // exclusively borrowed frame it was given; the block's stack bounds were checked.
    let f = unsafe { &mut *frame };
    guard(|| run_body(OP, f))
}

/// CALLDATALOAD's word ([`ins::calldata_word`]) where compiled code cannot read it inline: a
/// read past the input's end, zero-padded. `offset` is saturated to `u64::MAX` when larger.
pub(crate) unsafe extern "C" fn calldata_word(
    input: *const u8,
    len: usize,
    offset: u64,
    out: *mut U256,
) {
    // SAFETY: compiled code passes the message's input (valid for the frame, per EVMC's
    // `execute` contract) and its own 32-byte scratch slot.
    unsafe {
        let input = ::evmc_vm::slice_from_raw(input, len);
        *out = ins::calldata_word(input, usize::try_from(offset).unwrap_or(usize::MAX));
    }
}

/// MLOAD's and MSTORE's memory expansion ([`ins::expand_word`]) for compiled code that
/// accesses the word inline; gas as for a frame helper that uses it. The stack is not read.
pub(crate) unsafe extern "C" fn expand_word(frame: *mut Frame<'_, '_>, offset: u64) -> i32 {
    // SAFETY: as for `frame_helper_of`.
    let f = unsafe { &mut *frame };
    guard(|| ins::expand_word(f, offset))
}

unsafe extern "C" fn pure_helper_of<const OP: u8>(args: *mut [U256; 3]) {
    // SAFETY: compiled code passes its own 96-byte scratch slot.
    let args = unsafe { &mut *args };
    args[0] = fold(OP, args[0], args[1], args[2]);
}

/// A pure kind's word function applied to `(a, b, c)`.
macro_rules! fold_kind {
    (($x:ident, $y:ident, $z:ident), pure(|$a:ident| $e:expr)) => {{
        let $a = $x;
        $e
    }};
    (($x:ident, $y:ident, $z:ident), pure(|$a:ident, $b:ident| $e:expr)) => {{
        let ($a, $b) = ($x, $y);
        $e
    }};
    (($x:ident, $y:ident, $z:ident), pure_call(|$a:ident, $b:ident| $e:expr)) => {{
        let ($a, $b) = ($x, $y);
        $e
    }};
    (($x:ident, $y:ident, $z:ident), pure_into(|$a:ident, $b:ident, $m:ident, $r:ident| $e:expr)) => {{
        let ($a, $b, $m) = ($x, $y, $z);
        let mut result = U256::ZERO;
        {
            let $r: &mut U256 = &mut result;
            $e;
        }
        result
    }};
    (($x:ident, $y:ident, $z:ident), $($kind:tt)*) => {
        unreachable!("not a pure opcode")
    };
}

/// A frame-using kind's body run on `f`.
macro_rules! body_kind {
    ($frame:ident, frame(|$f:ident| $e:expr)) => {{
        let $f: &mut Frame<'_, '_> = $frame;
        let result: OpResult = $e;
        result
    }};
    ($frame:ident, exit($status:ident, |$f:ident| $e:expr)) => {{
        let $f: &mut Frame<'_, '_> = $frame;
        let result: OpResult = $e;
        result
    }};
    ($frame:ident, plain(|$f:ident| $e:expr)) => {{
        let gas = $frame.gas_left;
        {
            let $f: &mut Frame<'_, '_> = &mut *$frame;
            let (): () = $e;
        }
        debug_assert_eq!($frame.gas_left, gas, "a plain body used gas");
        Ok(())
    }};
    ($frame:ident, value(|$f:ident| $e:expr)) => {{
        let gas = $frame.gas_left;
        let v: U256 = {
            let $f: &mut Frame<'_, '_> = &mut *$frame;
            $e
        };
        debug_assert_eq!($frame.gas_left, gas, "a value body used gas");
        $frame.push(v);
        Ok(())
    }};
    ($frame:ident, $($kind:tt)*) => {
        unreachable!("no frame helper")
    };
}

/// The lowering of a kind (see [`Lowering`]).
macro_rules! lowering_kind {
    ($op:literal, pure $args:tt) => {
        Lowering::Pure(pure_helper_of::<$op>)
    };
    ($op:literal, pure_call $args:tt) => {
        Lowering::Pure(pure_helper_of::<$op>)
    };
    ($op:literal, pure_into $args:tt) => {
        Lowering::Pure(pure_helper_of::<$op>)
    };
    ($op:literal, frame $args:tt) => {
        Lowering::Helper {
            helper: frame_helper_of::<$op>,
            uses_gas: true,
        }
    };
    ($op:literal, plain $args:tt) => {
        Lowering::Helper {
            helper: frame_helper_of::<$op>,
            uses_gas: false,
        }
    };
    ($op:literal, value $args:tt) => {
        Lowering::Helper {
            helper: frame_helper_of::<$op>,
            uses_gas: false,
        }
    };
    ($op:literal, exit($status:ident, $($body:tt)*)) => {
        Lowering::Exit {
            helper: frame_helper_of::<$op>,
            status: $status,
        }
    };
    ($op:literal, code(|$c:ident| $e:expr)) => {{
        fn value($c: &CodeAnalysis) -> U256 {
            $e
        }
        Lowering::Code(value)
    }};
    ($op:literal, stop) => {
        Lowering::Stop
    };
    ($op:literal, invalid) => {
        Lowering::Invalid
    };
    ($op:literal, jump) => {
        Lowering::Jump
    };
    ($op:literal, jumpi) => {
        Lowering::Jumpi
    };
    ($op:literal, jumpdest) => {
        Lowering::Jumpdest
    };
    ($op:literal, pc) => {
        Lowering::Pc
    };
    ($op:literal, gas) => {
        Lowering::Gas
    };
    ($op:literal, pop) => {
        Lowering::Pop
    };
    ($op:literal, push($n:literal)) => {
        Lowering::Push($n)
    };
    ($op:literal, dup($n:literal)) => {
        Lowering::Dup($n)
    };
    ($op:literal, swap($n:literal)) => {
        Lowering::Swap($n)
    };
}

macro_rules! environment {
    ($($name:ident $byte:literal $in:literal $out:literal $gas:literal $since:ident $flow:ident
        => $kind:ident $(($($args:tt)*))?;)*) => {
        /// Pure word operations, shared by the pure helpers and compile-time constant folding.
        /// `a` is the top of the stack. Always inlined, so each pure helper is specialised to its
        /// opcode and its result never makes a round trip through memory (written limb by limb,
        /// read back as wider words: a store-forwarding stall).
        #[inline(always)]
        pub(crate) fn fold(op: u8, a: U256, b: U256, c: U256) -> U256 {
            match op {
                $($byte => fold_kind!((a, b, c), $kind $(($($args)*))?),)*
                _ => unreachable!("not an opcode: {op:#x}"),
            }
        }

        /// The body of a frame helper's opcode; inlined into each `frame_helper_of::<OP>`, where
        /// the match folds away.
        #[inline(always)]
        fn run_body(op: u8, f: &mut Frame<'_, '_>) -> OpResult {
            match op {
                $($byte => body_kind!(f, $kind $(($($args)*))?),)*
                _ => unreachable!("not an opcode: {op:#x}"),
            }
        }

        static LOWERINGS: [Lowering; 256] = {
            let mut t = [Lowering::Undefined; 256];
            $(t[$byte] = lowering_kind!($byte, $kind $(($($args)*))?);)*
            t
        };
    };
}

dtvm_core::for_each_opcode!(environment);

#[cfg(test)]
mod tests {
    use super::*;
    use dtvm_core::opcode::OPCODES;

    #[test]
    fn every_opcode_has_one_lowering_exactly_when_defined() {
        for op in 0..=255u8 {
            let info = &OPCODES[op as usize];
            let defined = info.defined_in(dtvm_core::MAX_REVISION);
            let lowered = !matches!(lowering(op), Lowering::Undefined);
            assert_eq!(defined, lowered, "{} ({op:#04x})", info.name);
            // What can fail or use gas has a status the translator checks, and only frame
            // helpers touch the frame.
            match lowering(op) {
                Lowering::Pure(_) => assert_eq!(info.stack_out, 1, "{}", info.name),
                Lowering::Push(n) => assert_eq!(n, info.immediate, "{}", info.name),
                Lowering::Dup(n) => assert_eq!(n + 1, info.stack_out, "{}", info.name),
                Lowering::Swap(n) => assert_eq!(n + 1, info.stack_in, "{}", info.name),
                _ => {}
            }
        }
    }

    #[test]
    fn folding_matches_the_runtime_bodies() {
        use dtvm_core::opcode::*;
        let (a, b, m) = (U256::from(7), U256::from(5), U256::from(4));
        assert_eq!(fold(SDIV, U256::ZERO.wrapping_sub(a), b, m), U256::MAX);
        assert_eq!(fold(ADDMOD, a, b, m), U256::from(0));
        assert_eq!(fold(MULMOD, a, b, m), U256::from(3));
        assert_eq!(fold(SGT, a, b, m), U256::from(1));
        assert_eq!(fold(ISZERO, U256::ZERO, b, m), U256::from(1));
        assert_eq!(fold(CLZ, U256::from(1), b, m), U256::from(255));
    }
}
