//! The dispatch loop. Simple instructions are inlined here; the rest call [`crate::instructions`].

use crate::instructions::{self as ins, CopySource};
use crate::{Frame, Status};
use ::evmc_vm::sys::*;
use dtvm_core::analysis::UNDEFINED_MARK;
use dtvm_core::opcode::*;
use dtvm_core::U256;

/// Reads the big-endian immediate of a PUSHn at `pc` (the padded code makes reading past the end
/// of the real code safe and yields zeros, as the EVM specifies for a truncated PUSH).
#[inline(always)]
fn push_value(code: &[u8], pc: usize, n: usize) -> U256 {
    let data = &code[pc + 1..pc + 1 + n];
    if n <= 8 {
        let mut buf = [0u8; 8];
        buf[8 - n..].copy_from_slice(data);
        U256::from(u64::from_be_bytes(buf))
    } else {
        let mut buf = [0u8; 32];
        buf[32 - n..].copy_from_slice(data);
        U256::from_be_bytes(buf)
    }
}

/// Where the interpreter stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The frame ended with this status.
    Done(Status),
    /// Execution reached the JUMPDEST at this pc, the start of another segment (only from
    /// [`run_segment`]). Its block has not been entered yet.
    Segment(usize),
}

/// Runs `frame` from `pc` (which must be a block start) until the frame ends; returns its status.
pub fn run(f: &mut Frame, pc: usize) -> Status {
    match run_impl::<false>(f, pc) {
        Exit::Done(status) => status,
        Exit::Segment(_) => unreachable!("whole-frame runs do not stop at segments"),
    }
}

/// Runs the JUMPDEST segment that starts at `pc` (0 or a JUMPDEST; more generally any block
/// start) until the frame ends or execution reaches another JUMPDEST. The JIT uses this for
/// segments it does not compile, so a frame can move between compiled and interpreted segments.
pub fn run_segment(f: &mut Frame, pc: usize) -> Exit {
    run_impl::<true>(f, pc)
}

