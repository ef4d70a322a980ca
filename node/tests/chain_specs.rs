//! The committed chain specs in `chain-specs/` must match what the runtime's presets produce.
//!
//! Regenerate them after changing a preset with:
//! ```text
//! provena-node export-chain-spec --chain local --output chain-specs/local_testnet.json
//! provena-node export-chain-spec --chain local --raw --output chain-specs/local_testnet.raw.json
//! ```
//!
//! The runtime code blob itself is left out of the comparison: the WASM embeds the absolute
//! path of the checkout it was built in (in panic locations), so two identical sources built in
//! different directories differ there. The test checks instead that the committed spec carries a
//! compressed WASM runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use serde_json::Value;

const NODE_BIN: &str = env!("CARGO_BIN_EXE_provena-node");
/// `:code`, the well-known storage key of the runtime WASM.
const CODE_KEY: &str = "0x3a636f6465";
/// Magic prefix of a zstd-compressed WASM blob (`sp-maybe-compressed-blob`).
const COMPRESSED_WASM_MAGIC: &str = "0x52bc537646db8e05";

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chain-specs")
}

fn exported(raw: bool) -> Value {
    let mut cmd = Command::new(NODE_BIN);
    cmd.args(["export-chain-spec", "--chain", "local"]);
    if raw {
        cmd.arg("--raw");
    }
    let out = cmd.output().expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the node prints JSON")
}

fn committed(name: &str) -> Value {
    let path = spec_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see this file's docs to regenerate)", path.display()));
    serde_json::from_str(&text).expect("committed spec is JSON")
}

/// Removes the runtime code from a spec and returns it.
fn take_code(spec: &mut Value) -> String {
    let code = if let Some(top) = spec.pointer_mut("/genesis/raw/top") {
        top.as_object_mut().unwrap().remove(CODE_KEY)
    } else {
        spec.pointer_mut("/genesis/runtimeGenesis").unwrap().as_object_mut().unwrap().remove("code")
    };
    code.and_then(|c| c.as_str().map(str::to_owned)).expect("the spec carries runtime code")
}

fn check(name: &str, raw: bool) {
    let mut want = exported(raw);
    let mut have = committed(name);
    take_code(&mut want);
    let code = take_code(&mut have);
    assert!(code.starts_with(COMPRESSED_WASM_MAGIC), "{name}: the code is not a compressed WASM");
    assert!(
		want == have,
		"chain-specs/{name} drifted from the runtime presets; regenerate it (see tests/chain_specs.rs)"
	);
}

#[test]
fn local_testnet_plain_spec_matches_the_presets() {
    check("local_testnet.json", false);
}

#[test]
fn local_testnet_raw_spec_matches_the_presets() {
    check("local_testnet.raw.json", true);
}

#[test]
fn committed_local_testnet_has_three_validators_and_open_properties() {
    let spec = committed("local_testnet.json");
    assert_eq!(spec["properties"]["tokenSymbol"], "OPEN");
    assert_eq!(spec["properties"]["tokenDecimals"], 18);
    let aura = &spec["genesis"]["runtimeGenesis"]["patch"]["aura"]["authorities"];
    assert_eq!(aura.as_array().map(Vec::len), Some(3));
}
