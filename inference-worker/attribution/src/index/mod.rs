//! The suffix-array index of a datanet's snapshots and its queries.
//!
//! ## On-disk format (a directory)
//!
//! | file | content |
//! | --- | --- |
//! | `manifest.json` | format version, tokenizer, totals, the shards in order (name, sizes, widths, the snapshot hash after its documents), duplicates refused and near-duplicates found (MinHash, [`crate::minhash`]) |
//! | `shard-NNNN/tokens.u16` or `tokens.u32` | the shard's documents' tokens, little-endian, each document followed by the separator (the width's largest value) |
//! | `shard-NNNN/sa.u32` or `sa.u64` | the suffix array of the shard's tokens |
//! | `shard-NNNN/docs.bin` | the shard's documents, 56-byte records ([`DocRecord`]: contribution, content hash, first token, length) |
//!
//! A shard holds `u16` tokens when every id is below 65,535 and `u32` otherwise (Llama 3's and
//! Qwen2's vocabularies), and `u32` positions below 2^31 − 1 tokens, `u64` past it: **6 bytes
//! per token** for SmolLM2-sized vocabularies and corpora, 8 to 12 beyond. Every file is
//! memory-mapped; opening an index reads the manifest (its size does not grow with the
//! documents) and checks a sample of each shard, and a document lookup is one record read.
//!
//! ## Snapshots and shards
//!
//! [`Index::build`] writes one shard. [`Index::append`] indexes only the documents of a new
//! snapshot that the index does not hold yet, in a new shard, and leaves the earlier shards
//! untouched: a new snapshot costs its delta, not a rebuild. The snapshot hash
//! ([`Index::snapshot_hash`]) chains over the documents in order, so an index built in one go
//! and one grown shard by shard over the same documents have the same hash.
//!
//! ## Queries
//!
//! A pattern's occurrences in a shard are one contiguous range of its suffix array, found by
//! two binary searches (`O(m + log n)` with Manber and Myers' skipping). The longest match at a
//! position is the longest over the shards; it is found by re-finding the part already known
//! to occur in one search and then comparing one new token per extension. An answer's maximal
//! spans ([`Index::maximal_spans`]) are found without matching the positions whose matches end
//! inside an earlier one (existence probes find the next maximal start), and a periodic answer
//! (a repeated-token loop) reuses its last match instead of searching again. The separator is
//! never part of a query, so no match crosses documents.

mod shard;
mod store;
#[cfg(test)]
mod tests;

pub use shard::DocRecord;
pub use store::NARROW_SA_LIMIT;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use shard::{Pending, ShardOps};
use std::{
    collections::{BTreeSet, HashMap, HashSet},
    fs,
    ops::Range,
    path::Path,
};

/// The index format version written in the manifest.
pub const FORMAT_VERSION: u32 = 2;

/// The longest query the index answers (a model's context window).
pub const MAX_QUERY_TOKENS: usize = 8_192;

/// One shard in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardEntry {
    /// Its directory, `shard-NNNN`.
    pub name: String,
    /// Its tokens, separators included.
    pub tokens: u64,
    /// Its documents.
    pub documents: u64,
    /// Bytes per token (2 or 4).
    pub token_bytes: usize,
    /// Bytes per suffix-array entry (4 or 8).
    pub position_bytes: usize,
    /// The snapshot hash after this shard's documents, `0x`-hex.
    pub snapshot_hash: String,
}

/// The index manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The tokenizer the corpus was tokenized with.
    pub tokenizer: String,
    /// Tokens over all shards, separators included.
    pub tokens: u64,
    /// Documents over all shards.
    pub documents: u64,
    /// The shards in corpus order.
    pub shards: Vec<ShardEntry>,
    /// Contributions refused because their content duplicates an earlier one: (refused, kept).
    pub duplicates: Vec<(u64, u64)>,
    /// Pairs of indexed contributions whose content is nearly the same (MinHash estimate of
    /// shingle Jaccard ≥ 0.8): reported for curators, both still credited for their own copy.
    #[serde(default)]
    pub near_duplicates: Vec<crate::minhash::NearDuplicate>,
}

