//! Timestamp, Aura (block authoring in 6-second slots) and GRANDPA (finality). The authorities
//! of both are the validators that staking elects (see [`super::staking`]).

use super::staking::{BondingDuration, MaxExposurePageSize, ReportLongevity, SessionsPerEra};
use crate::{opaque::AuraId, Aura, Historical, Offences, Runtime, RuntimeEvent, Session};
use polkadot_sdk::{
    frame_support::{parameter_types, traits::ConstBool},
    pallet_aura, pallet_grandpa, pallet_timestamp,
    sp_core::ConstU64,
};
use provena_primitives::time::SLOT_DURATION;

parameter_types! {
    /// At most 32 validators: small enough that GRANDPA rounds stay fast.
    pub const MaxAuthorities: u32 = 32;
    /// GRANDPA keeps set-id to session mappings for as long as an offence can be reported.
    pub const MaxSetIdSessionEntries: u64 =
        (BondingDuration::get() as u64).saturating_mul(SessionsPerEra::get() as u64);
}

impl pallet_timestamp::Config for Runtime {
    type Moment = u64;
    type OnTimestampSet = Aura;
    // Aura checks the slot, so two blocks can't share one; half a slot is the usual minimum.
    type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
    type WeightInfo = crate::weights::pallet_timestamp::WeightInfo<Runtime>;
}

impl pallet_aura::Config for Runtime {
    type AuthorityId = AuraId;
    // A disabled (slashed) validator does not author.
    type DisabledValidators = Session;
    type MaxAuthorities = MaxAuthorities;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type MaxAuthorities = MaxAuthorities;
    // Weighs an equivocation report by the nominators an offender may have in one page.
    type MaxNominators = MaxExposurePageSize;
    type MaxSetIdSessionEntries = MaxSetIdSessionEntries;
    // Equivocations are proven against the historical session keys and slashed by staking.
    type KeyOwnerProof = polkadot_sdk::sp_session::MembershipProof;
    type EquivocationReportSystem =
        pallet_grandpa::EquivocationReportSystem<Self, Offences, Historical, ReportLongevity>;
}
