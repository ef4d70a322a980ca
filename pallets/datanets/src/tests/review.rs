//! Curator verdicts: accept, reject, slash.

use super::*;
use polkadot_sdk::frame_support::assert_noop;
use provena_primitives::ContributionId;

#[test]
fn accept_records_quality_and_the_curator() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), d, CURATOR));
        let id = contribute(ALICE, d, 1);
        assert_ok!(DatanetsPallet::review(
            RuntimeOrigin::signed(CURATOR),
            id,
            Verdict::Accept { quality: 100 }
        ));
        let c = Contributions::<Test>::get(id).unwrap();
        assert_eq!(c.status, ContributionStatus::Accepted { quality: 100 });
        assert_eq!(c.reviewed, Some((CURATOR, 1)));
        assert_eq!(Accepted::<Test>::get(d).to_vec(), vec![id]);
        assert_eq!(stake_held(ALICE), 10, "held until the lock-up passes");
        assert_eq!(
            datanet_events().last(),
            Some(&Event::ContributionAccepted {
                datanet: d,
                contribution: id,
                curator: CURATOR,
                quality: 100,
                stake_unlocks_at: 11
            })
        );
    });
}

#[test]
fn reject_returns_the_stake_and_the_deposit_removes_the_record_and_frees_the_hash() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        assert_eq!(storage_deposit(ALICE), ContributionDeposit::get());
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), id, Verdict::Reject));
        // It was never in a snapshot: nothing of it stays, and everything held comes back.
        assert_eq!(Contributions::<Test>::get(id), None);
        assert_eq!(DatanetContributions::<Test>::get(d, 0), None);
        assert_eq!(ContributorCount::<Test>::get(ALICE), 0);
        assert_eq!(Datanets::<Test>::get(d).unwrap().contribution_count, 0);
        assert_eq!(stake_held(ALICE), 0);
        assert_eq!(storage_deposit(ALICE), 0);
        assert_eq!(Balances::free_balance(ALICE), INITIAL);
        assert_eq!(
            datanet_events()[2..],
            [
                Event::ContributionRejected { datanet: d, contribution: id, curator: OWNER },
                Event::StakeReleased { contribution: id, contributor: ALICE, amount: 10 },
                Event::ContributionRemoved {
                    contribution: id,
                    contributor: ALICE,
                    deposit_released: ContributionDeposit::get()
                },
            ]
        );
        // A rejected hash can be submitted again.
        contribute(BOB, d, 1);
    });
}

#[test]
fn slash_moves_the_stake_to_the_reward_pool() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), id, Verdict::Slash));
        // A slashed pending contribution was never in a snapshot: it leaves the state and its
        // storage deposit comes back (the stake does not).
        assert_eq!(Contributions::<Test>::get(id), None);
        assert_eq!(storage_deposit(ALICE), 0);
        assert_eq!(stake_held(ALICE), 0);
        assert_eq!(Balances::free_balance(ALICE), INITIAL - 10);
        assert_eq!(RewardPools::<Test>::get(d), 10);
        assert_eq!(Balances::free_balance(DatanetsPallet::account_id()), 10);
        assert_eq!(
            datanet_events()[2..],
            [
                Event::ContributionSlashed {
                    datanet: d,
                    contribution: id,
                    curator: OWNER,
                    amount: 10
                },
                Event::ContributionRemoved {
                    contribution: id,
                    contributor: ALICE,
                    deposit_released: ContributionDeposit::get()
                },
            ]
        );
        // Submitting it again costs a new stake, which the curator may slash again.
        let again = contribute(ALICE, d, 1);
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), again, Verdict::Slash));
        assert_eq!(RewardPools::<Test>::get(d), 20);
    });
}

#[test]
fn review_errors_have_no_side_effects() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        let review = |who, id, v| DatanetsPallet::review(RuntimeOrigin::signed(who), id, v);
        assert_noop!(review(STRANGER, id, Verdict::Reject), Error::<Test>::NotCurator);
        assert_noop!(review(ALICE, id, Verdict::Accept { quality: 1 }), Error::<Test>::NotCurator);
        assert_noop!(
            review(OWNER, ContributionId(77), Verdict::Reject),
            Error::<Test>::ContributionNotFound
        );
        assert_noop!(
            review(OWNER, id, Verdict::Accept { quality: 101 }),
            Error::<Test>::QualityOutOfRange
        );
        accept(id);
        // Double review: only a slash (a dispute, below) may follow an acceptance.
        for v in [Verdict::Accept { quality: 1 }, Verdict::Reject] {
            assert_noop!(review(OWNER, id, v), Error::<Test>::AlreadyReviewed);
        }
        // After the lock-up, not even that.
        run_to_block(11);
        assert_noop!(review(OWNER, id, Verdict::Slash), Error::<Test>::AlreadyReviewed);
    });
}

