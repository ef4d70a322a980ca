//! Token holders' revenue: paid when a receipt is credited, to those holding then.

use super::*;
use polkadot_sdk::frame_support::{
    assert_noop,
    traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion, UncheckedOnRuntimeUpgrade},
};
use proptest::prelude::*;

/// Launches the fixture model's token; `holder()` buys 100,000 tokens.
fn launched() -> Fixture {
    let f = fixture();
    assert_ok!(Models::launch_token(RuntimeOrigin::signed(dev()), f.model));
    assert_ok!(Models::buy(RuntimeOrigin::signed(holder()), f.model, 100_000, u128::MAX, 1_000));
    f
}

/// What `who` holds of `model`'s token and is owed of its revenue.
fn holding(model: ModelId, who: &AccountId) -> (Balance, Balance) {
    let h = Models::api_holding(model, who.clone());
    (h.balance, h.pending_revenue)
}

#[test]
fn holders_are_paid_when_the_receipt_is_credited() {
    ExtBuilder.build_and_execute(|| {
        let f = launched();
        let dev_before = free(&dev());
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        // The holders' 180 (60% of the model's 300) is theirs at once, not after the window.
        assert_eq!(holding(f.model, &holder()).1, 180);
        let r = Attribution::api_rewards(Payee::ModelHolders(f.model));
        assert_eq!((r.earned, r.claimed, r.pending), (180, 180, 0));
        assert!(System::events().iter().any(|e| e.event
            == RuntimeEvent::Attribution(Event::HoldersPaid { model: f.model, amount: 180 })));
        // Nothing of it waits in the pallet: claiming for the holders finds nothing.
        run_to_block(30);
        assert_noop!(
            Attribution::claim_rewards(
                RuntimeOrigin::signed(holder()),
                vec![Payee::ModelHolders(f.model)]
            ),
            Error::<Test>::NothingToClaim
        );
        claim(vec![Payee::Account(dev())]);
        assert_eq!(free(&dev()) - dev_before, 120);
        assert_ok!(Models::claim_revenue(RuntimeOrigin::signed(holder()), f.model));
        let t = FeeTotals::<Test>::get();
        assert_eq!((t.charged, t.refunded, t.paid), (1_000, 0, 300));
    });
}

#[test]
fn without_holders_the_part_is_the_developers_after_the_window() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        assert_ok!(Models::launch_token(RuntimeOrigin::signed(dev()), f.model));
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        let r = Attribution::api_receipt(0).unwrap();
        assert!(r.payouts.iter().all(|p| !matches!(p.0, Payee::ModelHolders(_))));
        assert_eq!(Attribution::api_rewards(Payee::Account(dev())).pending, 300);
        // A buyer after the receipt gets none of it.
        assert_ok!(Models::buy(RuntimeOrigin::signed(holder()), f.model, 1_000, u128::MAX, 1_000));
        run_to_block(30);
        let before = free(&dev());
        claim(vec![Payee::Account(dev())]);
        assert_eq!(free(&dev()) - before, 300);
        assert_eq!(holding(f.model, &holder()).1, 0);
    });
}

#[test]
fn an_upheld_challenge_refunds_the_holders_part_from_the_operators_bond() {
    ExtBuilder.build_and_execute(|| {
        let f = launched();
        let user_before = free(&user());
        submit(vec![receipt(f.model, 1, vec![(f.c0, 1_000_000)])]);
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        let (ch, tr) = (free(&challenger()), free(&TreasuryAccount::get()));
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        // The user has the whole fee back: 820 from the pallet, 180 from the operator's bond.
        assert_eq!(free(&user()), user_before);
        // Then the slash (600) is taken from what is left of the bond.
        assert_eq!(own_bond(&operator()), OPERATOR_BOND - 180 - OPERATOR_SLASH);
        assert_eq!(free(&challenger()), ch + CHALLENGE_BOND + 300);
        assert_eq!(free(&TreasuryAccount::get()), tr + 300);
        assert!(System::events().iter().any(|e| e.event
            == RuntimeEvent::Attribution(Event::ChallengeResolved {
                receipt: 0,
                upheld: true,
                slashed: OPERATOR_SLASH,
                refunded: 1_000,
            })));
        // The holders keep what they were paid.
        assert_eq!(holding(f.model, &holder()).1, 180);
        let t = FeeTotals::<Test>::get();
        assert_eq!((t.charged, t.refunded, t.paid), (1_000, 820, 180));
    });
}

