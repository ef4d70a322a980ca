//! Agents: bonded accounts that serve Provena's models (inference operators), backed by
//! delegators, paid from their work and slashed for poor performance.
//!
//! The agents pallet keeps the registry, the bonds and the delegations; the pallets that see an
//! agent's work (attribution's receipts and challenges, inference's jobs) report it through
//! [`AgentWork`] and pay the operator's share of fees through [`AgentRewards`], so that the
//! performance that decides slashes is measured from on-chain facts, never from an oracle.

use crate::{serde_helpers, Balance, ModelId};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{DispatchError, DispatchResult, Perbill, Weight};
use scale_info::TypeInfo;

/// An era of the agents pallet: `block / era length`. Performance is counted per era, and
/// unbonding, commission changes and slash deferrals are measured in eras.
pub type EraIndex = u32;

/// One fact about an agent's work, as the chain saw it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub enum Work {
    /// An on-chain inference job assigned to the agent completed.
    JobCompleted,
    /// An on-chain inference job assigned to the agent expired unserved.
    JobExpired,
    /// Receipts the agent submitted in one call were settled.
    ReceiptsSettled {
        /// How many.
        count: u32,
        /// The fees they charged.
        fees: Balance,
    },
    /// A challenge against one of the agent's receipts was upheld.
    ChallengeUpheld,
}

/// The registry of agents as other pallets see it.
pub trait AgentWork<AccountId> {
    /// Whether `who` is an active agent (bonded at least the minimum, not chilled) that may
    /// serve `model` (`None`: whether it serves at all): it declared the model, or the model's
    /// base (a worker serves a base and its adapters), or declared none (it serves any model).
    fn is_active(who: &AccountId, model: Option<ModelId>) -> bool;
    /// Records a fact about `who`'s work in its performance for the current era; crossing a
    /// documented threshold slashes and chills the agent. Nothing happens for an account that
    /// is not an agent.
    fn note_work(who: &AccountId, work: Work);
    /// The most one [`AgentWork::note_work`] costs.
    fn note_work_weight() -> Weight;
}

/// An agent's own bond as the pallets that see its work use it: it answers first, and alone,
/// for a fault in one piece of its work (an upheld challenge against one of its receipts), before
/// the proportional slashes that its stakers share.
pub trait AgentBonds<AccountId> {
    /// What the agent's own bond is worth, active and unbonding (zero for a non-agent).
    fn own_bond(agent: &AccountId) -> Balance;
    /// The most [`AgentBonds::own_bond`] costs.
    fn own_bond_weight() -> Weight;
    /// Takes from the agent's own bond (active first, then unbonding) at once and pays each
    /// `(account, amount)` in turn, each up to what is left; returns what was taken in all. An
    /// active agent left with less than the minimum own bond is chilled for the fault.
    fn take_own_bond(
        agent: &AccountId,
        to: &[(AccountId, Balance)],
    ) -> Result<Balance, DispatchError>;
    /// The most one [`AgentBonds::take_own_bond`] costs.
    fn take_own_bond_weight() -> Weight;
    /// Makes `who` an agent serving any model with the minimum own bond, from its free balance,
    /// active or chilled (at genesis, and for operators registered before agents existed).
    fn enroll(who: &AccountId, active: bool) -> DispatchResult;
}

/// What the agents pallet asks of the pallet that sees an agent's receipts: whether its own
/// bond must stay (its receipts are in their challenge window or challenged), so that it cannot
/// be withdrawn before every receipt it submitted stops being answerable.
pub trait OperatorLiability<AccountId> {
    /// Whether `who` still answers for receipts.
    fn is_liable(who: &AccountId) -> bool;
    /// Forgets what is kept about `who` as an operator (it is no longer an agent and no longer
    /// liable).
    fn forget(who: &AccountId);
    /// The most [`OperatorLiability::is_liable`] and [`OperatorLiability::forget`] cost together.
    fn liability_weight() -> Weight;
}

/// Pays agents the operator's share of fees.
pub trait AgentRewards<AccountId> {
    /// Whether `who` is a registered agent (active or chilled): its operator share is paid
    /// through [`AgentRewards::reward`].
    fn is_agent(who: &AccountId) -> bool;
    /// Moves `amount` from `from` to `agent`: its commission to the agent's account, the rest
    /// to the agent's stakers (its own bond included) pro rata to their stake. `from` keeps
    /// its existential deposit.
    fn reward(agent: &AccountId, from: &AccountId, amount: Balance) -> DispatchResult;
    /// The most one [`AgentRewards::reward`] costs.
    fn reward_weight() -> Weight;
}

/// An agent's performance in one era, counted from [`Work`].
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
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct EraPerformance {
    /// On-chain jobs completed.
    pub jobs_completed: u32,
    /// On-chain jobs that expired unserved.
    pub jobs_expired: u32,
    /// Receipts settled.
    pub receipts_settled: u32,
    /// Challenges upheld against its receipts.
    pub challenges_upheld: u32,
    /// Fees its settled receipts charged.
    #[serde(with = "crate::serde_helpers::amount")]
    pub fees_served: Balance,
}

