//! A test runtime: System, Balances and Agents; models 1–5 exist.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

use crate as pallet_agents;
use polkadot_sdk::{
    frame_support::{derive_impl, parameter_types, traits::ConstU32, PalletId},
    frame_system::{self, EnsureRoot, EnsureSignedBy},
    pallet_balances,
    sp_core::H256,
    sp_io::TestExternalities,
    sp_runtime::{BuildStorage, Perbill, Permill},
};
use provena_primitives::{
    models::{ModelInspect, ModelStatus, ModelView},
    ModelId,
};

pub type AccountId = u64;
pub use provena_primitives::Balance;
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
    pub type AgentsPallet = pallet_agents;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId;
    type Lookup = polkadot_sdk::sp_runtime::traits::IdentityLookup<AccountId>;
    type AccountData = pallet_balances::AccountData<Balance>;
}

parameter_types! {
    pub const ExistentialDeposit: Balance = 5;
    pub const AgentsPalletId: PalletId = PalletId(*b"prv/agnt");
    pub const AgentDeposit: Balance = 50;
    pub const MinAgentBond: Balance = 1_000;
    pub const MinDelegation: Balance = 100;
    pub const EraLength: u64 = 10;
    pub const MaxCommission: Perbill = Perbill::from_percent(50);
    pub const MaxCommissionIncrease: Perbill = Perbill::from_percent(5);
    pub const ExpiryRateThreshold: Perbill = Perbill::from_percent(25);
    pub const ThresholdSlash: Perbill = Perbill::from_percent(10);
    pub const MaxGovernanceSlash: Perbill = Perbill::from_percent(30);
    pub const SlashDestination: AccountId = TREASURY;
}

polkadot_sdk::frame_support::ord_parameter_types! {
    pub const Governance: AccountId = GOVERNANCE;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type AccountStore = System;
    type ExistentialDeposit = ExistentialDeposit;
    type RuntimeHoldReason = RuntimeHoldReason;
}

/// Models 1 to 5 exist; 5 is an adapter of 1.
pub struct TestModels;
impl ModelInspect<AccountId, Balance> for TestModels {
    fn model(id: ModelId) -> Option<ModelView<AccountId, Balance>> {
        (1..=5).contains(&id.0).then(|| ModelView {
            developer: 0,
            status: ModelStatus::Active,
            // Model 5 is an adapter of model 1.
            base: (id.0 == 5).then_some(ModelId(1)),
            weights_hash: H256::zero(),
            price_per_1k_tokens: 1,
            developer_share: Permill::one(),
            trained_on: vec![],
        })
    }
}

std::thread_local! {
    /// The agents whose receipts still answer (attribution's record in the runtime).
    static LIABLE: core::cell::RefCell<std::collections::BTreeSet<AccountId>> =
        Default::default();
}

/// Agents are liable while a test says so.
pub struct TestLiability;
impl TestLiability {
    pub fn set(who: AccountId, liable: bool) {
        LIABLE.with(|l| {
            if liable {
                l.borrow_mut().insert(who);
            } else {
                l.borrow_mut().remove(&who);
            }
        });
    }
}
impl provena_primitives::agents::OperatorLiability<AccountId> for TestLiability {
    fn is_liable(who: &AccountId) -> bool {
        LIABLE.with(|l| l.borrow().contains(who))
    }
    fn forget(who: &AccountId) {
        Self::set(*who, false);
    }
    fn liability_weight() -> polkadot_sdk::frame_support::weights::Weight {
        polkadot_sdk::frame_support::weights::Weight::zero()
    }
}

impl pallet_agents::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = AgentsPalletId;
    type Models = TestModels;
    type AgentDeposit = AgentDeposit;
    type MinAgentBond = MinAgentBond;
    type MinDelegation = MinDelegation;
    type EraLength = EraLength;
    type BondingDuration = ConstU32<3>;
    type SlashDeferral = ConstU32<2>;
    type MaxCommission = MaxCommission;
    type MaxCommissionIncrease = MaxCommissionIncrease;
    type MinJobsForExpiryRate = ConstU32<4>;
    type ExpiryRateThreshold = ExpiryRateThreshold;
    type UpheldChallengeThreshold = ConstU32<2>;
    type ThresholdSlash = ThresholdSlash;
    type MaxGovernanceSlash = MaxGovernanceSlash;
    type SlashOrigin = EnsureRoot<AccountId>;
    type CancelSlashOrigin = EnsureSignedBy<Governance, AccountId>;
    type ForceChillOrigin = EnsureSignedBy<Governance, AccountId>;
    type Liability = TestLiability;
    type SlashDestination = SlashDestination;
    type HistoryDepth = ConstU32<4>;
    type MaxModels = ConstU32<3>;
    type MaxUriLen = ConstU32<32>;
    type MaxDelegators = ConstU32<4>;
    type MaxUnlockingChunks = ConstU32<3>;
    type MaxUnbondingPools = ConstU32<5>;
    type MaxPendingSlashes = ConstU32<3>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = ();
}

/// The agent most tests register.
pub const AGENT: AccountId = 1;
pub const ALICE: AccountId = 2;
pub const BOB: AccountId = 3;
pub const CHARLIE: AccountId = 4;
pub const DAVE: AccountId = 5;
pub const EVE: AccountId = 6;
/// Another agent.
pub const OTHER: AccountId = 7;
/// Can cancel slashes.
pub const GOVERNANCE: AccountId = 8;
/// Where slashes go.
pub const TREASURY: AccountId = 99;
/// Pays rewards (attribution's account in the runtime).
pub const PAYER: AccountId = 100;
/// What each funded account starts with.
pub const INITIAL: Balance = 1_000_000;

/// Builds test externalities; `build_and_execute` checks the invariants after each test.
#[derive(Default)]
pub struct ExtBuilder;

impl ExtBuilder {
    pub fn build(self) -> TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        let pallet = pallet_agents::Pallet::<Test>::account_id();
        pallet_balances::GenesisConfig::<Test> {
            balances: [AGENT, ALICE, BOB, CHARLIE, DAVE, EVE, OTHER, GOVERNANCE, PAYER]
                .into_iter()
                .map(|a| (a, INITIAL))
                .chain([(pallet, ExistentialDeposit::get()), (TREASURY, ExistentialDeposit::get())])
                .collect(),
            ..Default::default()
        }
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
            AgentsPallet::do_try_state().expect("invariants hold after the test");
        })
    }
}

/// The events this pallet emitted, in order.
pub fn agent_events() -> Vec<pallet_agents::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::AgentsPallet(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Moves to the first block of `era`.
pub fn run_to_era(era: u32) {
    System::set_block_number(u64::from(era) * EraLength::get());
}
