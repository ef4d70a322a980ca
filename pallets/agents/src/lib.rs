//! # Agents
//!
//! Bonded AI agents: the accounts that serve Provena's models (inference operators), backed by
//! delegators who stake OPEN behind them, paid from their work and slashed, with their
//! backers, when the chain sees them perform badly.
//!
//! ## Overview
//!
//! An agent registers with the models it serves, an endpoint and an agent card, holding a
//! deposit for its record and bonding at least [`Config::MinAgentBond`]. Anyone may delegate
//! OPEN to an active agent. The operator's share of the fees it serves (paid here by attribution
//! through [`provena_primitives::agents::AgentRewards`]) is split: the agent's commission, then
//! the rest pro rata to every point of stake, its own bond included. The pallets that see its
//! work report it through [`provena_primitives::agents::AgentWork`]; its performance is counted
//! per era, and crossing a documented threshold slashes and chills it, without anyone's word.
//!
//! ## Terminology
//!
//! - **Era**: [`Config::EraLength`] blocks; era `e` starts at block `e × EraLength`.
//! - **Member**: the agent itself (its own bond) or a delegator, with points in the agent's
//!   **active pool** and possibly unbonding stake.
//! - **Pool**: stake shared by points ([`Pool`]). A member owns `points`, worth
//!   `points × value / total points`. Bonding adds points at the pool's current price.
//! - **Unbonding**: stake leaves the active pool for the agent's unbonding pool of the era it
//!   unlocks in, `BondingDuration` eras later; it earns nothing there and stays slashable until
//!   it is withdrawn.
//! - **Commission**: the part of each reward the agent keeps; at most [`Config::MaxCommission`],
//!   raised at most once per era by at most [`Config::MaxCommissionIncrease`], lowered any time.
//! - **Chilled**: not serving. An agent chills itself (`chill`), or a threshold slash chills it.
//!   A chilled agent takes no delegations; it may `activate` again with its minimum bond, no
//!   slash pending and, after a fault, from the next era.
//! - **Slash**: a part of an agent's stake, queued for [`Config::SlashDeferral`] eras (in which
//!   [`Config::CancelSlashOrigin`] may cancel it), then applied to the active pool and every
//!   unbonding pool of the agent by the same fraction, and moved to [`Config::SlashDestination`].
//!
//! ## Usage
//!
//! 1. `register_agent(models, endpoint, metadata, bond, commission)`; `update_agent`;
//!    `set_commission`; `bond_more` / `unbond` (the agent's own bond; while active it keeps
//!    [`Config::MinAgentBond`]); `chill` / `activate`.
//! 2. `delegate(agent, amount)` (at least [`Config::MinDelegation`]; an active agent with no
//!    slash pending), `undelegate(agent, amount)`.
//! 3. `withdraw_unbonded(agent, member)`: anyone, for any member, once its unbonding stake is
//!    unlocked and no slash of the agent is pending; the stake goes to the member.
//! 4. `claim_rewards(agent)`: the caller's rewards from that agent (also paid at every change of
//!    its stake).
//! 5. `slash(agent, fraction)` ([`Config::SlashOrigin`], at most
//!    [`Config::MaxGovernanceSlash`] of an agent per era), `cancel_slash(agent, id)`
//!    ([`Config::CancelSlashOrigin`], during the deferral), `apply_slashes(agent)` (anyone,
//!    after it; every stake call on the agent applies them first too).
//! 6. `reap_agent(agent)`: anyone, once a chilled agent has no stake, no unbonding stake and no
//!    slash pending: the record goes and its deposit comes back.
//! 7. `force_chill(agent)` ([`Config::ForceChillOrigin`]): stops an agent serving at once.
//!
//! ## Agents are the inference operators
//!
//! Attribution accepts receipts, and inference assigns jobs, only from active agents, each for
//! a model it declared (or an adapter of a base it declared; an agent that declares no model,
//! as those enrolled at genesis or from the operators registered before agents existed, serves
//! any). One bond answers for everything:
//! - a fault in one receipt (an upheld challenge) is made good at once from the agent's **own
//!   bond** (active, then unbonding) through `AgentBonds::take_own_bond`: the user's refund of
//!   what token holders were already paid, then the operator slash. An agent left below
//!   [`Config::MinAgentBond`] is chilled;
//! - a pattern of faults (thresholds, or governance) is a proportional slash of all its stake,
//!   delegators' included, as below;
//! - its own unbonded stake is not withdrawn while [`Config::Liability`] says its receipts
//!   still answer (in their challenge window, or challenged).
//!
//! ## Performance and automatic slashes
//!
//! Each fact reported through `AgentWork::note_work` is counted in the agent's
//! [`Performance`] of the current era (kept [`Config::HistoryDepth`] eras): jobs completed and
//! expired, receipts settled and their fees, challenges upheld. When, in one era,
//! - at least [`Config::MinJobsForExpiryRate`] jobs were completed or expired and the expired
//!   part reaches [`Config::ExpiryRateThreshold`], or
//! - [`Config::UpheldChallengeThreshold`] challenges against its receipts were upheld,
//!
//! the agent is chilled at once and [`Config::ThresholdSlash`] of its stake is queued, at most
//! once per era.
//!
//! ## Design
//!
//! - **O(1) rewards**: the agent's `reward_per_point` grows by `reward × 10³⁶ / points`; a
//!   member is owed `points × (reward_per_point − its snapshot) / 10³⁶`, paid whenever its points
//!   change or it claims. Each member is paid within a base unit of its exact share; the
//!   remainders stay in the pallet account.
//! - **O(1) proportional slashes**: a slash lowers the value of the active pool and of each
//!   unbonding pool (at most [`Config::MaxUnbondingPools`]) by its fraction; no member record is
//!   touched. Never more than is bonded: each pool loses at most its value.
//! - **No escape**: unbonding takes [`Config::BondingDuration`] eras, longer than the deferral,
//!   and nothing is withdrawn while a slash is pending, so stake that unbonded just before an
//!   offence is still there when the slash applies. A chilled agent takes no new delegations,
//!   so nobody who joined after an offence shares its slash.
//! - **Custody**: all stake is held (hold reason [`HoldReason::Staked`]) on the pallet account;
//!   rewards wait there as free balance. The runtime gives the account its existential deposit
//!   at genesis.
//! - **No per-era sweep**: eras are derived from the block number; pending slashes, unlocking
//!   and performance pruning are done by the calls that need them, each bounded and weighed.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - the stake held on the pallet account equals `Σ active values + Σ unbonding pool values`;
//! - each agent's active points equal the sum of its members' points, each unbonding pool's
//!   points the sum of its members' unlocking points, and its pool counters are right;
//! - the pallet account's free balance covers every agent's unpaid rewards;
//! - every member is owed at most its agent's unpaid rewards; no pool has value without points;
//! - each agent's deposit is held from it; a pending slash is never older than its deferral
//!   allows by more than the calls that apply it have had a chance to run.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
mod invariants;
#[cfg(test)]
mod mock;
mod slashing;
mod stake;
pub mod test_config;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use api::API_PAGE_LIMIT;
pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use polkadot_sdk::{
    frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, InspectHold, Mutate, MutateHold},
            EnsureOrigin,
        },
        PalletId,
    },
    frame_system::{self, pallet_prelude::*},
    sp_runtime::{traits::AccountIdConversion, Perbill},
};
use provena_primitives::{
    agents::{EraIndex, EraPerformance, OperatorLiability},
    models::ModelInspect,
    ModelId,
};

