//! The inference worker binary built next to the node, for the tests that run it: started on a
//! port with an attribution index, killed when dropped; and `provena-attribution index`.

use super::NODE_BIN;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

/// The SmolLM2 GGUF the worker serves (`PROVENA_MODEL`, fetched by `.ci/setup`).
pub fn model_path() -> PathBuf {
    PathBuf::from(
        std::env::var("PROVENA_MODEL")
            .expect("PROVENA_MODEL must name the SmolLM2 GGUF (.ci/setup fetches it)"),
    )
}

/// A binary built next to the node.
pub fn sibling(name: &str) -> PathBuf {
    Path::new(NODE_BIN).parent().unwrap().join(name)
}

/// The inference worker process, killed when dropped.
pub struct Worker(pub Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the worker on `port` with `index`, and waits for its banner.
pub fn start_worker(port: u16, index: &Path, adapters: &Path) -> Worker {
    spawn_worker(port, index, adapters, &[], &[])
}

/// Starts the worker with extra flags and environment, and waits for its banner.
pub fn spawn_worker(
    port: u16,
    index: &Path,
    adapters: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Worker {
    spawn_worker_for(port, index, "0", adapters, extra, env)
}

/// [`spawn_worker`] with the attribution index of `datanet`.
pub fn spawn_worker_for(
    port: u16,
    index: &Path,
    datanet: &str,
    adapters: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Worker {
    let index = index.to_str().unwrap();
    let mut flags = vec!["--attribution-index", index, "--attribution-datanet", datanet];
    flags.extend_from_slice(extra);
    spawn_plain_worker(port, adapters, &flags, env)
}

/// Starts the worker serving SmolLM2 on `port` with `flags` and `env` (no attribution index
/// unless the flags name one), and waits for its banner.
pub fn spawn_plain_worker(
    port: u16,
    adapters: &Path,
    flags: &[&str],
    env: &[(&str, &str)],
) -> Worker {
    let mut child = Command::new(sibling("provena-inference-worker"))
        .arg("serve")
        .arg("--model")
        .arg(model_path())
        .arg("--adapters-dir")
        .arg(adapters)
        .args(["--port", &port.to_string()])
        .args(flags)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("on http://") {
        banner.clear();
        assert!(out.read_line(&mut banner).unwrap() > 0, "the worker exited before its banner");
    }
    Worker(child)
}

/// Builds the attribution index of the corpus in `corpus` (files checked against their hashes)
/// into `out`, with `provena-attribution index`.
pub fn build_index(corpus: &Path, out: &Path) {
    let run = Command::new(sibling("provena-attribution"))
        .arg("index")
        .arg("--corpus")
        .arg(corpus)
        .arg("--tokenizer")
        .arg(model_path())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}
