//! Builds the runtime's WASM blob (`WASM_BINARY`), and, when `PROVENA_UPGRADE_RUNTIME` is set
//! (`.ci/run` sets it), a second blob from the same sources with the `upgrade-test` feature: the
//! same runtime one `spec_version` higher, which the multi-node test enacts through a referendum
//! (`upgrade_test::WASM_BINARY`; `None` in builds without it).
//!
//! The paths rustc would embed in the blob (panic locations) are remapped to fixed prefixes, so
//! the cargo home, the checkout and the target directory do not appear in it. The blob is still
//! not byte-identical across checkout paths: the nested WASM cargo hashes the checkout's crates
//! by absolute path into symbol names (see the node's `chain_specs` test, which compares what a
//! path cannot change). The outer profile does not change it: `.cargo/config.toml` pins
//! `WASM_BUILD_TYPE=release`, so `--profile production` nodes embed the same blob.

fn main() {
    #[cfg(feature = "std")]
    {
        let remap = |mut builder: substrate_wasm_builder::WasmBuilder| {
            for (from, to) in remapped_paths() {
                builder = builder.append_to_rust_flags(format!("--remap-path-prefix={from}={to}"));
            }
            builder
        };
        remap(substrate_wasm_builder::WasmBuilder::init_with_defaults()).build();

        const UPGRADE_FILE: &str = "wasm_binary_upgrade.rs";
        println!("cargo:rerun-if-env-changed=PROVENA_UPGRADE_RUNTIME");
        if std::env::var_os("PROVENA_UPGRADE_RUNTIME").is_some() {
            remap(substrate_wasm_builder::WasmBuilder::init_with_defaults())
                .set_file_name(UPGRADE_FILE)
                .enable_feature("upgrade-test")
                .build();
        } else {
            let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
            let none = "pub const WASM_BINARY: Option<&[u8]> = None;\n\
                        pub const WASM_BINARY_BLOATY: Option<&[u8]> = None;\n";
            if let Err(e) = std::fs::write(out.join(UPGRADE_FILE), none) {
                panic!("cannot write {UPGRADE_FILE}: {e}");
            }
        }
    }
}

/// `(local path, fixed prefix)`: the cargo home (crate sources), the workspace, the target
/// directory. Later flags win in rustc, so the most specific path (the target directory, which
/// may lie inside the workspace) comes last.
#[cfg(feature = "std")]
fn remapped_paths() -> Vec<(String, &'static str)> {
    use std::{env, path::PathBuf};
    let mut paths = Vec::new();
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(home) = cargo_home {
        paths.push((home.display().to_string(), "/cargo"));
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    if let Some(workspace) = manifest.parent() {
        paths.push((workspace.display().to_string(), "/provena"));
    }
    // OUT_DIR is <target>/<profile>/build/<crate>-<hash>/out.
    if let Some(target) = env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .and_then(|out| out.ancestors().nth(4).map(|p| p.to_path_buf()))
    {
        paths.push((target.display().to_string(), "/target"));
    }
    paths
}
