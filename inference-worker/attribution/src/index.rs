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

#[cfg(test)]
thread_local! {
    /// Corpus tokens compared by this thread's searches (tests bound the matcher's work).
    static COMPARED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

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
        Ok(self.bound(&p, true).saturating_sub(self.bound(&p, false)) as u64)
    }

    /// The length of the longest prefix of `query[start..]` that occurs in the corpus, and the
    /// suffix-array range of its occurrences.
    pub fn longest_match_at(&self, query: &[u32], start: usize) -> Result<(usize, Range<usize>)> {
        let p = Self::pattern(query)?;
        Ok(self.longest_match(&p, start, 0))
    }

    /// Compares the suffix at `pos` with `pattern` from offset `skip` (the first `skip` tokens
    /// are known equal); returns the order (a suffix that ends first is less) and the length of
    /// their common prefix.
    fn cmp_from(&self, pos: usize, pattern: &[u16], skip: usize) -> (Ordering, usize) {
        let suffix = self.tokens().get(pos..).unwrap_or(&[]);
        let mut i = skip;
        loop {
            #[cfg(test)]
            COMPARED.with(|c| c.set(c.get().saturating_add(1)));
            match (suffix.get(i), pattern.get(i)) {
                (_, None) => return (Ordering::Equal, i),
                (None, Some(_)) => return (Ordering::Less, i),
                (Some(a), Some(b)) if a == b => i = i.saturating_add(1),
                (Some(a), Some(b)) => return (a.cmp(b), i),
            }
        }
    }

    /// The first suffix-array index whose suffix is not below `pattern` (or, `upper`, is above
    /// it). A binary search that skips what both bounds are known to share with the pattern
    /// (Manber and Myers): O(|pattern| + log N) token comparisons, not O(|pattern| · log N).
    fn bound(&self, pattern: &[u16], upper: bool) -> usize {
        let sa = self.sa();
        let (mut lo, mut hi) = (0usize, sa.len());
        let (mut lo_lcp, mut hi_lcp) = (0usize, 0usize);
        while lo < hi {
            let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
            let pos = sa.get(mid).map_or(0, |p| *p as usize);
            let (ord, lcp) = self.cmp_from(pos, pattern, lo_lcp.min(hi_lcp));
            let right = if upper { ord != Ordering::Greater } else { ord == Ordering::Less };
            if right {
                lo = mid.saturating_add(1);
                lo_lcp = lcp;
            } else {
                hi = mid;
                hi_lcp = lcp;
            }
        }
        lo
    }

    /// Narrows `range`, whose suffixes all share `len` tokens with the pattern, to those whose
    /// next token is `token`: one token compared per probe.
    fn extend(&self, range: Range<usize>, len: usize, token: u16) -> Range<usize> {
        let t = self.tokens();
        let slice = self.sa().get(range.clone()).unwrap_or(&[]);
        // A suffix that ends at `len` sorts first.
        let key = |p: &u32| {
            #[cfg(test)]
            COMPARED.with(|c| c.set(c.get().saturating_add(1)));
            t.get((*p as usize).saturating_add(len)).map(|&x| i32::from(x)).unwrap_or(-1)
        };
        let lo = slice.partition_point(|p| key(p) < i32::from(token));
        let hi = slice.partition_point(|p| key(p) <= i32::from(token));
        range.start.saturating_add(lo)..range.start.saturating_add(hi)
    }

    /// The longest match of `p[start..]`, given that its first `known` tokens occur (the match
    /// at the previous position, one shorter): they are found in one accelerated search, then
    /// the match grows one compared token at a time.
    fn longest_match(
        &self,
        p: &[Option<u16>],
        start: usize,
        known: usize,
    ) -> (usize, Range<usize>) {
        let rest = p.get(start..).unwrap_or(&[]);
        let known_run: Vec<u16> = rest.iter().take(known).map_while(|t| *t).collect();
        let mut len = known_run.len();
        let mut range = if len == 0 {
            0..self.sa().len()
        } else {
            self.bound(&known_run, false)..self.bound(&known_run, true)
        };
        if range.is_empty() {
            return (0, 0..0);
        }
        while let Some(Some(tok)) = rest.get(len) {
            let next = self.extend(range.clone(), len, *tok);
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

    /// What identifies the snapshot: BLAKE2b-256 of the SCALE-encoded documents (contribution,
    /// content hash, first token, length) in corpus order.
    pub fn snapshot_hash(&self) -> [u8; 32] {
        use codec::Encode;
        let docs: Vec<(u64, &str, u64, u64)> = self
            .manifest
            .documents
            .iter()
            .map(|d| (d.contribution, d.content_hash.as_str(), d.start, d.len))
            .collect();
        provena_primitives::content_hash(&docs.encode()).0
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
        // The match at `start + 1` is at least the match at `start` less its first token.
        let mut known = 0usize;
        for start in 0..p.len() {
            if prev_end == p.len() {
                // Every later match ends inside the last one: none is maximal.
                break;
            }
            let (len, range) = self.longest_match(&p, start, known);
            known = len.saturating_sub(1);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn index(docs: Vec<Vec<u32>>) -> Index {
        let docs = docs
            .into_iter()
            .enumerate()
            .map(|(i, tokens)| Document {
                contribution: i as u64,
                content_hash: format!("0x{i:064x}"),
                tokens,
            })
            .collect();
        Index::build(docs, "test").unwrap()
    }

    /// A deterministic pseudo-random text over a 5,000-token vocabulary.
    fn text(seed: u64, len: usize) -> Vec<u32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 33) % 5000) as u32
            })
            .collect()
    }

    fn compared(f: impl FnOnce()) -> u64 {
        COMPARED.with(|c| c.set(0));
        f();
        COMPARED.with(|c| c.get())
    }

    #[test]
    fn the_matcher_finds_the_same_spans_as_a_plain_search() {
        let corpus: Vec<Vec<u32>> = (0..20).map(|i| text(i, 300)).collect();
        let idx = index(corpus.clone());
        // An answer stitched from pieces of documents and new text.
        let mut answer = corpus[3][10..60].to_vec();
        answer.extend(text(99, 20));
        answer.extend(&corpus[7][100..140]);
        answer.extend(&corpus[7][100..110]);
        let spans = idx.maximal_spans(&answer, 1, u64::MAX).unwrap();
        // Every span occurs as often as the brute-force count says, and is maximal.
        for s in &spans {
            let run = &answer[s.start..s.start + s.len];
            let brute = corpus
                .iter()
                .map(|d| d.windows(run.len()).filter(|w| *w == run).count() as u64)
                .sum::<u64>();
            assert_eq!(s.count, brute, "{s:?}");
            if let Some(next) = answer.get(s.start + s.len) {
                let mut longer = run.to_vec();
                longer.push(*next);
                assert_eq!(idx.count(&longer).unwrap(), 0, "{s:?} is not maximal");
            }
        }
        let long: Vec<usize> = spans.iter().filter(|s| s.len >= 10).map(|s| s.len).collect();
        // The piece of document 7 quoted twice is credited twice.
        assert_eq!(long, vec![50, 40, 10]);
    }

    #[test]
    fn an_answer_that_copies_the_corpus_costs_linear_work() {
        let doc = text(1, 4_000);
        let idx = index(vec![doc.clone(), text(2, 4_000)]);
        let n = doc.len() as u64;
        let work = compared(|| {
            let spans = idx.maximal_spans(&doc, 5, u64::MAX).unwrap();
            assert_eq!(spans.len(), 1);
            assert_eq!(spans[0].len, doc.len());
        });
        // One comparison or a few per answer token (log N probes per extension).
        assert!(work <= 40 * n, "{work} comparisons for {n} tokens");
    }

    #[test]
    fn a_repeated_token_loop_costs_linear_work() {
        // The corpus holds a run of 64 identical tokens; the answer repeats it 4,000 times.
        let mut doc = text(3, 500);
        doc.extend(std::iter::repeat_n(7u32, 64));
        let idx = index(vec![doc]);
        let answer = vec![7u32; 4_000];
        let n = answer.len() as u64;
        let work = compared(|| {
            let spans = idx.maximal_spans(&answer, 5, u64::MAX).unwrap();
            assert!(spans.iter().all(|s| s.len == 64));
        });
        // Each position re-finds the 63 tokens it knows occur in one accelerated search, then
        // compares one new token per extension: at most 2 · n · L · log₂ N comparisons (L the
        // match length), where growing each match one token at a time with whole-prefix
        // comparisons cost n · L² · log₂ N (147 million here).
        let log_n = (idx.tokens().len() as f64).log2().ceil() as u64;
        assert!(work <= 2 * n * 64 * log_n, "{work} comparisons for {n} tokens");
    }
}
