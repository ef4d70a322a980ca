//! Contributing, duplicates, withdrawal and stake release.

use super::*;
use polkadot_sdk::frame_support::assert_noop;
use provena_primitives::ContributionId;

#[test]
fn contribute_holds_the_stake_and_indexes_the_contribution() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);

        let c = Contributions::<Test>::get(id).unwrap();
        assert_eq!((c.datanet, c.contributor, c.content_hash), (d, ALICE, hash(1)));
        assert_eq!(c.status, ContributionStatus::Pending);
        assert_eq!(c.stake_held, 10);
        assert_eq!(c.license.to_vec(), b"MIT".to_vec(), "inherits the datanet's license");
        assert_eq!(stake_held(ALICE), 10);
        assert_eq!(ContentIndex::<Test>::get(d, hash(1)), Some(id));
        assert_eq!(DatanetContributions::<Test>::get(d, 0), Some(id));
        assert_eq!(ContributorContributions::<Test>::get(ALICE, 0), Some(id));
        assert_eq!(ContributorCount::<Test>::get(ALICE), 1);
        assert_eq!(Datanets::<Test>::get(d).unwrap().contribution_count, 1);
        assert_eq!(
            datanet_events().last(),
            Some(&Event::ContributionSubmitted {
                datanet: d,
                contribution: id,
                contributor: ALICE,
                content_hash: hash(1),
                stake: 10
            })
        );
    });
}

#[test]
fn contribute_errors_have_no_side_effects() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        contribute(ALICE, d, 1);
        let call = |who, datanet, h, size| {
            DatanetsPallet::contribute(
                RuntimeOrigin::signed(who),
                datanet,
                h,
                size,
                1,
                vec![],
                vec![],
                u128::MAX,
            )
        };
        assert_noop!(call(BOB, 7, hash(2), 1), Error::<Test>::DatanetNotFound);
        // First registration wins, even for someone else's copy.
        assert_noop!(call(BOB, d, hash(1), 1), Error::<Test>::DuplicateContent);
        assert_noop!(call(ALICE, d, hash(1), 1), Error::<Test>::DuplicateContent);
        assert_noop!(call(BOB, d, hash(2), 1_001), Error::<Test>::ContributionTooLarge);
        assert_noop!(call(BOB, d, hash(2), 0), Error::<Test>::EmptyContribution);
        assert_noop!(call(POOR, d, hash(2), 1), Error::<Test>::InsufficientBalance);
        assert_noop!(
            DatanetsPallet::contribute(
                RuntimeOrigin::signed(BOB),
                d,
                hash(2),
                1,
                1,
                vec![b'u'; 65],
                vec![],
                u128::MAX
            ),
            Error::<Test>::UriTooLong
        );
        assert_noop!(
            DatanetsPallet::contribute(
                RuntimeOrigin::signed(BOB),
                d,
                hash(2),
                1,
                1,
                vec![],
                vec![b'l'; 17],
                u128::MAX
            ),
            Error::<Test>::TagTooLong
        );
    });
}

#[test]
fn the_same_content_may_go_to_different_datanets() {
    ExtBuilder::default().build_and_execute(|| {
        let a = create_public();
        let b = create_public();
        contribute(ALICE, a, 1);
        contribute(BOB, b, 1);
        assert_eq!(stake_held(ALICE) + stake_held(BOB), 20);
    });
}

#[test]
fn withdrawing_a_pending_contribution_returns_stake_and_deposit_and_frees_the_hash() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        assert_noop!(
            DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::NotContributor
        );
        assert_noop!(
            DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), ContributionId(99)),
            Error::<Test>::ContributionNotFound
        );
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(stake_held(ALICE), 0);
        assert_eq!(storage_deposit(ALICE), 0);
        assert_eq!(Balances::free_balance(ALICE), INITIAL);
        // Never in a snapshot: the record leaves the state (events keep the history).
        assert_eq!(Contributions::<Test>::get(id), None);
        assert_eq!(
            datanet_events()[2..],
            [
                Event::ContributionWithdrawn { datanet: d, contribution: id },
                Event::StakeReleased { contribution: id, contributor: ALICE, amount: 10 },
                Event::ContributionRemoved {
                    contribution: id,
                    contributor: ALICE,
                    deposit_released: ContributionDeposit::get()
                },
            ]
        );
        assert_noop!(
            DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::ContributionNotFound
        );
        // The hash is free again.
        contribute(BOB, d, 1);
    });
}

