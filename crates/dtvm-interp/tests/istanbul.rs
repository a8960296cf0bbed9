//! Istanbul's rules, pinned with gas figures computed by hand from the EIPs. The shared fixtures
//! have almost no Istanbul cases, and evmone-bench drives VMs at Istanbul, so these matter.
mod common;
use ::evmc_vm::sys::*;
use common::*;

const GAS: i64 = 100_000;

fn used(h: &MockHost, code: &str) -> (i32, i64) {
    let r = h.run(&hex(code), GAS, &[]);
    (r.status_code, GAS - r.gas_left)
}

#[test]
fn eip1884_repricing() {
    // SLOAD: 200 (Tangerine Whistle) -> 800. PUSH1 0 SLOAD STOP = 3 + 800.
    assert_eq!(
        used(&MockHost::new(EVMC_PETERSBURG), "6000 54 00").1,
        3 + 200
    );
    assert_eq!(used(&MockHost::new(EVMC_ISTANBUL), "6000 54 00").1, 3 + 800);
    // BALANCE: 400 -> 700.
    assert_eq!(
        used(&MockHost::new(EVMC_PETERSBURG), "6000 31 00").1,
        3 + 400
    );
    assert_eq!(used(&MockHost::new(EVMC_ISTANBUL), "6000 31 00").1, 3 + 700);
    // EXTCODEHASH: 400 (Constantinople) -> 700.
    assert_eq!(
        used(&MockHost::new(EVMC_PETERSBURG), "6000 3f 00").1,
        3 + 400
    );
    assert_eq!(used(&MockHost::new(EVMC_ISTANBUL), "6000 3f 00").1, 3 + 700);
    // SELFBALANCE is new in Istanbul at 5 gas (cheaper than ADDRESS BALANCE = 2 + 700).
    assert_eq!(
        used(&MockHost::new(EVMC_PETERSBURG), "47 00").0,
        EVMC_UNDEFINED_INSTRUCTION
    );
    let h = MockHost::new(EVMC_ISTANBUL);
    h.balances.borrow_mut().insert(addr(1), word(0x1234));
    let r = h.run(&hex("47 6000 52 6020 6000 f3"), GAS, &[]);
    assert_eq!(r.output, word(0x1234).bytes.to_vec());
    assert_eq!(GAS - r.gas_left, 5 + 3 + 3 + 3 + 3 + 3);
}

#[test]
fn eip1344_chainid() {
    assert_eq!(
        used(&MockHost::new(EVMC_PETERSBURG), "46 00").0,
        EVMC_UNDEFINED_INSTRUCTION
    );
    let h = MockHost::new(EVMC_ISTANBUL);
    let r = h.run(&hex("46 6000 52 6020 6000 f3"), GAS, &[]);
    assert_eq!(r.output, word(1).bytes.to_vec()); // the mock host's chain id
    assert_eq!(GAS - r.gas_left, 2 + 15);
}

#[test]
fn eip2200_sstore() {
    // Fresh slot 0 -> 1: SSTORE_SET 20000.
    assert_eq!(
        used(&MockHost::new(EVMC_ISTANBUL), "6001 6000 55 00").1,
        6 + 20000
    );
    // Same slot 0 -> 1 -> 2 in one frame: 20000 then a dirty write at SLOAD_GAS 800.
    assert_eq!(
        used(
            &MockHost::new(EVMC_ISTANBUL),
            "6001 6000 55 6002 6000 55 00"
        )
        .1,
        12 + 20000 + 800
    );
    // No-op write (1 -> 1 on a slot holding 1): SLOAD_GAS 800.
    let h = MockHost::new(EVMC_ISTANBUL);
    h.storage.borrow_mut().insert((addr(1), word(0)), word(1));
    assert_eq!(used(&h, "6001 6000 55 00").1, 6 + 800);
    // 1 -> 0: SSTORE_RESET 5000 and a refund of 15000.
    let h = MockHost::new(EVMC_ISTANBUL);
    h.storage.borrow_mut().insert((addr(1), word(0)), word(1));
    let r = h.run(&hex("6000 6000 55 00"), GAS, &[]);
    assert_eq!((GAS - r.gas_left, r.gas_refund), (6 + 5000, 15000));
    // 0 -> 1 -> 0: 20000 + 800, and 19200 refunded (SSTORE_SET - SLOAD_GAS).
    let h = MockHost::new(EVMC_ISTANBUL);
    let r = h.run(&hex("6001 6000 55 6000 6000 55 00"), GAS, &[]);
    assert_eq!((GAS - r.gas_left, r.gas_refund), (12 + 20800, 19200));
}

#[test]
fn eip2200_sentry() {
    // The 2300 stipend guard: SSTORE fails if gas left (after the two PUSH1) is <= 2300, even for
    // a no-op write that would cost only 800.
    let h = MockHost::new(EVMC_ISTANBUL);
    h.storage.borrow_mut().insert((addr(1), word(0)), word(1));
    let r = h.run(&hex("6001 6000 55 00"), 6 + 2300, &[]);
    assert_eq!(r.status_code, EVMC_OUT_OF_GAS);
    let r = h.run(&hex("6001 6000 55 00"), 6 + 2301, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_SUCCESS, 2301 - 800));
    // Petersburg has no sentry: a 0 -> 0 write costs SSTORE_RESET (5000) and succeeds with exactly
    // that much left.
    let h = MockHost::new(EVMC_PETERSBURG);
    let r = h.run(&hex("6000 6000 55 00"), 6 + 5000, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_SUCCESS, 0));
}

#[test]
fn istanbul_with_int64_max_gas() {
    // evmone-bench's convention: Istanbul with gas = INT64_MAX; gas math must not overflow.
    let h = MockHost::new(EVMC_ISTANBUL);
    let r = h.run(&hex("6001 6000 55 5a 6000 52 6020 6000 f3"), i64::MAX, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    let expected = i64::MAX - (6 + 20000 + 2);
    assert_eq!(r.output, word(expected as u64).bytes.to_vec());
}