/// A document of the index, as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocEntry {
    /// The contribution id on chain.
    pub contribution: u64,
    /// Its content hash, `0x`-hex.
    pub content_hash: String,
    /// The shard holding it.
    pub shard: usize,
    /// Its first token's position in the shard.
    pub start: u64,
    /// Its length in tokens.
    pub len: u64,
}

/// A document to index.
pub struct Document {
    /// Its contribution id.
    pub contribution: u64,
    /// Its content hash as `0x`-hex (BLAKE2b-256, 32 bytes).
    pub content_hash: String,
    /// Its tokens.
    pub tokens: Vec<u32>,
}

/// How a shard is laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildOptions {
    /// 64-bit suffix-array positions even below [`NARROW_SA_LIMIT`] tokens (tests and
    /// benchmarks exercise the wide layout without a 2^31-token corpus).
    pub wide_positions: bool,
}

/// What [`Index::append`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendReport {
    /// The new shard's name, if any document was new.
    pub shard: Option<String>,
    /// Documents indexed in it.
    pub documents: u64,
    /// Tokens in it, separators included.
    pub tokens: u64,
    /// Documents skipped because the index already holds their contribution.
    pub already_indexed: u64,
    /// New duplicates refused: (refused, kept).
    pub duplicates: Vec<(u64, u64)>,
}

/// A loaded (or freshly built) index.
pub struct Index {
    shards: Vec<Box<dyn ShardOps>>,
    /// The global number of each shard's first document.
    first_doc: Vec<usize>,
    /// The manifest.
    pub manifest: Manifest,
    snapshot: [u8; 32],
    /// Contributions not credited; replaced while serving (see [`Index::set_mask`]).
    masked: std::sync::RwLock<BTreeSet<u64>>,
}

/// The result of a longest-match query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// Its length in tokens (0: the first token occurs nowhere).
    pub len: usize,
    /// Its occurrences over all shards.
    pub count: u64,
    /// The suffix-array ranges of its occurrences: (shard, range).
    pub ranges: Vec<(usize, Range<usize>)>,
}

/// A maximal matching span of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Its first token's position in the query.
    pub start: usize,
    /// Its length in tokens.
    pub len: usize,
    /// Its occurrences in the corpus.
    pub count: u64,
    /// Their suffix-array ranges: (shard, range).
    pub ranges: Vec<(usize, Range<usize>)>,
}

/// The 32 bytes of a `0x`-hex content hash.
fn parse_hash(contribution: u64, hex_hash: &str) -> Result<[u8; 32]> {
    hex_hash
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            anyhow!(
                "contribution {contribution}: content hash {hex_hash:?} is not 0x-hex of 32 bytes"
            )
        })
}

fn hash_hex(h: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(h))
}

/// One step of the snapshot hash: `BLAKE2b-256(previous ‖ contribution ‖ content hash ‖
/// length)`, integers as little-endian `u64`.
fn chain(previous: [u8; 32], d: &DocRecord) -> [u8; 32] {
    let mut buf = Vec::with_capacity(80);
    buf.extend_from_slice(&previous);
    buf.extend_from_slice(&d.contribution.to_le_bytes());
    buf.extend_from_slice(&d.content_hash);
    buf.extend_from_slice(&d.len.to_le_bytes());
    provena_primitives::content_hash(&buf).0
}

/// A shard directory's name: `shard-` and four or more digits (nothing else is opened).
fn shard_name(k: usize) -> String {
    format!("shard-{k:04}")
}

