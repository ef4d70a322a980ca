//! The Ethereum JSON-RPC endpoint, embedded in the node (default port 8545).
//!
//! ## Why embedded
//!
//! `pallet-revive-eth-rpc` (the standalone server) talks to a node over WebSocket through
//! `subxt`, keeps its own SQLite index, builds a second runtime in its build script and, through
//! `sc-cli`'s default features, links RocksDB, which this node does not use. Inside the node the
//! same answers come straight from the client: `pallet_revive`'s runtime API (`ReviveApi`: dry
//! runs, gas estimates, balances, nonces, code, storage, the Ethereum block of each block and
//! its receipts' gas) and the block bodies and events. The wire types are `pallet_revive`'s own
//! (`GenericTransaction`, `TransactionSigned`, `BlockV1`, `TransactionInfoV1`); receipts, logs
//! and filters are in [`types`].
//!
//! ## Conventions
//!
//! - **Block hashes** are the chain's own block hashes: one hash names a block for Polkadot.js and
//!   for ethers alike. Block numbers are the chain's block numbers.
//! - `latest` and `pending` are the best block; `safe` and `finalized` the last finalized one.
//! - **Transactions** are looked up by hash in an index of the Ethereum transactions of the last
//!   [`EthRpcParams::eth_index_depth`] blocks, kept in memory and extended as blocks are imported.
//!   A transaction's index is its position among the Ethereum transactions of its block.
//! - **Submission** (`eth_sendRawTransaction`) checks the chain id and signature, then dry-runs the
//!   transaction at the best block: a transaction that would fail (revert, invalid code, out of
//!   gas, insufficient funds) is refused with the reason and costs nothing. Pool errors come back
//!   as the usual Ethereum messages (`nonce too low`, `insufficient funds ...`).
//! - Logs are those contracts emit in Ethereum transactions (`ContractEmitted` events of
//!   `Revive::eth_transact` extrinsics); `eth_getLogs` spans at most [`MAX_LOG_RANGE`] blocks.
//!
//! ## Errors
//!
//! `-32602` malformed parameters; `-32000` a transaction refused (message says why); `3` a
//! reverted call or estimate, with the revert data in `data`; `-32603` an internal failure.

pub mod types;

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use codec::{Decode, Encode};
use futures::StreamExt;
use jsonrpsee::{
    core::{async_trait, RpcResult},
    proc_macros::rpc,
    types::{ErrorObject, ErrorObjectOwned},
};
use pallet_revive::{
    evm::{Bytes, GenericTransaction, TransactionSigned, H160, H256, U256},
    pallet_revive_types::runtime_api::{
        BlockV1, EthTransactInfoV1, GenericTransactionV1, HashesOrTransactionInfosV1,
        TransactionInfoV1,
    },
    EthTransactError, ReviveApi,
};
use polkadot_sdk::{
    frame_system, pallet_revive,
    sc_client_api::{BlockBackend, BlockchainEvents, StorageProvider},
    sc_service::TaskManager,
    sc_transaction_pool_api::{
        error::{Error as PoolError, IntoPoolError},
        InPoolTransaction, TransactionPool, TransactionSource,
    },
    sp_api::ProvideRuntimeApi,
    sp_blockchain::HeaderBackend,
    sp_core::storage::StorageKey,
    sp_crypto_hashing::{keccak_256, twox_128},
    sp_runtime::{
        generic,
        traits::{Block as BlockT, Header as HeaderT},
        transaction_validity::InvalidTransaction,
    },
};
use provena_runtime::{
    opaque::Block, AccountId, BlockNumber, Nonce, RuntimeCall, RuntimeEvent, UncheckedExtrinsic,
};

use crate::service::FullClient;
use types::{BlockRef, FeeHistory, Filter, Log, Receipt};

/// `eth_getLogs` answers for at most this many blocks at once.
pub const MAX_LOG_RANGE: u32 = 2_048;
/// `eth_feeHistory` covers at most this many blocks.
const MAX_FEE_HISTORY: u32 = 1_024;
/// JSON-RPC: invalid params.
const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC: internal error.
const INTERNAL: i32 = -32603;
/// The conventional code of a refused transaction.
const TX_REFUSED: i32 = -32000;
/// The conventional code of a reverted execution (`eth_call`, `eth_estimateGas`).
const REVERTED: i32 = 3;