#[test]
fn an_accepted_contribution_can_be_disputed_and_slashed_during_its_lock_up() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        accept(id);
        assert_eq!(Accepted::<Test>::get(d).to_vec(), vec![id]);
        run_to_block(10);
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), id, Verdict::Slash));
        let c = Contributions::<Test>::get(id).unwrap();
        assert_eq!(c.status, ContributionStatus::Slashed);
        assert_eq!((c.stake_held, c.stake_unlocks_at), (0, None));
        // Out of the accepted set (later snapshots exclude it); the stake went to the pool.
        assert!(Accepted::<Test>::get(d).is_empty());
        assert_eq!(stake_held(ALICE), 0);
        assert_eq!(RewardPools::<Test>::get(d), 10);
        assert_noop!(
            DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::NothingToRelease
        );
    });
}

#[test]
fn a_datanet_holds_at_most_its_maximum_of_accepted_contributions() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let ids: Vec<_> = (1..=9).map(|n| contribute(ALICE, d, n)).collect();
        for id in &ids[..8] {
            accept(*id);
        }
        assert_noop!(
            DatanetsPallet::review(
                RuntimeOrigin::signed(OWNER),
                ids[8],
                Verdict::Accept { quality: 5 }
            ),
            Error::<Test>::TooManyAccepted
        );
        // Accepting out of order keeps the list sorted.
        assert_eq!(Accepted::<Test>::get(d).to_vec(), ids[..8].to_vec());
    });
}

#[test]
fn governance_spends_from_a_reward_pool_up_to_its_limit() {
    use polkadot_sdk::sp_runtime::DispatchError;
    use provena_primitives::datanets::RewardPoolFunding;
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let other = create_public();
        // 10 slashed and 60 paid in: a pool of 70; the other datanet's pool holds 10.
        let id = contribute(ALICE, d, 1);
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), id, Verdict::Slash));
        assert_ok!(<DatanetsPallet as RewardPoolFunding<_>>::fund_reward_pool(d, &BOB, 60));
        assert_ok!(<DatanetsPallet as RewardPoolFunding<_>>::fund_reward_pool(other, &BOB, 10));
        let spend = |o, datanet, amount| DatanetsPallet::spend_pool(o, datanet, STRANGER, amount);

        // Curators and owners cannot spend what they slashed; nobody but the spend origin can.
        assert_noop!(spend(RuntimeOrigin::signed(OWNER), d, 10), DispatchError::BadOrigin);
        assert_noop!(spend(RuntimeOrigin::none(), d, 10), DispatchError::BadOrigin);
        // At most the origin's limit (50) at once, at most the pool, never nothing.
        assert_noop!(spend(RuntimeOrigin::root(), d, 51), Error::<Test>::SpendAboveLimit);
        assert_noop!(spend(RuntimeOrigin::root(), d, 0), Error::<Test>::ZeroSpend);
        assert_noop!(spend(RuntimeOrigin::root(), 7, 10), Error::<Test>::DatanetNotFound);
        assert_noop!(spend(RuntimeOrigin::root(), other, 11), Error::<Test>::PoolTooSmall);

        let account = DatanetsPallet::account_id();
        assert_eq!(Balances::free_balance(account), 80);
        assert_ok!(spend(RuntimeOrigin::root(), d, 50));
        assert_eq!(RewardPools::<Test>::get(d), 20);
        assert_eq!(Balances::free_balance(STRANGER), INITIAL + 50);
        System::assert_last_event(
            Event::RewardPoolSpent { datanet: d, beneficiary: STRANGER, amount: 50 }.into(),
        );
        // A datanet's pool pays only from itself: the other pool is untouched.
        assert_noop!(spend(RuntimeOrigin::root(), d, 21), Error::<Test>::PoolTooSmall);
        assert_ok!(spend(RuntimeOrigin::root(), d, 20));
        assert!(!RewardPools::<Test>::contains_key(d), "an empty pool leaves the state");
        assert_eq!(RewardPools::<Test>::get(other), 10);
        assert_eq!(Balances::free_balance(account), 10);
        // The last of the pools may empty the pallet account.
        assert_ok!(spend(RuntimeOrigin::root(), other, 10));
        assert_eq!(Balances::free_balance(account), 0);
        assert_eq!(Balances::free_balance(STRANGER), INITIAL + 80);
    });
}
