use super::*;
use crate::{Error, Event, HoldReason, JobState, Jobs, OperatorJobs};
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};
use provena_primitives::attribution::{Payee, PPM};
use provena_primitives::ContributionId;

#[test]
fn a_completion_settles_the_job_as_a_receipt_and_pays_every_party_its_share() {
    ExtBuilder.build_and_execute(|| {
        // Given a model over two contributions and an open job.
        let (model, ids) = served_model(2);
        let user_free = Balances::free_balance(user());
        let job = request(model);
        let receipt = pallet_attribution::NextReceiptId::<Test>::get();

        // When the operator completes it with 30 + 10 tokens, 3/4 to the first contribution.
        assert_ok!(complete(job, b"Paris.", vec![(ids[0], 750_000), (ids[1], 250_000)]));

        // Then the fee (40 tokens at 1,000 per 1,000 = 40) is charged, the rest released.
        let fee = 40;
        assert_eq!(Balances::free_balance(user()), user_free - fee - JOB_DEPOSIT);
        assert_eq!(Balances::balance_on_hold(&HoldReason::JobFee.into(), &user()), 0);
        let stored = Jobs::<Test>::get(job).unwrap();
        match stored.state {
            JobState::Completed {
                output, receipt: r, fee: f, input_tokens, output_tokens, ..
            } => {
                assert_eq!(output.into_inner(), b"Paris.".to_vec());
                assert_eq!((r, f, input_tokens, output_tokens), (receipt, fee, 30, 10));
            }
            other => panic!("not completed: {other:?}"),
        }
        assert!(!OperatorJobs::<Test>::contains_key(operator(), job));
        assert_eq!(
            events().last(),
            Some(&Event::JobCompleted {
                job,
                operator: operator(),
                receipt,
                fee,
                refunded: MAX_FEE - fee,
                output_hash: content_hash(b"Paris."),
            })
        );
        // The receipt names the job and splits exactly as attribution does: 40 → treasury 2,
        // operator 6, developer 4.8 → 5, holders 7.2 → 7, contributors 15 and 5.
        let r = pallet_attribution::Receipts::<Test>::get(receipt).unwrap();
        assert_eq!(r.request_id, provena_primitives::inference::job_request_id(job));
        assert_eq!((r.user, r.operator, r.fee), (user(), operator(), fee));
        let payouts: Vec<_> = r.payouts.into_inner();
        assert!(payouts.contains(&(Payee::Contribution(ids[0]), 15)));
        assert!(payouts.contains(&(Payee::Contribution(ids[1]), 5)));
        assert!(payouts.contains(&(Payee::Agent(operator()), 6)));
        assert_eq!(payouts.iter().map(|(_, a)| a).sum::<u128>(), fee);

        // The operator's work is counted in its agent's performance.
        let era = pallet_agents::Pallet::<Test>::current_era();
        let p = pallet_agents::Performance::<Test>::get(operator(), era);
        assert_eq!((p.jobs_completed, p.receipts_settled, p.fees_served), (1, 1, fee));
        // And after the challenge window the contributor claims exactly its shares.
        run_to_block(EPOCH + WINDOW + 1);
        let before = Balances::free_balance(data_owner());
        assert_ok!(Attribution::claim_rewards(
            RuntimeOrigin::signed(user()),
            vec![Payee::Contribution(ids[0]), Payee::Contribution(ids[1])]
        ));
        assert_eq!(Balances::free_balance(data_owner()), before + 20);
    });
}