fn valid_shard_name(name: &str) -> bool {
    name.strip_prefix("shard-")
        .is_some_and(|d| d.len() >= 4 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Contributions refused as duplicates: (refused, kept).
type Duplicates = Vec<(u64, u64)>;

/// Refuses repeated contributions and splits off documents whose content an earlier one
/// (here or in `seen`) has: those are recorded as (refused, kept).
fn dedupe(
    docs: Vec<Document>,
    seen: &mut HashMap<[u8; 32], u64>,
    contributions: &mut HashSet<u64>,
) -> Result<(Vec<Pending>, Duplicates)> {
    let mut kept = Vec::with_capacity(docs.len());
    let mut duplicates = Vec::new();
    for d in docs {
        let hash = parse_hash(d.contribution, &d.content_hash)?;
        ensure!(
            contributions.insert(d.contribution),
            "contribution {} is listed twice",
            d.contribution
        );
        if let Some(first) = seen.get(&hash) {
            duplicates.push((d.contribution, *first));
            continue;
        }
        seen.insert(hash, d.contribution);
        kept.push(Pending { contribution: d.contribution, content_hash: hash, tokens: d.tokens });
    }
    Ok((kept, duplicates))
}

impl Index {
    /// Builds the index of `docs` in memory, in one shard. Documents with a content hash seen
    /// before are refused as duplicates (the first one keeps the credit) and listed in the
    /// manifest.
    pub fn build(docs: Vec<Document>, tokenizer: &str) -> Result<Self> {
        Self::build_with(docs, tokenizer, BuildOptions::default())
    }

    /// [`Index::build`] with layout options.
    pub fn build_with(docs: Vec<Document>, tokenizer: &str, options: BuildOptions) -> Result<Self> {
        ensure!(!docs.is_empty(), "the corpus is empty: nothing to index");
        let (pending, duplicates) = dedupe(docs, &mut HashMap::new(), &mut HashSet::new())?;
        let near_duplicates = crate::minhash::near_duplicates(
            pending.iter().map(|d| (d.contribution, d.tokens.as_slice())),
        );
        let shard = shard::build(pending, options.wide_positions)?;
        let snapshot = shard.docs().iter().fold([0u8; 32], chain);
        let manifest = Manifest {
            version: FORMAT_VERSION,
            tokenizer: tokenizer.to_string(),
            tokens: shard.len(),
            documents: shard.docs().len() as u64,
            shards: vec![Self::entry(0, shard.as_ref(), &snapshot)],
            duplicates,
            near_duplicates,
        };
        Ok(Self {
            shards: vec![shard],
            first_doc: vec![0],
            manifest,
            snapshot,
            masked: Default::default(),
        })
    }

    fn entry(k: usize, shard: &dyn ShardOps, snapshot: &[u8; 32]) -> ShardEntry {
        let (token_bytes, position_bytes) = shard.widths();
        ShardEntry {
            name: shard_name(k),
            tokens: shard.len(),
            documents: shard.docs().len() as u64,
            token_bytes,
            position_bytes,
            snapshot_hash: hash_hex(snapshot),
        }
    }

    /// Writes the index to `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (shard, entry) in self.shards.iter().zip(&self.manifest.shards) {
            shard.write(&dir.join(&entry.name))?;
        }
        Self::write_manifest(dir, &self.manifest)
    }

    /// Replaces `manifest.json` atomically (written aside, then renamed over it).
    fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
        let tmp = dir.join("manifest.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(manifest)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, dir.join("manifest.json"))
            .with_context(|| format!("cannot replace the manifest in {}", dir.display()))
    }

    /// Loads (maps) the index in `dir`, checking that its files agree with its manifest.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest_path = dir.join("manifest.json");
        let raw = fs::read(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let version = serde_json::from_slice::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| v.get("version").and_then(|v| v.as_u64()));
        if let Some(v) = version.filter(|v| *v != u64::from(FORMAT_VERSION)) {
            bail!(
                "index format {v} is not supported (expected {FORMAT_VERSION}): rebuild it with \
                 `provena-attribution index`"
            );
        }
        let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| {
            anyhow!("corrupt index: {} is not a valid manifest: {e}", manifest_path.display())
        })?;
        ensure!(!manifest.shards.is_empty(), "corrupt index: the manifest lists no shards");
        let mut shards = Vec::with_capacity(manifest.shards.len());
        let mut first_doc = Vec::with_capacity(manifest.shards.len());
        let (mut tokens, mut documents) = (0u64, 0u64);
        for e in &manifest.shards {
            ensure!(valid_shard_name(&e.name), "corrupt index: bad shard name {:?}", e.name);
            let shard = shard::open(
                &dir.join(&e.name),
                (e.token_bytes, e.position_bytes),
                e.tokens,
                e.documents,
            )?;
            shard.check(false)?;
            first_doc.push(usize::try_from(documents)?);
            tokens = tokens.saturating_add(e.tokens);
            documents = documents.saturating_add(e.documents);
            shards.push(shard);
        }
        ensure!(
            tokens == manifest.tokens && documents == manifest.documents,
            "corrupt index: the shards hold {tokens} tokens and {documents} documents, the \
             manifest says {} and {}",
            manifest.tokens,
            manifest.documents
        );
        let last = manifest.shards.last().map(|e| e.snapshot_hash.as_str()).unwrap_or_default();
        let snapshot = parse_hash(0, last).context("corrupt index: bad snapshot hash")?;
        Ok(Self { shards, first_doc, manifest, snapshot, masked: Default::default() })
    }

    /// Every check, not a sample: documents tile each shard, and the snapshot hash recomputed
    /// from the documents equals the manifest's after every shard.
    pub fn verify(&self) -> Result<()> {
        let mut h = [0u8; 32];
        for (shard, e) in self.shards.iter().zip(&self.manifest.shards) {
            shard.check(true)?;
            h = shard.docs().iter().fold(h, chain);
            ensure!(
                hash_hex(&h) == e.snapshot_hash,
                "corrupt index: {}'s documents do not hash to the manifest's snapshot hash",
                e.name
            );
        }
        Ok(())
    }

    /// Indexes the documents of `docs` (a new snapshot of the datanet) that the index in `dir`
    /// does not hold yet, in a new shard; earlier shards are not touched. The shard is written
    /// before the manifest names it (atomically), so an interrupted append leaves the index as
    /// it was; `.append.lock` keeps a second writer out. Returns the grown index and what was
    /// added.
    pub fn append(
        dir: &Path,
        docs: Vec<Document>,
        tokenizer: &str,
        options: BuildOptions,
    ) -> Result<(Self, AppendReport)> {
        // One writer at a time: a second append would pick the same shard name.
        let lock_path = dir.join(".append.lock");
        fs::OpenOptions::new().write(true).create_new(true).open(&lock_path).with_context(
            || {
                format!(
                    "another append holds {} (remove it if none is running)",
                    lock_path.display()
                )
            },
        )?;
        let result = Self::append_locked(dir, docs, tokenizer, options);
        let _ = fs::remove_file(&lock_path);
        result
    }

    fn append_locked(
        dir: &Path,
        docs: Vec<Document>,
        tokenizer: &str,
        options: BuildOptions,
    ) -> Result<(Self, AppendReport)> {
        let old = Self::open(dir)?;
        ensure!(
            old.manifest.tokenizer == tokenizer,
            "the index was built with the tokenizer {}, not {tokenizer}",
            old.manifest.tokenizer
        );
        let mut seen: HashMap<[u8; 32], u64> = HashMap::new();
        let mut contributions: HashSet<u64> = HashSet::new();
        for d in old.shards.iter().flat_map(|s| s.docs()) {
            seen.insert(d.content_hash, d.contribution);
            contributions.insert(d.contribution);
        }
        // Refused duplicates were indexed (as their original) already.
        contributions.extend(old.manifest.duplicates.iter().map(|(refused, _)| *refused));
        let before = docs.len() as u64;
        let docs: Vec<Document> =
            docs.into_iter().filter(|d| !contributions.contains(&d.contribution)).collect();
        let mut report = AppendReport {
            already_indexed: before.saturating_sub(docs.len() as u64),
            ..Default::default()
        };
        let (pending, duplicates) = dedupe(docs, &mut seen, &mut contributions)?;
        report.duplicates = duplicates.clone();
        let mut manifest = old.manifest.clone();
        manifest.duplicates.extend(duplicates);
        if pending.is_empty() {
            if !report.duplicates.is_empty() {
                Self::write_manifest(dir, &manifest)?;
            }
            return Ok((Self::open(dir)?, report));
        }
        // Near-duplicates between the new documents and every document (old ones re-read).
        let mut signed = Vec::new();
        let mut buf = Vec::new();
        for (shard, d) in old.shards.iter().flat_map(|s| s.docs().iter().map(move |d| (s, d))) {
            buf.clear();
            let start = usize::try_from(d.start)?;
            buf.extend(
                (start..start.saturating_add(usize::try_from(d.len)?))
                    .filter_map(|i| shard.token(i)),
            );
            if let Some(sig) = crate::minhash::signature(&buf) {
                signed.push((d.contribution, sig));
            }
        }
        let first_new = signed.len();
        signed.extend(
            pending
                .iter()
                .filter_map(|d| crate::minhash::signature(&d.tokens).map(|s| (d.contribution, s))),
        );
        manifest.near_duplicates.extend(crate::minhash::pairs(&signed, first_new));
        let shard = shard::build(pending, options.wide_positions)?;
        let snapshot = shard.docs().iter().fold(old.snapshot, chain);
        let entry = Self::entry(old.shards.len(), shard.as_ref(), &snapshot);
        let shard_dir = dir.join(&entry.name);
        if shard_dir.exists() {
            // Left by an interrupted append: the manifest does not name it.
            fs::remove_dir_all(&shard_dir)
                .with_context(|| format!("cannot clear {}", shard_dir.display()))?;
        }
        shard.write(&shard_dir)?;
        report.shard = Some(entry.name.clone());
        report.documents = entry.documents;
        report.tokens = entry.tokens;
        manifest.tokens = manifest.tokens.saturating_add(entry.tokens);
        manifest.documents = manifest.documents.saturating_add(entry.documents);
        manifest.shards.push(entry);
        Self::write_manifest(dir, &manifest)?;
        drop(old);
        Ok((Self::open(dir)?, report))
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// A shard's tokens as `u32` (the separator as `u32::MAX`): a copy, for tests and tools.
    pub fn shard_tokens(&self, shard: usize) -> Vec<u32> {
        self.shards.get(shard).map_or_else(Vec::new, |s| {
            (0..usize::try_from(s.len()).unwrap_or(0)).filter_map(|i| s.token(i)).collect()
        })
    }

    /// A shard's suffix array: a copy, for tests and tools.
    pub fn shard_positions(&self, shard: usize) -> Vec<u64> {
        self.shards.get(shard).map_or_else(Vec::new, |s| {
            (0..usize::try_from(s.len()).unwrap_or(0)).filter_map(|i| s.sa_entry(i)).collect()
        })
    }

    /// The document numbered `i` over all shards (one record read).
    pub fn document(&self, i: usize) -> Option<DocEntry> {
        let shard = self.first_doc.partition_point(|f| *f <= i).checked_sub(1)?;
        let d = self.shards.get(shard)?.docs().get(i.checked_sub(*self.first_doc.get(shard)?)?)?;
        Some(DocEntry {
            contribution: d.contribution,
            content_hash: hash_hex(&d.content_hash),
            shard,
            start: d.start,
            len: d.len,
        })
    }

    /// Stops crediting these contributions (withdrawn or slashed), without rebuilding.
    pub fn mask(&self, contributions: impl IntoIterator<Item = u64>) {
        if let Ok(mut m) = self.masked.write() {
            m.extend(contributions);
        }
    }

    /// Replaces the masked set (a refresh from the chain); returns whether it changed.
    pub fn set_mask(&self, contributions: BTreeSet<u64>) -> bool {
        match self.masked.write() {
            Ok(mut m) if *m != contributions => {
                *m = contributions;
                true
            }
            _ => false,
        }
    }

    /// Whether a contribution is masked.
    pub fn is_masked(&self, contribution: u64) -> bool {
        self.masked.read().map(|m| m.contains(&contribution)).unwrap_or(false)
    }

    /// The contributions the index holds, in corpus order.
    pub fn contributions(&self) -> Vec<u64> {
        self.shards.iter().flat_map(|s| s.docs().iter().map(|d| d.contribution)).collect()
    }

    /// Checks a query's length.
    fn check_query(query: &[u32]) -> Result<()> {
        ensure!(
            query.len() <= MAX_QUERY_TOKENS,
            "the query has {} tokens; at most {MAX_QUERY_TOKENS} (the context) are allowed",
            query.len()
        );
        Ok(())
    }

    /// How many times `query` occurs in the corpus.
    pub fn count(&self, query: &[u32]) -> Result<u64> {
        Self::check_query(query)?;
        Ok(self.shards.iter().map(|s| s.count(query)).sum())
    }

    /// The longest prefix of `query[start..]` that occurs in the corpus, with its occurrences.
    pub fn longest_match_at(&self, query: &[u32], start: usize) -> Result<Match> {
        Self::check_query(query)?;
        let found: Vec<(usize, Range<usize>)> =
            self.shards.iter().map(|s| s.longest_match_at(query, start, 0)).collect();
        Ok(Self::combine(found.iter().enumerate()))
    }

    /// The longest match at `start` over all shards, given that `query[start..start + known]`
    /// occurs in one of them.
    fn longest_match_known(&self, query: &[u32], start: usize, known: usize) -> Match {
        let found: Vec<(usize, Range<usize>)> =
            self.shards.iter().map(|s| s.longest_match_at(query, start, known)).collect();
        Self::combine(found.iter().enumerate())
    }

    /// Whether `run` occurs in the corpus.
    fn occurs(&self, run: &[u32]) -> bool {
        self.shards.iter().any(|s| s.occurs(run))
    }

    /// The longest of per-shard matches and the ranges of the shards that reach it.
    fn combine<'a>(
        per_shard: impl Iterator<Item = (usize, &'a (usize, Range<usize>))> + Clone,
    ) -> Match {
        let len = per_shard.clone().map(|(_, (l, _))| *l).max().unwrap_or(0);
        if len == 0 {
            return Match { len: 0, count: 0, ranges: Vec::new() };
        }
        let ranges: Vec<(usize, Range<usize>)> = per_shard
            .filter(|(_, (l, r))| *l == len && !r.is_empty())
            .map(|(k, (_, r))| (k, r.clone()))
            .collect();
        let count = ranges.iter().map(|(_, r)| r.len() as u64).sum();
        Match { len, count, ranges }
    }

    /// The snapshot hash: `H_0` = 32 zero bytes, `H_k` = BLAKE2b-256(`H_{k−1}` ‖ contribution
    /// ‖ content hash ‖ length in tokens) over the documents in corpus order (integers
    /// little-endian `u64`); read from the manifest, recomputed by [`Index::verify`].
    pub fn snapshot_hash(&self) -> [u8; 32] {
        self.snapshot
    }

    /// The documents (global numbers, ascending) holding the occurrences in `ranges`.
    pub fn documents_of(&self, ranges: &[(usize, Range<usize>)]) -> Vec<usize> {
        let mut out = BTreeSet::new();
        for (k, r) in ranges {
            let (Some(s), Some(first)) = (self.shards.get(*k), self.first_doc.get(*k)) else {
                continue;
            };
            out.extend(s.documents_in(r.clone()).into_iter().map(|d| first.saturating_add(d)));
        }
        out.into_iter().collect()
    }

    /// The maximal spans of `query` that occur in the corpus: for each position, the longest
    /// match starting there (over all shards), kept when it is not inside the previous
    /// position's match, at least `min_len` tokens long and occurring at most `max_freq` times.
    ///
    /// Only the positions that start a maximal match are matched. After a match
    /// `query[i..e]`, the next one starts at the first `j` in `(i, e]` for which
    /// `query[j..=e]` occurs (whether it does is monotone in `j`: a binary search of existence
    /// probes), or after `e` when none does; the positions in between, whose matches end inside
    /// the last one, are never searched (an answer that copies a document and goes on costs
    /// `O(L log L)` for the copy of length `L`, not `O(L²)`). A periodic stretch of the answer
    /// (a repeated-token loop, a repeated phrase) repeats its maximal matches: when the last
    /// two matches have the same length `L`, start `p ≤ L` apart and the answer repeats with
    /// period `p` over them, the next match is the last one shifted by `p` with the same
    /// occurrences, confirmed by comparing the `p` new answer tokens (a loop of `n` tokens
    /// costs `O(n)`, not `O(n · L)`). Otherwise the work is the sum over maximal matches of
    /// `O((L + log N) · log L)` token comparisons per shard; making it grow like `n · L`
    /// takes a corpus holding `n` different maximal runs of length `L` each, i.e. `n · L`
    /// contributed tokens.
    pub fn maximal_spans(&self, query: &[u32], min_len: usize, max_freq: u64) -> Result<Vec<Span>> {
        Self::check_query(query)?;
        let n = query.len();
        let mut spans = Vec::new();
        let mut period = Periodicity::default();
        // The match at `start` when a period gave it; the last maximal match (start, length)
        // when `start` was found after it by the search or by a period.
        let mut repeated: Option<Match> = None;
        let mut prev: Option<(usize, usize)> = None;
        let (mut start, mut known) = (0usize, 0usize);
        while start < n {
            let m = match repeated.take() {
                Some(m) => m,
                None => self.longest_match_known(query, start, known),
            };
            if m.len == 0 {
                start = start.saturating_add(1);
                known = 0;
                prev = None;
                continue;
            }
            let end = start.saturating_add(m.len);
            if m.len >= min_len && m.count <= max_freq {
                spans.push(Span { start, len: m.len, count: m.count, ranges: m.ranges.clone() });
            }
            if end >= n {
                // Every later match ends inside this one: none is maximal.
                break;
            }
            if let Some((h, len)) = prev {
                // The last two matches have the same length and start `p` apart: if the answer
                // repeats with period `p` from here through the token after the next match, the
                // next match is this one shifted by `p` (the search would find `start + p`, as
                // it found `start` after `h`) with the same occurrences.
                let p = start.saturating_sub(h);
                let to = end.saturating_add(p).min(n.saturating_sub(1));
                if len == m.len
                    && p > 0
                    && p <= m.len
                    && end.saturating_add(p) <= n
                    && period.holds(query, p, start.saturating_add(1), to)
                {
                    prev = Some((start, m.len));
                    start = start.saturating_add(p);
                    repeated = Some(m);
                    continue;
                }
            }
            prev = Some((start, m.len));
            // The first `j` in (start, end] for which `query[j..=end]` occurs, if any.
            let probe = |j: usize| self.occurs(query.get(j..=end).unwrap_or(&[]));
            if probe(end) {
                let (mut lo, mut hi) = (start.saturating_add(1), end);
                while lo < hi {
                    let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
                    if probe(mid) {
                        hi = mid;
                    } else {
                        lo = mid.saturating_add(1);
                    }
                }
                known = end.saturating_add(1).saturating_sub(lo);
                start = lo;
            } else {
                // The token after the match occurs nowhere: the next match starts after it.
                known = 0;
                start = end.saturating_add(1);
                prev = None;
            }
        }
        Ok(spans)
    }
}

