//! Launching tokens, buying and selling on the curve, graduation.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::Inspect};
use provena_primitives::ModelId;
use provena_primitives::{
    bonding_curve::{CurveParams, CurveState, Trade},
    models::QuoteError,
};

fn reserve_held(model: ModelId) -> Balance {
    Balances::balance_on_hold(&HoldReason::CurveReserve.into(), &ModelsPallet::token_account(model))
}

#[test]
fn launch_creates_a_curve_with_a_floor() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        let account = ModelsPallet::token_account(model);
        assert_eq!(Balances::balance(&account), ExistentialDeposit::get());
        let info = ModelsPallet::api_token(model).unwrap();
        assert_eq!(info.params, Curve::get());
        assert_eq!(info.state, CurveState::default());
        assert_eq!(info.phase, TokenPhase::Trading);
        // x₀ / y₀ = 0.1 OPEN per token.
        assert_eq!(info.spot_price, 100_000_000_000_000_000);
        assert!(ModelsPallet::api_model(model).unwrap().has_token);
        assert_noop!(
            ModelsPallet::launch_token(RuntimeOrigin::signed(DEV), model),
            Error::<Test>::AlreadyLaunched
        );
        let other = register_base(ALICE, 2, vec![]);
        assert_noop!(
            ModelsPallet::launch_token(RuntimeOrigin::signed(DEV), other),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            ModelsPallet::launch_token(RuntimeOrigin::signed(DEV), ModelId(99)),
            Error::<Test>::UnknownModel
        );
    });
}

#[test]
fn buy_and_sell_move_exact_amounts() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        let treasury = Balances::balance(&TREASURY);
        // x = 100,000, y = 1,000,000: 100,000 tokens cost ⌈10^10 / 900,000⌉ = 11,112, fee 112.
        assert_eq!(
            ModelsPallet::api_quote_buy(model, 100_000),
            Ok(Trade { tokens: 100_000, curve_amount: 11_112, fee: 112, trader_amount: 11_224 })
        );
        assert_eq!(buy(ALICE, model, 100_000), 11_224);
        assert_eq!(tokens_of(model, ALICE), 100_000);
        assert_eq!(reserve_held(model), 11_112);
        assert_eq!(Balances::balance(&TREASURY), treasury + 112);
        assert!(matches!(
            model_events().last(),
            Some(Event::Bought {
                who: ALICE,
                tokens: 100_000,
                cost: 11_112,
                fee: 112,
                sold: 100_000,
                reserve: 11_112,
                ..
            })
        ));
        // The price went up: the same amount costs more for Bob.
        let bob_paid = buy(BOB, model, 100_000);
        assert!(bob_paid > 11_224);
        // Alice sells half: x = 100,000 + reserve, y = 800,000.
        let q = ModelsPallet::api_quote_sell(model, 50_000).unwrap();
        let before = Balances::balance(&ALICE);
        assert_ok!(ModelsPallet::sell(
            RuntimeOrigin::signed(ALICE),
            model,
            50_000,
            q.trader_amount,
            100
        ));
        assert_eq!(Balances::balance(&ALICE), before + q.trader_amount);
        assert_eq!(tokens_of(model, ALICE), 50_000);
        // Selling everything back returns the reserve to exactly what rounding left.
        let rest = ModelsPallet::api_quote_sell(model, 50_000).unwrap();
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 50_000, 0, 100));
        let bob_back = ModelsPallet::api_quote_sell(model, 100_000).unwrap();
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(BOB), model, 100_000, 0, 100));
        let token = Tokens::<Test>::get(model).unwrap();
        assert_eq!(token.state.sold, 0);
        assert!(token.state.reserve < 10, "rounding leaves only dust: {}", token.state.reserve);
        // Together they got back less than they paid: round trips never gain.
        assert!(q.trader_amount + rest.trader_amount + bob_back.trader_amount < 11_224 + bob_paid);
        // Alice's holding is gone; the holder count follows.
        assert_eq!(token.holders, 0);
        assert!(Holdings::<Test>::get(model, ALICE).is_none());
    });
}

