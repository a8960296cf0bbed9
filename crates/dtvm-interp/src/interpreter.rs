//! The dispatch loop, generated from the opcode list (`dtvm_core::for_each_opcode!`): one `match`
//! arm per instruction, by its kind. Pure word operations and stack/control instructions run
//! inline; the rest call the shared bodies in [`dtvm_runtime::instructions`].
//!
//! Untraced runs check gas and stack once per *run* of blocks (`dtvm_core::analysis`): on entry,
//! after a jump and after an instruction that ends a block, never when falling into a JUMPDEST,
//! which is then a no-op as in the EVM's own definition. A run that fails its check will fail;
//! the loop goes on in its `EXACT` instance, which checks every basic block as compiled code does,
//! so every engine reports the same failure.
//!
//! The loop is generic over a [`Step`] hook. Untraced runs use [`Untraced`], whose hook is empty;
//! the traced run (`crate::trace`) is a separate instance of the same loop that checks gas and
//! stack per instruction instead, so tracing costs an untraced run nothing, not even a branch per
//! instruction.

use ::evmc_vm::sys::*;
use dtvm_core::analysis::{BlockInfo, UNDEFINED_MARK};
use dtvm_core::opcode::JUMPDEST;
use dtvm_core::U256;
use dtvm_runtime::instructions::{self as ins, OpResult};
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

/// The first pc from `pc` on that is not a JUMPDEST. Falling through JUMPDESTs inside a checked
/// run does nothing, so a run of them (code that pads jump targets, JUMPDEST-dense benchmarks)
/// is crossed eight bytes per step instead of one dispatch each. The code's zero padding ends the
/// scan.
#[inline(always)]
fn skip_jumpdests(code: &[u8], mut pc: usize) -> usize {
    const EIGHT: u64 = u64::from_ne_bytes([JUMPDEST; 8]);
    while pc + 8 <= code.len() {
        // SAFETY: the 8 bytes at pc lie within `code`.
        let bytes = unsafe { (code.as_ptr().add(pc) as *const u64).read_unaligned() };
        if bytes != EIGHT {
            break;
        }
        pc += 8;
    }
    // SAFETY: the padding ends with a zero byte, which is not a JUMPDEST, so the loop stops
    // inside `code`.
    while unsafe { *code.get_unchecked(pc) } == JUMPDEST {
        pc += 1;
    }
    pc
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
    /// [`run_segment`]). Its block has not been entered yet: gas and stack were checked up to
    /// here, as if the JUMPDEST were entered by a jump next.
    Segment(usize),
}

/// What runs before each instruction: nothing in an untraced run; in a traced one, the trace
/// line and the instruction's own gas and stack checks.
pub(crate) trait Step {
    /// Whether the hook runs. When it does, gas and stack are checked per instruction by
    /// [`Step::before`] and the per-run checks (`Frame::begin_run`) are skipped: a trace must
    /// show every instruction that runs before the one that fails, with the gas a
    /// per-instruction charge leaves.
    const ON: bool;

    /// Called before the instruction `op` (as executed: undefined ones are
    /// `UNDEFINED_MARK`) at `pc`, with `f.sp` in sync. `Err` ends the frame.
    fn before(&self, f: &mut Frame<'_, '_>, pc: usize, op: u8) -> Result<(), Status>;
}

/// The hook of an untraced run.
pub(crate) struct Untraced;

impl Step for Untraced {
    const ON: bool = false;

    #[inline(always)]
    fn before(&self, _: &mut Frame<'_, '_>, _: usize, _: u8) -> Result<(), Status> {
        Ok(())
    }
}

/// Runs `frame` from `pc` (which must be a block start, entered as by a jump) until the frame
/// ends; returns its status.
pub fn run(f: &mut Frame<'_, '_>, pc: usize) -> Status {
    run_with(f, pc, &Untraced)
}

/// [`run`] with a step hook.
#[inline]
pub(crate) fn run_with<S: Step>(f: &mut Frame<'_, '_>, pc: usize, step: &S) -> Status {
    match run_impl::<false, false, S>(f, pc, step) {
        Exit::Done(status) => status,
        Exit::Segment(_) => unreachable!("whole-frame runs do not stop at segments"),
    }
}

/// Runs the JUMPDEST segment that starts at `pc` (0 or a JUMPDEST; more generally any block
/// start, or a pc inside a block that compiled code has checked) until the frame ends or
/// execution reaches another JUMPDEST. The JIT uses this for segments it does not compile, so a
/// frame can move between compiled and interpreted segments.
pub fn run_segment(f: &mut Frame<'_, '_>, pc: usize) -> Exit {
    run_impl::<true, false, Untraced>(f, pc, &Untraced)
}