/// A range of an answer over which it repeats with a period, `query[x] == query[x − p]`,
/// remembered so that a loop's checks compare each answer token once.
#[derive(Default)]
struct Periodicity {
    p: usize,
    /// Checked for `x` in `from..=to` (none when `p` is 0).
    from: usize,
    to: usize,
}

impl Periodicity {
    /// Whether `query[x] == query[x − p]` for every `x` in `a..=b`.
    fn holds(&mut self, query: &[u32], p: usize, a: usize, b: usize) -> bool {
        let same = |x: usize| {
            x.checked_sub(p).and_then(|y| query.get(y)).is_some_and(|v| query.get(x) == Some(v))
        };
        let known = self.p == p && p > 0 && self.from <= a && a <= self.to.saturating_add(1);
        let first = if known { self.to.saturating_add(1).max(a) } else { a };
        if !(first..=b).all(same) {
            return false;
        }
        if known {
            self.to = self.to.max(b);
        } else {
            *self = Self { p, from: a, to: b };
        }
        true
    }
}

/// Whether `needle` occurs in `haystack` as a contiguous run.
pub fn contains_run(haystack: &[u32], needle: &[u32]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Fails unless the build's target is little-endian (the index files are little-endian).
pub fn ensure_little_endian() -> Result<()> {
    if cfg!(target_endian = "big") {
        bail!("the index format is little-endian; this machine is not");
    }
    Ok(())
}
