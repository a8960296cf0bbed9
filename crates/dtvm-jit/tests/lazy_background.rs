//! Lazy mode with its background compiler (the default): a cold call runs in the interpreter
//! while the segments it enters are compiled in the background, a hot loop is compiled by the
//! caller within its first call, and the background compiler finishes the whole contract.
//! (A separate test binary: the background thread count is process-wide.)

mod common;
use common::*;
use dtvm_core::opcode::*;
use std::time::{Duration, Instant};

/// A loop of `iterations` rounds over one segment, then RETURN of the counter's final value.
fn looping(iterations: u16) -> Vec<u8> {
    let [hi, lo] = iterations.to_be_bytes();
    let mut code = vec![PUSH1 + 1, hi, lo];
    let head = code.len();
    // JUMPDEST; counter - 1; DUP; JUMPI back while non-zero.
    code.extend([
        JUMPDEST, PUSH1, 1, SWAP1, SUB, DUP1, PUSH1, head as u8, JUMPI,
    ]);
    code.extend([PUSH1, 0, MSTORE, PUSH1, 32, PUSH1, 0, RETURN]);
    code
}

fn call(code: &[u8], engine: Engine) -> (i32, i64, Vec<u8>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let r = h.run(code, 10_000_000, &[]);
    (r.status_code, r.gas_left, r.output)
}

fn wait_until_compiled(code: &[u8]) -> dtvm_jit::SegmentStats {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = dtvm_jit::segment_stats(code, dtvm_core::CANCUN).expect("cached");
        if stats.settled() || Instant::now() > until {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn cold_calls_interpret_hot_loops_compile_the_background_finishes() {
    dtvm_jit::set_background_threads(1);

    // Hot: the loop's segment is entered 2000 times in one call, far more than a caller waits
    // for the background compiler (which may also have got there first): compiled either way,
    // with the interpreter's result.
    let hot = looping(2000);
    assert_eq!(call(&hot, Engine::Lazy), call(&hot, Engine::Interp));
    let stats = wait_until_compiled(&hot);
    assert_eq!(stats.compiled, stats.segments, "{stats:?}");
    assert_eq!(call(&hot, Engine::Lazy), call(&hot, Engine::Interp));

    // Cold: every segment entered once; the background compiler does the rest.
    let cold = looping(1);
    assert_eq!(call(&cold, Engine::Lazy), call(&cold, Engine::Interp));
    let stats = wait_until_compiled(&cold);
    assert_eq!(stats.compiled, stats.segments, "{stats:?}");
    // No segment got near the caller's threshold: all of it is the background's work.
    assert_eq!(stats.compiled_in_background, stats.segments, "{stats:?}");
    assert_eq!(call(&cold, Engine::Lazy), call(&cold, Engine::Interp));
}
