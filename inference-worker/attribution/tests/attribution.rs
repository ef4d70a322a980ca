//! Planted spans, equal splits, masking, evidence hashing, the on-disk format and bad input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use provena_attribution::{attribute, corpus, Document, Index, ModelTokenizer, Params};
use std::path::PathBuf;

/// A deterministic pseudo-random token stream (xorshift), vocabulary 1..=`vocab`.
fn stream(seed: u64, n: usize, vocab: u32) -> Vec<u32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(vocab)) as u32 + 1
        })
        .collect()
}

fn docs(n: usize, len: usize) -> Vec<Vec<u32>> {
    (0..n).map(|i| stream(i as u64 + 1, len, 5_000)).collect()
}

fn index_of(docs: &[Vec<u32>]) -> Index {
    index_with(docs, "test")
}

fn index_with(docs: &[Vec<u32>], tokenizer: &str) -> Index {
    Index::build(
        docs.iter()
            .enumerate()
            .map(|(i, t)| Document {
                contribution: 100 + i as u64,
                content_hash: format!("h{i}"),
                tokens: t.clone(),
            })
            .collect(),
        tokenizer,
    )
    .unwrap()
}

#[test]
fn planted_passages_are_credited_to_their_contribution() {
    let corpus = docs(50, 2_000);
    let idx = index_of(&corpus);
    let params = Params::default();
    let (mut hits, trials) = (0, 200);
    for trial in 0..trials {
        // A 256-token answer of fresh tokens with a 24-token passage of one document planted.
        let mut answer = stream(10_000 + trial, 256, 5_000);
        let doc = (trial as usize * 7) % corpus.len();
        let at = (trial as usize * 31) % 1_900;
        let passage = &corpus[doc][at..at + 24];
        let pos = (trial as usize * 13) % 200;
        answer[pos..pos + 24].copy_from_slice(passage);
        let a = attribute(&idx, &[], &answer, &params).unwrap();
        let top = a.weights.iter().max_by_key(|(_, w)| *w).map(|(c, _)| *c);
        if top == Some(100 + doc as u64) {
            hits += 1;
        }
        assert_eq!(a.weights.iter().map(|(_, w)| *w).sum::<u32>() + a.pool_ppm, 1_000_000);
    }
    let recall = f64::from(hits) / trials as f64;
    assert!(recall >= 0.99, "recall {recall}");
}

#[test]
fn a_passage_in_two_contributions_splits_its_credit_equally() {
    let mut corpus = docs(10, 500);
    let shared = corpus[3][100..140].to_vec();
    corpus[7][200..240].copy_from_slice(&shared);
    let idx = index_of(&corpus);
    let mut answer = stream(99, 100, 5_000);
    answer[30..70].copy_from_slice(&shared);
    let a = attribute(&idx, &[], &answer, &Params::default()).unwrap();
    assert_eq!(a.weights, vec![(103, 500_000), (107, 500_000)]);
    assert_eq!(a.spans.len(), 1);
    assert_eq!(a.spans[0].contributions, vec![103, 107]);
}

#[test]
fn echoes_of_the_prompt_earn_nothing_and_masking_stops_credit() {
    let corpus = docs(10, 500);
    let idx = index_of(&corpus);
    let passage = corpus[2][10..40].to_vec();
    let mut answer = stream(777, 80, 5_000);
    answer[20..50].copy_from_slice(&passage);
    // The prompt holds the passage: the answer merely echoes it.
    let echoed = attribute(&idx, &passage, &answer, &Params::default()).unwrap();
    assert!(echoed.weights.is_empty() && echoed.spans.is_empty(), "{echoed:?}");
    let credited = attribute(&idx, &[], &answer, &Params::default()).unwrap();
    assert_eq!(credited.weights, vec![(102, 1_000_000)]);
    idx.mask([102]);
    let masked = attribute(&idx, &[], &answer, &Params::default()).unwrap();
    assert!(masked.weights.is_empty());
    assert_ne!(masked.evidence_hash, credited.evidence_hash);
    // A refresh that unmasks it credits it again; the evidence hash is deterministic.
    assert!(idx.set_mask(Default::default()));
    assert!(!idx.set_mask(Default::default()), "unchanged");
    assert_eq!(attribute(&idx, &[], &answer, &Params::default()).unwrap(), credited);
    let again = attribute(&index_of(&corpus), &[], &answer, &Params::default()).unwrap();
    assert_eq!(again.evidence_hash, credited.evidence_hash);
    // The hash binds the parameters, the snapshot and the tokenizer: the same weights under
    // other parameters, another snapshot or another tokenizer are different evidence.
    let params = Params { top_k: 15, ..Params::default() };
    let other_params = attribute(&idx, &[], &answer, &params).unwrap();
    assert_eq!(other_params.weights, credited.weights);
    assert_ne!(other_params.evidence_hash, credited.evidence_hash);
    let mut grown = corpus.clone();
    grown.push(stream(4242, 300, 5_000));
    let other_snapshot = attribute(&index_of(&grown), &[], &answer, &Params::default()).unwrap();
    assert_eq!(other_snapshot.weights, credited.weights);
    assert_ne!(other_snapshot.evidence_hash, credited.evidence_hash);
    let other_tokenizer =
        attribute(&index_with(&corpus, "other"), &[], &answer, &Params::default()).unwrap();
    assert_eq!(other_tokenizer.weights, credited.weights);
    assert_ne!(other_tokenizer.evidence_hash, credited.evidence_hash);
}

