//! Storage (EIP-2200/2929/3529 costs from the host's status), transient storage (EIP-1153) and
//! logs.

use super::*;

/// SLOAD: a slot of the running account, charging the cold surcharge (EIP-2929).
pub fn sload(f: &mut Frame<'_, '_>) -> OpResult {
    let key = u256_to_bytes32(*f.top());
    let me = *f.msg.recipient();
    if f.rev >= BERLIN && f.host.access_storage(&me, &key) == EVMC_ACCESS_COLD {
        f.charge(ADDITIONAL_COLD_SLOAD_COST)?;
    }
    *f.top() = bytes32_to_u256(&f.host.get_storage(&me, &key));
    Ok(())
}

/// SSTORE: fails in a static frame and, from Istanbul, with no more than the call stipend left
/// (EIP-2200); charges and refunds what the host's storage status prices (EIP-2200, EIP-2929,
/// EIP-3529).
pub fn sstore(f: &mut Frame<'_, '_>) -> OpResult {
    f.check_not_static()?;
    if f.rev >= ISTANBUL && f.gas_left <= SSTORE_SENTRY {
        return Err(EVMC_OUT_OF_GAS);
    }
    let key = u256_to_bytes32(f.pop());
    let value = u256_to_bytes32(f.pop());
    let me = *f.msg.recipient();
    let cold = f.rev >= BERLIN && f.host.access_storage(&me, &key) == EVMC_ACCESS_COLD;
    let status = f.host.set_storage(&me, &key, &value);
    let cost = gas::sstore_cost(f.rev, status);
    f.charge(cost.gas + if cold { COLD_SLOAD_COST } else { 0 })?;
    f.gas_refund += cost.refund;
    Ok(())
}

/// TLOAD (EIP-1153): a transient slot of the running account.
pub fn tload(f: &mut Frame<'_, '_>) {
    let key = u256_to_bytes32(*f.top());
    let me = *f.msg.recipient();
    *f.top() = bytes32_to_u256(&f.host.get_transient_storage(&me, &key));
}

/// TSTORE (EIP-1153): writes a transient slot of the running account; fails in a static frame.
pub fn tstore(f: &mut Frame<'_, '_>) -> OpResult {
    f.check_not_static()?;
    let key = u256_to_bytes32(f.pop());
    let value = u256_to_bytes32(f.pop());
    let me = *f.msg.recipient();
    f.host.set_transient_storage(&me, &key, &value);
    Ok(())
}

/// LOG0..LOG4 with `topics` topics: a log of the running account whose data is a memory region;
/// charges the expansion and 8 gas per byte, and fails in a static frame.
pub fn log(f: &mut Frame<'_, '_>, topics: usize) -> OpResult {
    f.check_not_static()?;
    let offset = f.pop();
    let size = f.pop();
    let region = f.memory_region(offset, size)?;
    let mut topic_values = [Bytes32::default(); 4];
    for t in topic_values.iter_mut().take(topics) {
        *t = u256_to_bytes32(f.pop());
    }
    let data: &[u8] = match region {
        Some((o, s)) => {
            f.charge(s as i64 * LOG_DATA_COST)?;
            f.memory.slice(o, s)
        }
        None => &[],
    };
    let me = *f.msg.recipient();
    f.host.emit_log(&me, data, &topic_values[..topics]);
    Ok(())
}
