//! `models_*` JSON-RPC methods: models, model tokens, trade quotes and holdings, read through
//! the runtime's `ModelsApi` at the best block or a given one.
//!
//! Amounts (token amounts, OPEN budgets) are decimal strings both ways: a `u128` does not fit
//! a JavaScript number. A quote the curve cannot give is an error with code
//! [`QUOTE_ERROR`] whose `data` names the reason (`NoToken`, `Graduated`, `ModelNotActive`,
//! `ExceedsCurveSupply`, `ExceedsSold`, `ZeroAmount`, `Overflow`).

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObject};
use polkadot_sdk::{
    sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use provena_primitives::{
    bonding_curve::{CurveError, Trade},
    models::{HoldingInfo, ModelInfo, ModelsApi as ModelsRuntimeApi, QuoteError, TokenInfo},
    ContentHash, ModelId,
};
use provena_runtime::{AccountId, Balance, BlockNumber};

use super::{block_or_best, runtime_error, INVALID_PARAMS};

/// A quote the curve cannot give.
pub const QUOTE_ERROR: i32 = 5010;

/// The `models_*` RPC methods.
#[rpc(server)]
pub trait ModelsApi<BlockHash> {
    /// A model by id.
    #[method(name = "models_getModel")]
    fn model(
        &self,
        id: ModelId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<ModelInfo<AccountId, Balance, BlockNumber>>>;

    /// The id of the model registered with a weights hash.
    #[method(name = "models_getModelByWeights")]
    fn model_by_weights(
        &self,
        weights_hash: ContentHash,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<ModelId>>;

    /// A model's token: curve parameters and state, phase, spot price, revenue totals.
    #[method(name = "models_getToken")]
    fn token(
        &self,
        model: ModelId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<TokenInfo<AccountId, Balance, BlockNumber>>>;

    /// What buying `tokens` (a decimal string of base units) costs now, fee included.
    #[method(name = "models_quoteBuy")]
    fn quote_buy(&self, model: ModelId, tokens: String, at: Option<BlockHash>) -> RpcResult<Trade>;

    /// What selling `tokens` pays now, fee deducted.
    #[method(name = "models_quoteSell")]
    fn quote_sell(&self, model: ModelId, tokens: String, at: Option<BlockHash>)
        -> RpcResult<Trade>;

    /// The most tokens `budget` OPEN base units (fee included) buy now.
    #[method(name = "models_quoteSpend")]
    fn quote_spend(
        &self,
        model: ModelId,
        budget: String,
        at: Option<BlockHash>,
    ) -> RpcResult<Trade>;

    /// An account's balance and claimable revenue in a model's token.
    #[method(name = "models_getHolding")]
    fn holding(
        &self,
        model: ModelId,
        who: AccountId,
        at: Option<BlockHash>,
    ) -> RpcResult<HoldingInfo<Balance>>;
}

/// Serves `models_*` from a client.
pub struct Models<C, B> {
    client: Arc<C>,
    _block: std::marker::PhantomData<B>,
}

impl<C, B> Models<C, B> {
    /// Serves the methods from `client`.
    pub fn new(client: Arc<C>) -> Self {
        Self { client, _block: Default::default() }
    }
}

impl<C, B> Models<C, B>
where
    B: BlockT,
    C: HeaderBackend<B>,
{
    fn at(&self, at: Option<B::Hash>) -> B::Hash {
        block_or_best(&*self.client, at)
    }
}

/// Parses a decimal amount parameter, naming it in the error.
fn amount(name: &str, value: &str) -> RpcResult<Balance> {
    value.parse::<Balance>().map_err(|_| {
        ErrorObject::owned(
            INVALID_PARAMS,
            format!("{name} must be a decimal string of base units below 2^128"),
            Some(value.to_string()),
        )
    })
}

/// The runtime's answer to a quote as an RPC result.
fn quote(result: Result<Trade, QuoteError>) -> RpcResult<Trade> {
    result.map_err(|e| {
        let reason = match e {
            QuoteError::NoToken => "NoToken",
            QuoteError::Graduated => "Graduated",
            QuoteError::ModelNotActive => "ModelNotActive",
            QuoteError::Curve(CurveError::ExceedsCurveSupply) => "ExceedsCurveSupply",
            QuoteError::Curve(CurveError::ExceedsSold) => "ExceedsSold",
            QuoteError::Curve(CurveError::ZeroAmount) => "ZeroAmount",
            QuoteError::Curve(CurveError::InvalidParams) => "InvalidParams",
            QuoteError::Curve(CurveError::Overflow) => "Overflow",
        };
        ErrorObject::owned(QUOTE_ERROR, format!("no quote: {reason}"), Some(reason))
    })
}

impl<C, B> ModelsApiServer<B::Hash> for Models<C, B>
where
    B: BlockT,
    C: ProvideRuntimeApi<B> + HeaderBackend<B> + Send + Sync + 'static,
    C::Api: ModelsRuntimeApi<B, AccountId, Balance, BlockNumber>,
{
    fn model(
        &self,
        id: ModelId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<ModelInfo<AccountId, Balance, BlockNumber>>> {
        self.client.runtime_api().model(self.at(at), id).map_err(runtime_error)
    }

    fn model_by_weights(
        &self,
        weights_hash: ContentHash,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<ModelId>> {
        self.client.runtime_api().model_by_weights(self.at(at), weights_hash).map_err(runtime_error)
    }

    fn token(
        &self,
        model: ModelId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<TokenInfo<AccountId, Balance, BlockNumber>>> {
        self.client.runtime_api().token(self.at(at), model).map_err(runtime_error)
    }

    fn quote_buy(&self, model: ModelId, tokens: String, at: Option<B::Hash>) -> RpcResult<Trade> {
        let tokens = amount("tokens", &tokens)?;
        quote(
            self.client
                .runtime_api()
                .quote_buy(self.at(at), model, tokens)
                .map_err(runtime_error)?,
        )
    }

    fn quote_sell(&self, model: ModelId, tokens: String, at: Option<B::Hash>) -> RpcResult<Trade> {
        let tokens = amount("tokens", &tokens)?;
        quote(
            self.client
                .runtime_api()
                .quote_sell(self.at(at), model, tokens)
                .map_err(runtime_error)?,
        )
    }

    fn quote_spend(&self, model: ModelId, budget: String, at: Option<B::Hash>) -> RpcResult<Trade> {
        let budget = amount("budget", &budget)?;
        quote(
            self.client
                .runtime_api()
                .quote_spend(self.at(at), model, budget)
                .map_err(runtime_error)?,
        )
    }

    fn holding(
        &self,
        model: ModelId,
        who: AccountId,
        at: Option<B::Hash>,
    ) -> RpcResult<HoldingInfo<Balance>> {
        self.client.runtime_api().holding(self.at(at), model, who).map_err(runtime_error)
    }
}
