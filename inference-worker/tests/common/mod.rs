//! Shared by the API tests: the real worker binary on the real SmolLM2 GGUF, over real HTTP.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_provena-inference-worker");

pub fn model_path() -> PathBuf {
    PathBuf::from(
        std::env::var("PROVENA_MODEL")
            .expect("PROVENA_MODEL must name the SmolLM2 GGUF (.ci/setup fetches it)"),
    )
}

pub struct Worker {
    pub child: Child,
    pub addr: String,
    pub store: PathBuf,
    /// The worker's import root.
    pub imports: PathBuf,
    /// Where its log goes when started with [`start_logged`].
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `count` synthetic adapters into `store`; returns their ids.
pub fn synth(store: &Path, seed: u64, count: u64) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["synth-adapter", "--store"])
        .arg(store)
        .args(["--seed", &seed.to_string(), "--count", &count.to_string()])
        .arg("--model")
        .arg(model_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// The admin key the test workers are started with.
pub const ADMIN_KEY: &str = "test-admin-key";

/// A worker with the admin key and an import root, serving `adapters` synthetic adapters.
pub fn start(extra: &[&str], adapters: u64) -> (Worker, Vec<String>) {
    start_as(extra, adapters, Some(ADMIN_KEY))
}

pub fn start_as(extra: &[&str], adapters: u64, admin_key: Option<&str>) -> (Worker, Vec<String>) {
    launch(extra, adapters, admin_key, false)
}

/// Starts a worker whose log (stderr, `RUST_LOG=info`) goes to the returned file.
pub fn start_logged(extra: &[&str]) -> (Worker, PathBuf) {
    let (w, _) = launch(extra, 0, Some(ADMIN_KEY), true);
    let log = w.log.clone();
    (w, log)
}

fn launch(
    extra: &[&str],
    adapters: u64,
    admin_key: Option<&str>,
    logged: bool,
) -> (Worker, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("worker.log");
    let store = dir.path().join("adapters");
    let imports = dir.path().join("imports");
    std::fs::create_dir_all(&imports).unwrap();
    let ids = if adapters > 0 { synth(&store, 100, adapters) } else { Vec::new() };
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .arg("--model")
        .arg(model_path())
        .arg("--adapters-dir")
        .arg(&store)
        .arg("--import-root")
        .arg(&imports)
        .args(["--port", "0"]);
    if let Some(key) = admin_key {
        command.args(["--admin-key", key]);
    }
    if logged {
        command.env("RUST_LOG", "info").stderr(std::fs::File::create(&log).unwrap());
    } else {
        command.stderr(Stdio::inherit());
    }
    let mut child = command.args(extra).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split("/v1").next())
        .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
        .to_string();
    (Worker { child, addr, store, imports, log, _dir: dir }, ids)
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    http_as(addr, method, path, body, None)
}

/// One HTTP/1.1 request with `key` as its bearer token.
pub fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let body = body.unwrap_or("");
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

pub fn post(w: &Worker, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(&w.addr, "POST", path, Some(&body.to_string()));
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn get(w: &Worker, path: &str) -> (u16, String) {
    http(&w.addr, "GET", path, None)
}

/// An administration call with the admin key.
pub fn admin_post(w: &Worker, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = http_as(&w.addr, "POST", path, Some(&body.to_string()), Some(ADMIN_KEY));
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn admin(w: &Worker, path: &str) -> (u16, Value) {
    admin_post(w, path, json!({}))
}

pub fn complete(w: &Worker, model: &str, prompt: &str, max_tokens: u32) -> (u16, Value) {
    post(
        w,
        "/v1/completions",
        json!({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}),
    )
}

/// A metric's value in a `/metrics` text (the sum over its series).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
