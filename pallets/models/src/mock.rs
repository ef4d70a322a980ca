//! A test runtime: System, Balances, the real Datanets pallet, and Models.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::type_complexity)]

use crate as pallet_models;
use polkadot_sdk::{
    frame_support::{
        assert_ok, derive_impl, parameter_types,
        traits::{ConstU16, ConstU32},
        PalletId,
    },
    frame_system, pallet_balances,
    sp_io::TestExternalities,
    sp_runtime::{BuildStorage, Permill},
};
#[cfg(feature = "runtime-benchmarks")]
use provena_primitives::models::TrainedOn;
use provena_primitives::{bonding_curve::CurveParams, datanets::Visibility, DatanetId};

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
    pub type Datanets = pallet_datanets;
    #[runtime::pallet_index(3)]
    pub type ModelsPallet = pallet_models;
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
    /// The smallest non-empty token holding.
    pub const MinHolding: Balance = 10;
    pub const ExistentialDeposit: Balance = 10;
    pub const DatanetsPalletId: PalletId = PalletId(*b"prv/dnet");
    pub const ModelsPalletId: PalletId = PalletId(*b"prv/modl");
    /// A small curve: 1,000,000 tokens, 800,000 on the curve, x₀ = 100,000, y₀ = 1,000,000;
    /// selling out would raise 400,000, graduation at 300,000.
    pub const Curve: CurveParams = CurveParams {
        total_supply: 1_000_000,
        curve_supply: 800_000,
        virtual_native: 100_000,
        virtual_tokens: 1_000_000,
        graduation_reserve: 300_000,
    };
    pub const TradingFee: Permill = Permill::from_percent(1);
    pub const Treasury: AccountId = TREASURY;
}

impl pallet_datanets::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = DatanetsPalletId;
    type DatanetDeposit = polkadot_sdk::frame_support::traits::ConstU128<100>;
    type MinContributionStake = polkadot_sdk::frame_support::traits::ConstU128<10>;
    type StakeLockup = polkadot_sdk::frame_support::traits::ConstU64<10>;
    type MaxNameLen = ConstU32<32>;
    type MaxUriLen = ConstU32<64>;
    type MaxTagLen = ConstU32<16>;
    type MaxCurators = ConstU32<3>;
    type MaxAcceptedPerDatanet = ConstU32<8>;
    type MaxSnapshotsPerDatanet = ConstU32<8>;
    type ContributionDeposit = polkadot_sdk::frame_support::traits::ConstU128<0>;
    type SnapshotDepositBase = polkadot_sdk::frame_support::traits::ConstU128<0>;
    type SnapshotDepositPerMember = polkadot_sdk::frame_support::traits::ConstU128<0>;
    type AccessDeposit = polkadot_sdk::frame_support::traits::ConstU128<0>;
    type CommitDeposit = polkadot_sdk::frame_support::traits::ConstU128<1>;
    type CommitLifetime = polkadot_sdk::frame_support::traits::ConstU64<5>;
    type Credits = ();
    type Reward = ();
    type PoolDestination = Treasury;
    type PoolSpendOrigin = polkadot_sdk::frame_system::EnsureRootWithSuccess<
        AccountId,
        polkadot_sdk::frame_support::traits::ConstU128<{ u128::MAX }>,
    >;
    type Power = ();
    type WeightInfo = ();
}

impl pallet_models::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Datanets = Datanets;
    type PalletId = ModelsPalletId;
    type ModelDeposit = polkadot_sdk::frame_support::traits::ConstU128<MODEL_DEPOSIT>;
    type Curve = Curve;
    type TradingFee = TradingFee;
    type FeeDestination = Treasury;
    type MinTradeValue = polkadot_sdk::frame_support::traits::ConstU128<MIN_TRADE>;
    type MaxTrainedOn = ConstU32<4>;
    type MaxTargetModules = ConstU32<4>;
    type MaxModuleNameLen = ConstU32<16>;
    type MaxAdapterRank = ConstU16<256>;
    type MaxUriLen = ConstU32<64>;
    type MinHolding = MinHolding;
    type Usage = ();
    type Commitments = Datanets;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = SnapshotsForBenchmarks;
}

