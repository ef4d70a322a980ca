//! Operators are agents (issue 19): only an active agent serving the model submits or is named
//! in a voucher; its share is paid to its stakers; its own bond answers first for an upheld
//! challenge and stays while its receipts can be challenged; its work is counted. And the
//! migrations of the operator registry (v3, v6).

use super::*;
use polkadot_sdk::frame_support::{
    assert_noop,
    storage::unhashed,
    traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
};
use provena_primitives::agents::{AgentStatus, EraPerformance};

fn event(e: Event<Test>) -> bool {
    System::events().iter().any(|r| r.event == RuntimeEvent::Attribution(e.clone()))
}

/// A receipt of the fixture's model served by `op`.
fn served_by(f: &Fixture, op: &AccountId, request: u8) -> ReceiptInput<Test> {
    receipt_by(&pair("User"), f.model, request, vec![(f.c0, 1_000_000)], |v| {
        v.operator = op.clone()
    })
}

fn agent_status(who: &AccountId) -> AgentStatus {
    pallet_agents::Agents::<Test>::get(who).unwrap().status
}

#[test]
fn only_an_active_agent_serving_the_model_submits_or_is_named_in_a_voucher() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let other_model = model_on(&dev(), f.datanet, 2);
        let newcomer = holder();
        let signed = || RuntimeOrigin::signed(newcomer.clone());
        let prepay = |r: ReceiptInput<Test>| {
            Attribution::prepay_voucher(RuntimeOrigin::signed(user()), r.voucher)
        };

        // Not an agent: nothing.
        assert_noop!(
            Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 1)]),
            Error::<Test>::NotOperator
        );
        assert_noop!(prepay(served_by(&f, &newcomer, 9)), Error::<Test>::NotOperator);
        assert!(!<Attribution as InferenceSettlement<_>>::is_operator(&newcomer));

        // An agent of another model: not this one.
        assert_ok!(Agents::register_agent(
            signed(),
            vec![other_model],
            b"https://agent".to_vec(),
            vec![],
            OPERATOR_BOND,
            Default::default(),
        ));
        assert!(<Attribution as InferenceSettlement<_>>::is_operator(&newcomer));
        assert_noop!(
            Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 1)]),
            Error::<Test>::ModelNotServed
        );
        assert_noop!(prepay(served_by(&f, &newcomer, 9)), Error::<Test>::ModelNotServed);

        // It declares the model: it serves it.
        assert_ok!(Agents::update_agent(
            signed(),
            vec![other_model, f.model],
            b"https://agent".to_vec(),
            vec![]
        ));
        assert_ok!(Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 1)]));
        assert_ok!(prepay(served_by(&f, &newcomer, 9)));
        // Its work is counted in its performance.
        let era = pallet_agents::Pallet::<Test>::current_era();
        assert_eq!(
            pallet_agents::Performance::<Test>::get(&newcomer, era),
            EraPerformance { receipts_settled: 1, fees_served: 1_000, ..Default::default() }
        );

        // Chilled, it serves nothing.
        assert_ok!(Agents::chill(signed()));
        assert_noop!(
            Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 2)]),
            Error::<Test>::NotOperator
        );
        assert!(!<Attribution as InferenceSettlement<_>>::is_operator(&newcomer));
    });
}

#[test]
fn the_operators_share_is_shared_with_its_delegators() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // From the next era the operator (own bond 1,000) takes 5% commission; the holder
        // delegates 1,000.
        run_to_block(EPOCH);
        assert_ok!(Agents::set_commission(
            RuntimeOrigin::signed(operator()),
            polkadot_sdk::sp_runtime::Perbill::from_percent(5)
        ));
        assert_ok!(Agents::delegate(RuntimeOrigin::signed(holder()), operator(), 1_000));
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        run_to_block(40);
        let (op, holder_before) = (free(&operator()), free(&holder()));
        claim(vec![Payee::Agent(operator())]);
        // The operator's 150: 5% (7) commission at once, 143 shared by points, half each.
        assert_eq!(free(&operator()), op + 7);
        assert_ok!(Agents::claim_rewards(RuntimeOrigin::signed(holder()), operator()));
        assert_ok!(Agents::claim_rewards(RuntimeOrigin::signed(operator()), operator()));
        assert_eq!(free(&holder()), holder_before + 71);
        assert_eq!(free(&operator()), op + 7 + 71);
        // The rounding unit stays with the agent until it is reaped.
        assert_eq!(pallet_agents::Agents::<Test>::get(operator()).unwrap().rewards_unpaid, 1);
        // Everything the operator earned counts as its contribution power.
        assert_eq!(power_credited().get(&operator()), Some(&150));
    });
}

