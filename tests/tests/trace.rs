//! dtvm's EIP-3155 trace against revm's `TracerEip3155` (the oracle) on the generated programs:
//! line by line, field by field, with the normalizations of `dtvm_tests::eip3155` (the one
//! comparator, shared with the fixture test `fixture_trace.rs`).
use dtvm_tests::eip3155::{compare as compare_traces, Buffer, TxInfo};
use dtvm_tests::host::TestHost;
use dtvm_tests::rng::SplitMix64;
use dtvm_tests::{gen, modes, on_evm_stack, reference};
use std::sync::{Arc, Mutex};

const SEED: u64 = 0x3155_0000;
const PROGRAMS: u64 = 300;

#[test]
fn dtvm_trace_equals_revm_tracer() {
    on_evm_stack(compare)
}

fn compare() {
    let vm = modes::vm("interpreter").unwrap();
    let sink = Buffer::default();
    // SAFETY: a live VM.
    assert!(unsafe { dtvm::set_trace_sink(vm.raw(), Arc::new(Mutex::new(sink.clone()))) });
    let (mut failures, mut lines, mut compared) = (Vec::new(), 0usize, 0u64);
    for i in 0..PROGRAMS {
        let seed = SEED + i;
        let sc = gen::scenario(&mut SplitMix64::new(seed));
        let oracle = Buffer::default();
        if reference::trace(&sc, Box::new(oracle.clone())).is_err() {
            continue; // revm refused the transaction: the differential test reports those
        }
        let host = TestHost::new(&vm, sc.rev, &sc.pre);
        host.transact(&sc.tx);
        let (d, r) = (sink.lines(), oracle.lines());
        compared += 1;
        lines += d.len();
        let intrinsic = reference::intrinsic_gas(sc.rev, &sc.tx.input);
        let tx = TxInfo {
            intrinsic,
            create: false,
        };
        if let Err(msg) = compare_traces(&d, &r, tx) {
            failures.push(format!("seed {seed:#x}: {msg}\n{}", sc.reproducer()));
        }
    }
    eprintln!("{compared} programs, {lines} trace lines compared");
    assert!(compared > PROGRAMS / 2);
    assert!(
        failures.is_empty(),
        "{} of {compared} traces differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
