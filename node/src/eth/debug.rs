//! Tracing and access lists through `pallet_revive`'s tracing runtime API: `debug_traceTransaction`,
//! `debug_traceBlockByNumber`, `debug_traceBlockByHash`, `debug_traceCall` and
//! `eth_createAccessList`.
//!
//! ## Tracers
//!
//! `callTracer` (the default when none is named; `tracerConfig`: `withLog`, `onlyTopCall`) and
//! `prestateTracer` (`diffMode`, `disableStorage`, `disableCode`), in geth's shapes. geth's
//! opcode logger and JavaScript tracers are refused with `-32602`.
//!
//! ## State
//!
//! A transaction or block is traced by replaying its block on its parent's state; a call, on
//! the state of the block it names. A node that prunes state (the default keeps 256 blocks) can
//! trace only recent blocks; an archive node (`--state-pruning archive`) traces any. Tracing runs
//! on the blocking pool, at most two traces at once (more are refused with `-32005`).
//!
//! ## Access lists
//!
//! `eth_createAccessList` runs the call with the prestate tracer and lists the storage slots it
//! touched and the accounts it touched besides the sender, the recipient, the block author and
//! the standard precompiles (warm anyway on Ethereum), as geth does. On this chain an access list does not change a transaction's cost (gas is
//! metered by weight): the list is there for tools that expect one.

use std::sync::atomic::{AtomicUsize, Ordering};

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use pallet_revive::{
    evm::{Bytes, H160, H256, U256},
    pallet_revive_types::runtime_api::{
        CallTracerConfigV1, GenericTransactionV1, PrestateTraceV1, PrestateTracerConfigV1, TraceV1,
        TracerTypeV1,
    },
    ReviveApi,
};
use polkadot_sdk::{
    pallet_revive,
    sc_client_api::BlockBackend,
    sp_api::ProvideRuntimeApi,
    sp_runtime::traits::{Block as BlockT, Header as HeaderT},
};
use provena_runtime::opaque::Block;
use serde::{Deserialize, Serialize};

use super::{internal, invalid_params, types::BlockRef, Eth};

/// The options of a trace request (geth's `TraceConfig`, the parts this node supports).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceOptions {
    /// `callTracer` (default) or `prestateTracer`.
    pub tracer: Option<String>,
    pub tracer_config: Option<serde_json::Value>,
    // Other fields (geth's `timeout`, `reexec`) are accepted and ignored: a trace is bounded by
    // the block's own limits.
}

impl TraceOptions {
    fn tracer(self) -> RpcResult<TracerTypeV1> {
        let config = self.tracer_config.unwrap_or(serde_json::Value::Null);
        let parse = |what: &str| invalid_params(format!("invalid tracerConfig for {what}"));
        match self.tracer.as_deref() {
            None | Some("callTracer") => Ok(TracerTypeV1::CallTracer(Some(if config.is_null() {
                CallTracerConfigV1::default()
            } else {
                serde_json::from_value(config).map_err(|_| parse("callTracer"))?
            }))),
            Some("prestateTracer") => Ok(TracerTypeV1::PrestateTracer(Some(if config.is_null() {
                PrestateTracerConfigV1::default()
            } else {
                serde_json::from_value(config).map_err(|_| parse("prestateTracer"))?
            }))),
            Some(other) => Err(invalid_params(format!(
                "tracer {other:?} is not supported: use callTracer or prestateTracer"
            ))),
        }
    }
}

/// One transaction's trace in a block trace.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxTrace {
    pub tx_hash: H256,
    pub result: TraceV1,
}

/// An access list entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListEntry {
    pub address: H160,
    pub storage_keys: Vec<H256>,
}

/// `eth_createAccessList`'s answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListResult {
    pub access_list: Vec<AccessListEntry>,
    pub gas_used: U256,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The tracing methods (all on the blocking pool).
