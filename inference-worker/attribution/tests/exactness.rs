//! Exactness: the index's answers agree with naive scans of random corpora, and its suffix
//! array with a naive suffix sort — in every layout: one shard, 64-bit positions, 32-bit token
//! ids (a vocabulary past 65,535), and a corpus grown shard by shard with `Index::append`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use proptest::prelude::*;
use provena_attribution::{index::BuildOptions, Document, Index};
use std::collections::BTreeSet;

fn documents(docs: &[Vec<u32>], from: usize) -> Vec<Document> {
    docs.iter()
        .enumerate()
        .skip(from)
        .map(|(i, t)| Document {
            contribution: i as u64 * 10,
            content_hash: format!("0x{i:064x}"),
            tokens: t.clone(),
        })
        .collect()
}

fn build(docs: &[Vec<u32>]) -> Index {
    Index::build(documents(docs, 0), "test").unwrap()
}

/// The layouts every answer must agree across.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// 64-bit suffix-array positions.
    WidePositions,
    /// Token ids past 65,535 (every id shifted by 70,000), so tokens are stored as u32.
    WideTokens,
    /// The documents split over three shards: built, then appended twice.
    Sharded,
}

const SHIFT: u32 = 70_000;

/// The index of `docs` in `layout`, the corpus and a query mapping as it sees them, and the
/// directory holding it (kept alive with the index).
fn build_in(
    docs: &[Vec<u32>],
    layout: Layout,
) -> (Index, Vec<Vec<u32>>, Option<tempfile::TempDir>) {
    match layout {
        Layout::WidePositions => {
            let opts = BuildOptions { wide_positions: true };
            (Index::build_with(documents(docs, 0), "test", opts).unwrap(), docs.to_vec(), None)
        }
        Layout::WideTokens => {
            let shifted: Vec<Vec<u32>> =
                docs.iter().map(|d| d.iter().map(|t| t + SHIFT).collect()).collect();
            (build(&shifted), shifted, None)
        }
        Layout::Sharded => {
            let dir = tempfile::tempdir().unwrap();
            let cut = [docs.len() / 3, 2 * docs.len() / 3];
            let first = cut[0].max(1);
            Index::build(documents(&docs[..first], 0), "test").unwrap().write(dir.path()).unwrap();
            for end in [cut[1].max(first), docs.len()] {
                Index::append(
                    dir.path(),
                    documents(&docs[..end], 0),
                    "test",
                    BuildOptions::default(),
                )
                .unwrap();
            }
            (Index::open(dir.path()).unwrap(), docs.to_vec(), Some(dir))
        }
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::WidePositions), Just(Layout::WideTokens), Just(Layout::Sharded)]
}

/// Occurrences of `q` inside documents (never across them).
fn naive_count(docs: &[Vec<u32>], q: &[u32]) -> u64 {
    if q.is_empty() {
        return 0;
    }
    docs.iter().map(|d| d.windows(q.len()).filter(|w| *w == q).count() as u64).sum()
}

fn naive_longest(docs: &[Vec<u32>], q: &[u32], start: usize) -> usize {
    (0..=q.len() - start)
        .rev()
        .find(|l| *l == 0 || naive_count(docs, &q[start..start + l]) > 0)
        .unwrap()
}

fn naive_docs(docs: &[Vec<u32>], q: &[u32]) -> BTreeSet<usize> {
    docs.iter()
        .enumerate()
        .filter(|(_, d)| d.windows(q.len()).any(|w| w == q))
        .map(|(i, _)| i)
        .collect()
}

type Found = Vec<(usize, usize, u64, BTreeSet<usize>)>;

/// The index's maximal spans with the documents holding each.
fn spans(docs: &[Vec<u32>], q: &[u32], min_len: usize, max_freq: u64) -> Found {
    let idx = build(docs);
    idx.maximal_spans(q, min_len, max_freq)
        .unwrap()
        .into_iter()
        .map(|s| (s.start, s.len, s.count, idx.documents_of(&s.ranges).into_iter().collect()))
        .collect()
}

/// Naive: every (start, longest match) not contained in an earlier one, then filtered.
fn naive_spans(docs: &[Vec<u32>], q: &[u32], min_len: usize, max_freq: u64) -> Found {
    let mut naive = Vec::new();
    let mut prev_end = 0;
    for start in 0..q.len() {
        let len = naive_longest(docs, q, start);
        if len == 0 || start + len <= prev_end {
            continue;
        }
        prev_end = start + len;
        let run = &q[start..start + len];
        let count = naive_count(docs, run);
        if len >= min_len && count <= max_freq {
            naive.push((start, len, count, naive_docs(docs, run)));
        }
    }
    naive
}

