//! The suffix-array index of a datanet snapshot and its queries.
//!
//! ## On-disk format (directory)
//!
//! | file | content |
//! | --- | --- |
//! | `tokens.u16` | every document's tokens, little-endian `u16`, each document followed by the separator `0xFFFF` |
//! | `sa.u32` | the suffix array of `tokens.u16`, little-endian `u32` positions |
//! | `manifest.json` | format version, token count, tokenizer, the documents (contribution id, content hash, first token, length), duplicates refused and near-duplicates found (MinHash, [`crate::minhash`]) |
//!
//! That is **6 bytes per token** (2 for the token, 4 for its suffix-array entry) plus the small
//! manifest, for corpora below 2^32 tokens and vocabularies below 65,535. Both arrays are
//! memory-mapped when loaded.
//!
//! ## Queries
//!
//! A pattern's occurrences are one contiguous range of the suffix array, found by two binary
//! searches (`O(m log n)`). The longest match starting at each position of a query narrows that
//! range token by token. The separator is never part of a query, so no match crosses documents.

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::{cmp::Ordering, collections::BTreeSet, fs, ops::Range, path::Path};

/// The token between documents. Real tokens must be below it.
pub const SEPARATOR: u16 = u16::MAX;

/// The index format version written in the manifest.
pub const FORMAT_VERSION: u32 = 1;

/// The longest query the index answers (a model's context window).
pub const MAX_QUERY_TOKENS: usize = 8_192;

/// One document of the corpus: a datanet contribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocEntry {
    /// The contribution id on chain.
    pub contribution: u64,
    /// Its content hash (`0x`-hex BLAKE2b-256 of the file's bytes).
    pub content_hash: String,
    /// Its first token's position in `tokens.u16`.
    pub start: u64,
    /// Its length in tokens.
    pub len: u64,
}

/// The index manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// Tokens in `tokens.u16`, separators included.
    pub tokens: u64,
    /// The tokenizer the corpus was tokenized with.
    pub tokenizer: String,
    /// The documents in corpus order.
    pub documents: Vec<DocEntry>,
    /// Contributions refused because their content duplicates an earlier one: (refused, kept).
    pub duplicates: Vec<(u64, u64)>,
    /// Pairs of indexed contributions whose content is nearly the same (MinHash estimate of
    /// shingle Jaccard ≥ 0.8): reported for curators, both still credited for their own copy.
    #[serde(default)]
    pub near_duplicates: Vec<crate::minhash::NearDuplicate>,
}

/// A token sequence held in memory or mapped from a file.
enum Store<T: bytemuck::Pod> {
    Owned(Vec<T>),
    Mapped(memmap2::Mmap),
}

impl<T: bytemuck::Pod> Store<T> {
    fn as_slice(&self) -> &[T] {
        match self {
            Store::Owned(v) => v,
            // Checked aligned and sized at load.
            Store::Mapped(m) => bytemuck::try_cast_slice(m).unwrap_or(&[]),
        }
    }
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map(path: &Path) -> Result<memmap2::Mmap> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: the index files are written once by `Index::write` and never modified while an
    // index is loaded; a concurrent writer would be a misuse documented in the README.
    unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))
}

/// A loaded (or freshly built) index.
pub struct Index {
    tokens: Store<u16>,
    sa: Store<u32>,
    /// The manifest.
    pub manifest: Manifest,
    /// Contributions not credited; replaced while serving (see [`Index::set_mask`]).
    masked: std::sync::RwLock<BTreeSet<u64>>,
}

/// A document to index.
pub struct Document {
    /// Its contribution id.
    pub contribution: u64,
    /// Its content hash as `0x`-hex.
    pub content_hash: String,
    /// Its tokens.
    pub tokens: Vec<u32>,
}

impl Index {
    /// Builds the index of `docs` in memory. Documents with a content hash seen before are
    /// refused as duplicates (the first one keeps the credit) and listed in the manifest.
    pub fn build(docs: Vec<Document>, tokenizer: &str) -> Result<Self> {
        ensure!(!docs.is_empty(), "the corpus is empty: nothing to index");
        let total: usize = docs.iter().map(|d| d.tokens.len().saturating_add(1)).sum();
        ensure!(
            total < u32::MAX as usize,
            "the corpus has {total} tokens; the index holds at most 2^32 − 1"
        );
        let mut tokens: Vec<u16> = Vec::with_capacity(total);
        let mut documents = Vec::with_capacity(docs.len());
        let mut seen: std::collections::HashMap<String, u64> = Default::default();
        let mut duplicates = Vec::new();
        let near_duplicates = {
            let mut first: std::collections::HashSet<&str> = Default::default();
            crate::minhash::near_duplicates(
                docs.iter()
                    .filter(|d| first.insert(d.content_hash.as_str()))
                    .map(|d| (d.contribution, d.tokens.as_slice())),
            )
        };
        for d in docs {
            if let Some(kept) = seen.get(&d.content_hash) {
                duplicates.push((d.contribution, *kept));
                continue;
            }
            seen.insert(d.content_hash.clone(), d.contribution);
            let start = tokens.len() as u64;
            for t in &d.tokens {
                let t = u16::try_from(*t).ok().filter(|t| *t != SEPARATOR).ok_or_else(|| {
                    anyhow!("contribution {}: token id {t} does not fit the index (vocabulary must be below 65,535)", d.contribution)
                })?;
                tokens.push(t);
            }
            tokens.push(SEPARATOR);
            documents.push(DocEntry {
                contribution: d.contribution,
                content_hash: d.content_hash,
                start,
                len: d.tokens.len() as u64,
            });
        }
        let sa = suffix_array(&tokens)?;
        let manifest = Manifest {
            version: FORMAT_VERSION,
            tokens: tokens.len() as u64,
            tokenizer: tokenizer.to_string(),
            documents,
            duplicates,
            near_duplicates,
        };
        Ok(Self {
            tokens: Store::Owned(tokens),
            sa: Store::Owned(sa),
            manifest,
            masked: Default::default(),
        })
    }

