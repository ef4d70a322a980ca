//! The records this pallet stores and the arguments its calls take.

use crate::Config;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound},
    frame_system::pallet_prelude::BlockNumberFor,
    sp_core::U256,
    sp_runtime::Permill,
};
use provena_primitives::{
    bonding_curve::{CurveParams, CurveState},
    models::{ModelStatus, TokenPhase, TrainedOn},
    Balance, ContentHash, ModelId,
};
use scale_info::TypeInfo;

/// The kind of a model being registered, as a call argument.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum ModelKindArg {
    /// A full model.
    Base,
    /// A LoRA adapter over a registered base model.
    Adapter {
        /// The base model it adapts.
        base: ModelId,
        /// The LoRA rank, 1 to `MaxAdapterRank`.
        rank: u16,
        /// The LoRA alpha (scaling is `alpha / rank`), not zero.
        alpha: u16,
        /// The modules it targets (e.g. `q_proj`, `v_proj`), distinct and non-empty.
        target_modules: Vec<Vec<u8>>,
    },
}

/// The kind of a registered model.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub enum ModelKind<T: Config> {
    /// A full model.
    Base,
    /// A LoRA adapter.
    Adapter {
        /// The base model it adapts.
        base: ModelId,
        /// The LoRA rank.
        rank: u16,
        /// The LoRA alpha.
        alpha: u16,
        /// The modules it targets.
        target_modules: BoundedVec<BoundedVec<u8, T::MaxModuleNameLen>, T::MaxTargetModules>,
    },
}

impl<T: Config> ModelKind<T> {
    /// The base model, for an adapter.
    pub fn base(&self) -> Option<ModelId> {
        match self {
            ModelKind::Base => None,
            ModelKind::Adapter { base, .. } => Some(*base),
        }
    }
}

/// A registered model.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Model<T: Config> {
    /// Its owner (developer).
    pub owner: T::AccountId,
    /// Base model or adapter.
    pub kind: ModelKind<T>,
    /// The content hash of its weights.
    pub weights_hash: ContentHash,
    /// The content hash of its training configuration.
    pub training_config_hash: ContentHash,
    /// The snapshots it was trained on, checked for access at registration.
    pub trained_on: BoundedVec<TrainedOn, T::MaxTrainedOn>,
    /// Price per 1,000 tokens, in OPEN base units.
    pub price_per_1k_tokens: Balance,
    /// The developer's share of the model's revenue; the rest goes to token holders.
    pub developer_share: Permill,
    /// Where its card lives.
    pub metadata_uri: BoundedVec<u8, T::MaxUriLen>,
    /// The model this is a new version of.
    pub predecessor: Option<ModelId>,
    /// 1, or the predecessor's version plus one.
    pub version: u32,
    /// Active or deprecated.
    pub status: ModelStatus,
    /// When it was registered.
    pub registered_at: BlockNumberFor<T>,
    /// The deposit held from the owner until the model is removed (zero for models deprecated
    /// before v1, which released it then).
    pub deposit: Balance,
    /// Its claim to the weights hash: the block of the commitment it was revealed from, or the
    /// block it was registered in (see [`provena_primitives::commit`]).
    pub priority: BlockNumberFor<T>,
}

/// The revenue accumulator of a token: OPEN per token, scaled by
/// [`crate::REVENUE_PRECISION`], and the exact remainder not yet spread.
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct RevenuePool {
    /// Revenue per token ever distributed, times `REVENUE_PRECISION`.
    pub per_token: U256,
    /// Scaled revenue not yet spread (the division remainder), carried into the next one.
    pub carry: U256,
    /// Revenue ever credited, in OPEN base units.
    pub received: Balance,
    /// Revenue ever claimed, in OPEN base units.
    pub claimed: Balance,
}

/// A launched model token.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Token<T: Config> {
    /// The curve, fixed at launch.
    pub params: CurveParams,
    /// Sold supply and reserve.
    pub state: CurveState,
    /// Trading or graduated.
    pub phase: TokenPhase<BlockNumberFor<T>>,
    /// The trading fee, fixed at launch.
    pub fee: Permill,
    /// Accounts with a holding entry.
    pub holders: u32,
    /// The revenue accumulator.
    pub revenue: RevenuePool,
    /// The floor of free balance kept on the token account so it is never reaped.
    pub floor: Balance,
    /// When it was launched.
    pub launched_at: BlockNumberFor<T>,
}

/// One account's position in one token.
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Holding {
    /// Tokens held, in base units.
    pub balance: Balance,
    /// `balance × per_token` when last settled (scaled).
    pub debt: U256,
    /// Revenue settled and not yet claimed (scaled).
    pub owed: U256,
}
