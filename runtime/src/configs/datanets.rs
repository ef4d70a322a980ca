//! Datanets: community datasets with curation, stakes and snapshots.

use crate::{Balance, Balances, BlockNumber, Runtime, RuntimeEvent, RuntimeHoldReason};
use polkadot_sdk::frame_support::{parameter_types, traits::ConstU32, PalletId};
use provena_primitives::{
    currency::{deposit, MILLI_OPEN},
    time::DAYS,
};

parameter_types! {
    /// The datanets pallet account, which keeps the reward pools.
    pub const DatanetsPalletId: PalletId = PalletId(*b"prv/dnet");
    /// An owner's deposit while a datanet is open: one item of up to ~1 KiB.
    pub const DatanetDeposit: Balance = deposit(1, 1_024);
    /// Contributions stake at least 0.01 OPEN (well above the 0.001 OPEN existential deposit),
    /// which also pays for the contribution's storage.
    pub const MinContributionStake: Balance = 10 * MILLI_OPEN;
    /// An accepted contribution's stake stays held for a week, long enough for disputes.
    pub const StakeLockup: BlockNumber = 7 * DAYS;
}

impl pallet_datanets::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = DatanetsPalletId;
    type DatanetDeposit = DatanetDeposit;
    type MinContributionStake = MinContributionStake;
    type StakeLockup = StakeLockup;
    type MaxNameLen = ConstU32<64>;
    type MaxUriLen = ConstU32<256>;
    type MaxTagLen = ConstU32<32>;
    type MaxCurators = ConstU32<16>;
    type MaxAcceptedPerDatanet = ConstU32<2_000>;
    type MaxSnapshotsPerDatanet = ConstU32<1_000>;
    type WeightInfo = pallet_datanets::weights::SubstrateWeight<Runtime>;
}
