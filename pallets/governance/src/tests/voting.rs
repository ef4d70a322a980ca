//! Voting: what a vote adds to a tally, snapshots, replacing and removing votes, refusals.

use super::*;
use crate::{Error, Event};
use polkadot_sdk::frame_support::{assert_noop, assert_ok};

#[test]
fn a_standard_vote_counts_conviction_weighted_open_plus_power_at_the_snapshot() {
    ExtBuilder::default().build_and_execute(|| {
        // Given: account 1 earned 50 power in period [0, 5); a referendum opens at block 6
        // (snapshot 5).
        credit(1, 50);
        run_to(6);
        open_poll(0, 0);
        assert_eq!(tally(0).snapshot, 5);

        // When: 1 votes aye with 10 OPEN at ×2.
        assert_ok!(Governance::vote(signed(1), 0, standard(true, Conviction::Locked2x, 10)));

        // Then: ayes = 2·10 + 50, support = 10 + 50.
        let t = tally(0);
        assert_eq!((t.ayes, t.nays, t.support), (70, 0, 60));
        assert_eq!(voting_lock(1), 10);
        assert_eq!(
            governance_events().last(),
            Some(&Event::Voted {
                who: 1,
                poll_index: 0,
                vote: standard(true, Conviction::Locked2x, 10),
                power: 50
            })
        );
    });
}

#[test]
fn power_gained_in_the_snapshot_period_or_during_the_vote_counts_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        credit(2, 30);
        run_to(5);
        // Same period as the referendum's submission, before it: after the snapshot.
        credit(2, 100);
        run_to(7);
        open_poll(0, 0);
        run_to(12);
        // During the vote.
        credit(2, 1_000);
        assert_ok!(Governance::vote(signed(2), 0, standard(false, Conviction::None, 20)));
        let t = tally(0);
        // nays = 20 / 10 + 30; a nay adds no support.
        assert_eq!((t.ayes, t.nays, t.support), (0, 32, 0));
        assert_eq!(Governance::power(&2), 1_130);
    });
}

#[test]
fn a_member_with_no_open_votes_with_power_alone() {
    ExtBuilder::default().build_and_execute(|| {
        credit(11, 500);
        run_to(5);
        open_poll(0, 1);
        assert_ok!(Governance::vote(signed(11), 0, standard(true, Conviction::None, 0)));
        let t = tally(0);
        assert_eq!((t.ayes, t.support), (500, 500));
        assert_eq!(voting_lock(11), 0);
    });
}

#[test]
fn split_and_abstain_votes_carry_open_only() {
    ExtBuilder::default().build_and_execute(|| {
        credit(3, 40);
        credit(4, 40);
        run_to(5);
        open_poll(0, 0);
        assert_ok!(Governance::vote(signed(3), 0, AccountVote::Split { aye: 20, nay: 10 }));
        assert_ok!(Governance::vote(
            signed(4),
            0,
            AccountVote::SplitAbstain { aye: 10, nay: 10, abstain: 20 }
        ));
        let t = tally(0);
        // Split votes count ×0.1, their aye and abstain OPEN is support.
        assert_eq!((t.ayes, t.nays, t.support), (3, 2, 50));
    });
}

#[test]
fn changing_a_vote_replaces_it() {
    ExtBuilder::default().build_and_execute(|| {
        credit(5, 7);
        run_to(5);
        open_poll(0, 0);
        assert_ok!(Governance::vote(signed(5), 0, standard(true, Conviction::Locked1x, 50)));
        assert_ok!(Governance::vote(signed(5), 0, standard(false, Conviction::Locked3x, 20)));
        let t = tally(0);
        assert_eq!((t.ayes, t.nays, t.support), (0, 67, 0));
        // The lock stays at the largest amount any vote used until `unlock`.
        assert_eq!(voting_lock(5), 50);
    });
}

#[test]
fn removing_a_vote_from_an_ongoing_referendum_takes_it_out_of_the_tally() {
    ExtBuilder::default().build_and_execute(|| {
        credit(6, 9);
        run_to(5);
        open_poll(0, 0);
        credit(6, 1_000);
        assert_ok!(Governance::vote(signed(6), 0, standard(true, Conviction::Locked1x, 60)));
        assert_ok!(Governance::remove_vote(signed(6), None, 0));
        let t = tally(0);
        assert_eq!((t.ayes, t.nays, t.support), (0, 0, 0));
        assert_ok!(Governance::unlock(signed(6), 0, 6));
        assert_eq!(voting_lock(6), 0);
        assert!(crate::ClassLocksFor::<Test>::get(6).is_empty());
        assert!(!crate::VotingFor::<Test>::contains_key(6, 0));
    });
}

#[test]
fn votes_on_a_cancelled_referendum_are_removed_without_a_lock() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 2);
        assert_ok!(Governance::vote(signed(7), 0, standard(true, Conviction::Locked6x, 70)));
        cancel_poll(0);
        assert_ok!(Governance::remove_vote(signed(7), Some(2), 0));
        assert_ok!(Governance::unlock(signed(1), 2, 7));
        assert_eq!(voting_lock(7), 0);
    });
}

#[test]
fn refusals_change_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        open_poll(0, 0);
        open_poll(1, 0);
        open_poll(2, 0);
        open_poll(3, 0);
        open_poll(4, 1);
        assert_noop!(
            Governance::vote(signed(1), 0, standard(true, Conviction::None, 11)),
            Error::<Test>::InsufficientFunds
        );
        assert_noop!(
            Governance::vote(signed(1), 9, standard(true, Conviction::None, 1)),
            Error::<Test>::NotOngoing
        );
        for i in 0..3 {
            assert_ok!(Governance::vote(signed(1), i, standard(true, Conviction::None, 1)));
        }
        assert_noop!(
            Governance::vote(signed(1), 3, standard(true, Conviction::None, 1)),
            Error::<Test>::MaxVotesReached
        );
        assert_noop!(Governance::remove_vote(signed(2), None, 0), Error::<Test>::NotVoter);
        assert_noop!(Governance::remove_vote(signed(2), None, 9), Error::<Test>::ClassNeeded);
        assert_noop!(
            Governance::remove_other_vote(signed(2), 1, 0, 0),
            Error::<Test>::NoPermission
        );
        assert_noop!(Governance::unlock(signed(2), 1, 3), Error::<Test>::NothingToUnlock);
        end_poll(0, true);
        assert_noop!(
            Governance::vote(signed(2), 0, standard(true, Conviction::None, 1)),
            Error::<Test>::NotOngoing
        );
        // A delegator cannot vote in the class it delegates.
        assert_ok!(Governance::delegate(signed(2), 1, 3, Conviction::None, 5));
        assert_noop!(
            Governance::vote(signed(2), 4, standard(true, Conviction::None, 1)),
            Error::<Test>::AlreadyDelegating
        );
    });
}
