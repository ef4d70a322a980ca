//! A test runtime: System, Balances, and the real Datanets and Models pallets under
//! Attribution, with 32-byte accounts so vouchers carry real signatures.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::type_complexity,
    clippy::arithmetic_side_effects
)]

use crate as pallet_attribution;
use polkadot_sdk::{
    frame_support::{
        assert_ok, derive_impl, parameter_types,
        traits::{ConstU128, ConstU16, ConstU32, ConstU64},
        PalletId,
    },
    frame_system::{self, EnsureRoot},
    pallet_balances,
    sp_core::{ecdsa, sr25519, Pair, H256},
    sp_io::TestExternalities,
    sp_runtime::{
        traits::{IdentifyAccount, IdentityLookup, Verify},
        AccountId32, BuildStorage, MultiSignature, MultiSigner, Permill,
    },
};
use provena_primitives::{
    attribution::{SplitShares, Voucher},
    bonding_curve::CurveParams,
    datanets::Visibility,
    ContributionId, DatanetId, ModelId,
};

pub type AccountId = AccountId32;
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
    pub type Models = pallet_models;
    #[runtime::pallet_index(4)]
    pub type Attribution = pallet_attribution;
    #[runtime::pallet_index(5)]
    pub type Agents = pallet_agents;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId;
    type Lookup = IdentityLookup<AccountId>;
    type AccountData = pallet_balances::AccountData<Balance>;
    // Reaches back past the voucher lifetime (200), to every unexpired voucher's anchor.
    type BlockHashCount = ConstU64<256>;
    // The runtime's database costs, so that the weights the pallet computes are not zero.
    type DbWeight = polkadot_sdk::frame_support::weights::constants::ParityDbWeight;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type AccountStore = System;
    type ExistentialDeposit = ConstU128<ED>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

pub const ED: Balance = 10;

impl pallet_datanets::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = DatanetsPalletId;
    type DatanetDeposit = ConstU128<100>;
    type MinContributionStake = ConstU128<10>;
    type StakeLockup = ConstU64<10>;
    type MaxNameLen = ConstU32<32>;
    type MaxUriLen = ConstU32<64>;
    type MaxTagLen = ConstU32<16>;
    type MaxCurators = ConstU32<3>;
    type MaxAcceptedPerDatanet = ConstU32<2_000>;
    type MaxSnapshotsPerDatanet = ConstU32<8>;
    type ContributionDeposit = ConstU128<0>;
    type SnapshotDepositBase = ConstU128<0>;
    type SnapshotDepositPerMember = ConstU128<0>;
    type AccessDeposit = ConstU128<0>;
    type CommitDeposit = ConstU128<1>;
    type CommitLifetime = ConstU64<5>;
    type Credits = Attribution;
    type Reward = crate::RewardRecord<Test>;
    type PoolDestination = TreasuryAccount;
    type PoolSpendOrigin = polkadot_sdk::frame_system::EnsureRootWithSuccess<
        AccountId,
        polkadot_sdk::frame_support::traits::ConstU128<{ u128::MAX }>,
    >;
    type Power = ();
    type WeightInfo = ();
}

parameter_types! {
    /// The smallest non-empty token holding.
    pub const MinHolding: Balance = 10;
    pub const DatanetsPalletId: PalletId = PalletId(*b"prv/dnet");
    pub const ModelsPalletId: PalletId = PalletId(*b"prv/modl");
    pub const AttributionPalletId: PalletId = PalletId(*b"prv/attr");
    pub const Curve: CurveParams = CurveParams {
        total_supply: 1_000_000,
        curve_supply: 800_000,
        virtual_native: 100_000,
        virtual_tokens: 1_000_000,
        graduation_reserve: 300_000,
    };
    pub const TradingFee: Permill = Permill::from_percent(1);
    pub TreasuryAccount: AccountId = account("treasury");
    /// Treasury 5%, operator 15%, model 30%, contributors 50%.
    pub const Shares: SplitShares = SplitShares {
        treasury: Permill::from_percent(5),
        operator: Permill::from_percent(15),
        model: Permill::from_percent(30),
        contributors: Permill::from_percent(50),
    };
    pub const ChallengerReward: Permill = Permill::from_percent(50);
}

