//! What other pallets may know about registered models and their tokens, without depending on
//! the models pallet: the [`ModelInspect`] and [`ModelRevenue`] traits and the types they speak,
//! and the `ModelsApi` runtime API.

use crate::{
    bonding_curve::{CurveError, CurveParams, CurveState, Trade},
    serde_helpers, ContentHash, DatanetId, ModelId, SnapshotVersion,
};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{DispatchError, Permill};
use scale_info::TypeInfo;

/// A datanet snapshot a model declares it was trained on.
pub type TrainedOn = (DatanetId, SnapshotVersion);

/// A model's life stage.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ModelStatus {
    /// Usable: it can be served, paid for, and its token bought.
    Active,
    /// Retired by its owner: no new inference receipts and no token buys; holders may still
    /// sell and claim revenue.
    Deprecated,
}

/// A model as other pallets see it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ModelView<AccountId, Balance> {
    /// Who develops it and receives the developer's share of its fees.
    pub developer: AccountId,
    /// Whether it may be used now.
    pub status: ModelStatus,
    /// The base model it adapts (`None` for a base model).
    pub base: Option<ModelId>,
    /// Its weights' content hash (the adapter's, for an adapter).
    pub weights_hash: ContentHash,
    /// Its price per 1,000 tokens (input plus output), in OPEN base units.
    pub price_per_1k_tokens: Balance,
    /// Of the revenue due to the model, the developer's share; the rest goes to the holders of
    /// its token once one is launched and held.
    pub developer_share: Permill,
    /// The datanet snapshots it declared at registration (already checked for access).
    pub trained_on: Vec<TrainedOn>,
}

/// Read access to models for other pallets (attribution), wired in the runtime.
pub trait ModelInspect<AccountId, Balance> {
    /// A model, if it exists.
    fn model(id: ModelId) -> Option<ModelView<AccountId, Balance>>;

    /// Whether a model with this id exists.
    fn exists(id: ModelId) -> bool {
        Self::model(id).is_some()
    }

    /// Whether the model exists and is active.
    fn is_active(id: ModelId) -> bool {
        Self::model(id).is_some_and(|m| m.status == ModelStatus::Active)
    }

    /// Its developer.
    fn developer(id: ModelId) -> Option<AccountId> {
        Self::model(id).map(|m| m.developer)
    }

    /// Its price per 1,000 tokens.
    fn price_per_1k_tokens(id: ModelId) -> Option<Balance> {
        Self::model(id).map(|m| m.price_per_1k_tokens)
    }

    /// The base it adapts, if it is an adapter.
    fn base(id: ModelId) -> Option<ModelId> {
        Self::model(id).and_then(|m| m.base)
    }

    /// The snapshots it was trained on.
    fn trained_on(id: ModelId) -> Vec<TrainedOn> {
        Self::model(id).map(|m| m.trained_on).unwrap_or_default()
    }
}

/// Whether anything outside the models pallet still depends on a model (attribution's stored
/// receipts), asked before a model leaves the state; wired in the runtime.
pub trait ModelUsage {
    /// Whether `model` is still referenced and must stay stored.
    fn in_use(model: ModelId) -> bool;
}

/// Nothing depends on any model: for runtimes without attribution.
impl ModelUsage for () {
    fn in_use(_: ModelId) -> bool {
        false
    }
}

/// Where a model's share of inference revenue goes to its token holders (implemented by the
/// models pallet, called by the attribution pallet).
pub trait ModelRevenue<AccountId, Balance> {
    /// Whether `model`'s token has holders now (a launched token with a circulating supply):
    /// then [`ModelRevenue::distribute_to_holders`] takes a positive amount in full.
    fn has_holders(model: ModelId) -> bool;

    /// Moves `amount` from `payer` to the holders of `model`'s token, pro rata to their
    /// balances now. Returns the amount taken: `0` (and nothing moves) when the model has no
    /// token or nobody holds any, so the caller can route that share elsewhere.
    fn distribute_to_holders(
        model: ModelId,
        payer: &AccountId,
        amount: Balance,
    ) -> Result<Balance, DispatchError>;
}

/// What kind of weights a model is, as the runtime API returns it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
pub enum ModelKindInfo {
    /// A full model.
    Base,
    /// A LoRA adapter over `base`.
    #[serde(rename_all = "camelCase")]
    Adapter {
        /// The base model it adapts.
        base: ModelId,
        /// The LoRA rank.
        rank: u16,
        /// The LoRA alpha (scaling is `alpha / rank`).
        alpha: u16,
        /// The modules it targets, e.g. `q_proj`.
        target_modules: Vec<alloc::string::String>,
    },
}

