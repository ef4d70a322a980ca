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
fn an_answer_that_copies_a_document_and_goes_on_costs_near_linear_work() {
    // The answer quotes a 4,000-token document whole, then goes on with the start of another
    // (its first token occurs, the junction does not). Matching every position would re-find
    // 3,999, 3,998, ... known tokens: ~16 million comparisons (n²).
    let (a, b) = (text(4, 4_000), text(5, 2_000));
    let idx = index(vec![a.clone(), b.clone()]);
    let answer: Vec<u32> = a.iter().chain(&b).copied().collect();
    let n = answer.len() as u64;
    let work = compared(|| {
        let spans = idx.maximal_spans(&answer, 5, u64::MAX).unwrap();
        let found: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.len)).collect();
        assert_eq!(found, vec![(0, 4_000), (4_000, 2_000)]);
    });
    // The next maximal start after the copy is found by ⌈log₂ 4,000⌉ = 12 existence probes
    // of at most 4,001 tokens each.
    let log_n = (n as f64).log2().ceil() as u64;
    assert!(work <= 4 * n * log_n, "{work} comparisons for {n} tokens");
}

#[test]
fn a_repeated_token_loop_costs_linear_work() {
    // The corpus holds a run of 2,000 identical tokens; the answer repeats it 4,000 and then
    // 8,000 times.
    let mut doc = text(3, 500);
    doc.extend(std::iter::repeat_n(7u32, 2_000));
    let idx = index(vec![doc]);
    let work = |n: usize| {
        let answer = vec![7u32; n];
        compared(|| {
            let spans = idx.maximal_spans(&answer, 5, u64::MAX).unwrap();
            assert_eq!(spans.len(), n - 1_999);
            assert!(spans
                .iter()
                .enumerate()
                .all(|(i, s)| s.start == i && s.len == 2_000 && s.count == 1));
        })
    };
    let (short, long) = (work(4_000), work(8_000));
    // The first two matches are searched; every later one is the last one shifted by the
    // loop's period, confirmed on the answer alone: 4,000 more answer tokens cost no corpus
    // comparison. Searching each maximal match would cost at least L = 2,000 comparisons
    // for each of the 4,000 more (8 million).
    assert_eq!(long, short, "{short} comparisons for 4,000 tokens, {long} for 8,000");
    // The two searches: O(L · log L) probe tokens, each probe a binary search.
    assert!(short <= 2_000 * 11 * 40, "{short} comparisons");
}

#[test]
fn a_repeated_phrase_reuses_its_matches_and_agrees_with_matching_every_position() {
    // Periods 1 to 5, runs in the corpus shorter and longer than the answer's loop, with a
    // break in the loop: the spans equal those found by matching every position.
    for period in 1..=5usize {
        let phrase: Vec<u32> = (0..period as u32).map(|t| 100 + t).collect();
        let run = |reps: usize| phrase.iter().copied().cycle().take(reps).collect::<Vec<u32>>();
        let mut doc = text(6, 50);
        doc.extend(run(37));
        let idx = index(vec![doc, run(11), text(7, 40)]);
        let mut answer = run(120);
        answer.push(9);
        answer.extend(run(60));
        let spans = idx.maximal_spans(&answer, 1, u64::MAX).unwrap();
        let mut naive = Vec::new();
        let mut prev_end = 0;
        for start in 0..answer.len() {
            let m = idx.longest_match_at(&answer, start).unwrap();
            if m.len == 0 || start + m.len <= prev_end {
                continue;
            }
            prev_end = start + m.len;
            naive.push((start, m.len, m.count, idx.documents_of(&m.ranges)));
        }
        let found: Vec<_> =
            spans.iter().map(|s| (s.start, s.len, s.count, idx.documents_of(&s.ranges))).collect();
        assert_eq!(found, naive, "period {period}");
    }
}
