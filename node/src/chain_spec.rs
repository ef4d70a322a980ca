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

/// The single-validator development chain (`--dev`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("Provena Development")
        .with_id("provena_dev")
        .with_protocol_id("provena-dev")
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
        .with_properties(properties())
        .build())
}

/// The three-validator local testnet (Alice, Bob, Charlie).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("Provena Local Testnet")
        .with_id("provena_local_testnet")
        .with_protocol_id("provena-local")
        .with_chain_type(ChainType::Local)
        .with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
        .with_properties(properties())
        .build())
}

/// The template of a public network (`testnet` preset: no sudo, six-hour eras, placeholder
/// validators to replace; README, "Launching a new public network").
pub fn testnet_chain_spec() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("Provena Testnet")
        .with_id("provena_testnet")
        .with_protocol_id("provena-testnet")
        .with_chain_type(ChainType::Live)
        .with_genesis_config_preset_name(TESTNET_RUNTIME_PRESET)
        .with_properties(properties())
        .build())
}
