use super::*;
use crate::{Error, Event, HoldReason, JobState, Jobs, OperatorJobs};
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};

#[test]
fn a_request_holds_the_max_fee_and_deposit_and_is_assigned() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let free = Balances::free_balance(user());
        // When the user asks.
        let job = request(model);
        // Then max fee and deposit are held, the job is open and assigned to the operator.
        assert_eq!(Balances::free_balance(user()), free - MAX_FEE - JOB_DEPOSIT);
        assert_eq!(Balances::balance_on_hold(&HoldReason::JobFee.into(), &user()), MAX_FEE);
        assert_eq!(Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &user()), JOB_DEPOSIT);
        let stored = Jobs::<Test>::get(job).unwrap();
        assert_eq!(stored.operator, operator());
        assert_eq!(stored.expires_at, 1 + TIMEOUT);
        assert!(matches!(stored.state, JobState::Open { .. }));
        assert!(OperatorJobs::<Test>::contains_key(operator(), job));
        assert_eq!(
            events().last(),
            Some(&Event::JobRequested {
                job,
                user: user(),
                model,
                operator: operator(),
                max_fee: MAX_FEE,
                expires_at: 1 + TIMEOUT,
            })
        );
    });
}

#[test]
fn bad_requests_have_named_errors_and_no_effect() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let (datanet, _) =
            datanet_with(&data_owner(), 1, provena_primitives::datanets::Visibility::Public);
        let unserved = model_on(&dev(), datanet, 0xbb);
        let deprecated = model_on(&dev(), datanet, 0xbc);
        assert_ok!(Models::deprecate(RuntimeOrigin::signed(dev()), deprecated));
        let ask =
            |who: AccountId, model: ModelId, prompt: Vec<u8>, max_tokens: u32, max_fee: u128| {
                Inference::request_inference(
                    RuntimeOrigin::signed(who),
                    model,
                    prompt,
                    max_tokens,
                    max_fee,
                    None,
                )
            };
        let q = || b"hello".to_vec();
        assert_noop!(ask(user(), model, vec![], 20, MAX_FEE), Error::<Test>::PromptEmpty);
        assert_noop!(ask(user(), model, vec![b'a'; 65], 20, MAX_FEE), Error::<Test>::PromptTooLong);
        assert_noop!(ask(user(), model, q(), 0, MAX_FEE), Error::<Test>::InvalidMaxTokens);
        assert_noop!(ask(user(), model, q(), 101, MAX_FEE), Error::<Test>::InvalidMaxTokens);
        assert_noop!(ask(user(), ModelId(99), q(), 20, MAX_FEE), Error::<Test>::UnknownModel);
        assert_noop!(ask(user(), deprecated, q(), 20, MAX_FEE), Error::<Test>::ModelNotActive);
        assert_noop!(ask(user(), unserved, q(), 20, MAX_FEE), Error::<Test>::NoOperator);
        // Worst case: 5 prompt bytes + 10 template tokens + 20 output tokens = 35 tokens at
        // 1,000 per 1,000: a fee of 35.
        assert_noop!(ask(user(), model, q(), 20, 34), Error::<Test>::MaxFeeTooLow);
        assert_ok!(ask(user(), model, q(), 20, 35));
        // A user who cannot hold the fee.
        assert!(ask(poor(), model, q(), 20, 1_000).is_err());
        assert_eq!(Balances::free_balance(poor()), 100);
    });
}

#[test]
fn at_most_max_jobs_per_block_are_requested_in_one_block() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator2()), vec![model]));
        for _ in 0..3 {
            request(model);
        }
        assert_noop!(
            Inference::request_inference(
                RuntimeOrigin::signed(user()),
                model,
                b"one more".to_vec(),
                20,
                MAX_FEE,
                None
            ),
            Error::<Test>::BlockFull
        );
        run_to_block(2);
        request(model);
    });
}

#[test]
fn jobs_go_to_the_least_loaded_operator_taking_turns_on_ties() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator2()), vec![model]));
        // Job 0: tie, start at 0 mod 2 → operator; job 1: operator2 is less loaded; job 2: tie,
        // start at 2 mod 2 = 0 → operator.
        let a = request(model);
        let b = request(model);
        let c = request(model);
        let who = |j| Jobs::<Test>::get(j).unwrap().operator;
        assert_eq!((who(a), who(b), who(c)), (operator(), operator2(), operator()));
        // An operator at capacity (4 open jobs) is skipped; none left → NoOperator.
        run_to_block(2);
        for _ in 0..3 {
            request(model);
        }
        run_to_block(3);
        request(model);
        request(model);
        assert_noop!(
            Inference::request_inference(
                RuntimeOrigin::signed(user()),
                model,
                b"full".to_vec(),
                20,
                MAX_FEE,
                None
            ),
            Error::<Test>::NoOperator
        );
    });
}

#[test]
fn an_operator_that_stopped_serving_is_not_assigned() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        // Its agent chilled (or was chilled by a slash).
        assert_ok!(Agents::chill(RuntimeOrigin::signed(operator())));
        assert_noop!(
            Inference::request_inference(
                RuntimeOrigin::signed(user()),
                model,
                b"hello".to_vec(),
                20,
                MAX_FEE,
                None
            ),
            Error::<Test>::NoOperator
        );
    });
}
