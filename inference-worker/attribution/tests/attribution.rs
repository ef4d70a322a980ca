//! Planted spans, equal splits, masking, evidence hashing, the on-disk format and bad input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use provena_attribution::{
    attribute, corpus,
    index::{BuildOptions, NARROW_SA_LIMIT},
    Document, Index, ModelTokenizer, Params,
};
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
    Index::build(documents(docs), tokenizer).unwrap()
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
    assert_eq!(loaded.shard_tokens(0), idx.shard_tokens(0));
    assert_eq!(loaded.shard_positions(0), idx.shard_positions(0));
    assert_eq!(loaded.count(&corpus[1][5..15]).unwrap(), 1);
    // Truncated suffix array.
    let sa = dir.path().join("shard-0000/sa.u32");
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
    // Token ids the index does not hold occur nowhere; u32::MAX (the separator) is refused.
    assert_eq!(idx.count(&[70_000]).unwrap(), 0);
    let err = Index::build(
        vec![Document {
            contribution: 9,
            content_hash: format!("0x{:064x}", 9),
            tokens: vec![u32::MAX],
        }],
        "t",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("contribution 9") && err.contains("does not fit"), "{err}");
    // A content hash that is not 32 bytes of hex, and a contribution listed twice.
    let doc =
        |c: u64, h: &str| Document { contribution: c, content_hash: h.into(), tokens: vec![1] };
    let err = Index::build(vec![doc(4, "h")], "t").err().unwrap().to_string();
    assert!(err.contains("contribution 4") && err.contains("0x-hex"), "{err}");
    let h = format!("0x{:064x}", 1);
    let err = Index::build(vec![doc(4, &h), doc(4, &h)], "t").err().unwrap().to_string();
    assert!(err.contains("contribution 4 is listed twice"), "{err}");
}

