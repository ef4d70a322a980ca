//! Locks: what a vote locks, and that it is released only after the vote and its lock period.

use super::*;
use crate::Error;
use polkadot_sdk::{
    frame_support::{assert_noop, assert_ok, traits::fungible::Mutate},
    sp_runtime::TokenError,
};

#[test]
fn a_winning_vote_with_conviction_stays_locked_for_its_lock_periods_after_the_end() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        // ×2 conviction: two lock periods.
        assert_ok!(Governance::vote(signed(5), 0, standard(true, Conviction::Locked2x, 40)));
        run_to(8);
        end_poll(0, true);

        // Nobody else may remove it while it is locked; its owner may, recording the lock.
        assert_noop!(
            Governance::remove_other_vote(signed(1), 5, 0, 0),
            Error::<Test>::NoPermissionYet
        );
        assert_ok!(Governance::remove_vote(signed(5), Some(0), 0));
        let until = 8 + 2 * VoteLockingPeriod::get();
        run_to(until - 1);
        assert_ok!(Governance::unlock(signed(5), 0, 5));
        assert_eq!(voting_lock(5), 40);
        assert_noop!(
            <Balances as Mutate<AccountId>>::transfer(
                &5,
                &1,
                20,
                polkadot_sdk::frame_support::traits::tokens::Preservation::Expendable
            ),
            TokenError::Frozen
        );
        run_to(until);
        assert_ok!(Governance::unlock(signed(5), 0, 5));
        assert_eq!(voting_lock(5), 0);
    });
}

#[test]
fn a_losing_vote_or_one_without_conviction_unlocks_when_the_referendum_ends() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        open_poll(1, 1);
        assert_ok!(Governance::vote(signed(6), 0, standard(false, Conviction::Locked6x, 60)));
        assert_ok!(Governance::vote(signed(7), 1, standard(true, Conviction::None, 70)));
        end_poll(0, true);
        end_poll(1, true);
        // Anyone may clear votes whose lock has expired.
        assert_ok!(Governance::remove_other_vote(signed(1), 6, 0, 0));
        assert_ok!(Governance::remove_other_vote(signed(1), 7, 1, 1));
        assert_ok!(Governance::unlock(signed(1), 0, 6));
        assert_ok!(Governance::unlock(signed(1), 1, 7));
        assert_eq!((voting_lock(6), voting_lock(7)), (0, 0));
    });
}

#[test]
fn the_lock_is_the_largest_any_class_needs() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        open_poll(1, 1);
        assert_ok!(Governance::vote(signed(8), 0, standard(true, Conviction::None, 30)));
        assert_ok!(Governance::vote(signed(8), 1, standard(true, Conviction::None, 80)));
        assert_eq!(voting_lock(8), 80);
        assert_ok!(Governance::remove_vote(signed(8), None, 1));
        assert_ok!(Governance::unlock(signed(8), 1, 8));
        assert_eq!(voting_lock(8), 30);
    });
}

#[test]
fn the_same_tokens_cannot_vote_twice_in_one_referendum() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        assert_ok!(Governance::vote(signed(10), 0, standard(true, Conviction::Locked1x, 100)));
        // The voted OPEN cannot move to another account while the vote stands.
        assert_noop!(
            <Balances as Mutate<AccountId>>::transfer(
                &10,
                &9,
                50,
                polkadot_sdk::frame_support::traits::tokens::Preservation::Expendable
            ),
            TokenError::Frozen
        );
        // Moving it means taking the vote out of the tally first.
        assert_ok!(Governance::remove_vote(signed(10), None, 0));
        assert_ok!(Governance::unlock(signed(10), 0, 10));
        assert_ok!(<Balances as Mutate<AccountId>>::transfer(
            &10,
            &9,
            100,
            polkadot_sdk::frame_support::traits::tokens::Preservation::Expendable
        ));
        assert_ok!(Governance::vote(signed(9), 0, standard(true, Conviction::Locked1x, 190)));
        let t = tally(0);
        // Only 9's vote counts: the 100 OPEN it received are counted once.
        assert_eq!((t.ayes, t.support), (190, 190));
    });
}
