//! The dispatch loop. Simple instructions are inlined here; the rest call the shared bodies in
//! [`dtvm_runtime::instructions`].

use ::evmc_vm::sys::*;
use dtvm_core::analysis::UNDEFINED_MARK;
use dtvm_core::opcode::*;
use dtvm_core::U256;
use dtvm_runtime::instructions::{self as ins, CopySource};
use dtvm_runtime::{Frame, Status};

/// Reads the big-endian immediate of a PUSHn at `pc`. The padded code makes reading past the end
/// of the real code safe and yields zeros, as the EVM specifies for a truncated PUSH. Fixed-size
/// loads and a shift avoid a variable-length copy per PUSH.
#[inline(always)]
fn push_value(code: &[u8], pc: usize, n: usize) -> U256 {
    debug_assert!(pc + 33 <= code.len());
    if n <= 8 {
        // SAFETY: a PUSH executes at pc < code length, and the padding leaves 33 bytes after it.
        let word = u64::from_be_bytes(unsafe { *(code.as_ptr().add(pc + 1) as *const [u8; 8]) });
        U256::from(word >> (64 - 8 * n as u32))
    } else {
        // SAFETY: as above: 32 bytes after pc are readable.
        let bytes = unsafe { *(code.as_ptr().add(pc + 1) as *const [u8; 32]) };
        U256::from_be_bytes(bytes) >> (8 * (32 - n))
    }
}

/// Reads a stack word as four 8-byte loads. Arithmetic results reach the stack as four 8-byte
/// stores, and a 16-byte load of such a word shortly after cannot be served from the store buffer:
/// it waits for the stores to commit (a store-forwarding stall of ~15 cycles). LLVM emits such
/// loads for word copies (DUP, SWAP, arguments of out-of-line bodies) and zero or equality tests
/// (ISZERO, JUMPI, EQ), mostly right after the instruction that produced the word. Volatile reads
/// keep LLVM from merging the loads back into vector loads; 8-byte loads forward from stores of
/// any width.
///
/// # Safety
/// `p` must be valid for reads and aligned.
#[inline(always)]
unsafe fn load_word(p: *const U256) -> [u64; 4] {
    let p = p as *const u64;
    // SAFETY: the caller guarantees a readable word; its four limbs are consecutive u64s.
    unsafe {
        [
            p.read_volatile(),
            p.add(1).read_volatile(),
            p.add(2).read_volatile(),
            p.add(3).read_volatile(),
        ]
    }
}

