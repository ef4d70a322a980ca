//! Validators by staking: sessions, nominated proof of stake, block rewards and slashing.
//!
//! ## Why this engine
//!
//! Validators are chosen by `pallet-staking` (nominated proof of stake with an on-chain
//! sequential-Phragmén election) and rotated by `pallet-session`. It is the polkadot-sdk engine in
//! which token holders *back* validators (nominate) and share their rewards and slashes, which the
//! tokenomics promise; `pallet-collator-selection` (a candidacy bond, no nomination) cannot.
//! `pallet-staking` is marked as superseded by `pallet-staking-async`, but the latter needs a
//! relay chain and a parachain pair (its election runs on Asset Hub); on a sovereign chain
//! `pallet-staking` is the engine, and a later migration is a runtime upgrade.
//!
//! ## Lifecycle of a validator
//!
//! 1. `staking.bond(value, payee)` holds at least [`MinValidatorBond`] OPEN (set at genesis,
//!    changeable by root through `staking.set_staking_configs`);
//! 2. `author_rotateKeys` on the node, then `session.set_keys(keys, proof)`, which holds
//!    [`KeyDeposit`] until `session.purge_keys`;
//! 3. `staking.validate(prefs)` makes the account a candidate; nominators back it with
//!    `staking.nominate(targets)` (at most [`MAX_NOMINATIONS`] targets each);
//! 4. at the start of the last session of an era the on-chain election picks the `validator_count`
//!    candidates with the most backing; they author from the next era on (a session is
//!    [`SESSION_LENGTH`] blocks: one minute; an era is [`SessionsPerEra`] sessions, six hours,
//!    unless root forces eras — the local and development chains force one every session);
//! 5. `staking.chill()` leaves the candidate list at the next election; `staking.unbond(value)`
//!    releases stake after [`BondingDuration`] eras (`withdraw_unbonded`).
//!
//! Everything is bounded: at most [`MaxActiveValidators`] validators, [`MaxCandidates`] candidates
//! and [`MaxNominatorAccounts`] nominators (genesis limits, enforced by `validate` and `nominate`),
//! so the on-chain election reads every voter and fits in a block.
//!
//! ## Block rewards, without inflation
//!
//! Each era's reward is paid out of the genesis community pool (`modlprv/comm`, the
//! "community / block rewards" allocation), never minted on balance: [`EraPayoutFromPool`] grants
//! [`ANNUAL_REWARD_PERCENT`]% per year of what the pool holds at the end of the era, pro rata to
//! the era's length (a decaying schedule that never empties the pool), and [`RewardFromPool`]
//! takes every reward that `staking.payout_stakers` pays out of the pool, so the total issuance
//! stays 10^27. Rewards are shared between an era's validators by the points they earned (20 per
//! authored block, through `pallet-authorship`), then between each validator (commission +
//! own stake) and its nominators. Rewards can be claimed for [`HistoryDepth`] eras. If root has
//! spent the pool below what unclaimed rewards need, the shortfall is minted (the only way OPEN
//! beyond 10^27 can appear); [`EraPayoutFromPool`] keeps the era's grant at or below the pool.
//!
//! ## Offences and slashing
//!
//! GRANDPA equivocations (two votes in one round) are reported by any node that sees them as an
//! unsigned `grandpa.report_equivocation_unsigned` with a session membership proof
//! (`pallet-session` historical), turned into an offence by `pallet-offences` and slashed by
//! staking: the fraction is `min(1, (3k/n)^2)` of the stake exposed in that era for `k` offenders
//! among `n` validators (one of four: 56.25%), nominators included; the offender is disabled
//! (it stops authoring) for the rest of the era, at most a third of the set at once. Slashes wait [`SlashDeferDuration`] eras (root can cancel one with
//! `staking.cancel_deferred_slash`), then half of [`SlashRewardFraction`] (5% of the slash) goes
//! to the reporters (for an unsigned report, the author of the block that included it) and the
//! rest to the treasury bucket (`modlprv/trsy`): slashed OPEN is not burnt either.
//! Aura equivocations (two blocks in one slot) are detected and logged by every node but cannot
//! be proven on chain by Aura; a double-signing validator also double-votes in GRANDPA, which is
//! what gets it slashed.

use super::consensus::MaxAuthorities;
use crate::{
    opaque::SessionKeys, AccountId, Aura, Balance, Balances, BlockNumber, Runtime, RuntimeEvent,
    RuntimeHoldReason, Session, Staking, Timestamp,
};
use polkadot_sdk::{
    frame_election_provider_support::{
        bounds::{ElectionBounds, ElectionBoundsBuilder},
        onchain, SequentialPhragmen,
    },
    frame_support::{
        parameter_types,
        traits::{
            fungible::{Balanced, Debt, Inspect},
            tokens::{imbalance::OnUnbalanced, Fortitude, Precision, Preservation},
            ConstBool, ConstU32, Imbalance, Nothing,
        },
    },
    frame_system::EnsureRoot,
    pallet_authorship, pallet_offences, pallet_session, pallet_staking,
    sp_runtime::{traits::ConvertInto, Perbill},
    sp_staking::{EraIndex, SessionIndex},
};
use provena_primitives::{
    currency::{deposit, OPEN},
    time::MINUTES,
};

