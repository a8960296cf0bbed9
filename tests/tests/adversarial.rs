//! Contracts built to hurt an EVM: maximal code of one pathological kind, jump tables,
//! call/create bombs to depth 1024, memory expansion up to the gas limit, EXP with maximal
//! exponents. Every mode must give revm's result, and in bounded time.
//!
//! The time bound (5 s per run) is a safety net against hangs, not a benchmark; the measured
//! times are printed (`cargo test --release -p dtvm-tests --test adversarial -- --nocapture`).
use ::evmc_vm::sys::*;
use ::evmc_vm::Revision;
use dtvm_tests::gen::{op, Asm};
use dtvm_tests::host::TestHost;
use dtvm_tests::rng::{Entropy, SplitMix64};
use dtvm_tests::world::*;
use dtvm_tests::{modes, on_evm_stack, reference};
use revm::primitives::U256;
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(5);
const MAX_CODE: usize = 24_576;

/// Runs `code` as the transaction's target in every mode and on revm, checks they agree, and
/// returns the interpreter's outcome and the depth it reached for case-specific checks.
/// On a big-stack thread: depth 1024 is a native recursion through the host.
fn run_case(name: &str, rev: Revision, code: Vec<u8>, exec_gas: i64) -> (Outcome, i32) {
    on_evm_stack(|| run_case_here(name, rev, code, exec_gas).0)
}

/// Also returns each mode's native stack use (see [`native_stack_per_call_level`]).
fn run_case_here(
    name: &str,
    rev: Revision,
    code: Vec<u8>,
    exec_gas: i64,
) -> ((Outcome, i32), Vec<(&'static str, usize)>) {
    let sc = Scenario {
        rev,
        pre: [(CONTRACTS[0], Account::contract(code, U256::from(1000)))].into(),
        tx: Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input: vec![],
            exec_gas,
        },
    };
    let t = Instant::now();
    let expected = reference::run(&sc).unwrap_or_else(|e| panic!("{name}: {e}"));
    let revm_time = t.elapsed();
    let mut line = format!("{name:<34} revm {revm_time:>10.2?}");
    let mut first = None;
    let mut stacks = Vec::new();
    for (mode, vm) in modes::available() {
        let host = TestHost::new(&vm, sc.rev, &sc.pre);
        let t = Instant::now();
        let got = host.transact(&sc.tx);
        let elapsed = t.elapsed();
        line += &format!("  {mode} {elapsed:>10.2?}");
        assert!(elapsed < TIME_LIMIT, "{name}: {mode} took {elapsed:?}");
        if let Some(d) = got.diff(&expected) {
            panic!("{name}: {mode} vs revm: {d}");
        }
        stacks.push((mode, host.stack_used()));
        first.get_or_insert((got, host.max_depth.get()));
    }
    println!("{line}  [{}, gas {}]", expected.status, expected.gas_used);
    (first.expect("the interpreter is always available"), stacks)
}

fn repeat_to_limit(unit: &[u8]) -> Vec<u8> {
    unit.iter()
        .copied()
        .cycle()
        .take(MAX_CODE / unit.len() * unit.len())
        .collect()
}

#[test]
fn max_size_straight_line_code() {
    let gas = 10_000_000;
    let (o, _) = run_case(
        "24 KB of JUMPDEST",
        EVMC_CANCUN,
        vec![op::JUMPDEST; MAX_CODE],
        gas,
    );
    assert_eq!((o.class, o.gas_used), (Class::Success, MAX_CODE as u64));

    // PUSH32s with their data: 744 pushes, under the stack limit.
    let mut push32 = vec![op::PUSH32];
    push32.extend([0xff; 32]);
    let (o, _) = run_case(
        "24 KB of PUSH32 (with data)",
        EVMC_CANCUN,
        repeat_to_limit(&push32),
        gas,
    );
    assert_eq!((o.class, o.gas_used), (Class::Success, 3 * 744));

    // Every byte a PUSH32 opcode: the analysis must skip 32 bytes at each, including the last
    // one whose data runs past the end of the code.
    let (o, _) = run_case(
        "24 KB of 0x7f",
        EVMC_CANCUN,
        vec![op::PUSH32; MAX_CODE],
        gas,
    );
    assert_eq!(o.class, Class::Success);

    // DUP16/SWAP16 after 16 pushes: the stack grows by one per pair until it overflows.
    let mut code = Asm::default();
    for i in 0..16 {
        code.push_u64(i);
    }
    let mut code = code.finish();
    let body = repeat_to_limit(&[0x8f, 0x9f]);
    code.extend_from_slice(&body[..MAX_CODE - code.len()]);
    let (o, _) = run_case("24 KB of DUP16/SWAP16", EVMC_CANCUN, code.clone(), gas);
    assert_eq!(o.class, Class::Failure, "stack overflow");

    // The same with a POP after each pair: balanced, so it runs to the end.
    let body = repeat_to_limit(&[0x8f, 0x9f, op::POP]);
    code.truncate(32);
    code.extend_from_slice(&body[..MAX_CODE - 32 - (MAX_CODE - 32) % 3]);
    let (o, _) = run_case("24 KB of DUP16/SWAP16/POP", EVMC_CANCUN, code, gas);
    assert_eq!(o.class, Class::Success);
}

