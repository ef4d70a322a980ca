//! From an answer to contribution weights and a hashed evidence record.
//!
//! 1. The answer's maximal spans that occur in the corpus ([`Index::maximal_spans`]), at least
//!    `min_span` tokens long and at most `max_freq` times in the corpus.
//! 2. Spans that also occur in the prompt are dropped: echoing the user earns no one anything.
//! 3. Each kept span has one unit of credit, split equally among the (unmasked) contributions
//!    whose documents contain it — the Shapley value of the span-coverage game, where a span is
//!    covered by any one of the contributions holding it. Contributions' credits are summed over
//!    spans and normalized.
//! 4. The `top_k` contributions keep their weights; the rest of the credit goes to the datanet
//!    pool. Weights are parts per million that sum to exactly 1,000,000 (largest remainder),
//!    as the attribution pallet requires.
//! 5. The evidence — the snapshot ([`Index::snapshot_hash`], chained over the documents:
//!    contribution, content hash, length), the tokenizer it was built with, the parameters, the answer's
//!    tokens, every kept span with its position, length, corpus count and contributions, and
//!    the weights — is SCALE-encoded after a version tag and hashed with BLAKE2b-256: that
//!    hash goes on chain in the receipt. Anyone holding the snapshot can recompute it
//!    (`provena-attribution attribute`), and it differs when any of these does.

use crate::index::{contains_run, Index};
use anyhow::Result;
use codec::Encode;
use provena_primitives::attribution::{largest_remainder, PPM};
use serde::Serialize;
use std::collections::BTreeMap;

/// How spans are selected and weights reported.
#[derive(Clone, Debug)]
pub struct Params {
    /// The shortest span that counts, in tokens.
    pub min_span: usize,
    /// Spans occurring more often than this in the corpus are too common to credit.
    pub max_freq: u64,
    /// How many contributions are named; the rest goes to the datanet pool.
    pub top_k: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self { min_span: 6, max_freq: 64, top_k: 16 }
    }
}

/// A kept span in the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Encode)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceSpan {
    /// Position in the answer.
    pub start: u32,
    /// Length in tokens.
    pub len: u32,
    /// Occurrences in the corpus.
    pub count: u64,
    /// The contributions whose documents hold it (masked ones excluded).
    pub contributions: Vec<u64>,
}

/// The result of attributing one answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribution {
    /// Named contributions and their weights in parts per million.
    pub weights: Vec<(u64, u32)>,
    /// The datanet pool's part, in parts per million (credit beyond the top k).
    pub pool_ppm: u32,
    /// The spans that earned credit.
    pub spans: Vec<EvidenceSpan>,
    /// BLAKE2b-256 of the SCALE-encoded evidence, `0x`-hex.
    pub evidence_hash: String,
}

/// Tags the evidence encoding (bumped when its layout changes).
const EVIDENCE_TAG: &[u8] = b"provena:evidence:v3";

/// The hashed evidence record.
#[derive(Encode)]
struct Evidence<'a> {
    tag: &'a [u8],
    snapshot: [u8; 32],
    tokenizer: &'a str,
    min_span: u64,
    max_freq: u64,
    top_k: u64,
    index_tokens: u64,
    documents: u64,
    answer: &'a [u32],
    spans: &'a [EvidenceSpan],
    weights: &'a [(u64, u32)],
    pool_ppm: u32,
}

/// Attributes `answer` (token ids) given `prompt` (token ids).
pub fn attribute(
    index: &Index,
    prompt: &[u32],
    answer: &[u32],
    params: &Params,
) -> Result<Attribution> {
    let spans = index.maximal_spans(answer, params.min_span.max(1), params.max_freq)?;
    let mut kept = Vec::new();
    // Each contribution's summed share of span credit (fractions 1/k; normalized exactly below).
    let mut credit: BTreeMap<u64, f64> = BTreeMap::new();
    for s in spans {
        let run = answer.get(s.start..s.start.saturating_add(s.len)).unwrap_or(&[]);
        if contains_run(prompt, run) {
            continue;
        }
        let contributions: Vec<u64> = index
            .documents_of(&s.ranges)
            .into_iter()
            .filter_map(|d| index.document(d).map(|d| d.contribution))
            .filter(|c| !index.is_masked(*c))
            .collect();
        if contributions.is_empty() {
            continue;
        }
        let share = 1.0 / contributions.len() as f64;
        for c in &contributions {
            *credit.entry(*c).or_default() += share;
        }
        kept.push(EvidenceSpan {
            start: u32::try_from(s.start)?,
            len: u32::try_from(s.len)?,
            count: s.count,
            contributions,
        });
    }
    let (weights, pool_ppm) = to_ppm(&credit, params.top_k);
    let evidence = Evidence {
        tag: EVIDENCE_TAG,
        snapshot: index.snapshot_hash(),
        tokenizer: &index.manifest.tokenizer,
        min_span: params.min_span as u64,
        max_freq: params.max_freq,
        top_k: params.top_k as u64,
        index_tokens: index.manifest.tokens,
        documents: index.manifest.documents,
        answer,
        spans: &kept,
        weights: &weights,
        pool_ppm,
    };
    let hash = provena_primitives::content_hash(&evidence.encode());
    Ok(Attribution {
        weights,
        pool_ppm,
        spans: kept,
        evidence_hash: format!("0x{}", hex::encode(hash)),
    })
}

/// Normalizes credits to parts per million summing to exactly 1,000,000 (or nothing when no
/// span matched): the `top_k` largest are named, the rest is the pool's.
fn to_ppm(credit: &BTreeMap<u64, f64>, top_k: usize) -> (Vec<(u64, u32)>, u32) {
    if credit.is_empty() {
        return (Vec::new(), 0);
    }
    // Credits are sums of 1/k with k ≤ the document count; scale to integers with enough
    // precision that ties and proportions survive, then divide exactly.
    const SCALE: f64 = 1e12;
    let mut ranked: Vec<(u64, u128)> =
        credit.iter().map(|(c, v)| (*c, (v * SCALE).round().max(1.0) as u128)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (named, rest) = ranked.split_at(ranked.len().min(top_k));
    let mut numerators: Vec<u128> = named.iter().map(|(_, v)| *v).collect();
    let pool: u128 = rest.iter().map(|(_, v)| *v).sum();
    numerators.push(pool);
    let total: u128 = numerators.iter().sum();
    let parts = largest_remainder(u128::from(PPM), &numerators, total).unwrap_or_default();
    let mut weights: Vec<(u64, u32)> = named
        .iter()
        .zip(&parts)
        .map(|((c, _), p)| (*c, u32::try_from(*p).unwrap_or(0)))
        .filter(|(_, p)| *p > 0)
        .collect();
    weights.sort_by_key(|(c, _)| *c);
    let pool_ppm = parts.last().and_then(|p| u32::try_from(*p).ok()).unwrap_or(0);
    (weights, pool_ppm)
}
