//! `inference_*` JSON-RPC methods: on-chain inference jobs (prompt while open, output and
//! receipt once completed, until pruned) and an operator's open jobs, read through the
//! runtime's `InferenceApi` at the best block or a given one.

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use polkadot_sdk::{
    sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use provena_primitives::inference::{InferenceApi as InferenceRuntimeApi, JobId, JobInfo};
use provena_runtime::{AccountId, BlockNumber};

use super::{block_or_best, check_range, runtime_error};

/// The most job ids `inference_getOperatorJobs` returns.
pub const MAX_PAGE: u32 = 1_000;

/// A job as returned over RPC.
pub type Job = JobInfo<AccountId, BlockNumber>;

/// The `inference_*` RPC methods.
#[rpc(server)]
pub trait InferenceApi<BlockHash> {
    /// A job by id (`null` once pruned or if it never existed).
    #[method(name = "inference_getJob")]
    fn job(&self, id: JobId, at: Option<BlockHash>) -> RpcResult<Option<Job>>;

    /// Up to `limit` open jobs assigned to `operator`.
    #[method(name = "inference_getOperatorJobs")]
    fn operator_jobs(
        &self,
        operator: AccountId,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<JobId>>;
}

/// Serves `inference_*` from a client.
pub struct Inference<C, B> {
    client: Arc<C>,
    _block: std::marker::PhantomData<B>,
}

impl<C, B> Inference<C, B> {
    /// Serves the methods from `client`.
    pub fn new(client: Arc<C>) -> Self {
        Self { client, _block: Default::default() }
    }
}

impl<C, B> InferenceApiServer<B::Hash> for Inference<C, B>
where
    B: BlockT,
    C: ProvideRuntimeApi<B> + HeaderBackend<B> + Send + Sync + 'static,
    C::Api: InferenceRuntimeApi<B, AccountId, BlockNumber>,
{
    fn job(&self, id: JobId, at: Option<B::Hash>) -> RpcResult<Option<Job>> {
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().job(at, id).map_err(runtime_error)
    }

    fn operator_jobs(
        &self,
        operator: AccountId,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<JobId>> {
        check_range("limit", limit, MAX_PAGE)?;
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().operator_jobs(at, operator, limit).map_err(runtime_error)
    }
}