/// A chain of `JUMPDEST PUSH2 next JUMP` entries filling the code, visited in a scrambled
/// order, then a dispatcher loop jumping through it as a computed table.
#[test]
fn maximal_jump_tables() {
    const ENTRY: usize = 5;
    let n = (MAX_CODE - 64) / ENTRY;
    let base = 8usize;
    // The entries are chained in a shuffled order, so every jump goes somewhere far.
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(7919);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let exit = base + n * ENTRY;
    let mut next = vec![exit; n];
    for w in order.windows(2) {
        next[w[0]] = base + w[1] * ENTRY;
    }
    let first = (base + order[0] * ENTRY) as u16;
    let mut code = vec![op::PUSH2, 0, 0, op::JUMP, op::STOP, 0, 0, 0];
    code[1..3].copy_from_slice(&first.to_be_bytes());
    for target in next {
        code.extend_from_slice(&[op::JUMPDEST, op::PUSH2, 0, 0, op::JUMP]);
        let at = code.len() - 3;
        code[at..at + 2].copy_from_slice(&(target as u16).to_be_bytes());
    }
    code.extend_from_slice(&[
        op::JUMPDEST,
        op::PC,
        op::PUSH1,
        0,
        op::MSTORE,
        op::PUSH1,
        32,
    ]);
    code.extend_from_slice(&[op::PUSH1, 0, op::RETURN]);
    assert!(code.len() <= MAX_CODE);
    let (o, _) = run_case(
        "jump chain through 4900 entries",
        EVMC_CANCUN,
        code,
        10_000_000,
    );
    // JUMPDEST + PUSH2 + JUMP per entry: every entry was visited.
    assert_eq!(o.class, Class::Success);
    assert!(o.gas_used > 12 * n as u64, "{}", o.gas_used);

    // A loop that jumps into the table at computed entries: each entry leads back to the
    // dispatcher (entries jump to `dispatch`), 100,000 times or until gas runs out.
    let mut asm = Asm::default();
    let dispatch = asm.label();
    let table = asm.label();
    let done = asm.label();
    asm.push_u64(100_000);
    asm.jumpdest(dispatch);
    // counter -= 1; if counter == 0 goto done
    asm.push_u64(1)
        .op(op::SWAP1)
        .op(op::SUB)
        .op(op::DUP1)
        .op(op::ISZERO);
    asm.push_label(done).op(op::JUMPI);
    // target = table + ((counter * 7919) % n) * 5
    asm.op(op::DUP1).push_u64(7919).op(op::MUL);
    asm.push_u64(n as u64 - 20).op(op::SWAP1).op(op::MOD);
    asm.push_u64(ENTRY as u64)
        .op(op::MUL)
        .push_label(table)
        .op(op::ADD)
        .op(op::JUMP);
    asm.jumpdest(done);
    asm.op(op::STOP);
    asm.place(table);
    for _ in 0..n - 20 {
        asm.op(op::JUMPDEST).push_label(dispatch).op(op::JUMP);
    }
    let code = asm.finish();
    assert!(code.len() <= MAX_CODE, "{}", code.len());
    let (o, _) = run_case(
        "computed jumps into a 4880-entry table",
        EVMC_CANCUN,
        code,
        10_000_000,
    );
    assert_eq!(o.class, Class::Success);

    // A jump to a 0x5b byte inside PUSH data is not a jump destination.
    let mut code = vec![op::PUSH2, 0, 4, op::JUMP, op::PUSH32];
    code.extend([op::JUMPDEST; 32]);
    code[1..3].copy_from_slice(&6u16.to_be_bytes());
    let (o, _) = run_case("jump into PUSH32 data", EVMC_CANCUN, code, 100_000);
    assert_eq!(o.class, Class::Failure);
}

