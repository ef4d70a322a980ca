//! The committed chain specs in `chain-specs/` must match what the runtime's presets produce.
//!
//! Regenerate them after changing a preset or the runtime with:
//! ```text
//! provena-node export-chain-spec --chain local --output chain-specs/local_testnet.json
//! provena-node export-chain-spec --chain local --raw --output chain-specs/local_testnet.raw.json
//! ```
//!
//! The comparison includes the runtime code: the committed `:code` must be the runtime this
//! checkout builds (the node's build has no features, so that is the production runtime), and it
//! must not import any benchmarking host function, which a node built without
//! `runtime-benchmarks` cannot provide.
//!
//! Two builds of the same source are byte-identical only when the checkout sits at the same
//! absolute path: the runtime's WASM is compiled by a nested cargo whose workspace is inside the
//! target directory, so cargo hashes the checkout's own crates by absolute path into their symbol
//! names, which changes the name section and the data layout (a clone at `/tmp/coldci` built a
//! blob 1,122 bytes larger). `runtime/build.rs` remaps the paths rustc would embed, but not these
//! hashes. So the code is compared byte for byte when the bytes match, and otherwise by what a
//! build from another path cannot change: the embedded runtime version and runtime API list
//! (the `runtime_version` section and the set of `runtime_apis` entries, which the linker orders
//! by symbol), the imported host functions and the
//! exported entry points. A fixed-path (srtool-style) build is what would make bytes the rule.
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

/// Named sections, imports, exports.
type BuildSignature = (Vec<(String, Vec<u8>)>, Vec<String>, Vec<String>);

/// What a runtime build from another directory cannot change: the `runtime_version` and
/// `runtime_apis` sections, the imported host functions and the exported entry points.
fn build_signature(code: &[u8]) -> BuildSignature {
    let wasm = polkadot_sdk::sp_maybe_compressed_blob::decompress(code, CODE_BOMB_LIMIT)
        .expect("a runtime blob");
    let (mut sections, mut imports, mut exports) = (Vec::new(), Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload.expect("WASM") {
            wasmparser::Payload::CustomSection(section)
                if matches!(section.name(), "runtime_version" | "runtime_apis") =>
            {
                // The linker orders `runtime_apis` entries (API id, version: 12 bytes each) by
                // symbol, so they are compared as a set.
                let mut data = section.data().to_vec();
                if section.name() == "runtime_apis" {
                    let mut entries: Vec<&[u8]> = section.data().chunks(12).collect();
                    entries.sort();
                    data = entries.concat();
                }
                sections.push((section.name().to_owned(), data));
            }
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.expect("import");
                    imports.push(format!("{}.{}", import.module, import.name));
                }
            }
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    exports.push(export.expect("export").name.to_owned());
                }
            }
            _ => {}
        }
    }
    assert_eq!(sections.len(), 2, "the blob carries its runtime version and API list");
    sections.sort();
    imports.sort();
    exports.sort();
    (sections, imports, exports)
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
    if code != built {
        let (have_sig, want_sig) =
            (build_signature(&hex_bytes(&code)), build_signature(&hex_bytes(&built)));
        assert!(
            have_sig == want_sig,
            "chain-specs/{name}: the runtime code differs from the runtime this checkout builds \
             (version, runtime APIs, host imports or entry points); regenerate it (see \
             tests/e2e/chain_specs.rs)"
        );
    }
    assert!(
		want == have,
		"chain-specs/{name} drifted from the runtime presets; regenerate it (see tests/e2e/chain_specs.rs)"
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
