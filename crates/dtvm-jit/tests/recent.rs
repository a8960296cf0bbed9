//! A thread finds the analysis (interpreter) or compiled contract (JIT) of its last call again
//! by the code's buffer, without hashing it (`dtvm_core::recent`). A host may reuse one buffer
//! for other code, or call the same code at another revision: each call must still run its own
//! code. And the memo must not keep a contract the cache dropped alive.

mod common;
use ::evmc_vm::sys::{EVMC_CANCUN, EVMC_LONDON, EVMC_SUCCESS, EVMC_UNDEFINED_INSTRUCTION};
use common::*;

/// Returns the 32-byte word `value`.
fn returning(value: u8) -> Vec<u8> {
    hex(&format!("60{value:02x}60005260206000f3"))
}

#[test]
fn a_reused_buffer_runs_its_new_code_and_the_memo_frees_nothing() {
    for engine in [
        Engine::Interp,
        Engine::Multipass,
        Engine::Lazy,
        Engine::Tiered,
    ] {
        let mut buffer = returning(0x11);
        let host = MockHost::with_engine(EVMC_CANCUN, engine);
        for _ in 0..3 {
            assert_eq!(
                host.run(&buffer, 100_000, &[]).output[31],
                0x11,
                "{engine:?}"
            );
        }
        // The same address and length, other bytes.
        buffer.copy_from_slice(&returning(0x22));
        for _ in 0..3 {
            assert_eq!(
                host.run(&buffer, 100_000, &[]).output[31],
                0x22,
                "{engine:?}"
            );
        }

        // PUSH0 (EIP-3855) exists from Shanghai on: the same bytes at two revisions are two
        // contracts.
        let push0 = hex("5f00");
        let at = |rev| {
            MockHost::with_engine(rev, engine)
                .run(&push0, 100_000, &[])
                .status_code
        };
        for _ in 0..2 {
            assert_eq!(at(EVMC_CANCUN), EVMC_SUCCESS, "{engine:?}");
            assert_eq!(at(EVMC_LONDON), EVMC_UNDEFINED_INSTRUCTION, "{engine:?}");
        }
    }

    // The thread still remembers its last contract, but only weakly: emptying the cache frees
    // every contract (nothing else in this test binary runs one).
    assert!(dtvm_jit::live_bytes() > 0);
    dtvm_jit::clear_cache();
    assert_eq!(dtvm_jit::cached_contracts(), 0);
    assert_eq!(dtvm_jit::live_bytes(), 0);
}