#[rpc(server)]
pub trait EthDebugApi {
    #[method(name = "debug_traceTransaction", blocking)]
    fn trace_transaction(&self, hash: H256, options: Option<TraceOptions>) -> RpcResult<TraceV1>;
    #[method(name = "debug_traceBlockByNumber", blocking)]
    fn trace_block_by_number(
        &self,
        block: BlockRef,
        options: Option<TraceOptions>,
    ) -> RpcResult<Vec<TxTrace>>;
    #[method(name = "debug_traceBlockByHash", blocking)]
    fn trace_block_by_hash(
        &self,
        hash: H256,
        options: Option<TraceOptions>,
    ) -> RpcResult<Vec<TxTrace>>;
    #[method(name = "debug_traceCall", blocking)]
    fn trace_call(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
        options: Option<TraceOptions>,
    ) -> RpcResult<TraceV1>;
    #[method(name = "eth_createAccessList", blocking)]
    fn create_access_list(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
    ) -> RpcResult<AccessListResult>;
}

/// Traces (and access lists) running at once; more are refused with `-32005`, so a flood of
/// block replays cannot take every core from block import and authoring.
const MAX_TRACES_AT_ONCE: usize = 2;
static TRACES_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// A slot among [`MAX_TRACES_AT_ONCE`], given back when dropped.
struct TraceSlot;

impl TraceSlot {
    fn take() -> RpcResult<Self> {
        TRACES_IN_FLIGHT
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_TRACES_AT_ONCE).then_some(n.saturating_add(1))
            })
            .map(|_| TraceSlot)
            .map_err(|_| {
                super::limit_exceeded(format!(
                    "busy: at most {MAX_TRACES_AT_ONCE} traces run at once; retry shortly"
                ))
            })
    }
}

