//! The scenario scripts. Each is a chain of transactions from a genesis of funded accounts; every
//! transaction runs on revm (the reference) as it is added, so later steps can use earlier
//! results (the pair and pool addresses, reserves), and each becomes a [`Step`]: its pre-state,
//! its transaction and revm's result. Every step must end in revm as its script says (success,
//! or the revert reason it names); a script that does not is a bug here, reported as an error.
//!
//! * `uniswap_v2`: two test ERC-20s and the V2 factory; `createPair`; liquidity twice (transfer
//!   both tokens to the pair, `mint`); a swap each way (transfer in, `swap` with empty data);
//!   a swap without input, which reverts (`INSUFFICIENT_INPUT_AMOUNT`);
//!   ERC-20 transfers to a new and an existing holder, `approve`, `transferFrom`; liquidity
//!   removal (LP tokens to the pair, `burn`).
//! * `uniswap_v3`: two tokens, the V3 factory and the [`crate::router`]; `createPool` (fee 3000,
//!   tick spacing 60), `initialize` at price 1; a wide ([-1200, 1200]) and a narrow ([-120, 120])
//!   position minted through the router's callback; a small swap inside the narrow range, then
//!   swaps each way that cross the narrow position's ticks (checked from the `Swap` event); a
//!   swap with its price limit on the wrong side, which reverts with `SPL` through the router.
use crate::abi::{self, addr, boolean, bytes, int, uint, uint_u64};
use crate::artifacts::Artifacts;
use crate::{reference, router, transaction, Observed, Status};
use alloy_primitives::{keccak256, Address, Bytes, U256};
use dtvm_state::state::WorldState;
use dtvm_state::transaction::Transaction;

/// A deploy runs init code once by nature; a call can be repeated on the same pre-state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A creation transaction: the timing that matters is its first (cold) run.
    Deploy,
    /// A call: timed cold and in steady state.
    Call,
}

/// One transaction of a scenario with the state it runs on and revm's result. The steps before
/// it in its scenario are its setup; `pre` is their result (revm's, which every mode must
/// reproduce step by step).
#[derive(Clone, Debug)]
pub struct Step {
    /// `<scenario>/<nn>_<label>`, unique.
    pub name: String,
    /// Deploy or call.
    pub kind: Kind,
    /// The committed state the transaction runs on.
    pub pre: WorldState,
    /// The transaction, from [`crate::transaction`].
    pub tx: Transaction,
    /// revm's result: what every engine must produce.
    pub expected: Observed,
}

/// A script's steps in order.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `uniswap_v2` or `uniswap_v3`: the prefix of its steps' names and its fixture file name.
    pub name: &'static str,
    /// The transactions, each on the post-state of the one before.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The step whose name ends with `label`.
    pub fn step(&self, label: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name.ends_with(label))
    }
}

/// The deployer and trader.
pub const USER: Address = Address::repeat_byte(0x11);
/// Receives tokens from [`USER`], then spends [`USER`]'s allowance.
pub const SPENDER: Address = Address::repeat_byte(0x22);
/// Appears only as a token holder (the `transferFrom` recipient).
pub const RECIPIENT: Address = Address::repeat_byte(0x33);

fn pow10(n: u64) -> U256 {
    U256::from(10).pow(U256::from(n))
}

struct Chain {
    name: &'static str,
    world: WorldState,
    steps: Vec<Step>,
}

impl Chain {
    fn new(name: &'static str, funded: &[Address]) -> Self {
        let mut world = WorldState::default();
        for a in funded {
            world.accounts.insert(*a, reference::eoa(pow10(24)));
        }
        Self {
            name,
            world,
            steps: Vec::new(),
        }
    }

    fn tx(&self, from: Address, to: Option<Address>, data: Vec<u8>) -> Transaction {
        let nonce = self.world.get(&from).map_or(0, |a| a.nonce);
        transaction(from, nonce, to, data)
    }

    /// Adds a transaction that must end with `status` in revm.
    fn send_expecting(
        &mut self,
        status: Status,
        label: &str,
        from: Address,
        to: Option<Address>,
        data: Vec<u8>,
    ) -> Result<&Observed, String> {
        let tx = self.tx(from, to, data);
        let name = format!("{}/{:02}_{label}", self.name, self.steps.len() + 1);
        let expected = reference::run(&self.world, &tx).map_err(|e| format!("{name}: {e}"))?;
        if expected.status != status {
            return Err(format!(
                "{name}: {:?} in revm, expected {status:?} (output {})",
                expected.status, expected.output
            ));
        }
        let pre = std::mem::replace(&mut self.world, expected.post.clone());
        let kind = if to.is_none() {
            Kind::Deploy
        } else {
            Kind::Call
        };
        self.steps.push(Step {
            name,
            kind,
            pre,
            tx,
            expected,
        });
        Ok(&self.steps.last().expect("just pushed").expected)
    }