/// Blocks in a session: one minute. Session keys set now are used from the session after next.
pub const SESSION_LENGTH: BlockNumber = MINUTES;

/// The share of the community pool paid to validators and nominators per year (see the module
/// docs).
pub const ANNUAL_REWARD_PERCENT: u32 = 5;

/// Targets per nominator.
pub const MAX_NOMINATIONS: u32 = 16;

/// Milliseconds in a (365-day) year.
const MILLISECONDS_PER_YEAR: u64 = 1000 * 3600 * 24 * 365;

parameter_types! {
    pub const SessionLength: BlockNumber = SESSION_LENGTH;
    pub const SessionOffset: BlockNumber = 0;
    /// Held while an account has session keys registered.
    pub const KeyDeposit: Balance = deposit(1, 128);
    /// Six hours.
    pub const SessionsPerEra: SessionIndex = 6 * 60;
    /// Unbonded stake is free after four eras (one day at six-hour eras).
    pub const BondingDuration: EraIndex = 4;
    /// Slashes wait three eras before they apply, so root can cancel a wrong one.
    pub const SlashDeferDuration: EraIndex = 3;
    /// Rewards of the last 84 eras (21 days) can be claimed.
    pub const HistoryDepth: u32 = 84;
    /// Nominators paid per `payout_stakers` call (a validator with more is paid in pages).
    pub const MaxExposurePageSize: u32 = 64;
    /// At most this many validators are elected; the consensus authority bound.
    pub const MaxActiveValidators: u32 = MaxAuthorities::get();
    /// At most this many accounts may be validator candidates (set in genesis as
    /// `max_validator_count`).
    pub const MaxCandidates: u32 = 256;
    /// At most this many accounts may nominate (set in genesis as `max_nominator_count`).
    pub const MaxNominatorAccounts: u32 = 1024;
    pub const MaxUnlockingChunks: u32 = 32;
    /// Every candidate and every nominator is read by the election.
    pub ElectionBoundsOnChain: ElectionBounds = ElectionBoundsBuilder::default()
        .voters_count(MaxCandidates::get().saturating_add(MaxNominatorAccounts::get()).into())
        .targets_count(MaxCandidates::get().into())
        .build();
    /// Minimum self-stake of a validator candidate (genesis value of `MinValidatorBond`).
    pub const MinValidatorBond: Balance = 10_000 * OPEN;
    /// Minimum stake of a nominator (genesis value of `MinNominatorBond`).
    pub const MinNominatorBond: Balance = 100 * OPEN;
    /// Share of a slash paid to whoever reported the offence (genesis value).
    pub const SlashRewardFraction: Perbill = Perbill::from_percent(10);
    /// Equivocation reports are valid for as long as the offender's stake is bonded.
    pub const ReportLongevity: u64 = (BondingDuration::get() as u64)
        .saturating_mul(SessionsPerEra::get() as u64)
        .saturating_mul(SESSION_LENGTH as u64);
}

impl pallet_session::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type ValidatorId = AccountId;
    // A validator is identified by its stash account.
    type ValidatorIdOf = ConvertInto;
    type ShouldEndSession = pallet_session::PeriodicSessions<SessionLength, SessionOffset>;
    type NextSessionRotation = pallet_session::PeriodicSessions<SessionLength, SessionOffset>;
    type SessionManager = pallet_session::historical::NoteHistoricalRoot<Runtime, Staking>;
    type SessionHandler =
        <SessionKeys as polkadot_sdk::sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
    type Keys = SessionKeys;
    // At most a third of the validators are disabled at once; a re-elected one is re-enabled.
    type DisablingStrategy = pallet_session::disabling::UpToLimitWithReEnablingDisablingStrategy<3>;
    type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
    type Currency = Balances;
    type KeyDeposit = KeyDeposit;
}

impl pallet_session::historical::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type FullIdentification = ();
    type FullIdentificationOf = pallet_staking::UnitIdentificationOf<Runtime>;
}

impl pallet_authorship::Config for Runtime {
    type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Runtime, Aura>;
    // 20 reward points per authored block.
    type EventHandler = Staking;
}

impl pallet_offences::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type IdentificationTuple = pallet_session::historical::IdentificationTuple<Runtime>;
    type OnOffenceHandler = Staking;
}

/// The on-chain election: sequential Phragmén over every candidate and nominator.
pub struct OnChainSeqPhragmen;
impl onchain::Config for OnChainSeqPhragmen {
    type System = Runtime;
    type Solver = SequentialPhragmen<AccountId, Perbill>;
    type DataProvider = Staking;
    type WeightInfo =
        polkadot_sdk::frame_election_provider_support::weights::SubstrateWeight<Runtime>;
    type MaxBackersPerWinner = MaxNominatorAccounts;
    type MaxWinnersPerPage = MaxActiveValidators;
    type Bounds = ElectionBoundsOnChain;
    type Sort = ConstBool<true>;
}

