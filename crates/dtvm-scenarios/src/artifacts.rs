//! The published contract artifacts, read at run time from `../shared/fixtures/contracts`
//! (beside the project, as the state-test fixtures are; never copied into the repository).
//! `DTVM_CONTRACTS` overrides the location.
use alloy_primitives::Bytes;
use std::path::{Path, PathBuf};

/// Init code of each contract the scenarios deploy or derive addresses from.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// Uniswap v2-core's test token: `constructor(uint256 totalSupply)` mints it to the deployer.
    pub erc20: Bytes,
    /// `UniswapV2Factory(address feeToSetter)`.
    pub v2_factory: Bytes,
    /// Deployed by the factory with CREATE2; the scenario checks the address against it.
    pub v2_pair: Bytes,
    /// `UniswapV3Factory()`: enables fees 500, 3000 and 10000.
    pub v3_factory: Bytes,
    /// Deployed by the factory with CREATE2; the scenario checks the address against it.
    pub v3_pool: Bytes,
}

const REL: &str = "shared/fixtures/contracts";

/// The contracts directory: `DTVM_CONTRACTS`, else `../shared/fixtures/contracts` seen from the
/// project root (see [`find_beside_project`]).
pub fn contracts_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("DTVM_CONTRACTS") {
        return Ok(PathBuf::from(dir));
    }
    find_beside_project(Path::new(REL))
        .ok_or_else(|| format!("cannot find ../{REL} (the Uniswap artifacts); set DTVM_CONTRACTS"))
}

/// A directory `rel` (such as `shared/fixtures/contracts`) beside the project (`../rel` from
/// the project root, the layout CI and the worktrees share), looked up from the working
/// directory and from this crate's directory upwards.
pub fn find_beside_project(rel: &Path) -> Option<PathBuf> {
    let mut starts = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for start in &starts {
        for dir in start.ancestors() {
            for candidate in [dir.join("..").join(rel), dir.join(rel)] {
                if candidate.is_dir() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

/// The `bytecode` (init code) field of one artifact; both the waffle (v2, bare hex) and the
/// hardhat (v3, `0x` hex) layouts keep it at the top level.
fn initcode(path: &Path) -> Result<Bytes, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let hex = json
        .get("bytecode")
        .and_then(|b| b.as_str())
        .ok_or_else(|| format!("{}: no `bytecode` string", path.display()))?;
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    let code =
        alloy_primitives::hex::decode(hex).map_err(|e| format!("{}: {e}", path.display()))?;
    if code.is_empty() {
        return Err(format!("{}: empty bytecode", path.display()));
    }
    Ok(Bytes::from(code))
}

impl Artifacts {
    /// Loads the artifacts from the contracts directory `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let v2 = dir.join("uniswap-v2-core-1.0.1");
        let v3 = dir.join("uniswap-v3-core-1.0.1");
        Ok(Self {
            erc20: initcode(&v2.join("ERC20.json"))?,
            v2_factory: initcode(&v2.join("UniswapV2Factory.json"))?,
            v2_pair: initcode(&v2.join("UniswapV2Pair.json"))?,
            v3_factory: initcode(&v3.join("UniswapV3Factory.json"))?,
            v3_pool: initcode(&v3.join("UniswapV3Pool.json"))?,
        })
    }

    /// Loads from [`contracts_dir`].
    pub fn find() -> Result<Self, String> {
        Self::load(&contracts_dir()?)
    }
}