    fn send(
        &mut self,
        label: &str,
        from: Address,
        to: Option<Address>,
        data: Vec<u8>,
    ) -> Result<&Observed, String> {
        self.send_expecting(Status::Success, label, from, to, data)
    }

    /// A call that must revert with `Error(reason)`: the failure path of a real contract (the
    /// nonce and the gas are still spent, the revert data is the output).
    fn call_reverting(
        &mut self,
        label: &str,
        to: Address,
        data: Vec<u8>,
        reason: &str,
    ) -> Result<(), String> {
        let name = self.name;
        let o = self.send_expecting(Status::Revert, label, USER, Some(to), data)?;
        let error = abi::call("Error(string)", &[bytes(reason.as_bytes())]);
        if o.output.as_ref() != error.as_slice() {
            return Err(format!(
                "{name}/{label}: reverted with {}, expected Error({reason:?})",
                o.output
            ));
        }
        Ok(())
    }

    fn deploy(&mut self, label: &str, from: Address, initcode: Vec<u8>) -> Result<Address, String> {
        let nonce = self.world.get(&from).map_or(0, |a| a.nonce);
        let created = from.create(nonce);
        self.send(label, from, None, initcode)?;
        match self.world.get(&created) {
            Some(a) if !a.code.is_empty() => Ok(created),
            _ => Err(format!("{}/{label}: no code at {created}", self.name)),
        }
    }

    fn call(
        &mut self,
        label: &str,
        from: Address,
        to: Address,
        data: Vec<u8>,
    ) -> Result<Bytes, String> {
        Ok(self.send(label, from, Some(to), data)?.output.clone())
    }

    /// A read through revm on the current state; not a step.
    fn view(&self, to: Address, data: Vec<u8>) -> Result<Bytes, String> {
        let o = reference::run(&self.world, &self.tx(USER, Some(to), data))?;
        match o.status {
            Status::Success => Ok(o.output),
            s => Err(format!("{}: view of {to} ended {s:?}", self.name)),
        }
    }

    fn finish(self) -> Scenario {
        Scenario {
            name: self.name,
            steps: self.steps,
        }
    }
}

fn with_args(initcode: &Bytes, args: &[abi::Arg]) -> Vec<u8> {
    let mut code = initcode.to_vec();
    code.extend_from_slice(&abi::encode_args(args));
    code
}

fn sorted(a: Address, b: Address) -> (Address, Address) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

fn word(output: &[u8], n: usize, what: &str) -> Result<U256, String> {
    abi::word_at(output, n).ok_or_else(|| format!("{what}: short output"))
}

const TRANSFER: &str = "transfer(address,uint256)";

/// Uniswap V2's `getAmountOut`: the output for `amount_in` after the 0.3% fee.
fn v2_amount_out(amount_in: U256, reserve_in: U256, reserve_out: U256) -> U256 {
    let with_fee = amount_in * U256::from(997);
    with_fee * reserve_out / (reserve_in * U256::from(1000) + with_fee)
}