impl pallet_models::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Datanets = Datanets;
    type PalletId = ModelsPalletId;
    type ModelDeposit = ConstU128<50>;
    type Curve = Curve;
    type TradingFee = TradingFee;
    type FeeDestination = TreasuryAccount;
    type MinTradeValue = ConstU128<10>;
    type MaxTrainedOn = ConstU32<4>;
    type MaxTargetModules = ConstU32<4>;
    type MaxModuleNameLen = ConstU32<16>;
    type MaxAdapterRank = ConstU16<256>;
    type MaxUriLen = ConstU32<64>;
    type MinHolding = MinHolding;
    type Usage = Attribution;
    type Commitments = Datanets;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = ModelsBenchHelper;
}

std::thread_local! {
    /// Contribution power credited as earnings, in order.
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
        assert_eq!(source, provena_primitives::governance::PowerSource::Earnings);
        POWER.with(|p| p.borrow_mut().push((who.clone(), value)));
    }
    fn credit_weight() -> polkadot_sdk::frame_support::weights::Weight {
        polkadot_sdk::frame_support::weights::Weight::zero()
    }
}

/// The contribution power credited so far, summed per account.
pub fn power_credited() -> std::collections::BTreeMap<AccountId, Balance> {
    let mut sum = std::collections::BTreeMap::new();
    POWER.with(|p| {
        for (who, v) in p.borrow().iter() {
            *sum.entry(who.clone()).or_default() += v;
        }
    });
    sum
}

impl pallet_attribution::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Datanets = Datanets;
    type Models = Models;
    type OffchainSignature = MultiSignature;
    type OffchainPublic = <MultiSignature as Verify>::Signer;
    type ParameterOrigin = EnsureRoot<AccountId>;
    type ResolveOrigin = EnsureRoot<AccountId>;
    type PalletId = AttributionPalletId;
    type Power = TestPower;
    type Agents = Agents;
    type Treasury = TreasuryAccount;
    type Shares = Shares;
    type ChallengeBond = ConstU128<CHALLENGE_BOND>;
    type OperatorSlash = ConstU128<OPERATOR_SLASH>;
    type ChallengerReward = ChallengerReward;
    type ChallengeDeadline = ConstU64<100>;
    type MaxVoucherLifetime = ConstU64<200>;
    type MaxPrunePerBlock = ConstU32<8>;
    type EpochLength = ConstU64<EPOCH>;
    type MaxReceiptsPerCall = ConstU32<8>;
    type MaxEntries = ConstU32<4>;
    type MaxReceiptsPerEpoch = ConstU32<64>;
    type OperatorEpochShare = OperatorEpochShare;
    type MaxPendingBuckets = ConstU32<4>;
    type MaxClaims = ConstU32<8>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = BenchHelper;
}

// The real agents pallet: operators are agents, paid and answerable through it.
pallet_agents::impl_test_config!(
    Test,
    models: Models,
    liability: Attribution,
    min_bond: OPERATOR_BOND,
    era: EPOCH,
    treasury: TreasuryAccount,
);

polkadot_sdk::frame_support::parameter_types! {
    /// A quarter of the epoch's 64 receipts per operator.
    pub const OperatorEpochShare: polkadot_sdk::sp_runtime::Permill =
        polkadot_sdk::sp_runtime::Permill::from_percent(25);
}

/// An operator's own bond as an agent (the agents pallet's minimum).
pub const OPERATOR_BOND: Balance = 1_000;
pub const CHALLENGE_BOND: Balance = 500;
pub const OPERATOR_SLASH: Balance = 600;
pub const EPOCH: u64 = 10;
pub const WINDOW: u64 = 20;
/// What each account starts with.
pub const INITIAL: Balance = 10_000_000;

