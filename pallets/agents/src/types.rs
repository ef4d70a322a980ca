//! The records the pallet stores.

use crate::{BalanceOf, Config};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{
        pallet_prelude::*, BoundedVec, CloneNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
    },
    frame_system::pallet_prelude::BlockNumberFor,
    sp_core::U256,
    sp_runtime::Perbill,
};
pub use provena_primitives::agents::{AgentStatus, PendingSlash, SlashReason};
use provena_primitives::{agents::EraIndex, ModelId};
use scale_info::TypeInfo;

/// Stake shared by points: each member owns `points`, worth `points × value / points` of the
/// pool. A slash lowers `value` and leaves the points alone, so it falls on every member in
/// proportion at once; rewards are counted per point.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct Pool<Balance> {
    /// What the pool's stake is worth now.
    pub value: Balance,
    /// The points its members own.
    pub points: Balance,
}

/// A bounded text (URI).
pub type Uri<T> = BoundedVec<u8, <T as Config>::MaxUriLen>;

/// A registered agent.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Agent<T: Config> {
    /// The models it serves (at least one).
    pub models: BoundedVec<ModelId, T::MaxModels>,
    /// Where clients reach it (its OpenAI-style API).
    pub endpoint: Uri<T>,
    /// Its agent card: what it is, who runs it, how to verify it.
    pub metadata: Uri<T>,
    /// [`Config::AgentDeposit`], held from the agent's account while the record is stored.
    pub deposit: BalanceOf<T>,
    /// The part of its rewards it keeps before its stakers share the rest.
    pub commission: Perbill,
    /// The era its commission last changed in (at most one increase per era).
    pub commission_changed: EraIndex,
    /// Whether it serves.
    pub status: AgentStatus,
    /// Its bonded stake: its own bond and its delegators' stakes.
    pub active: Pool<BalanceOf<T>>,
    /// How many members besides the agent itself hold points or unbonding stake.
    pub delegators: u32,
    /// How many unbonding pools it has ([`crate::Unbonding`]).
    pub unbonding_pools: u32,
    /// Rewards per point of `active`, ×10³⁶, since registration.
    pub reward_per_point: U256,
    /// Rewards its stakers were given and have not been paid yet (an upper bound of what they
    /// are owed: rounding leaves at most a base unit per payment behind).
    pub rewards_unpaid: BalanceOf<T>,
    /// Slashes waiting for their deferral, oldest first.
    pub pending_slashes: BoundedVec<PendingSlash, T::MaxPendingSlashes>,
    /// The id the next slash gets.
    pub next_slash: u32,
    /// The part of its stake governance slashed for offences of an era, and that era.
    pub governance_slashed: (EraIndex, Perbill),
    /// The last era a threshold slashed it in (at most once per era).
    pub auto_slashed: Option<EraIndex>,
    /// The eras its [`crate::Performance`] holds, oldest first (at most
    /// [`Config::HistoryDepth`]).
    pub performance_eras: BoundedVec<EraIndex, T::HistoryDepth>,
    /// When it registered.
    pub registered_at: BlockNumberFor<T>,
}

/// A member's stake in an agent: the agent's own bond (the member is the agent) or a
/// delegation.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    DebugNoBound,
    DefaultNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Membership<T: Config> {
    /// Its points in the agent's active pool.
    pub points: BalanceOf<T>,
    /// The agent's rewards per point when this member was last paid.
    pub reward_snapshot: U256,
    /// Its unbonding stake: points in the unbonding pool of each era it unlocks in.
    pub unlocking: BoundedVec<(EraIndex, BalanceOf<T>), T::MaxUnlockingChunks>,
}