#[test]
fn the_v1_migration_pays_holder_revenue_left_pending_by_v0() {
    ExtBuilder.build_and_execute(|| {
        let f = launched();
        // A v0 chain: a receipt credited the holders' 180 as pending, held as fees.
        StorageVersion::new(0).put::<Attribution>();
        let account = Attribution::account_id();
        assert_ok!(
            <Balances as polkadot_sdk::frame_support::traits::fungible::Mutate<_>>::mint_into(
                &account,
                ED + 180
            )
        );
        assert_ok!(
            <Balances as polkadot_sdk::frame_support::traits::fungible::MutateHold<_>>::hold(
                &HoldReason::Fees.into(),
                &account,
                180
            )
        );
        let record = RewardRecord::<Test> {
            earned: 180,
            claimed: 0,
            matured: 0,
            frozen: 0,
            pending: BoundedVec::truncate_from(vec![(30, 180)]),
        };
        Rewards::<Test>::insert(Payee::ModelHolders(f.model), record);
        crate::migrations::v5::old::ModelReceiptCount::<Test>::insert(f.model, 1);
        FeeTotals::<Test>::put(Totals { charged: 180, refunded: 0, paid: 0 });
        assert_eq!(holding(f.model, &holder()).1, 0);

        <crate::migrations::v1::MigrateToV1<Test> as OnRuntimeUpgrade>::on_runtime_upgrade();

        assert_eq!(Attribution::on_chain_storage_version(), 1);
        assert_eq!(holding(f.model, &holder()).1, 180);
        let r = Rewards::<Test>::get(Payee::ModelHolders(f.model)).unwrap();
        assert_eq!((r.earned, r.claimed, r.pending.len()), (180, 180, 0));
        assert_eq!(FeeTotals::<Test>::get().paid, 180);
        // Versioned: a second run does nothing.
        <crate::migrations::v1::MigrateToV1<Test> as OnRuntimeUpgrade>::on_runtime_upgrade();
        assert_eq!(FeeTotals::<Test>::get().paid, 180);
        // The unversioned step alone is idempotent too: nothing is left to pay.
        <crate::migrations::v1::PayHoldersNow<Test> as UncheckedOnRuntimeUpgrade>::on_runtime_upgrade();
        assert_eq!(holding(f.model, &holder()).1, 180);
    });
}

/// The attack as it worked before: a large payout is credited, the sniper buys half the
/// circulating supply, claims for the holders after the window, takes its share and sells.
#[test]
fn sniping_a_large_payout_earns_nothing() {
    ExtBuilder.build_and_execute(|| {
        let f = launched();
        // A 1,000,000 fee: the holders' part is 180,000.
        let big = receipt_by(&pair("User"), f.model, 1, vec![(f.c0, 1_000_000)], |v| {
            v.max_fee = 1_000_000
        });
        submit(vec![ReceiptInput { input_tokens: 999_600, ..big }]);
        let sniper = challenger();
        let before = free(&sniper);
        assert_ok!(Models::buy(
            RuntimeOrigin::signed(sniper.clone()),
            f.model,
            100_000,
            u128::MAX,
            1_000
        ));
        run_to_block(30);
        let _ = Attribution::claim_rewards(
            RuntimeOrigin::signed(sniper.clone()),
            vec![Payee::ModelHolders(f.model)],
        );
        assert_noop!(
            Models::claim_revenue(RuntimeOrigin::signed(sniper.clone()), f.model),
            pallet_models::Error::<Test>::NothingToClaim
        );
        assert_ok!(Models::sell(RuntimeOrigin::signed(sniper.clone()), f.model, 100_000, 0, 1_000));
        assert!(free(&sniper) < before, "the sniper gained: {} -> {}", before, free(&sniper));
        assert_eq!(holding(f.model, &holder()).1, 180_000);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Revenue sniping does not pay: an account that buys after receipts were credited, then
    /// claims (anything, in any order) and sells, never ends with more OPEN than it started
    /// with, and the holders who held while the receipts were earned get all of it.
    #[test]
    fn a_buyer_after_receipts_never_gains_from_them(
        lot in 1_000u128..200_000,
        receipts in 1u8..5,
        claim_rewards_first in any::<bool>(),
        wait_for_the_window in any::<bool>(),
    ) {
        ExtBuilder.build_and_execute(|| {
            let f = launched();
            for i in 0..receipts {
                submit(vec![receipt(f.model, i + 1, vec![(f.c0, 1_000_000)])]);
            }
            let sniper = challenger();
            let before = free(&sniper);
            assert_ok!(Models::buy(RuntimeOrigin::signed(sniper.clone()), f.model, lot, u128::MAX, 1_000));
            if wait_for_the_window {
                run_to_block(30);
            }
            if claim_rewards_first {
                let _ = Attribution::claim_rewards(
                    RuntimeOrigin::signed(sniper.clone()),
                    vec![Payee::ModelHolders(f.model), Payee::Account(dev())],
                );
            }
            let _ = Models::claim_revenue(RuntimeOrigin::signed(sniper.clone()), f.model);
            assert_ok!(Models::sell(RuntimeOrigin::signed(sniper.clone()), f.model, lot, 0, 1_000));
            let _ = Models::claim_revenue(RuntimeOrigin::signed(sniper.clone()), f.model);
            assert!(free(&sniper) < before, "the sniper gained: {} -> {}", before, free(&sniper));
            assert_eq!(holding(f.model, &holder()).1, 180 * Balance::from(receipts));
        });
    }
}