/// The flags of the Ethereum endpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct EthRpcParams {
    /// Port of the Ethereum JSON-RPC endpoint (HTTP and WebSocket).
    #[arg(long, env = "PROVENA_ETH_RPC_PORT", default_value_t = 8545)]
    pub eth_rpc_port: u16,
    /// Listen on all interfaces instead of localhost only.
    #[arg(long, env = "PROVENA_ETH_RPC_EXTERNAL")]
    pub eth_rpc_external: bool,
    /// Do not serve the Ethereum JSON-RPC endpoint.
    #[arg(long, env = "PROVENA_NO_ETH_RPC")]
    pub no_eth_rpc: bool,
    /// How many recent blocks the transaction-hash index covers.
    #[arg(long, env = "PROVENA_ETH_INDEX_DEPTH", default_value_t = 100_000)]
    pub eth_index_depth: u32,
}

type Pool = polkadot_sdk::sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;
type EventRecord = frame_system::EventRecord<RuntimeEvent, H256>;

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(INVALID_PARAMS, msg.into(), None::<()>)
}

fn internal(msg: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(INTERNAL, msg.to_string(), None::<()>)
}

fn refused(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(TX_REFUSED, msg.into(), None::<()>)
}

/// The error of a failed dry run: revert data as code 3, anything else as -32000.
fn dry_run_error(e: EthTransactError) -> ErrorObjectOwned {
    match e {
        EthTransactError::Data(data) => {
            let reason = revert_reason(&data)
                .map(|r| format!("execution reverted: {r}"))
                .unwrap_or_else(|| "execution reverted".into());
            ErrorObject::owned(REVERTED, reason, Some(Bytes(data)))
        }
        EthTransactError::Message(m) => refused(m),
    }
}

/// The message of a Solidity `Error(string)` revert, if `data` is one.
fn revert_reason(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&[0x08, 0xc3, 0x79, 0xa0][..])?;
    let len_word = body.get(32..64)?;
    let len = usize::try_from(U256::from_big_endian(len_word)).ok()?;
    let text = body.get(64..64usize.checked_add(len)?)?;
    String::from_utf8(text.to_vec()).ok()
}

/// Whether a revert event is the marker a `runtime-benchmarks` runtime deposits after every
/// *successful* Ethereum transaction (`pallet_revive` does so to benchmark the event's cost).
/// Production runtimes are built without benchmarks and never emit it.
#[cfg(feature = "runtime-benchmarks")]
fn is_benchmark_marker(e: &polkadot_sdk::sp_runtime::DispatchError) -> bool {
    *e == pallet_revive::Error::<provena_runtime::Runtime>::BenchmarkingError.into()
}

#[cfg(not(feature = "runtime-benchmarks"))]
fn is_benchmark_marker(_: &polkadot_sdk::sp_runtime::DispatchError) -> bool {
    false
}

/// An Ethereum transaction found in a block.
struct EthTx {
    /// Its position among the block's extrinsics.
    extrinsic_index: u32,
    /// keccak256 of its signed RLP.
    hash: H256,
    signed: TransactionSigned,
    from: H160,
}

/// Ethereum transaction hash → the blocks (number, hash) that include it, for recent blocks.
#[derive(Default)]
struct TxIndex {
    by_hash: HashMap<H256, Vec<(BlockNumber, H256)>>,
    by_number: BTreeMap<BlockNumber, Vec<H256>>,
}

impl TxIndex {
    fn insert(&mut self, number: BlockNumber, block: H256, txs: &[H256]) {
        for tx in txs {
            let at = self.by_hash.entry(*tx).or_default();
            if !at.contains(&(number, block)) {
                at.push((number, block));
            }
        }
        self.by_number.entry(number).or_default().extend(txs.iter().copied());
    }

