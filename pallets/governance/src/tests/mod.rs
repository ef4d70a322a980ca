//! Unit tests, one file per topic. Every test runs in `ExtBuilder::build_and_execute`, which
//! checks the pallet's invariants afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod delegation;
mod locks;
mod power;
mod properties;
mod voting;

use crate::{mock::*, AccountVote, Conviction, Vote};

/// A standard vote.
fn standard(aye: bool, conviction: Conviction, balance: Balance) -> AccountVote<Balance> {
    AccountVote::Standard { vote: Vote { aye, conviction }, balance }
}

/// Adds `amount` of contribution power to `who`.
fn credit(who: AccountId, amount: Balance) {
    Governance::add_power(&who, amount);
}

/// Takes up to `amount` of contribution power from `who`.
fn debit(who: AccountId, amount: Balance) {
    Governance::remove_power(&who, amount);
}

/// The signed origin of `who`.
fn signed(who: AccountId) -> RuntimeOrigin {
    RuntimeOrigin::signed(who)
}

/// The `pyconvot` lock on `who`, if any.
fn voting_lock(who: AccountId) -> Balance {
    pallet_balances::Locks::<Test>::get(who)
        .iter()
        .find(|l| l.id == crate::VOTING_LOCK_ID)
        .map_or(0, |l| l.amount)
}

use polkadot_sdk::pallet_balances;
