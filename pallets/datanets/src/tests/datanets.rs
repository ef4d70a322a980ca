//! Creating, updating, curating and closing datanets.

use super::*;
use polkadot_sdk::frame_support::assert_noop;

#[test]
fn create_datanet_holds_the_deposit_and_emits_an_event() {
    ExtBuilder::default().build_and_execute(|| {
        // When OWNER creates a datanet,
        let id = create_public();

        // then it is stored, open, with the deposit held.
        let d = Datanets::<Test>::get(id).unwrap();
        assert_eq!(d.owner, OWNER);
        assert_eq!(d.status, DatanetStatus::Open);
        assert_eq!(d.contribution_stake, 10);
        assert_eq!(d.deposit, 100);
        assert_eq!(Balances::balance_on_hold(&HoldReason::DatanetDeposit.into(), &OWNER), 100);
        assert_eq!(NextDatanetId::<Test>::get(), 1);
        assert_eq!(
            datanet_events(),
            vec![Event::DatanetCreated {
                datanet: 0,
                owner: OWNER,
                visibility: Visibility::Public,
                contribution_stake: 10
            }]
        );
    });
}

#[test]
fn create_datanet_rejects_bad_arguments_without_side_effects() {
    ExtBuilder::default().build_and_execute(|| {
        let call = |name: Vec<u8>, uri: Vec<u8>, tag: Vec<u8>, stake: Balance, max: u64| {
            DatanetsPallet::create_datanet(
                RuntimeOrigin::signed(OWNER),
                name,
                uri,
                tag.clone(),
                tag,
                Visibility::Public,
                stake,
                max,
            )
        };
        assert_noop!(call(vec![], vec![], vec![], 10, 1), Error::<Test>::EmptyName);
        assert_noop!(call(vec![b'n'; 33], vec![], vec![], 10, 1), Error::<Test>::NameTooLong);
        assert_noop!(call(b"n".to_vec(), vec![b'u'; 65], vec![], 10, 1), Error::<Test>::UriTooLong);
        assert_noop!(call(b"n".to_vec(), vec![], vec![b't'; 17], 10, 1), Error::<Test>::TagTooLong);
        assert_noop!(call(b"n".to_vec(), vec![], vec![], 9, 1), Error::<Test>::StakeTooLow);
        assert_noop!(call(b"n".to_vec(), vec![], vec![], 10, 0), Error::<Test>::EmptyContribution);
        assert_noop!(
            DatanetsPallet::create_datanet(
                RuntimeOrigin::signed(POOR),
                b"n".to_vec(),
                vec![],
                vec![],
                vec![],
                Visibility::Public,
                10,
                1
            ),
            Error::<Test>::InsufficientBalance
        );
        assert_noop!(
            DatanetsPallet::create_datanet(
                RuntimeOrigin::none(),
                b"n".to_vec(),
                vec![],
                vec![],
                vec![],
                Visibility::Public,
                10,
                1
            ),
            polkadot_sdk::sp_runtime::DispatchError::BadOrigin
        );
    });
}

#[test]
fn only_the_owner_updates_and_the_update_applies() {
    ExtBuilder::default().build_and_execute(|| {
        let id = create_public();
        let update = DatanetUpdate::<Test> {
            description_uri: Some(b"ipfs://v2".to_vec().try_into().unwrap()),
            license: None,
            visibility: Some(Visibility::Private),
            contribution_stake: Some(20),
            max_contribution_bytes: Some(50),
        };
        assert_noop!(
            DatanetsPallet::update_datanet(RuntimeOrigin::signed(ALICE), id, update.clone()),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            DatanetsPallet::update_datanet(RuntimeOrigin::signed(OWNER), 9, update.clone()),
            Error::<Test>::DatanetNotFound
        );
        let mut low = update.clone();
        low.contribution_stake = Some(1);
        assert_noop!(
            DatanetsPallet::update_datanet(RuntimeOrigin::signed(OWNER), id, low),
            Error::<Test>::StakeTooLow
        );
        assert_ok!(DatanetsPallet::update_datanet(RuntimeOrigin::signed(OWNER), id, update));
        let d = Datanets::<Test>::get(id).unwrap();
        assert_eq!(d.description_uri.to_vec(), b"ipfs://v2".to_vec());
        assert_eq!(d.license.to_vec(), b"MIT".to_vec());
        assert_eq!(d.visibility, Visibility::Private);
        assert_eq!((d.contribution_stake, d.max_contribution_bytes), (20, 50));
        assert_eq!(datanet_events().last(), Some(&Event::DatanetUpdated { datanet: id }));
    });
}

