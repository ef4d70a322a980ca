//! One shard of the index: a token array over some documents, its suffix array and its
//! document table; the searches run on each shard and are combined by [`super::Index`].
//!
//! A shard stores tokens as `u16` when every id is below 65,535 and as `u32` otherwise
//! (Llama 3, Qwen2), and suffix-array positions as `u32` below 2^31 − 1 tokens and as `u64`
//! past it. The document table is an array of fixed-size records ([`DocRecord`]), mapped: a
//! lookup is one read, and nothing is parsed when a shard is opened.

use super::store::{Store, SuffixArray, Width, NARROW_SA_LIMIT};
use anyhow::{anyhow, ensure, Result};
use std::{cmp::Ordering, collections::BTreeSet, ops::Range, path::Path};

#[cfg(test)]
thread_local! {
    /// Corpus tokens compared by this thread's searches (tests bound the matcher's work).
    pub(crate) static COMPARED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn compared() {
    #[cfg(test)]
    COMPARED.with(|c| c.set(c.get().saturating_add(1)));
}

/// One document in a shard's `docs.bin`: 56 bytes, little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct DocRecord {
    /// The contribution id on chain.
    pub contribution: u64,
    /// Its content hash (BLAKE2b-256 of the file's bytes).
    pub content_hash: [u8; 32],
    /// Its first token's position in the shard.
    pub start: u64,
    /// Its length in tokens.
    pub len: u64,
}

/// A document ready to be placed in a shard.
pub(crate) struct Pending {
    pub contribution: u64,
    pub content_hash: [u8; 32],
    pub tokens: Vec<u32>,
}

/// What the index asks of a shard, whatever its widths.
pub(crate) trait ShardOps: Send + Sync {
    /// Tokens, separators included.
    fn len(&self) -> u64;
    /// Bytes per token and per suffix-array entry.
    fn widths(&self) -> (usize, usize);
    /// The document table.
    fn docs(&self) -> &[DocRecord];
    /// The token at `i`; the separator reads as `u32::MAX`.
    fn token(&self, i: usize) -> Option<u32>;
    /// The suffix-array entry at `i`.
    fn sa_entry(&self, i: usize) -> Option<u64>;
    /// Occurrences of `query`.
    fn count(&self, query: &[u32]) -> u64;
    /// Whether `query` occurs (one binary search, where a count takes two).
    fn occurs(&self, query: &[u32]) -> bool;
    /// The longest match of `query[start..]` and its suffix-array range, given that its first
    /// `known` tokens occur in the corpus (if they do not occur in this shard, the answer is
    /// `(0, 0..0)`: another shard holds a longer match).
    fn longest_match_at(&self, query: &[u32], start: usize, known: usize) -> (usize, Range<usize>);
    /// The documents (indices into [`ShardOps::docs`]) holding the occurrences in `range`.
    fn documents_in(&self, range: Range<usize>) -> BTreeSet<usize>;
    /// Writes the shard's files into `dir`.
    fn write(&self, dir: &Path) -> Result<()>;
    /// Structural checks: a sample (`full` = false, when opening) or every document.
    fn check(&self, full: bool) -> Result<()>;
}

/// A shard with `T` tokens and `P` positions.
pub(crate) struct Shard<T: Width, P: Width> {
    tokens: Store<T>,
    sa: Store<P>,
    docs: Store<DocRecord>,
}

/// Builds a shard of `docs` in memory, choosing its widths (`wide_sa` forces 64-bit positions).
pub(crate) fn build(docs: Vec<Pending>, wide_sa: bool) -> Result<Box<dyn ShardOps>> {
    let total: u64 = docs.iter().map(|d| (d.tokens.len() as u64).saturating_add(1)).sum();
    let wide_tokens = docs.iter().flat_map(|d| &d.tokens).any(|t| *t >= u32::from(u16::MAX));
    let wide_sa = wide_sa || total >= NARROW_SA_LIMIT;
    Ok(match (wide_tokens, wide_sa) {
        (false, false) => Box::new(Shard::<u16, u32>::build(docs, total)?),
        (false, true) => Box::new(Shard::<u16, u64>::build(docs, total)?),
        (true, false) => Box::new(Shard::<u32, u32>::build(docs, total)?),
        (true, true) => Box::new(Shard::<u32, u64>::build(docs, total)?),
    })
}

