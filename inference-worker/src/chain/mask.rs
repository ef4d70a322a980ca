//! Keeps the attribution index's mask equal to the chain's view: a contribution that is not
//! earning (withdrawn, slashed, rejected, or unknown to the chain) is not credited.
//!
//! Every `--mask-refresh` seconds the status of each contribution the index holds is read at the
//! finalized block (`datanets_getContribution`, 32 requests at a time) and the mask replaced.
//! An answer is attributed against the mask of its moment; the chain re-checks every receipt
//! anyway (a non-earning contribution's share goes to the treasury).

use super::{rpc::Node, ChainError};
use provena_attribution::Index;
use std::{collections::BTreeSet, sync::Arc, time::Duration};

/// Requests in flight at once.
const CONCURRENCY: usize = 32;

/// Reads the non-earning contributions of `index` from the chain.
pub async fn not_earning(node: &Node, index: &Index) -> Result<BTreeSet<u64>, ChainError> {
    let at = node.finalized().await?.hash;
    let ids = index.contributions();
    let mut masked = BTreeSet::new();
    for chunk in ids.chunks(CONCURRENCY) {
        let statuses =
            futures::future::join_all(chunk.iter().map(|id| node.contribution_earning(*id, at)))
                .await;
        for (id, earning) in chunk.iter().zip(statuses) {
            if !earning? {
                masked.insert(*id);
            }
        }
    }
    Ok(masked)
}

/// Refreshes the mask forever (a task of the worker's runtime).
pub async fn run(node: Arc<Node>, index: Arc<Index>, interval: Duration) {
    loop {
        match not_earning(&node, &index).await {
            Ok(masked) => {
                let n = masked.len();
                if index.set_mask(masked) {
                    log::info!("attribution mask: {n} contributions not earning");
                }
            }
            Err(e) => log::warn!("attribution mask not refreshed: {e}"),
        }
        tokio::time::sleep(interval).await;
    }
}
