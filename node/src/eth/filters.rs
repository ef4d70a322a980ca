//! Polling filters and subscriptions: what `contract.on(...)` in ethers, `watchBlocks` and
//! `watchContractEvent` in viem, and every block explorer's live view use.
//!
//! ## Filters (HTTP or WebSocket)
//!
//! `eth_newFilter` (logs), `eth_newBlockFilter` and `eth_newPendingTransactionFilter` install a
//! filter and return its id (128 random bits, so one client cannot guess and read or remove
//! another's); `eth_getFilterChanges` returns what happened since the last poll: logs or block
//! hashes of the best chain's blocks imported since (at most [`MAX_BLOCKS_PER_POLL`] blocks a
//! poll; the rest comes with the next), or the hashes of Ethereum transactions that entered the
//! pool (at most [`MAX_PENDING_PER_FILTER`] kept between polls, the oldest dropped first).
//! `eth_getFilterLogs` runs a log filter over its whole range, as `eth_getLogs`.
//! `eth_uninstallFilter` removes one. At most [`MAX_FILTERS`] filters are installed at once
//! (installing more is refused, not evicting anyone's); a filter not polled for
//! [`FILTER_TIMEOUT`] is removed, as geth does.
//!
//! ## Subscriptions (WebSocket)
//!
//! `eth_subscribe` with `newHeads` (each new best block's header), `logs` (with an optional
//! address/topics filter; each log of each new best block) or `newPendingTransactions` (the
//! hashes of Ethereum transactions entering the pool); `eth_unsubscribe` ends one. A client that
//! reads too slowly is dropped rather than buffered for. Logs of blocks retracted by a
//! reorganisation are not re-sent with `removed: true` (blocks are final within seconds here).

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use futures::StreamExt;
use jsonrpsee::{
    core::{async_trait, RpcResult, SubscriptionResult},
    proc_macros::rpc,
    PendingSubscriptionSink, SubscriptionMessage,
};
use pallet_revive::evm::{H256, U256};
use polkadot_sdk::{
    pallet_revive,
    sc_client_api::BlockchainEvents,
    sc_transaction_pool_api::{InPoolTransaction, TransactionPool},
    sp_blockchain::HeaderBackend,
    sp_runtime::traits::Block as BlockT,
};
use provena_runtime::{opaque::Block, BlockNumber};

use super::{
    internal, invalid_params,
    types::{Filter, Log},
    Eth,
};

/// At most this many filters are installed at once.
pub const MAX_FILTERS: usize = 1_024;
/// A filter not polled for this long is removed.
pub const FILTER_TIMEOUT: Duration = Duration::from_secs(300);
/// A pending-transaction filter keeps at most this many hashes between polls.
pub const MAX_PENDING_PER_FILTER: usize = 1_024;
/// One poll of a block or log filter covers at most this many blocks.
pub const MAX_BLOCKS_PER_POLL: u32 = 256;
/// A subscriber that has not read a message for this long is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// What a filter watches.
enum Watch {
    Logs(Filter),
    Blocks,
    Pending(VecDeque<H256>),
}

struct Installed {
    watch: Watch,
    /// The first block not yet reported (block and log filters).
    next_block: BlockNumber,
    polled: Instant,
}

/// The installed filters.
#[derive(Default)]
pub struct Filters {
    installed: HashMap<U256, Installed>,
    /// Where the Ethereum transactions that entered the pool recently are in it.
    pub(super) pool_hashes: PoolHashes,
}

/// The Ethereum transactions that entered the pool recently: Ethereum hash → pool hash, for
/// `eth_getTransactionByHash` on a pending transaction. Bounded: the oldest entry is forgotten
/// first (a forgotten transaction has long left the pool or is found by a scan).
#[derive(Default)]
pub struct PoolHashes {
    by_eth: HashMap<H256, H256>,
    order: VecDeque<H256>,
}

/// Entries [`PoolHashes`] keeps.
const MAX_POOL_HASHES: usize = 16_384;

impl PoolHashes {
    fn insert(&mut self, eth: H256, pool: H256) {
        if self.by_eth.insert(eth, pool).is_none() {
            self.order.push_back(eth);
        }
        while self.order.len() > MAX_POOL_HASHES {
            if let Some(old) = self.order.pop_front() {
                self.by_eth.remove(&old);
            }
        }
    }

    pub(super) fn get(&self, eth: &H256) -> Option<H256> {
        self.by_eth.get(eth).copied()
    }
}

impl Filters {
    /// Removes the filters not polled for [`FILTER_TIMEOUT`].
    fn expire(&mut self, now: Instant) {
        self.installed.retain(|_, f| now.saturating_duration_since(f.polled) < FILTER_TIMEOUT);
    }

    fn install(&mut self, watch: Watch, next_block: BlockNumber) -> RpcResult<U256> {
        let now = Instant::now();
        self.expire(now);
        if self.installed.len() >= MAX_FILTERS {
            return Err(super::limit_exceeded(format!(
                "too many filters installed (at most {MAX_FILTERS}); uninstall some"
            )));
        }
        let id = U256::from(rand::random::<u128>());
        self.installed.insert(id, Installed { watch, next_block, polled: now });
        Ok(id)
    }

