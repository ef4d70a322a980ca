//! A test runtime: System, Balances and Governance, with referenda played by [`TestPolls`].
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate as pallet_governance;
use crate::TallyOf;
use polkadot_sdk::{
    frame_support::{
        derive_impl, parameter_types,
        traits::{PollStatus, Polling, VoteTally},
    },
    frame_system, pallet_balances,
    sp_io::TestExternalities,
    sp_runtime::{BuildStorage, DispatchError},
};
use std::{cell::RefCell, collections::BTreeMap};

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
    pub type Governance = pallet_governance;
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
}

parameter_types! {
    pub const ExistentialDeposit: Balance = 1;
    pub const MaxVotes: u32 = 3;
    pub const VoteLockingPeriod: u64 = 10;
    pub const PowerPeriod: u64 = 5;
    pub const PowerRetentionPeriods: u32 = 4;
    pub const MaxCheckpoints: u32 = 6;
}

/// The issuance that can vote: the balances pallet's total issuance.
pub struct Turnout;
impl polkadot_sdk::frame_support::traits::Get<Balance> for Turnout {
    fn get() -> Balance {
        pallet_balances::TotalIssuance::<Test>::get()
    }
}

impl pallet_governance::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type Currency = Balances;
    type Polls = TestPolls;
    type MaxTurnout = Turnout;
    type MaxVotes = MaxVotes;
    type VoteLockingPeriod = VoteLockingPeriod;
    type PowerPeriod = PowerPeriod;
    type PowerRetentionPeriods = PowerRetentionPeriods;
    type MaxCheckpoints = MaxCheckpoints;
}

/// A poll as the test sets it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TestPoll {
    Ongoing(TallyOf<Test>, u8),
    Completed(u64, bool),
}

thread_local! {
    pub static POLLS: RefCell<BTreeMap<u8, TestPoll>> = const { RefCell::new(BTreeMap::new()) };
}

/// Opens poll `index` in `class` now (its tally takes the current snapshot).
pub fn open_poll(index: u8, class: u8) {
    let tally = <TallyOf<Test> as VoteTally<Balance, u8>>::new(class);
    POLLS.with(|p| p.borrow_mut().insert(index, TestPoll::Ongoing(tally, class)));
}

/// Ends poll `index` now with the given result.
pub fn end_poll(index: u8, approved: bool) {
    let now = System::block_number();
    POLLS.with(|p| p.borrow_mut().insert(index, TestPoll::Completed(now, approved)));
}

/// Removes poll `index` (cancelled).
pub fn cancel_poll(index: u8) {
    POLLS.with(|p| p.borrow_mut().remove(&index));
}

/// The tally of ongoing poll `index`.
pub fn tally(index: u8) -> TallyOf<Test> {
    match POLLS.with(|p| p.borrow().get(&index).cloned()) {
        Some(TestPoll::Ongoing(t, _)) => t,
        other => panic!("poll {index} is not ongoing: {other:?}"),
    }
}

/// Referenda as a test plays them: classes 0, 1 and 2.
pub struct TestPolls;
impl Polling<TallyOf<Test>> for TestPolls {
    type Index = u8;
    type Votes = Balance;
    type Moment = u64;
    type Class = u8;

    fn classes() -> Vec<u8> {
        vec![0, 1, 2]
    }

    fn as_ongoing(index: u8) -> Option<(TallyOf<Test>, u8)> {
        match POLLS.with(|p| p.borrow().get(&index).cloned()) {
            Some(TestPoll::Ongoing(t, c)) => Some((t, c)),
            _ => None,
        }
    }

    fn access_poll<R>(
        index: u8,
        f: impl FnOnce(PollStatus<&mut TallyOf<Test>, u64, u8>) -> R,
    ) -> R {
        Self::try_access_poll(index, |s| Ok::<R, DispatchError>(f(s)))
            .unwrap_or_else(|_| unreachable!("the closure never fails"))
    }

    fn try_access_poll<R>(
        index: u8,
        f: impl FnOnce(PollStatus<&mut TallyOf<Test>, u64, u8>) -> Result<R, DispatchError>,
    ) -> Result<R, DispatchError> {
        let mut polls = POLLS.with(|p| p.borrow().clone());
        let r = match polls.get_mut(&index) {
            Some(TestPoll::Ongoing(tally, class)) => f(PollStatus::Ongoing(tally, *class)),
            Some(TestPoll::Completed(end, approved)) => f(PollStatus::Completed(*end, *approved)),
            None => f(PollStatus::None),
        }?;
        POLLS.with(|p| *p.borrow_mut() = polls);
        Ok(r)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn create_ongoing(class: u8) -> Result<u8, ()> {
        let index = POLLS.with(|p| p.borrow().keys().last().map_or(0, |k| k + 1));
        open_poll(index, class);
        Ok(index)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn end_ongoing(index: u8, approved: bool) -> Result<(), ()> {
        end_poll(index, approved);
        Ok(())
    }
}

/// Balances every test starts with: accounts 1..=10 hold `10 * id`, account 100 holds 1,000.
pub struct ExtBuilder {
    timescale: u32,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self { timescale: 1 }
    }
}

impl ExtBuilder {
    pub fn timescale(mut self, timescale: u32) -> Self {
        self.timescale = timescale;
        self
    }

    pub fn build(self) -> TestExternalities {
        let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        let mut balances: Vec<(AccountId, Balance)> =
            (1..=10).map(|i| (i, 10 * i as u128)).collect();
        balances.push((100, 1_000));
        pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
            .assimilate_storage(&mut t)
            .unwrap();
        pallet_governance::GenesisConfig::<Test> { timescale: self.timescale, power: vec![] }
            .assimilate_storage(&mut t)
            .unwrap();
        let mut ext = TestExternalities::new(t);
        ext.execute_with(|| {
            System::set_block_number(1);
            POLLS.with(|p| p.borrow_mut().clear());
        });
        ext
    }

    /// Runs `test`, then checks the pallet's invariants.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            crate::Pallet::<Test>::do_try_state().expect("invariants hold");
        });
    }
}

/// Moves to block `n`.
pub fn run_to(n: u64) {
    System::set_block_number(n);
}

/// The events this pallet deposited, in order.
pub fn governance_events() -> Vec<crate::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Governance(e) => Some(e),
            _ => None,
        })
        .collect()
}
