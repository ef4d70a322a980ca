//! Agents as inference operators: the own bond that answers first for a receipt's fault, the
//! liability that keeps it, enrolment, force-chilling, and which models an agent serves.

use super::*;
use polkadot_sdk::{frame_support::traits::fungible::Mutate, sp_runtime::DispatchError};
use provena_primitives::agents::{AgentBonds, AgentWork};

fn take(to: &[(AccountId, Balance)]) -> Balance {
    <AgentsPallet as AgentBonds<_>>::take_own_bond(&AGENT, to).unwrap()
}

fn own() -> Balance {
    <AgentsPallet as AgentBonds<_>>::own_bond(&AGENT)
}

#[test]
fn a_fault_takes_the_own_bond_first_active_then_unbonding_and_never_the_delegators() {
    ExtBuilder.build_and_execute(|| {
        register(1_500);
        delegate(ALICE, 1_000);
        reward(1_000);
        let agent_free = Balances::free_balance(AGENT);
        // 300 of its own bond starts unbonding: 1,200 active, 300 unbonding.
        assert_ok!(AgentsPallet::unbond(RuntimeOrigin::signed(AGENT), 300));
        assert_eq!(own(), 1_500);
        let (bob, eve) = (Balances::free_balance(BOB), Balances::free_balance(EVE));
        // 100 to BOB, then 1,250 to EVE: 1,200 active and 50 of the unbonding stake.
        assert_eq!(take(&[(BOB, 100), (EVE, 1_250)]), 1_350);
        assert_eq!(Balances::free_balance(BOB), bob + 100);
        assert_eq!(Balances::free_balance(EVE), eve + 1_250);
        assert_eq!(own(), 150);
        assert_eq!(stake_of(AGENT, AGENT), 0);
        // Its rewards were paid before its points changed (its 1,500 of 2,500 points' share of
        // the 900 left after commission), and the delegator's stake is whole.
        assert_eq!(Balances::free_balance(AGENT), agent_free + 540);
        assert_eq!(stake_of(AGENT, ALICE), 1_000);
        // Below its minimum: chilled for the fault.
        assert!(agent_events().ends_with(&[
            Event::OwnBondTaken { agent: AGENT, to: BOB, amount: 100 },
            Event::OwnBondTaken { agent: AGENT, to: EVE, amount: 1_250 },
            Event::Chilled { agent: AGENT, fault: true },
        ]));
        assert_eq!(agent_of(AGENT).status, AgentStatus::Chilled { since: 0, fault: true });
        // Never more than it has: the last 150 and nothing more.
        assert_eq!(take(&[(BOB, 1_000)]), 150);
        assert_eq!(own(), 0);
        assert!(!Members::<Test>::contains_key(AGENT, AGENT));
        assert_eq!(agent_of(AGENT).unbonding_pools, 0);
        assert_eq!(take(&[(BOB, 1_000)]), 0);
        assert_eq!(stake_of(AGENT, ALICE), 1_000);
        // A non-agent has nothing to take.
        assert_eq!(<AgentsPallet as AgentBonds<_>>::own_bond(&BOB), 0);
        assert!(<AgentsPallet as AgentBonds<_>>::take_own_bond(&BOB, &[(EVE, 1)]).is_err());
    });
}

#[test]
fn the_own_bond_stays_while_its_receipts_answer() {
    ExtBuilder.build_and_execute(|| {
        register(2_000);
        delegate(ALICE, 1_000);
        assert_ok!(AgentsPallet::unbond(RuntimeOrigin::signed(AGENT), 500));
        assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, 1_000));
        TestLiability::set(AGENT, true);
        run_to_era(3);
        assert_noop!(
            AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(EVE), AGENT, AGENT),
            Error::<Test>::OwnBondAnswerable
        );
        // Delegators do not answer for single receipts: they leave on time.
        assert_ok!(AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(EVE), AGENT, ALICE));
        TestLiability::set(AGENT, false);
        assert_ok!(AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(EVE), AGENT, AGENT));
    });
}

#[test]
fn enrolled_agents_serve_any_model_and_declared_bases_cover_their_adapters() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        let serves = |who, m| <AgentsPallet as AgentWork<_>>::is_active(&who, m);
        assert!(serves(AGENT, None));
        assert!(serves(AGENT, Some(ModelId(1))));
        // Model 5 is an adapter of model 1.
        assert!(serves(AGENT, Some(ModelId(5))));
        assert!(!serves(AGENT, Some(ModelId(3))));
        assert_ok!(<AgentsPallet as AgentBonds<_>>::enroll(&OTHER, true));
        assert_noop!(
            <AgentsPallet as AgentBonds<_>>::enroll(&OTHER, true),
            Error::<Test>::AlreadyAgent
        );
        assert!(serves(OTHER, Some(ModelId(3))));
        assert_eq!(<AgentsPallet as AgentBonds<_>>::own_bond(&OTHER), MinAgentBond::get());
        assert_eq!(held(OTHER, HoldReason::AgentDeposit), AgentDeposit::get());
        assert!(!serves(BOB, None));
    });
}

#[test]
fn governance_force_chills_an_agent() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        let force = |who| AgentsPallet::force_chill(RuntimeOrigin::signed(who), AGENT);
        assert_noop!(force(ALICE), DispatchError::BadOrigin);
        assert_noop!(
            AgentsPallet::force_chill(RuntimeOrigin::signed(GOVERNANCE), BOB),
            Error::<Test>::NotAgent
        );
        assert_ok!(force(GOVERNANCE));
        assert_eq!(agent_of(AGENT).status, AgentStatus::Chilled { since: 0, fault: true });
        assert_noop!(force(GOVERNANCE), Error::<Test>::NotActive);
        assert_noop!(
            AgentsPallet::activate(RuntimeOrigin::signed(AGENT)),
            Error::<Test>::ChilledThisEra
        );
        run_to_era(1);
        assert_ok!(AgentsPallet::activate(RuntimeOrigin::signed(AGENT)));
    });
}

#[test]
fn the_first_staker_gives_the_pallet_account_its_existential_deposit() {
    ExtBuilder.build_and_execute(|| {
        let account = AgentsPallet::account_id();
        <Balances as Mutate<_>>::set_balance(&account, 0);
        let before = Balances::free_balance(AGENT);
        register(1_000);
        assert_eq!(Balances::free_balance(account), ExistentialDeposit::get());
        assert_eq!(
            Balances::free_balance(AGENT),
            before - 1_000 - AgentDeposit::get() - ExistentialDeposit::get()
        );
    });
}
