//! From an answer to what its receipt carries: the retrieved passages it used, the span
//! attribution against the worker's index, and the one rule that merges them into the
//! receipt's weights.

use super::AppState;
use crate::chain::ReceiptAttribution;
use polkadot_sdk::sp_core::Get;
use provena_primitives::ContributionId;
use serde_json::{json, Value};

/// Citations of the retrieved passages (which ones the answer used) and the used passages'
/// credit per contribution.
pub(crate) fn citations(
    state: &AppState,
    hits: &[provena_attribution::rag::Hit],
    answer: &[u32],
) -> (Vec<Value>, Vec<(u64, u32)>) {
    let mut used_hits = Vec::new();
    let cited = hits
        .iter()
        .map(|h| {
            let used = provena_attribution::rag::used(&state.tokenizer, &h.text, answer).unwrap_or(false);
            if used {
                used_hits.push(h);
            }
            json!({"contribution": h.contribution, "passage": h.passage, "score": h.score, "used": used})
        })
        .collect();
    (cited, provena_attribution::rag::credit(&used_hits))
}

/// The answer's attribution against the worker's index, if it has one: contribution weights
/// (ppm, top 16), the datanet pool's part and the evidence hash.
pub(crate) fn attribute(
    state: &AppState,
    prompt: &[u32],
    answer: &[u32],
) -> Option<Result<provena_attribution::Attribution, String>> {
    let index = state.attribution.as_ref()?;
    Some(
        provena_attribution::attribute(
            index,
            prompt,
            answer,
            &provena_attribution::Params::default(),
        )
        .map_err(|e| e.to_string()),
    )
}

/// An attribution as the response's `provena.attribution` shows it.
pub(crate) fn attribution_json(a: &Result<provena_attribution::Attribution, String>) -> Value {
    match a {
        Ok(a) => json!({
            "weights": a.weights.iter().map(|(c, ppm)| json!({"contribution": c, "ppm": ppm})).collect::<Vec<_>>(),
            "pool_ppm": a.pool_ppm,
            "evidence_hash": a.evidence_hash,
            "spans": a.spans.len(),
        }),
        Err(e) => json!({"error": e}),
    }
}

