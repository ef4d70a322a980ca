//! Slashes: governance's (capped, cancellable), thresholds on reported work, deferral,
//! proportional application to active and unbonding stake.

use super::*;
use polkadot_sdk::sp_runtime::DispatchError;
use provena_primitives::agents::Work;

fn slash(pct: u32) -> DispatchResult {
    AgentsPallet::slash(RuntimeOrigin::root(), AGENT, Perbill::from_percent(pct))
}

fn apply() {
    assert_ok!(AgentsPallet::apply_slashes(RuntimeOrigin::signed(EVE), AGENT));
}

#[test]
fn a_governance_slash_waits_its_deferral_and_can_be_cancelled() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        assert_noop!(
            AgentsPallet::slash(RuntimeOrigin::signed(ALICE), AGENT, Perbill::from_percent(5)),
            DispatchError::BadOrigin
        );
        assert_noop!(slash(0), Error::<Test>::ZeroSlash);
        assert_noop!(
            AgentsPallet::slash(RuntimeOrigin::root(), BOB, Perbill::from_percent(5)),
            Error::<Test>::NotAgent
        );
        assert_ok!(slash(10));
        let a = agent_of(AGENT);
        assert_eq!(a.status, AgentStatus::Chilled { since: 0, fault: true });
        assert_eq!(
            a.pending_slashes.to_vec(),
            vec![PendingSlash {
                id: 0,
                fraction: Perbill::from_percent(10),
                era: 0,
                apply_at: 2,
                reason: SlashReason::Governance
            }]
        );
        // Nobody joins a chilled agent; nothing is withdrawn while it is pending.
        assert_noop!(
            AgentsPallet::delegate(RuntimeOrigin::signed(BOB), AGENT, 500),
            Error::<Test>::NotActive
        );
        assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, 1_000));
        run_to_era(1);
        assert_noop!(
            AgentsPallet::activate(RuntimeOrigin::signed(AGENT)),
            Error::<Test>::SlashPending
        );
        let cancel = |who, id| AgentsPallet::cancel_slash(RuntimeOrigin::signed(who), AGENT, id);
        assert_noop!(cancel(ALICE, 0), DispatchError::BadOrigin);
        assert_noop!(cancel(GOVERNANCE, 1), Error::<Test>::SlashNotFound);
        assert_ok!(cancel(GOVERNANCE, 0));
        assert_eq!(agent_events().last(), Some(&Event::SlashCancelled { agent: AGENT, id: 0 }));
        assert_ok!(AgentsPallet::activate(RuntimeOrigin::signed(AGENT)));
        run_to_era(3);
        assert_ok!(AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(ALICE), AGENT, ALICE));
        assert_eq!(Balances::free_balance(ALICE), INITIAL, "the cancelled slash took nothing");
    });
}

#[test]
fn a_slash_takes_the_same_part_of_active_and_unbonding_stake() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        delegate(BOB, 1_000);
        // Bob unbonds just before the offence: he is slashed all the same.
        assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(BOB), AGENT, 1_000));
        assert_ok!(slash(20));
        run_to_era(1);
        let withdraw =
            |who| AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(who), AGENT, who);
        assert_noop!(withdraw(BOB), Error::<Test>::SlashPending);
        let treasury = Balances::free_balance(TREASURY);
        run_to_era(2);
        apply();
        assert_eq!(Balances::free_balance(TREASURY), treasury + 600);
        assert_eq!(
            agent_events().last(),
            Some(&Event::Slashed { agent: AGENT, id: 0, amount: 600 })
        );
        assert_eq!(stake_of(AGENT, AGENT), 800);
        assert_eq!(stake_of(AGENT, ALICE), 800);
        assert_eq!(Unbonding::<Test>::get(AGENT, 3), Some(Pool { value: 800, points: 1_000 }));
        assert!(agent_of(AGENT).pending_slashes.is_empty());
        // Applied: the agent may activate again once its own bond is back to the minimum.
        assert_noop!(
            AgentsPallet::activate(RuntimeOrigin::signed(AGENT)),
            Error::<Test>::BondTooLow
        );
        assert_ok!(AgentsPallet::bond_more(RuntimeOrigin::signed(AGENT), 200));
        assert_ok!(AgentsPallet::activate(RuntimeOrigin::signed(AGENT)));
        run_to_era(3);
        assert_ok!(withdraw(BOB));
        assert_eq!(Balances::free_balance(BOB), INITIAL - 200);
        // New stake joins at the slashed price: 1,800 of value for 2,250 points.
        delegate(CHARLIE, 400);
        assert_eq!(stake_of(AGENT, CHARLIE), 400);
        assert_eq!(Members::<Test>::get(AGENT, CHARLIE).unwrap().points, 500);
    });
}

#[test]
fn a_due_slash_cannot_be_cancelled_and_every_stake_call_applies_it() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        assert_ok!(slash(10));
        run_to_era(2);
        assert_noop!(
            AgentsPallet::cancel_slash(RuntimeOrigin::signed(GOVERNANCE), AGENT, 0),
            Error::<Test>::SlashDue
        );
        // Alice's undelegation applies it first: she unbonds what is left.
        assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, u128::MAX));
        assert_eq!(Unbonding::<Test>::get(AGENT, 5), Some(Pool { value: 900, points: 900 }));
    });
}