/// Enough gas that the 63/64 rule still leaves each of 1024 levels enough for its own work
/// (up to a CREATE or an SSTORE): gas at depth d is about G * (63/64)^d, and (63/64)^1024 is
/// about 1e-7.
const BOMB_GAS: i64 = 100_000_000_000_000;

#[test]
fn call_bomb_reaches_depth_1024() {
    // CALL(gas, self, 0, 0, 0, 0, 0) with all gas, recursively; count successes in slot 0.
    let mut a = Asm::default();
    a.push_u64(0)
        .push_u64(0)
        .push_u64(0)
        .push_u64(0)
        .push_u64(0);
    a.op(op::ADDRESS).op(op::GAS).op(op::CALL);
    a.push_u64(0)
        .op(op::SLOAD)
        .op(op::ADD)
        .push_u64(0)
        .op(op::SSTORE);
    let (o, depth) = run_case("CALL bomb", EVMC_CANCUN, a.finish(), BOMB_GAS);
    assert_eq!(o.class, Class::Success);
    assert_eq!(depth, 1024, "the deepest message the host saw");
    let slot0 = o.state[&CONTRACTS[0]].storage[&word(U256::ZERO)];
    assert_eq!(u256(&slot0), U256::from(1024), "calls that succeeded");

    // The same through DELEGATECALL and STATICCALL (no value, so only depth stops them).
    for (name, call) in [
        ("DELEGATECALL bomb", op::DELEGATECALL),
        ("STATICCALL bomb", op::STATICCALL),
    ] {
        let mut a = Asm::default();
        a.push_u64(0).push_u64(0).push_u64(0).push_u64(0);
        a.op(op::ADDRESS).op(op::GAS).op(call).op(op::POP);
        let (o, depth) = run_case(name, EVMC_CANCUN, a.finish(), BOMB_GAS);
        assert_eq!((o.class, depth), (Class::Success, 1024), "{name}");
    }
}

#[test]
fn create_bomb_reaches_depth_1024() {
    // Initcode = this code: copy itself to memory and CREATE (or CREATE2) a copy.
    for (name, create2) in [("CREATE bomb", false), ("CREATE2 bomb", true)] {
        let mut a = Asm::default();
        a.op(op::CODESIZE).push_u64(0).push_u64(0).op(op::CODECOPY);
        if create2 {
            a.op(op::GAS); // salt: differs per level, so no address collision
        }
        a.op(op::CODESIZE).push_u64(0).push_u64(0);
        a.op(if create2 { op::CREATE2 } else { op::CREATE })
            .op(op::POP);
        let (o, depth) = run_case(name, EVMC_CANCUN, a.finish(), BOMB_GAS);
        assert_eq!((o.class, depth), (Class::Success, 1024), "{name}");
        // The target, the sender and 1024 new accounts (nonce 1, empty code).
        assert_eq!(o.state.len(), 2 + 1024, "{name}");
    }
}

