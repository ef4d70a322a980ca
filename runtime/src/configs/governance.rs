//! Scheduler, Preimage and Sudo: the privileged machinery until contribution-weighted
//! governance replaces Sudo as the root origin.

use super::RuntimeBlockWeights;
use crate::{
    AccountId, Balance, Balances, OriginCaller, Preimage, Runtime, RuntimeCall, RuntimeEvent,
    RuntimeHoldReason, RuntimeOrigin, System,
};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{fungible::HoldConsideration, EqualPrivilegeOnly, LinearStoragePrice},
        weights::Weight,
    },
    frame_system::EnsureRoot,
    pallet_preimage, pallet_scheduler, pallet_sudo,
};
use provena_primitives::currency::{deposit, MICRO_OPEN};

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
}

impl pallet_scheduler::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeOrigin = RuntimeOrigin;
    type PalletsOrigin = OriginCaller;
    type RuntimeCall = RuntimeCall;
    type MaximumWeight = MaximumSchedulerWeight;
    // Only root schedules for now; governance will schedule enactments through root.
    type ScheduleOrigin = EnsureRoot<AccountId>;
    type OriginPrivilegeCmp = EqualPrivilegeOnly;
    type MaxScheduledPerBlock = polkadot_sdk::frame_support::traits::ConstU32<50>;
    type WeightInfo = pallet_scheduler::weights::SubstrateWeight<Runtime>;
    type Preimages = Preimage;
    type BlockNumberProvider = System;
}

impl pallet_preimage::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = pallet_preimage::weights::SubstrateWeight<Runtime>;
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
    type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}