/// A model as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
))]
pub struct ModelInfo<AccountId, Balance, BlockNumber> {
    /// Its id.
    pub id: ModelId,
    /// Its owner and developer.
    pub owner: AccountId,
    /// Base model or adapter.
    pub kind: ModelKindInfo,
    /// The content hash of its weights.
    pub weights_hash: ContentHash,
    /// The content hash of its training configuration.
    pub training_config_hash: ContentHash,
    /// The datanet snapshots it was trained on.
    pub trained_on: Vec<TrainedOn>,
    /// Its price per 1,000 tokens, in base units.
    #[serde(with = "serde_helpers::amount")]
    pub price_per_1k_tokens: Balance,
    /// The developer's share of the model's revenue, in parts per million.
    pub developer_share_ppm: u32,
    /// Where its metadata (card, license, evaluation) lives.
    #[serde(with = "serde_helpers::text")]
    pub metadata_uri: Vec<u8>,
    /// The model this is a new version of.
    pub predecessor: Option<ModelId>,
    /// Its version: 1, or its predecessor's plus one.
    pub version: u32,
    /// Active or deprecated.
    pub status: ModelStatus,
    /// When it was registered.
    pub registered_at: BlockNumber,
    /// Whether its token was launched.
    pub has_token: bool,
}

/// Where a model token's curve stands.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum TokenPhase<BlockNumber> {
    /// Buys and sells run on the curve.
    Trading,
    /// The curve reached its graduation reserve at this block and became a pool: buys and
    /// sells run on it (see `bonding_curve`'s "Graduation").
    Graduated {
        /// The block it graduated in.
        at: BlockNumber,
    },
}

/// A model token as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
))]
pub struct TokenInfo<AccountId, Balance, BlockNumber> {
    /// The model it belongs to.
    pub model: ModelId,
    /// The keyless account holding its reserve and undistributed revenue.
    pub account: AccountId,
    /// Its curve, fixed at launch; once graduated, its pool's.
    pub params: CurveParams,
    /// Sold supply and reserve now.
    pub state: CurveState,
    /// Trading or graduated.
    pub phase: TokenPhase<BlockNumber>,
    /// The price of one whole token at the margin, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub spot_price: Balance,
    /// The trading fee, in parts per million.
    pub fee_ppm: u32,
    /// Accounts holding a non-zero balance or unclaimed revenue.
    pub holders: u32,
    /// Revenue ever credited to holders, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub revenue_received: Balance,
    /// Revenue holders have claimed.
    #[serde(with = "serde_helpers::amount")]
    pub revenue_claimed: Balance,
    /// When it was launched.
    pub launched_at: BlockNumber,
}

/// One account's position in a model token.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "Balance: core::fmt::Display",
    deserialize = "Balance: core::str::FromStr"
))]
pub struct HoldingInfo<Balance> {
    /// Tokens held, in base units.
    #[serde(with = "serde_helpers::amount")]
    pub balance: Balance,
    /// Revenue claimable now with `claim_revenue`, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub pending_revenue: Balance,
}

/// Why a quote has no answer.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum QuoteError {
    /// No such model, or its token was not launched.
    NoToken,
    /// Not returned since the models pallet's storage version 2: a graduated token trades on
    /// its pool.
    Graduated,
    /// The model is deprecated: its token can be sold, not bought.
    ModelNotActive,
    /// The curve cannot do that trade.
    Curve(CurveError),
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to models and model tokens for clients and the node's `models_*` RPC.
    pub trait ModelsApi<AccountId, Balance, BlockNumber>
    where
        AccountId: codec::Codec,
        Balance: codec::Codec,
        BlockNumber: codec::Codec,
    {
        /// A model, if it exists.
        fn model(id: ModelId) -> Option<ModelInfo<AccountId, Balance, BlockNumber>>;
        /// The model registered with these weights, if any.
        fn model_by_weights(weights_hash: ContentHash) -> Option<ModelId>;
        /// A model's token, if launched.
        fn token(model: ModelId) -> Option<TokenInfo<AccountId, Balance, BlockNumber>>;
        /// What buying `tokens` costs now, fee included.
        fn quote_buy(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError>;
        /// What selling `tokens` pays now, fee deducted.
        fn quote_sell(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError>;
        /// The most tokens `budget` OPEN buys now, fee included, and what they cost.
        fn quote_spend(model: ModelId, budget: Balance) -> Result<Trade, QuoteError>;
        /// `who`'s balance and claimable revenue in a model's token.
        fn holding(model: ModelId, who: AccountId) -> HoldingInfo<Balance>;
    }
}
