//! The committed chain specs in `chain-specs/` must match what the runtime's presets produce.
//!
//! Regenerate them after changing a preset or the runtime with:
//! ```text
//! provena-node export-chain-spec --chain local --output chain-specs/local_testnet.json
//! provena-node export-chain-spec --chain local --raw --output chain-specs/local_testnet.raw.json
//! ```
//!
//! The comparison includes the runtime code: the committed `:code` must be byte for byte the
//! runtime this checkout builds (the node's build has no features, so that is the production
//! runtime; the WASM build remaps local paths, so any clone builds the same blob, see
//! `runtime/build.rs`), and it must not import any benchmarking host function, which a node
//! built without `runtime-benchmarks` cannot provide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use serde_json::Value;

const NODE_BIN: &str = env!("CARGO_BIN_EXE_provena-node");
/// `:code`, the well-known storage key of the runtime WASM.
const CODE_KEY: &str = "0x3a636f6465";
/// Magic prefix of a zstd-compressed WASM blob (`sp-maybe-compressed-blob`).
const COMPRESSED_WASM_MAGIC: &str = "0x52bc537646db8e05";
/// A runtime blob is at most this large once decompressed (the node's own limit is 64 MiB).
const CODE_BOMB_LIMIT: usize = 64 << 20;

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

/// The functions a runtime blob (compressed or not) imports from the host.
fn host_imports(code: &[u8]) -> Result<Vec<String>, String> {
    let wasm = polkadot_sdk::sp_maybe_compressed_blob::decompress(code, CODE_BOMB_LIMIT)
        .map_err(|e| format!("not a runtime blob: {e}"))?;
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        if let wasmparser::Payload::ImportSection(imports) =
            payload.map_err(|e| format!("not WASM: {e}"))?
        {
            for import in imports {
                names.push(import.map_err(|e| format!("bad import: {e}"))?.name.to_owned());
            }
        }
    }
    Ok(names)
}

/// Refuses a runtime that imports benchmarking host functions (a `runtime-benchmarks` build).
fn check_production(code: &[u8]) -> Result<(), String> {
    let imports = host_imports(code)?;
    let benchmarking: Vec<_> =
        imports.iter().filter(|name| name.starts_with("ext_benchmarking_")).collect();
    if !benchmarking.is_empty() {
        return Err(format!(
            "the runtime was built with `runtime-benchmarks` (it imports {benchmarking:?}); a \
             production node cannot run it"
        ));
    }
    if !imports.iter().any(|name| name.starts_with("ext_storage_get")) {
        return Err("the blob imports no storage host function: not a runtime".into());
    }
    Ok(())
}

fn hex_bytes(code: &str) -> Vec<u8> {
    hex::decode(code.trim_start_matches("0x")).expect("the code is hex")
}

fn check(name: &str, raw: bool) {
    let mut want = exported(raw);
    let mut have = committed(name);
    let built = take_code(&mut want);
    let code = take_code(&mut have);
    assert!(code.starts_with(COMPRESSED_WASM_MAGIC), "{name}: the code is not a compressed WASM");
    if let Err(e) = check_production(&hex_bytes(&code)) {
        panic!("chain-specs/{name}: {e}");
    }
    assert!(
        code == built,
        "chain-specs/{name}: the runtime code differs from the runtime this checkout builds \
         ({} vs {} hex digits); regenerate it (see tests/chain_specs.rs)",
        code.len(),
        built.len()
    );
    assert!(
		want == have,
		"chain-specs/{name} drifted from the runtime presets; regenerate it (see tests/chain_specs.rs)"
	);
}

/// A minimal WASM module importing `env.<name>: () -> i64`.
fn module_importing(name: &str) -> Vec<u8> {
    let mut import = vec![1u8, 0x03];
    import.extend_from_slice(b"env");
    import.push(u8::try_from(name.len()).unwrap());
    import.extend_from_slice(name.as_bytes());
    import.extend_from_slice(&[0x00, 0x00]);
    let mut wasm = b"\0asm".to_vec();
    wasm.extend_from_slice(&[1, 0, 0, 0]);
    wasm.extend_from_slice(&[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7e]);
    wasm.push(0x02);
    wasm.push(u8::try_from(import.len()).unwrap());
    wasm.extend_from_slice(&import);
    wasm
}

#[test]
fn a_benchmarking_runtime_is_refused() {
    // Compressed as runtime blobs are in chain specs, importing what a benchmarking runtime
    // imports next to the standard host functions.
    for imported in
        ["ext_benchmarking_current_time_version_1", "ext_benchmarking_wipe_db_version_1"]
    {
        let blob = polkadot_sdk::sp_maybe_compressed_blob::compress_strongly(
            &module_importing(imported),
            CODE_BOMB_LIMIT,
        )
        .unwrap();
        let err = check_production(&blob).unwrap_err();
        assert!(err.contains("runtime-benchmarks") && err.contains(imported), "{err}");
    }
    assert!(check_production(&module_importing("ext_storage_get_version_1")).is_ok());
    assert!(check_production(b"not wasm").is_err());
}

#[test]
fn this_checkout_builds_a_production_runtime() {
    let code = provena_runtime::WASM_BINARY.expect("built with the WASM runtime");
    check_production(code).unwrap();
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
    let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
    assert_eq!(patch["session"]["keys"].as_array().map(Vec::len), Some(3));
    assert_eq!(patch["staking"]["stakers"].as_array().map(Vec::len), Some(3));
}