/// Corpora over a tiny alphabet, so that repeats are common.
fn corpus() -> impl Strategy<Value = Vec<Vec<u32>>> {
    proptest::collection::vec(proptest::collection::vec(0..4u32, 0..40), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn suffix_array_equals_a_naive_sort(docs in corpus()) {
        let idx = build(&docs);
        let t = idx.shard_tokens(0);
        let mut naive: Vec<u64> = (0..t.len() as u64).collect();
        naive.sort_by(|a, b| t[*a as usize..].cmp(&t[*b as usize..]));
        prop_assert_eq!(idx.shard_positions(0), naive);
        prop_assert_eq!(t.iter().filter(|x| **x == u32::MAX).count(), docs.len());
    }

    #[test]
    fn counts_agree_with_a_naive_scan(docs in corpus(), q in proptest::collection::vec(0..5u32, 0..8)) {
        let idx = build(&docs);
        prop_assert_eq!(idx.count(&q).unwrap(), naive_count(&docs, &q));
    }

    #[test]
    fn longest_matches_agree(docs in corpus(), q in proptest::collection::vec(0..5u32, 1..24)) {
        let idx = build(&docs);
        for start in 0..q.len() {
            let m = idx.longest_match_at(&q, start).unwrap();
            prop_assert_eq!(m.len, naive_longest(&docs, &q, start), "start {}", start);
            prop_assert_eq!(m.count, naive_count(&docs, &q[start..start + m.len]).min(if m.len == 0 { 0 } else { u64::MAX }));
            if m.len > 0 {
                let found: BTreeSet<usize> = idx.documents_of(&m.ranges).into_iter().collect();
                prop_assert_eq!(found, naive_docs(&docs, &q[start..start + m.len]));
            }
        }
    }

    #[test]
    fn maximal_spans_agree(
        docs in corpus(),
        q in proptest::collection::vec(0..5u32, 1..24),
        min_len in 1..4usize,
        max_freq in 1..6u64,
    ) {
        prop_assert_eq!(spans(&docs, &q, min_len, max_freq), naive_spans(&docs, &q, min_len, max_freq));
    }

    #[test]
    fn periodic_answers_agree(
        docs in corpus(),
        phrase in proptest::collection::vec(0..4u32, 1..5),
        reps in 1..40usize,
        tail in proptest::collection::vec(0..5u32, 0..6),
        runs in proptest::collection::vec(1..30usize, 0..3),
    ) {
        // Answers that loop over a phrase (then go on), over corpora holding runs of it.
        let run = |n: usize| phrase.iter().copied().cycle().take(n).collect::<Vec<u32>>();
        let mut docs = docs;
        docs.extend(runs.iter().map(|n| run(*n)));
        let mut q = run(reps * phrase.len());
        q.extend(tail);
        prop_assert_eq!(spans(&docs, &q, 1, u64::MAX), naive_spans(&docs, &q, 1, u64::MAX));
    }

    #[test]
    fn every_layout_answers_as_the_naive_scan(
        docs in corpus(),
        q in proptest::collection::vec(0..5u32, 1..24),
        layout in layout(),
    ) {
        let (idx, docs, _dir) = build_in(&docs, layout);
        let q: Vec<u32> = match layout {
            Layout::WideTokens => q.iter().map(|t| t + SHIFT).collect(),
            _ => q,
        };
        for start in 0..q.len() {
            let m = idx.longest_match_at(&q, start).unwrap();
            prop_assert_eq!(m.len, naive_longest(&docs, &q, start), "start {}", start);
            if m.len > 0 {
                prop_assert_eq!(m.count, naive_count(&docs, &q[start..start + m.len]));
                let found: BTreeSet<usize> = idx.documents_of(&m.ranges).into_iter().collect();
                prop_assert_eq!(found, naive_docs(&docs, &q[start..start + m.len]));
            }
        }
        prop_assert_eq!(idx.count(&q[..q.len().min(3)]).unwrap(), naive_count(&docs, &q[..q.len().min(3)]));
        let spans: Vec<(usize, usize, u64)> =
            idx.maximal_spans(&q, 1, u64::MAX).unwrap().into_iter().map(|s| (s.start, s.len, s.count)).collect();
        let whole: Vec<(usize, usize, u64)> =
            build(&docs).maximal_spans(&q, 1, u64::MAX).unwrap().into_iter().map(|s| (s.start, s.len, s.count)).collect();
        prop_assert_eq!(spans, whole);
        idx.verify().unwrap();
    }
}
