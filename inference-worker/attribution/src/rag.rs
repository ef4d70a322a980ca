//! Retrieval-augmented answers: BM25 retrieval over a snapshot's passages (tantivy), and
//! credit for the passages an answer used.
//!
//! # Passages
//! Each contribution's text is split at blank lines into paragraphs, and paragraphs longer
//! than [`PASSAGE_WORDS`] words into consecutive pieces of that many words. A passage is named
//! by `(contribution, ordinal)`.
//!
//! # Retrieval
//! The passages are indexed in memory by tantivy (default tokenizer: lower-cased words) and a
//! query is matched leniently (syntax errors ignored) and ranked by BM25.
//!
//! # Citations and credit
//! Every retrieved passage is cited. A passage counts as **used** when the answer contains a
//! run of at least [`USED_SPAN`] tokens of it (the same test the suffix-array attribution uses
//! for spans, at a shorter length because a retrieved passage is already known to be relevant;
//! paraphrases that share no run are not credited). Each used passage earns an equal share,
//! summed per contribution and normalized to parts per million with the exact
//! largest-remainder split of the fee-split code.

use crate::{index::contains_run, tokenizer::ModelTokenizer};
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use tantivy::{
    collector::TopDocs,
    doc,
    query::QueryParser,
    schema::{Field, Schema, Value, STORED, TEXT},
    Index, IndexReader, TantivyDocument,
};

/// Longest passage, in whitespace-separated words.
pub const PASSAGE_WORDS: usize = 120;
/// Tokens an answer must share in one run with a passage for the passage to count as used.
pub const USED_SPAN: usize = 4;

/// A retrieved passage.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    pub contribution: u64,
    /// The passage's ordinal within its contribution.
    pub passage: u32,
    pub text: String,
    /// BM25 score.
    pub score: f32,
}

/// An in-memory BM25 index of a snapshot's passages.
pub struct Retriever {
    index: Index,
    reader: IndexReader,
    contribution: Field,
    passage: Field,
    text: Field,
    /// Passages indexed.
    pub passages: usize,
}

/// The passages of one contribution's text.
pub fn passages(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let words: Vec<&str> = para.split_whitespace().collect();
        for piece in words.chunks(PASSAGE_WORDS) {
            if !piece.is_empty() {
                out.push(piece.join(" "));
            }
        }
    }
    out
}

impl Retriever {
    /// Indexes the passages of `(contribution, text)` pairs.
    pub fn build<'a>(docs: impl IntoIterator<Item = (u64, &'a str)>) -> Result<Self> {
        let mut schema = Schema::builder();
        let contribution = schema.add_u64_field("contribution", STORED);
        let passage = schema.add_u64_field("passage", STORED);
        let text = schema.add_text_field("text", TEXT | STORED);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000)?;
        let mut count = 0usize;
        for (c, body) in docs {
            for (i, p) in passages(body).into_iter().enumerate() {
                writer.add_document(doc!(contribution => c, passage => i as u64, text => p))?;
                count = count.saturating_add(1);
            }
        }
        anyhow::ensure!(count > 0, "the corpus has no text to retrieve from");
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Self { index, reader, contribution, passage, text, passages: count })
    }

    /// The `top_k` passages for `query`, best first.
    pub fn search(&self, query: &str, top_k: usize) -> Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let parser = QueryParser::for_index(&self.index, vec![self.text]);
        let (q, _ignored) = parser.parse_query_lenient(query);
        let top = searcher.search(&q, &TopDocs::with_limit(top_k.max(1)).order_by_score())?;
        top.into_iter()
            .map(|(score, addr)| {
                let d: TantivyDocument = searcher.doc(addr)?;
                let u = |f: Field| d.get_first(f).and_then(|v| v.as_u64());
                let contribution =
                    u(self.contribution).ok_or_else(|| anyhow!("passage without contribution"))?;
                let passage = u32::try_from(u(self.passage).unwrap_or(0)).unwrap_or(u32::MAX);
                let text =
                    d.get_first(self.text).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                Ok(Hit { contribution, passage, text, score })
            })
            .collect()
    }
}

/// Whether `answer` (tokens) uses `passage` (text): a shared run of [`USED_SPAN`] tokens.
pub fn used(tokenizer: &ModelTokenizer, passage: &str, answer: &[u32]) -> Result<bool> {
    let p = tokenizer.encode(passage)?;
    let p_spaced = tokenizer.encode(&format!(" {passage}"))?;
    Ok(answer.windows(USED_SPAN).any(|w| contains_run(&p, w) || contains_run(&p_spaced, w)))
}

/// Credit for the used hits: an equal share per used passage, summed per contribution, in
/// parts per million summing to exactly 10⁶ (empty when nothing was used).
pub fn credit(used_hits: &[&Hit]) -> Vec<(u64, u32)> {
    let mut per: BTreeMap<u64, u128> = BTreeMap::new();
    for h in used_hits {
        let e = per.entry(h.contribution).or_default();
        *e = e.saturating_add(1);
    }
    let total: u128 = per.values().sum();
    if total == 0 {
        return Vec::new();
    }
    let contributions: Vec<u64> = per.keys().copied().collect();
    let counts: Vec<u128> = per.values().copied().collect();
    let parts = provena_primitives::attribution::largest_remainder(1_000_000, &counts, total)
        .unwrap_or_default();
    contributions
        .into_iter()
        .zip(parts)
        .map(|(c, p)| (c, u32::try_from(p).unwrap_or(u32::MAX)))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn bm25_finds_the_relevant_passage_and_credit_is_exact() {
        let r = Retriever::build([
            (1, "Bread is made of flour, water and yeast.\n\nThe dough is left to rise for an hour."),
            (2, "The capital of Zorbia is Quellport, a port on the river Vand."),
            (3, "Quellport is also the name of a brand of tea."),
        ])
        .unwrap();
        assert_eq!(r.passages, 4);
        let hits = r.search("What is the capital of Zorbia?", 2).unwrap();
        assert_eq!(hits[0].contribution, 2, "{hits:?}");
        assert_eq!(hits.len(), 2);
        let c = credit(&[&hits[0], &hits[1], &hits[0]]);
        assert_eq!(c.iter().map(|x| x.1).sum::<u32>(), 1_000_000);
        assert!(credit(&[]).is_empty());
    }

    #[test]
    fn long_paragraphs_are_split() {
        let text = "word ".repeat(300);
        let p = passages(&text);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].split_whitespace().count(), PASSAGE_WORDS);
    }
}
