//! Every byte, at several revisions, in every engine: an opcode runs (in the interpreter's
//! dispatch and in compiled code) exactly when the opcode list defines it at that revision,
//! and then every engine produces the same status, gas left, refund, output and logs. A body
//! that used gas where its kind says it does not would show here as a gas difference: compiled
//! code keeps the gas in registers across such a helper.

mod common;
use common::*;
use dtvm_core::opcode::*;
use evmc_vm::sys::EVMC_UNDEFINED_INSTRUCTION;

/// `op` with its inputs pushed (small values: offsets, sizes, addresses and counts stay cheap),
/// its result stored at memory offset 0 and the memory returned.
fn program(op: u8) -> Vec<u8> {
    let info = &OPCODES[op as usize];
    let mut code = Vec::new();
    for i in 0..info.stack_in {
        code.extend([PUSH1, 0x20 - i]);
    }
    code.push(op);
    code.extend(std::iter::repeat_n(0x01, info.immediate as usize));
    if info.stack_out > 0 {
        code.extend([PUSH1, 0, MSTORE]);
    }
    code.extend([MSIZE, PUSH1, 0, RETURN]);
    code
}

#[test]
fn every_engine_runs_exactly_the_defined_opcodes_alike() {
    dtvm_jit::set_background_threads(0);
    let input: Vec<u8> = (0..40).collect();
    for rev in [
        dtvm_core::FRONTIER,
        dtvm_core::BYZANTIUM,
        dtvm_core::BERLIN,
        dtvm_core::CANCUN,
        dtvm_core::MAX_REVISION,
    ] {
        for op in 0..=255u8 {
            let info = &OPCODES[op as usize];
            let code = program(op);
            let run = |engine: Engine| {
                let h = MockHost::with_engine(rev, engine);
                let r = h.run(&code, 1_000_000, &input);
                (
                    r.status_code,
                    r.gas_left,
                    r.gas_refund,
                    r.output,
                    h.logs.take(),
                )
            };
            let interpreted = run(Engine::Interp);
            let undefined = interpreted.0 == EVMC_UNDEFINED_INSTRUCTION;
            assert_eq!(
                undefined,
                !info.defined_in(rev),
                "{} ({op:#04x}) at revision {rev}",
                info.name
            );
            for engine in [Engine::Multipass, Engine::Lazy] {
                assert_eq!(
                    run(engine),
                    interpreted,
                    "{} ({op:#04x}) at revision {rev}, {engine:?}",
                    info.name
                );
            }
        }
    }
}