/// A well-known sr25519 key by name.
pub fn pair(name: &str) -> sr25519::Pair {
    sr25519::Pair::from_string(&format!("//{name}"), None).unwrap()
}

/// The account of a named sr25519 key.
pub fn account(name: &str) -> AccountId {
    MultiSigner::from(pair(name).public()).into_account()
}

/// An ecdsa key and its account.
pub fn ecdsa_user() -> (ecdsa::Pair, AccountId) {
    let p = ecdsa::Pair::from_string("//EcdsaUser", None).unwrap();
    let who = MultiSigner::from(p.public()).into_account();
    (p, who)
}

pub fn dev() -> AccountId {
    account("Dev")
}
pub fn data_owner() -> AccountId {
    account("DataOwner")
}
pub fn contributor() -> AccountId {
    account("Contributor")
}
pub fn operator() -> AccountId {
    account("Operator")
}
pub fn user() -> AccountId {
    account("User")
}
pub fn challenger() -> AccountId {
    account("Challenger")
}
pub fn holder() -> AccountId {
    account("Holder")
}
pub fn poor() -> AccountId {
    account("Poor")
}

/// Builds test externalities; `build_and_execute` checks the invariants after each test.
pub struct ExtBuilder;

impl ExtBuilder {
    pub fn build(self) -> TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        let mut balances: Vec<(AccountId, Balance)> = [
            dev(),
            data_owner(),
            contributor(),
            operator(),
            user(),
            challenger(),
            holder(),
            TreasuryAccount::get(),
            ecdsa_user().1,
        ]
        .into_iter()
        .map(|a| (a, INITIAL))
        .collect();
        balances.push((poor(), 20));
        balances.push((pallet_agents::Pallet::<Test>::account_id(), ED));
        pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
            .assimilate_storage(&mut storage)
            .unwrap();
        pallet_attribution::GenesisConfig::<Test> { challenge_window: WINDOW }
            .assimilate_storage(&mut storage)
            .unwrap();
        // The operator is an agent serving any model.
        pallet_agents::GenesisConfig::<Test> { agents: vec![operator()] }
            .assimilate_storage(&mut storage)
            .unwrap();
        let mut ext = TestExternalities::new(storage);
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Runs `test` and then checks every invariant of the pallet (and of models).
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            Attribution::do_try_state().expect("invariants hold after the test");
            Agents::do_try_state().expect("the agents' invariants hold after the test");
        })
    }
}

/// Runs blocks up to `n`, with the pallet's `on_initialize` (epoch closing).
pub fn run_to_block(n: u64) {
    use polkadot_sdk::frame_support::traits::Hooks;
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        Attribution::on_initialize(next);
    }
}

/// A datanet of `owner` whose `n` contributions (by `owner`) are accepted and in snapshot 1.
pub fn datanet_with(
    owner: &AccountId,
    n: u32,
    visibility: Visibility,
) -> (DatanetId, Vec<ContributionId>) {
    let datanet = pallet_datanets::NextDatanetId::<Test>::get();
    let o = || RuntimeOrigin::signed(owner.clone());
    assert_ok!(Datanets::create_datanet(
        o(),
        b"data".to_vec(),
        vec![],
        b"code".to_vec(),
        b"MIT".to_vec(),
        visibility,
        10,
        1_000_000,
    ));
    let mut ids = Vec::new();
    for i in 0..n {
        let id = pallet_datanets::NextContributionId::<Test>::get();
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&datanet.to_be_bytes());
        h[4..8].copy_from_slice(&i.to_be_bytes());
        assert_ok!(Datanets::contribute(o(), datanet, H256(h), 10, 10, vec![], vec![], u128::MAX));
        assert_ok!(Datanets::review(o(), id, pallet_datanets::Verdict::Accept { quality: 80 }));
        ids.push(id);
    }
    assert_ok!(Datanets::publish_snapshot(o(), datanet));
    (datanet, ids)
}

