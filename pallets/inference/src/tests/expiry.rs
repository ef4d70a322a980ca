use super::*;
use crate::{Event, HoldReason, JobState, Jobs, Prunes};
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};
use provena_primitives::inference::JobStatus;

#[test]
fn an_open_job_expires_at_its_deadline_and_refunds_the_whole_max_fee() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let free = Balances::free_balance(user());
        let job = request(model);
        // Still open the block before the deadline.
        run_to_block(TIMEOUT);
        assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Open { .. }));
        // Expired in the deadline block's on_initialize.
        run_to_block(1 + TIMEOUT);
        assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Expired);
        assert_eq!(Balances::free_balance(user()), free - JOB_DEPOSIT);
        assert_eq!(Balances::balance_on_hold(&HoldReason::JobFee.into(), &user()), 0);
        assert_eq!(
            events().last(),
            Some(&Event::JobExpired { job, user: user(), operator: operator(), refunded: MAX_FEE })
        );
        assert_noop!(complete(job, b"late", vec![]), crate::Error::<Test>::JobExpired);
        // The operator is free to leave again.
        assert_ok!(Inference::unregister_operator(RuntimeOrigin::signed(operator())));
    });
}

#[test]
fn finished_jobs_stay_readable_for_the_retention_period_then_go_with_their_deposit() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let free = Balances::free_balance(user());
        let done = request(model);
        let lapsed = request(model);
        assert_ok!(complete(done, b"Paris.", vec![]));
        let info = Inference::api_job(done).unwrap();
        assert_eq!(info.status, JobStatus::Completed);
        assert_eq!(info.output, b"Paris.".to_vec());
        assert_eq!(info.prune_at, 1 + TIMEOUT + RETENTION);

        run_to_block(1 + TIMEOUT);
        assert_eq!(Prunes::<Test>::get(1 + TIMEOUT + RETENTION).into_inner(), vec![done, lapsed]);
        assert_eq!(Inference::api_job(done).unwrap().output, b"Paris.".to_vec());
        assert_eq!(Inference::api_job(lapsed).unwrap().status, JobStatus::Expired);

        run_to_block(TIMEOUT + RETENTION);
        assert!(Jobs::<Test>::get(done).is_some());
        run_to_block(1 + TIMEOUT + RETENTION);
        assert!(Jobs::<Test>::get(done).is_none() && Jobs::<Test>::get(lapsed).is_none());
        assert_eq!(Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &user()), 0);
        // The user paid exactly the fee of the completed job (40 tokens).
        assert_eq!(Balances::free_balance(user()), free - 40);
        let pruned: Vec<_> =
            events().into_iter().filter(|e| matches!(e, Event::JobPruned { .. })).collect();
        assert_eq!(
            pruned,
            vec![
                Event::JobPruned { job: done, deposit: JOB_DEPOSIT },
                Event::JobPruned { job: lapsed, deposit: JOB_DEPOSIT }
            ]
        );
    });
}

#[test]
fn an_agent_that_lets_too_many_jobs_expire_is_slashed_chilled_and_no_longer_assigned() {
    use provena_primitives::agents::{AgentStatus, EraPerformance, SlashReason};
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        // One job done, then four let expire, all in era 0 (blocks 0 to 9): the mock's
        // threshold is a quarter of at least four jobs.
        let done = request(model);
        assert_ok!(complete(done, b"Paris.", vec![]));
        request(model);
        request(model);
        run_to_block(2);
        request(model);
        request(model);
        run_to_block(1 + TIMEOUT);
        // Two expired of three jobs: too few jobs to judge.
        assert_eq!(
            pallet_agents::Agents::<Test>::get(operator()).unwrap().status,
            AgentStatus::Active
        );
        run_to_block(2 + TIMEOUT);
        assert_eq!(
            pallet_agents::Performance::<Test>::get(operator(), 0),
            EraPerformance {
                jobs_completed: 1,
                jobs_expired: 4,
                receipts_settled: 1,
                fees_served: 40,
                ..Default::default()
            }
        );
        let agent = pallet_agents::Agents::<Test>::get(operator()).unwrap();
        assert_eq!(agent.status, AgentStatus::Chilled { since: 0, fault: true });
        assert_eq!(agent.pending_slashes.len(), 1);
        assert_eq!(agent.pending_slashes[0].reason, SlashReason::JobExpiry);
        // No other operator serves the base: nobody takes the next job.
        assert_noop!(
            Inference::request_inference(
                RuntimeOrigin::signed(user()),
                model,
                b"hello".to_vec(),
                20,
                MAX_FEE,
                None
            ),
            crate::Error::<Test>::NoOperator
        );
    });
}