#[test]
fn curators_are_added_and_removed_by_the_owner_within_bounds() {
    ExtBuilder::default().build_and_execute(|| {
        let id = create_public();
        assert_noop!(
            DatanetsPallet::add_curator(RuntimeOrigin::signed(ALICE), id, CURATOR),
            Error::<Test>::NotOwner
        );
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, CURATOR));
        assert_noop!(
            DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, CURATOR),
            Error::<Test>::AlreadyCurator
        );
        assert_noop!(
            DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, OWNER),
            Error::<Test>::AlreadyCurator
        );
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, 20));
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, 21));
        assert_noop!(
            DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), id, 22),
            Error::<Test>::TooManyCurators
        );
        assert_ok!(DatanetsPallet::remove_curator(RuntimeOrigin::signed(OWNER), id, CURATOR));
        assert_noop!(
            DatanetsPallet::remove_curator(RuntimeOrigin::signed(OWNER), id, CURATOR),
            Error::<Test>::CuratorNotFound
        );
        assert_eq!(Datanets::<Test>::get(id).unwrap().curators.to_vec(), vec![20, 21]);
        assert_eq!(
            datanet_events()[1..],
            [
                Event::CuratorAdded { datanet: id, curator: CURATOR },
                Event::CuratorAdded { datanet: id, curator: 20 },
                Event::CuratorAdded { datanet: id, curator: 21 },
                Event::CuratorRemoved { datanet: id, curator: CURATOR },
            ]
        );
    });
}

#[test]
fn closing_keeps_the_deposit_and_stops_contributions() {
    ExtBuilder::default().build_and_execute(|| {
        let id = create_public();
        let pending = contribute(ALICE, id, 1);
        assert_noop!(
            DatanetsPallet::close_datanet(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::NotOwner
        );
        assert_ok!(DatanetsPallet::close_datanet(RuntimeOrigin::signed(OWNER), id));
        // The datanet is still stored, so its deposit stays held until it is destroyed.
        assert_eq!(Balances::balance_on_hold(&HoldReason::DatanetDeposit.into(), &OWNER), 100);
        assert_eq!(datanet_events().last(), Some(&Event::DatanetClosed { datanet: id }));
        assert_noop!(
            DatanetsPallet::close_datanet(RuntimeOrigin::signed(OWNER), id),
            Error::<Test>::DatanetClosed
        );
        assert_noop!(
            DatanetsPallet::contribute(
                RuntimeOrigin::signed(BOB),
                id,
                hash(2),
                1,
                1,
                vec![],
                vec![],
                u128::MAX
            ),
            Error::<Test>::DatanetClosed
        );
        // Pending contributions can still be reviewed after closing.
        accept(pending);
    });
}

#[test]
fn genesis_datanets_are_created_with_their_deposit() {
    ExtBuilder::default().with_genesis_datanet(OWNER, "Genesis").build_and_execute(|| {
        let d = Datanets::<Test>::get(0).unwrap();
        assert_eq!(d.name.to_vec(), b"Genesis".to_vec());
        assert_eq!(Balances::balance_on_hold(&HoldReason::DatanetDeposit.into(), &OWNER), 100);
        assert_eq!(NextDatanetId::<Test>::get(), 1);
    });
}

#[test]
fn reward_pools_are_funded_from_a_free_balance_for_existing_datanets_only() {
    use provena_primitives::datanets::RewardPoolFunding;
    ExtBuilder::default().build_and_execute(|| {
        let id = create_public();
        let before = Balances::free_balance(BOB);
        assert_noop!(
            <crate::Pallet<Test> as RewardPoolFunding<_>>::fund_reward_pool(id + 1, &BOB, 5),
            Error::<Test>::DatanetNotFound
        );
        assert_ok!(<crate::Pallet<Test> as RewardPoolFunding<_>>::fund_reward_pool(id, &BOB, 5));
        assert_eq!(RewardPools::<Test>::get(id), 5);
        assert_eq!(Balances::free_balance(BOB), before - 5);
        System::assert_last_event(
            Event::RewardPoolFunded { datanet: id, from: BOB, amount: 5 }.into(),
        );
        // Never more than the payer can spend and stay alive.
        assert!(<crate::Pallet<Test> as RewardPoolFunding<_>>::fund_reward_pool(
            id,
            &BOB,
            Balances::free_balance(BOB)
        )
        .is_err());
        assert_eq!(RewardPools::<Test>::get(id), 5);
    });
}
