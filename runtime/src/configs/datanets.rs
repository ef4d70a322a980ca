//! Datanets: community datasets with curation, stakes and snapshots.

use crate::{Balance, Balances, BlockNumber, Runtime, RuntimeEvent, RuntimeHoldReason};
use polkadot_sdk::frame_support::{parameter_types, traits::ConstU32, PalletId};
use provena_primitives::{
    currency::{deposit, MILLI_OPEN},
    time::{DAYS, HOURS},
};

parameter_types! {
    /// The datanets pallet account, which keeps the reward pools.
    pub const DatanetsPalletId: PalletId = PalletId(*b"prv/dnet");
    /// An owner's deposit while a datanet is stored: one item of up to ~1 KiB.
    pub const DatanetDeposit: Balance = deposit(1, 1_024);
    /// Contributions stake at least 0.01 OPEN (well above the 0.001 OPEN existential deposit).
    pub const MinContributionStake: Balance = 10 * MILLI_OPEN;
    /// A contribution's storage, besides its stake: the record (up to ~855 bytes, with the
    /// reward record attribution keeps in it), its content index entry and its two index
    /// entries, ~1,010 bytes in four items (0.181 OPEN).
    pub const ContributionDeposit: Balance = deposit(4, 1_010);
    /// A snapshot's record and member list header (0.0528 OPEN) ...
    pub const SnapshotDepositBase: Balance = deposit(2, 128);
    /// ... and 8 bytes per member (0.0008 OPEN).
    pub const SnapshotDepositPerMember: Balance = deposit(0, 8);
    /// An access request (up to ~280 bytes), and then the grant it becomes (0.048 OPEN).
    pub const AccessDeposit: Balance = deposit(1, 280);
    /// A commitment to a content hash: one entry of ~100 bytes (0.03 OPEN).
    pub const CommitDeposit: Balance = deposit(1, 100);
    /// A commitment may be revealed for an hour.
    pub const CommitLifetime: BlockNumber = HOURS;
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
    type ContributionDeposit = ContributionDeposit;
    type SnapshotDepositBase = SnapshotDepositBase;
    type SnapshotDepositPerMember = SnapshotDepositPerMember;
    type AccessDeposit = AccessDeposit;
    type CommitDeposit = CommitDeposit;
    type CommitLifetime = CommitLifetime;
    // Attribution owes contributors and reward pools; what it owes keeps their storage.
    type Credits = crate::Attribution;
    // What attribution owes each contribution lives in the contribution's record.
    type Reward = pallet_attribution::RewardRecord<Runtime>;
    // What is left in a destroyed datanet's reward pool goes to the treasury bucket.
    type PoolDestination = super::TreasuryAccount;
    // Root or the treasurer track, as for treasury spends.
    type PoolSpendOrigin = super::governance::SpendOrigin;
    type Power = super::governance::ContributionPowerAdapter;
    type WeightInfo = pallet_datanets::weights::SubstrateWeight<Runtime>;
}

/// Panics with the error when a benchmark's setup call fails.
#[cfg(feature = "runtime-benchmarks")]
pub fn bench_ok<T, E: core::fmt::Debug>(r: Result<T, E>) {
    assert!(r.is_ok(), "benchmark setup failed: {:?}", r.err());
}

/// For benchmarks of other pallets: a datanet of `owner` with `contributions` (at least one)
/// accepted contributions of its own, all in snapshot 1.
#[cfg(feature = "runtime-benchmarks")]
pub fn benchmark_datanet(
    owner: &crate::AccountId,
    visibility: provena_primitives::datanets::Visibility,
    contributions: u32,
) -> (provena_primitives::DatanetId, alloc::vec::Vec<provena_primitives::ContributionId>) {
    use crate::{Datanets, RuntimeOrigin};
    let origin = || RuntimeOrigin::signed(owner.clone());
    let datanet = pallet_datanets::NextDatanetId::<Runtime>::get();
    bench_ok(Datanets::create_datanet(
        origin(),
        b"bench".to_vec(),
        alloc::vec::Vec::new(),
        b"bench".to_vec(),
        b"MIT".to_vec(),
        visibility,
        MinContributionStake::get(),
        u64::MAX,
    ));
    let ids = (0..contributions.max(1)).map(|i| benchmark_accepted(owner, datanet, i)).collect();
    bench_ok(Datanets::publish_snapshot(origin(), datanet));
    (datanet, ids)
}

/// For benchmarks of other pallets: `owner` contributes its `i`-th content to `datanet` and
/// accepts it; returns the contribution's id.
#[cfg(feature = "runtime-benchmarks")]
pub fn benchmark_accepted(
    owner: &crate::AccountId,
    datanet: provena_primitives::DatanetId,
    i: u32,
) -> provena_primitives::ContributionId {
    use crate::{Datanets, RuntimeOrigin};
    use polkadot_sdk::sp_core::H256;
    let origin = || RuntimeOrigin::signed(owner.clone());
    let id = pallet_datanets::NextContributionId::<Runtime>::get();
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&datanet.to_be_bytes());
    h[4..8].copy_from_slice(&i.to_be_bytes());
    bench_ok(Datanets::contribute(
        origin(),
        datanet,
        H256(h),
        1,
        1,
        alloc::vec::Vec::new(),
        alloc::vec::Vec::new(),
        u128::MAX,
    ));
    bench_ok(Datanets::review(origin(), id, pallet_datanets::Verdict::Accept { quality: 90 }));
    id
}
