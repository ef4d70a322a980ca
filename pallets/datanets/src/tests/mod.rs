//! Unit tests, one file per topic. Every test runs in `ExtBuilder::build_and_execute`, which
//! checks the pallet's invariants afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod access;
mod commit;
mod contributions;
mod datanets;
mod lifecycle;
mod review;
mod snapshots;

use crate::{mock::*, *};
use polkadot_sdk::{
    frame_support::{assert_ok, traits::fungible::InspectHold},
    sp_core::H256,
};

/// A content hash derived from a small number.
pub fn hash(n: u8) -> H256 {
    H256::repeat_byte(n)
}

/// `OWNER` creates a public datanet with stake 10 and max 1,000 bytes; returns its id.
pub fn create_public() -> DatanetId {
    create(Visibility::Public)
}

/// `OWNER` creates a datanet with the given visibility; returns its id.
pub fn create(visibility: Visibility) -> DatanetId {
    let id = NextDatanetId::<Test>::get();
    assert_ok!(DatanetsPallet::create_datanet(
        RuntimeOrigin::signed(OWNER),
        b"Solidity".to_vec(),
        b"ipfs://desc".to_vec(),
        b"solidity".to_vec(),
        b"MIT".to_vec(),
        visibility,
        10,
        1_000,
    ));
    id
}

/// `who` contributes `hash(n)` of 100 bytes; returns its id.
pub fn contribute(who: AccountId, datanet: DatanetId, n: u8) -> ContributionId {
    let id = NextContributionId::<Test>::get();
    assert_ok!(DatanetsPallet::contribute(
        RuntimeOrigin::signed(who),
        datanet,
        hash(n),
        100,
        25,
        b"ipfs://meta".to_vec(),
        Vec::new(),
        u128::MAX,
    ));
    id
}

/// `OWNER` accepts a contribution with quality 80.
pub fn accept(id: ContributionId) {
    assert_ok!(DatanetsPallet::review(
        RuntimeOrigin::signed(OWNER),
        id,
        Verdict::Accept { quality: 80 }
    ));
}

/// The contribution stake held from `who`.
pub fn stake_held(who: AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::ContributionStake.into(), &who)
}

/// The storage deposits held from `who`.
pub fn storage_deposit(who: AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::StorageDeposit.into(), &who)
}