/// Opens the shard in `dir` with the widths and sizes its manifest entry gives.
pub(crate) fn open(
    dir: &Path,
    widths: (usize, usize),
    tokens: u64,
    documents: u64,
) -> Result<Box<dyn ShardOps>> {
    Ok(match widths {
        (2, 4) => Box::new(Shard::<u16, u32>::open(dir, tokens, documents)?),
        (2, 8) => Box::new(Shard::<u16, u64>::open(dir, tokens, documents)?),
        (4, 4) => Box::new(Shard::<u32, u32>::open(dir, tokens, documents)?),
        (4, 8) => Box::new(Shard::<u32, u64>::open(dir, tokens, documents)?),
        (t, p) => {
            return Err(anyhow!(
                "corrupt index: unknown widths ({t}-byte tokens, {p}-byte positions)"
            ))
        }
    })
}

fn file<W: Width>(dir: &Path, stem: &str) -> std::path::PathBuf {
    dir.join(format!("{stem}.{}", W::NAME))
}

impl<T: Width + SuffixArray<P>, P: Width> Shard<T, P> {
    fn build(docs: Vec<Pending>, total: u64) -> Result<Self> {
        let mut tokens: Vec<T> = Vec::with_capacity(usize::try_from(total)?);
        let mut records = Vec::with_capacity(docs.len());
        for d in docs {
            let start = tokens.len() as u64;
            for t in &d.tokens {
                let t = T::from_u64(u64::from(*t)).filter(|t| *t != T::MAX).ok_or_else(|| {
                    anyhow!("contribution {}: token id {t} does not fit the index", d.contribution)
                })?;
                tokens.push(t);
            }
            tokens.push(T::MAX);
            records.push(DocRecord {
                contribution: d.contribution,
                content_hash: d.content_hash,
                start,
                len: d.tokens.len() as u64,
            });
        }
        let sa = T::suffix_array(&tokens)?;
        Ok(Self { tokens: Store::Owned(tokens), sa: Store::Owned(sa), docs: Store::Owned(records) })
    }
}

impl<T: Width, P: Width> Shard<T, P> {
    fn open(dir: &Path, tokens: u64, documents: u64) -> Result<Self> {
        let name = |p: &Path| p.display().to_string();
        let (t, s, d) = (file::<T>(dir, "tokens"), file::<P>(dir, "sa"), dir.join("docs.bin"));
        Ok(Self {
            tokens: Store::open(&t, tokens, &name(&t))?,
            sa: Store::open(&s, tokens, &name(&s))?,
            docs: Store::open(&d, documents, &name(&d))?,
        })
    }

    fn t(&self) -> &[T] {
        self.tokens.as_slice()
    }

    fn sa(&self) -> &[P] {
        self.sa.as_slice()
    }

    fn pos(&self, i: usize) -> usize {
        self.sa().get(i).map_or(usize::MAX, |p| usize::try_from(p.to_u64()).unwrap_or(usize::MAX))
    }

    /// A query token in this shard's width; an id it cannot hold occurs nowhere (`None`).
    fn token_of(t: u32) -> Option<T> {
        T::from_u64(u64::from(t)).filter(|t| *t != T::MAX)
    }

