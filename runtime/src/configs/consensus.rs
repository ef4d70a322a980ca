//! Timestamp, Aura (block authoring in 6-second slots) and GRANDPA (finality).

use crate::{opaque::AuraId, Aura, Runtime, RuntimeEvent};
use polkadot_sdk::{
    frame_support::{parameter_types, traits::ConstBool},
    pallet_aura, pallet_grandpa, pallet_timestamp,
    sp_core::ConstU64,
};
use provena_primitives::time::SLOT_DURATION;

parameter_types! {
    /// At most 32 validators: enough for a permissioned launch set, small enough that GRANDPA
    /// rounds stay fast.
    pub const MaxAuthorities: u32 = 32;
    /// No nominator staking on this chain.
    pub const MaxNominators: u32 = 0;
    /// GRANDPA keeps set-id to session mappings for this many sessions (for equivocation reports).
    pub const MaxSetIdSessionEntries: u64 = 0;
}

impl pallet_timestamp::Config for Runtime {
    type Moment = u64;
    type OnTimestampSet = Aura;
    // Aura checks the slot, so two blocks can't share one; half a slot is the usual minimum.
    type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
    type WeightInfo = ();
}

impl pallet_aura::Config for Runtime {
    type AuthorityId = AuraId;
    type DisabledValidators = ();
    type MaxAuthorities = MaxAuthorities;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type MaxAuthorities = MaxAuthorities;
    type MaxNominators = MaxNominators;
    type MaxSetIdSessionEntries = MaxSetIdSessionEntries;
    // Equivocation reporting needs a session/offences pallet; a sudo-managed authority set
    // has no slashing to apply, so reports are not accepted.
    type KeyOwnerProof = polkadot_sdk::sp_core::Void;
    type EquivocationReportSystem = ();
}