    /// Forgets blocks below `keep_from`.
    fn prune(&mut self, keep_from: BlockNumber) {
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

/// The Ethereum JSON-RPC methods.
#[rpc(server)]
pub trait EthApi {
    #[method(name = "eth_chainId")]
    fn chain_id(&self) -> RpcResult<U256>;
    #[method(name = "net_version")]
    fn net_version(&self) -> RpcResult<String>;
    #[method(name = "net_listening")]
    fn net_listening(&self) -> RpcResult<bool>;
    #[method(name = "web3_clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    #[method(name = "eth_syncing")]
    fn syncing(&self) -> RpcResult<bool>;
    #[method(name = "eth_accounts")]
    fn accounts(&self) -> RpcResult<Vec<H160>>;
    #[method(name = "eth_blockNumber")]
    fn block_number(&self) -> RpcResult<U256>;
    #[method(name = "eth_gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    #[method(name = "eth_maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "eth_feeHistory")]
    fn fee_history(
        &self,
        block_count: U256,
        newest: BlockRef,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    #[method(name = "eth_getBalance")]
    fn get_balance(&self, address: H160, block: Option<BlockRef>) -> RpcResult<U256>;
    #[method(name = "eth_getTransactionCount")]
    fn get_transaction_count(&self, address: H160, block: Option<BlockRef>) -> RpcResult<U256>;
    #[method(name = "eth_getCode")]
    fn get_code(&self, address: H160, block: Option<BlockRef>) -> RpcResult<Bytes>;
    #[method(name = "eth_getStorageAt")]
    fn get_storage_at(&self, address: H160, slot: U256, block: Option<BlockRef>)
        -> RpcResult<H256>;
    #[method(name = "eth_call")]
    fn call(&self, tx: GenericTransactionV1, block: Option<BlockRef>) -> RpcResult<Bytes>;
    #[method(name = "eth_estimateGas")]
    fn estimate_gas(&self, tx: GenericTransactionV1, block: Option<BlockRef>) -> RpcResult<U256>;
    #[method(name = "eth_sendRawTransaction")]
    async fn send_raw_transaction(&self, tx: Bytes) -> RpcResult<H256>;
    #[method(name = "eth_getBlockByNumber")]
    fn block_by_number(&self, block: BlockRef, full: bool) -> RpcResult<Option<BlockV1>>;
    #[method(name = "eth_getBlockByHash")]
    fn block_by_hash(&self, hash: H256, full: bool) -> RpcResult<Option<BlockV1>>;
    #[method(name = "eth_getBlockTransactionCountByNumber")]
    fn block_tx_count_by_number(&self, block: BlockRef) -> RpcResult<Option<U256>>;
    #[method(name = "eth_getBlockTransactionCountByHash")]
    fn block_tx_count_by_hash(&self, hash: H256) -> RpcResult<Option<U256>>;
    #[method(name = "eth_getTransactionByHash")]
    fn transaction_by_hash(&self, hash: H256) -> RpcResult<Option<TransactionInfoV1>>;
    #[method(name = "eth_getTransactionByBlockNumberAndIndex")]
    fn transaction_by_block_number_and_index(
        &self,
        block: BlockRef,
        index: U256,
    ) -> RpcResult<Option<TransactionInfoV1>>;
    #[method(name = "eth_getTransactionReceipt")]
    fn transaction_receipt(&self, hash: H256) -> RpcResult<Option<Receipt>>;
    #[method(name = "eth_getBlockReceipts")]
    fn block_receipts(&self, block: BlockRef) -> RpcResult<Option<Vec<Receipt>>>;
    #[method(name = "eth_getLogs")]
    fn get_logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
}

/// The Ethereum endpoint's state: the client, the pool and the transaction index.
pub struct Eth {
    client: Arc<FullClient>,
    pool: Arc<Pool>,
    index: Arc<Mutex<TxIndex>>,
    chain_id: u64,
}

impl Eth {
    fn best(&self) -> H256 {
        self.client.info().best_hash
    }

    /// The hash of the block `r` names, if it exists.
    fn resolve(&self, r: BlockRef) -> RpcResult<Option<H256>> {
        let info = self.client.info();
        Ok(match r {
            BlockRef::Latest => Some(info.best_hash),
            BlockRef::Finalized => Some(info.finalized_hash),
            BlockRef::Earliest => Some(info.genesis_hash),
            BlockRef::Number(n) => self.client.hash(n).map_err(internal)?,
            BlockRef::Hash(h) => self.client.number(h).map_err(internal)?.map(|_| h),
        })
    }

    /// Like [`Self::resolve`], but an unknown block is an error (for state queries).
    fn state_at(&self, r: Option<BlockRef>) -> RpcResult<H256> {
        self.resolve(r.unwrap_or_default())?
            .ok_or_else(|| invalid_params("header not found: unknown block"))
    }

    fn number_of(&self, hash: H256) -> RpcResult<BlockNumber> {
        self.client
            .number(hash)
            .map_err(internal)?
            .ok_or_else(|| internal("block number not found"))
    }

    /// The Ethereum transactions in block `hash`, in order.
    fn eth_txs(&self, hash: H256) -> RpcResult<Vec<EthTx>> {
        let body = self.client.block_body(hash).map_err(internal)?.unwrap_or_default();
        Ok(eth_txs_of(&body))
    }

    /// The events of block `hash` (none if they do not decode, e.g. an older runtime's).
    fn events(&self, hash: H256) -> RpcResult<Vec<EventRecord>> {
        let key = [twox_128(b"System"), twox_128(b"Events")].concat();
        let Some(raw) = self.client.storage(hash, &StorageKey(key)).map_err(internal)? else {
            return Ok(Vec::new());
        };
        Ok(Vec::<EventRecord>::decode(&mut &raw.0[..]).unwrap_or_else(|e| {
            log::debug!(target: "eth-rpc", "events of {hash:?} do not decode: {e}");
            Vec::new()
        }))
    }

    /// The receipts of the Ethereum transactions in block `hash`.
    #[allow(deprecated)]
    fn receipts(&self, hash: H256) -> RpcResult<Vec<(EthTx, Receipt)>> {
        let txs = self.eth_txs(hash)?;
        if txs.is_empty() {
            return Ok(Vec::new());
        }
        let number = self.number_of(hash)?;
        let gas = self.client.runtime_api().eth_receipt_data(hash).map_err(internal)?;
        if gas.len() != txs.len() {
            return Err(internal(format!(
                "block {hash:?} has {} Ethereum transactions but {} receipt records",
                txs.len(),
                gas.len()
            )));
        }
        let events = self.events(hash)?;
        let mut log_index = 0u64;
        let mut cumulative = U256::zero();
        let mut out = Vec::with_capacity(txs.len());
        for (position, (tx, gas)) in txs.into_iter().zip(gas).enumerate() {
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
                    }) => {
                        logs.push(Log {
                            address: *contract,
                            topics: topics.clone(),
                            data: Bytes(data.clone()),
                            block_hash: hash,
                            block_number: number.into(),
                            transaction_hash: tx.hash,
                            transaction_index: position.into(),
                            log_index: log_index.into(),
                            removed: false,
                        });
                        log_index = log_index.saturating_add(1);
                    }
                    RuntimeEvent::Revive(pallet_revive::Event::EthExtrinsicRevert {
                        dispatch_error,
                    }) if !is_benchmark_marker(dispatch_error) => {
                        failed = true;
                    }
                    RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. }) => {
                        failed = true;
                    }
                    _ => {}
                }
            }
            if failed {
                // A failed transaction's state changes, logs included, are rolled back.
                logs.clear();
            }
            cumulative = cumulative.saturating_add(gas.gas_used);
            let generic =
                GenericTransaction::from_signed(tx.signed.clone(), gas.effective_gas_price, None);
            let contract_address = match generic.to {
                Some(_) => None,
                None => {
                    let nonce = u64::try_from(generic.nonce.unwrap_or_default()).unwrap_or(0);
                    Some(pallet_revive::create1(&tx.from, nonce))
                }
            };
            let receipt = Receipt {
                block_hash: hash,
                block_number: number.into(),
                contract_address,
                cumulative_gas_used: cumulative,
                effective_gas_price: gas.effective_gas_price,
                from: tx.from,
                gas_used: gas.gas_used,
                logs_bloom: Bytes(types::logs_bloom(&logs).to_vec()),
                logs,
                status: if failed { U256::zero() } else { U256::one() },
                to: generic.to,
                transaction_hash: tx.hash,
                transaction_index: position.into(),
                tx_type: U256::from(generic.r#type.map(|b| b.0).unwrap_or_default()),
            };
            out.push((tx, receipt));
        }
        Ok(out)
    }

    /// Where transaction `hash` is on the best chain: (block hash, number).
    fn locate(&self, hash: H256) -> RpcResult<Option<(H256, BlockNumber)>> {
        let candidates = self
            .index
            .lock()
            .map_err(|_| internal("transaction index poisoned"))?
            .by_hash
            .get(&hash)
            .cloned()
            .unwrap_or_default();
        for (number, block) in candidates {
            if self.client.hash(number).map_err(internal)? == Some(block) {
                return Ok(Some((block, number)));
            }
        }
        Ok(None)
    }

    fn tx_info(
        &self,
        block: H256,
        number: BlockNumber,
        position: usize,
        tx: EthTx,
    ) -> TransactionInfoV1 {
        TransactionInfoV1 {
            block_hash: block,
            block_number: number.into(),
            from: tx.from,
            hash: tx.hash,
            transaction_index: position.into(),
            transaction_signed: tx.signed.into(),
        }
    }

    /// The Ethereum view of block `hash`.
    #[allow(deprecated)]
    fn block(&self, hash: H256, full: bool) -> RpcResult<Option<BlockV1>> {
        let Some(header) = self.client.header(hash).map_err(internal)? else { return Ok(None) };
        let mut block = self.client.runtime_api().eth_block(hash).map_err(internal)?;
        let number = *header.number();
        block.hash = hash;
        block.parent_hash = *header.parent_hash();
        block.number = number.into();
        let txs = self.eth_txs(hash)?;
        block.transactions = if full {
            HashesOrTransactionInfosV1::TransactionInfos(
                txs.into_iter()
                    .enumerate()
                    .map(|(i, tx)| self.tx_info(hash, number, i, tx))
                    .collect(),
            )
        } else {
            HashesOrTransactionInfosV1::Hashes(txs.iter().map(|t| t.hash).collect())
        };
        Ok(Some(block))
    }

    /// Runs `tx` against the state of `block` without keeping its effects (`eth_call`,
    /// `eth_estimateGas`).
    #[allow(deprecated)]
    fn dry_run(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
    ) -> RpcResult<EthTransactInfoV1<provena_runtime::Balance>> {
        let at = self.state_at(block)?;
        self.client.runtime_api().eth_transact(at, tx).map_err(internal)?.map_err(dry_run_error)
    }

    /// The next nonce of `address`, counting its ready transactions in the pool.
    #[allow(deprecated)]
    fn pending_nonce(&self, address: H160) -> RpcResult<Nonce> {
        let best = self.best();
        let api = self.client.runtime_api();
        let mut nonce = api.nonce(best, address).map_err(internal)?;
        let who: AccountId = api.account_id(best, address).map_err(internal)?;
        let provides: std::collections::HashSet<Vec<u8>> =
            self.pool.ready().flat_map(|tx| tx.provides().to_vec()).collect();
        while provides.contains(&(who.clone(), nonce).encode()) {
            nonce = nonce.saturating_add(1);
        }
        Ok(nonce)
    }
}

