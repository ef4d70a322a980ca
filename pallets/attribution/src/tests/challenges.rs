//! Challenging receipts and resolving challenges.

use super::*;
use polkadot_sdk::{frame_support::assert_noop, sp_runtime::DispatchError};
use provena_primitives::attribution::ReceiptStatus;

fn challenged() -> Fixture {
    let f = fixture();
    submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
    assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
    f
}

#[test]
fn an_upheld_challenge_refunds_the_user_and_slashes_the_operator() {
    ExtBuilder.build_and_execute(|| {
        let user_before = free(&user());
        let f = challenged();
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).frozen, 375);
        assert_noop!(
            Attribution::challenge_receipt(RuntimeOrigin::signed(holder()), 0),
            Error::<Test>::AlreadyChallenged
        );
        let (ch, tr) = (free(&challenger()), free(&TreasuryAccount::get()));
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        assert_eq!(free(&user()), user_before);
        // Slash 600: half to the challenger, half to the treasury; challenger bond returned.
        assert_eq!(free(&challenger()), ch + CHALLENGE_BOND + 300);
        assert_eq!(free(&TreasuryAccount::get()), tr + 300);
        assert_eq!(own_bond(&operator()), OPERATOR_BOND - OPERATOR_SLASH);
        assert_eq!(Attribution::api_receipt(0).unwrap().status, ReceiptStatus::Reversed);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).earned, 0);
        run_to_block(30);
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::signed(holder()), all_payees(&f)),
            Error::<Test>::NothingToClaim
        );
        assert_noop!(
            Attribution::challenge_receipt(RuntimeOrigin::signed(holder()), 0),
            Error::<Test>::ReceiptReversed
        );
        let t = FeeTotals::<Test>::get();
        assert_eq!((t.charged, t.refunded, t.paid), (1_000, 1_000, 0));
    });
}

#[test]
fn a_rejected_challenge_costs_the_challenger_and_pays_everyone() {
    ExtBuilder.build_and_execute(|| {
        let f = challenged();
        let tr = free(&TreasuryAccount::get());
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, false));
        assert_eq!(free(&TreasuryAccount::get()), tr + CHALLENGE_BOND);
        assert_eq!(Attribution::api_receipt(0).unwrap().status, ReceiptStatus::Pending);
        run_to_block(30);
        let before = free(&data_owner());
        claim(all_payees(&f));
        assert_eq!(free(&data_owner()), before + 375);
    });
}

#[test]
fn challenge_errors() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        assert_noop!(
            Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 9),
            Error::<Test>::UnknownReceipt
        );
        assert_noop!(
            Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true),
            Error::<Test>::NotChallenged
        );
        assert_noop!(
            Attribution::challenge_receipt(RuntimeOrigin::signed(poor()), 0),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        assert_noop!(
            Attribution::resolve_challenge(RuntimeOrigin::signed(challenger()), 0, true),
            DispatchError::BadOrigin
        );
        // An operator with an open challenge answers for it (its own bond stays) past the
        // window.
        run_to_block(40);
        assert!(Attribution::is_liable(&operator()));
        // Past the window a receipt can no longer be challenged.
        submit(vec![receipt(f.model, 2, vec![(f.c0, 1_000_000)])]);
        run_to_block(70);
        assert_noop!(
            Attribution::challenge_receipt(RuntimeOrigin::signed(holder()), 1),
            Error::<Test>::ChallengeWindowClosed
        );
        // Resolving late (rejected) makes the frozen credits claimable at once.
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, false));
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 1_000);
    });
}

#[test]
fn a_challenge_nobody_resolves_ends_with_the_receipt_standing() {
    ExtBuilder.build_and_execute(|| {
        // Opened at block 1; the mock's deadline is 100 blocks.
        let f = challenged();
        let ch = free(&challenger());
        let expire = || Attribution::expire_challenge(RuntimeOrigin::signed(holder()), 0);
        assert_noop!(expire(), Error::<Test>::ChallengeNotExpired);
        run_to_block(100);
        assert_noop!(expire(), Error::<Test>::ChallengeNotExpired);
        run_to_block(101);
        assert_ok!(expire());
        // Nobody is penalized: the bond is back, the receipt stands, the operator is free.
        assert_eq!(free(&challenger()), ch + CHALLENGE_BOND);
        assert_eq!(Attribution::api_receipt(0).unwrap().status, ReceiptStatus::Pending);
        assert_eq!(Operators::<Test>::get(operator()).unwrap().open_challenges, 0);
        assert_eq!(own_bond(&operator()), OPERATOR_BOND);
        assert!(System::events().iter().any(|e| e.event
            == RuntimeEvent::Attribution(Event::ChallengeExpired {
                receipt: 0,
                challenger: challenger()
            })));
        // Its credits unfroze and, the window being past, are claimable at once.
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 375);
        assert_noop!(expire(), Error::<Test>::NotChallenged);
    });
}

#[test]
fn an_operator_slashed_below_one_slash_stops_submitting() {
    ExtBuilder.build_and_execute(|| {
        let f = challenged();
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        // 1,000 − 600 = 400 left: less than one more slash, and less than an agent's minimum
        // own bond, so the agent is chilled and serves nothing.
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![receipt(f.model, 2, vec![(f.c0, 1_000_000)])]
            ),
            Error::<Test>::NotOperator
        );
    });
}