/// Goes on from the block start `pc`, whose run failed its check, checking each basic block.
#[cold]
#[inline(never)]
fn run_exact<const STOP_AT_SEGMENT: bool, S: Step>(
    f: &mut Frame<'_, '_>,
    pc: usize,
    step: &S,
) -> Exit {
    run_impl::<STOP_AT_SEGMENT, true, S>(f, pc, step)
}

// `with_frame!` reloads `sp` after every call, including before a return that does not read it.
#[allow(unused_assignments)]
#[inline(always)]
fn run_impl<const STOP_AT_SEGMENT: bool, const EXACT: bool, S: Step>(
    f: &mut Frame<'_, '_>,
    mut pc: usize,
    step: &S,
) -> Exit {
    let analysis = f.analysis;
    let code = analysis.exec_code();
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
    // Checks the run (the basic block, if EXACT) starting at the block start `$at`.
    macro_rules! enter {
        ($at:expr) => {{
            let at = $at;
            f.sp = sp;
            if EXACT {
                tri!(f.begin_block(at));
            } else if !f.begin_run(at) {
                return run_exact::<STOP_AT_SEGMENT, S>(f, at, step);
            }
        }};
    }
    // Whether this loop checked the current run on entering it. Only a segment run can start
    // without doing so: inside a block whose start compiled code checked (a piece of a long
    // segment), where there is no run to check. Compiled code checks basic blocks, so when such
    // a block falls into a JUMPDEST the rest of the run has not been charged; otherwise, if the
    // JUMPDEST continues the run, it has, and is given back before handing the JUMPDEST over.
    let mut run_charged = false;
    if !S::ON {
        run_charged = !EXACT && analysis.block(pc) != BlockInfo::default();
        enter!(pc);
        if code[pc] == JUMPDEST {
            pc += 1;
        }
    }

    // A jump to the valid JUMPDEST `dest`: it starts a run, whose checks a segment run leaves
    // to the code that runs the segment there.
    macro_rules! jump_to {
        ($dest:expr) => {{
            let dest = $dest;
            if STOP_AT_SEGMENT {
                f.sp = sp;
                return Exit::Segment(dest);
            }
            if S::ON {
                pc = dest;
            } else {
                enter!(dest);
                pc = dest + 1;
            }
        }};
    }
    // After an instruction that ends a block without jumping, the next run starts at `next`
    // (as after a jump if it is a JUMPDEST).
    macro_rules! next_block {
        ($next:expr) => {{
            let next = $next;
            if code[next] == JUMPDEST {
                jump_to!(next);
            } else {
                if !S::ON {
                    enter!(next);
                    run_charged = !EXACT;
                }
                pc = next;
            }
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
    // One arm per instruction of the opcode list, by its kind (see `dtvm_core::for_each_opcode!`).
    macro_rules! execute {
        ($flow:ident, pure(|$a:ident| $e:expr)) => {
            unary!(|$a| $e)
        };
        ($flow:ident, pure(|$a:ident, $b:ident| $e:expr)) => {
            binary!(|$a, $b| $e)
        };
        ($flow:ident, pure_call(|$a:ident, $b:ident| $e:expr)) => {
            binary_call!(|$a, $b| $e)
        };
        ($flow:ident, pure_into(|$a:ident, $b:ident, $m:ident, $r:ident| $e:expr)) => {{
            let $a = pop!();
            let $b = pop!();
            let $m = peek!();
            // In place: the result's limbs go straight to the stack slot.
            let $r: &mut U256 = top!();
            $e;
            pc += 1;
        }};
        ($flow:ident, frame(|$f:ident| $e:expr)) => {{
            let status: OpResult = with_frame!({
                let $f: &mut Frame<'_, '_> = &mut *f;
                $e
            });
            tri!(status);
            after!($flow);
        }};
        ($flow:ident, plain(|$f:ident| $e:expr)) => {{
            let (): () = with_frame!({
                let $f: &mut Frame<'_, '_> = &mut *f;
                $e
            });
            pc += 1;
        }};
        ($flow:ident, value(|$f:ident| $e:expr)) => {{
            let v: U256 = {
                let $f: &mut Frame<'_, '_> = &mut *f;
                $e
            };
            push!(v);
            pc += 1;
        }};
        ($flow:ident, code(|$c:ident| $e:expr)) => {{
            let v: U256 = {
                let $c = analysis;
                $e
            };
            push!(v);
            pc += 1;
        }};
        ($flow:ident, exit($status:ident, |$f:ident| $e:expr)) => {{
            let status: OpResult = with_frame!({
                let $f: &mut Frame<'_, '_> = &mut *f;
                $e
            });
            tri!(status);
            return Exit::Done($status);
        }};
        ($flow:ident, stop) => {
            return Exit::Done(EVMC_SUCCESS)
        };
        ($flow:ident, invalid) => {
            return Exit::Done(EVMC_INVALID_INSTRUCTION)
        };
        ($flow:ident, pop) => {{
            // SAFETY: as for `pop!`.
            sp = unsafe { sp.sub(1) };
            pc += 1;
        }};
        ($flow:ident, push(0)) => {{
            push!(U256::ZERO);
            pc += 1;
        }};
        ($flow:ident, push($n:literal)) => {{
            push!(push_value(code, pc, $n));
            pc += 1 + $n;
        }};
        ($flow:ident, dup($n:literal)) => {{
            // SAFETY: the block's stack bounds guarantee n items below sp and room at sp.
            unsafe {
                let v = load_word(sp.sub($n));
                store_word(sp, v);
                sp = sp.add(1);
            }
            pc += 1;
        }};
        ($flow:ident, swap($n:literal)) => {{
            // SAFETY: the block's stack bounds guarantee n + 1 items below sp.
            unsafe {
                let (top, other) = (sp.sub(1), sp.sub($n + 1));
                let (a, b) = (load_word(top), load_word(other));
                store_word(top, b);
                store_word(other, a);
            }
            pc += 1;
        }};
        ($flow:ident, jump) => {{
            let dest = pop!();
            match usize::try_from(dest) {
                Ok(d) if analysis.is_jumpdest(d) => jump_to!(d),
                _ => return Exit::Done(EVMC_BAD_JUMP_DESTINATION),
            }
        }};
        ($flow:ident, jumpi) => {{
            let dest = pop!();
            let cond = pop!();
            if cond.is_zero() {
                next_block!(pc + 1);
            } else {
                match usize::try_from(dest) {
                    Ok(d) if analysis.is_jumpdest(d) => jump_to!(d),
                    _ => return Exit::Done(EVMC_BAD_JUMP_DESTINATION),
                }
            }
        }};
        // Reached by falling through (a jump or the entry skips it). If the JUMPDEST continues
        // a run, the run was checked (unless EXACT, which checks every block); otherwise it
        // starts one.
        ($flow:ident, jumpdest) => {{
            if STOP_AT_SEGMENT {
                if run_charged && analysis.continues_run(pc) {
                    f.gas_left += analysis.block(pc).gas as i64;
                }
                f.sp = sp;
                return Exit::Segment(pc);
            }
            if !S::ON && (EXACT || !analysis.continues_run(pc)) {
                enter!(pc);
            }
            pc += 1;
            if !EXACT && !S::ON {
                pc = skip_jumpdests(code, pc);
            }
        }};
        ($flow:ident, pc) => {{
            push!(U256::from(pc));
            pc += 1;
        }};
        ($flow:ident, gas) => {{
            let v = U256::from(f.gas_left as u64);
            push!(v);
            next_block!(pc + 1);
        }};
    }
    // After an instruction that goes on: the next one, or a new block after one that observes
    // the gas left.
    macro_rules! after {
        (Next) => {
            pc += 1
        };
        (ObservesGas) => {
            next_block!(pc + 1)
        };
    }
    loop {
        // SAFETY: pc stays within the padded code: jumps are validated against the real code, and
        // the padding covers a PUSH32 at the last byte plus the STOP after it.
        let op = unsafe { *code.get_unchecked(pc) };
        if S::ON {
            f.sp = sp;
            tri!(step.before(f, pc, op));
        }
        macro_rules! dispatch {
            ($($name:ident $byte:literal $in:literal $out:literal $gas:literal $since:ident
                $flow:ident => $kind:ident $(($($args:tt)*))?;)*) => {
                match op {
                    $($byte => execute!($flow, $kind $(($($args)*))?),)*
                    _ => {
                        debug_assert!(
                            op == UNDEFINED_MARK
                                || dtvm_core::opcode::OPCODES[op as usize].since.is_none()
                        );
                        return Exit::Done(EVMC_UNDEFINED_INSTRUCTION);
                    }
                }
            };
        }
        dtvm_core::for_each_opcode!(dispatch);
    }
}
