//! Exactness: the index's answers agree with naive scans of random corpora, and its suffix
//! array with a naive suffix sort.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use proptest::prelude::*;
use provena_attribution::{index::SEPARATOR, Document, Index};
use std::collections::BTreeSet;

fn build(docs: &[Vec<u32>]) -> Index {
    let docs = docs
        .iter()
        .enumerate()
        .map(|(i, t)| Document {
            contribution: i as u64 * 10,
            content_hash: format!("h{i}"),
            tokens: t.clone(),
        })
        .collect();
    Index::build(docs, "test").unwrap()
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

/// Corpora over a tiny alphabet, so that repeats are common.
fn corpus() -> impl Strategy<Value = Vec<Vec<u32>>> {
    proptest::collection::vec(proptest::collection::vec(0..4u32, 0..40), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn suffix_array_equals_a_naive_sort(docs in corpus()) {
        let idx = build(&docs);
        let t = idx.tokens();
        let mut naive: Vec<u32> = (0..t.len() as u32).collect();
        naive.sort_by(|a, b| t[*a as usize..].cmp(&t[*b as usize..]));
        prop_assert_eq!(idx.sa(), &naive[..]);
        prop_assert_eq!(t.iter().filter(|x| **x == SEPARATOR).count(), docs.len());
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
            let (len, range) = idx.longest_match_at(&q, start).unwrap();
            prop_assert_eq!(len, naive_longest(&docs, &q, start), "start {}", start);
            prop_assert_eq!(range.len() as u64, naive_count(&docs, &q[start..start + len]).min(if len == 0 { 0 } else { u64::MAX }));
            if len > 0 {
                let found: BTreeSet<usize> = idx.documents_in(range);
                prop_assert_eq!(found, naive_docs(&docs, &q[start..start + len]));
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
        let idx = build(&docs);
        let spans: Vec<(usize, usize, u64)> =
            idx.maximal_spans(&q, min_len, max_freq).unwrap().into_iter().map(|s| (s.start, s.len, s.count)).collect();
        // Naive: every (start, longest match) not contained in an earlier one, then filtered.
        let mut naive = Vec::new();
        let mut prev_end = 0;
        for start in 0..q.len() {
            let len = naive_longest(&docs, &q, start);
            if len == 0 || start + len <= prev_end {
                continue;
            }
            prev_end = start + len;
            let count = naive_count(&docs, &q[start..start + len]);
            if len >= min_len && count <= max_freq {
                naive.push((start, len, count));
            }
        }
        prop_assert_eq!(spans, naive);
    }
}
