//! Leaving the frame (RETURN, REVERT, SELFDESTRUCT) and nested messages (CALL family, CREATE
//! family).

use super::*;

/// RETURN / REVERT: records the output region.
pub fn set_output(f: &mut Frame<'_, '_>) -> OpResult {
    let offset = f.pop();
    let size = f.pop();
    f.output = f.memory_region(offset, size)?.unwrap_or((0, 0));
    Ok(())
}

/// SELFDESTRUCT: charges the cold access (EIP-2929) and the new-account cost (EIP-150, EIP-161),
/// registers the destruct with the host and, before London, the refund (removed by EIP-3529).
/// Fails in a static frame.
pub fn selfdestruct(f: &mut Frame<'_, '_>) -> OpResult {
    f.check_not_static()?;
    let beneficiary = to_address(f.pop());
    if f.rev >= BERLIN && f.host.access_account(&beneficiary) == EVMC_ACCESS_COLD {
        f.charge(COLD_ACCOUNT_ACCESS_COST)?;
    }
    let me = *f.msg.recipient();
    if f.rev >= TANGERINE_WHISTLE
        && (f.rev == TANGERINE_WHISTLE || !f.host.get_balance(&me).bytes.iter().all(|b| *b == 0))
        && !f.host.account_exists(&beneficiary)
    {
        f.charge(ACCOUNT_CREATION_COST)?;
    }
    if f.host.selfdestruct(&me, &beneficiary) && f.rev < LONDON {
        f.gas_refund += SELFDESTRUCT_REFUND;
    }
    Ok(())
}

/// EIP-7702 delegation designator: 0xef0100 followed by the delegate's address.
const DELEGATION_MAGIC: [u8; 3] = [0xef, 0x01, 0x00];

/// The delegate of `address` when its code is a delegation designator.
fn delegate_of(f: &mut Frame<'_, '_>, address: &Address) -> Option<Address> {
    let mut designator = [0u8; 23];
    let n = f.host.copy_code(address, 0, &mut designator);
    if n != designator.len() || designator[..3] != DELEGATION_MAGIC {
        return None;
    }
    let mut delegate = Address::default();
    delegate.bytes.copy_from_slice(&designator[3..]);
    Some(delegate)
}

fn value_exceeds_balance(f: &mut Frame<'_, '_>, value: &U256) -> bool {
    let me = *f.msg.recipient();
    !value.is_zero() && bytes32_to_u256(&f.host.get_balance(&me)) < *value
}

/// CALL, CALLCODE, DELEGATECALL, STATICCALL.
pub fn call(f: &mut Frame<'_, '_>, opcode: u8) -> OpResult {
    let gas_param = f.pop();
    let dst = to_address(f.pop());
    let value = if matches!(opcode, op::CALL | op::CALLCODE) {
        f.pop()
    } else {
        U256::ZERO
    };
    let in_offset = f.pop();
    let in_size = f.pop();
    let out_offset = f.pop();
    let out_size = f.pop();
    f.push(U256::ZERO); // replaced by 1 on success

    f.address_access_cost(&dst)?;
    let mut code_address = dst;
    let mut flags = f.msg.flags() & EVMC_STATIC;
    if f.rev >= PRAGUE {
        if let Some(delegate) = delegate_of(f, &dst) {
            let cost = if f.host.access_account(&delegate) == EVMC_ACCESS_COLD {
                COLD_ACCOUNT_ACCESS_COST
            } else {
                WARM_STORAGE_READ_COST
            };
            f.charge(cost)?;
            code_address = delegate;
            flags |= EVMC_DELEGATED;
        }
    }
    let input = f.memory_region(in_offset, in_size)?;
    let output = f.memory_region(out_offset, out_size)?;

    let has_value = !value.is_zero();
    if opcode == op::CALL && has_value && f.msg.is_static() {
        return Err(EVMC_STATIC_MODE_VIOLATION);
    }
    let mut cost = if has_value { CALL_VALUE_COST } else { 0 };
    if opcode == op::CALL && (has_value || f.rev < SPURIOUS_DRAGON) && !f.host.account_exists(&dst)
    {
        cost += ACCOUNT_CREATION_COST;
    }
    f.charge(cost)?;

    let mut gas = i64::try_from(gas_param).unwrap_or(i64::MAX);
    if f.rev >= TANGERINE_WHISTLE {
        gas = gas.min(f.gas_left - f.gas_left / 64);
    } else if gas > f.gas_left {
        return Err(EVMC_OUT_OF_GAS);
    }
    if has_value {
        gas += CALL_STIPEND;
        f.gas_left += CALL_STIPEND;
    }
    if let Some(observer) = f.observer {
        observer.before_nested(f, gas);
    }

    f.return_data.clear();
    if f.msg.depth() >= CALL_DEPTH_LIMIT || (has_value && value_exceeds_balance(f, &value)) {
        // The call does not happen; its gas (and stipend) stays with the caller.
        return Ok(());
    }

    let me = *f.msg.recipient();
    let (kind, recipient, sender, value) = match opcode {
        op::CALL => (EVMC_CALL, dst, me, value),
        op::STATICCALL => {
            flags |= EVMC_STATIC;
            (EVMC_CALL, dst, me, value)
        }
        op::CALLCODE => (EVMC_CALLCODE, me, me, value),
        _ => (
            EVMC_DELEGATECALL,
            me,
            *f.msg.sender(),
            bytes32_to_u256(f.msg.value()),
        ),
    };
    let (input_data, input_size) = match input {
        Some((o, s)) => (f.memory.slice(o, s).as_ptr(), s),
        None => (std::ptr::null(), 0),
    };
    let msg = evmc_message {
        kind,
        flags,
        depth: f.msg.depth() + 1,
        gas,
        recipient,
        sender,
        input_data,
        input_size,
        value: u256_to_bytes32(value),
        create2_salt: Bytes32::default(),
        code_address,
        code: std::ptr::null(),
        code_size: 0,
    };
    let result = f.host.call(&msg);
    // A nested VM failure (dtvm's native stack guard, or the host's own) is not an EVM outcome:
    // it ends this frame too, so it reaches the host's top level instead of passing for a failed
    // call that a host might commit.
    if result.status_code == EVMC_INTERNAL_ERROR {
        return Err(EVMC_INTERNAL_ERROR);
    }
    if let Some((o, s)) = output {
        let n = s.min(result.output.len());
        f.memory
            .slice_mut(o, n)
            .copy_from_slice(&result.output[..n]);
    }
    f.gas_left -= gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    if result.status_code == EVMC_SUCCESS {
        *f.top() = U256::from(1);
    }
    f.return_data = result.output;
    Ok(())
}

