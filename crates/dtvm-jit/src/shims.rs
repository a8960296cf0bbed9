//! `extern "C"` entry points that compiled code calls. Each forwards to the interpreter's own
//! definition of the instruction (`dtvm_runtime::instructions` or the same ruint operation the
//! dispatch loop uses), so the JIT never re-derives an EVM rule.
//!
//! Two calling conventions:
//! * frame helpers, `fn(*mut Frame) -> i32`: the instruction runs on the frame's stack
//!   (`frame.sp`) and gas exactly as in the interpreter; the result is an EVMC status, 0 for
//!   "continue". Compiled code stores `sp` and `gas_left` before the call and reloads the gas after.
//! * pure helpers, `fn(*mut [U256; 3])`: operands in a scratch buffer, `args[0]` = top of the
//!   stack; the result replaces `args[0]`. No frame access, so the caller keeps its cached stack.

use ::evmc_vm::sys::*;
use dtvm_core::opcode::*;
use dtvm_core::U256;
use dtvm_runtime::instructions::{self as ins, CopySource, OpResult};
use dtvm_runtime::Frame;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) type FrameHelper = unsafe extern "C" fn(*mut Frame) -> i32;
pub(crate) type PureHelper = unsafe extern "C" fn(*mut [U256; 3]);

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

macro_rules! frame_helpers {
    ($($name:ident(|$f:ident| $body:expr);)*) => {$(
        unsafe extern "C" fn $name(frame: *mut Frame) -> i32 {
            // SAFETY: compiled code only runs inside `Contract::run`, which passes the live,
            // exclusively borrowed frame it was given; the block's stack bounds were checked.
            let $f = unsafe { &mut *frame };
            guard(|| $body)
        }
    )*};
}

frame_helpers! {
    exp(|f| ins::exp(f));
    keccak(|f| ins::keccak(f));
    balance(|f| ins::balance(f));
    address(|f| { let v = ins::address_to_u256(f.msg.recipient()); f.push(v); Ok(()) });
    caller(|f| { let v = ins::address_to_u256(f.msg.sender()); f.push(v); Ok(()) });
    callvalue(|f| { let v = ins::bytes32_to_u256(f.msg.value()); f.push(v); Ok(()) });
    calldataload(|f| { ins::calldataload(f); Ok(()) });
    calldatasize(|f| { let v = U256::from(f.msg.input().len()); f.push(v); Ok(()) });
    calldatacopy(|f| ins::data_copy(f, CopySource::CallData));
    codecopy(|f| ins::data_copy(f, CopySource::Code));
    extcodesize(|f| ins::extcodesize(f));
    extcodecopy(|f| ins::extcodecopy(f));
    returndatasize(|f| { let v = U256::from(f.return_data.len()); f.push(v); Ok(()) });
    returndatacopy(|f| ins::returndatacopy(f));
    extcodehash(|f| ins::extcodehash(f));
    blockhash(|f| { ins::blockhash(f); Ok(()) });
    selfbalance(|f| { ins::selfbalance(f); Ok(()) });
    blobhash(|f| { ins::blobhash(f); Ok(()) });
    mload(|f| ins::mload(f));
    mstore(|f| ins::mstore(f));
    mstore8(|f| ins::mstore8(f));
    sload(|f| ins::sload(f));
    sstore(|f| ins::sstore(f));
    msize(|f| { let v = U256::from(f.memory.len()); f.push(v); Ok(()) });
    tload(|f| { ins::tload(f); Ok(()) });
    tstore(|f| ins::tstore(f));
    mcopy(|f| ins::mcopy(f));
    set_output(|f| ins::set_output(f));
    selfdestruct(|f| ins::selfdestruct(f));
}

unsafe extern "C" fn tx_value<const OP: u8>(frame: *mut Frame) -> i32 {
    // SAFETY: as for `frame_helpers!`.
    let f = unsafe { &mut *frame };
    guard(|| {
        let v = ins::tx_value(f, OP);
        f.push(v);
        Ok(())
    })
}

unsafe extern "C" fn log<const TOPICS: usize>(frame: *mut Frame) -> i32 {
    // SAFETY: as for `frame_helpers!`.
    let f = unsafe { &mut *frame };
    guard(|| ins::log(f, TOPICS))
}

unsafe extern "C" fn call<const OP: u8>(frame: *mut Frame) -> i32 {
    // SAFETY: as for `frame_helpers!`.
    let f = unsafe { &mut *frame };
    guard(|| ins::call(f, OP))
}

unsafe extern "C" fn create<const OP: u8>(frame: *mut Frame) -> i32 {
    // SAFETY: as for `frame_helpers!`.
    let f = unsafe { &mut *frame };
    guard(|| ins::create(f, OP))
}