/// The community pool: where block rewards come from (see the module docs).
pub fn rewards_pool() -> AccountId {
    crate::genesis_config_presets::bucket_account_by_name("community")
        .unwrap_or_else(|| AccountId::new([0; 32]))
}

/// The treasury bucket: where slashed stake goes.
pub fn slash_destination() -> AccountId {
    crate::genesis_config_presets::bucket_account_by_name("treasury")
        .unwrap_or_else(|| AccountId::new([0; 32]))
}

/// An era's reward: [`ANNUAL_REWARD_PERCENT`]% per year of what the community pool can pay,
/// pro rata to the era's length. Nothing is left over for the remainder handler.
pub struct EraPayoutFromPool;
impl polkadot_sdk::sp_staking::EraPayout<Balance> for EraPayoutFromPool {
    fn era_payout(
        _total_staked: Balance,
        _total_issuance: Balance,
        era_duration_millis: u64,
    ) -> (Balance, Balance) {
        let pool =
            Balances::reducible_balance(&rewards_pool(), Preservation::Preserve, Fortitude::Polite);
        (era_reward(pool, era_duration_millis), 0)
    }
}

/// The reward of an era of `era_duration_millis` out of a pool holding `pool` (spendable).
/// Never more than a year's share, however long the era was (a stalled chain does not pay a
/// windfall), and never more than the pool.
pub fn era_reward(pool: Balance, era_duration_millis: u64) -> Balance {
    let per_year = Perbill::from_percent(ANNUAL_REWARD_PERCENT).mul_floor(pool);
    let duration = era_duration_millis.min(MILLISECONDS_PER_YEAR);
    Perbill::from_rational(duration, MILLISECONDS_PER_YEAR).mul_floor(per_year).min(pool)
}

/// Takes every staking reward paid out of the community pool, so that payouts move OPEN and
/// never mint it (see the module docs for the one exception).
pub struct RewardFromPool;
impl OnUnbalanced<Debt<AccountId, Balances>> for RewardFromPool {
    fn on_nonzero_unbalanced(paid: Debt<AccountId, Balances>) {
        let taken = Balances::withdraw(
            &rewards_pool(),
            paid.peek(),
            Precision::BestEffort,
            Preservation::Preserve,
            Fortitude::Polite,
        )
        .unwrap_or_default();
        // Equal amounts cancel out; a shortfall (pool spent by root) is minted when dropped.
        let _ = paid.offset(taken);
    }
}

/// Sends slashed stake to the treasury bucket (burnt only if that account cannot take it).
pub struct SlashToTreasury;
impl OnUnbalanced<pallet_staking::NegativeImbalanceOf<Runtime>> for SlashToTreasury {
    fn on_nonzero_unbalanced(slashed: pallet_staking::NegativeImbalanceOf<Runtime>) {
        let _ = Balances::resolve(&slash_destination(), slashed);
    }
}

/// The sizes staking's own benchmarks run at: this runtime's bounds.
pub struct StakingBenchmarkingConfig;
impl pallet_staking::BenchmarkingConfig for StakingBenchmarkingConfig {
    type MaxValidators = MaxCandidates;
    type MaxNominators = MaxNominatorAccounts;
}

impl pallet_staking::Config for Runtime {
    type OldCurrency = Balances;
    type Currency = Balances;
    type CurrencyBalance = Balance;
    type RuntimeHoldReason = RuntimeHoldReason;
    type UnixTime = Timestamp;
    type CurrencyToVote = polkadot_sdk::sp_staking::currency_to_vote::U128CurrencyToVote;
    type ElectionProvider = onchain::OnChainExecution<OnChainSeqPhragmen>;
    type GenesisElectionProvider = onchain::OnChainExecution<OnChainSeqPhragmen>;
    type NominationsQuota = pallet_staking::FixedNominationsQuota<MAX_NOMINATIONS>;
    type HistoryDepth = HistoryDepth;
    type RewardRemainder = ();
    type RuntimeEvent = RuntimeEvent;
    type Slash = SlashToTreasury;
    type Reward = RewardFromPool;
    type SessionsPerEra = SessionsPerEra;
    type BondingDuration = BondingDuration;
    type SlashDeferDuration = SlashDeferDuration;
    type AdminOrigin = EnsureRoot<AccountId>;
    type SessionInterface = Runtime;
    type EraPayout = EraPayoutFromPool;
    type NextNewSession = Session;
    type MaxExposurePageSize = MaxExposurePageSize;
    type MaxValidatorSet = MaxActiveValidators;
    // With every voter read by the election (see `ElectionBoundsOnChain`), the unsorted maps
    // are exact; a bags list is needed only when voters outgrow what one election can read.
    type VoterList = pallet_staking::UseNominatorsAndValidatorsMap<Runtime>;
    type TargetList = pallet_staking::UseValidatorsMap<Runtime>;
    type MaxUnlockingChunks = MaxUnlockingChunks;
    type MaxControllersInDeprecationBatch = ConstU32<64>;
    type EventListeners = ();
    type Filter = Nothing;
    type BenchmarkingConfig = StakingBenchmarkingConfig;
    type WeightInfo = pallet_staking::weights::SubstrateWeight<Runtime>;
}