/// CREATE, CREATE2.
pub fn create(f: &mut Frame<'_, '_>, opcode: u8) -> OpResult {
    f.check_not_static()?;
    let endowment = f.pop();
    let init_offset = f.pop();
    let init_size = f.pop();
    let salt = if opcode == op::CREATE2 {
        f.pop()
    } else {
        U256::ZERO
    };
    f.push(U256::ZERO); // replaced by the address on success

    let init = f.memory_region(init_offset, init_size)?;
    let size = init.map_or(0, |(_, s)| s);
    if f.rev >= SHANGHAI && size > MAX_INITCODE_SIZE {
        return Err(EVMC_OUT_OF_GAS);
    }
    let word_cost = if opcode == op::CREATE2 {
        KECCAK_WORD_COST
    } else {
        0
    } + if f.rev >= SHANGHAI {
        INITCODE_WORD_COST
    } else {
        0
    };
    f.charge(num_words(size as u64) as i64 * word_cost)?;

    let mut gas = f.gas_left;
    if f.rev >= TANGERINE_WHISTLE {
        gas -= gas / 64;
    }
    if let Some(observer) = f.observer {
        observer.before_nested(f, gas);
    }
    f.return_data.clear();
    if f.msg.depth() >= CALL_DEPTH_LIMIT || value_exceeds_balance(f, &endowment) {
        return Ok(());
    }
    let (input_data, input_size) = match init {
        Some((o, s)) => (f.memory.slice(o, s).as_ptr(), s),
        None => (std::ptr::null(), 0),
    };
    let msg = evmc_message {
        kind: if opcode == op::CREATE2 {
            EVMC_CREATE2
        } else {
            EVMC_CREATE
        },
        flags: 0,
        depth: f.msg.depth() + 1,
        gas,
        recipient: Address::default(),
        sender: *f.msg.recipient(),
        input_data,
        input_size,
        value: u256_to_bytes32(endowment),
        create2_salt: u256_to_bytes32(salt),
        code_address: Address::default(),
        code: std::ptr::null(),
        code_size: 0,
    };
    let result = f.host.call(&msg);
    // A nested VM failure (dtvm's native stack guard, or the host's own) is not an EVM outcome:
    // it ends this frame too, so it reaches the host's top level instead of passing for a failed
    // call that a host might commit.
    if result.status_code == EVMC_INTERNAL_ERROR {
        return Err(EVMC_INTERNAL_ERROR);
    }
    f.gas_left -= gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    if result.status_code == EVMC_SUCCESS {
        *f.top() = address_to_u256(&result.create_address.unwrap_or_default());
    } else if result.status_code == EVMC_REVERT {
        f.return_data = result.output;
    }
    Ok(())
}