#[test]
fn top_k_leaves_the_rest_to_the_pool() {
    let corpus = docs(6, 300);
    let idx = index_of(&corpus);
    let mut answer = Vec::new();
    for d in &corpus {
        answer.extend_from_slice(&d[50..70]);
    }
    let a = attribute(&idx, &[], &answer, &Params { top_k: 4, ..Params::default() }).unwrap();
    assert_eq!(a.weights.len(), 4);
    assert!(a.pool_ppm > 0);
    assert_eq!(a.weights.iter().map(|(_, w)| *w).sum::<u32>() + a.pool_ppm, 1_000_000);
}

#[test]
fn the_index_round_trips_through_disk_and_corruption_is_caught() {
    let corpus = docs(5, 200);
    let idx = index_of(&corpus);
    let dir = tempfile::tempdir().unwrap();
    idx.write(dir.path()).unwrap();
    let loaded = Index::open(dir.path()).unwrap();
    assert_eq!(loaded.tokens(), idx.tokens());
    assert_eq!(loaded.sa(), idx.sa());
    assert_eq!(loaded.count(&corpus[1][5..15]).unwrap(), 1);
    // Truncated suffix array.
    let sa = dir.path().join("sa.u32");
    let bytes = std::fs::read(&sa).unwrap();
    std::fs::write(&sa, &bytes[..bytes.len() - 4]).unwrap();
    let err = Index::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("corrupt index") && err.contains("sa.u32"), "{err}");
    // Shuffled suffix array (right size, wrong order).
    let mut shuffled = bytes.clone();
    shuffled.swap(0, 4);
    shuffled.swap(1, 5);
    std::fs::write(&sa, &shuffled).unwrap();
    let err = Index::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("corrupt index"), "{err}");
    // A garbled manifest.
    std::fs::write(&sa, &bytes).unwrap();
    std::fs::write(dir.path().join("manifest.json"), b"{not json").unwrap();
    let err = Index::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("not a valid manifest"), "{err}");
}

#[test]
fn bad_queries_and_corpora_get_clear_errors() {
    let idx = index_of(&docs(2, 50));
    let long = vec![1u32; provena_attribution::index::MAX_QUERY_TOKENS + 1];
    let err = idx.count(&long).err().unwrap().to_string();
    assert!(err.contains("at most 8192"), "{err}");
    assert!(attribute(&idx, &[], &long, &Params::default()).is_err());
    let err = Index::build(vec![], "t").err().unwrap().to_string();
    assert!(err.contains("empty"), "{err}");
    // Token ids the index cannot hold occur nowhere; ids above u16 in a document are refused.
    assert_eq!(idx.count(&[70_000]).unwrap(), 0);
    let err = Index::build(
        vec![Document { contribution: 9, content_hash: "h".into(), tokens: vec![70_000] }],
        "t",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("contribution 9"), "{err}");
}

/// The real SmolLM2 tokenizer (from the GGUF that `.ci/setup` fetches), a corpus on disk with
/// content hashes, and a contribution whose content does not match its hash.
#[test]
fn real_tokenizer_corpus_with_verified_hashes() {
    let model = std::env::var("PROVENA_MODEL").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap())
            .join(".cache/provena-models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(model.exists(), "{} is missing: run .ci/setup (it fetches the model)", model.display());
    let t = ModelTokenizer::load(&model).unwrap();
    let text = "pragma solidity ^0.8.20; contract Vault { mapping(address => uint256) balances; }";
    let ids = t.encode(text).unwrap();
    assert_eq!(t.decode(&ids).unwrap(), text);
    assert!(t.vocab_size() > 49_000 && t.vocab_size() < 65_535);

    let dir = tempfile::tempdir().unwrap();
    let texts = [
        "The reentrancy guard must be set before the external call, or an attacker can drain the vault.",
        "Always check the return value of a low-level call; a silent failure leaves balances inconsistent.",
    ];
    let mut list = Vec::new();
    for (i, body) in texts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.txt")), body).unwrap();
        list.push(serde_json::json!({"contribution": i, "contentHash": corpus::hash_hex(body.as_bytes()), "file": format!("{i}.txt")}));
    }
    std::fs::write(dir.path().join("contributions.json"), serde_json::to_vec(&list).unwrap())
        .unwrap();
    let idx = Index::build(corpus::load(dir.path(), &t).unwrap(), &t.source).unwrap();
    let answer = t.encode("As a rule, always check the return value of a low-level call; otherwise funds may be lost.").unwrap();
    let a = attribute(
        &idx,
        &t.encode("How do I make calls safely?").unwrap(),
        &answer,
        &Params::default(),
    )
    .unwrap();
    assert_eq!(a.weights, vec![(1, 1_000_000)]);

    // A file that does not match its hash is refused, naming the contribution.
    std::fs::write(dir.path().join("1.txt"), "tampered").unwrap();
    let err = corpus::load(dir.path(), &t).err().unwrap().to_string();
    assert!(err.contains("contribution 1") && err.contains("mismatch"), "{err}");
    // An empty corpus is refused.
    std::fs::write(dir.path().join("contributions.json"), b"[]").unwrap();
    let err = corpus::load(dir.path(), &t).err().unwrap().to_string();
    assert!(err.contains("empty"), "{err}");
}