    /// Records `hash` in every pending-transaction filter.
    fn pending(&mut self, hash: H256) {
        for f in self.installed.values_mut() {
            if let Watch::Pending(hashes) = &mut f.watch {
                if hashes.len() >= MAX_PENDING_PER_FILTER {
                    hashes.pop_front();
                }
                hashes.push_back(hash);
            }
        }
    }
}

fn not_found() -> jsonrpsee::types::ErrorObjectOwned {
    invalid_params("filter not found")
}

/// The filter and subscription methods.
#[rpc(server)]
pub trait EthFilterApi {
    #[method(name = "eth_newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U256>;
    #[method(name = "eth_newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U256>;
    #[method(name = "eth_newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self) -> RpcResult<U256>;
    #[method(name = "eth_getFilterChanges", blocking)]
    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value>;
    #[method(name = "eth_getFilterLogs", blocking)]
    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>>;
    #[method(name = "eth_uninstallFilter")]
    fn uninstall_filter(&self, id: U256) -> RpcResult<bool>;
    #[subscription(
        name = "eth_subscribe" => "eth_subscription",
        unsubscribe = "eth_unsubscribe",
        item = serde_json::Value
    )]
    async fn subscribe(&self, kind: String, filter: Option<Filter>) -> SubscriptionResult;
}

impl Eth {
    fn filters(&self) -> RpcResult<std::sync::MutexGuard<'_, Filters>> {
        self.filters.lock().map_err(|_| internal("filter table poisoned"))
    }

    fn best_number(&self) -> BlockNumber {
        self.client.info().best_number
    }

    /// The best chain's block hashes from `from` to at most `to`, and the next block to report.
    fn blocks_from(
        &self,
        from: BlockNumber,
        to: BlockNumber,
    ) -> RpcResult<(Vec<H256>, BlockNumber)> {
        let last = to.min(from.saturating_add(MAX_BLOCKS_PER_POLL.saturating_sub(1)));
        let mut hashes = Vec::new();
        let mut n = from;
        while n <= last {
            match self.client.hash(n).map_err(internal)? {
                Some(h) => hashes.push(h),
                None => break,
            }
            n = n.saturating_add(1);
        }
        Ok((hashes, n))
    }
}

/// The Ethereum hash of a pool transaction, if it is an Ethereum transaction.
fn eth_hash_of(xt: &<Block as BlockT>::Extrinsic) -> Option<H256> {
    super::chain::eth_tx_of(xt).map(|t| t.hash)
}

impl Eth {
    /// The Ethereum and pool hashes of the Ethereum transactions entering the pool.
    fn pool_entries(&self) -> impl futures::Stream<Item = (H256, H256)> + Send + 'static {
        let pool = self.pool.clone();
        self.pool.import_notification_stream().filter_map(move |hash| {
            let found = pool.ready_transaction(&hash).and_then(|tx| eth_hash_of(tx.data()));
            futures::future::ready(found.map(|eth| (eth, hash)))
        })
    }

    /// The Ethereum hashes of the transactions entering the pool.
    fn pending_hashes(&self) -> impl futures::Stream<Item = H256> + Send + 'static {
        self.pool_entries().map(|(eth, _)| eth)
    }
}

/// Feeds the pending-transaction filters and the pool's hash map from the pool, for as long as
/// the node runs.
pub(super) async fn follow_pool(eth: Eth) {
    let mut entries = eth.pool_entries();
    while let Some((hash, pool_hash)) = entries.next().await {
        if let Ok(mut f) = eth.filters.lock() {
            f.pending(hash);
            f.pool_hashes.insert(hash, pool_hash);
        }
    }
}

#[async_trait]
impl EthFilterApiServer for Eth {
    fn new_filter(&self, filter: Filter) -> RpcResult<U256> {
        if filter.block_hash.is_some() {
            return Err(invalid_params(
                "eth_newFilter takes fromBlock/toBlock, not blockHash (use eth_getLogs)",
            ));
        }
        let next = self.best_number().saturating_add(1);
        self.filters()?.install(Watch::Logs(filter), next)
    }

    fn new_block_filter(&self) -> RpcResult<U256> {
        let next = self.best_number().saturating_add(1);
        self.filters()?.install(Watch::Blocks, next)
    }

