//! The `provena-attribution` command line, end to end with the real SmolLM2 tokenizer.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use provena_attribution::corpus::hash_hex;
use serde_json::Value;
use std::{path::PathBuf, process::Command};

fn model() -> PathBuf {
    let m = std::env::var("PROVENA_MODEL").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap())
            .join(".cache/provena-models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(m.exists(), "{} is missing: run .ci/setup (it fetches the model)", m.display());
    m
}

fn run(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_provena-attribution")).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.success(), value, String::from_utf8_lossy(&out.stderr).to_string())
}

/// Writes contribution `id`'s file into the corpus directory and lists it (with its content
/// hash) in `contributions.json`.
fn contribute(corpus: &std::path::Path, list: &mut Vec<Value>, id: u64, body: &str) {
    std::fs::write(corpus.join(format!("{id}.txt")), body).unwrap();
    list.push(serde_json::json!({"contribution": id, "contentHash": hash_hex(body.as_bytes()), "file": format!("{id}.txt")}));
    std::fs::write(corpus.join("contributions.json"), serde_json::to_vec(list).unwrap()).unwrap();
}

#[test]
fn index_count_attribute_stats() {
    let model = model();
    let model = model.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let texts = [
        (7u64, "Use checks-effects-interactions: update balances before making the external call."),
        (8, "Events should be emitted for every state change so indexers can follow the contract."),
    ];
    let mut list = Vec::new();
    for (id, body) in texts {
        contribute(&corpus, &mut list, id, body);
    }
    let index = dir.path().join("index");
    let (ok, v, err) = run(&[
        "index",
        "--corpus",
        corpus.to_str().unwrap(),
        "--tokenizer",
        model,
        "--out",
        index.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(v["documents"], 2);
    assert_eq!(v["nearDuplicates"], serde_json::json!([]));
    let idx = index.to_str().unwrap();

    let (ok, ids, _) =
        run(&["tokenize", "--tokenizer", model, "--text", " update balances before"]);
    assert!(ok && ids.as_array().unwrap().len() >= 3);
    let (ok, v, _) = run(&["count", "--index", idx, "--text", " update balances before"]);
    assert!(ok);
    assert_eq!(v["count"], 1);
    let (ok, v, _) = run(&["count", "--index", idx, "--tokens", &ids.to_string()]);
    assert!(ok);
    assert_eq!(v["count"], 1);

    let (ok, v, err) = run(&[
        "attribute",
        "--index",
        idx,
        "--prompt",
        "How should events be used?",
        "--output",
        "Events should be emitted for every state change, as the guide says.",
    ]);
    assert!(ok, "{err}");
    assert_eq!(v["weights"], serde_json::json!([[8, 1_000_000]]));
    assert!(v["evidenceHash"].as_str().unwrap().starts_with("0x"));
    let (ok, masked, _) = run(&[
        "attribute",
        "--index",
        idx,
        "--prompt",
        "",
        "--output",
        "Events should be emitted for every state change, as the guide says.",
        "--mask",
        "8",
    ]);
    assert!(ok);
    assert_eq!(masked["weights"], serde_json::json!([]));

    let (ok, v, _) = run(&["stats", "--index", idx]);
    assert!(ok);
    assert!(v["bytesPerToken"].as_f64().unwrap() > 6.0);

    // A new snapshot: the two indexed contributions and a third, appended as a shard.
    let body = "Reentrancy guards belong on every function that makes an external call.";
    contribute(&corpus, &mut list, 9, body);
    let (ok, v, err) = run(&[
        "index",
        "--corpus",
        corpus.to_str().unwrap(),
        "--tokenizer",
        model,
        "--out",
        idx,
        "--append",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        (v["appended"]["documents"].as_u64(), v["appended"]["alreadyIndexed"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!((v["shards"].as_u64(), v["documents"].as_u64()), (Some(2), Some(3)));
    let (ok, v, err) = run(&["stats", "--index", idx, "--verify"]);
    assert!(ok && v["verified"] == true, "{err}");
    let (ok, v, _) = run(&["count", "--index", idx, "--text", " guards belong on every function"]);
    assert!(ok && v["count"] == 1, "{v}");

    // Bad input: a tampered contribution, a missing index, malformed tokens.
    std::fs::write(corpus.join("8.txt"), "tampered").unwrap();
    let (ok, _, err) =
        run(&["index", "--corpus", corpus.to_str().unwrap(), "--tokenizer", model, "--out", idx]);
    assert!(!ok && err.contains("contribution 8") && err.contains("mismatch"), "{err}");
    let (ok, _, err) = run(&["count", "--index", "/nonexistent", "--tokens", "[1]"]);
    assert!(!ok && err.contains("manifest.json"), "{err}");
    let (ok, _, err) = run(&["count", "--index", idx, "--tokens", "[1, \"x\"]"]);
    assert!(!ok && err.contains("JSON array"), "{err}");
}