impl Drop for TraceSlot {
    fn drop(&mut self) {
        TRACES_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Eth {
    /// Block `hash` whole, and its parent (whose state it is replayed on).
    fn replayable(&self, hash: H256) -> RpcResult<(Block, H256)> {
        let header = self
            .client
            .header(hash)
            .map_err(internal)?
            .ok_or_else(|| invalid_params("unknown block"))?;
        if header.number() == &0 {
            return Err(invalid_params("the genesis block has no transactions to trace"));
        }
        let body = self
            .client
            .block_body(hash)
            .map_err(internal)?
            .ok_or_else(|| internal("the block's body is pruned"))?;
        let parent = *header.parent_hash();
        Ok((Block::new(header, body), parent))
    }

    fn state_gone(
        &self,
        what: &str,
        e: impl std::fmt::Display,
    ) -> jsonrpsee::types::ErrorObjectOwned {
        internal(format!(
            "cannot trace {what}: the state it runs on is needed, and a node that prunes state \
             keeps only recent states (an archive node, --state-pruning archive, keeps all): {e}"
        ))
    }

    fn trace_block(&self, hash: H256, options: Option<TraceOptions>) -> RpcResult<Vec<TxTrace>> {
        let tracer = options.unwrap_or_default().tracer()?;
        let _slot = TraceSlot::take()?;
        let txs = self.eth_txs(hash)?;
        if txs.is_empty() {
            return Ok(Vec::new());
        }
        let (block, parent) = self.replayable(hash)?;
        #[allow(deprecated)]
        let traces = self
            .client
            .runtime_api()
            .trace_block(parent, block, tracer)
            .map_err(|e| self.state_gone("the block", e))?;
        Ok(txs
            .into_iter()
            .filter_map(|tx| {
                let (_, result) = traces.iter().find(|(i, _)| *i == tx.extrinsic_index)?;
                Some(TxTrace { tx_hash: tx.hash, result: result.clone() })
            })
            .collect())
    }
}

/// The standard precompiles (0x01..=0x11) are warm on Ethereum and need no access list entry.
fn is_standard_precompile(a: &H160) -> bool {
    a.0[..19].iter().all(|b| *b == 0) && a.0[19] <= 0x11
}

impl EthDebugApiServer for Eth {
    fn trace_transaction(&self, hash: H256, options: Option<TraceOptions>) -> RpcResult<TraceV1> {
        let tracer = options.unwrap_or_default().tracer()?;
        let _slot = TraceSlot::take()?;
        let Some((block_hash, _)) = self.locate(hash)? else {
            return Err(invalid_params(format!("transaction {hash:?} not found in a block")));
        };
        let tx = self
            .eth_txs(block_hash)?
            .into_iter()
            .find(|t| t.hash == hash)
            .ok_or_else(|| internal("the indexed block does not hold the transaction"))?;
        let (block, parent) = self.replayable(block_hash)?;
        #[allow(deprecated)]
        self.client
            .runtime_api()
            .trace_tx(parent, block, tx.extrinsic_index, tracer)
            .map_err(|e| self.state_gone("the transaction", e))?
            .ok_or_else(|| internal("the runtime produced no trace for the transaction"))
    }

    fn trace_block_by_number(
        &self,
        block: BlockRef,
        options: Option<TraceOptions>,
    ) -> RpcResult<Vec<TxTrace>> {
        let hash = self.resolve(block)?.ok_or_else(|| invalid_params("unknown block"))?;
        self.trace_block(hash, options)
    }

    fn trace_block_by_hash(
        &self,
        hash: H256,
        options: Option<TraceOptions>,
    ) -> RpcResult<Vec<TxTrace>> {
        self.trace_block(hash, options)
    }

    fn trace_call(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
        options: Option<TraceOptions>,
    ) -> RpcResult<TraceV1> {
        let tracer = options.unwrap_or_default().tracer()?;
        let _slot = TraceSlot::take()?;
        let at = self.state_at(block)?;
        #[allow(deprecated)]
        self.client
            .runtime_api()
            .trace_call(at, tx, tracer)
            .map_err(|e| self.state_gone("the call", e))?
            .map_err(super::dry_run_error)
    }

    fn create_access_list(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
    ) -> RpcResult<AccessListResult> {
        let _slot = TraceSlot::take()?;
        let at = self.state_at(block)?;
        let api = self.client.runtime_api();
        let tracer = TracerTypeV1::PrestateTracer(Some(PrestateTracerConfigV1 {
            diff_mode: false,
            disable_storage: false,
            disable_code: true,
        }));
        #[allow(deprecated)]
        let trace = api
            .trace_call(at, tx.clone(), tracer)
            .map_err(|e| self.state_gone("the call", e))?
            .map_err(super::dry_run_error)?;
        let TraceV1::Prestate(PrestateTraceV1::Prestate(accounts)) = trace else {
            return Err(internal("the prestate tracer returned another kind of trace"));
        };
        #[allow(deprecated)]
        let author = self.client.runtime_api().block_author(at).map_err(internal)?;
        let skip = [tx.from, tx.to, Some(author)];
        let access_list = accounts
            .into_iter()
            // As geth: touched slots are listed for every account, accounts without slots
            // only when they are not warm anyway.
            .filter(|(a, info)| {
                !info.storage.is_empty()
                    || (!skip.contains(&Some(*a)) && !is_standard_precompile(a))
            })
            .map(|(address, info)| AccessListEntry {
                address,
                storage_keys: info
                    .storage
                    .into_keys()
                    .filter_map(|Bytes(k)| (k.len() == 32).then(|| H256::from_slice(&k)))
                    .collect(),
            })
            .collect();
        // The gas of the call as estimated; a failing call still gets its list, with the error.
        let (gas_used, error) = match self.dry_run(tx, block) {
            Ok(info) => (info.eth_gas, None),
            Err(e) => (U256::zero(), Some(e.message().to_string())),
        };
        Ok(AccessListResult { access_list, gas_used, error })
    }
}
