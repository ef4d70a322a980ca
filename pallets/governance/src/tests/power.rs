//! Contribution power: histories, snapshots, retention, the total and the electorate.

use super::*;
use crate::{Checkpoint, Electorate, Event, PowerHistory, TotalPowerHistory};
use polkadot_sdk::{frame_support::traits::VoteTally, sp_runtime::Perbill};

fn history(who: AccountId) -> Vec<(u64, Balance)> {
    PowerHistory::<Test>::get(who).iter().map(|c| (c.from, c.power)).collect()
}

#[test]
fn a_history_keeps_one_entry_per_period_with_a_change() {
    ExtBuilder::default().build_and_execute(|| {
        credit(1, 10);
        run_to(3);
        credit(1, 5);
        run_to(7);
        debit(1, 4);
        assert_eq!(history(1), vec![(0, 15), (5, 11)]);
        assert_eq!(governance_events().last(), Some(&Event::PowerChanged { who: 1, power: 11 }));
        // A snapshot reads the power before its period.
        assert_eq!(Governance::power_at(&1, 0), 0);
        assert_eq!(Governance::power_at(&1, 5), 15);
        assert_eq!(Governance::power_at(&1, 10), 11);
        assert_eq!(Governance::power(&1), 11);
    });
}

#[test]
fn a_debit_takes_at_most_the_power_there_is_and_an_empty_history_is_removed() {
    ExtBuilder::default().build_and_execute(|| {
        credit(2, 10);
        debit(2, 25);
        assert_eq!(Governance::power(&2), 0);
        // Credited and debited in the same period: nothing to remember.
        assert!(!PowerHistory::<Test>::contains_key(2));
        assert_eq!(Governance::total_power_at(100), 0);
        // A debit of an account without power records nothing.
        debit(3, 1);
        assert!(!PowerHistory::<Test>::contains_key(3));
    });
}

#[test]
fn old_entries_go_once_no_live_snapshot_can_read_them() {
    ExtBuilder::default().build_and_execute(|| {
        // Period 5 blocks, 4 periods retained, at most 6 entries.
        for period in 0..20u64 {
            run_to(period * 5 + 1);
            credit(4, 1);
            assert!(PowerHistory::<Test>::get(4).len() <= 6);
        }
        // At period start 95 every snapshot from 75 on still reads right.
        for (snapshot, power) in [(75, 15), (80, 16), (85, 17), (90, 18), (95, 19), (100, 20)] {
            assert_eq!(Governance::power_at(&4, snapshot), power);
        }
        assert_eq!(PowerHistory::<Test>::get(4)[0], Checkpoint { from: 70, power: 15 });
    });
}

#[test]
fn the_total_is_the_sum_of_everyones_power() {
    ExtBuilder::default().build_and_execute(|| {
        credit(1, 10);
        credit(2, 20);
        run_to(5);
        debit(1, 3);
        assert_eq!(Governance::total_power_at(5), 30);
        assert_eq!(Governance::total_power_at(10), 27);
        assert_eq!(TotalPowerHistory::<Test>::get().len(), 2);
    });
}

#[test]
fn support_is_measured_against_issuance_plus_the_total_power_at_the_snapshot() {
    ExtBuilder::default().build_and_execute(|| {
        // Issuance: 10 + 20 + ... + 100 + 1,000 = 1,550.
        credit(100, 450);
        run_to(5);
        open_poll(0, 0);
        credit(1, 10_000);
        assert_eq!(<Governance as Electorate<u64>>::electorate(5), 2_000);
        assert_ok!(Governance::vote(signed(100), 0, standard(true, Conviction::Locked1x, 550)));
        let t = tally(0);
        assert_eq!(t.support, 1_000);
        assert_eq!(VoteTally::<Balance, u8>::support(&t, 0), Perbill::from_percent(50));
        assert_eq!(VoteTally::<Balance, u8>::approval(&t, 0), Perbill::from_percent(100));
    });
}

#[test]
fn the_timescale_divides_durations_down_to_one_block() {
    let mut ext = ExtBuilder::default().timescale(600).build();
    ext.execute_with(|| {
        assert_eq!(Governance::scaled(14_400), 24);
        assert_eq!(Governance::scaled(100), 1);
    });
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(Governance::scaled(14_400), 14_400);
    });
}

use polkadot_sdk::frame_support::assert_ok;

#[test]
fn removing_a_vote_takes_out_exactly_the_power_it_added_even_after_pruning() {
    ExtBuilder::default().build_and_execute(|| {
        credit(5, 40);
        run_to(5);
        open_poll(0, 0);
        assert_ok!(Governance::vote(signed(5), 0, standard(true, Conviction::None, 0)));
        assert_eq!(tally(0).ayes, 40);
        // Far past the retention, with changes that prune the history.
        for block in [30, 60, 90] {
            run_to(block);
            credit(5, 1);
        }
        assert_eq!(Governance::power_at(&5, 5), 0);
        assert_ok!(Governance::remove_vote(signed(5), None, 0));
        assert_eq!((tally(0).ayes, tally(0).support), (0, 0));
        assert!(crate::VotePower::<Test>::iter().next().is_none());
    });
}
