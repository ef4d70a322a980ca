//! A test runtime: System, Balances and the bridge, with a committee of test keys.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

use crate as pallet_bridge;
use polkadot_sdk::{
    frame_support::{derive_impl, parameter_types, PalletId},
    frame_system::{self, EnsureRoot, EnsureSignedBy},
    pallet_balances,
    sp_core::{ecdsa, Pair, H160, H256},
    sp_io::{hashing::keccak_256, TestExternalities},
    sp_runtime::BuildStorage,
};
use provena_primitives::attribution::{EpochIndex, SettledEpochs};

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
    pub type Bridge = pallet_bridge;
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

/// Holds the pause switch (and nothing else).
pub const GUARDIAN: AccountId = 99;
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const ETH_CHAIN: u64 = 31_337;
pub const CONTRACT: H160 = H160::repeat_byte(0xc0);
pub const EPOCH: u64 = 10;

parameter_types! {
    pub const ExistentialDeposit: Balance = 1;
    pub const BridgePalletId: PalletId = PalletId(*b"prv/brdg");
    pub const ProvenaChainId: u64 = 5_263_951;
    pub const EpochLength: u64 = EPOCH;
    pub const EpochRetention: u64 = 3;
    pub const MaxMessagesPerEpoch: u32 = 4;
    pub const MaxAttributionRootsPerEpoch: u32 = 2;
    pub const MaxMembers: u32 = 5;
    pub const MinTransfer: Balance = 10;
    pub const InboundWindow: u64 = 4;
    pub const RotationRetention: u32 = 2;
    pub const Guardian: AccountId = GUARDIAN;
}

std::thread_local! {
    /// Closed attribution epochs: (root, receipts) by index, `None` for one without receipts.
    pub static SETTLED: core::cell::RefCell<Vec<Option<(H256, u32)>>> = Default::default();
}

pub struct Settled;
impl SettledEpochs for Settled {
    fn settled_root(epoch: EpochIndex) -> Option<(H256, u32)> {
        SETTLED.with(|s| s.borrow().get(epoch as usize).copied().flatten())
    }
    fn first_open() -> EpochIndex {
        SETTLED.with(|s| s.borrow().len() as EpochIndex)
    }
}

impl pallet_bridge::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type PalletId = BridgePalletId;
    type AdminOrigin = EnsureRoot<AccountId>;
    type PauseOrigin = EnsureSignedBy<GuardianMembers, AccountId>;
    type SettledEpochs = Settled;
    type ProvenaChainId = ProvenaChainId;
    type EpochLength = EpochLength;
    type EpochRetention = EpochRetention;
    type MaxMessagesPerEpoch = MaxMessagesPerEpoch;
    type MaxAttributionRootsPerEpoch = MaxAttributionRootsPerEpoch;
    type MaxMembers = MaxMembers;
    type MinTransfer = MinTransfer;
    type InboundWindow = InboundWindow;
    type RotationRetention = RotationRetention;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Settled;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::benchmarking::BenchmarkHelper for Settled {
    fn settle_epochs(n: u32) {
        SETTLED
            .with(|s| *s.borrow_mut() = (0..n).map(|i| Some((H256::repeat_byte(1), i))).collect());
    }
}

/// A test externality with a keystore, for the benchmarks' committee keys.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> TestExternalities {
    use polkadot_sdk::sp_keystore::{testing::MemoryKeystore, KeystoreExt};
    let mut ext = new_test_ext();
    ext.register_extension(KeystoreExt(std::sync::Arc::new(MemoryKeystore::new())));
    ext
}

/// The pause switch's only holder.
pub struct GuardianMembers;
impl polkadot_sdk::frame_support::traits::SortedMembers<AccountId> for GuardianMembers {
    fn sorted_members() -> Vec<AccountId> {
        vec![Guardian::get()]
    }
}

/// Committee key `i` (test seeds).
pub fn key(i: u8) -> ecdsa::Pair {
    ecdsa::Pair::from_seed(&[i.saturating_add(1); 32])
}

/// The Ethereum address of `pair`.
pub fn address(pair: &ecdsa::Pair) -> H160 {
    let digest = keccak_256(b"address");
    crate::message::signer(&digest, &pair.sign_prehashed(&digest).0).unwrap()
}

/// `pair`'s signature over `digest`, as an Ethereum key signs.
pub fn sign(pair: &ecdsa::Pair, digest: &[u8; 32]) -> [u8; 65] {
    pair.sign_prehashed(digest).0
}

pub fn new_test_ext() -> TestExternalities {
    let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![(ALICE, 1_000_000), (BOB, 1_000_000), (GUARDIAN, 100)],
        ..Default::default()
    }
    .assimilate_storage(&mut t)
    .unwrap();
    let mut ext = TestExternalities::new(t);
    ext.execute_with(|| System::set_block_number(1));
    SETTLED.with(|s| s.borrow_mut().clear());
    ext
}

/// Runs `test` and then checks the pallet's invariants.
pub fn run(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        Bridge::do_try_state().expect("invariants hold after the test");
    });
}

/// Advances to block `n`, running the bridge's `on_initialize` at each block.
pub fn run_to(n: u64) {
    use polkadot_sdk::frame_support::traits::Hooks;
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        Bridge::on_initialize(next);
    }
}
