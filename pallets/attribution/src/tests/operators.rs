//! Operators registering themselves, admission, top-ups, leaving with an unbonding delay
//! (issue 17, point 7).

use super::*;
use polkadot_sdk::{frame_support::assert_noop, sp_runtime::DispatchError};

fn bond_held(who: &AccountId) -> Balance {
    use polkadot_sdk::frame_support::traits::fungible::InspectHold;
    Balances::balance_on_hold(&HoldReason::OperatorBond.into(), who)
}

fn status(who: &AccountId) -> Option<OperatorStatus<u64>> {
    Operators::<Test>::get(who).map(|op| op.status)
}

fn event(e: Event<Test>) -> bool {
    System::events().iter().any(|r| r.event == RuntimeEvent::Attribution(e.clone()))
}

/// A receipt of the fixture's model served by `op`.
fn served_by(f: &Fixture, op: &AccountId, request: u8) -> ReceiptInput<Test> {
    receipt_by(&pair("User"), f.model, request, vec![(f.c0, 1_000_000)], |v| {
        v.operator = op.clone()
    })
}

#[test]
fn an_operator_registers_itself_is_admitted_serves_and_leaves_after_its_delay() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let newcomer = holder();
        let before = free(&newcomer);
        let signed = || RuntimeOrigin::signed(newcomer.clone());

        // Anyone registers by holding the bond; a candidate serves nobody yet.
        assert_ok!(Attribution::register_operator(signed()));
        assert_eq!(status(&newcomer), Some(OperatorStatus::Candidate));
        assert_eq!(
            (bond_held(&newcomer), free(&newcomer)),
            (OPERATOR_BOND, before - OPERATOR_BOND)
        );
        assert!(event(Event::OperatorRegistered {
            operator: newcomer.clone(),
            bond: OPERATOR_BOND
        }));
        assert_noop!(Attribution::register_operator(signed()), Error::<Test>::AlreadyOperator);
        assert_noop!(
            Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 1)]),
            Error::<Test>::OperatorNotActive
        );
        let voucher = served_by(&f, &newcomer, 9).voucher;
        assert_noop!(
            Attribution::prepay_voucher(RuntimeOrigin::signed(user()), voucher),
            Error::<Test>::OperatorNotActive
        );
        assert!(!<Attribution as InferenceSettlement<_>>::is_operator(&newcomer));

        // The admin origin admits it; then it serves.
        assert_noop!(
            Attribution::admit_operator(signed(), newcomer.clone()),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attribution::admit_operator(RuntimeOrigin::root(), operator()),
            Error::<Test>::NotCandidate
        );
        assert_ok!(Attribution::admit_operator(RuntimeOrigin::root(), newcomer.clone()));
        assert!(event(Event::OperatorAdmitted { operator: newcomer.clone() }));
        assert!(<Attribution as InferenceSettlement<_>>::is_operator(&newcomer));
        assert_ok!(Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 1)]));
        let busy_until = Operators::<Test>::get(&newcomer).unwrap().busy_until;
        assert!(busy_until > 1 + UNBONDING_DELAY, "the window outlasts the delay here");

        // It leaves: it serves nothing more, and its bond stays until its receipts are out of
        // their window (later than the delay here) and unchallenged.
        assert_ok!(Attribution::leave_operator(signed()));
        assert_eq!(status(&newcomer), Some(OperatorStatus::Leaving { unlocks_at: busy_until }));
        assert!(event(Event::OperatorLeaving {
            operator: newcomer.clone(),
            unlocks_at: busy_until
        }));
        assert_noop!(
            Attribution::submit_receipts(signed(), vec![served_by(&f, &newcomer, 2)]),
            Error::<Test>::OperatorNotActive
        );
        assert_noop!(Attribution::leave_operator(signed()), Error::<Test>::OperatorLeaving);
        assert_noop!(Attribution::bond_more(signed(), 10), Error::<Test>::OperatorLeaving);
        assert_noop!(Attribution::withdraw_operator_bond(signed()), Error::<Test>::StillUnbonding);
        // Its receipt can still be challenged, and that keeps the bond held past the unlock.
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        run_to_block(busy_until);
        assert_noop!(Attribution::withdraw_operator_bond(signed()), Error::<Test>::OperatorBusy);
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, false));
        assert_ok!(Attribution::withdraw_operator_bond(signed()));
        assert_eq!(status(&newcomer), None);
        assert_eq!(bond_held(&newcomer), 0);
        assert!(event(Event::OperatorRemoved {
            operator: newcomer.clone(),
            bond_released: OPERATOR_BOND
        }));
        assert_noop!(Attribution::withdraw_operator_bond(signed()), Error::<Test>::NotOperator);
    });
}