    fn new_pending_transaction_filter(&self) -> RpcResult<U256> {
        self.filters()?.install(Watch::Pending(VecDeque::new()), 0)
    }

    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value> {
        let now = Instant::now();
        // Take what the filter needs under the lock; read blocks without it.
        let (watch, from) = {
            let mut filters = self.filters()?;
            filters.expire(now);
            let f = filters.installed.get_mut(&id).ok_or_else(not_found)?;
            f.polled = now;
            match &mut f.watch {
                Watch::Pending(hashes) => {
                    let hashes: Vec<H256> = hashes.drain(..).collect();
                    return serde_json::to_value(hashes).map_err(internal);
                }
                Watch::Blocks => (None, f.next_block),
                Watch::Logs(filter) => (Some(filter.clone()), f.next_block),
            }
        };
        let mut to = self.best_number();
        if let Some(super::types::BlockRef::Number(end)) = watch.as_ref().and_then(|f| f.to_block) {
            to = to.min(end);
        }
        let (hashes, next) = self.blocks_from(from, to)?;
        let value = match &watch {
            None => serde_json::to_value(&hashes).map_err(internal)?,
            Some(filter) => {
                let mut logs = Vec::new();
                for h in &hashes {
                    logs.extend(self.block_logs(*h, filter)?);
                }
                serde_json::to_value(logs).map_err(internal)?
            }
        };
        if let Some(f) = self.filters()?.installed.get_mut(&id) {
            f.next_block = f.next_block.max(next);
        }
        Ok(value)
    }

    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        let filter = {
            let mut filters = self.filters()?;
            filters.expire(Instant::now());
            let f = filters.installed.get_mut(&id).ok_or_else(not_found)?;
            f.polled = Instant::now();
            match &f.watch {
                Watch::Logs(filter) => filter.clone(),
                _ => return Err(invalid_params("not a log filter")),
            }
        };
        super::EthApiServer::get_logs(self, filter)
    }

    fn uninstall_filter(&self, id: U256) -> RpcResult<bool> {
        Ok(self.filters()?.installed.remove(&id).is_some())
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        filter: Option<Filter>,
    ) -> SubscriptionResult {
        match kind.as_str() {
            "newHeads" | "logs" => {}
            "newPendingTransactions" => {
                let mut hashes = self.pending_hashes();
                let sink = pending.accept().await?;
                while let Some(hash) = hashes.next().await {
                    let msg = SubscriptionMessage::from_json(&hash)?;
                    if sink.send_timeout(msg, SEND_TIMEOUT).await.is_err() {
                        return Ok(());
                    }
                }
                return Ok(());
            }
            other => {
                pending
                    .reject(invalid_params(format!(
                        "unknown subscription {other:?} (newHeads, logs, newPendingTransactions)"
                    )))
                    .await;
                return Ok(());
            }
        }
        if kind == "newHeads" && filter.is_some() {
            pending.reject(invalid_params("newHeads takes no parameters")).await;
            return Ok(());
        }
        if filter.as_ref().is_some_and(|f| {
            f.block_hash.is_some() || f.from_block.is_some() || f.to_block.is_some()
        }) {
            pending
                .reject(invalid_params("a logs subscription takes only address and topics"))
                .await;
            return Ok(());
        }
        let filter = filter.unwrap_or_default();
        let mut imports = self.client.import_notification_stream();
        let sink = pending.accept().await?;
        while let Some(n) = imports.next().await {
            if !n.is_new_best {
                continue;
            }
            let messages = if kind == "newHeads" {
                let header = self.block(n.hash, false)?;
                vec![SubscriptionMessage::from_json(&header)?]
            } else {
                let logs = self.block_logs(n.hash, &filter)?;
                logs.iter().map(SubscriptionMessage::from_json).collect::<Result<_, _>>()?
            };
            for msg in messages {
                if sink.send_timeout(msg, SEND_TIMEOUT).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Subscription ids in geth's form: `0x` and 32 hex digits (128 random bits).
#[derive(Debug, Clone, Copy)]
pub struct HexIdProvider;

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        format!("0x{:032x}", rand::random::<u128>()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_bounded_expire_and_keep_the_newest_pending_hashes() {
        let mut f = Filters::default();
        let ids: std::collections::HashSet<U256> =
            (0..MAX_FILTERS).map(|_| f.install(Watch::Blocks, 1).unwrap()).collect();
        assert_eq!(ids.len(), MAX_FILTERS, "ids collide");
        // A full table refuses, evicting no one.
        let refused = f.install(Watch::Blocks, 1).unwrap_err();
        assert_eq!(refused.code(), super::super::LIMIT_EXCEEDED);
        assert_eq!(f.installed.len(), MAX_FILTERS);
        // Filters nobody polls go after the timeout.
        f.expire(Instant::now() + FILTER_TIMEOUT + Duration::from_secs(1));
        assert!(f.installed.is_empty());
        // A pending filter keeps the newest hashes, up to its bound.
        let id = f.install(Watch::Pending(VecDeque::new()), 0).unwrap();
        let blocks = f.install(Watch::Blocks, 1).unwrap();
        for i in 0..MAX_PENDING_PER_FILTER + 10 {
            f.pending(H256::from_low_u64_be(i as u64));
        }
        let Some(Installed { watch: Watch::Pending(hashes), .. }) = f.installed.get(&id) else {
            panic!("the pending filter is gone");
        };
        assert_eq!(hashes.len(), MAX_PENDING_PER_FILTER);
        assert_eq!(hashes.front(), Some(&H256::from_low_u64_be(10)));
        assert!(matches!(f.installed.get(&blocks).map(|i| &i.watch), Some(Watch::Blocks)));
    }
}
