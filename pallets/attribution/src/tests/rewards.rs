//! Claiming rewards after the challenge window.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};

#[test]
fn every_party_claims_its_exact_part_after_the_window() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
        // Nothing is claimable inside the window.
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::signed(holder()), all_payees(&f)),
            Error::<Test>::NothingToClaim
        );
        run_to_block(29);
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::signed(holder()), all_payees(&f)),
            Error::<Test>::NothingToClaim
        );
        run_to_block(30);
        let before: Vec<Balance> =
            [data_owner(), contributor(), operator(), dev(), TreasuryAccount::get()]
                .iter()
                .map(free)
                .collect();
        claim(all_payees(&f));
        // The operator is an agent: its share went to its stakers (itself alone here).
        assert_ok!(Agents::claim_rewards(RuntimeOrigin::signed(operator()), operator()));
        let after: Vec<Balance> =
            [data_owner(), contributor(), operator(), dev(), TreasuryAccount::get()]
                .iter()
                .map(free)
                .collect();
        let gained: Vec<Balance> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        // c0 → data owner 375, c1 → contributor 125, operator 150, developer 120 + the holders'
        // 180 (the model has no token), treasury 50.
        assert_eq!(gained, vec![375, 125, 150, 300, 50]);
        // Everyone who earned a part gains as much contribution power; the treasury none.
        assert_eq!(
            power_credited(),
            [(data_owner(), 375), (contributor(), 125), (operator(), 150), (dev(), 300)]
                .into_iter()
                .collect()
        );
        assert_eq!(free(&Attribution::account_id()), ED);
        assert_eq!(
            Balances::balance_on_hold(&HoldReason::Fees.into(), &Attribution::account_id()),
            0
        );
        let c0 = Attribution::api_rewards(Payee::Contribution(f.c0));
        assert_eq!((c0.earned, c0.claimed, c0.claimable, c0.pending), (375, 375, 0, 0));
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::signed(holder()), all_payees(&f)),
            Error::<Test>::NothingToClaim
        );
        let t = FeeTotals::<Test>::get();
        assert_eq!((t.charged, t.refunded, t.paid), (1_000, 0, 1_000));
    });
}

#[test]
fn claims_are_bounded_and_need_a_signed_origin() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        assert_noop!(
            Attribution::claim_rewards(
                RuntimeOrigin::signed(holder()),
                vec![Payee::Contribution(f.c0); 9]
            ),
            Error::<Test>::TooManyClaims
        );
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::none(), vec![]),
            polkadot_sdk::sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            Attribution::claim_rewards(RuntimeOrigin::signed(holder()), vec![]),
            Error::<Test>::NothingToClaim
        );
    });
}

#[test]
fn pending_buckets_merge_later_never_earlier() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // A long window keeps every credit pending: six epochs of receipts, but at most four
        // buckets, so the last ones merge into the fourth, which unlocks at the latest time.
        assert_ok!(Attribution::set_challenge_window(RuntimeOrigin::root(), 100));
        for epoch in 0..6u64 {
            run_to_block(epoch * EPOCH + 1);
            submit(vec![receipt(f.model, epoch as u8 + 1, vec![(f.c0, 1_000_000)])]);
        }
        let rec = Attribution::reward_record(&Payee::Contribution(f.c0)).unwrap();
        let times: Vec<u64> = rec.pending.iter().map(|(t, _)| *t).collect();
        let amounts: Vec<Balance> = rec.pending.iter().map(|(_, a)| *a).collect();
        assert_eq!(times, vec![110, 120, 130, 160]);
        assert_eq!(amounts, vec![500, 500, 500, 1_500]);
        run_to_block(110);
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 500);
        // The merged credits of epochs 3 and 4 wait for epoch 5's time: later, never earlier.
        run_to_block(159);
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 1_500);
        run_to_block(160);
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 3_000);
    });
}

#[test]
fn the_challenge_window_is_a_positive_parameter() {
    ExtBuilder.build_and_execute(|| {
        assert_noop!(
            Attribution::set_challenge_window(RuntimeOrigin::signed(dev()), 5),
            polkadot_sdk::sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            Attribution::set_challenge_window(RuntimeOrigin::root(), 0),
            Error::<Test>::InvalidWindow
        );
        assert_ok!(Attribution::set_challenge_window(RuntimeOrigin::root(), 5));
        assert_eq!(ChallengeWindow::<Test>::get(), 5);
    });
}

#[test]
fn the_pools_part_is_paid_into_the_datanets_reward_pool() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // 3/4 to c0, 1/4 to the datanet's pool: of the 500 contributor part, 375 and 125.
        let mut r = receipt(f.model, 1, vec![(f.c0, 750_000)]);
        r.pool = Some((f.datanet, 250_000));
        submit(vec![r]);
        let receipt = Attribution::api_receipt(0).unwrap();
        assert!(receipt.payouts.contains(&(
            Payee::DatanetPool(f.datanet),
            provena_primitives::attribution::PayoutAmount(125)
        )));
        run_to_block(30);
        let pool_before = pallet_datanets::RewardPools::<Test>::get(f.datanet);
        let account_before = free(&Datanets::account_id());
        claim(vec![Payee::DatanetPool(f.datanet), Payee::Contribution(f.c0)]);
        assert_eq!(pallet_datanets::RewardPools::<Test>::get(f.datanet), pool_before + 125);
        assert_eq!(free(&Datanets::account_id()), account_before + 125);
        let pool = Attribution::api_rewards(Payee::DatanetPool(f.datanet));
        assert_eq!((pool.earned, pool.claimed), (125, 125));
        System::assert_has_event(
            pallet_datanets::Event::RewardPoolFunded {
                datanet: f.datanet,
                from: Attribution::account_id(),
                amount: 125,
            }
            .into(),
        );
    });
}

