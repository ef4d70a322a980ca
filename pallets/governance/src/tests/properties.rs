//! Properties over random inputs: splitting an account never raises its power, a referendum
//! reads power as of its snapshot whatever happens later, and locks end exactly when documented.

use super::*;
use proptest::prelude::*;

const CONVICTIONS: [Conviction; 7] = [
    Conviction::None,
    Conviction::Locked1x,
    Conviction::Locked2x,
    Conviction::Locked3x,
    Conviction::Locked4x,
    Conviction::Locked5x,
    Conviction::Locked6x,
];

/// Funds `who` with `amount` (on top of the existential deposit).
fn fund(who: AccountId, amount: Balance) {
    use polkadot_sdk::frame_support::traits::fungible::Mutate;
    <Balances as Mutate<AccountId>>::mint_into(&who, amount + 1).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// One member's OPEN and contribution actions, voted from one account or split over many
    /// (each action performed by some account), never give the split accounts more ayes or
    /// support than the single account.
    #[test]
    fn splitting_an_account_never_raises_its_votes(
        balance in 0u128..1_000_000_000,
        actions in prop::collection::vec(0u128..1_000_000, 0..12),
        conviction in 0usize..7,
        parts in prop::collection::vec(1u128..1_000, 1..8),
        owners in prop::collection::vec(0usize..8, 12),
    ) {
        let conviction = CONVICTIONS[conviction];
        let single = {
            let mut t = None;
            ExtBuilder::default().build_and_execute(|| {
                fund(1_000, balance);
                for a in &actions { credit(1_000, *a); }
                run_to(5);
                open_poll(0, 0);
                assert_ok!(Governance::vote(signed(1_000), 0, standard(true, conviction, balance)));
                t = Some(tally(0));
            });
            t.unwrap()
        };
        let split = {
            let mut t = None;
            ExtBuilder::default().build_and_execute(|| {
                // Divide the balance in proportion to `parts`, the remainder to the first.
                let n = parts.len();
                let sum: u128 = parts.iter().sum();
                let mut shares: Vec<u128> = parts.iter().map(|p| balance * p / sum).collect();
                shares[0] += balance - shares.iter().sum::<u128>();
                for (i, s) in shares.iter().enumerate() { fund(2_000 + i as u64, *s); }
                for (a, owner) in actions.iter().zip(&owners) {
                    credit(2_000 + (owner % n) as u64, *a);
                }
                run_to(5);
                open_poll(0, 0);
                for (i, s) in shares.iter().enumerate() {
                    assert_ok!(Governance::vote(
                        signed(2_000 + i as u64), 0, standard(true, conviction, *s)
                    ));
                }
                t = Some(tally(0));
            });
            t.unwrap()
        };
        prop_assert!(split.ayes <= single.ayes);
        prop_assert_eq!(split.support, single.support);
    }

    /// Whatever power changes happen after a referendum's snapshot, a vote counts the power
    /// the voter had before the snapshot's period, for as long as the referendum can live
    /// (the mock keeps 4 periods of 5 blocks: votes come within 20 blocks of the snapshot).
    #[test]
    fn a_vote_counts_the_power_at_the_snapshot(
        before in prop::collection::vec((1u64..40, 0u128..1_000, any::<bool>()), 0..10),
        open_at in 41u64..60,
        after in prop::collection::vec((0u64..20, 0u128..1_000, any::<bool>()), 0..10),
    ) {
        let mut counted = None;
        let mut expected = 0u128;
        ExtBuilder::default().build_and_execute(|| {
            let mut before = before.clone();
            before.sort_by_key(|c| c.0);
            let snapshot = open_at - open_at % PowerPeriod::get();
            for (at, amount, up) in &before {
                run_to(*at);
                if *up { credit(3, *amount) } else { debit(3, *amount) }
                // The model: changes in blocks before the snapshot's period count.
                if *at < snapshot {
                    expected = if *up { expected + amount } else { expected.saturating_sub(*amount) };
                }
            }
            run_to(open_at);
            open_poll(0, 0);
            let mut after = after.clone();
            after.sort_by_key(|c| c.0);
            for (at, amount, up) in &after {
                run_to(open_at.max(open_at - open_at % PowerPeriod::get() + at));
                if *up { credit(3, *amount) } else { debit(3, *amount) }
            }
            assert_ok!(Governance::vote(signed(3), 0, standard(false, Conviction::Locked1x, 0)));
            counted = Some(tally(0).nays);
        });
        prop_assert_eq!(counted, Some(expected));
    }

    /// A winning vote's lock ends exactly `lock periods × VoteLockingPeriod` after the
    /// referendum's end; a losing vote's or one without conviction at the end.
    #[test]
    fn locks_end_exactly_as_documented(
        conviction in 0usize..7,
        aye in any::<bool>(),
        approved in any::<bool>(),
        amount in 1u128..90,
        end in 2u64..50,
    ) {
        let mut seen = (0, 0);
        let conviction = CONVICTIONS[conviction];
        let periods = if aye == approved { conviction.lock_periods() } else { 0 };
        let until = end + VoteLockingPeriod::get() * periods as u64;
        ExtBuilder::default().build_and_execute(|| {
            open_poll(0, 0);
            assert_ok!(Governance::vote(signed(9), 0, standard(aye, conviction, amount)));
            run_to(end);
            end_poll(0, approved);
            assert_ok!(Governance::remove_vote(signed(9), Some(0), 0));
            if until > end {
                run_to(until - 1);
                assert_ok!(Governance::unlock(signed(9), 0, 9));
                seen.0 = voting_lock(9);
            } else {
                seen.0 = amount;
            }
            run_to(until);
            assert_ok!(Governance::unlock(signed(9), 0, 9));
            seen.1 = voting_lock(9);
        });
        prop_assert_eq!(seen, (amount, 0));
    }
}

use polkadot_sdk::frame_support::assert_ok;
