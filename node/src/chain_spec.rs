//! Chain specifications: `dev`, `local` and `testnet` are built from the runtime's genesis presets;
//! anything else is a path to a JSON chain spec (such as the committed
//! `chain-specs/local_testnet.raw.json`).

use polkadot_sdk::{sc_chain_spec::ChainType, sc_service, sp_genesis_builder};
use provena_primitives::{currency, SS58_PREFIX};
use provena_runtime::{
    genesis_config_presets::{LOCAL_TESTNET_RUNTIME_PRESET, TESTNET_RUNTIME_PRESET},
    WASM_BINARY,
};
use serde_json::json;

/// A chain spec of this node (no extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token metadata shown by wallets (Polkadot.js reads `tokenSymbol`, `tokenDecimals`, `ss58Format`).
fn properties() -> sc_service::Properties {
    let value = json!({
        "tokenSymbol": currency::SYMBOL,
        "tokenDecimals": currency::DECIMALS,
        "ss58Format": SS58_PREFIX,
    });
    match value {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a json! object literal is an object; qed"),
    }
}

fn wasm() -> Result<&'static [u8], String> {
    WASM_BINARY.ok_or_else(|| {
        "The runtime WASM was not built (SKIP_WASM_BUILD was set?); rebuild without it".to_string()
    })
}

/// A chain spec of this node's runtime from one of its genesis presets.
fn from_preset(
    name: &str,
    id: &str,
    protocol_id: &str,
    chain_type: ChainType,
    preset: &str,
) -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name(name)
        .with_id(id)
        .with_protocol_id(protocol_id)
        .with_chain_type(chain_type)
        .with_genesis_config_preset_name(preset)
        .with_properties(properties())
        .build())
}

/// The single-validator development chain (`--dev`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
    from_preset(
        "Provena Development",
        "provena_dev",
        "provena-dev",
        ChainType::Development,
        sp_genesis_builder::DEV_RUNTIME_PRESET,
    )
}

/// The three-validator local testnet (Alice, Bob, Charlie).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
    from_preset(
        "Provena Local Testnet",
        "provena_local_testnet",
        "provena-local",
        ChainType::Local,
        LOCAL_TESTNET_RUNTIME_PRESET,
    )
}

/// The template of a public network (`testnet` preset: no sudo, six-hour eras, placeholder
/// validators to replace; README, "Launching a new public network").
pub fn testnet_chain_spec() -> Result<ChainSpec, String> {
    from_preset(
        "Provena Testnet",
        "provena_testnet",
        "provena-testnet",
        ChainType::Live,
        TESTNET_RUNTIME_PRESET,
    )
}