#[inline(always)]
fn run_impl<const STOP_AT_SEGMENT: bool>(f: &mut Frame, mut pc: usize) -> Exit {
    let analysis = f.analysis;
    let code = analysis.exec_code();
    let entry = pc;
    macro_rules! tri {
        ($e:expr) => {
            if let Err(status) = $e {
                return Exit::Done(status);
            }
        };
    }
    if code[pc] != JUMPDEST {
        tri!(f.begin_block(pc));
    }

    // After an instruction that ends a block without jumping, the next block starts at `next`
    // (a JUMPDEST charges its own block).
    macro_rules! next_block {
        ($next:expr) => {{
            let next = $next;
            if code[next] != JUMPDEST {
                tri!(f.begin_block(next));
            }
            pc = next;
        }};
    }
    macro_rules! binary {
        (|$a:ident, $b:ident| $e:expr) => {{
            let $a = f.pop();
            let $b = *f.top();
            *f.top() = $e;
            pc += 1;
        }};
    }
    macro_rules! unary {
        (|$a:ident| $e:expr) => {{
            let $a = *f.top();
            *f.top() = $e;
            pc += 1;
        }};
    }
    macro_rules! bool_u256 {
        ($e:expr) => {
            if $e {
                U256::from(1)
            } else {
                U256::ZERO
            }
        };
    }

    loop {
        let op = code[pc];
        match op {
            STOP => return Exit::Done(EVMC_SUCCESS),
            ADD => binary!(|a, b| a.wrapping_add(b)),
            MUL => binary!(|a, b| a.wrapping_mul(b)),
            SUB => binary!(|a, b| a.wrapping_sub(b)),
            DIV => binary!(|a, b| ins::div(a, b)),
            SDIV => binary!(|a, b| ins::sdiv(a, b)),
            MOD => binary!(|a, b| ins::rem(a, b)),
            SMOD => binary!(|a, b| ins::smod(a, b)),
            ADDMOD => {
                let a = f.pop();
                let b = f.pop();
                let m = *f.top();
                *f.top() = a.add_mod(b, m);
                pc += 1;
            }
            MULMOD => {
                let a = f.pop();
                let b = f.pop();
                let m = *f.top();
                *f.top() = a.mul_mod(b, m);
                pc += 1;
            }
            EXP => {
                tri!(ins::exp(f));
                pc += 1;
            }
            SIGNEXTEND => binary!(|a, b| ins::signextend(a, b)),
            LT => binary!(|a, b| bool_u256!(a < b)),
            GT => binary!(|a, b| bool_u256!(a > b)),
            SLT => binary!(|a, b| bool_u256!(ins::slt(a, b))),
            SGT => binary!(|a, b| bool_u256!(ins::slt(b, a))),
            EQ => binary!(|a, b| bool_u256!(a == b)),
            ISZERO => unary!(|a| bool_u256!(a.is_zero())),
            AND => binary!(|a, b| a & b),
            OR => binary!(|a, b| a | b),
            XOR => binary!(|a, b| a ^ b),
            NOT => unary!(|a| !a),
            BYTE => binary!(|a, b| ins::byte(a, b)),
            SHL => binary!(|a, b| ins::shl(a, b)),
            SHR => binary!(|a, b| ins::shr(a, b)),
            SAR => binary!(|a, b| ins::sar(a, b)),
            CLZ => unary!(|a| ins::clz(a)),
            KECCAK256 => {
                tri!(ins::keccak(f));
                pc += 1;
            }
            ADDRESS => {
                let v = ins::address_to_u256(f.msg.recipient());
                f.push(v);
                pc += 1;
            }
            BALANCE => {
                tri!(ins::balance(f));
                pc += 1;
            }
            ORIGIN | GASPRICE | COINBASE | TIMESTAMP | NUMBER | PREVRANDAO | GASLIMIT | CHAINID
            | BASEFEE | BLOBBASEFEE => {
                let v = ins::tx_value(f, op);
                f.push(v);
                pc += 1;
            }
            CALLER => {
                let v = ins::address_to_u256(f.msg.sender());
                f.push(v);
                pc += 1;
            }
            CALLVALUE => {
                let v = ins::bytes32_to_u256(f.msg.value());
                f.push(v);
                pc += 1;
            }
            CALLDATALOAD => {
                ins::calldataload(f);
                pc += 1;
            }
            CALLDATASIZE => {
                let v = U256::from(f.msg.input().len());
                f.push(v);
                pc += 1;
            }
            CALLDATACOPY => {
                tri!(ins::data_copy(f, CopySource::CallData));
                pc += 1;
            }
            CODESIZE => {
                f.push(U256::from(analysis.code_len()));
                pc += 1;
            }
            CODECOPY => {
                tri!(ins::data_copy(f, CopySource::Code));
                pc += 1;
            }
            EXTCODESIZE => {
                tri!(ins::extcodesize(f));
                pc += 1;
            }
            EXTCODECOPY => {
                tri!(ins::extcodecopy(f));
                pc += 1;
            }
            RETURNDATASIZE => {
                let v = U256::from(f.return_data.len());
                f.push(v);
                pc += 1;
            }
            RETURNDATACOPY => {
                tri!(ins::returndatacopy(f));
                pc += 1;
            }
            EXTCODEHASH => {
                tri!(ins::extcodehash(f));
                pc += 1;
            }
            BLOCKHASH => {
                ins::blockhash(f);
                pc += 1;
            }
            SELFBALANCE => {
                ins::selfbalance(f);
                pc += 1;
            }
            BLOBHASH => {
                ins::blobhash(f);
                pc += 1;
            }
            POP => {
                f.pop();
                pc += 1;
            }
            MLOAD => {
                tri!(ins::mload(f));
                pc += 1;
            }
            MSTORE => {
                tri!(ins::mstore(f));
                pc += 1;
            }
            MSTORE8 => {
                tri!(ins::mstore8(f));
                pc += 1;
            }
            SLOAD => {
                tri!(ins::sload(f));
                pc += 1;
            }
            SSTORE => {
                tri!(ins::sstore(f));
                next_block!(pc + 1);
            }
            JUMP => {
                let dest = f.pop();
                match usize::try_from(dest) {
                    Ok(d) if analysis.is_jumpdest(d) => pc = d,
                    _ => return Exit::Done(EVMC_BAD_JUMP_DESTINATION),
                }
            }
            JUMPI => {
                let dest = f.pop();
                let cond = f.pop();
                if cond.is_zero() {
                    next_block!(pc + 1);
                } else {
                    match usize::try_from(dest) {
                        Ok(d) if analysis.is_jumpdest(d) => pc = d,
                        _ => return Exit::Done(EVMC_BAD_JUMP_DESTINATION),
                    }
                }
            }
            PC => {
                f.push(U256::from(pc));
                pc += 1;
            }
            MSIZE => {
                let v = U256::from(f.memory.len());
                f.push(v);
                pc += 1;
            }
            GAS => {
                let v = U256::from(f.gas_left as u64);
                f.push(v);
                next_block!(pc + 1);
            }
            JUMPDEST => {
                if STOP_AT_SEGMENT && pc != entry {
                    return Exit::Segment(pc);
                }
                tri!(f.begin_block(pc));
                pc += 1;
            }
            TLOAD => {
                ins::tload(f);
                pc += 1;
            }
            TSTORE => {
                tri!(ins::tstore(f));
                pc += 1;
            }
            MCOPY => {
                tri!(ins::mcopy(f));
                pc += 1;
            }
            PUSH0 => {
                f.push(U256::ZERO);
                pc += 1;
            }
            PUSH1..=PUSH32 => {
                let n = (op - PUSH1 + 1) as usize;
                f.push(push_value(code, pc, n));
                pc += 1 + n;
            }
            DUP1..=DUP16 => {
                let n = (op - DUP1 + 1) as usize;
                // SAFETY: the block's stack bounds guarantee n items below sp.
                let v = unsafe { *f.sp.sub(n) };
                f.push(v);
                pc += 1;
            }
            SWAP1..=SWAP16 => {
                let n = (op - SWAP1 + 1) as usize;
                // SAFETY: the block's stack bounds guarantee n + 1 items below sp.
                unsafe { std::ptr::swap(f.sp.sub(1), f.sp.sub(n + 1)) };
                pc += 1;
            }
            LOG0..=LOG4 => {
                tri!(ins::log(f, (op - LOG0) as usize));
                pc += 1;
            }
            CREATE | CREATE2 => {
                tri!(ins::create(f, op));
                next_block!(pc + 1);
            }
            CALL | CALLCODE | DELEGATECALL | STATICCALL => {
                tri!(ins::call(f, op));
                next_block!(pc + 1);
            }
            RETURN => {
                tri!(ins::set_output(f));
                return Exit::Done(EVMC_SUCCESS);
            }
            REVERT => {
                tri!(ins::set_output(f));
                return Exit::Done(EVMC_REVERT);
            }
            INVALID => return Exit::Done(EVMC_INVALID_INSTRUCTION),
            SELFDESTRUCT => {
                tri!(ins::selfdestruct(f));
                return Exit::Done(EVMC_SUCCESS);
            }
            _ => {
                debug_assert!(
                    op == UNDEFINED_MARK || dtvm_core::opcode::OPCODES[op as usize].since.is_none()
                );
                return Exit::Done(EVMC_UNDEFINED_INSTRUCTION);
            }
        }
    }
}
