//! Registration, updates, commission, chill and activate, the agent's own bond, reaping.

use super::*;
use polkadot_sdk::{frame_support::assert_storage_noop, sp_runtime::DispatchError};

fn register_call(
    models: Vec<u64>,
    endpoint: usize,
    bond: Balance,
    commission: u32,
) -> DispatchResult {
    AgentsPallet::register_agent(
        RuntimeOrigin::signed(AGENT),
        models.into_iter().map(ModelId).collect(),
        vec![b'x'; endpoint],
        b"ipfs://card".to_vec(),
        bond,
        Perbill::from_percent(commission),
    )
}

#[test]
fn registering_holds_the_deposit_and_bonds() {
    ExtBuilder.build_and_execute(|| {
        register(2_000);
        let a = agent_of(AGENT);
        assert_eq!(a.status, AgentStatus::Active);
        assert_eq!(a.models.to_vec(), vec![ModelId(1), ModelId(2)]);
        assert_eq!(a.active, Pool { value: 2_000, points: 2_000 });
        assert_eq!(held(AGENT, HoldReason::AgentDeposit), 50);
        assert_eq!(held(AgentsPallet::account_id(), HoldReason::Staked), 2_000);
        assert_eq!(Balances::free_balance(AGENT), INITIAL - 2_050);
        assert_eq!(stake_of(AGENT, AGENT), 2_000);
        assert_eq!(
            agent_events(),
            vec![
                Event::AgentRegistered {
                    agent: AGENT,
                    bond: 2_000,
                    commission: Perbill::from_percent(10)
                },
                Event::Bonded { agent: AGENT, member: AGENT, amount: 2_000 },
            ]
        );
        use provena_primitives::agents::AgentWork;
        assert!(<AgentsPallet as AgentWork<_>>::is_active(&AGENT, Some(ModelId(2))));
        assert!(<AgentsPallet as AgentWork<_>>::is_active(&AGENT, None));
        assert!(!<AgentsPallet as AgentWork<_>>::is_active(&AGENT, Some(ModelId(3))));
        assert!(!<AgentsPallet as AgentWork<_>>::is_active(&ALICE, None));
    });
}

#[test]
fn registration_refusals_change_nothing() {
    ExtBuilder.build_and_execute(|| {
        assert_noop!(register_call(vec![], 8, 1_000, 10), Error::<Test>::NoModels);
        assert_noop!(register_call(vec![1, 1], 8, 1_000, 10), Error::<Test>::BadModels);
        assert_noop!(register_call(vec![1, 2, 3, 4], 8, 1_000, 10), Error::<Test>::BadModels);
        assert_noop!(register_call(vec![1, 9], 8, 1_000, 10), Error::<Test>::UnknownModel);
        assert_noop!(register_call(vec![1], 33, 1_000, 10), Error::<Test>::UriTooLong);
        assert_noop!(register_call(vec![1], 8, 1_000, 51), Error::<Test>::CommissionTooHigh);
        assert_noop!(register_call(vec![1], 8, 999, 10), Error::<Test>::BondTooLow);
        // More than the account can bond and keep alive.
        assert_storage_noop!(assert!(register_call(vec![1], 8, INITIAL, 10).is_err()));
        assert_ok!(register_call(vec![1], 8, 1_000, 50));
        assert_noop!(register_call(vec![2], 8, 1_000, 10), Error::<Test>::AlreadyAgent);
    });
}

#[test]
fn an_agent_updates_its_models_and_uris() {
    ExtBuilder.build_and_execute(|| {
        let update = |who, models: Vec<u64>| {
            AgentsPallet::update_agent(
                RuntimeOrigin::signed(who),
                models.into_iter().map(ModelId).collect(),
                b"https://new".to_vec(),
                b"ipfs://new".to_vec(),
            )
        };
        assert_noop!(update(AGENT, vec![3]), Error::<Test>::NotAgent);
        register(1_000);
        assert_noop!(update(AGENT, vec![3, 8]), Error::<Test>::UnknownModel);
        assert_noop!(update(AGENT, vec![]), Error::<Test>::NoModels);
        assert_ok!(update(AGENT, vec![3, 5]));
        let a = agent_of(AGENT);
        assert_eq!(a.models.to_vec(), vec![ModelId(3), ModelId(5)]);
        assert_eq!(a.endpoint.to_vec(), b"https://new".to_vec());
        assert_eq!(agent_events().last(), Some(&Event::AgentUpdated { agent: AGENT }));
    });
}

