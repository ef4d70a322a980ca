//! The node's JSON-RPC extensions beyond the standard `system`, `chain`, `state` and `author`
//! namespaces that `sc-service` installs: account nonces (`system_accountNextIndex`,
//! `system_dryRun`), fee queries (`payment_queryInfo`, `payment_queryFeeDetails`) and Provena's
//! own namespaces (`datanets_*`, `models_*`, `attribution_*`, `inference_*`).

pub mod agents;
pub mod attribution;
pub mod datanets;
pub mod inference;
pub mod models;

use std::sync::Arc;

use jsonrpsee::{
    types::{error::ErrorObjectOwned, ErrorObject},
    RpcModule,
};
use polkadot_sdk::{
    pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer},
    sc_transaction_pool_api::TransactionPool,
    sp_api::ProvideRuntimeApi,
    sp_block_builder::BlockBuilder,
    sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata},
    substrate_frame_rpc_system::{System, SystemApiServer},
};
use provena_runtime::{opaque::Block, AccountId, Balance, Nonce};

/// A runtime API call that failed (the block is unknown, or the runtime trapped).
pub const RUNTIME_ERROR: i32 = 5001;
/// Invalid method parameters (JSON-RPC's standard code).
pub const INVALID_PARAMS: i32 = -32602;

/// The error of a failed runtime API call.
pub fn runtime_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(RUNTIME_ERROR, "runtime API call failed", Some(e.to_string()))
}

/// Fails with an invalid-params error naming `name` unless `1 <= value <= max`.
pub fn check_range(name: &str, value: u32, max: u32) -> jsonrpsee::core::RpcResult<()> {
    if value == 0 || value > max {
        return Err(ErrorObject::owned(
            INVALID_PARAMS,
            format!("{name} must be between 1 and {max}"),
            None::<()>,
        ));
    }
    Ok(())
}

/// The block a query reads: the given one, or the best block.
pub fn block_or_best<B, C>(client: &C, at: Option<B::Hash>) -> B::Hash
where
    B: polkadot_sdk::sp_runtime::traits::Block,
    C: HeaderBackend<B>,
{
    at.unwrap_or_else(|| client.info().best_hash)
}

/// What the RPC extensions need from the node.
pub struct FullDeps<C, P> {
    /// The client, to call runtime APIs.
    pub client: Arc<C>,
    /// The transaction pool, for nonces of pending transactions.
    pub pool: Arc<P>,
}

/// Builds the RPC extensions of a full node.
pub fn create_full<C, P>(
    deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
    C: ProvideRuntimeApi<Block>
        + HeaderBackend<Block>
        + HeaderMetadata<Block, Error = BlockChainError>
        + Send
        + Sync
        + 'static,
    C::Api: polkadot_sdk::substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
        + polkadot_sdk::pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
        + BlockBuilder<Block>
        + provena_primitives::datanets::DatanetsApi<
            Block,
            AccountId,
            Balance,
            provena_runtime::BlockNumber,
        > + provena_primitives::models::ModelsApi<
            Block,
            AccountId,
            Balance,
            provena_runtime::BlockNumber,
        > + provena_primitives::attribution::AttributionApi<
            Block,
            AccountId,
            provena_runtime::BlockNumber,
        > + provena_primitives::inference::InferenceApi<Block, AccountId, provena_runtime::BlockNumber>
        + provena_primitives::agents::AgentsApi<Block, AccountId>,
    P: TransactionPool + 'static,
{
    let mut module = RpcModule::new(());
    let FullDeps { client, pool } = deps;

    module.merge(System::new(client.clone(), pool).into_rpc())?;
    module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
    module.merge(datanets::DatanetsApiServer::into_rpc(datanets::Datanets::new(client.clone())))?;
    module.merge(models::ModelsApiServer::into_rpc(models::Models::new(client.clone())))?;
    module.merge(attribution::AttributionApiServer::into_rpc(attribution::Attribution::new(
        client.clone(),
    )))?;
    module.merge(inference::InferenceApiServer::into_rpc(inference::Inference::new(
        client.clone(),
    )))?;
    module.merge(agents::AgentsApiServer::into_rpc(agents::Agents::new(client)))?;

    Ok(module)
}