/// Creates real datanet snapshots for the benchmark tests.
#[cfg(feature = "runtime-benchmarks")]
pub struct SnapshotsForBenchmarks;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for SnapshotsForBenchmarks {
    fn usable_snapshots(who: &AccountId, n: u32) -> Vec<TrainedOn> {
        use polkadot_sdk::frame_support::traits::fungible::Mutate;
        Balances::set_balance(who, Balances::free_balance(who).max(1_000_000_000));
        // One datanet per snapshot: the worst case (each datanet counts the model as a user).
        (0..n).map(|i| (snapshot_of(*who, Visibility::Public, i as u8), 1)).collect()
    }

    fn commit(
        who: &AccountId,
        hash: provena_primitives::ContentHash,
        salt: provena_primitives::ContentHash,
    ) {
        let commitment = provena_primitives::commit::commitment(&hash, who, &salt);
        assert_ok!(Datanets::commit(RuntimeOrigin::signed(*who), commitment));
    }
}

pub const MODEL_DEPOSIT: Balance = 50;
pub const MIN_TRADE: Balance = 10;

/// Well-funded test accounts.
pub const DEV: AccountId = 1;
pub const ALICE: AccountId = 2;
pub const BOB: AccountId = 3;
pub const CAROL: AccountId = 4;
pub const DATA_OWNER: AccountId = 5;
/// The attribution pallet's stand-in: pays revenue to holders.
pub const PAYER: AccountId = 6;
pub const TREASURY: AccountId = 7;
/// An account with too little for a deposit.
pub const POOR: AccountId = 8;
/// What each well-funded account starts with.
pub const INITIAL: Balance = 10_000_000;

/// Builds test externalities; `build_and_execute` checks the invariants after each test.
#[derive(Default)]
pub struct ExtBuilder {
    base_models: Vec<(AccountId, polkadot_sdk::sp_core::H256, Balance, Vec<u8>)>,
}

impl ExtBuilder {
    /// Registers a base model at genesis.
    pub fn with_genesis_base(mut self, owner: AccountId, n: u8, price: Balance) -> Self {
        self.base_models.push((
            owner,
            polkadot_sdk::sp_core::H256::repeat_byte(n),
            price,
            b"ipfs://genesis".to_vec(),
        ));
        self
    }

    pub fn build(self) -> TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: vec![
                (DEV, INITIAL),
                (ALICE, INITIAL),
                (BOB, INITIAL),
                (CAROL, INITIAL),
                (DATA_OWNER, INITIAL),
                (PAYER, INITIAL),
                (TREASURY, INITIAL),
                (POOR, 55),
            ],
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        pallet_models::GenesisConfig::<Test> { base_models: self.base_models }
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
            ModelsPallet::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// A datanet of `owner` with one accepted contribution (content byte `n`) and snapshot 1.
pub fn snapshot_of(owner: AccountId, visibility: Visibility, n: u8) -> DatanetId {
    let datanet = pallet_datanets::NextDatanetId::<Test>::get();
    assert_ok!(Datanets::create_datanet(
        RuntimeOrigin::signed(owner),
        b"Solidity".to_vec(),
        b"ipfs://desc".to_vec(),
        b"solidity".to_vec(),
        b"MIT".to_vec(),
        visibility,
        10,
        1_000,
    ));
    next_snapshot(owner, datanet, n);
    datanet
}

/// `owner` accepts one more contribution (`hash(n + 100)`) into `datanet` and publishes the
/// next snapshot (an unchanged one would be refused).
pub fn next_snapshot(owner: AccountId, datanet: DatanetId, n: u8) {
    let id = pallet_datanets::NextContributionId::<Test>::get();
    assert_ok!(Datanets::contribute(
        RuntimeOrigin::signed(owner),
        datanet,
        polkadot_sdk::sp_core::H256::repeat_byte(n.wrapping_add(100)),
        100,
        25,
        b"ipfs://meta".to_vec(),
        Vec::new(),
        u128::MAX,
    ));
    assert_ok!(Datanets::review(
        RuntimeOrigin::signed(owner),
        id,
        pallet_datanets::Verdict::Accept { quality: 90 }
    ));
    assert_ok!(Datanets::publish_snapshot(RuntimeOrigin::signed(owner), datanet));
}

/// The events this pallet emitted, in order.
pub fn model_events() -> Vec<pallet_models::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::ModelsPallet(e) => Some(e),
            _ => None,
        })
        .collect()
}