#[test]
fn its_own_bond_stays_while_its_receipts_answer() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        let busy_until = Operators::<Test>::get(operator()).unwrap().busy_until;
        assert_eq!(busy_until, 30);
        // It stops and unbonds everything (three eras of ten blocks).
        let op = || RuntimeOrigin::signed(operator());
        assert_ok!(Agents::chill(op()));
        assert_ok!(Agents::unbond(op(), OPERATOR_BOND));
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        run_to_block(30);
        // Unlocked, but its receipt is challenged: its bond still answers for it.
        let withdraw =
            || Agents::withdraw_unbonded(RuntimeOrigin::signed(holder()), operator(), operator());
        assert_noop!(withdraw(), pallet_agents::Error::<Test>::OwnBondAnswerable);
        // Upheld: the slash reaches the unbonding own bond.
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        assert_eq!(own_bond(&operator()), OPERATOR_BOND - OPERATOR_SLASH);
        assert_ok!(withdraw());
        assert_eq!(own_bond(&operator()), 0);
        // Reaping the agent forgets the operator.
        assert_ok!(Agents::reap_agent(RuntimeOrigin::signed(holder()), operator()));
        assert!(!Operators::<Test>::contains_key(operator()));
        assert!(OperatorEpochUsage::<Test>::get(operator()).is_none());
        assert!(event(Event::OperatorRemoved { operator: operator(), bond_released: 0 }));
    });
}

#[test]
fn a_slashed_operator_tops_its_own_bond_up_and_serves_again_from_the_next_era() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        // 400 left of its 1,000: below the agents' minimum, so chilled for the fault.
        assert_eq!(own_bond(&operator()), 400);
        assert!(matches!(agent_status(&operator()), AgentStatus::Chilled { fault: true, .. }));
        let again = || receipt(f.model, 2, vec![(f.c0, 1_000_000)]);
        let op = || RuntimeOrigin::signed(operator());
        assert_noop!(Attribution::submit_receipts(op(), vec![again()]), Error::<Test>::NotOperator);
        assert_ok!(Agents::bond_more(op(), 600));
        assert_noop!(Agents::activate(op()), pallet_agents::Error::<Test>::ChilledThisEra);
        run_to_block(EPOCH);
        assert_ok!(Agents::activate(op()));
        assert_ok!(Attribution::submit_receipts(op(), vec![again()]));
    });
}

#[test]
fn an_operator_whose_own_bond_cannot_cover_a_slash_submits_nothing() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // An active agent keeps its minimum own bond, which in the runtime covers a slash;
        // were the minimum lower than a slash, an active agent with less than a slash of its
        // own would still be refused. Its pool is made worth less than a slash here.
        let mut a = pallet_agents::Agents::<Test>::get(operator()).unwrap();
        a.active.value = OPERATOR_SLASH - 1;
        pallet_agents::Agents::<Test>::insert(operator(), a);
        // (The pool's value is what the held stake is worth: keep the invariants by releasing
        // the difference to the treasury.)
        use polkadot_sdk::frame_support::traits::{
            fungible::MutateHold,
            tokens::{Fortitude, Precision, Restriction},
        };
        assert_ok!(<Balances as MutateHold<_>>::transfer_on_hold(
            &pallet_agents::HoldReason::Staked.into(),
            &pallet_agents::Pallet::<Test>::account_id(),
            &TreasuryAccount::get(),
            OPERATOR_BOND - OPERATOR_SLASH + 1,
            Precision::Exact,
            Restriction::Free,
            Fortitude::Force,
        ));
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]
            ),
            Error::<Test>::BondTooLow
        );
    });
}