/// The Ethereum transactions (`Revive::eth_transact`) among a block's extrinsics.
fn eth_txs_of(body: &[<Block as BlockT>::Extrinsic]) -> Vec<EthTx> {
    let mut out = Vec::new();
    for (i, opaque) in body.iter().enumerate() {
        let Ok(xt) = UncheckedExtrinsic::decode(&mut &opaque.encode()[..]) else { continue };
        let RuntimeCall::Revive(pallet_revive::Call::eth_transact { payload }) = &xt.0.function
        else {
            continue;
        };
        let Ok(signed) = TransactionSigned::decode(payload) else { continue };
        let Ok(from) = signed.recover_eth_address() else { continue };
        let Ok(extrinsic_index) = u32::try_from(i) else { continue };
        out.push(EthTx { extrinsic_index, hash: H256(keccak_256(payload)), signed, from });
    }
    out
}

fn to_u32(name: &str, v: U256) -> RpcResult<u32> {
    u32::try_from(v).map_err(|_| invalid_params(format!("{name} is too large")))
}

#[async_trait]
impl EthApiServer for Eth {
    fn chain_id(&self) -> RpcResult<U256> {
        Ok(self.chain_id.into())
    }

    fn net_version(&self) -> RpcResult<String> {
        Ok(self.chain_id.to_string())
    }

