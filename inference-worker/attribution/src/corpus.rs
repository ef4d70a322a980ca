//! Reading a snapshot's contributions from disk, verified against their content hashes.
//!
//! A corpus directory holds `contributions.json`, a list of
//! `{"contribution": <id>, "contentHash": "0x<BLAKE2b-256>", "file": "<path relative to the directory>"}`
//! (what `datanets_getContributions` returns, plus where each file is), and the files. Every
//! file's hash is checked before anything is indexed; a mismatch names the contribution.

use crate::{index::Document, tokenizer::ModelTokenizer};
use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// One entry of `contributions.json`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorpusEntry {
    /// The contribution id.
    pub contribution: u64,
    /// Its content hash, `0x`-hex.
    pub content_hash: String,
    /// Its file, relative to the corpus directory.
    pub file: String,
}

/// `0x`-hex of a content hash.
pub fn hash_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(provena_primitives::content_hash(bytes).0))
}

/// Reads, verifies and tokenizes the corpus in `dir`.
pub fn load(dir: &Path, tokenizer: &ModelTokenizer) -> Result<Vec<Document>> {
    load_where(dir, tokenizer, |_| true)
}

/// Reads, verifies and tokenizes the contributions of the corpus in `dir` that `wanted`
/// accepts (a new snapshot's delta); the others are not read.
pub fn load_where(
    dir: &Path,
    tokenizer: &ModelTokenizer,
    wanted: impl Fn(u64) -> bool,
) -> Result<Vec<Document>> {
    load_texts_where(dir, wanted)?
        .into_iter()
        .map(|(contribution, content_hash, text)| {
            Ok(Document { contribution, content_hash, tokens: tokenizer.encode(&text)? })
        })
        .collect()
}

/// Reads and verifies the corpus in `dir`: `(contribution, content hash, text)` in list order.
pub fn load_texts(dir: &Path) -> Result<Vec<(u64, String, String)>> {
    load_texts_where(dir, |_| true)
}

fn load_texts_where(
    dir: &Path,
    wanted: impl Fn(u64) -> bool,
) -> Result<Vec<(u64, String, String)>> {
    let list = dir.join("contributions.json");
    let raw = std::fs::read(&list).with_context(|| format!("cannot read {}", list.display()))?;
    let entries: Vec<CorpusEntry> = serde_json::from_slice(&raw)
        .with_context(|| format!("{} is not a contribution list", list.display()))?;
    ensure!(!entries.is_empty(), "the corpus is empty: {} lists no contributions", list.display());
    let mut docs = Vec::with_capacity(entries.len());
    for e in entries.into_iter().filter(|e| wanted(e.contribution)) {
        let bytes = std::fs::read(dir.join(&e.file))
            .with_context(|| format!("contribution {}: cannot read {}", e.contribution, e.file))?;
        let actual = hash_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&e.content_hash) {
            bail!(
                "contribution {}: content hash mismatch (expected {}, file {} hashes to {actual}); refused",
                e.contribution,
                e.content_hash,
                e.file
            );
        }
        let text = String::from_utf8(bytes).with_context(|| {
            format!("contribution {}: {} is not UTF-8 text", e.contribution, e.file)
        })?;
        docs.push((e.contribution, actual, text));
    }
    Ok(docs)
}
