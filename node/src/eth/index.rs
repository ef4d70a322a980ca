//! The index of recent Ethereum transactions: hash → the blocks that include it.
//!
//! Kept in memory for the last [`super::EthRpcParams::eth_index_depth`] blocks: backfilled in the
//! background when the node starts, then extended as blocks are imported and as they are
//! finalized (blocks imported while a node catches up send no import notification; their
//! finality names them), and pruned behind the best block.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use pallet_revive::evm::H256;
use polkadot_sdk::{
    pallet_revive,
    sc_client_api::{BlockBackend, BlockchainEvents},
    sc_service::TaskManager,
    sp_blockchain::HeaderBackend,
    sp_runtime::traits::Header as HeaderT,
};
use provena_runtime::BlockNumber;

use super::eth_txs_of;
use crate::service::FullClient;

/// Ethereum transaction hash → the blocks (number, hash) that include it, for recent blocks.
#[derive(Default)]
pub(super) struct TxIndex {
    pub(super) by_hash: HashMap<H256, Vec<(BlockNumber, H256)>>,
    by_number: BTreeMap<BlockNumber, Vec<H256>>,
}

impl TxIndex {
    /// Records the transactions of a block (a block indexed twice, on import and on
    /// finality, is recorded once).
    pub(super) fn insert(&mut self, number: BlockNumber, block: H256, txs: &[H256]) {
        for tx in txs {
            let at = self.by_hash.entry(*tx).or_default();
            if !at.contains(&(number, block)) {
                at.push((number, block));
                self.by_number.entry(number).or_default().push(*tx);
            }
        }
    }

    /// Forgets blocks below `keep_from`.
    pub(super) fn prune(&mut self, keep_from: BlockNumber) {
        let kept = self.by_number.split_off(&keep_from);
        for tx in std::mem::replace(&mut self.by_number, kept).into_values().flatten() {
            if let Some(at) = self.by_hash.get_mut(&tx) {
                at.retain(|(n, _)| *n >= keep_from);
                if at.is_empty() {
                    self.by_hash.remove(&tx);
                }
            }
        }
    }
}

/// Indexes the Ethereum transactions of block `hash`.
fn index_block(client: &FullClient, index: &Mutex<TxIndex>, hash: H256, number: BlockNumber) {
    let Ok(Some(body)) = client.block_body(hash) else { return };
    let txs: Vec<H256> = eth_txs_of(&body).into_iter().map(|t| t.hash).collect();
    if let Ok(mut index) = index.lock() {
        index.insert(number, hash, &txs);
    }
}

/// Starts the tasks that keep `index` up to date: following imports and finality, and
/// backfilling the last `depth` blocks.
pub(super) fn spawn(
    client: &Arc<FullClient>,
    index: &Arc<Mutex<TxIndex>>,
    depth: BlockNumber,
    task_manager: &TaskManager,
) {
    // Follow imported blocks.
    {
        let client = client.clone();
        let index = index.clone();
        let mut imports = client.import_notification_stream();
        task_manager.spawn_handle().spawn("eth-index-follow", Some("eth-rpc"), async move {
            while let Some(n) = imports.next().await {
                index_block(&client, &index, n.hash, *n.header.number());
                if let Ok(mut i) = index.lock() {
                    i.prune(n.header.number().saturating_sub(depth));
                }
            }
        });
    }
    // Follow finalized blocks too: blocks imported during a major sync (a node joining or
    // catching up) send no import notification, but every finalized block is named by a
    // finality notification (the path from the last finalized block, then the block).
    {
        let client = client.clone();
        let index = index.clone();
        let mut finality = client.finality_notification_stream();
        task_manager.spawn_handle().spawn("eth-index-finality", Some("eth-rpc"), async move {
            while let Some(n) = finality.next().await {
                for hash in n.tree_route.iter().copied().chain(std::iter::once(n.hash)) {
                    if let Ok(Some(number)) = client.number(hash) {
                        index_block(&client, &index, hash, number);
                    }
                }
                if let Ok(mut i) = index.lock() {
                    i.prune(client.info().best_number.saturating_sub(depth));
                }
            }
        });
    }
    // Backfill the recent past.
    {
        let client = client.clone();
        let index = index.clone();
        task_manager.spawn_handle().spawn_blocking("eth-index-backfill", Some("eth-rpc"), async move {
            let best = client.info().best_number;
            let mut n = best;
            loop {
                if let Ok(Some(hash)) = client.hash(n) {
                    index_block(&client, &index, hash, n);
                }
                if n == 0 || best.saturating_sub(n) >= depth {
                    break;
                }
                n = n.saturating_sub(1);
            }
            log::info!(target: "eth-rpc", "indexed Ethereum transactions of blocks {n}..={best}");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_prunes_old_blocks() {
        let mut i = TxIndex::default();
        let (a, b) = (H256::repeat_byte(1), H256::repeat_byte(2));
        i.insert(1, H256::repeat_byte(0x11), &[a]);
        i.insert(5, H256::repeat_byte(0x55), &[b]);
        i.prune(3);
        assert!(!i.by_hash.contains_key(&a));
        assert_eq!(i.by_hash.get(&b).map(Vec::len), Some(1));
        assert_eq!(i.by_number.keys().copied().collect::<Vec<_>>(), vec![5]);
    }
}