    fn net_listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(format!("provena-node/v{}", env!("CARGO_PKG_VERSION")))
    }

    fn syncing(&self) -> RpcResult<bool> {
        Ok(false)
    }

    fn accounts(&self) -> RpcResult<Vec<H160>> {
        // The node holds no Ethereum keys: transactions are signed by wallets.
        Ok(Vec::new())
    }

    fn block_number(&self) -> RpcResult<U256> {
        Ok(self.client.info().best_number.into())
    }

    #[allow(deprecated)]
    fn gas_price(&self) -> RpcResult<U256> {
        self.client.runtime_api().gas_price(self.best()).map_err(internal)
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        // Fees are fixed by the runtime; a tip buys priority in the pool but is not needed.
        Ok(U256::zero())
    }

    #[allow(deprecated)]
    fn fee_history(
        &self,
        block_count: U256,
        newest: BlockRef,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let count = to_u32("blockCount", block_count)?.min(MAX_FEE_HISTORY);
        if let Some(p) = &percentiles {
            if p.len() > 100
                || p.iter().any(|x| !(0.0..=100.0).contains(x))
                || p.windows(2).any(|w| matches!(w, [a, b] if a > b))
            {
                return Err(invalid_params(
                    "rewardPercentiles must be increasing values in 0..=100",
                ));
            }
        }
        let newest = self.resolve(newest)?.ok_or_else(|| invalid_params("unknown block"))?;
        let newest_number = self.number_of(newest)?;
        let oldest = newest_number.saturating_sub(count.saturating_sub(1));
        let mut base_fee = Vec::new();
        let mut ratio = Vec::new();
        let mut reward = Vec::new();
        let api = self.client.runtime_api();
        for n in (if count == 0 { 1 } else { oldest })..=newest_number {
            if count == 0 {
                break;
            }
            let Some(hash) = self.client.hash(n).map_err(internal)? else { break };
            let b = api.eth_block(hash).map_err(internal)?;
            base_fee.push(b.base_fee_per_gas);
            let used = b.gas_used.low_u128() as f64;
            let limit = b.gas_limit.low_u128().max(1) as f64;
            ratio.push(used / limit);
            if let Some(p) = &percentiles {
                reward.push(vec![U256::zero(); p.len()]);
            }
        }
        // The base fee of the block after `newest` (constant on this chain).
        if count > 0 {
            base_fee.push(api.gas_price(self.best()).map_err(internal)?);
        }
        Ok(FeeHistory {
            oldest_block: oldest.into(),
            base_fee_per_gas: base_fee,
            gas_used_ratio: ratio,
            reward: percentiles.map(|_| reward),
        })
    }

    #[allow(deprecated)]
    fn get_balance(&self, address: H160, block: Option<BlockRef>) -> RpcResult<U256> {
        let at = self.state_at(block)?;
        self.client.runtime_api().balance(at, address).map_err(internal)
    }

    #[allow(deprecated)]
    fn get_transaction_count(&self, address: H160, block: Option<BlockRef>) -> RpcResult<U256> {
        if matches!(block, None | Some(BlockRef::Latest)) {
            return Ok(self.pending_nonce(address)?.into());
        }
        let at = self.state_at(block)?;
        Ok(self.client.runtime_api().nonce(at, address).map_err(internal)?.into())
    }

    #[allow(deprecated)]
    fn get_code(&self, address: H160, block: Option<BlockRef>) -> RpcResult<Bytes> {
        let at = self.state_at(block)?;
        Ok(Bytes(self.client.runtime_api().code(at, address).map_err(internal)?))
    }

    #[allow(deprecated)]
    fn get_storage_at(
        &self,
        address: H160,
        slot: U256,
        block: Option<BlockRef>,
    ) -> RpcResult<H256> {
        let at = self.state_at(block)?;
        let key = slot.to_big_endian();
        let value = self
            .client
            .runtime_api()
            .get_storage(at, address, key)
            .map_err(internal)?
            .map_err(|e| invalid_params(format!("{e:?}")))?;
        let mut word = [0u8; 32];
        if let Some(v) = value {
            let start = 32usize.saturating_sub(v.len());
            for (dst, src) in word.iter_mut().skip(start).zip(v) {
                *dst = src;
            }
        }
        Ok(H256(word))
    }

    fn call(&self, tx: GenericTransactionV1, block: Option<BlockRef>) -> RpcResult<Bytes> {
        Ok(Bytes(self.dry_run(tx, block)?.data))
    }

    fn estimate_gas(&self, tx: GenericTransactionV1, block: Option<BlockRef>) -> RpcResult<U256> {
        Ok(self.dry_run(tx, block)?.eth_gas)
    }

    #[allow(deprecated)]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<H256> {
        let hash = H256(keccak_256(&raw.0));
        let signed = TransactionSigned::decode(&raw.0)
            .map_err(|e| invalid_params(format!("invalid transaction encoding: {e:?}")))?;
        let from = signed
            .recover_eth_address()
            .map_err(|_| refused("invalid signature: the sender cannot be recovered"))?;
        let best = self.best();
        let api = self.client.runtime_api();
        let base_fee = api.gas_price(best).map_err(internal)?;
        let tx = GenericTransaction::from_signed(signed, base_fee, Some(from));
        match tx.chain_id {
            Some(id) if id == U256::from(self.chain_id) => {}
            Some(id) => {
                return Err(refused(format!(
                    "invalid chain id {id}: this chain's id is {}",
                    self.chain_id
                )))
            }
            None => {
                return Err(refused(format!(
                "transaction has no chain id (EIP-155 replay protection is required; chain id {})",
                self.chain_id
            )))
            }
        }
        let nonce = api.nonce(best, from).map_err(internal)?;
        if tx.nonce.unwrap_or_default() < U256::from(nonce) {
            return Err(refused(format!(
                "nonce too low: address {from:?}, tx nonce {}, state nonce {nonce}",
                tx.nonce.unwrap_or_default()
            )));
        }
        // Only a transaction that is next in line can be dry-run against the current state; one
        // with a future nonce waits in the pool and is checked when it becomes ready.
        if tx.nonce.unwrap_or_default() == U256::from(nonce) {
            let mut dry = tx.clone();
            dry.from = Some(from);
            api.eth_transact(best, dry.into()).map_err(internal)?.map_err(dry_run_error)?;
        }
        let call = RuntimeCall::Revive(pallet_revive::Call::eth_transact { payload: raw.0 });
        let xt: UncheckedExtrinsic = generic::UncheckedExtrinsic::new_bare(call).into();
        let opaque = <Block as BlockT>::Extrinsic::decode(&mut &xt.encode()[..])
            .map_err(|e| internal(format!("extrinsic re-encoding failed: {e}")))?;
        self.pool
            .submit_one(best, TransactionSource::External, opaque)
            .await
            .map_err(|e| pool_error(e.into_pool_error()))?;
        Ok(hash)
    }

    fn block_by_number(&self, block: BlockRef, full: bool) -> RpcResult<Option<BlockV1>> {
        match self.resolve(block)? {
            Some(hash) => self.block(hash, full),
            None => Ok(None),
        }
    }

    fn block_by_hash(&self, hash: H256, full: bool) -> RpcResult<Option<BlockV1>> {
        self.block(hash, full)
    }

    fn block_tx_count_by_number(&self, block: BlockRef) -> RpcResult<Option<U256>> {
        match self.resolve(block)? {
            Some(hash) => Ok(Some(self.eth_txs(hash)?.len().into())),
            None => Ok(None),
        }
    }

    fn block_tx_count_by_hash(&self, hash: H256) -> RpcResult<Option<U256>> {
        self.block_tx_count_by_number(BlockRef::Hash(hash))
    }

    fn transaction_by_hash(&self, hash: H256) -> RpcResult<Option<TransactionInfoV1>> {
        let Some((block, number)) = self.locate(hash)? else { return Ok(None) };
        let txs = self.eth_txs(block)?;
        Ok(txs
            .into_iter()
            .enumerate()
            .find(|(_, t)| t.hash == hash)
            .map(|(i, t)| self.tx_info(block, number, i, t)))
    }

    fn transaction_by_block_number_and_index(
        &self,
        block: BlockRef,
        index: U256,
    ) -> RpcResult<Option<TransactionInfoV1>> {
        let Some(hash) = self.resolve(block)? else { return Ok(None) };
        let index = usize::try_from(index).map_err(|_| invalid_params("index is too large"))?;
        let number = self.number_of(hash)?;
        Ok(self.eth_txs(hash)?.into_iter().nth(index).map(|t| self.tx_info(hash, number, index, t)))
    }

    fn transaction_receipt(&self, hash: H256) -> RpcResult<Option<Receipt>> {
        let Some((block, _)) = self.locate(hash)? else { return Ok(None) };
        Ok(self.receipts(block)?.into_iter().map(|(_, r)| r).find(|r| r.transaction_hash == hash))
    }

    fn block_receipts(&self, block: BlockRef) -> RpcResult<Option<Vec<Receipt>>> {
        let Some(hash) = self.resolve(block)? else { return Ok(None) };
        Ok(Some(self.receipts(hash)?.into_iter().map(|(_, r)| r).collect()))
    }

    fn get_logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        let blocks: Vec<H256> = if let Some(hash) = filter.block_hash {
            if filter.from_block.is_some() || filter.to_block.is_some() {
                return Err(invalid_params("blockHash excludes fromBlock and toBlock"));
            }
            vec![self
                .resolve(BlockRef::Hash(hash))?
                .ok_or_else(|| invalid_params("unknown block"))?]
        } else {
            let from = self
                .resolve(filter.from_block.unwrap_or_default())?
                .ok_or_else(|| invalid_params("fromBlock: unknown block"))?;
            let to = self
                .resolve(filter.to_block.unwrap_or_default())?
                .ok_or_else(|| invalid_params("toBlock: unknown block"))?;
            let (from, to) = (self.number_of(from)?, self.number_of(to)?);
            if from > to {
                return Err(invalid_params("fromBlock is after toBlock"));
            }
            if to.saturating_sub(from) >= MAX_LOG_RANGE {
                return Err(invalid_params(format!(
                    "block range too large: at most {MAX_LOG_RANGE} blocks per query"
                )));
            }
            let mut hashes = Vec::new();
            for n in from..=to {
                if let Some(h) = self.client.hash(n).map_err(internal)? {
                    hashes.push(h);
                }
            }
            hashes
        };
        let mut out = Vec::new();
        for hash in blocks {
            for (_, receipt) in self.receipts(hash)? {
                out.extend(receipt.logs.into_iter().filter(|l| filter.matches(l)));
            }
        }
        Ok(out)
    }
}