/// What an answer's receipt carries, the one rule for the on-chain path (the node's off-chain
/// worker reads `provena.receipt`) and the API path (the worker's own settlement):
///
/// - span credit: the attribution's named contributions and the datanet pool's part, paid to
///   the reward pool of `pool_datanet` (the datanet the index covers,
///   `--attribution-datanet`); without it the pool's part is shared among the named
///   contributions pro rata;
/// - RAG credit: the retrieved passages the answer used, an equal share each;
/// - both present: each sums to 1,000,000 and counts half; one present: it alone; none (no
///   index, no match, a failed attribution): no contributions, and the chain gives their share
///   to the treasury.
///
/// The largest contributions the chain takes (its `MaxEntries`) and the pool's part are kept
/// and scaled to sum to exactly 1,000,000 by largest remainders. The evidence hash is the span
/// attribution's.
pub(crate) fn receipt_attribution(
    a: Option<&Result<provena_attribution::Attribution, String>>,
    rag_credit: &[(u64, u32)],
    pool_datanet: Option<u32>,
) -> ReceiptAttribution {
    use provena_primitives::attribution::normalize_with_pool;
    let (spans, pool_ppm) = match a {
        Some(Ok(a)) => (a.weights.as_slice(), a.pool_ppm),
        _ => (&[][..], 0),
    };
    let own = |w: &[(u64, u32)]| {
        w.iter().map(|(c, w)| (ContributionId(*c), u128::from(*w))).collect::<Vec<_>>()
    };
    let widen = |w: &[(ContributionId, u32)]| {
        w.iter().map(|(c, w)| (*c, u128::from(*w))).collect::<Vec<_>>()
    };
    // Each source scaled to 1,000,000 on its own, then added: half each.
    let span_pool = pool_datanet.map(|d| (d, u128::from(pool_ppm)));
    let (span_weights, span_pool) = normalize_with_pool(&mut own(spans), span_pool, usize::MAX);
    let (rag_weights, _) = normalize_with_pool(&mut own(rag_credit), None, usize::MAX);
    let mut weights = widen(&span_weights);
    weights.extend(widen(&rag_weights));
    let pool = span_pool.map(|(d, w)| (d, u128::from(w)));
    let keep: u32 = <provena_runtime::Runtime as pallet_attribution::Config>::MaxEntries::get();
    let (weights, pool) =
        normalize_with_pool(&mut weights, pool, usize::try_from(keep).unwrap_or(usize::MAX));
    let evidence_hash = match a {
        Some(Ok(a)) => hex::decode(a.evidence_hash.trim_start_matches("0x"))
            .ok()
            .filter(|b| b.len() == 32)
            .map(|b| polkadot_sdk::sp_core::H256::from_slice(&b))
            .unwrap_or_default(),
        _ => Default::default(),
    };
    ReceiptAttribution { weights, pool, evidence_hash }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cids(v: Vec<(u64, u32)>) -> Vec<(ContributionId, u32)> {
        v.into_iter().map(|(c, w)| (ContributionId(c), w)).collect()
    }

    fn spans(
        weights: Vec<(u64, u32)>,
        pool_ppm: u32,
    ) -> Result<provena_attribution::Attribution, String> {
        Ok(provena_attribution::Attribution {
            weights,
            pool_ppm,
            spans: Vec::new(),
            evidence_hash: format!("0x{}", "ab".repeat(32)),
        })
    }

    #[test]
    fn span_and_rag_credit_count_half_each() {
        let a = spans(vec![(1, 450_000), (2, 300_000)], 250_000);
        // Spans alone: the pool's part shared pro rata (60/40).
        let alone = receipt_attribution(Some(&a), &[], None);
        assert_eq!(alone.weights, cids(vec![(1, 600_000), (2, 400_000)]));
        assert_eq!(alone.evidence_hash, polkadot_sdk::sp_core::H256::repeat_byte(0xab));
        // With RAG credit all on 2: half each.
        let both = receipt_attribution(Some(&a), &[(2, 1_000_000)], None);
        assert_eq!(both.weights, cids(vec![(1, 300_000), (2, 700_000)]));
        // RAG alone (no index, or a failed attribution), with the evidence hash zero.
        let rag = receipt_attribution(None, &[(3, 500_000), (4, 500_000)], Some(9));
        assert_eq!(rag.weights, cids(vec![(3, 500_000), (4, 500_000)]));
        assert_eq!(rag.evidence_hash, Default::default());
        assert_eq!(rag.pool, None);
        let failed = receipt_attribution(Some(&Err("no".into())), &[], Some(9));
        assert!(failed.weights.is_empty());
        // Nothing matched: no contributions.
        assert!(receipt_attribution(Some(&spans(vec![], 0)), &[], Some(9)).weights.is_empty());
    }

    #[test]
    fn the_pool_is_paid_to_the_indexed_datanet_when_it_is_known() {
        let a = spans(vec![(1, 450_000), (2, 300_000)], 250_000);
        let r = receipt_attribution(Some(&a), &[], Some(4));
        assert_eq!(r.weights, cids(vec![(1, 450_000), (2, 300_000)]));
        assert_eq!(r.pool, Some((4, 250_000)));
        // With RAG credit, the pool's part halves with the rest of the span credit.
        let r = receipt_attribution(Some(&a), &[(2, 1_000_000)], Some(4));
        assert_eq!(r.weights, cids(vec![(1, 225_000), (2, 650_000)]));
        assert_eq!(r.pool, Some((4, 125_000)));
        // No pool credit: no pool.
        let r = receipt_attribution(Some(&spans(vec![(1, 1_000_000)], 0)), &[], Some(4));
        assert_eq!((r.weights, r.pool), (cids(vec![(1, 1_000_000)]), None));
    }

    #[test]
    fn at_most_the_chains_entries_are_kept_and_they_sum_to_a_million() {
        let many: Vec<(u64, u32)> = (0..40).map(|c| (c, 25_000)).collect();
        let r = receipt_attribution(Some(&spans(many, 0)), &[(99, 1_000_000)], None);
        assert_eq!(r.weights.len(), 32);
        assert_eq!(r.weights.iter().map(|(_, w)| u64::from(*w)).sum::<u64>(), 1_000_000);
        // The RAG-credited contribution holds half of everything and is kept.
        assert!(
            r.weights.iter().any(|(c, w)| *c == ContributionId(99) && *w > 400_000),
            "{:?}",
            r.weights
        );
    }
}
