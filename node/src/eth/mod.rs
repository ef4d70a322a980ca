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
//! - **History** (transaction lookups by hash, receipts, logs, Ethereum block headers) comes from
//!   the on-disk Ethereum index ([`store`], kept by [`index`]): written as blocks are imported,
//!   so it outlives the state of old blocks; a block it does not hold is read from its state. A
//!   transaction's index is its position among the Ethereum transactions of its block; one
//!   still in the pool is found there. Tracing and access lists: see [`debug`]; the
//!   per-connection rate limit: see [`rate`].
//! - `eth_getTransactionCount` at `latest` is the nonce on chain; at `pending` it also counts the
//!   sender's transactions in the pool, ready or waiting for an earlier nonce.
//! - Filters and subscriptions: see [`filters`]. Methods that may read many blocks or run the
//!   EVM run on the blocking pool.
//! - **Submission** (`eth_sendRawTransaction`) checks the chain id and signature, then dry-runs the
//!   transaction at the best block: a transaction that would fail (revert, invalid code, out of
//!   gas, insufficient funds) is refused with the reason and costs nothing. Pool errors come back
//!   as the usual Ethereum messages (`nonce too low`, `insufficient funds ...`).
//! - Logs are those contracts emit in Ethereum transactions (`ContractEmitted` events of
//!   `Revive::eth_transact` extrinsics); `eth_getLogs` spans at most `--eth-rpc-max-log-range` blocks and returns at most
//!   `--eth-rpc-max-logs` logs.
//!
//! ## Errors
//!
//! `-32602` malformed parameters; `-32000` a transaction refused (message says why); `3` a
//! reverted call or estimate, with the revert data in `data`; `-32603` an internal failure.

mod chain;
pub mod debug;
pub mod filters;
mod index;
mod rate;
mod server;
pub mod store;
pub mod types;

pub use index::spawn as spawn_index;
pub use server::{start, EthRpcParams};
pub use store::path_in as index_path;

use std::sync::{Arc, Mutex};

use codec::{Decode, Encode};
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
    sc_client_api::BlockBackend,
    sc_transaction_pool_api::{
        error::{Error as PoolError, IntoPoolError},
        InPoolTransaction, TransactionPool, TransactionSource,
    },
    sp_api::ProvideRuntimeApi,
    sp_blockchain::HeaderBackend,
    sp_crypto_hashing::keccak_256,
    sp_runtime::{
        generic,
        traits::{Block as BlockT, Header as HeaderT},
        transaction_validity::InvalidTransaction,
    },
};
use provena_runtime::{
    opaque::Block, AccountId, BlockNumber, Nonce, RuntimeCall, RuntimeEvent, UncheckedExtrinsic,
};
use sc_network_sync::{SyncState, SyncingService};

use crate::service::FullClient;
use types::{BlockRef, FeeHistory, Filter, Log, Receipt};

/// `eth_feeHistory` covers at most this many blocks.
const MAX_FEE_HISTORY: u32 = 1_024;
/// JSON-RPC: invalid params.
const INVALID_PARAMS: i32 = -32602;
/// The conventional code of a request over a limit (EIP-1474).
const LIMIT_EXCEEDED: i32 = -32005;
/// The conventional code of a method a node does not offer (EIP-1474).
const METHOD_NOT_SUPPORTED: i32 = -32004;
/// JSON-RPC: internal error.
const INTERNAL: i32 = -32603;
/// The conventional code of a refused transaction.
const TX_REFUSED: i32 = -32000;
/// The conventional code of a reverted execution (`eth_call`, `eth_estimateGas`).
const REVERTED: i32 = 3;

/// The query limits of [`EthRpcParams`] that the methods apply.
#[derive(Clone, Copy, Debug)]
struct Limits {
    log_range: u32,
    logs: usize,
}

type Pool = polkadot_sdk::sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;
type EventRecord = frame_system::EventRecord<RuntimeEvent, H256>;

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(INVALID_PARAMS, msg.into(), None::<()>)
}

fn internal(msg: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(INTERNAL, msg.to_string(), None::<()>)
}

