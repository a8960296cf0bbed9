//! Nested calls to the full depth of 1024: the JIT's results equal the interpreter's, and it
//! needs no more native stack per nesting level (clients size their EVM threads for the
//! interpreter; the compiler's large locals must stay off the execution path).

mod common;
use common::*;

/// (status, nested calls, native stack bytes used by the whole call tree).
fn recurse(engine: Engine) -> (i32, usize, usize) {
    with_big_stack(move || {
        // PUSH1 0 (x5) ADDRESS GAS CALL STOP: calls itself with all gas, as deep as it can.
        let code = hex("6000 6000 6000 6000 6000 30 5a f1 00");
        let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
        h.codes.borrow_mut().insert(addr(1), code.clone());
        let top = 0u8;
        let top = &top as *const u8 as usize;
        h.stack_probe.set(Some((top, usize::MAX)));
        let r = h.run(&code, 1_000_000_000_000, &[]);
        let (_, low) = h.stack_probe.get().expect("probe set");
        let depth = h.calls.borrow().len();
        (r.status_code, depth, top - low)
    })
}

#[test]
fn full_depth_recursion() {
    let interp = recurse(Engine::Interp);
    assert_eq!(
        interp.1, 1024,
        "the message depth limit bounds the recursion"
    );
    for engine in [Engine::Multipass, Engine::Lazy] {
        let jit = recurse(engine);
        assert_eq!((jit.0, jit.1), (interp.0, interp.1), "{engine:?}");
        eprintln!(
            "{engine:?}: {} B of native stack per level (interpreter {})",
            jit.2 / jit.1,
            interp.2 / interp.1
        );
        assert!(
            jit.2 <= interp.2 + interp.2 / 4,
            "{engine:?} uses {} B of stack for 1024 levels, the interpreter {}",
            jit.2,
            interp.2
        );
    }
}
