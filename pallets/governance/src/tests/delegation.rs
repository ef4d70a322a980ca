//! Delegation: OPEN delegated per class counts with the delegate's standard votes; power does
//! not move.

use super::*;
use crate::{Error, Event};
use polkadot_sdk::frame_support::{assert_noop, assert_ok};

#[test]
fn delegated_open_follows_the_delegates_votes_but_power_stays_with_its_owner() {
    ExtBuilder::default().build_and_execute(|| {
        // Given: 2 has power, 1 votes; 2 delegates 20 OPEN at ×1 to 1 in class 0.
        credit(2, 1_000);
        run_to(5);
        open_poll(0, 0);
        assert_ok!(Governance::vote(signed(1), 0, standard(true, Conviction::Locked1x, 10)));
        assert_ok!(Governance::delegate(signed(2), 0, 1, Conviction::Locked1x, 20));

        // Then: the tally has 1's 10 and 2's 20, and none of 2's power.
        let t = tally(0);
        assert_eq!((t.ayes, t.support), (30, 30));
        assert_eq!(voting_lock(2), 20);
        assert_eq!(
            governance_events().last(),
            Some(&Event::Delegated { who: 2, target: 1, class: 0 })
        );

        // When: 2 undelegates.
        assert_ok!(Governance::undelegate(signed(2), 0));
        let t = tally(0);
        assert_eq!((t.ayes, t.support), (10, 10));
        // The delegated OPEN stays locked for one lock period from now.
        assert_ok!(Governance::unlock(signed(2), 0, 2));
        assert_eq!(voting_lock(2), 20);
        run_to(5 + VoteLockingPeriod::get());
        assert_ok!(Governance::unlock(signed(2), 0, 2));
        assert_eq!(voting_lock(2), 0);
    });
}

#[test]
fn a_delegation_made_before_the_delegate_votes_counts_when_it_votes() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 1);
        assert_ok!(Governance::delegate(signed(3), 1, 4, Conviction::Locked2x, 30));
        assert_ok!(Governance::vote(signed(4), 0, standard(false, Conviction::None, 40)));
        assert_eq!(tally(0).nays, 4 + 60);
        assert_ok!(Governance::remove_vote(signed(4), None, 0));
        assert_eq!(tally(0).nays, 0);
    });
}

#[test]
fn delegation_refusals_change_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        assert_noop!(
            Governance::delegate(signed(1), 0, 1, Conviction::None, 1),
            Error::<Test>::Nonsense
        );
        assert_noop!(
            Governance::delegate(signed(1), 7, 2, Conviction::None, 1),
            Error::<Test>::BadClass
        );
        assert_noop!(
            Governance::delegate(signed(1), 0, 2, Conviction::None, 11),
            Error::<Test>::InsufficientFunds
        );
        assert_noop!(Governance::undelegate(signed(1), 0), Error::<Test>::NotDelegating);
        assert_ok!(Governance::vote(signed(1), 0, standard(true, Conviction::None, 1)));
        assert_noop!(
            Governance::delegate(signed(1), 0, 2, Conviction::None, 1),
            Error::<Test>::AlreadyVoting
        );
        assert_ok!(Governance::delegate(signed(3), 0, 2, Conviction::None, 1));
        assert_noop!(
            Governance::delegate(signed(3), 0, 4, Conviction::None, 1),
            Error::<Test>::AlreadyDelegating
        );
    });
}