/// `owner` registers a base model trained on snapshot 1 of `datanet` with price 1,000 per
/// 1,000 tokens and a 40% developer share.
pub fn model_on(owner: &AccountId, datanet: DatanetId, weights: u8) -> ModelId {
    let id = pallet_models::NextModelId::<Test>::get();
    assert_ok!(Models::register_model(
        RuntimeOrigin::signed(owner.clone()),
        pallet_models::ModelKindArg::Base,
        H256::repeat_byte(weights),
        H256::zero(),
        vec![(datanet, 1)],
        1_000,
        Permill::from_percent(40),
        vec![],
        None,
    ));
    id
}

/// Signs a voucher payload with an sr25519 key, as of the current block (the chain's own
/// payload: genesis and anchor hashes); a voucher anchored at or after it is signed over the
/// empty payload, which verifies nowhere.
pub fn sign(p: &sr25519::Pair, voucher: &Voucher<AccountId, u64>) -> MultiSignature {
    MultiSignature::Sr25519(p.sign(&Attribution::api_voucher_payload(voucher.clone())))
}

/// Benchmark support for the models pallet (unused by these tests' models).
#[cfg(feature = "runtime-benchmarks")]
pub struct ModelsBenchHelper;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_models::BenchmarkHelper<AccountId> for ModelsBenchHelper {
    fn usable_snapshots(_who: &AccountId, _n: u32) -> Vec<provena_primitives::models::TrainedOn> {
        Vec::new()
    }
    fn commit(
        _who: &AccountId,
        _hash: provena_primitives::ContentHash,
        _salt: provena_primitives::ContentHash,
    ) {
    }
}

/// Benchmark support: real datanets and models, sr25519 user keys.
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchHelper;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId, MultiSignature> for BenchHelper {
    fn model_with_contributions(
        owner: &AccountId,
        contributions: u32,
    ) -> (ModelId, Vec<ContributionId>) {
        use polkadot_sdk::frame_support::traits::fungible::Mutate;
        Balances::set_balance(owner, u128::MAX / 1_024);
        let (datanet, ids) = datanet_with(owner, contributions.max(1), Visibility::Public);
        let weights = (pallet_models::NextModelId::<Test>::get().get() % 200) as u8 + 1;
        (model_on(owner, datanet, weights), ids)
    }

    fn launch_with_holder(owner: &AccountId, model: ModelId) {
        assert_ok!(Models::launch_token(RuntimeOrigin::signed(owner.clone()), model));
        assert_ok!(Models::buy(
            RuntimeOrigin::signed(holder()),
            model,
            100_000,
            u128::MAX,
            1_000_000
        ));
    }

    fn adapter_with_retrieval(
        owner: &AccountId,
        operator: &AccountId,
        snapshot: (DatanetId, u32),
    ) -> (ModelId, (DatanetId, u32)) {
        let register = |kind, weights| {
            let id = pallet_models::NextModelId::<Test>::get();
            assert_ok!(Models::register_model(
                RuntimeOrigin::signed(owner.clone()),
                kind,
                weights,
                H256::zero(),
                vec![snapshot],
                1_000,
                Permill::from_percent(40),
                vec![],
                None,
            ));
            id
        };
        let next = pallet_models::NextModelId::<Test>::get().get();
        let base =
            register(pallet_models::ModelKindArg::Base, H256::from_low_u64_be(0xba5e_0000 + next));
        let adapter = register(
            pallet_models::ModelKindArg::Adapter {
                base,
                rank: 8,
                alpha: 16,
                target_modules: vec![b"q_proj".to_vec()],
            },
            H256::from_low_u64_be(0xada0_0000 + next),
        );
        let (private, _) = datanet_with(owner, 1, Visibility::Private);
        assert_ok!(Datanets::grant_access(
            RuntimeOrigin::signed(owner.clone()),
            private,
            operator.clone()
        ));
        (adapter, (private, 1))
    }

    fn sign(user_index: u32, payload: &[u8]) -> (AccountId, MultiSignature) {
        let p = pair(&format!("bench-user-{user_index}"));
        (MultiSigner::from(p.public()).into_account(), MultiSignature::Sr25519(p.sign(payload)))
    }
}
