//! Governance: referenda decided by contribution-weighted votes, a treasury they spend, protocol
//! parameters they set, and the scheduler and preimages that enact them.
//!
//! - [`pallet_referenda`] runs referenda on the tracks of [`tracks`], one per origin of
//!   [`origins`] (and root). Anyone submits a proposal (a preimage) with a 100 OPEN deposit;
//!   the track's decision deposit starts its decision.
//! - `ConvictionVoting` is [`pallet_governance`]: the tally. It is named as polkadot-sdk's
//!   conviction-voting pallet, with the same calls and vote types, so wallets' referenda pages
//!   work with it; a standard vote also counts the voter's contribution power.
//! - [`pallet_treasury`] spends from the treasury account (`modlprv/trsy`, which attribution's
//!   5% share, trading fees and slashes already reach) with `spend` from the treasurer track,
//!   paid out with `payout`.
//! - [`pallet_parameters`] holds the parameters of [`parameters`].
//! - Runtime upgrades: a root referendum enacts `System::authorize_upgrade(code_hash)`; anyone
//!   then applies the code with `apply_authorized_upgrade`.
//! - Sudo exists only where a preset sets its key: the development preset does, the local and
//!   public testnet presets do not.

pub mod origins;
pub mod parameters;
pub mod tracks;

#[cfg(test)]
mod tests;

use super::RuntimeBlockWeights;
use crate::{
    AccountId, Balance, Balances, BlockNumber, ConvictionVoting, OriginCaller, Preimage, Referenda,
    Runtime, RuntimeCall, RuntimeEvent, RuntimeHoldReason, RuntimeOrigin, Scheduler, System,
    Treasury,
};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{
            fungible::{HoldConsideration, Inspect},
            tokens::{PayFromAccount, UnityAssetBalanceConversion},
            ConstU32, EitherOf, EqualPrivilegeOnly, Get, LinearStoragePrice,
        },
        weights::Weight,
        PalletId,
    },
    frame_system::{EnsureRoot, EnsureRootWithSuccess, EnsureSigned},
    pallet_preimage, pallet_referenda, pallet_scheduler, pallet_sudo, pallet_treasury,
    sp_runtime::traits::IdentityLookup,
};
use provena_primitives::{
    currency::{deposit, MICRO_OPEN, OPEN},
    governance::{ContributionPower, PowerSource},
    time::DAYS,
};

pub use origins::pallet_custom_origins;

/// A duration of `B` documented blocks on this chain's governance timescale.
pub struct Scaled<const B: BlockNumber>;
impl<const B: BlockNumber> Get<BlockNumber> for Scaled<B> {
    fn get() -> BlockNumber {
        ConvictionVoting::scaled(B)
    }
}

parameter_types! {
    /// Scheduled calls may use up to 80% of a block.
    pub MaximumSchedulerWeight: Weight =
        RuntimeBlockWeights::get().max_block.saturating_div(5).saturating_mul(4);
    /// Flat part of the deposit for noting a preimage.
    pub const PreimageBaseDeposit: Balance = deposit(2, 64);
    /// Per-byte part of the deposit for noting a preimage.
    pub const PreimageByteDeposit: Balance = MICRO_OPEN * 100;
    /// The hold reason under which preimage deposits are kept.
    pub const PreimageHoldReason: RuntimeHoldReason =
        RuntimeHoldReason::Preimage(pallet_preimage::HoldReason::Preimage);
    /// What submitting a referendum holds until it ends.
    pub const SubmissionDeposit: Balance = 100 * OPEN;
    /// The treasury's id: its account is the genesis treasury bucket.
    pub const TreasuryPalletId: PalletId = PalletId(*b"prv/trsy");
    /// Root may spend anything.
    pub const MaxBalance: Balance = Balance::MAX;
}

impl pallet_scheduler::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeOrigin = RuntimeOrigin;
    type PalletsOrigin = OriginCaller;
    type RuntimeCall = RuntimeCall;
    type MaximumWeight = MaximumSchedulerWeight;
    // Referenda schedule enactments through the scheduler's traits, not this call.
    type ScheduleOrigin = EnsureRoot<AccountId>;
    type OriginPrivilegeCmp = EqualPrivilegeOnly;
    type MaxScheduledPerBlock = ConstU32<50>;
    type WeightInfo = crate::weights::pallet_scheduler::WeightInfo<Runtime>;
    type Preimages = Preimage;
    type BlockNumberProvider = System;
}

impl pallet_preimage::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = crate::weights::pallet_preimage::WeightInfo<Runtime>;
    type Currency = Balances;
    type ManagerOrigin = EnsureRoot<AccountId>;
    type Consideration = HoldConsideration<
        AccountId,
        Balances,
        PreimageHoldReason,
        LinearStoragePrice<PreimageBaseDeposit, PreimageByteDeposit, Balance>,
    >;
}

impl pallet_sudo::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type WeightInfo = crate::weights::pallet_sudo::WeightInfo<Runtime>;
}