    /// Compares the suffix at `pos` with `pattern` from offset `skip` (the first `skip` tokens
    /// are known equal); returns the order (a suffix that ends first is less) and the length of
    /// their common prefix.
    fn cmp_from(&self, pos: usize, pattern: &[T], skip: usize) -> (Ordering, usize) {
        let suffix = self.t().get(pos..).unwrap_or(&[]);
        let mut i = skip;
        loop {
            compared();
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
    fn bound(&self, pattern: &[T], upper: bool) -> usize {
        let (mut lo, mut hi) = (0usize, self.sa().len());
        let (mut lo_lcp, mut hi_lcp) = (0usize, 0usize);
        while lo < hi {
            let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
            let (ord, lcp) = self.cmp_from(self.pos(mid), pattern, lo_lcp.min(hi_lcp));
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
    fn extend(&self, range: Range<usize>, len: usize, token: T) -> Range<usize> {
        let t = self.t();
        let slice = self.sa().get(range.clone()).unwrap_or(&[]);
        // A suffix that ends at `len` sorts first (`None` < `Some`).
        let key = |p: &P| {
            compared();
            usize::try_from(p.to_u64()).ok().and_then(|p| t.get(p.saturating_add(len)).copied())
        };
        let lo = slice.partition_point(|p| key(p) < Some(token));
        let hi = slice.partition_point(|p| key(p) <= Some(token));
        range.start.saturating_add(lo)..range.start.saturating_add(hi)
    }

    /// The longest match of `query[start..]`, given that its first `known` tokens occur: they
    /// are found in one accelerated search, then the match grows one compared token at a time.
    /// Query tokens are converted as they are read (a match reads only its own tokens).
    fn longest_match(&self, query: &[u32], start: usize, known: usize) -> (usize, Range<usize>) {
        let rest = query.get(start..).unwrap_or(&[]);
        let known_run: Vec<T> = rest.iter().take(known).map_while(|t| Self::token_of(*t)).collect();
        let mut len = known_run.len();
        let mut range = if len == 0 {
            0..self.sa().len()
        } else {
            self.bound(&known_run, false)..self.bound(&known_run, true)
        };
        if range.is_empty() {
            return (0, 0..0);
        }
        while let Some(tok) = rest.get(len).and_then(|t| Self::token_of(*t)) {
            let next = self.extend(range.clone(), len, tok);
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
}

impl<T: Width, P: Width> ShardOps for Shard<T, P> {
    fn len(&self) -> u64 {
        self.t().len() as u64
    }

    fn widths(&self) -> (usize, usize) {
        (T::BYTES, P::BYTES)
    }

    fn docs(&self) -> &[DocRecord] {
        self.docs.as_slice()
    }

    fn token(&self, i: usize) -> Option<u32> {
        let t = *self.t().get(i)?;
        Some(if t == T::MAX { u32::MAX } else { u32::try_from(t.to_u64()).ok()? })
    }

    fn sa_entry(&self, i: usize) -> Option<u64> {
        self.sa().get(i).map(|p| p.to_u64())
    }

    fn count(&self, query: &[u32]) -> u64 {
        let Some(p) = query.iter().map(|t| Self::token_of(*t)).collect::<Option<Vec<T>>>() else {
            return 0;
        };
        if p.is_empty() {
            return 0;
        }
        self.bound(&p, true).saturating_sub(self.bound(&p, false)) as u64
    }

    fn occurs(&self, query: &[u32]) -> bool {
        let Some(p) = query.iter().map(|t| Self::token_of(*t)).collect::<Option<Vec<T>>>() else {
            return false;
        };
        let first = self.bound(&p, false);
        !p.is_empty()
            && first < self.sa().len()
            && self.cmp_from(self.pos(first), &p, 0).0 == Ordering::Equal
    }

    fn longest_match_at(&self, query: &[u32], start: usize, known: usize) -> (usize, Range<usize>) {
        self.longest_match(query, start, known)
    }

    fn documents_in(&self, range: Range<usize>) -> BTreeSet<usize> {
        let docs = self.docs();
        self.sa()
            .get(range)
            .unwrap_or(&[])
            .iter()
            .filter_map(|p| docs.partition_point(|d| d.start <= p.to_u64()).checked_sub(1))
            .collect()
    }

    fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        self.tokens.write(&file::<T>(dir, "tokens"))?;
        self.sa.write(&file::<P>(dir, "sa"))?;
        self.docs.write(&dir.join("docs.bin"))
    }

    fn check(&self, full: bool) -> Result<()> {
        let (t, docs, sa) = (self.t(), self.docs(), self.sa());
        ensure!(!docs.is_empty(), "corrupt index: a shard without documents");
        // Documents tile the token array, each followed by a separator: every one, or a sample
        // of consecutive pairs (the first and last included).
        let step = if full { 1 } else { (docs.len() / 512).max(1) };
        let mut sampled: Vec<usize> = (0..docs.len()).step_by(step).collect();
        sampled.push(docs.len().saturating_sub(1));
        for i in sampled {
            let d = docs.get(i).ok_or_else(|| anyhow!("corrupt index"))?;
            let end = d.start.saturating_add(d.len);
            let next = docs.get(i.saturating_add(1)).map_or(self.len(), |n| n.start);
            ensure!(
                (i > 0 || d.start == 0) && end.checked_add(1) == Some(next),
                "corrupt index: document {} (contribution {}) does not tile the token array",
                i,
                d.contribution
            );
            ensure!(
                usize::try_from(end).ok().and_then(|e| t.get(e)) == Some(&T::MAX),
                "corrupt index: document {} is not followed by a separator",
                d.contribution
            );
        }
        // A sample of suffix-array entries is in range and in order.
        let step = (sa.len() / 1_024).max(1);
        let mut prev: Option<usize> = None;
        for i in (0..sa.len()).step_by(step) {
            let p = self.pos(i);
            ensure!(p < t.len(), "corrupt index: suffix-array entry {i} is out of range");
            if let Some(q) = prev {
                ensure!(
                    t.get(q..).cmp(&t.get(p..)) == Ordering::Less,
                    "corrupt index: suffix array out of order near entry {i}"
                );
            }
            prev = Some(p);
        }
        Ok(())
    }
}