/// A Llama-3-sized vocabulary: ids past 65,535 are stored as u32 and found as any other.
#[test]
fn vocabularies_past_u16_are_indexed_with_u32_tokens() {
    let corpus: Vec<Vec<u32>> = (0..8).map(|i| stream(i + 1, 400, 128_000)).collect();
    assert!(corpus.iter().flatten().any(|t| *t > 65_535));
    let idx = index_of(&corpus);
    assert_eq!(idx.manifest.shards[0].token_bytes, 4);
    let mut answer = stream(5_000, 120, 128_000);
    answer[40..70].copy_from_slice(&corpus[5][200..230]);
    let a = attribute(&idx, &[], &answer, &Params::default()).unwrap();
    assert_eq!(a.weights, vec![(105, 1_000_000)]);
    assert_eq!(idx.count(&corpus[5][200..230]).unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    idx.write(dir.path()).unwrap();
    assert!(dir.path().join("shard-0000/tokens.u32").exists());
    let loaded = Index::open(dir.path()).unwrap();
    assert_eq!(attribute(&loaded, &[], &answer, &Params::default()).unwrap(), a);
}

/// Past 2^31 − 1 tokens a shard stores 64-bit positions; the layout is forced here on a small
/// corpus, and answers (evidence hash included) are the same as with 32-bit positions.
#[test]
fn sixty_four_bit_positions_answer_as_thirty_two_bit_ones() {
    assert_eq!(NARROW_SA_LIMIT, (1u64 << 31) - 2);
    let corpus = docs(12, 600);
    let narrow = index_of(&corpus);
    let wide = Index::build_with(documents(&corpus), "test", BuildOptions { wide_positions: true })
        .unwrap();
    assert_eq!(
        (wide.manifest.shards[0].position_bytes, narrow.manifest.shards[0].position_bytes),
        (8, 4)
    );
    let dir = tempfile::tempdir().unwrap();
    wide.write(dir.path()).unwrap();
    assert!(dir.path().join("shard-0000/sa.u64").exists());
    let wide = Index::open(dir.path()).unwrap();
    for trial in 0..20u64 {
        let mut answer = stream(9_000 + trial, 200, 5_000);
        let d = trial as usize % corpus.len();
        answer[50..80].copy_from_slice(&corpus[d][100..130]);
        answer[120..150].copy_from_slice(&corpus[(d + 3) % corpus.len()][300..330]);
        let (a, b) = (
            attribute(&narrow, &[], &answer, &Params::default()).unwrap(),
            attribute(&wide, &[], &answer, &Params::default()).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.weights.len(), 2);
    }
}

fn documents(corpus: &[Vec<u32>]) -> Vec<Document> {
    corpus
        .iter()
        .enumerate()
        .map(|(i, t)| Document {
            contribution: 100 + i as u64,
            content_hash: format!("0x{i:064x}"),
            tokens: t.clone(),
        })
        .collect()
}

/// A new snapshot is indexed as a shard of its new contributions: earlier shards untouched,
/// duplicates of earlier content refused, and answers (evidence hash included) the same as an
/// index built in one go over the same documents.
#[test]
fn a_new_snapshot_is_appended_as_a_shard_of_its_delta() {
    let mut corpus = docs(10, 500);
    let dir = tempfile::tempdir().unwrap();
    let first = Index::build(documents(&corpus[..6]), "test").unwrap();
    first.write(dir.path()).unwrap();
    let shard0 = std::fs::read(dir.path().join("shard-0000/sa.u32")).unwrap();
    // The new snapshot lists every contribution; one new one duplicates contribution 101.
    corpus.push(corpus[1].clone());
    let mut next = documents(&corpus);
    next[10].content_hash = format!("0x{:064x}", 1);
    // A shard directory left by an interrupted append is cleared, not trusted.
    std::fs::create_dir(dir.path().join("shard-0001")).unwrap();
    std::fs::write(dir.path().join("shard-0001/sa.u32"), b"junk").unwrap();
    let (grown, report) = Index::append(dir.path(), next, "test", BuildOptions::default()).unwrap();
    assert_eq!(report.shard.as_deref(), Some("shard-0001"));
    assert_eq!((report.documents, report.already_indexed), (4, 6));
    assert_eq!(report.duplicates, vec![(110, 101)]);
    assert_eq!(grown.shards(), 2);
    assert_eq!(std::fs::read(dir.path().join("shard-0000/sa.u32")).unwrap(), shard0);
    grown.verify().unwrap();
    // The same documents built in one go: the same snapshot hash and the same evidence.
    let whole = Index::build(documents(&corpus[..10]), "test").unwrap();
    assert_eq!(grown.snapshot_hash(), whole.snapshot_hash());
    let mut answer = stream(31, 200, 5_000);
    answer[10..40].copy_from_slice(&corpus[2][100..130]);
    answer[100..130].copy_from_slice(&corpus[8][50..80]);
    let a = attribute(&grown, &[], &answer, &Params::default()).unwrap();
    assert_eq!(a.weights, vec![(102, 500_000), (108, 500_000)]);
    assert_eq!(a, attribute(&whole, &[], &answer, &Params::default()).unwrap());
    // A second writer is kept out while one holds the lock.
    std::fs::write(dir.path().join(".append.lock"), b"").unwrap();
    let err = Index::append(dir.path(), documents(&corpus), "test", BuildOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another append"), "{err}");
    std::fs::remove_file(dir.path().join(".append.lock")).unwrap();
    // Appending the same snapshot again adds nothing; another tokenizer is refused.
    let (again, report) =
        Index::append(dir.path(), documents(&corpus[..10]), "test", BuildOptions::default())
            .unwrap();
    assert_eq!((again.shards(), report.shard, report.already_indexed), (2, None, 10));
    let err = Index::append(dir.path(), documents(&corpus), "other", BuildOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("tokenizer"), "{err}");
}

/// The manifest does not grow with the documents; a document is one record read; a tampered
/// document table is caught by the full check.
#[test]
fn documents_are_fixed_records_not_a_growing_manifest() {
    let corpus: Vec<Vec<u32>> = (0..20_000).map(|i| stream(i + 1, 8, 5_000)).collect();
    let idx = index_of(&corpus);
    let dir = tempfile::tempdir().unwrap();
    idx.write(dir.path()).unwrap();
    let manifest = std::fs::metadata(dir.path().join("manifest.json")).unwrap().len();
    assert!(manifest < 2_048, "manifest.json is {manifest} bytes for 20,000 documents");
    let loaded = Index::open(dir.path()).unwrap();
    let d = loaded.document(19_999).unwrap();
    assert_eq!(
        (d.contribution, d.len, d.content_hash.clone()),
        (20_099, 8, format!("0x{:064x}", 19_999))
    );
    assert!(loaded.document(20_000).is_none());
    loaded.verify().unwrap();
    drop(loaded);
    // Change one contribution id in the document table: the tiling still holds, the snapshot
    // hash does not.
    let path = dir.path().join("shard-0000/docs.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[56 * 7_000] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = Index::open(dir.path()).unwrap().verify().err().unwrap().to_string();
    assert!(err.contains("snapshot hash"), "{err}");
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