impl pallet_referenda::Config for Runtime {
    type WeightInfo = crate::weights::pallet_referenda::WeightInfo<Runtime>;
    type RuntimeCall = RuntimeCall;
    type RuntimeEvent = RuntimeEvent;
    type Scheduler = Scheduler;
    type Currency = Balances;
    type SubmitOrigin = EnsureSigned<AccountId>;
    type CancelOrigin = EnsureRoot<AccountId>;
    type KillOrigin = EnsureRoot<AccountId>;
    // Slashed decision deposits go to the treasury.
    type Slash = Treasury;
    type Votes = Balance;
    type Tally = pallet_governance::TallyOf<Runtime>;
    type SubmissionDeposit = SubmissionDeposit;
    type MaxQueued = ConstU32<100>;
    type UndecidingTimeout = tracks::UndecidingTimeout;
    type AlarmInterval = ConstU32<1>;
    type Tracks = tracks::Tracks;
    type Preimages = Preimage;
    type BlockNumberProvider = System;
}

/// The OPEN that can vote: the total issuance less what the keyless genesis buckets hold.
pub struct VotableIssuance;
impl Get<Balance> for VotableIssuance {
    fn get() -> Balance {
        let buckets: Balance = crate::genesis_config_presets::ALLOCATION
            .iter()
            .map(|a| {
                Balances::total_balance(&crate::genesis_config_presets::bucket_account(a.pallet_id))
            })
            .fold(0, Balance::saturating_add);
        Balances::total_issuance().saturating_sub(buckets)
    }
}

/// Contribution power periods are a day; 35 of them are kept, more than a referendum lives
/// outside a queue (runtime test `power_outlives_every_referendum`).
pub const POWER_RETENTION_PERIODS: u32 = 35;

impl pallet_governance::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = pallet_governance::weights::SubstrateWeight<Runtime>;
    type Currency = Balances;
    type Polls = Referenda;
    type MaxTurnout = VotableIssuance;
    type MaxVotes = ConstU32<64>;
    // At least the longest enactment delay (one day).
    type VoteLockingPeriod = Scaled<{ 7 * DAYS }>;
    type PowerPeriod = Scaled<DAYS>;
    type PowerRetentionPeriods = ConstU32<POWER_RETENTION_PERIODS>;
    type MaxCheckpoints = ConstU32<{ POWER_RETENTION_PERIODS + 2 }>;
}

/// Credits contribution power to governance, each kind of value weighed by its parameter.
pub struct ContributionPowerAdapter;
impl ContributionPower<AccountId> for ContributionPowerAdapter {
    fn credit(who: &AccountId, source: PowerSource, value: Balance) {
        let ratio = match source {
            PowerSource::AcceptedContribution => {
                parameters::dynamic_params::governance::ContributionPowerRatio::get()
            }
            PowerSource::Earnings => {
                parameters::dynamic_params::governance::EarningsPowerRatio::get()
            }
        };
        let power = ratio.mul_floor(value);
        if power > 0 {
            ConvictionVoting::add_power(who, power);
        }
    }

    fn credit_weight() -> Weight {
        use pallet_governance::WeightInfo;
        // The parameter's read, then the histories' update.
        <Runtime as polkadot_sdk::frame_system::Config>::DbWeight::get()
            .reads(1)
            .saturating_add(pallet_governance::weights::SubstrateWeight::<Runtime>::note_power())
    }
}

/// Who may spend from the treasury and from the datanets' reward pools, and how much at once:
/// root without limit, the treasurer track up to [`origins::MAX_TREASURER_SPEND`].
pub type SpendOrigin =
    EitherOf<EnsureRootWithSuccess<AccountId, MaxBalance>, origins::TreasurySpender>;

impl pallet_treasury::Config for Runtime {
    type Currency = Balances;
    type RejectOrigin = EnsureRoot<AccountId>;
    type RuntimeEvent = RuntimeEvent;
    // Only the legacy `spend_local` approvals wait for a spend period; `spend` pays out when
    // its beneficiary claims it with `payout`.
    type SpendPeriod = Scaled<DAYS>;
    type Burn = ();
    type PalletId = TreasuryPalletId;
    type BurnDestination = ();
    type WeightInfo = crate::weights::pallet_treasury::WeightInfo<Runtime>;
    type SpendFunds = ();
    type MaxApprovals = ConstU32<100>;
    type SpendOrigin = SpendOrigin;
    // OPEN only.
    type AssetKind = ();
    type Beneficiary = AccountId;
    type BeneficiaryLookup = IdentityLookup<AccountId>;
    type Paymaster = PayFromAccount<Balances, super::TreasuryAccount>;
    type BalanceConverter = UnityAssetBalanceConversion;
    // A spend not paid out within 30 days of becoming valid expires.
    type PayoutPeriod = Scaled<{ 30 * DAYS }>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = TreasuryBenchmarks;
    type BlockNumberProvider = System;
}

/// Arguments for the treasury's benchmarks: OPEN, paid to the account of a seed.
#[cfg(feature = "runtime-benchmarks")]
pub struct TreasuryBenchmarks;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_treasury::ArgumentsFactory<(), AccountId> for TreasuryBenchmarks {
    fn create_asset_kind(_seed: u32) {}
    fn create_beneficiary(seed: [u8; 32]) -> AccountId {
        // The benchmarks pay less than the existential deposit: the beneficiary exists already.
        use polkadot_sdk::frame_support::traits::fungible::Mutate;
        let who = AccountId::new(seed);
        let _ = Balances::set_balance(&who, crate::configs::ExistentialDeposit::get());
        who
    }
}

impl pallet_custom_origins::Config for Runtime {}