/// A request over one of the endpoint's limits (`-32005`).
fn limit_exceeded(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(LIMIT_EXCEEDED, msg.into(), None::<()>)
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

/// The reason of a revert, decoded by alloy: a Solidity `Error(string)`'s message, a
/// `Panic(uint256)`'s meaning (`panic: arithmetic underflow or overflow (0x11)`), or a printable
/// UTF-8 string (Vyper); `None` for anything else (empty data, custom errors).
fn revert_reason(data: &[u8]) -> Option<String> {
    use alloy_core::sol_types::{ContractError, GenericRevertReason, RevertReason};
    match GenericRevertReason::decode(data)? {
        RevertReason::ContractError(ContractError::Revert(r)) => Some(r.reason),
        RevertReason::ContractError(e) => Some(e.to_string()),
        RevertReason::RawString(s) => {
            (!s.is_empty() && !s.chars().any(char::is_control)).then_some(s)
        }
    }
}

/// The Ethereum JSON-RPC methods. Those that may read many blocks or run the EVM (`blocking`)
/// run on the blocking pool, off the async threads that serve every connection and the node.
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
    #[method(name = "web3_sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<H256>;
    #[method(name = "eth_getProof")]
    fn get_proof(
        &self,
        address: H160,
        slots: Vec<H256>,
        block: Option<BlockRef>,
    ) -> RpcResult<serde_json::Value>;
    #[method(name = "net_peerCount")]
    fn peer_count(&self) -> RpcResult<U256>;
    #[method(name = "eth_syncing")]
    async fn syncing(&self) -> RpcResult<serde_json::Value>;
    #[method(name = "eth_accounts")]
    fn accounts(&self) -> RpcResult<Vec<H160>>;
    #[method(name = "eth_blockNumber")]
    fn block_number(&self) -> RpcResult<U256>;
    #[method(name = "eth_gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    #[method(name = "eth_maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "eth_feeHistory", blocking)]
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
    #[method(name = "eth_call", blocking)]
    fn call(&self, tx: GenericTransactionV1, block: Option<BlockRef>) -> RpcResult<Bytes>;
    #[method(name = "eth_estimateGas", blocking)]
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
    fn transaction_by_hash(&self, hash: H256) -> RpcResult<Option<serde_json::Value>>;
    #[method(name = "eth_getTransactionByBlockNumberAndIndex")]
    fn transaction_by_block_number_and_index(
        &self,
        block: BlockRef,
        index: U256,
    ) -> RpcResult<Option<TransactionInfoV1>>;
    #[method(name = "eth_getTransactionByBlockHashAndIndex")]
    fn transaction_by_block_hash_and_index(
        &self,
        hash: H256,
        index: U256,
    ) -> RpcResult<Option<TransactionInfoV1>>;
    #[method(name = "eth_getTransactionReceipt")]
    fn transaction_receipt(&self, hash: H256) -> RpcResult<Option<Receipt>>;
    #[method(name = "eth_getBlockReceipts", blocking)]
    fn block_receipts(&self, block: BlockRef) -> RpcResult<Option<Vec<Receipt>>>;
    #[method(name = "eth_getLogs", blocking)]
    fn get_logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
}

/// The Ethereum endpoint's state: the client, the pool, the transaction index and the
/// installed filters (shared by the method modules: clones share everything).
#[derive(Clone)]
pub struct Eth {
    client: Arc<FullClient>,
    pool: Arc<Pool>,
    sync: Arc<SyncingService<Block>>,
    store: Arc<store::Store>,
    filters: Arc<Mutex<filters::Filters>>,
    chain_id: u64,
    limits: Limits,
    /// The best block when the endpoint started (`eth_syncing`'s `startingBlock`).
    starting_block: BlockNumber,
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

    fn sha3(&self, data: Bytes) -> RpcResult<H256> {
        Ok(H256(keccak_256(&data.0)))
    }

    fn get_proof(
        &self,
        _address: H160,
        _slots: Vec<H256>,
        _block: Option<BlockRef>,
    ) -> RpcResult<serde_json::Value> {
        // Contract state lives in the chain's own trie (BLAKE2 child tries per contract), not
        // in an Ethereum Merkle-Patricia trie: there is no EIP-1186 proof to give.
        Err(ErrorObject::owned(
            METHOD_NOT_SUPPORTED,
            "eth_getProof is not supported: Provena's state is not an Ethereum Merkle-Patricia \
             trie (prove state with the chain's own state_getReadProof)",
            None::<()>,
        ))
    }