    /// Writes the index to `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::write(dir.join("tokens.u16"), bytemuck::cast_slice::<u16, u8>(self.tokens()))?;
        fs::write(dir.join("sa.u32"), bytemuck::cast_slice::<u32, u8>(self.sa()))?;
        fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&self.manifest)?)?;
        Ok(())
    }

    /// Loads (maps) the index in `dir`, checking that its files agree with its manifest.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest_path = dir.join("manifest.json");
        let raw = fs::read(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| {
            anyhow!("corrupt index: {} is not a valid manifest: {e}", manifest_path.display())
        })?;
        ensure!(
            manifest.version == FORMAT_VERSION,
            "index format {} is not supported (expected {FORMAT_VERSION})",
            manifest.version
        );
        let tokens = map(&dir.join("tokens.u16"))?;
        let sa = map(&dir.join("sa.u32"))?;
        let n = usize::try_from(manifest.tokens)?;
        ensure!(
            tokens.len() == n.saturating_mul(2),
            "corrupt index: tokens.u16 has {} bytes, the manifest says {} tokens",
            tokens.len(),
            n
        );
        ensure!(
            sa.len() == n.saturating_mul(4),
            "corrupt index: sa.u32 has {} bytes, the manifest says {} tokens",
            sa.len(),
            n
        );
        ensure!(
            bytemuck::try_cast_slice::<u8, u16>(&tokens).is_ok()
                && bytemuck::try_cast_slice::<u8, u32>(&sa).is_ok(),
            "corrupt index: misaligned files"
        );
        let index = Self {
            tokens: Store::Mapped(tokens),
            sa: Store::Mapped(sa),
            manifest,
            masked: Default::default(),
        };
        index.check_structure()?;
        Ok(index)
    }

    /// Cheap structural checks: documents tile the token array with separators, and a sample
    /// of suffix-array entries is in range and in order.
    fn check_structure(&self) -> Result<()> {
        let t = self.tokens();
        let mut expected = 0u64;
        for d in &self.manifest.documents {
            ensure!(
                d.start == expected,
                "corrupt index: document {} starts at {} not {expected}",
                d.contribution,
                d.start
            );
            let end = d.start.saturating_add(d.len);
            ensure!(
                t.get(end as usize) == Some(&SEPARATOR),
                "corrupt index: document {} is not followed by a separator",
                d.contribution
            );
            expected = end.saturating_add(1);
        }
        ensure!(
            expected == self.manifest.tokens,
            "corrupt index: documents cover {expected} of {} tokens",
            self.manifest.tokens
        );
        let sa = self.sa();
        let step = (sa.len() / 1_024).max(1);
        let mut prev: Option<u32> = None;
        for i in (0..sa.len()).step_by(step) {
            let p = *sa.get(i).ok_or_else(|| anyhow!("corrupt index"))?;
            ensure!(
                (p as usize) < t.len(),
                "corrupt index: suffix-array entry {i} = {p} is out of range"
            );
            if let Some(q) = prev {
                ensure!(
                    self.suffix_cmp(q as usize, p as usize) == Ordering::Less,
                    "corrupt index: suffix array out of order near entry {i}"
                );
            }
            prev = Some(p);
        }
        Ok(())
    }

    fn suffix_cmp(&self, a: usize, b: usize) -> Ordering {
        let t = self.tokens();
        t.get(a..).unwrap_or(&[]).cmp(t.get(b..).unwrap_or(&[]))
    }

    /// The token array (separators included).
    pub fn tokens(&self) -> &[u16] {
        self.tokens.as_slice()
    }

    /// The suffix array.
    pub fn sa(&self) -> &[u32] {
        self.sa.as_slice()
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

    /// The contributions the index holds, in corpus order without repeats.
    pub fn contributions(&self) -> Vec<u64> {
        let mut seen = BTreeSet::new();
        self.manifest.documents.iter().map(|d| d.contribution).filter(|c| seen.insert(*c)).collect()
    }

    /// Compares the suffix at `pos` with `pattern` on the pattern's length: `Equal` when the
    /// suffix starts with the pattern.
    fn cmp_prefix(&self, pos: usize, pattern: &[u16]) -> Ordering {
        let t = self.tokens();
        let suffix = t.get(pos..).unwrap_or(&[]);
        let k = pattern.len().min(suffix.len());
        match suffix.get(..k).unwrap_or(&[]).cmp(pattern.get(..k).unwrap_or(&[])) {
            Ordering::Equal if suffix.len() < pattern.len() => Ordering::Less,
            o => o,
        }
    }

    /// The suffix-array range of the suffixes that start with `pattern`, searched within `within`.
    fn range_in(&self, pattern: &[u16], within: Range<usize>) -> Range<usize> {
        let sa = self.sa();
        let slice = sa.get(within.clone()).unwrap_or(&[]);
        let lo = slice.partition_point(|p| self.cmp_prefix(*p as usize, pattern) == Ordering::Less);
        let hi =
            slice.partition_point(|p| self.cmp_prefix(*p as usize, pattern) != Ordering::Greater);
        within.start.saturating_add(lo)..within.start.saturating_add(hi)
    }

    /// Converts query token ids, refusing ids the index cannot hold (they occur nowhere).
    fn pattern(query: &[u32]) -> Result<Vec<Option<u16>>> {
        ensure!(
            query.len() <= MAX_QUERY_TOKENS,
            "the query has {} tokens; at most {MAX_QUERY_TOKENS} (the context) are allowed",
            query.len()
        );
        Ok(query.iter().map(|t| u16::try_from(*t).ok().filter(|t| *t != SEPARATOR)).collect())
    }

    /// How many times `query` occurs in the corpus.
    pub fn count(&self, query: &[u32]) -> Result<u64> {
        let p = Self::pattern(query)?;
        let Some(p) = p.into_iter().collect::<Option<Vec<u16>>>() else { return Ok(0) };
        if p.is_empty() {
            return Ok(0);
        }
        let r = self.range_in(&p, 0..self.sa().len());
        Ok(r.len() as u64)
    }

    /// The length of the longest prefix of `query[start..]` that occurs in the corpus, and the
    /// suffix-array range of its occurrences.
    pub fn longest_match_at(&self, query: &[u32], start: usize) -> Result<(usize, Range<usize>)> {
        let p = Self::pattern(query)?;
        Ok(self.longest_match(&p, start))
    }

    fn longest_match(&self, p: &[Option<u16>], start: usize) -> (usize, Range<usize>) {
        let mut range = 0..self.sa().len();
        let mut len = 0usize;
        let mut prefix: Vec<u16> = Vec::new();
        for tok in p.get(start..).unwrap_or(&[]) {
            let Some(tok) = tok else { break };
            prefix.push(*tok);
            let next = self.range_in(&prefix, range.clone());
            if next.is_empty() {
                break;
            }
            range = next;
            len = len.saturating_add(1);
        }
        if len == 0 {
            return (0, 0..0);
        }
        (len, range)
    }

    /// The documents (indices into the manifest) holding the occurrences in `range`.
    pub fn documents_in(&self, range: Range<usize>) -> BTreeSet<usize> {
        let docs = &self.manifest.documents;
        self.sa()
            .get(range)
            .unwrap_or(&[])
            .iter()
            .filter_map(|p| {
                let i = docs.partition_point(|d| d.start <= u64::from(*p));
                i.checked_sub(1)
            })
            .collect()
    }

    /// The maximal spans of `query` that occur in the corpus: for each position, the longest
    /// match starting there, kept when it is not inside the previous position's match, at least
    /// `min_len` tokens long and occurring at most `max_freq` times.
    pub fn maximal_spans(&self, query: &[u32], min_len: usize, max_freq: u64) -> Result<Vec<Span>> {
        let p = Self::pattern(query)?;
        let mut spans = Vec::new();
        let mut prev_end = 0usize;
        for start in 0..p.len() {
            let (len, range) = self.longest_match(&p, start);
            let end = start.saturating_add(len);
            if len == 0 || end <= prev_end {
                continue;
            }
            prev_end = end;
            if len >= min_len && (range.len() as u64) <= max_freq {
                spans.push(Span { start, len, count: range.len() as u64, range });
            }
        }
        Ok(spans)
    }
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
    /// Their suffix-array range.
    pub range: Range<usize>,
}

/// The suffix array of `tokens`, built with libsais (16-bit alphabet).
pub fn suffix_array(tokens: &[u16]) -> Result<Vec<u32>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let sa: Vec<i32> = libsais::SuffixArrayConstruction::for_text(tokens)
        .in_owned_buffer32()
        .single_threaded()
        .run()
        .map_err(|e| anyhow!("suffix array construction failed: {e:?}"))?
        .into_vec();
    sa.into_iter()
        .map(|p| u32::try_from(p).map_err(|_| anyhow!("negative suffix-array entry")))
        .collect()
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
