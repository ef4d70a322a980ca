//! Keeping the on-disk Ethereum index ([`super::store`]) up to date: a record is computed from a
//! block's state when the block is imported, records missing from the recent past are filled in
//! at start, and records behind the depth are pruned as blocks are finalized.

use std::sync::Arc;

use codec::Decode;
use futures::StreamExt;
use pallet_revive::{
    evm::H256, pallet_revive_types::runtime_api::HashesOrTransactionInfosV1, ReviveApi,
};
use polkadot_sdk::{
    frame_system, pallet_revive,
    sc_client_api::{BlockBackend, BlockchainEvents, StorageProvider},
    sc_service::TaskManager,
    sp_api::ProvideRuntimeApi,
    sp_blockchain::HeaderBackend,
    sp_core::storage::StorageKey,
    sp_crypto_hashing::twox_128,
    sp_runtime::traits::Header as HeaderT,
};
use provena_runtime::{BlockNumber, RuntimeEvent};

use super::{
    chain::{eth_txs_of, is_benchmark_marker},
    store::{BlockRecord, LogRecord, Store, TxRecord},
    EventRecord,
};
use crate::service::FullClient;

/// At most this many block numbers are pruned per finality notification, so a lowered depth
/// is caught up with gradually.
const PRUNE_BATCH: u32 = 1_024;

/// The events of block `hash` (none if they do not decode, e.g. an older runtime's).
fn events(client: &FullClient, hash: H256) -> Result<Vec<EventRecord>, String> {
    let key = [twox_128(b"System"), twox_128(b"Events")].concat();
    let Some(raw) = client.storage(hash, &StorageKey(key)).map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    Ok(Vec::<EventRecord>::decode(&mut &raw.0[..]).unwrap_or_else(|e| {
        log::debug!(target: "eth-rpc", "events of {hash:?} do not decode: {e}");
        Vec::new()
    }))
}

/// Computes the record of block `hash` from its state (an error once that state is pruned).
#[allow(deprecated)]
pub(super) fn record_from_state(client: &FullClient, hash: H256) -> Result<BlockRecord, String> {
    let number = client
        .number(hash)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown block {hash:?}"))?;
    let body = client.block_body(hash).map_err(|e| e.to_string())?.unwrap_or_default();
    let txs = eth_txs_of(&body);
    let api = client.runtime_api();
    let mut eth_block = api.eth_block(hash).map_err(|e| e.to_string())?;
    eth_block.transactions = HashesOrTransactionInfosV1::Hashes(Vec::new());
    if txs.is_empty() {
        return Ok(BlockRecord { number, eth_block, txs: Vec::new() });
    }
    let gas = client.runtime_api().eth_receipt_data(hash).map_err(|e| e.to_string())?;
    if gas.len() != txs.len() {
        return Err(format!(
            "block {hash:?} has {} Ethereum transactions but {} receipt records",
            txs.len(),
            gas.len()
        ));
    }
    let events = events(client, hash)?;
    let txs = txs
        .into_iter()
        .zip(gas)
        .map(|(tx, gas)| {
            let mut failed = false;
            let mut logs = Vec::new();
            for record in events
                .iter()
                .filter(|r| r.phase == frame_system::Phase::ApplyExtrinsic(tx.extrinsic_index))
            {
                match &record.event {
                    RuntimeEvent::Revive(pallet_revive::Event::ContractEmitted {
                        contract,
                        data,
                        topics,
                    }) => logs.push(LogRecord {
                        address: *contract,
                        topics: topics.clone(),
                        data: data.clone(),
                    }),
                    RuntimeEvent::Revive(pallet_revive::Event::EthExtrinsicRevert {
                        dispatch_error,
                    }) if !is_benchmark_marker(dispatch_error) => failed = true,
                    RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. }) => {
                        failed = true
                    }
                    _ => {}
                }
            }
            if failed {
                // A failed transaction's state changes, logs included, are rolled back.
                logs.clear();
            }
            TxRecord { hash: tx.hash, gas, failed, logs }
        })
        .collect();
    Ok(BlockRecord { number, eth_block, txs })
}

/// Records block `hash` unless it is recorded; false when its state is gone.
fn index_block(client: &FullClient, store: &Store, hash: H256) -> bool {
    match store.contains(hash) {
        Ok(true) => return true,
        Ok(false) => {}
        Err(e) => {
            log::warn!(target: "eth-rpc", "{e}");
            return true;
        }
    }
    match record_from_state(client, hash).and_then(|r| store.insert(hash, &r)) {
        Ok(()) => true,
        Err(e) => {
            log::debug!(target: "eth-rpc", "block {hash:?} not indexed: {e}");
            false
        }
    }
}

/// Opens the index under `chain_dir` and starts the tasks that keep it: one recording every
/// imported block, one pruning behind finality, one filling the recent past in.
pub fn spawn(
    chain_dir: &std::path::Path,
    client: &Arc<FullClient>,
    depth: BlockNumber,
    rebuild: bool,
    task_manager: &TaskManager,
) -> Result<Arc<Store>, String> {
    let path = super::store::path_in(chain_dir);
    let store = Arc::new(Store::open(&path, client.info().genesis_hash, rebuild)?);
    // Every imported block, during a major sync too. The notification pins the block, so its
    // state is not pruned before it is read here.
    {
        let client = client.clone();
        let store = store.clone();
        let mut imports = client.every_import_notification_stream();
        task_manager.spawn_handle().spawn_blocking(
            "eth-index-imports",
            Some("eth-rpc"),
            async move {
                while let Some(n) = imports.next().await {
                    if !index_block(&client, &store, n.hash) {
                        // Debug, not warn: a warp sync imports its history like this, block by
                        // block, without state.
                        log::debug!(
                            target: "eth-rpc",
                            "imported block #{} {:?} has no state to index (warp-synced history?)",
                            n.header.number(),
                            n.hash
                        );
                    }
                }
            },
        );
    }
    // Pruning behind finality.
    {
        let client = client.clone();
        let store = store.clone();
        let mut finality = client.finality_notification_stream();
        task_manager.spawn_handle().spawn_blocking(
            "eth-index-prune",
            Some("eth-rpc"),
            async move {
                while let Some(n) = finality.next().await {
                    let keep_from = n.header.number().saturating_sub(depth);
                    if let Err(e) = store.prune(keep_from, PRUNE_BATCH) {
                        log::warn!(target: "eth-rpc", "pruning the Ethereum index: {e}");
                    }
                }
            },
        );
    }
    // The recent past: from the best block back over `depth` blocks, until a block whose state
    // is gone (older states are gone too, on a node that prunes state).
    {
        let client = client.clone();
        let store = store.clone();
        task_manager.spawn_handle().spawn_blocking(
            "eth-index-backfill",
            Some("eth-rpc"),
            async move {
                let best = client.info().best_number;
                let mut n = best;
                let mut filled = 0u32;
                loop {
                    let Ok(Some(hash)) = client.hash(n) else { break };
                    let had = store.contains(hash).unwrap_or(true);
                    if !index_block(&client, &store, hash) {
                        break;
                    }
                    filled = filled.saturating_add(u32::from(!had));
                    if n == 0 || best.saturating_sub(n) >= depth {
                        break;
                    }
                    n = n.saturating_sub(1);
                }
                log::info!(
                    target: "eth-rpc",
                    "Ethereum index covers blocks {n}..={best} ({filled} filled in at start)"
                );
            },
        );
    }
    Ok(store)
}