/// The Ethereum-style message of a pool refusal.
fn pool_error<E: std::fmt::Display>(e: Result<PoolError, E>) -> ErrorObjectOwned {
    match e {
        Ok(PoolError::InvalidTransaction(InvalidTransaction::Stale)) => refused("nonce too low"),
        Ok(PoolError::InvalidTransaction(InvalidTransaction::Payment)) => {
            refused("insufficient funds for gas * price + value")
        }
        Ok(PoolError::InvalidTransaction(InvalidTransaction::BadProof)) => {
            refused("invalid signature")
        }
        Ok(PoolError::InvalidTransaction(InvalidTransaction::Call)) => {
            refused("invalid transaction: the runtime rejects it (chain id, type or gas fields)")
        }
        Ok(PoolError::InvalidTransaction(InvalidTransaction::ExhaustsResources)) => {
            refused("exceeds block gas limit")
        }
        Ok(PoolError::AlreadyImported(_)) => refused("already known"),
        Ok(PoolError::TooLowPriority { .. }) => refused("replacement transaction underpriced"),
        Ok(other) => refused(other.to_string()),
        Err(other) => refused(other.to_string()),
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

/// Starts the Ethereum endpoint: the index (backfilled in the background, then following
/// imports) and the JSON-RPC server.
pub fn start(
    params: &EthRpcParams,
    client: Arc<FullClient>,
    pool: Arc<Pool>,
    task_manager: &TaskManager,
) -> Result<(), String> {
    if params.no_eth_rpc {
        return Ok(());
    }
    let index = Arc::new(Mutex::new(TxIndex::default()));
    let depth = params.eth_index_depth;

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

    let chain_id = provena_runtime::configs::EVM_CHAIN_ID;
    let module = Eth { client, pool, index, chain_id }.into_rpc();
    let ip = if params.eth_rpc_external { [0, 0, 0, 0] } else { [127, 0, 0, 1] };
    let addr = SocketAddr::from((ip, params.eth_rpc_port));
    let cors = tower_http::cors::CorsLayer::permissive();
    // Bound here, once, so a taken port fails the node's start with a clear message.
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {addr} for the Ethereum RPC: {e}"))?;
    let server = jsonrpsee::server::Server::builder()
        .set_http_middleware(tower::ServiceBuilder::new().layer(cors))
        .build_from_tcp(listener)
        .map_err(|e| format!("the Ethereum RPC server cannot start on {addr}: {e}"))?;
    log::info!(target: "eth-rpc", "Ethereum JSON-RPC on {addr} (chain id {chain_id})");
    let handle = server.start(module);
    task_manager.spawn_essential_handle().spawn("eth-rpc-server", Some("eth-rpc"), async move {
        handle.stopped().await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_reasons_decode() {
        // `Error("nope")`
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        let mut word = [0u8; 32];
        word[31] = 0x20;
        data.extend(word);
        word[31] = 4;
        data.extend(word);
        let mut text = [0u8; 32];
        text[..4].copy_from_slice(b"nope");
        data.extend(text);
        assert_eq!(revert_reason(&data).as_deref(), Some("nope"));
        assert_eq!(revert_reason(&data[..40]), None);
        assert_eq!(revert_reason(&[1, 2, 3]), None);
    }

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
