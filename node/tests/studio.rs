//! Provena Studio, the web app, in a real browser (Debian's Chromium driven by puppeteer-core,
//! `inference-worker/web/test/studio.mjs`) against a real `provena-node --dev` and a real
//! inference worker serving the app's built files (`--web-root`) and SmolLM2, paid by vouchers
//! the page signs (or on chain) and settling as Ferdie.
//!
//! 1. In the browser: Alice creates a datanet, Bob contributes a file (hashed in the page), Alice
//!    accepts it and publishes snapshot 1, Charlie registers the worker's model as trained on it.
//! 2. The operator's part, here: the hash the page computed is the chain's content hash of the
//!    file (the runtime's own function); Ferdie becomes an agent and operator serving the model;
//!    the worker restarts with the attribution index of the snapshot's files, checked against
//!    the chain.
//! 3. In the browser: Dave asks the chat; the answer cites Bob's contribution with the amount its
//!    receipt credits; the token's slippage guard, a rejected signature, an account without
//!    funds and an unreachable node each show their message; Bob claims his reward; every page
//!    loads within 2 s, fits 375 px and names its controls. Screenshots of every page go to
//!    `$CARGO_TARGET_DIR/studio-screenshots`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

mod common;

use std::{path::PathBuf, process::Command, time::Duration};

use common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::sp_keyring::Sr25519Keyring;
use provena_primitives::{content_hash, currency::OPEN, ModelId};
use provena_runtime::RuntimeCall;
use serde_json::{json, Value};

/// The contributed file: the text SmolLM2's answer to the chat's question reproduces.
const PARIS: &str =
    "The capital of France is Paris. It lies on the Seine and is known for its museums.";

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../inference-worker/web")
}

/// Runs a phase of the browser test; returns its JSON report.
fn browser(phase: &str, env: &[(&str, String)]) -> Value {
    let dir = web_dir();
    let out = Command::new("node")
        .arg(dir.join("test/studio.mjs"))
        .arg(phase)
        .current_dir(&dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("node (JavaScript) runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(out.status.success(), "the browser test's {phase} phase failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a report line")).expect("a JSON report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studio_in_a_browser_runs_the_payable_ai_loop() {
    use Sr25519Keyring::Ferdie;
    let web = web_dir();
    let dist = web.join("dist");
    assert!(
        dist.join("index.html").is_file() && web.join("node_modules/puppeteer-core").is_dir(),
        "the web app is not built: `npm ci && npm run build` in {} (done by .ci/setup)",
        web.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        PathBuf::from(&chromium).is_file(),
        "no Chromium at {chromium} (.ci/setup installs Debian's `chromium`)"
    );
    let dir = tempfile::tempdir().unwrap();
    // The worker's port first: the node's off-chain worker sends on-chain jobs there.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let node =
        DevNode::start_with(dir.path(), &["--rpc-cors", "all", "--inference-worker-url", &url]);
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    let rpc = format!("ws://127.0.0.1:{}", node.rpc_port);
    let shots = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target").display().to_string()
    }))
    .join("studio-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let file = dir.path().join("paris.txt");
    std::fs::write(&file, PARIS).unwrap();

    // The worker: the app, the model, settling every second as Ferdie what vouchers pay (as
    // `.ci/dev` runs it: the node's off-chain worker sends on-chain jobs without one).
    let adapters = dir.path().join("adapters");
    let settle = dir.path().join("settle");
    let worker_flags = |index: Option<&PathBuf>| {
        let mut flags = vec![
            "--web-root".to_string(),
            dist.display().to_string(),
            "--chain-rpc".into(),
            rpc.clone(),
            "--settle-dir".into(),
            settle.display().to_string(),
            "--settle-interval".into(),
            "1".into(),
        ];
        if let Some(index) = index {
            flags.extend([
                "--attribution-index".into(),
                index.display().to_string(),
                "--attribution-datanet".into(),
                "0".into(),
            ]);
        }
        flags
    };
    let start = |flags: Vec<String>| {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        spawn_plain_worker(port, &adapters, &flags, &[("PROVENA_OPERATOR_KEY", "//Ferdie")])
    };
    let worker = start(worker_flags(None));
    let env = vec![
        ("STUDIO_URL", url.clone()),
        ("STUDIO_RPC", rpc.clone()),
        ("STUDIO_SHOTS", shots.display().to_string()),
        ("STUDIO_FILE", file.display().to_string()),
        ("STUDIO_ETH", format!("http://127.0.0.1:{}", node.eth_port)),
        ("CHROMIUM", chromium),
    ];

    // 1. Datanet → contribution → review → snapshot → model, in the browser.
    let built = browser("build", &env);

    // 2. The page's hash is the runtime's content hash of the file.
    assert_eq!(built["contentHash"], format!("{:?}", content_hash(PARIS.as_bytes())), "{built}");
    // Ferdie serves model 0 as an agent and operator.
    let agent = register_agent(vec![ModelId(0)], 1_000 * OPEN, Default::default());
    submit_and_wait_in_block(&c, &sign(&c, Ferdie, agent).await).await;
    let serve = RuntimeCall::Inference(pallet_inference::Call::register_operator {
        bases: vec![ModelId(0)],
    });
    submit_and_wait_in_block(&c, &sign(&c, Ferdie, serve).await).await;
    // The worker indexes snapshot 1's files, each checked against the chain's content hash.
    let snapshot: Value = c.request("datanets_getSnapshot", rpc_params![0, 1]).await.unwrap();
    assert_eq!(snapshot["members"], json!([0]));
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let contribution: Value = c.request("datanets_getContribution", rpc_params![0]).await.unwrap();
    std::fs::copy(&file, corpus.join("0.txt")).unwrap();
    let manifest =
        json!([{"contribution": 0, "contentHash": contribution["contentHash"], "file": "0.txt"}]);
    std::fs::write(corpus.join("contributions.json"), manifest.to_string()).unwrap();
    let index = dir.path().join("index");
    build_index(&corpus, &index);
    drop(worker);
    let _worker = start(worker_flags(Some(&index)));

    // 3. Chat, citation and credit, errors, claim, and every page, in the browser.
    let used = browser("use", &env);
    println!("studio: {used}");
    let credited: u128 = used["credited"].as_str().unwrap().parse().unwrap();
    assert!(credited > 0, "{used}");
    let rewards: Value = c
        .request(
            "attribution_getRewards",
            rpc_params![Sr25519Keyring::Bob.to_account_id().to_string()],
        )
        .await
        .unwrap();
    assert_eq!(rewards["contributions"][0]["contribution"], 0, "{rewards}");
    assert_eq!(amount(&rewards["contributions"][0]["claimed"]), credited, "{rewards}");
    let pngs = std::fs::read_dir(&shots).unwrap().count();
    assert!(pngs >= 25, "{pngs} screenshots in {}", shots.display());
}
