//! Builds the runtime's WASM blob (`WASM_BINARY`).
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
        let mut builder = substrate_wasm_builder::WasmBuilder::init_with_defaults();
        for (from, to) in remapped_paths() {
            builder = builder.append_to_rust_flags(format!("--remap-path-prefix={from}={to}"));
        }
        builder.build();
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