/// Whether an agent serves.
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
#[serde(rename_all = "camelCase")]
pub enum AgentStatus {
    /// Serving: bonded at least the minimum, open to delegations.
    Active,
    /// Not serving since era `since`; `fault` when the chain chilled it (a slash), not itself.
    Chilled {
        /// The era it was chilled in.
        since: EraIndex,
        /// Whether a fault chilled it (it may activate again only in a later era).
        fault: bool,
    },
}

/// Why a slash was queued.
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
#[serde(rename_all = "camelCase")]
pub enum SlashReason {
    /// Too many of its on-chain jobs expired in an era.
    JobExpiry,
    /// Too many challenges against its receipts were upheld in an era.
    UpheldChallenges,
    /// Governance slashed it for a fault the chain cannot see.
    Governance,
}

/// A slash waiting for its deferral to pass, during which governance may cancel it.
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
#[serde(rename_all = "camelCase")]
pub struct PendingSlash {
    /// Its number among the agent's slashes.
    pub id: u32,
    /// The part of the agent's stake (active and unbonding) it takes.
    #[serde(with = "perbill_parts")]
    pub fraction: Perbill,
    /// The era of the offence.
    pub era: EraIndex,
    /// The first era in which it may be applied.
    pub apply_at: EraIndex,
    /// Why.
    pub reason: SlashReason,
}

/// A `Perbill` as its parts per billion in JSON.
mod perbill_parts {
    use polkadot_sdk::sp_runtime::Perbill;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(p: &Perbill, s: S) -> Result<S::Ok, S::Error> {
        p.deconstruct().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Perbill, D::Error> {
        Ok(Perbill::from_parts(u32::deserialize(d)?))
    }
}

/// An agent as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo<AccountId> {
    /// The agent's account.
    pub agent: AccountId,
    /// The models it serves.
    pub models: Vec<ModelId>,
    /// Where clients reach it.
    #[serde(with = "serde_helpers::text")]
    pub endpoint: Vec<u8>,
    /// Its agent card.
    #[serde(with = "serde_helpers::text")]
    pub metadata: Vec<u8>,
    /// Its commission, in parts per billion.
    #[serde(with = "perbill_parts")]
    pub commission: Perbill,
    /// Whether it serves.
    pub status: AgentStatus,
    /// What its own bond is worth.
    #[serde(with = "serde_helpers::amount")]
    pub own_stake: Balance,
    /// Its whole active stake: its own bond and its delegations.
    #[serde(with = "serde_helpers::amount")]
    pub total_stake: Balance,
    /// What is unbonding from it (still slashable).
    #[serde(with = "serde_helpers::amount")]
    pub unbonding: Balance,
    /// How many delegators it has.
    pub delegators: u32,
    /// Slashes waiting for their deferral.
    pub pending_slashes: Vec<PendingSlash>,
    /// The era now.
    pub era: EraIndex,
}

/// A member's stake in an agent as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct DelegationInfo<AccountId> {
    /// The agent.
    pub agent: AccountId,
    /// The member (the agent itself for its own bond).
    pub member: AccountId,
    /// What its active stake is worth.
    #[serde(with = "serde_helpers::amount")]
    pub stake: Balance,
    /// Its unbonding stake, by the era it unlocks in.
    pub unlocking: Vec<UnlockingInfo>,
    /// The rewards it would be paid now by `claim_rewards`.
    #[serde(with = "serde_helpers::amount")]
    pub pending_rewards: Balance,
}

/// Stake unbonding from an agent.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct UnlockingInfo {
    /// The era from which it can be withdrawn.
    pub era: EraIndex,
    /// What it is worth now (slashes until it is withdrawn lower it).
    #[serde(with = "serde_helpers::amount")]
    pub value: Balance,
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to agents for clients, explorers and the node's `agents_*` RPC.
    pub trait AgentsApi<AccountId>
    where
        AccountId: codec::Codec,
    {
        /// An agent, if it is registered.
        fn agent(who: AccountId) -> Option<AgentInfo<AccountId>>;
        /// Up to `limit` (at most 1,000) agents in storage order, after `start_after`.
        fn agents(start_after: Option<AccountId>, limit: u32) -> Vec<AgentInfo<AccountId>>;
        /// A member's stake in an agent, if it has one.
        fn delegation(agent: AccountId, member: AccountId) -> Option<DelegationInfo<AccountId>>;
        /// Up to `limit` (at most 1,000) members of an agent in storage order, after
        /// `start_after`.
        fn delegations(agent: AccountId, start_after: Option<AccountId>, limit: u32)
            -> Vec<DelegationInfo<AccountId>>;
        /// An agent's performance in each era still kept, oldest first.
        fn performance(agent: AccountId) -> Vec<(EraIndex, EraPerformance)>;
    }
}