#[test]
fn trade_errors_fail_cleanly() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        let signed = RuntimeOrigin::signed;
        let unlaunched = register_base(DEV, 2, vec![]);
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), ModelId(99), 100, 1_000, 10),
            Error::<Test>::UnknownModel
        );
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), unlaunched, 100, 1_000, 10),
            Error::<Test>::NoToken
        );
        assert_noop!(
            ModelsPallet::sell(signed(ALICE), unlaunched, 100, 0, 10),
            Error::<Test>::NoToken
        );
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), model, 0, 1_000, 10),
            Error::<Test>::ZeroAmount
        );
        assert_noop!(ModelsPallet::sell(signed(ALICE), model, 0, 0, 10), Error::<Test>::ZeroAmount);
        // One token costs 1 < MIN_TRADE.
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), model, 1, 1_000, 10),
            Error::<Test>::BelowMinimumTrade
        );
        // 100,000 tokens cost 11,224 with the fee.
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), model, 100_000, 11_223, 10),
            Error::<Test>::SlippageExceeded
        );
        System::set_block_number(11);
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), model, 100_000, 11_224, 10),
            Error::<Test>::DeadlinePassed
        );
        assert_noop!(
            ModelsPallet::buy(signed(ALICE), model, 800_001, u128::MAX, 20),
            Error::<Test>::ExceedsCurveSupply
        );
        assert_noop!(
            ModelsPallet::buy(signed(POOR), model, 100_000, u128::MAX, 20),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
        assert_ok!(ModelsPallet::buy(signed(ALICE), model, 100_000, 11_224, 20));
        // Selling more than held, or than sold.
        assert_noop!(
            ModelsPallet::sell(signed(BOB), model, 10_000, 0, 20),
            Error::<Test>::InsufficientTokens
        );
        assert_noop!(
            ModelsPallet::sell(signed(ALICE), model, 100_001, 0, 20),
            Error::<Test>::InsufficientTokens
        );
        let q = ModelsPallet::api_quote_sell(model, 50_000).unwrap();
        assert_noop!(
            ModelsPallet::sell(signed(ALICE), model, 50_000, q.trader_amount + 1, 20),
            Error::<Test>::SlippageExceeded
        );
        assert_noop!(
            ModelsPallet::sell(signed(ALICE), model, 50_000, 0, 10),
            Error::<Test>::DeadlinePassed
        );
        assert_noop!(
            ModelsPallet::sell(signed(ALICE), model, 1, 0, 20),
            Error::<Test>::BelowMinimumTrade
        );
        // Token transfers.
        assert_noop!(
            ModelsPallet::transfer_tokens(signed(ALICE), model, ALICE, 5),
            Error::<Test>::SelfTransfer
        );
        assert_noop!(
            ModelsPallet::transfer_tokens(signed(ALICE), model, BOB, 0),
            Error::<Test>::ZeroAmount
        );
        assert_noop!(
            ModelsPallet::transfer_tokens(signed(BOB), model, ALICE, 1),
            Error::<Test>::InsufficientTokens
        );
        assert_noop!(
            ModelsPallet::transfer_tokens(signed(ALICE), ModelId(99), BOB, 1),
            Error::<Test>::UnknownModel
        );
        assert_noop!(
            ModelsPallet::transfer_tokens(signed(ALICE), unlaunched, BOB, 1),
            Error::<Test>::NoToken
        );
    });
}

#[test]
fn deprecated_models_can_be_sold_not_bought() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 100_000);
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(DEV), model));
        assert_noop!(
            ModelsPallet::buy(RuntimeOrigin::signed(BOB), model, 100_000, u128::MAX, 10),
            Error::<Test>::ModelNotActive
        );
        assert_eq!(ModelsPallet::api_quote_buy(model, 100_000), Err(QuoteError::ModelNotActive));
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 100_000, 0, 10));
    });
}