#[test]
fn memory_expansion_to_the_gas_limit() {
    let gas = 30_000_000;
    // Largest memory that 30M gas pays for: 3w + w²/512 <= gas - overhead.
    let words = (1u64..)
        .take_while(|w| 3 * w + w * w / 512 <= 29_999_000)
        .last()
        .unwrap();
    for (name, offset, class) in [
        (
            "MLOAD at the affordable maximum",
            (words - 1) * 32,
            Class::Success,
        ),
        ("MLOAD one word past it", (words + 64) * 32, Class::Failure),
        ("MLOAD at 2^32", 1 << 32, Class::Failure),
        ("MLOAD at 2^64-1", u64::MAX, Class::Failure),
    ] {
        let mut a = Asm::default();
        a.push_u64(offset).op(op::MLOAD).op(op::POP);
        a.op(op::MSIZE)
            .push_u64(0)
            .op(op::MSTORE)
            .push_u64(32)
            .push_u64(0)
            .op(op::RETURN);
        let (o, _) = run_case(name, EVMC_CANCUN, a.finish(), gas);
        assert_eq!(o.class, class, "{name}");
    }
    let mut a = Asm::default();
    a.push(U256::MAX).op(op::MLOAD);
    let (o, _) = run_case("MLOAD at 2^256-1", EVMC_CANCUN, a.finish(), gas);
    assert_eq!(o.class, Class::Failure);

    // Grow 1 KB per iteration until out of gas (~4 MB): many small expansions.
    let mut a = Asm::default();
    let top = a.label();
    a.jumpdest(top);
    a.op(op::MSIZE)
        .push_u64(1024)
        .op(op::ADD)
        .op(op::MLOAD)
        .op(op::POP);
    a.push_label(top).op(op::JUMP);
    let (o, _) = run_case("memory grown 1 KB at a time", EVMC_CANCUN, a.finish(), gas);
    assert_eq!((o.class, o.gas_used), (Class::Failure, gas as u64));

    // One huge copy: CALLDATACOPY of 1 MB (zeros past the calldata).
    let mut a = Asm::default();
    a.push_u64(1 << 20)
        .push_u64(0)
        .push_u64(0)
        .op(op::CALLDATACOPY);
    a.push_u64(1 << 20)
        .push_u64(0)
        .op(op::KECCAK256)
        .push_u64(0)
        .op(op::MSTORE);
    a.push_u64(32).push_u64(0).op(op::RETURN);
    let (o, _) = run_case(
        "1 MB CALLDATACOPY + KECCAK256",
        EVMC_CANCUN,
        a.finish(),
        gas,
    );
    assert_eq!(o.class, Class::Success);
}

#[test]
fn exp_with_maximal_exponents() {
    // x = EXP(x | 3, 2^256-1) in a loop until out of gas: ~18,600 full-width EXPs in 30M gas.
    let mut a = Asm::default();
    let top = a.label();
    a.push_u64(7);
    a.jumpdest(top);
    a.push(U256::MAX)
        .op(op::SWAP1)
        .push_u64(3)
        .op(op::OR)
        .op(op::EXP);
    a.op(op::DUP1).push_u64(0).op(op::MSTORE);
    a.push_label(top).op(op::JUMP);
    let (o, _) = run_case(
        "EXP(x, 2^256-1) until out of gas",
        EVMC_CANCUN,
        a.finish(),
        30_000_000,
    );
    assert_eq!(o.class, Class::Failure);

    // A bounded number, so the result is observable: 10,000 iterations, result returned.
    let mut a = Asm::default();
    let top = a.label();
    a.push_u64(7).push_u64(10_000);
    a.jumpdest(top);
    a.op(op::SWAP1)
        .push(U256::MAX)
        .op(op::SWAP1)
        .push_u64(3)
        .op(op::OR)
        .op(op::EXP);
    a.op(op::SWAP1)
        .push_u64(1)
        .op(op::SWAP1)
        .op(op::SUB)
        .op(op::DUP1);
    a.push_label(top).op(op::JUMPI);
    a.op(op::POP)
        .push_u64(0)
        .op(op::MSTORE)
        .push_u64(32)
        .push_u64(0)
        .op(op::RETURN);
    let (o, _) = run_case(
        "10,000 EXP(x, 2^256-1)",
        EVMC_CANCUN,
        a.finish(),
        30_000_000,
    );
    assert_eq!(o.class, Class::Success);
    assert_eq!(o.output.len(), 32);
}

/// How much native stack one EVM call level costs (host callback + VM frame), measured on the
/// CALL bomb. Printed for the README; asserted loosely so a regression that makes frames much
/// bigger (a large array moved onto the stack) is noticed.
#[test]
fn native_stack_per_call_level() {
    let mut a = Asm::default();
    a.push_u64(0)
        .push_u64(0)
        .push_u64(0)
        .push_u64(0)
        .push_u64(0);
    a.op(op::ADDRESS).op(op::GAS).op(op::CALL).op(op::POP);
    let code = a.finish();
    let ((o, depth), stacks) =
        on_evm_stack(|| run_case_here("CALL bomb (stack use)", EVMC_CANCUN, code, BOMB_GAS));
    assert_eq!((o.class, depth), (Class::Success, 1024));
    for (mode, stack) in &stacks {
        println!(
            "native stack, {mode}: {stack} bytes for 1024 levels, {} bytes per level \
             (with the test host's frames)",
            stack / 1024
        );
    }
    let per_level = stacks.iter().map(|(_, s)| s / 1024).max().unwrap_or(0);
    assert!(per_level < 64 << 10, "{per_level} bytes per call level");
}