/// The balance type: OPEN's base units.
pub type BalanceOf<T> =
    <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
pub use provena_primitives::Balance;

// The pallet macros expand to `expect`s on values they construct.
#[allow(clippy::expect_used)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;

    const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// Stake bonded to agents (own bonds and delegations, active and unbonding), held on
        /// the pallet account.
        Staked,
        /// An agent's deposit for its record, held from the agent.
        AgentDeposit,
    }

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The currency stakes and deposits are in.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + InspectHold<Self::AccountId>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// The pallet's id; its account keeps the stake and the unpaid rewards.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// The models agents may declare they serve.
        type Models: ModelInspect<Self::AccountId, Balance>;

        /// What an agent holds for its record until it is reaped.
        #[pallet::constant]
        type AgentDeposit: Get<BalanceOf<Self>>;

        /// The least own bond of an active agent.
        #[pallet::constant]
        type MinAgentBond: Get<BalanceOf<Self>>;

        /// The least stake of a delegation (a partial undelegation must leave at least this).
        #[pallet::constant]
        type MinDelegation: Get<BalanceOf<Self>>;

        /// The length of an era, in blocks.
        #[pallet::constant]
        type EraLength: Get<BlockNumberFor<Self>>;

        /// How many eras unbonding stake waits before it can be withdrawn.
        #[pallet::constant]
        type BondingDuration: Get<EraIndex>;

        /// How many eras a slash waits (and can be cancelled) before it is applied. Less than
        /// [`Config::BondingDuration`].
        #[pallet::constant]
        type SlashDeferral: Get<EraIndex>;

        /// The highest commission.
        #[pallet::constant]
        type MaxCommission: Get<Perbill>;

        /// The most one era's commission increase may add.
        #[pallet::constant]
        type MaxCommissionIncrease: Get<Perbill>;

        /// The least number of jobs (completed and expired) in an era before the expiry rate
        /// can slash.
        #[pallet::constant]
        type MinJobsForExpiryRate: Get<u32>;

        /// The expired part of an era's jobs that slashes and chills an agent.
        #[pallet::constant]
        type ExpiryRateThreshold: Get<Perbill>;

        /// The number of upheld challenges in an era that slashes and chills an agent.
        #[pallet::constant]
        type UpheldChallengeThreshold: Get<u32>;

        /// The part of its stake a threshold slash takes.
        #[pallet::constant]
        type ThresholdSlash: Get<Perbill>;

        /// The most of an agent's stake governance may slash for one era's offences.
        #[pallet::constant]
        type MaxGovernanceSlash: Get<Perbill>;

        /// Who may slash an agent for faults the chain cannot see.
        type SlashOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Who may cancel a pending slash.
        type CancelSlashOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Who may stop an agent serving at once ([`Pallet::force_chill`]).
        type ForceChillOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The pallet that sees the agents' receipts: an agent's own bond is not withdrawn
        /// while its receipts still answer for themselves.
        type Liability: OperatorLiability<Self::AccountId>;

        /// Where slashed stake goes.
        type SlashDestination: Get<Self::AccountId>;

        /// How many eras of performance are kept per agent.
        #[pallet::constant]
        type HistoryDepth: Get<EraIndex>;

        /// The most models an agent declares.
        #[pallet::constant]
        type MaxModels: Get<u32>;

        /// The longest URI.
        #[pallet::constant]
        type MaxUriLen: Get<u32>;

        /// The most delegators of one agent.
        #[pallet::constant]
        type MaxDelegators: Get<u32>;

        /// The most unlocking chunks of one member (one per era it unbonds in).
        #[pallet::constant]
        type MaxUnlockingChunks: Get<u32>;

        /// The most unbonding pools of one agent (one per unlock era not yet emptied).
        #[pallet::constant]
        type MaxUnbondingPools: Get<u32>;

        /// The most slashes pending at once on one agent.
        #[pallet::constant]
        type MaxPendingSlashes: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Models for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: crate::benchmarking::BenchmarkHelper;
    }

    /// The registered agents.
    #[pallet::storage]
    pub type Agents<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Agent<T>>;

    /// Members' stakes: (agent, member) → points, reward snapshot, unlocking chunks.
    #[pallet::storage]
    pub type Members<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        Membership<T>,
    >;

    /// Unbonding stake: (agent, unlock era) → pool.
    #[pallet::storage]
    pub type Unbonding<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        EraIndex,
        Pool<BalanceOf<T>>,
    >;

    /// Performance: (agent, era) → what the chain saw it do; [`Config::HistoryDepth`] eras.
    #[pallet::storage]
    pub type Performance<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        EraIndex,
        EraPerformance,
        ValueQuery,
    >;

    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Agents at genesis: each serves any model and bonds [`Config::MinAgentBond`] (and
        /// holds [`Config::AgentDeposit`]) from its genesis balance.
        pub agents: Vec<T::AccountId>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            for who in &self.agents {
                let r = Pallet::<T>::do_enroll(who);
                assert!(r.is_ok(), "genesis agent cannot be enrolled: {r:?}");
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An agent registered and bonded.
        AgentRegistered { agent: T::AccountId, bond: BalanceOf<T>, commission: Perbill },
        /// An agent changed its models, endpoint or card.
        AgentUpdated { agent: T::AccountId },
        /// An agent's commission changed.
        CommissionChanged { agent: T::AccountId, commission: Perbill },
        /// A member bonded stake to an agent (the agent itself, or a delegator).
        Bonded { agent: T::AccountId, member: T::AccountId, amount: BalanceOf<T> },
        /// A member's stake started unbonding; it can be withdrawn from `unlocks_at`.
        Unbonding {
            agent: T::AccountId,
            member: T::AccountId,
            amount: BalanceOf<T>,
            unlocks_at: EraIndex,
        },
        /// Unbonded stake went back to its member.
        Withdrawn { agent: T::AccountId, member: T::AccountId, amount: BalanceOf<T> },
        /// An agent stopped serving.
        Chilled { agent: T::AccountId, fault: bool },
        /// An agent serves again.
        Activated { agent: T::AccountId },
        /// An agent earned a reward: `commission` to it, `shared` to its stakers.
        Rewarded { agent: T::AccountId, commission: BalanceOf<T>, shared: BalanceOf<T> },
        /// A member was paid its rewards from an agent.
        RewardsPaid { agent: T::AccountId, member: T::AccountId, amount: BalanceOf<T> },
        /// A slash was queued; it applies from era `apply_at` unless cancelled.
        SlashQueued {
            agent: T::AccountId,
            id: u32,
            fraction: Perbill,
            reason: SlashReason,
            apply_at: EraIndex,
        },
        /// A pending slash was cancelled.
        SlashCancelled { agent: T::AccountId, id: u32 },
        /// A slash was applied: `amount` left the agent's pools for the slash destination.
        Slashed { agent: T::AccountId, id: u32, amount: BalanceOf<T> },
        /// An agent's record went; its deposit came back.
        AgentReaped { agent: T::AccountId, deposit_released: BalanceOf<T> },
        /// Part of an agent's own bond was taken at once for a fault in its own work (an
        /// upheld challenge against one of its receipts) and paid to `to`.
        OwnBondTaken { agent: T::AccountId, to: T::AccountId, amount: BalanceOf<T> },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The account is already an agent.
        AlreadyAgent,
        /// No such agent.
        NotAgent,
        /// An agent declares at least one model.
        NoModels,
        /// More models than [`Config::MaxModels`], or a model listed twice.
        BadModels,
        /// A declared model does not exist.
        UnknownModel,
        /// A URI longer than [`Config::MaxUriLen`].
        UriTooLong,
        /// The bond is below [`Config::MinAgentBond`].
        BondTooLow,
        /// The stake is below [`Config::MinDelegation`] (or would be left below it).
        DelegationTooLow,
        /// The commission is above [`Config::MaxCommission`].
        CommissionTooHigh,
        /// The increase is above [`Config::MaxCommissionIncrease`], or the commission already
        /// changed this era.
        CommissionChangeTooFast,
        /// The agent is not active.
        NotActive,
        /// The agent is already active.
        AlreadyActive,
        /// A fault chilled the agent this era; it may activate from the next.
        ChilledThisEra,
        /// A slash of this agent is pending.
        SlashPending,
        /// An active agent keeps [`Config::MinAgentBond`]: chill first to unbond below it.
        WouldLeaveBondBelowMinimum,
        /// The agent has [`Config::MaxDelegators`] delegators.
        TooManyDelegators,
        /// The member has [`Config::MaxUnlockingChunks`] unlocking chunks: withdraw first.
        TooManyUnlockingChunks,
        /// The agent has [`Config::MaxUnbondingPools`] unbonding pools: withdraw unlocked
        /// stake first (anyone may, for any member).
        TooManyUnbondingPools,
        /// The agent has [`Config::MaxPendingSlashes`] slashes pending.
        TooManyPendingSlashes,
        /// The account has no stake in this agent.
        NotMember,
        /// Nothing to unbond (zero).
        ZeroAmount,
        /// Nothing is unlocked to withdraw.
        NothingToWithdraw,
        /// Slashes took the pool's whole value: it takes no new stake.
        PoolWipedOut,
        /// A slash of nothing.
        ZeroSlash,
        /// The slash would take governance above [`Config::MaxGovernanceSlash`] for this era.
        GovernanceSlashCapReached,
        /// No pending slash with this id.
        SlashNotFound,
        /// The slash's deferral is over: it can no longer be cancelled.
        SlashDue,
        /// The agent still has stake, unbonding stake or a pending slash, or is active.
        AgentInUse,
        /// The agent's own unbonded stake stays until its receipts no longer answer for
        /// themselves (out of their challenge window, unchallenged).
        OwnBondAnswerable,
        /// An amount or counter overflowed.
        Overflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                T::SlashDeferral::get() < T::BondingDuration::get(),
                "SlashDeferral must be shorter than BondingDuration (no escape by unbonding)"
            );
            assert!(!T::EraLength::get().is_zero(), "EraLength must be positive");
            assert!(
                T::MinDelegation::get() >= T::Currency::minimum_balance()
                    && T::MinAgentBond::get() >= T::MinDelegation::get(),
                "MinAgentBond >= MinDelegation >= the existential deposit"
            );
            assert!(
                T::MaxUnbondingPools::get() > T::BondingDuration::get(),
                "every unlock era of a bonding duration must fit"
            );
            assert!(
                T::MaxPendingSlashes::get() >= 2,
                "room for a threshold and a governance slash"
            );
            assert!(T::HistoryDepth::get() >= 1, "at least the current era's performance is kept");
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(
            _n: BlockNumberFor<T>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers the caller as an agent serving `models`, holding [`Config::AgentDeposit`]
        /// and bonding `bond` (at least [`Config::MinAgentBond`]). Active at once.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_agent(models.len() as u32))]
        pub fn register_agent(
            origin: OriginFor<T>,
            models: Vec<ModelId>,
            endpoint: Vec<u8>,
            metadata: Vec<u8>,
            bond: BalanceOf<T>,
            commission: Perbill,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_register(who, models, endpoint, metadata, bond, commission)
        }

        /// Changes the caller's models, endpoint and agent card.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::update_agent(models.len() as u32))]
        pub fn update_agent(
            origin: OriginFor<T>,
            models: Vec<ModelId>,
            endpoint: Vec<u8>,
            metadata: Vec<u8>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_update(who, models, endpoint, metadata)
        }

        /// Changes the caller's commission: lower any time; higher at most once per era, by at
        /// most [`Config::MaxCommissionIncrease`], up to [`Config::MaxCommission`].
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::set_commission())]
        pub fn set_commission(origin: OriginFor<T>, commission: Perbill) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_set_commission(who, commission)
        }

        /// Bonds `amount` more of the caller's own stake.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::bond().saturating_add(T::WeightInfo::apply_slashes()))]
        pub fn bond_more(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_bond(who.clone(), who, amount)
        }

        /// Unbonds `amount` of the caller's own bond (all of it if `amount` is more). An active
        /// agent keeps [`Config::MinAgentBond`].
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::unbond().saturating_add(T::WeightInfo::apply_slashes()))]
        pub fn unbond(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_unbond(who.clone(), who, amount)
        }

        /// Stops the caller serving (it keeps its stake and its delegators).
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::chill())]
        pub fn chill(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_chill(&who, false)
        }

        /// The caller serves again: at least [`Config::MinAgentBond`] of its own, no slash
        /// pending, and not chilled by a fault in this era.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::activate().saturating_add(T::WeightInfo::apply_slashes()))]
        pub fn activate(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_activate(who)
        }

        /// Delegates `amount` of the caller's OPEN to an active `agent` with no slash pending.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::bond().saturating_add(T::WeightInfo::apply_slashes()))]
        pub fn delegate(
            origin: OriginFor<T>,
            agent: T::AccountId,
            amount: BalanceOf<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(who != agent, Error::<T>::AlreadyAgent);
            Self::do_bond(agent, who, amount)
        }

        /// Starts unbonding `amount` of the caller's delegation to `agent` (all of it if
        /// `amount` is more); what stays must be at least [`Config::MinDelegation`].
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::unbond().saturating_add(T::WeightInfo::apply_slashes()))]
        pub fn undelegate(
            origin: OriginFor<T>,
            agent: T::AccountId,
            amount: BalanceOf<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(who != agent, Error::<T>::NotMember);
            Self::do_unbond(agent, who, amount)
        }

        /// Pays `member`'s unlocked unbonding stake from `agent` back to it. Anyone may call it:
        /// it clears unbonding pools for others. Not while a slash of the agent is pending.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::withdraw_unbonded()
            .saturating_add(T::WeightInfo::apply_slashes())
            .saturating_add(T::Liability::liability_weight()))]
        pub fn withdraw_unbonded(
            origin: OriginFor<T>,
            agent: T::AccountId,
            member: T::AccountId,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_withdraw(agent, member)
        }

        /// Pays the caller its rewards from `agent`.
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::claim_rewards())]
        pub fn claim_rewards(origin: OriginFor<T>, agent: T::AccountId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_claim(agent, who)
        }

        /// Queues a slash of `fraction` of `agent`'s stake for a fault the chain cannot see,
        /// and chills it. [`Config::SlashOrigin`] only; at most [`Config::MaxGovernanceSlash`]
        /// of an agent for the offences of one era.
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::slash())]
        pub fn slash(
            origin: OriginFor<T>,
            agent: T::AccountId,
            fraction: Perbill,
        ) -> DispatchResult {
            T::SlashOrigin::ensure_origin(origin)?;
            Self::do_governance_slash(agent, fraction)
        }

        /// Cancels a pending slash during its deferral. [`Config::CancelSlashOrigin`] only.
        #[pallet::call_index(12)]
        #[pallet::weight(T::WeightInfo::cancel_slash())]
        pub fn cancel_slash(origin: OriginFor<T>, agent: T::AccountId, id: u32) -> DispatchResult {
            T::CancelSlashOrigin::ensure_origin(origin)?;
            Self::do_cancel_slash(agent, id)
        }

        /// Applies `agent`'s slashes whose deferral is over. Anyone.
        #[pallet::call_index(13)]
        #[pallet::weight(T::WeightInfo::apply_slashes())]
        pub fn apply_slashes(origin: OriginFor<T>, agent: T::AccountId) -> DispatchResult {
            ensure_signed(origin)?;
            let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
            Self::apply_due_slashes(&agent, &mut a)?;
            Agents::<T>::insert(&agent, a);
            Ok(())
        }

        /// Removes a chilled agent with no stake, no unbonding stake and no pending slash, and
        /// gives its deposit (and the rewards' rounding left on it) back. Anyone.
        #[pallet::call_index(14)]
        #[pallet::weight(T::WeightInfo::reap_agent().saturating_add(T::Liability::liability_weight()))]
        pub fn reap_agent(origin: OriginFor<T>, agent: T::AccountId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_reap(agent)
        }

        /// Stops `agent` serving at once, for the fault of its serving (it may activate again
        /// from the next era, and not while a slash of it is pending: governance queues one to
        /// keep it out longer). [`Config::ForceChillOrigin`] only.
        #[pallet::call_index(15)]
        #[pallet::weight(T::WeightInfo::chill().saturating_add(T::DbWeight::get().reads(1)))]
        pub fn force_chill(origin: OriginFor<T>, agent: T::AccountId) -> DispatchResult {
            T::ForceChillOrigin::ensure_origin(origin)?;
            let a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
            ensure!(a.status == AgentStatus::Active, Error::<T>::NotActive);
            Self::do_chill(&agent, true)
        }
    }
}

impl<T: Config> Pallet<T> {
    /// The pallet account: it holds the stake and keeps unpaid rewards.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    /// The current era.
    pub fn current_era() -> EraIndex {
        let now = frame_system::Pallet::<T>::block_number();
        use polkadot_sdk::sp_runtime::traits::CheckedDiv;
        let era = now.checked_div(&T::EraLength::get()).unwrap_or_default();
        polkadot_sdk::sp_runtime::SaturatedConversion::saturated_into(era)
    }
}