/// Issue 17, point 9: graduation used to close the curve for good, so one large buyer could
/// trap every holder. Now the curve becomes a pool of the reserve: every holder can still sell,
/// anyone can still buy, the price is continuous, and nobody can withdraw the reserve.
#[test]
fn a_graduated_token_trades_on_a_pool_of_its_reserve() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        // The graduation reserve (300,000) is reached with the 750,000th token.
        buy(ALICE, model, 700_000);
        assert_eq!(Tokens::<Test>::get(model).unwrap().phase, TokenPhase::Trading);
        let last_curve_price = ModelsPallet::api_token(model).unwrap().spot_price;
        buy(BOB, model, 50_000);
        let token = Tokens::<Test>::get(model).unwrap();
        assert_eq!(token.phase, TokenPhase::Graduated { at: 1 });
        // ⌈10^5·7·10^5 / 3·10^5⌉ = 233,334, then ⌈333,334·50,000 / 250,000⌉ = 66,667.
        assert_eq!(token.state, CurveState { sold: 750_000, reserve: 300_001 });
        // The pool: the reserve against ⌊300,001·250,000 / 400,001⌋ = 187,500 unsold tokens,
        // at the curve's price after the graduating buy (1.6 OPEN per token, to 1e-6).
        let pool_tokens = 187_500;
        assert_eq!(
            token.params,
            CurveParams {
                total_supply: 1_000_000,
                curve_supply: 750_000 + pool_tokens - 1,
                virtual_native: 0,
                virtual_tokens: 750_000 + pool_tokens,
                graduation_reserve: u128::MAX,
            }
        );
        assert_eq!(
            model_events().last(),
            Some(&Event::Graduated { model, reserve: 300_001, sold: 750_000, pool_tokens })
        );
        let pool_price = ModelsPallet::api_token(model).unwrap().spot_price;
        assert!(pool_price > last_curve_price);
        let curve_price_after = Curve::get().spot_price(&token.state).unwrap();
        assert!(pool_price.abs_diff(curve_price_after) <= curve_price_after / 1_000_000);

        // Holders sell into the reserve, at the quoted price…
        let q = ModelsPallet::api_quote_sell(model, 100_000).unwrap();
        // ⌊300,001·100,000 / 287,500⌋ = 104,348, less the 1% fee rounded up (1,044).
        assert_eq!((q.curve_amount, q.fee, q.trader_amount), (104_348, 1_044, 103_304));
        let before = Balances::balance(&ALICE);
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 100_000, 103_304, 10));
        assert_eq!(Balances::balance(&ALICE) - before, 103_304);
        // …anyone buys from the pool, but never its last token…
        buy(CAROL, model, 10_000);
        let t = Tokens::<Test>::get(model).unwrap();
        let left = t.params.virtual_tokens - t.state.sold;
        assert_noop!(
            ModelsPallet::buy(RuntimeOrigin::signed(CAROL), model, left, u128::MAX, 10),
            Error::<Test>::ExceedsCurveSupply
        );
        // …and every holder together can leave: all of it sells for less than the reserve.
        for who in [ALICE, BOB, CAROL] {
            let held = tokens_of(model, who);
            assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(who), model, held, 0, 10));
        }
        let t = Tokens::<Test>::get(model).unwrap();
        assert_eq!(t.state.sold, 0);
        assert!(t.state.reserve > 0 && reserve_held(model) == t.state.reserve);
        assert_eq!(t.phase, TokenPhase::Graduated { at: 1 }, "a pool never closes");
        // Tokens stay transferable.
        buy(ALICE, model, 2_000);
        assert_ok!(ModelsPallet::transfer_tokens(
            RuntimeOrigin::signed(ALICE),
            model,
            CAROL,
            1_000
        ));
        assert_eq!(tokens_of(model, CAROL), 1_000);
    });
}

/// The v2 migration turns a token graduated under v1 (closed curve) into its pool.
#[test]
fn the_v2_migration_opens_a_pool_for_tokens_graduated_before() {
    use polkadot_sdk::frame_support::traits::{
        GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
    };
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        buy(ALICE, model, 750_000);
        let graduated = Tokens::<Test>::get(model).unwrap();
        // A v1 chain: graduated, and still on the launch curve.
        Tokens::<Test>::mutate(model, |t| t.as_mut().unwrap().params = Curve::get());
        StorageVersion::new(1).put::<ModelsPallet>();
        crate::migrations::v2::MigrateToV2::<Test>::on_runtime_upgrade();
        assert_eq!(ModelsPallet::on_chain_storage_version(), 2);
        assert_eq!(Tokens::<Test>::get(model).unwrap(), graduated);
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(ALICE), model, 1_000, 0, 10));
    });
}

#[test]
fn quotes_match_what_trades_do() {
    ExtBuilder::default().build_and_execute(|| {
        let model = launched();
        assert_eq!(ModelsPallet::api_quote_buy(ModelId(99), 1), Err(QuoteError::NoToken));
        let spend = ModelsPallet::api_quote_spend(model, 50_000).unwrap();
        assert!(spend.trader_amount <= 50_000);
        // One more token would bust the budget.
        let more = ModelsPallet::api_quote_buy(model, spend.tokens + 1).unwrap();
        assert!(more.trader_amount > 50_000);
        assert_eq!(buy(CAROL, model, spend.tokens), spend.trader_amount);
        let q = ModelsPallet::api_quote_sell(model, spend.tokens).unwrap();
        let before = Balances::balance(&CAROL);
        assert_ok!(ModelsPallet::sell(RuntimeOrigin::signed(CAROL), model, spend.tokens, 0, 10));
        assert_eq!(Balances::balance(&CAROL) - before, q.trader_amount);
    });
}