#[test]
fn a_pool_must_be_declared_and_its_part_count_in_the_sum() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // A datanet the model does not declare.
        let other = pallet_datanets::NextDatanetId::<Test>::get();
        assert_ok!(Datanets::create_datanet(
            RuntimeOrigin::signed(data_owner()),
            b"other".to_vec(),
            vec![],
            b"other".to_vec(),
            b"MIT".to_vec(),
            Visibility::Public,
            10,
            1_000,
        ));
        let with_pool = |request, weights: Vec<(ContributionId, u32)>, pool| {
            let mut r = receipt(f.model, request, weights);
            r.pool = pool;
            r
        };
        let op = || RuntimeOrigin::signed(operator());
        assert_noop!(
            Attribution::submit_receipts(
                op(),
                vec![with_pool(1, vec![(f.c0, 750_000)], Some((other, 250_000)))]
            ),
            Error::<Test>::PoolNotDeclared
        );
        // Weights and pool not summing to a million, a zero pool part.
        assert_noop!(
            Attribution::submit_receipts(
                op(),
                vec![with_pool(2, vec![(f.c0, 750_000)], Some((f.datanet, 200_000)))]
            ),
            Error::<Test>::WeightsNotNormalized
        );
        assert_noop!(
            Attribution::submit_receipts(
                op(),
                vec![with_pool(3, vec![(f.c0, 1_000_000)], Some((f.datanet, 0)))]
            ),
            Error::<Test>::WeightsNotNormalized
        );
        // All of it to the pool is fine.
        submit(vec![with_pool(4, vec![], Some((f.datanet, 1_000_000)))]);
    });
}

/// What the datanets pallet asks before a contribution's storage may go: credit pending in the
/// window or matured and unclaimed keeps it; once claimed, nothing is owed. The record is kept
/// in the contribution's own record (v4), not in [`Rewards`].
#[test]
fn a_contribution_is_owed_credit_until_it_is_claimed() {
    use provena_primitives::datanets::{CreditOwed, OwedCredit};
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let owed =
            |c| pallet_datanets::Contributions::<Test>::get(c).is_some_and(|x| x.reward.is_owed());
        assert!(!owed(f.c0));
        submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
        assert!(owed(f.c0), "pending in the window");
        assert!(!Rewards::<Test>::contains_key(Payee::Contribution(f.c0)));
        let record = pallet_datanets::Contributions::<Test>::get(f.c0).unwrap().reward;
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).earned, record.earned);
        assert!(record.earned > 0);
        run_to_block(30);
        assert!(owed(f.c0), "matured, not claimed");
        claim(vec![Payee::Contribution(f.c0)]);
        assert!(!owed(f.c0));
        assert!(owed(f.c1), "c1 was not claimed");
        assert!(!Attribution::owed_to_pool(77));
    });
}

/// v3 kept contributions' reward records in [`Rewards`]; v4 moves each into its contribution's
/// record (dropping one whose contribution is gone, which can only be owed nothing), and they
/// are claimed as before.
#[test]
fn the_v4_migration_moves_contribution_rewards_into_the_contributions() {
    use crate::migrations::v4::MigrateToV4;
    use polkadot_sdk::frame_support::traits::{
        GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
    };
    use provena_primitives::datanets::ContributionRewards;
    type D = Datanets;
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
        let before: Vec<_> =
            [f.c0, f.c1].map(|c| Attribution::api_rewards(Payee::Contribution(c))).into();
        // Rewrite what v3 stored: the records in `Rewards`, none in the contributions.
        for c in [f.c0, f.c1] {
            let record = <D as ContributionRewards<RewardRecord<Test>>>::reward(c).unwrap();
            Rewards::<Test>::insert(Payee::Contribution(c), record);
            assert_ok!(<D as ContributionRewards<RewardRecord<Test>>>::mutate_reward(c, |r| {
                *r = Default::default();
                Ok(())
            }));
        }
        // And the paid-up record of a contribution that has left the state.
        let gone = Payee::Contribution(ContributionId(999));
        Rewards::<Test>::insert(
            &gone,
            RewardRecord::<Test> { earned: 5, claimed: 5, ..Default::default() },
        );
        StorageVersion::new(3).put::<Attribution>();

        MigrateToV4::<Test>::on_runtime_upgrade();

        assert_eq!(Attribution::on_chain_storage_version(), 4);
        assert!(!Rewards::<Test>::iter_keys().any(|p| matches!(p, Payee::Contribution(_))));
        let after: Vec<_> =
            [f.c0, f.c1].map(|c| Attribution::api_rewards(Payee::Contribution(c))).into();
        assert_eq!(after, before);
        assert!(after[0].earned > 0 && after[1].earned > 0);
        // Claimed as before, from the contributions' records.
        run_to_block(30);
        claim(vec![Payee::Contribution(f.c0), Payee::Contribution(f.c1)]);
        for (c, b) in [f.c0, f.c1].into_iter().zip(&before) {
            assert_eq!(Attribution::api_rewards(Payee::Contribution(c)).claimed, b.earned);
        }
        // Running it again changes nothing.
        MigrateToV4::<Test>::on_runtime_upgrade();
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, before[0].earned);
    });
}