#[test]
fn governance_slashes_are_capped_per_era() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        assert_ok!(slash(20));
        assert_noop!(slash(11), Error::<Test>::GovernanceSlashCapReached);
        assert_ok!(slash(10));
        run_to_era(1);
        assert_ok!(slash(30));
        // Three pending at most.
        run_to_era(2);
        apply();
        assert_eq!(agent_of(AGENT).pending_slashes.len(), 1);
        // 1,000 − 20% − 10% (of what was left): 720.
        assert_eq!(stake_of(AGENT, AGENT), 720);
    });
}

#[test]
fn expired_jobs_past_the_threshold_slash_and_chill_once_an_era() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        for _ in 0..6 {
            note(AGENT, Work::JobCompleted);
        }
        note(AGENT, Work::JobExpired);
        // 1 of 7: under 25%.
        assert_eq!(agent_of(AGENT).status, AgentStatus::Active);
        note(AGENT, Work::JobExpired);
        // 2 of 8: 25%.
        let a = agent_of(AGENT);
        assert_eq!(a.status, AgentStatus::Chilled { since: 0, fault: true });
        assert_eq!(a.pending_slashes.len(), 1);
        assert_eq!(a.pending_slashes[0].reason, SlashReason::JobExpiry);
        assert_eq!(a.pending_slashes[0].fraction, Perbill::from_percent(10));
        note(AGENT, Work::JobExpired);
        assert_eq!(agent_of(AGENT).pending_slashes.len(), 1, "once an era");
        assert_eq!(
            Performance::<Test>::get(AGENT, 0),
            provena_primitives::agents::EraPerformance {
                jobs_completed: 6,
                jobs_expired: 3,
                ..Default::default()
            }
        );
        // Chilled by a fault: not while its slash is pending, and not in this era.
        let activate = || AgentsPallet::activate(RuntimeOrigin::signed(AGENT));
        assert_noop!(activate(), Error::<Test>::SlashPending);
        assert_ok!(AgentsPallet::cancel_slash(RuntimeOrigin::signed(GOVERNANCE), AGENT, 0));
        assert_noop!(activate(), Error::<Test>::ChilledThisEra);
        // Few jobs never slash: the minimum is 4.
        register_as(OTHER, 1_000);
        for _ in 0..3 {
            note(OTHER, Work::JobExpired);
        }
        assert_eq!(agent_of(OTHER).status, AgentStatus::Active);
        run_to_era(1);
        assert_ok!(activate());
        assert_eq!(stake_of(AGENT, AGENT), 1_000, "the cancelled slash took nothing");
        // Strangers' work is ignored.
        note(EVE, Work::JobExpired);
        assert_eq!(Performance::<Test>::iter_prefix(EVE).count(), 0);
    });
}

#[test]
fn upheld_challenges_past_the_threshold_slash_and_chill() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        note(AGENT, Work::ReceiptsSettled { count: 40, fees: 7_000 });
        note(AGENT, Work::ChallengeUpheld);
        assert_eq!(agent_of(AGENT).status, AgentStatus::Active);
        note(AGENT, Work::ChallengeUpheld);
        let a = agent_of(AGENT);
        assert_eq!(a.status, AgentStatus::Chilled { since: 0, fault: true });
        assert_eq!(a.pending_slashes[0].reason, SlashReason::UpheldChallenges);
        let p = Performance::<Test>::get(AGENT, 0);
        assert_eq!((p.receipts_settled, p.fees_served, p.challenges_upheld), (40, 7_000, 2));
    });
}

#[test]
fn performance_is_kept_for_the_history_depth() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        for era in [0, 1, 2, 3, 4, 6, 20] {
            run_to_era(era);
            note(AGENT, Work::JobCompleted);
        }
        // Four eras at most, none older than 20 − 3.
        assert_eq!(agent_of(AGENT).performance_eras.to_vec(), vec![20]);
        run_to_era(21);
        note(AGENT, Work::JobCompleted);
        run_to_era(22);
        note(AGENT, Work::JobCompleted);
        assert_eq!(agent_of(AGENT).performance_eras.to_vec(), vec![20, 21, 22]);
    });
}

#[test]
fn a_wiped_out_pool_takes_no_new_stake() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        assert_ok!(slash(30));
        run_to_era(1);
        assert_ok!(slash(30));
        run_to_era(2);
        assert_ok!(slash(30));
        run_to_era(3);
        apply();
        run_to_era(4);
        apply();
        // 1,000 × 0.7³ = 343 left for 1,000 points.
        assert_eq!(agent_of(AGENT).active, Pool { value: 343, points: 1_000 });
        assert_ok!(AgentsPallet::bond_more(RuntimeOrigin::signed(AGENT), 700));
        // It owns every point: all 1,043.
        assert_eq!(stake_of(AGENT, AGENT), 1_043);
        assert_eq!(agent_of(AGENT).active, Pool { value: 1_043, points: 3_040 });
    });
}
