//! Revenue credited to token holders, claims and transfers.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::Inspect};

fn distribute(model: ModelId, amount: Balance) -> Balance {
    <ModelsPallet as ModelRevenue<_, _>>::distribute_to_holders(model, &PAYER, amount).unwrap()
}

fn claim(who: AccountId, model: ModelId) -> Balance {
    let before = Balances::balance(&who);
    assert_ok!(ModelsPallet::claim_revenue(RuntimeOrigin::signed(who), model));
    Balances::balance(&who) - before
}

#[test]
fn revenue_is_shared_pro_rata_and_claimed_once() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 100_000);
        buy(BOB, model, 50_000);
        let payer = Balances::balance(&PAYER);
        assert_eq!(distribute(model, 1_500), 1_500);
        assert_eq!(Balances::balance(&PAYER), payer - 1_500);
        assert_eq!(ModelsPallet::api_holding(model, ALICE).pending_revenue, 1_000);
        assert_eq!(ModelsPallet::api_holding(model, BOB).pending_revenue, 500);
        assert!(matches!(
            model_events().last(),
            Some(Event::RevenueDistributed { amount: 1_500, circulating: 150_000, .. })
        ));
        assert_eq!(claim(ALICE, model), 1_000);
        assert_noop!(
            ModelsPallet::claim_revenue(RuntimeOrigin::signed(ALICE), model),
            Error::<Test>::NothingToClaim
        );
        // Carol buys after the credit: she earns nothing from it.
        buy(CAROL, model, 50_000);
        assert_eq!(ModelsPallet::api_holding(model, CAROL).pending_revenue, 0);
        assert_eq!(distribute(model, 2_000), 2_000);
        assert_eq!(ModelsPallet::api_holding(model, ALICE).pending_revenue, 1_000);
        assert_eq!(ModelsPallet::api_holding(model, BOB).pending_revenue, 1_000);
        assert_eq!(ModelsPallet::api_holding(model, CAROL).pending_revenue, 500);
        let t = ModelsPallet::api_token(model).unwrap();
        assert_eq!((t.revenue_received, t.revenue_claimed), (3_500, 1_000));
    });
}

#[test]
fn selling_or_transferring_keeps_what_was_earned() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 100_000);
        buy(BOB, model, 100_000);
        distribute(model, 1_000);
        // Alice sells everything: her 500 stay claimable, her holding stays until claimed.
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 100_000, 0, 10));
        assert_eq!(
            ModelsPallet::api_holding(model, ALICE),
            HoldingInfo { balance: 0, pending_revenue: 500 }
        );
        distribute(model, 1_000);
        assert_eq!(ModelsPallet::api_holding(model, ALICE).pending_revenue, 500);
        assert_eq!(ModelsPallet::api_holding(model, BOB).pending_revenue, 1_500);
        assert_eq!(claim(ALICE, model), 500);
        assert!(Holdings::<Test>::get(model, ALICE).is_none());
        // Bob transfers half to Carol: earned revenue stays with Bob, new revenue is shared.
        assert_ok!(ModelsPallet::transfer_tokens(RuntimeOrigin::signed(BOB), model, CAROL, 50_000));
        assert_eq!(
            model_events().last(),
            Some(&Event::TokensTransferred { model, from: BOB, to: CAROL, amount: 50_000 })
        );
        distribute(model, 1_000);
        assert_eq!(ModelsPallet::api_holding(model, BOB).pending_revenue, 2_000);
        assert_eq!(ModelsPallet::api_holding(model, CAROL).pending_revenue, 500);
        assert_eq!(claim(BOB, model), 2_000);
        assert_eq!(claim(CAROL, model), 500);
    });
}

#[test]
fn indivisible_revenue_is_carried_not_lost() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 100_000);
        buy(BOB, model, 100_000);
        buy(CAROL, model, 100_000);
        // 10 units over three equal holders: each is owed 3.33…, the rest is carried.
        for _ in 0..3 {
            distribute(model, 10);
        }
        // 30 over three: exactly 10 each once the carry has caught up.
        for who in [ALICE, BOB, CAROL] {
            assert_eq!(ModelsPallet::api_holding(model, who).pending_revenue, 10);
            assert_eq!(claim(who, model), 10);
        }
        let t = Tokens::<Test>::get(model).unwrap();
        assert_eq!((t.revenue.received, t.revenue.claimed), (30, 30));
    });
}

#[test]
fn nothing_moves_without_holders_or_a_token() {
    ExtBuilder::default().build_and_execute(|| {
        let unlaunched = register_base(DEV, 5, vec![]);
        let model = launched();
        let payer = Balances::balance(&PAYER);
        assert_eq!(distribute(unlaunched, 1_000), 0);
        assert_eq!(distribute(model, 1_000), 0);
        assert_eq!(distribute(ModelId(99), 1_000), 0);
        buy(ALICE, model, 100_000);
        assert_eq!(distribute(model, 0), 0);
        assert_eq!(Balances::balance(&PAYER), payer);
        assert_noop!(
            ModelsPallet::claim_revenue(RuntimeOrigin::signed(BOB), model),
            Error::<Test>::NothingToClaim
        );
        assert_noop!(
            ModelsPallet::claim_revenue(RuntimeOrigin::signed(BOB), unlaunched),
            Error::<Test>::NoToken
        );
        assert_noop!(
            ModelsPallet::claim_revenue(RuntimeOrigin::signed(BOB), ModelId(99)),
            Error::<Test>::UnknownModel
        );
        // A payer who cannot pay gets the balances error and nothing is credited.
        assert!(<ModelsPallet as ModelRevenue<_, _>>::distribute_to_holders(model, &POOR, 1_000)
            .is_err());
        assert_eq!(Tokens::<Test>::get(model).unwrap().revenue.received, 0);
    });
}

#[test]
fn graduated_tokens_keep_earning() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 750_000);
        assert!(matches!(Tokens::<Test>::get(model).unwrap().phase, TokenPhase::Graduated { .. }));
        distribute(model, 7_500);
        assert_eq!(claim(ALICE, model), 7_500);
    });
}

/// Dust holdings would be storage nobody pays for: no transfer, buy or sell leaves a holding
/// below `MinHolding` but above zero (emptying one is fine).
#[test]
fn no_trade_or_transfer_leaves_a_dust_holding() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 100_000);
        let min = MinHolding::get();
        let transfer = |to, amount| {
            ModelsPallet::transfer_tokens(RuntimeOrigin::signed(ALICE), model, to, amount)
        };
        // Too little for the receiver…
        assert_noop!(transfer(BOB, min - 1), Error::<Test>::BelowMinHolding);
        // …or too little left with the sender.
        assert_noop!(transfer(BOB, 100_000 - (min - 1)), Error::<Test>::BelowMinHolding);
        assert_noop!(
            ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 100_000 - (min - 1), 0, 10),
            Error::<Test>::BelowMinHolding
        );
        // (A buy that small is below the smallest trade anyway; buys go through the same check.)
        // Exactly the minimum, and everything, are fine.
        assert_ok!(transfer(BOB, min));
        assert_ok!(transfer(CAROL, 100_000 - min));
        assert!(Holdings::<Test>::get(model, ALICE).is_none());
        assert_eq!(Holdings::<Test>::get(model, BOB).unwrap().balance, min);
    });
}