/// The V2 script (see the module docs).
pub fn uniswap_v2(a: &Artifacts) -> Result<Scenario, String> {
    let mut c = Chain::new("uniswap_v2", &[USER, SPENDER]);
    let supply = [uint(pow10(30))];
    let token_a = c.deploy("deploy_token_a", USER, with_args(&a.erc20, &supply))?;
    let token_b = c.deploy("deploy_token_b", USER, with_args(&a.erc20, &supply))?;
    let factory = c.deploy(
        "deploy_factory",
        USER,
        with_args(&a.v2_factory, &[addr(USER)]),
    )?;

    let created = c.call(
        "create_pair",
        USER,
        factory,
        abi::call(
            "createPair(address,address)",
            &[addr(token_a), addr(token_b)],
        ),
    )?;
    let pair = abi::address_at(&created, 0).ok_or("createPair: short output")?;
    // The factory's salt: keccak256(abi.encodePacked(token0, token1)).
    let (token0, token1) = sorted(token_a, token_b);
    let salt = keccak256([token0.as_slice(), token1.as_slice()].concat());
    let predicted = factory.create2(salt, keccak256(&a.v2_pair));
    if pair != predicted {
        return Err(format!(
            "createPair returned {pair}, CREATE2 of UniswapV2Pair is {predicted}"
        ));
    }

    let mint = abi::call("mint(address)", &[addr(USER)]);
    for (round, (amount_a, amount_b)) in [
        (pow10(21), pow10(21) * U256::from(4)),
        (pow10(20), pow10(20) * U256::from(4)),
    ]
    .into_iter()
    .enumerate()
    {
        let suffix = if round == 0 { "first" } else { "second" };
        c.call(
            &format!("transfer_a_to_pair_{suffix}"),
            USER,
            token_a,
            abi::call(TRANSFER, &[addr(pair), uint(amount_a)]),
        )?;
        c.call(
            &format!("transfer_b_to_pair_{suffix}"),
            USER,
            token_b,
            abi::call(TRANSFER, &[addr(pair), uint(amount_b)]),
        )?;
        c.call(&format!("mint_{suffix}"), USER, pair, mint.clone())?;
    }

    for (label, token_in, amount_in) in [
        ("a_for_b", token_a, pow10(18)),
        ("b_for_a", token_b, pow10(18) * U256::from(3)),
    ] {
        let reserves = c.view(pair, abi::call("getReserves()", &[]))?;
        let (r0, r1) = (
            word(&reserves, 0, "getReserves")?,
            word(&reserves, 1, "getReserves")?,
        );
        let zero_in = token_in == token0;
        let (r_in, r_out) = if zero_in { (r0, r1) } else { (r1, r0) };
        let out = v2_amount_out(amount_in, r_in, r_out);
        let (out0, out1) = if zero_in {
            (U256::ZERO, out)
        } else {
            (out, U256::ZERO)
        };
        c.call(
            &format!("swap_{label}_transfer_in"),
            USER,
            token_in,
            abi::call(TRANSFER, &[addr(pair), uint(amount_in)]),
        )?;
        c.call(
            &format!("swap_{label}"),
            USER,
            pair,
            abi::call(
                "swap(uint256,uint256,address,bytes)",
                &[uint(out0), uint(out1), addr(USER), bytes(&[])],
            ),
        )?;
    }

    c.call_reverting(
        "swap_without_input_reverts",
        pair,
        abi::call(
            "swap(uint256,uint256,address,bytes)",
            &[uint_u64(0), uint(pow10(15)), addr(USER), bytes(&[])],
        ),
        "UniswapV2: INSUFFICIENT_INPUT_AMOUNT",
    )?;
    c.call(
        "erc20_transfer_new_holder",
        USER,
        token_a,
        abi::call(TRANSFER, &[addr(SPENDER), uint(pow10(18) * U256::from(5))]),
    )?;
    c.call(
        "erc20_transfer_existing_holder",
        USER,
        token_a,
        abi::call(TRANSFER, &[addr(SPENDER), uint(pow10(18))]),
    )?;
    c.call(
        "erc20_approve",
        USER,
        token_a,
        abi::call(
            "approve(address,uint256)",
            &[addr(SPENDER), uint(pow10(20))],
        ),
    )?;
    c.call(
        "erc20_transfer_from",
        SPENDER,
        token_a,
        abi::call(
            "transferFrom(address,address,uint256)",
            &[addr(USER), addr(RECIPIENT), uint(pow10(18) * U256::from(2))],
        ),
    )?;

    let lp = c.view(pair, abi::call("balanceOf(address)", &[addr(USER)]))?;
    let half = word(&lp, 0, "balanceOf")? / U256::from(2);
    c.call(
        "transfer_lp_to_pair",
        USER,
        pair,
        abi::call(TRANSFER, &[addr(pair), uint(half)]),
    )?;
    c.call(
        "burn",
        USER,
        pair,
        abi::call("burn(address)", &[addr(USER)]),
    )?;
    Ok(c.finish())
}

/// `TickMath.MIN_SQRT_RATIO + 1` and `MAX_SQRT_RATIO - 1`: swap price limits that never bind.
fn sqrt_limits() -> (U256, U256) {
    let min = U256::from(4_295_128_739u64) + U256::from(1);
    let max: U256 = "1461446703485210103287273052203988822378723970342"
        .parse()
        .expect("constant");
    (min, max - U256::from(1))
}

/// The tick in the last `Swap` event of `pool`.
fn swap_tick(o: &Observed, pool: Address) -> Result<i128, String> {
    let topic = keccak256("Swap(address,address,int256,int256,uint160,uint128,int24)");
    let log = o
        .logs
        .iter()
        .rev()
        .find(|l| l.address == pool && l.topics.first() == Some(&topic))
        .ok_or("no Swap event")?;
    abi::int_at(&log.data, 4).ok_or_else(|| "Swap event: short data".into())
}

