//! The matcher's work bounds (token comparisons counted per thread).
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use super::{shard::COMPARED, *};

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
    let log_n = (idx.manifest.tokens as f64).log2().ceil() as u64;
    assert!(work <= 2 * n * 64 * log_n, "{work} comparisons for {n} tokens");
}