#[test]
fn the_v3_migration_makes_every_stored_operator_active() {
    use crate::migrations::v6::old;
    ExtBuilder.build_and_execute(|| {
        let key = old::Operators::<Test>::hashed_key_for(operator());
        let v2 = crate::migrations::v3::old::Operator::<Test> {
            bond: OPERATOR_BOND,
            busy_until: 7,
            open_challenges: 0,
        };
        unhashed::put(&key, &v2);
        StorageVersion::new(2).put::<Attribution>();
        crate::migrations::v3::MigrateToV3::<Test>::on_runtime_upgrade();
        assert_eq!(Attribution::on_chain_storage_version(), 3);
        let op = old::Operators::<Test>::get(operator()).unwrap();
        assert_eq!(
            (op.bond, op.busy_until, op.status),
            (OPERATOR_BOND, 7, old::OperatorStatus::Active)
        );
        old::Operators::<Test>::remove(operator());
    });
}

#[test]
fn the_v6_migration_makes_operators_agents_and_releases_their_old_bonds() {
    use crate::migrations::v6::old;
    use polkadot_sdk::frame_support::traits::fungible::{InspectHold, MutateHold};
    ExtBuilder.build_and_execute(|| {
        let reason = || HoldReason::OperatorBond.into();
        let v5 = |who: &AccountId, bond, status| {
            assert_ok!(<Balances as MutateHold<_>>::hold(&reason(), who, bond));
            old::Operators::<Test>::insert(
                who,
                old::Operator::<Test> { bond, busy_until: 40, open_challenges: 0, status },
            );
        };
        // An active operator with a topped-up bond, a leaving one and a candidate.
        let (active, leaving, candidate) = (dev(), data_owner(), contributor());
        v5(&active, 2 * OPERATOR_BOND, old::OperatorStatus::Active);
        v5(&leaving, OPERATOR_BOND, old::OperatorStatus::Leaving { unlocks_at: 50 });
        v5(&candidate, OPERATOR_BOND, old::OperatorStatus::Candidate);
        let (active_free, candidate_free) = (free(&active), free(&candidate));
        StorageVersion::new(5).put::<Attribution>();
        crate::migrations::v6::MigrateToV6::<Test>::on_runtime_upgrade();
        assert_eq!(Attribution::on_chain_storage_version(), 6);
        for who in [&active, &leaving, &candidate] {
            assert_eq!(Balances::balance_on_hold(&reason(), who), 0);
        }
        // The active one is an active agent with the minimum own bond; the rest of its old
        // bond is free again, less its agent's deposit.
        assert_eq!(agent_status(&active), AgentStatus::Active);
        assert_eq!(own_bond(&active), OPERATOR_BOND);
        assert_eq!(free(&active), active_free + 2 * OPERATOR_BOND - OPERATOR_BOND - 50);
        assert_eq!(Operators::<Test>::get(&active).unwrap().busy_until, 40);
        assert!(event(Event::OperatorAdded { operator: active.clone(), bond: OPERATOR_BOND }));
        // The leaving one is a chilled agent: its receipts still have its bond.
        assert!(matches!(agent_status(&leaving), AgentStatus::Chilled { fault: false, .. }));
        assert!(Attribution::is_liable(&leaving));
        // The candidate got its bond back and is nothing.
        assert_eq!(free(&candidate), candidate_free + OPERATOR_BOND);
        assert!(!Operators::<Test>::contains_key(&candidate));
        assert!(pallet_agents::Agents::<Test>::get(&candidate).is_none());
        assert!(event(Event::OperatorRemoved {
            operator: candidate.clone(),
            bond_released: OPERATOR_BOND
        }));
    });
}
