//! Property tests: slashes are proportional, never take more than is bonded and reach
//! unbonding stake; the reward accumulator pays each member its share.

use super::*;
use proptest::prelude::*;

const DELEGATORS: [AccountId; 3] = [ALICE, BOB, CHARLIE];

/// What `who`'s unbonding chunks in `AGENT` are worth.
fn unbonding_of(who: AccountId) -> Balance {
    Members::<Test>::get(AGENT, who)
        .map(|m| {
            m.unlocking
                .iter()
                .map(|(era, points)| {
                    let pool = Unbonding::<Test>::get(AGENT, era).unwrap();
                    AgentsPallet::value_of(&pool, *points)
                })
                .sum()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// One or two slashes (in different eras) take the same part of every member's active and
    /// unbonding stake, within a base unit or two of rounding per slash; the slash destination
    /// gains exactly what the pools lost, which is never more than was bonded.
    #[test]
    fn slashes_are_proportional_bounded_and_reach_unbonding_stake(
        own in 1_000u128..200_000,
        delegations in prop::collection::vec((100u128..200_000, any::<bool>()), 1..=3),
        first in 1u32..=30,
        second in prop::option::of(1u32..=30),
    ) {
        ExtBuilder.build_and_execute(|| {
            register(own);
            for (who, (amount, unbond)) in DELEGATORS.iter().zip(&delegations) {
                delegate(*who, *amount);
                if *unbond {
                    assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(*who), AGENT, *amount));
                }
            }
            let members: Vec<AccountId> =
                core::iter::once(AGENT).chain(DELEGATORS.into_iter().take(delegations.len())).collect();
            let before: Vec<(Balance, Balance)> =
                members.iter().map(|m| (stake_of(AGENT, *m), unbonding_of(*m))).collect();
            let pallet = AgentsPallet::account_id();
            let held_before = held(pallet, HoldReason::Staked);
            let treasury = Balances::free_balance(TREASURY);

            assert_ok!(AgentsPallet::slash(RuntimeOrigin::root(), AGENT, Perbill::from_percent(first)));
            if let Some(second) = second {
                run_to_era(1);
                assert_ok!(AgentsPallet::slash(RuntimeOrigin::root(), AGENT, Perbill::from_percent(second)));
            }
            run_to_era(3);
            assert_ok!(AgentsPallet::apply_slashes(RuntimeOrigin::signed(EVE), AGENT));
            assert!(agent_of(AGENT).pending_slashes.is_empty());

            let held_after = held(pallet, HoldReason::Staked);
            let taken = Balances::free_balance(TREASURY) - treasury;
            assert_eq!(taken, held_before - held_after);
            assert!(taken <= held_before);
            // The combined part: 1 − (1 − a)(1 − b), in hundredths of a percent.
            let keep = u128::from(100 - first) * u128::from(100 - second.unwrap_or(0));
            let slashes = 1 + u128::from(second.is_some());
            for (m, (active, unbonding)) in members.iter().zip(before) {
                for (now, was) in [(stake_of(AGENT, *m), active), (unbonding_of(*m), unbonding)] {
                    let exact = was * keep;
                    let err = (now * 10_000).abs_diff(exact).div_ceil(10_000);
                    assert!(err <= 2 * slashes, "member {}: {} of {} (keep {}/10000)", m, now, was, keep);
                }
            }
        });
    }

    /// Over several rewards, each member is paid its exact share of what was shared
    /// (rewards less the commission) to within one base unit, never more; the total paid
    /// never exceeds what was shared.
    #[test]
    fn the_accumulator_pays_each_member_its_share(
        own in 1_000u128..100_000,
        delegations in prop::collection::vec(100u128..100_000, 0..=3),
        rewards in prop::collection::vec(1u128..100_000, 1..=6),
    ) {
        ExtBuilder.build_and_execute(|| {
            register(own);
            for (who, amount) in DELEGATORS.iter().zip(&delegations) {
                delegate(*who, *amount);
            }
            let stakes: Vec<(AccountId, Balance)> = core::iter::once((AGENT, own))
                .chain(DELEGATORS.into_iter().zip(delegations.iter().copied()))
                .collect();
            let total: Balance = stakes.iter().map(|(_, s)| s).sum();
            let mut shared: Balance = 0;
            for r in &rewards {
                reward(*r);
                shared += r - Perbill::from_percent(10).mul_floor(*r);
            }
            let mut paid_total = 0;
            for (who, stake) in &stakes {
                let before = Balances::free_balance(who);
                assert_ok!(AgentsPallet::claim_rewards(RuntimeOrigin::signed(*who), AGENT));
                let paid = Balances::free_balance(who) - before;
                let exact_floor = shared * stake / total;
                assert!(paid <= exact_floor, "{}: paid {} > {}", who, paid, exact_floor);
                assert!(exact_floor - paid <= 1, "{}: paid {} of {}", who, paid, exact_floor);
                paid_total += paid;
            }
            assert!(paid_total <= shared);
            assert!(shared - paid_total <= stakes.len() as u128);
        });
    }
}