#[test]
fn an_accepted_stake_is_released_only_after_the_lockup() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let id = contribute(ALICE, d, 1);
        assert_noop!(
            DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::StakeLocked
        );
        accept(id);
        assert_eq!(Contributions::<Test>::get(id).unwrap().stake_unlocks_at, Some(11));
        run_to_block(10);
        assert_noop!(
            DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::StakeLocked
        );
        run_to_block(11);
        assert!(power_credited().is_empty());
        // Anyone may trigger the release; the stake goes to the contributor, and so does its
        // contribution power: the stake (10) weighted by the quality (80%).
        assert_ok!(DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), id));
        assert_eq!(stake_held(ALICE), 0);
        assert_eq!(power_credited(), vec![(ALICE, 8)]);
        // The storage deposit stays with the record, which snapshots may commit to.
        assert_eq!(Balances::free_balance(ALICE), INITIAL - ContributionDeposit::get());
        assert_eq!(
            datanet_events().last(),
            Some(&Event::StakeReleased { contribution: id, contributor: ALICE, amount: 10 })
        );
        assert_noop!(
            DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::NothingToRelease
        );
        assert_noop!(
            DatanetsPallet::release_stake(RuntimeOrigin::signed(BOB), ContributionId(42)),
            Error::<Test>::ContributionNotFound
        );
    });
}

#[test]
fn withdrawing_an_accepted_contribution_removes_it_from_future_snapshots() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let a = contribute(ALICE, d, 1);
        let b = contribute(BOB, d, 2);
        accept(a);
        accept(b);
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), a));
        // The stake keeps its lock-up.
        assert_eq!(stake_held(ALICE), 10);
        assert_eq!(Accepted::<Test>::get(d).to_vec(), vec![b]);
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        assert_eq!(SnapshotMembers::<Test>::get(d, 1).to_vec(), vec![a, b], "history is kept");
        assert_eq!(SnapshotMembers::<Test>::get(d, 2).to_vec(), vec![b]);
        // The hash is free to be registered again; the record stays with snapshot 1.
        contribute(BOB, d, 1);
        assert_eq!(Contributions::<Test>::get(a).unwrap().status, ContributionStatus::Withdrawn);
        run_to_block(11);
        assert_ok!(DatanetsPallet::release_stake(RuntimeOrigin::signed(ALICE), a));
        assert_eq!(Balances::free_balance(ALICE), INITIAL - ContributionDeposit::get());
    });
}

#[test]
fn contributions_page_per_datanet_and_per_contributor() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let e = create_public();
        let ids: Vec<_> = (1..=5).map(|n| contribute(ALICE, d, n)).collect();
        let other = contribute(ALICE, e, 9);
        let page = |start, limit| {
            DatanetsPallet::api_datanet_contributions(d, start, limit)
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(page(0, 2), ids[0..2]);
        assert_eq!(page(2, 2), ids[2..4]);
        assert_eq!(page(4, 2), ids[4..5]);
        assert!(page(5, 2).is_empty());
        assert!(page(u32::MAX, u32::MAX).is_empty());
        let mine: Vec<_> = DatanetsPallet::api_contributor_contributions(&ALICE, 0, 100)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(mine, [ids.clone(), vec![other]].concat());
        assert!(DatanetsPallet::api_contributor_contributions(&BOB, 0, 10).is_empty());
    });
}

#[test]
fn a_contributor_caps_the_stake_it_agrees_to() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        // The owner raises the stake from 10 to 50 just before the contribution lands.
        assert_ok!(DatanetsPallet::update_datanet(
            RuntimeOrigin::signed(OWNER),
            d,
            DatanetUpdate {
                description_uri: None,
                license: None,
                visibility: None,
                contribution_stake: Some(50),
                max_contribution_bytes: None,
            }
        ));
        let contribute_with = |max_stake| {
            DatanetsPallet::contribute(
                RuntimeOrigin::signed(ALICE),
                d,
                hash(1),
                100,
                25,
                Vec::new(),
                Vec::new(),
                max_stake,
            )
        };
        assert_noop!(contribute_with(10), Error::<Test>::StakeAboveMax);
        assert_ok!(contribute_with(50));
        assert_eq!(stake_held(ALICE), 50);
    });
}

#[test]
fn only_a_contribution_still_accepted_at_its_release_earns_contribution_power() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let kept = contribute(ALICE, d, 1);
        let withdrawn = contribute(BOB, d, 2);
        accept(kept);
        accept(withdrawn);
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(BOB), withdrawn));
        run_to_block(11);
        assert_ok!(DatanetsPallet::release_stake(RuntimeOrigin::signed(CURATOR), withdrawn));
        assert_ok!(DatanetsPallet::release_stake(RuntimeOrigin::signed(CURATOR), kept));
        assert_eq!(power_credited(), vec![(ALICE, 8)]);
    });
}