/// The V3 script (see the module docs).
pub fn uniswap_v3(a: &Artifacts) -> Result<Scenario, String> {
    let mut c = Chain::new("uniswap_v3", &[USER]);
    let supply = [uint(pow10(30))];
    let token_a = c.deploy("deploy_token_a", USER, with_args(&a.erc20, &supply))?;
    let token_b = c.deploy("deploy_token_b", USER, with_args(&a.erc20, &supply))?;
    let factory = c.deploy("deploy_factory", USER, a.v3_factory.to_vec())?;
    let router = c.deploy("deploy_router", USER, router::initcode(&router::runtime()))?;
    for (label, token) in [("fund_router_a", token_a), ("fund_router_b", token_b)] {
        c.call(
            label,
            USER,
            token,
            abi::call(TRANSFER, &[addr(router), uint(pow10(24))]),
        )?;
    }

    const FEE: u64 = 3000;
    let created = c.call(
        "create_pool",
        USER,
        factory,
        abi::call(
            "createPool(address,address,uint24)",
            &[addr(token_a), addr(token_b), uint_u64(FEE)],
        ),
    )?;
    let pool = abi::address_at(&created, 0).ok_or("createPool: short output")?;
    let (token0, token1) = sorted(token_a, token_b);
    let salt = keccak256(abi::encode_args(&[
        addr(token0),
        addr(token1),
        uint_u64(FEE),
    ]));
    let predicted = factory.create2(salt, keccak256(&a.v3_pool));
    if pool != predicted {
        return Err(format!(
            "createPool returned {pool}, CREATE2 of UniswapV3Pool is {predicted}"
        ));
    }
    // sqrtPriceX96 = 2^96: price 1, tick 0.
    c.call(
        "initialize",
        USER,
        pool,
        abi::call("initialize(uint160)", &[uint(U256::from(1) << 96)]),
    )?;

    // Through the router: word(pool) ++ the pool call; callback data = abi.encode(token0, token1).
    let data = abi::encode_args(&[addr(token0), addr(token1)]);
    let via_router = |call: Vec<u8>| [abi::encode_args(&[addr(pool)]), call].concat();
    for (label, lower, upper) in [("mint_wide", -1200, 1200), ("mint_narrow", -120, 120)] {
        let mint = abi::call(
            "mint(address,int24,int24,uint128,bytes)",
            &[
                addr(router),
                int(lower),
                int(upper),
                uint(pow10(21)),
                bytes(&data),
            ],
        );
        c.call(label, USER, router, via_router(mint))?;
    }

    let (min_limit, max_limit) = sqrt_limits();
    let swap_with_limit = |zero_for_one: bool, amount_in: U256, limit: U256| {
        via_router(abi::call(
            "swap(address,bool,int256,uint160,bytes)",
            &[
                addr(router),
                boolean(zero_for_one),
                uint(amount_in),
                uint(limit),
                bytes(&data),
            ],
        ))
    };
    let swap = |zero_for_one: bool, amount_in: U256| {
        let limit = if zero_for_one { min_limit } else { max_limit };
        swap_with_limit(zero_for_one, amount_in, limit)
    };
    c.call("swap_small_in_range", USER, router, swap(true, pow10(15)))?;
    // Liquidity 2e21 in [-120, 120] takes ~1.2e19 of token0 to reach tick -120, so 2e19 crosses
    // it; 4e19 of token1 goes back up through -120 and past 120.
    let crossing = [
        ("swap_0_for_1_across_ticks", true, 2, -121),
        ("swap_1_for_0_across_ticks", false, 4, 120),
    ];
    for (label, zero_for_one, amount, past) in crossing {
        let amount_in = pow10(19) * U256::from(amount);
        c.call(label, USER, router, swap(zero_for_one, amount_in))?;
        let tick = swap_tick(&c.steps.last().expect("a step").expected, pool)?;
        let crossed = if zero_for_one {
            tick <= past
        } else {
            tick >= past
        };
        if !crossed {
            return Err(format!("{label} ended at tick {tick}, short of {past}"));
        }
    }
    // A price limit on the wrong side of the current price: the pool reverts with "SPL" and the
    // router passes the revert data on.
    c.call_reverting(
        "swap_past_price_limit_reverts",
        router,
        swap_with_limit(true, pow10(15), max_limit),
        "SPL",
    )?;
    Ok(c.finish())
}

/// Every scenario, built on revm from the artifacts in [`crate::artifacts::contracts_dir`].
pub fn build_all() -> Result<Vec<Scenario>, String> {
    let a = Artifacts::find()?;
    Ok(vec![uniswap_v2(&a)?, uniswap_v3(&a)?])
}

/// The deploy steps (init code runs once by nature), apart from the calls a bench repeats.
pub fn deploys(scenarios: &[Scenario]) -> impl Iterator<Item = &Step> {
    scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| s.kind == Kind::Deploy)
}

/// The call steps: re-runnable from their pre-state, the steady-state cases.
pub fn calls(scenarios: &[Scenario]) -> impl Iterator<Item = &Step> {
    scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| s.kind == Kind::Call)
}