#[test]
fn commission_rises_at_most_once_an_era_by_a_bounded_step() {
    ExtBuilder.build_and_execute(|| {
        let set = |pct| {
            AgentsPallet::set_commission(RuntimeOrigin::signed(AGENT), Perbill::from_percent(pct))
        };
        assert_noop!(set(12), Error::<Test>::NotAgent);
        register(1_000);
        // Not in the era it registered (its commission was set then).
        assert_noop!(set(12), Error::<Test>::CommissionChangeTooFast);
        // Lower any time.
        assert_ok!(set(8));
        run_to_era(1);
        assert_noop!(set(14), Error::<Test>::CommissionChangeTooFast);
        assert_noop!(set(51), Error::<Test>::CommissionTooHigh);
        assert_ok!(set(13));
        assert_noop!(set(14), Error::<Test>::CommissionChangeTooFast);
        assert_ok!(set(1));
        run_to_era(2);
        assert_ok!(set(6));
        assert_eq!(agent_of(AGENT).commission, Perbill::from_percent(6));
        assert_eq!(
            agent_events().last(),
            Some(&Event::CommissionChanged { agent: AGENT, commission: Perbill::from_percent(6) })
        );
    });
}

#[test]
fn chill_and_activate() {
    ExtBuilder.build_and_execute(|| {
        let chill = |who| AgentsPallet::chill(RuntimeOrigin::signed(who));
        let activate = |who| AgentsPallet::activate(RuntimeOrigin::signed(who));
        assert_noop!(chill(AGENT), Error::<Test>::NotAgent);
        assert_noop!(activate(AGENT), Error::<Test>::NotAgent);
        register(1_000);
        assert_noop!(activate(AGENT), Error::<Test>::AlreadyActive);
        assert_ok!(chill(AGENT));
        assert_eq!(agent_of(AGENT).status, AgentStatus::Chilled { since: 0, fault: false });
        assert_noop!(chill(AGENT), Error::<Test>::NotActive);
        assert_noop!(
            AgentsPallet::delegate(RuntimeOrigin::signed(ALICE), AGENT, 500),
            Error::<Test>::NotActive
        );
        use provena_primitives::agents::AgentWork;
        assert!(!<AgentsPallet as AgentWork<_>>::is_active(&AGENT, None));
        // A chilled agent may unbond below the minimum, and then cannot activate.
        assert_ok!(AgentsPallet::unbond(RuntimeOrigin::signed(AGENT), 1));
        assert_noop!(activate(AGENT), Error::<Test>::BondTooLow);
        assert_ok!(AgentsPallet::bond_more(RuntimeOrigin::signed(AGENT), 1));
        // Self-chilled: it may activate in the same era.
        assert_ok!(activate(AGENT));
        assert_eq!(agent_events().last(), Some(&Event::Activated { agent: AGENT }));
    });
}

#[test]
fn an_active_agent_keeps_its_minimum_bond_and_a_chilled_one_leaves_and_is_reaped() {
    ExtBuilder.build_and_execute(|| {
        register(1_500);
        let unbond = |amount| AgentsPallet::unbond(RuntimeOrigin::signed(AGENT), amount);
        assert_noop!(unbond(0), Error::<Test>::ZeroAmount);
        assert_noop!(unbond(501), Error::<Test>::WouldLeaveBondBelowMinimum);
        assert_ok!(unbond(500));
        assert_eq!(stake_of(AGENT, AGENT), 1_000);
        assert_ok!(AgentsPallet::chill(RuntimeOrigin::signed(AGENT)));
        // More than it has: all of it.
        assert_ok!(unbond(u128::MAX));
        assert_eq!(stake_of(AGENT, AGENT), 0);
        assert_eq!(
            agent_events().last(),
            Some(&Event::Unbonding { agent: AGENT, member: AGENT, amount: 1_000, unlocks_at: 3 })
        );
        let reap = || AgentsPallet::reap_agent(RuntimeOrigin::signed(BOB), AGENT);
        assert_noop!(reap(), Error::<Test>::AgentInUse);
        let withdraw = || AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(BOB), AGENT, AGENT);
        run_to_era(2);
        assert_noop!(withdraw(), Error::<Test>::NothingToWithdraw);
        run_to_era(3);
        assert_ok!(withdraw());
        assert_noop!(withdraw(), Error::<Test>::NotMember);
        assert_ok!(reap());
        assert!(!Agents::<Test>::contains_key(AGENT));
        assert_eq!(held(AGENT, HoldReason::AgentDeposit), 0);
        assert_eq!(Balances::free_balance(AGENT), INITIAL, "everything came back");
        assert_eq!(
            agent_events().last(),
            Some(&Event::AgentReaped { agent: AGENT, deposit_released: 50 })
        );
        assert_noop!(reap(), Error::<Test>::NotAgent);
        // Signed callers only.
        assert_noop!(
            AgentsPallet::reap_agent(RuntimeOrigin::none(), AGENT),
            DispatchError::BadOrigin
        );
    });
}