/// The frame helper implementing `op`, if `op` is lowered to one.
pub(crate) fn frame_helper(op: u8) -> Option<FrameHelper> {
    Some(match op {
        EXP => exp,
        KECCAK256 => keccak,
        BALANCE => balance,
        ADDRESS => address,
        CALLER => caller,
        CALLVALUE => callvalue,
        CALLDATALOAD => calldataload,
        CALLDATASIZE => calldatasize,
        CALLDATACOPY => calldatacopy,
        CODECOPY => codecopy,
        EXTCODESIZE => extcodesize,
        EXTCODECOPY => extcodecopy,
        RETURNDATASIZE => returndatasize,
        RETURNDATACOPY => returndatacopy,
        EXTCODEHASH => extcodehash,
        BLOCKHASH => blockhash,
        SELFBALANCE => selfbalance,
        BLOBHASH => blobhash,
        MLOAD => mload,
        MSTORE => mstore,
        MSTORE8 => mstore8,
        SLOAD => sload,
        SSTORE => sstore,
        MSIZE => msize,
        TLOAD => tload,
        TSTORE => tstore,
        MCOPY => mcopy,
        RETURN | REVERT => set_output,
        SELFDESTRUCT => selfdestruct,
        ORIGIN => tx_value::<ORIGIN>,
        GASPRICE => tx_value::<GASPRICE>,
        COINBASE => tx_value::<COINBASE>,
        TIMESTAMP => tx_value::<TIMESTAMP>,
        NUMBER => tx_value::<NUMBER>,
        PREVRANDAO => tx_value::<PREVRANDAO>,
        GASLIMIT => tx_value::<GASLIMIT>,
        CHAINID => tx_value::<CHAINID>,
        BASEFEE => tx_value::<BASEFEE>,
        BLOBBASEFEE => tx_value::<BLOBBASEFEE>,
        LOG0 => log::<0>,
        0xa1 => log::<1>,
        0xa2 => log::<2>,
        0xa3 => log::<3>,
        LOG4 => log::<4>,
        CALL => call::<CALL>,
        CALLCODE => call::<CALLCODE>,
        DELEGATECALL => call::<DELEGATECALL>,
        STATICCALL => call::<STATICCALL>,
        CREATE => create::<CREATE>,
        CREATE2 => create::<CREATE2>,
        _ => return None,
    })
}

/// Whether the frame helper of `op` fails only by a caught panic and neither reads nor charges
/// gas: compiled code then skips storing and reloading the gas.
pub(crate) fn helper_is_plain(op: u8) -> bool {
    matches!(
        op,
        ADDRESS
            | CALLER
            | CALLVALUE
            | CALLDATALOAD
            | CALLDATASIZE
            | RETURNDATASIZE
            | BLOCKHASH
            | SELFBALANCE
            | BLOBHASH
            | MSIZE
            | TLOAD
            | ORIGIN
            | GASPRICE
            | COINBASE
            | TIMESTAMP
            | NUMBER
            | PREVRANDAO
            | GASLIMIT
            | CHAINID
            | BASEFEE
            | BLOBBASEFEE
    )
}

/// Pure word operations, shared by the pure helpers and compile-time constant folding.
/// `a` is the top of the stack, as in the interpreter's `binary!(|a, b| ...)`. Always inlined, so
/// each pure helper is specialised to its opcode and its result never makes a round trip
/// through memory (written limb by limb, read back as wider words: a store-forwarding stall).
#[inline(always)]
pub(crate) fn fold(op: u8, a: U256, b: U256, c: U256) -> U256 {
    let bool_word = |v: bool| if v { U256::from(1) } else { U256::ZERO };
    match op {
        ADD => a.wrapping_add(b),
        MUL => a.wrapping_mul(b),
        SUB => a.wrapping_sub(b),
        DIV => ins::div(a, b),
        SDIV => ins::sdiv(a, b),
        MOD => ins::rem(a, b),
        SMOD => ins::smod(a, b),
        ADDMOD => ins::addmod(a, b, c),
        MULMOD => ins::mulmod(a, b, c),
        SIGNEXTEND => ins::signextend(a, b),
        LT => bool_word(a < b),
        GT => bool_word(a > b),
        SLT => bool_word(ins::slt(a, b)),
        SGT => bool_word(ins::slt(b, a)),
        EQ => bool_word(a == b),
        ISZERO => bool_word(a.is_zero()),
        AND => a & b,
        OR => a | b,
        XOR => a ^ b,
        NOT => !a,
        BYTE => ins::byte(a, b),
        SHL => ins::shl(a, b),
        SHR => ins::shr(a, b),
        SAR => ins::sar(a, b),
        CLZ => ins::clz(a),
        _ => unreachable!("not a pure opcode: {op:#x}"),
    }
}

/// Whether `op` is a pure word operation (see [`fold`]).
pub(crate) fn is_pure(op: u8) -> bool {
    matches!(
        op,
        ADD | MUL
            | SUB
            | DIV
            | SDIV
            | MOD
            | SMOD
            | ADDMOD
            | MULMOD
            | SIGNEXTEND
            | LT
            | GT
            | SLT
            | SGT
            | EQ
            | ISZERO
            | AND
            | OR
            | XOR
            | NOT
            | BYTE
            | SHL
            | SHR
            | SAR
            | CLZ
    )
}

unsafe extern "C" fn pure<const OP: u8>(args: *mut [U256; 3]) {
    // SAFETY: compiled code passes its own 96-byte scratch slot.
    let args = unsafe { &mut *args };
    args[0] = fold(OP, args[0], args[1], args[2]);
}

/// The pure helper computing `op` (see [`is_pure`]).
pub(crate) fn pure_helper(op: u8) -> PureHelper {
    macro_rules! table {
        ($($op:ident),*) => { match op { $($op => pure::<$op>,)* _ => unreachable!("not a pure opcode: {op:#x}") } };
    }
    table!(
        ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, SIGNEXTEND, LT, GT, SLT, SGT, EQ,
        ISZERO, AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR, CLZ
    )
}