    fn peer_count(&self) -> RpcResult<U256> {
        Ok(self.sync.num_connected_peers().into())
    }

    async fn syncing(&self) -> RpcResult<serde_json::Value> {
        // `false` once caught up; while catching up, where it started, is and is going.
        let status = self.sync.status().await.map_err(|_| internal("the sync engine stopped"))?;
        let target = match status.state {
            SyncState::Idle => return Ok(serde_json::Value::Bool(false)),
            SyncState::Downloading { target } | SyncState::Importing { target } => target,
        };
        let current = self.client.info().best_number;
        let quantity = |n: BlockNumber| serde_json::Value::String(format!("{n:#x}"));
        Ok(serde_json::json!({
            "startingBlock": quantity(self.starting_block.min(current)),
            "currentBlock": quantity(current),
            "highestBlock": quantity(target.max(status.best_seen_block.unwrap_or(0)).max(current)),
        }))
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
        for n in (if count == 0 { 1 } else { oldest })..=newest_number {
            if count == 0 {
                break;
            }
            let Some(hash) = self.client.hash(n).map_err(internal)? else { break };
            // From the index, or one runtime-API instance per block: an instance called at two
            // blocks fails ("Using the same api instance to call into multiple independent
            // blocks").
            let b = self.record(hash)?.eth_block;
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
            base_fee.push(self.client.runtime_api().gas_price(self.best()).map_err(internal)?);
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
        // `latest` (the default) is the nonce on chain; `pending` counts the pool too.
        if block == Some(BlockRef::Pending) {
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
        let value = self.client.runtime_api().get_storage(at, address, key).map_err(internal)?;
        // An address without a contract holds only zero words, as on Ethereum.
        let value = match value {
            Ok(v) => v,
            Err(pallet_revive::ContractAccessError::DoesntExist) => None,
            Err(e) => return Err(invalid_params(format!("{e:?}"))),
        };
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

    fn transaction_by_hash(&self, hash: H256) -> RpcResult<Option<serde_json::Value>> {
        let to_json = |info| serde_json::to_value(info).map_err(internal);
        if let Some((block, number)) = self.locate(hash)? {
            let txs = self.eth_txs(block)?;
            return txs
                .into_iter()
                .enumerate()
                .find(|(_, t)| t.hash == hash)
                .map(|(i, t)| to_json(self.tx_info(block, number, i, t)))
                .transpose();
        }
        // Still in the pool: the transaction, with no block yet.
        let Some(tx) = self.pending_tx(hash) else { return Ok(None) };
        let mut json = to_json(self.tx_info(H256::zero(), 0, 0, tx))?;
        for key in ["blockHash", "blockNumber", "transactionIndex"] {
            json[key] = serde_json::Value::Null;
        }
        Ok(Some(json))
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

    fn transaction_by_block_hash_and_index(
        &self,
        hash: H256,
        index: U256,
    ) -> RpcResult<Option<TransactionInfoV1>> {
        self.transaction_by_block_number_and_index(BlockRef::Hash(hash), index)
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
            if to.saturating_sub(from) >= self.limits.log_range {
                return Err(limit_exceeded(format!(
                    "block range too large: at most {} blocks per query",
                    self.limits.log_range
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
            out.extend(self.block_logs(hash, &filter)?);
            if out.len() > self.limits.logs {
                return Err(limit_exceeded(format!(
                    "query returned more than {} results: narrow the block range or the filter",
                    self.limits.logs
                )));
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
        assert_eq!(revert_reason(&[]), None);
        // `Panic(0x11)`: arithmetic overflow.
        let mut panic = vec![0x4e, 0x48, 0x7b, 0x71];
        let mut code = [0u8; 32];
        code[31] = 0x11;
        panic.extend(code);
        assert_eq!(
            revert_reason(&panic).as_deref(),
            Some("panic: arithmetic underflow or overflow (0x11)")
        );
    }
}