#[test]
fn the_unbonding_delay_holds_an_idle_operators_bond() {
    ExtBuilder.build_and_execute(|| {
        let op = RuntimeOrigin::signed(operator());
        assert_noop!(Attribution::withdraw_operator_bond(op.clone()), Error::<Test>::NotLeaving);
        assert_ok!(Attribution::leave_operator(op.clone()));
        let unlocks_at = 1 + UNBONDING_DELAY;
        assert_eq!(status(&operator()), Some(OperatorStatus::Leaving { unlocks_at }));
        run_to_block(unlocks_at - 1);
        assert_noop!(
            Attribution::withdraw_operator_bond(op.clone()),
            Error::<Test>::StillUnbonding
        );
        run_to_block(unlocks_at);
        assert_ok!(Attribution::withdraw_operator_bond(op));
        assert_eq!(bond_held(&operator()), 0);
    });
}

#[test]
fn a_candidate_that_leaves_gets_its_bond_back_at_once() {
    ExtBuilder.build_and_execute(|| {
        let before = free(&holder());
        assert_ok!(Attribution::register_operator(RuntimeOrigin::signed(holder())));
        assert_ok!(Attribution::leave_operator(RuntimeOrigin::signed(holder())));
        assert_eq!((status(&holder()), free(&holder())), (None, before));
        // One who cannot pay the bond is refused and keeps what it has.
        assert_noop!(
            Attribution::register_operator(RuntimeOrigin::signed(poor())),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
    });
}

#[test]
fn bond_more_lets_a_slashed_operator_submit_again() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        let again = || receipt(f.model, 2, vec![(f.c0, 1_000_000)]);
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![again()]),
            Error::<Test>::BondTooLow
        );
        let op = || RuntimeOrigin::signed(operator());
        assert_noop!(Attribution::bond_more(op(), 0), Error::<Test>::ZeroBond);
        assert_noop!(
            Attribution::bond_more(RuntimeOrigin::signed(holder()), 10),
            Error::<Test>::NotOperator
        );
        // 400 left after the slash of 600; 200 more covers one more slash.
        assert_ok!(Attribution::bond_more(op(), 200));
        assert_eq!(Operators::<Test>::get(operator()).unwrap().bond, 600);
        assert!(event(Event::OperatorBonded { operator: operator(), extra: 200, bond: 600 }));
        assert_ok!(Attribution::submit_receipts(op(), vec![again()]));
    });
}

#[test]
fn the_v3_migration_makes_every_stored_operator_active() {
    use polkadot_sdk::frame_support::{
        storage::unhashed,
        traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
    };
    ExtBuilder.build_and_execute(|| {
        let key = Operators::<Test>::hashed_key_for(operator());
        let old = crate::migrations::v3::old::Operator::<Test> {
            bond: OPERATOR_BOND,
            busy_until: 7,
            open_challenges: 0,
        };
        unhashed::put(&key, &old);
        StorageVersion::new(2).put::<Attribution>();
        crate::migrations::v3::MigrateToV3::<Test>::on_runtime_upgrade();
        assert_eq!(Attribution::on_chain_storage_version(), 3);
        let op = Operators::<Test>::get(operator()).unwrap();
        assert_eq!((op.bond, op.busy_until, op.status), (OPERATOR_BOND, 7, OperatorStatus::Active));
    });
}
