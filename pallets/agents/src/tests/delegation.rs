//! Delegating, undelegating and withdrawing.

use super::*;

#[test]
fn delegate_undelegate_and_withdraw() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        assert_noop!(
            AgentsPallet::delegate(RuntimeOrigin::signed(ALICE), AGENT, 99),
            Error::<Test>::DelegationTooLow
        );
        delegate(ALICE, 500);
        assert_eq!(agent_of(AGENT).delegators, 1);
        assert_eq!(stake_of(AGENT, ALICE), 500);
        assert_eq!(Balances::free_balance(ALICE), INITIAL - 500);
        // A top-up of any size once the delegation is above the minimum.
        delegate(ALICE, 1);
        let undelegate =
            |amount| AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, amount);
        assert_noop!(undelegate(402), Error::<Test>::DelegationTooLow);
        assert_ok!(undelegate(200));
        assert_eq!(stake_of(AGENT, ALICE), 301);
        assert_eq!(Unbonding::<Test>::get(AGENT, 3), Some(Pool { value: 200, points: 200 }));
        let withdraw = || AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(BOB), AGENT, ALICE);
        assert_noop!(withdraw(), Error::<Test>::NothingToWithdraw);
        run_to_era(1);
        assert_ok!(undelegate(u128::MAX));
        run_to_era(3);
        // Anyone withdraws for ALICE, to ALICE: the era-3 chunk only.
        assert_ok!(withdraw());
        assert_eq!(Balances::free_balance(ALICE), INITIAL - 301);
        assert_eq!(agent_of(AGENT).delegators, 1, "still unbonding");
        run_to_era(4);
        assert_ok!(withdraw());
        assert_eq!(Balances::free_balance(ALICE), INITIAL);
        assert!(!Members::<Test>::contains_key(AGENT, ALICE));
        assert_eq!(agent_of(AGENT).delegators, 0);
        assert_eq!(agent_of(AGENT).unbonding_pools, 0);
        assert_eq!(
            agent_events().last(),
            Some(&Event::Withdrawn { agent: AGENT, member: ALICE, amount: 301 })
        );
    });
}

#[test]
fn delegation_refusals_change_nothing() {
    ExtBuilder.build_and_execute(|| {
        let delegate_to =
            |who, agent, amount| AgentsPallet::delegate(RuntimeOrigin::signed(who), agent, amount);
        assert_noop!(delegate_to(ALICE, AGENT, 500), Error::<Test>::NotAgent);
        register(1_000);
        assert_noop!(delegate_to(AGENT, AGENT, 500), Error::<Test>::AlreadyAgent);
        assert_noop!(delegate_to(ALICE, AGENT, 0), Error::<Test>::ZeroAmount);
        assert_noop!(
            AgentsPallet::undelegate(RuntimeOrigin::signed(AGENT), AGENT, 5),
            Error::<Test>::NotMember
        );
        assert_noop!(
            AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, 5),
            Error::<Test>::NotMember
        );
        assert_noop!(
            AgentsPallet::claim_rewards(RuntimeOrigin::signed(ALICE), AGENT),
            Error::<Test>::NotMember
        );
        for who in [ALICE, BOB, CHARLIE, DAVE] {
            delegate(who, 100);
        }
        assert_noop!(delegate_to(EVE, AGENT, 100), Error::<Test>::TooManyDelegators);
        // A member adds to its delegation at the limit.
        delegate(DAVE, 100);
        assert_noop!(
            AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, 0),
            Error::<Test>::ZeroAmount
        );
    });
}

#[test]
fn unlocking_chunks_and_unbonding_pools_are_bounded_and_freed_by_anyone() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        for who in [ALICE, BOB, CHARLIE] {
            delegate(who, 1_000);
        }
        let undelegate = |who| AgentsPallet::undelegate(RuntimeOrigin::signed(who), AGENT, 100);
        for era in 0..3 {
            run_to_era(era);
            assert_ok!(undelegate(ALICE));
        }
        run_to_era(3);
        assert_noop!(undelegate(ALICE), Error::<Test>::TooManyUnlockingChunks);
        for era in 3..5 {
            run_to_era(era);
            assert_ok!(undelegate(BOB));
        }
        run_to_era(5);
        assert_eq!(agent_of(AGENT).unbonding_pools, 5);
        assert_noop!(undelegate(CHARLIE), Error::<Test>::TooManyUnbondingPools);
        // CHARLIE clears ALICE's unlocked chunks (eras 3, 4 and 5) for her.
        assert_ok!(AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(CHARLIE), AGENT, ALICE));
        assert_eq!(Balances::free_balance(ALICE), INITIAL - 700);
        assert_ok!(undelegate(CHARLIE));
    });
}