/// Writes a word loaded by [`load_word`].
///
/// # Safety
/// `p` must be valid for writes and aligned.
#[inline(always)]
unsafe fn store_word(p: *mut U256, limbs: [u64; 4]) {
    // SAFETY: the caller guarantees a writable word.
    unsafe { p.write(U256::from_limbs(limbs)) }
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

// `with_frame!` reloads `sp` after every call, including before a return that does not read it.
#[allow(unused_assignments)]
#[inline(always)]
fn run_impl<const STOP_AT_SEGMENT: bool>(f: &mut Frame, mut pc: usize) -> Exit {
    let analysis = f.analysis;
    let code = analysis.exec_code();
    let entry = pc;
    let mut entered = false;
    // The stack pointer lives in a register here and in `f.sp` only around calls that use the
    // frame; keeping it in memory would put a store-to-load round trip on every instruction.
    let mut sp = f.sp;
    // Operands are read limb by limb (see `load_word`).
    macro_rules! pop {
        () => {{
            // SAFETY: the block's stack bounds were checked on entry (`begin_block`).
            unsafe {
                sp = sp.sub(1);
                U256::from_limbs(load_word(sp))
            }
        }};
    }
    macro_rules! peek {
        () => {
            // SAFETY: as for `pop`.
            U256::from_limbs(unsafe { load_word(sp.sub(1)) })
        };
    }
    macro_rules! top {
        () => {
            // SAFETY: as for `pop`.
            unsafe { &mut *sp.sub(1) }
        };
    }
    macro_rules! push {
        ($v:expr) => {{
            let v = $v;
            // SAFETY: as for `pop`.
            unsafe {
                *sp = v;
                sp = sp.add(1);
            }
        }};
    }
    // Runs an out-of-line instruction body on the frame, with the stack pointer synced.
    macro_rules! with_frame {
        ($e:expr) => {{
            f.sp = sp;
            let r = $e;
            sp = f.sp;
            r
        }};
    }
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
                f.sp = sp;
                tri!(f.begin_block(next));
            }
            pc = next;
        }};
    }
    macro_rules! binary {
        (|$a:ident, $b:ident| $e:expr) => {{
            let $a = pop!();
            let $b = peek!();
            *top!() = $e;
            pc += 1;
        }};
    }
    // For an out-of-line body: its result comes back through memory, stored as limbs, so it is
    // copied to the stack limb by limb too.
    macro_rules! binary_call {
        (|$a:ident, $b:ident| $e:expr) => {{
            let $a = pop!();
            let $b = peek!();
            let r = $e;
            // SAFETY: `r` is a local; the top slot exists (as for `pop`).
            unsafe { store_word(sp.sub(1), load_word(&r)) };
            pc += 1;
        }};
    }
    macro_rules! unary {
        (|$a:ident| $e:expr) => {{
            let $a = peek!();
            *top!() = $e;
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
        // SAFETY: pc stays within the padded code: jumps are validated against the real code, and
        // the padding covers a PUSH32 at the last byte plus the STOP after it.
        let op = unsafe { *code.get_unchecked(pc) };
        match op {
            STOP => return Exit::Done(EVMC_SUCCESS),
            ADD => binary!(|a, b| a.wrapping_add(b)),
            MUL => binary!(|a, b| a.wrapping_mul(b)),
            SUB => binary!(|a, b| a.wrapping_sub(b)),
            DIV => binary_call!(|a, b| ins::div(a, b)),
            SDIV => binary_call!(|a, b| ins::sdiv(a, b)),
            MOD => binary_call!(|a, b| ins::rem(a, b)),
            SMOD => binary_call!(|a, b| ins::smod(a, b)),
            ADDMOD => {
                let a = pop!();
                let b = pop!();
                let m = peek!();
                dtvm_runtime::modular::addmod(&a, &b, &m, top!());
                pc += 1;
            }
            MULMOD => {
                let a = pop!();
                let b = pop!();
                let m = peek!();
                // In place: the remainder's limbs go straight to the stack slot.
                dtvm_runtime::modular::mulmod(&a, &b, &m, top!());
                pc += 1;
            }
            EXP => {
                tri!(with_frame!(ins::exp(f)));
                pc += 1;
            }
            SIGNEXTEND => binary_call!(|a, b| ins::signextend(a, b)),
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
            SAR => binary_call!(|a, b| ins::sar(a, b)),
            CLZ => unary!(|a| ins::clz(a)),
            KECCAK256 => {
                tri!(with_frame!(ins::keccak(f)));
                pc += 1;
            }
            ADDRESS => {
                let v = ins::address_to_u256(f.msg.recipient());
                push!(v);
                pc += 1;
            }
            BALANCE => {
                tri!(with_frame!(ins::balance(f)));
                pc += 1;
            }
            ORIGIN | GASPRICE | COINBASE | TIMESTAMP | NUMBER | PREVRANDAO | GASLIMIT | CHAINID
            | BASEFEE | BLOBBASEFEE => {
                let v = ins::tx_value(f, op);
                push!(v);
                pc += 1;
            }
            CALLER => {
                let v = ins::address_to_u256(f.msg.sender());
                push!(v);
                pc += 1;
            }
            CALLVALUE => {
                let v = ins::bytes32_to_u256(f.msg.value());
                push!(v);
                pc += 1;
            }
            CALLDATALOAD => {
                with_frame!(ins::calldataload(f));
                pc += 1;
            }
            CALLDATASIZE => {
                let v = U256::from(f.msg.input().len());
                push!(v);
                pc += 1;
            }
            CALLDATACOPY => {
                tri!(with_frame!(ins::data_copy(f, CopySource::CallData)));
                pc += 1;
            }
            CODESIZE => {
                push!(U256::from(analysis.code_len()));
                pc += 1;
            }
            CODECOPY => {
                tri!(with_frame!(ins::data_copy(f, CopySource::Code)));
                pc += 1;
            }
            EXTCODESIZE => {
                tri!(with_frame!(ins::extcodesize(f)));
                pc += 1;
            }
            EXTCODECOPY => {
                tri!(with_frame!(ins::extcodecopy(f)));
                pc += 1;
            }
            RETURNDATASIZE => {
                let v = U256::from(f.return_data.len());
                push!(v);
                pc += 1;
            }
            RETURNDATACOPY => {
                tri!(with_frame!(ins::returndatacopy(f)));
                pc += 1;
            }
            EXTCODEHASH => {
                tri!(with_frame!(ins::extcodehash(f)));
                pc += 1;
            }
            BLOCKHASH => {
                with_frame!(ins::blockhash(f));
                pc += 1;
            }
            SELFBALANCE => {
                with_frame!(ins::selfbalance(f));
                pc += 1;
            }
            BLOBHASH => {
                with_frame!(ins::blobhash(f));
                pc += 1;
            }
            POP => {
                // SAFETY: as for `pop!`.
                sp = unsafe { sp.sub(1) };
                pc += 1;
            }
            MLOAD => {
                tri!(with_frame!(ins::mload(f)));
                pc += 1;
            }
            MSTORE => {
                tri!(with_frame!(ins::mstore(f)));
                pc += 1;
            }
            MSTORE8 => {
                tri!(with_frame!(ins::mstore8(f)));
                pc += 1;
            }
            SLOAD => {
                tri!(with_frame!(ins::sload(f)));
                pc += 1;
            }
            SSTORE => {
                tri!(with_frame!(ins::sstore(f)));
                next_block!(pc + 1);
            }
            JUMP => {
                let dest = pop!();
                match usize::try_from(dest) {
                    Ok(d) if analysis.is_jumpdest(d) => pc = d,
                    _ => return Exit::Done(EVMC_BAD_JUMP_DESTINATION),
                }
            }
            JUMPI => {
                let dest = pop!();
                let cond = pop!();
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
                push!(U256::from(pc));
                pc += 1;
            }
            MSIZE => {
                let v = U256::from(f.memory.len());
                push!(v);
                pc += 1;
            }
            GAS => {
                let v = U256::from(f.gas_left as u64);
                push!(v);
                next_block!(pc + 1);
            }
            JUMPDEST => {
                f.sp = sp;
                // A segment runs once per call of `run_segment`, loops back to itself included:
                // the JIT's resolver counts entries to find hot segments.
                if STOP_AT_SEGMENT && (pc != entry || entered) {
                    return Exit::Segment(pc);
                }
                entered = true;
                tri!(f.begin_block(pc));
                pc += 1;
            }
            TLOAD => {
                with_frame!(ins::tload(f));
                pc += 1;
            }
            TSTORE => {
                tri!(with_frame!(ins::tstore(f)));
                pc += 1;
            }
            MCOPY => {
                tri!(with_frame!(ins::mcopy(f)));
                pc += 1;
            }
            PUSH0 => {
                push!(U256::ZERO);
                pc += 1;
            }
            PUSH1..=PUSH32 => {
                let n = (op - PUSH1 + 1) as usize;
                push!(push_value(code, pc, n));
                pc += 1 + n;
            }
            DUP1..=DUP16 => {
                let n = (op - DUP1 + 1) as usize;
                // SAFETY: the block's stack bounds guarantee n items below sp and room at sp.
                unsafe {
                    let v = load_word(sp.sub(n));
                    store_word(sp, v);
                    sp = sp.add(1);
                }
                pc += 1;
            }
            SWAP1..=SWAP16 => {
                let n = (op - SWAP1 + 1) as usize;
                // SAFETY: the block's stack bounds guarantee n + 1 items below sp.
                unsafe {
                    let (top, other) = (sp.sub(1), sp.sub(n + 1));
                    let (a, b) = (load_word(top), load_word(other));
                    store_word(top, b);
                    store_word(other, a);
                }
                pc += 1;
            }
            LOG0..=LOG4 => {
                tri!(with_frame!(ins::log(f, (op - LOG0) as usize)));
                pc += 1;
            }
            CREATE | CREATE2 => {
                tri!(with_frame!(ins::create(f, op)));
                next_block!(pc + 1);
            }
            CALL | CALLCODE | DELEGATECALL | STATICCALL => {
                tri!(with_frame!(ins::call(f, op)));
                next_block!(pc + 1);
            }
            RETURN => {
                tri!(with_frame!(ins::set_output(f)));
                return Exit::Done(EVMC_SUCCESS);
            }
            REVERT => {
                tri!(with_frame!(ins::set_output(f)));
                return Exit::Done(EVMC_REVERT);
            }
            INVALID => return Exit::Done(EVMC_INVALID_INSTRUCTION),
            SELFDESTRUCT => {
                tri!(with_frame!(ins::selfdestruct(f)));
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