const STACK_CHILD: &str = "DTVM_TESTS_STACK_CHILD";
/// The stack of a typical host thread: Linux's default for a main thread, and what hosts that
/// size their EVM threads commonly give them.
const HOST_THREAD_STACK: usize = 8 << 20;
/// A host thread too small for depth 1024 in any mode.
const SMALL_THREAD_STACK: usize = 1 << 20;

/// What the CALL bomb did on a thread of a given size.
#[derive(Debug)]
struct Bomb {
    /// Top-level status.
    status: String,
    /// The deepest message the host sent.
    depth: i32,
    /// Messages that came back `EVMC_INTERNAL_ERROR` (the native stack guard refusing a level).
    internal_errors: usize,
}

/// The CALL bomb on a `stack`-byte thread in each of `wanted` modes (that the build runs),
/// checked by `check`. A stack overflow aborts the process, so each mode runs in a child
/// process: this test re-runs itself with `STACK_CHILD` set to the mode.
fn call_bomb_on_thread(test: &str, wanted: &[&str], stack: usize, check: impl Fn(&str, &Bomb)) {
    if let Ok(mode) = std::env::var(STACK_CHILD) {
        let vm = modes::vm(&mode).expect("mode");
        let mut a = Asm::default();
        a.push_u64(0)
            .push_u64(0)
            .push_u64(0)
            .push_u64(0)
            .push_u64(0);
        a.op(op::ADDRESS).op(op::GAS).op(op::CALL).op(op::POP);
        let pre: World = [(CONTRACTS[0], Account::contract(a.finish(), U256::ZERO))].into();
        let tx = Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input: vec![],
            exec_gas: BOMB_GAS,
        };
        let (status, depth, internal_errors) = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn_scoped(s, || {
                    let host = TestHost::new(&vm, EVMC_CANCUN, &pre);
                    *host.trace.borrow_mut() = Some(Vec::new());
                    let o = host.transact(&tx);
                    let trace = host.trace.take().unwrap_or_default();
                    let errors = trace
                        .iter()
                        .filter(|l| l.trim_start().starts_with("-> INTERNAL_ERROR "))
                        .count();
                    (o.status, host.max_depth.get(), errors)
                })
                .expect("spawn")
                .join()
                .expect("no panic")
        });
        println!("bomb: {status} {depth} {internal_errors}");
        return;
    }
    let available: Vec<&str> = modes::available().into_iter().map(|(m, _)| m).collect();
    for mode in wanted.iter().filter(|m| available.contains(m)) {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test, "--nocapture", "--include-ignored"])
            .env(STACK_CHILD, mode)
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = stdout.lines().find_map(|l| {
            let mut f = l.strip_prefix("bomb: ")?.split(' ');
            Some(Bomb {
                status: f.next()?.to_string(),
                depth: f.next()?.parse().ok()?,
                internal_errors: f.next()?.parse().ok()?,
            })
        });
        let Some(report) = report.filter(|_| out.status.success()) else {
            panic!(
                "{mode}: the CALL bomb on a {} KiB thread: {}\n{}",
                stack >> 10,
                out.status,
                stderr.lines().rev().take(3).collect::<Vec<_>>().join("\n")
            );
        };
        println!("{mode}, {} KiB thread: {report:?}", stack >> 10);
        check(mode, &report);
    }
}

/// Depth 1024 is reached, and no level is refused.
fn full_depth(mode: &str, b: &Bomb) {
    assert_eq!(
        (b.status.as_str(), b.depth, b.internal_errors),
        ("SUCCESS", 1024, 0),
        "{mode}: a depth-1024 CALL chain on an {} MiB thread",
        HOST_THREAD_STACK >> 20
    );
}

#[test]
fn depth_1024_fits_a_host_sized_stack_interpreter() {
    call_bomb_on_thread(
        "depth_1024_fits_a_host_sized_stack_interpreter",
        &["interpreter"],
        HOST_THREAD_STACK,
        full_depth,
    );
}

/// The JIT modes on a host-sized thread: compiled segments chain by tail calls, so a call level
/// costs about as much native stack as in the interpreter (`native_stack_per_call_level`).
#[test]
fn depth_1024_fits_a_host_sized_stack_jit() {
    call_bomb_on_thread(
        "depth_1024_fits_a_host_sized_stack_jit",
        &["multipass", "lazy"],
        HOST_THREAD_STACK,
        full_depth,
    );
}

