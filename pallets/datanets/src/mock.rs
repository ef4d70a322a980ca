//! A test runtime: System, Balances and Datanets.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::type_complexity)]

use crate as pallet_datanets;
use polkadot_sdk::{
    frame_support::{derive_impl, parameter_types, PalletId},
    frame_system, pallet_balances,
    sp_io::TestExternalities,
    sp_runtime::BuildStorage,
};

pub type AccountId = u64;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

#[polkadot_sdk::frame_support::runtime]
mod runtime {
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Test;

    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type Balances = pallet_balances;
    #[runtime::pallet_index(2)]
    pub type DatanetsPallet = pallet_datanets;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId;
    type Lookup = polkadot_sdk::sp_runtime::traits::IdentityLookup<AccountId>;
    type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type AccountStore = System;
    type ExistentialDeposit = ExistentialDeposit;
    type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
    pub const ExistentialDeposit: Balance = 1;
    pub const DatanetsPalletId: PalletId = PalletId(*b"prv/dnet");
    pub const DatanetDeposit: Balance = 100;
    pub const MinContributionStake: Balance = 10;
    pub const StakeLockup: u64 = 10;
    pub const ContributionDeposit: Balance = 7;
    pub const SnapshotDepositBase: Balance = 20;
    pub const SnapshotDepositPerMember: Balance = 2;
    pub const AccessDeposit: Balance = 5;
    pub const PoolDestination: AccountId = TREASURY;
    pub const CommitDeposit: Balance = 8;
    pub const CommitLifetime: u64 = 5;
    /// The most root may spend from a reward pool at once, in the tests.
    pub const MaxPoolSpend: Balance = 50;
}

std::thread_local! {
    /// Reward pools the test says attribution still owes credit to.
    pub static OWED: core::cell::RefCell<Vec<u32>> = Default::default();
    /// Contribution power credited, in order.
    pub static POWER: core::cell::RefCell<Vec<(AccountId, Balance)>> = Default::default();
}

/// Records the contribution power the pallet credits in [`POWER`].
pub struct TestPower;
impl provena_primitives::governance::ContributionPower<AccountId> for TestPower {
    fn credit(
        who: &AccountId,
        source: provena_primitives::governance::PowerSource,
        value: Balance,
    ) {
        assert_eq!(source, provena_primitives::governance::PowerSource::AcceptedContribution);
        POWER.with(|p| p.borrow_mut().push((*who, value)));
    }
    fn credit_weight() -> polkadot_sdk::frame_support::weights::Weight {
        polkadot_sdk::frame_support::weights::Weight::zero()
    }
}

/// The contribution power credited so far.
pub fn power_credited() -> Vec<(AccountId, Balance)> {
    POWER.with(|p| p.borrow().clone())
}

/// Attribution's answer as a test sets it with [`OWED`].
pub struct TestCredits;
impl provena_primitives::datanets::CreditOwed for TestCredits {
    fn owed_to_pool(datanet: u32) -> bool {
        OWED.with(|o| o.borrow().contains(&datanet))
    }
}

/// The reward record a contribution carries, as a test sets it: owed or not.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Default,
    codec::Encode,
    codec::Decode,
    codec::DecodeWithMemTracking,
    codec::MaxEncodedLen,
    scale_info::TypeInfo,
)]
pub struct TestReward {
    /// Whether attribution still owes the contribution something.
    pub owed: bool,
}

impl provena_primitives::datanets::OwedCredit for TestReward {
    fn is_owed(&self) -> bool {
        self.owed
    }
}

impl pallet_datanets::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = DatanetsPalletId;
    type DatanetDeposit = DatanetDeposit;
    type MinContributionStake = MinContributionStake;
    type StakeLockup = StakeLockup;
    type MaxNameLen = polkadot_sdk::frame_support::traits::ConstU32<32>;
    type MaxUriLen = polkadot_sdk::frame_support::traits::ConstU32<64>;
    type MaxTagLen = polkadot_sdk::frame_support::traits::ConstU32<16>;
    type MaxCurators = polkadot_sdk::frame_support::traits::ConstU32<3>;
    type MaxAcceptedPerDatanet = polkadot_sdk::frame_support::traits::ConstU32<8>;
    type MaxSnapshotsPerDatanet = polkadot_sdk::frame_support::traits::ConstU32<4>;
    type ContributionDeposit = ContributionDeposit;
    type SnapshotDepositBase = SnapshotDepositBase;
    type SnapshotDepositPerMember = SnapshotDepositPerMember;
    type AccessDeposit = AccessDeposit;
    type CommitDeposit = CommitDeposit;
    type CommitLifetime = CommitLifetime;
    type Credits = TestCredits;
    type Reward = TestReward;
    type PoolDestination = PoolDestination;
    type PoolSpendOrigin =
        polkadot_sdk::frame_system::EnsureRootWithSuccess<AccountId, MaxPoolSpend>;
    type Power = TestPower;
    type WeightInfo = ();
}

/// Well-funded test accounts.
pub const OWNER: AccountId = 1;
pub const ALICE: AccountId = 2;
pub const BOB: AccountId = 3;
pub const CURATOR: AccountId = 4;
/// An account that can pay fees but not a stake.
pub const POOR: AccountId = 5;
pub const STRANGER: AccountId = 6;
/// Where destroyed datanets' reward pools go.
pub const TREASURY: AccountId = 99;
/// What each well-funded account starts with.
pub const INITIAL: Balance = 10_000;

/// Builds test externalities; `build_and_execute` checks the invariants after each test.
#[derive(Default)]
pub struct ExtBuilder {
    datanets: Vec<(
        AccountId,
        Vec<u8>,
        Vec<u8>,
        Vec<u8>,
        provena_primitives::datanets::Visibility,
        Balance,
        u64,
    )>,
}

impl ExtBuilder {
    /// Adds a genesis datanet.
    pub fn with_genesis_datanet(mut self, owner: AccountId, name: &str) -> Self {
        self.datanets.push((
            owner,
            name.as_bytes().to_vec(),
            b"solidity".to_vec(),
            b"MIT".to_vec(),
            provena_primitives::datanets::Visibility::Public,
            10,
            1_000,
        ));
        self
    }

    pub fn build(self) -> TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: vec![
                (OWNER, INITIAL),
                (ALICE, INITIAL),
                (BOB, INITIAL),
                (CURATOR, INITIAL),
                (POOR, 5),
                (STRANGER, INITIAL),
            ],
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        pallet_datanets::GenesisConfig::<Test> { datanets: self.datanets }
            .assimilate_storage(&mut storage)
            .unwrap();
        let mut ext = TestExternalities::new(storage);
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Runs `test` and then checks every invariant of the pallet.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            DatanetsPallet::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// The events this pallet emitted, in order.
pub fn datanet_events() -> Vec<pallet_datanets::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::DatanetsPallet(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Advances to block `n`.
pub fn run_to_block(n: u64) {
    System::set_block_number(n);
}