#[test]
fn bad_completions_have_named_errors_and_no_effect() {
    ExtBuilder.build_and_execute(|| {
        let (model, ids) = served_model(2);
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator2()), vec![model]));
        let job = request(model);
        let _other = request(model); // assigned to operator2
        let out = b"Paris.".to_vec();
        let h = content_hash(&out);
        let call = |who: AccountId,
                    job: JobId,
                    output: Vec<u8>,
                    i: u32,
                    o: u32,
                    attr: Vec<(ContributionId, u32)>,
                    hash: H256| {
            Inference::complete_job(
                RuntimeOrigin::signed(who),
                job,
                output,
                i,
                o,
                attr,
                H256::zero(),
                hash,
                None,
            )
        };
        assert_noop!(call(operator(), 99, out.clone(), 1, 1, vec![], h), Error::<Test>::UnknownJob);
        assert_noop!(
            call(operator2(), job, out.clone(), 1, 1, vec![], h),
            Error::<Test>::NotAssignedOperator
        );
        assert_noop!(
            call(operator(), job, out.clone(), 1, 1, vec![], H256::zero()),
            Error::<Test>::OutputHashMismatch
        );
        let long = vec![b'a'; 65];
        assert_noop!(
            call(operator(), job, long.clone(), 1, 1, vec![], content_hash(&long)),
            Error::<Test>::OutputTooLong
        );
        // max_tokens is 20; the prompt has 30 bytes + 10 template tokens.
        assert_noop!(
            call(operator(), job, out.clone(), 1, 21, vec![], h),
            Error::<Test>::TooManyTokens
        );
        assert_noop!(
            call(operator(), job, out.clone(), 41, 1, vec![], h),
            Error::<Test>::TooManyTokens
        );
        assert_noop!(
            call(operator(), job, out.clone(), 1, 1, vec![(ids[0], PPM - 1)], h),
            Error::<Test>::WeightsNotNormalized
        );
        assert_noop!(
            call(operator(), job, out.clone(), 1, 1, vec![(ids[0], PPM), (ids[1], 0)], h),
            Error::<Test>::WeightsNotNormalized
        );
        assert_noop!(
            call(
                operator(),
                job,
                out.clone(),
                1,
                1,
                (0..5).map(|i| (ContributionId(i), 200_000)).collect(),
                h
            ),
            Error::<Test>::TooManyEntries
        );
        // A contribution outside the model's snapshots: attribution's own check refuses it.
        let (_, foreign) =
            datanet_with(&data_owner(), 1, provena_primitives::datanets::Visibility::Public);
        assert_noop!(
            call(operator(), job, out.clone(), 1, 1, vec![(foreign[0], PPM)], h),
            pallet_attribution::Error::<Test>::ContributionNotInModelSnapshots
        );
        // Completed once; a second completion is refused.
        assert_ok!(call(operator(), job, out.clone(), 1, 1, vec![(ids[0], PPM)], h));
        assert_noop!(
            call(operator(), job, out.clone(), 1, 1, vec![], h),
            Error::<Test>::AlreadyCompleted
        );
    });
}

#[test]
fn a_completion_after_the_deadline_is_refused() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let job = request(model);
        run_to_block(1 + TIMEOUT);
        assert_noop!(complete(job, b"late", vec![]), Error::<Test>::JobExpired);
    });
}

#[test]
fn a_price_raised_after_the_request_lets_the_job_expire_with_a_full_refund() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let free = Balances::free_balance(user());
        let job = request(model);
        assert_ok!(Models::update_price(RuntimeOrigin::signed(dev()), model, 1_000_000));
        assert_noop!(
            complete(job, b"Paris.", vec![]),
            pallet_attribution::Error::<Test>::FeeAboveMax
        );
        run_to_block(1 + TIMEOUT);
        assert_eq!(Balances::free_balance(user()), free - JOB_DEPOSIT);
    });
}

#[test]
fn a_completion_pays_the_datanet_pools_part_to_its_reward_pool() {
    ExtBuilder.build_and_execute(|| {
        let (model, ids) = served_model(2);
        let datanet = pallet_datanets::Contributions::<Test>::get(ids[0]).unwrap().datanet;
        let out = b"Paris.".to_vec();
        let complete_with = |job, attribution: Vec<(ContributionId, u32)>, pool| {
            Inference::complete_job(
                RuntimeOrigin::signed(operator()),
                job,
                out.clone(),
                30,
                10,
                attribution,
                H256::zero(),
                content_hash(&out),
                pool,
            )
        };
        let job = request(model);
        // The weights and the pool's part must sum to a million, each positive.
        assert_noop!(
            complete_with(job, vec![(ids[0], 750_000)], Some((datanet, 200_000))),
            Error::<Test>::WeightsNotNormalized
        );
        assert_noop!(
            complete_with(job, vec![(ids[0], PPM)], Some((datanet, 0))),
            Error::<Test>::WeightsNotNormalized
        );
        let receipt = pallet_attribution::NextReceiptId::<Test>::get();
        assert_ok!(complete_with(job, vec![(ids[0], 750_000)], Some((datanet, 250_000))));
        // 40 → contributors 20: 15 to the contribution, 5 to the pool.
        let r = pallet_attribution::Receipts::<Test>::get(receipt).unwrap();
        let payouts: Vec<_> = r.payouts.into_inner();
        assert!(payouts.contains(&(Payee::Contribution(ids[0]), 15)));
        assert!(payouts.contains(&(Payee::DatanetPool(datanet), 5)));
        assert_eq!(payouts.iter().map(|(_, a)| a).sum::<u128>(), 40);
    });
}