/// On a thread too small for depth 1024 the native stack guard refuses the level that would
/// overflow: the process survives, and the `EVMC_INTERNAL_ERROR` travels up every level to the
/// transaction (a VM failure is not an EVM outcome: no caller may treat it as a failed CALL and
/// go on, or a host checking only the top-level status would commit a wrong result).
#[test]
fn call_bomb_on_a_small_stack_fails_cleanly() {
    call_bomb_on_thread(
        "call_bomb_on_a_small_stack_fails_cleanly",
        &modes::MODES,
        SMALL_THREAD_STACK,
        |mode, b| {
            assert_eq!(
                (b.status.as_str(), b.internal_errors),
                ("INTERNAL_ERROR", b.depth as usize + 1),
                "{mode}: {b:?}"
            );
            // The guard keeps `STACK_MARGIN` free, not much more: with at most 16 KB per level
            // (see `native_stack_per_call_level`) the chain gets most of the rest.
            let usable = SMALL_THREAD_STACK - dtvm::stack::STACK_MARGIN;
            assert!(
                (usable / 2 / (16 << 10)..1024).contains(&(b.depth as usize)),
                "{mode}: {b:?}"
            );
        },
    );
}

const FIRST_CALL_CHILD: &str = "DTVM_TESTS_FIRST_CALL_CHILD";

/// Contracts whose first call in a JIT mode compiles the most on the caller's thread (see
/// `crates/dtvm-jit/tests/compile_budget.rs`): many small segments, and few large ones.
fn compile_heavy(kind: &str) -> Vec<u8> {
    match kind {
        "jumpdests" => vec![op::JUMPDEST; MAX_CODE],
        "long segments" => {
            let mut code = vec![op::PUSH1, 1];
            while code.len() + 3 <= MAX_CODE {
                if code.len() % 6000 < 3 {
                    code.push(op::JUMPDEST);
                }
                code.extend_from_slice(&[op::PUSH1, 3, op::ADD]);
            }
            code
        }
        _ => unreachable!("{kind}"),
    }
}

/// The native stack guard must cover everything one level does before the next `execute`
/// checks again, compilation included: whenever it lets a call start, the call must not
/// overflow. For each mode and compile-heavy contract, a fresh process runs its first call on
/// threads of decreasing size; near the smallest one the guard accepts, the call has the least
/// stack it can ever be given (about `STACK_MARGIN`). A child that dies fails the test.
#[test]
fn guarded_first_call_never_overflows() {
    if let Ok(spec) = std::env::var(FIRST_CALL_CHILD) {
        let mut it = spec.splitn(3, ':');
        let (mode, stack, kind) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let vm = modes::vm(mode).expect("mode");
        let pre: World = [(
            CONTRACTS[0],
            Account::contract(compile_heavy(kind), U256::ZERO),
        )]
        .into();
        let tx = Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input: vec![],
            exec_gas: 10_000_000,
        };
        let status = std::thread::Builder::new()
            .stack_size(stack.parse().expect("stack size"))
            .spawn(move || TestHost::new(&vm, EVMC_CANCUN, &pre).transact(&tx).status)
            .expect("spawn")
            .join()
            .expect("no panic");
        println!("first call: {status}");
        return;
    }
    let margin = dtvm::stack::STACK_MARGIN;
    for (mode, _) in modes::available() {
        for kind in ["jumpdests", "long segments"] {
            // Invariant: the guard refuses at `lo` and accepts at `hi`.
            let (mut lo, mut hi) = (margin / 2, margin * 2);
            while hi - lo > 4 << 10 {
                let stack = ((lo + hi) / 2) & !4095;
                let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
                    .args([
                        "--exact",
                        "guarded_first_call_never_overflows",
                        "--nocapture",
                    ])
                    .env(FIRST_CALL_CHILD, format!("{mode}:{stack}:{kind}"))
                    .output()
                    .expect("run the child");
                let stdout = String::from_utf8_lossy(&out.stdout);
                let status = stdout.lines().find_map(|l| l.strip_prefix("first call: "));
                match status {
                    Some("INTERNAL_ERROR") => lo = stack,
                    Some("SUCCESS") => hi = stack,
                    _ => panic!(
                        "{mode}, {kind}: first call on a {} KiB thread: {}\n{}",
                        stack >> 10,
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    ),
                }
            }
            println!(
                "{mode:<12} {kind:<14}: the guard accepts a first call from a {} KiB thread",
                hi >> 10
            );
        }
    }
}
