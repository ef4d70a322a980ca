//! Deposits for every stored item, and destroying a datanet: every deposit comes back exactly
//! when its item leaves the state.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::Inspect};
use provena_primitives::datanets::{ContributionInspect, SnapshotAccessError, SnapshotUsers};

fn publish(who: AccountId, d: DatanetId) {
    assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(who), d));
}

fn destroy(
    d: DatanetId,
    max: u32,
) -> polkadot_sdk::frame_support::dispatch::DispatchResultWithPostInfo {
    DatanetsPallet::destroy_items(RuntimeOrigin::signed(STRANGER), d, max)
}

/// Whether nothing keyed by datanet `d` is left in any of the pallet's maps.
fn nothing_left_of(d: DatanetId) -> bool {
    !Datanets::<Test>::contains_key(d)
        && DatanetContributions::<Test>::iter_prefix(d).next().is_none()
        && ContentIndex::<Test>::iter_prefix(d).next().is_none()
        && Snapshots::<Test>::iter_prefix(d).next().is_none()
        && SnapshotMembers::<Test>::iter_prefix(d).next().is_none()
        && AccessRequests::<Test>::iter_prefix(d).next().is_none()
        && AccessGrants::<Test>::iter_prefix(d).next().is_none()
        && !Accepted::<Test>::contains_key(d)
        && !RewardPools::<Test>::contains_key(d)
        && !SnapshotUsage::<Test>::contains_key(d)
        && Contributions::<Test>::iter_values().all(|c| c.datanet != d)
}

#[test]
fn a_snapshot_holds_a_deposit_and_an_unchanged_one_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), d, CURATOR));
        accept(contribute(ALICE, d, 1));
        accept(contribute(BOB, d, 2));
        publish(CURATOR, d);
        let one = SnapshotDepositBase::get() + 2 * SnapshotDepositPerMember::get();
        assert_eq!(Snapshots::<Test>::get(d, 1).unwrap().deposit, one);
        assert_eq!(storage_deposit(CURATOR), one, "the publisher holds it");
        // Nothing changed since version 1: refused, nothing held.
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::SnapshotUnchanged
        );
        accept(contribute(ALICE, d, 3));
        publish(OWNER, d);
        assert_eq!(
            storage_deposit(OWNER),
            SnapshotDepositBase::get() + 3 * SnapshotDepositPerMember::get()
        );
        // A publisher who cannot pay the deposit cannot publish.
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), d, POOR));
        accept(contribute(BOB, d, 4));
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(POOR), d),
            Error::<Test>::InsufficientBalance
        );
    });
}

#[test]
fn access_requests_hold_a_deposit_until_cancelled_rejected_or_the_grant_goes() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create(Visibility::Private);
        let request = |who| DatanetsPallet::request_access(RuntimeOrigin::signed(who), d, vec![]);
        assert_ok!(request(ALICE));
        assert_eq!(storage_deposit(ALICE), AccessDeposit::get());
        // Asking again replaces the purpose, not the deposit.
        assert_ok!(DatanetsPallet::request_access(
            RuntimeOrigin::signed(ALICE),
            d,
            b"ipfs://new".to_vec()
        ));
        assert_eq!(storage_deposit(ALICE), AccessDeposit::get());
        assert_eq!(
            AccessRequests::<Test>::get(d, ALICE).unwrap().purpose_uri.to_vec(),
            b"ipfs://new"
        );

        // Cancel: only one's own, and only an existing one.
        assert_noop!(
            DatanetsPallet::cancel_access_request(RuntimeOrigin::signed(BOB), d),
            Error::<Test>::AccessNotRequested
        );
        assert_ok!(DatanetsPallet::cancel_access_request(RuntimeOrigin::signed(ALICE), d));
        assert_eq!(storage_deposit(ALICE), 0);
        assert_eq!(
            datanet_events().last(),
            Some(&Event::AccessRequestRemoved { datanet: d, who: ALICE, rejected: false })
        );

        // Reject: owner only.
        assert_ok!(request(BOB));
        assert_noop!(
            DatanetsPallet::reject_access_request(RuntimeOrigin::signed(ALICE), d, BOB),
            Error::<Test>::NotOwner
        );
        assert_ok!(DatanetsPallet::reject_access_request(RuntimeOrigin::signed(OWNER), d, BOB));
        assert_eq!(storage_deposit(BOB), 0);
        assert_noop!(
            DatanetsPallet::reject_access_request(RuntimeOrigin::signed(OWNER), d, BOB),
            Error::<Test>::AccessNotRequested
        );

        // A grant keeps the request's deposit; renouncing returns it.
        assert_ok!(request(ALICE));
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, ALICE));
        assert_eq!(storage_deposit(ALICE), AccessDeposit::get());
        assert_eq!(AccessGrants::<Test>::get(d, ALICE).unwrap().depositor, ALICE);
        assert_ok!(DatanetsPallet::renounce_access(RuntimeOrigin::signed(ALICE), d));
        assert_eq!(storage_deposit(ALICE), 0);
        assert_noop!(
            DatanetsPallet::renounce_access(RuntimeOrigin::signed(ALICE), d),
            Error::<Test>::AccessNotGranted
        );

        // A grant nobody asked for: the owner holds the deposit and gets it back on revoke.
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, BOB));
        assert_eq!(storage_deposit(OWNER), AccessDeposit::get());
        assert_ok!(DatanetsPallet::revoke_access(RuntimeOrigin::signed(OWNER), d, BOB));
        assert_eq!(storage_deposit(OWNER), 0);
        // Someone who cannot pay the deposit cannot ask.
        assert_noop!(request(POOR), Error::<Test>::InsufficientBalance);
    });
}

#[test]
fn a_datanet_in_use_by_a_model_cannot_be_destroyed() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        accept(contribute(ALICE, d, 1));
        publish(OWNER, d);
        // The models pallet records a model trained on one of its snapshots.
        <DatanetsPallet as SnapshotUsers>::use_snapshots(d);
        assert_noop!(
            DatanetsPallet::start_destroy(RuntimeOrigin::signed(ALICE), d),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            DatanetsPallet::start_destroy(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::SnapshotsInUse
        );
        assert_noop!(destroy(d, 10), Error::<Test>::NotDestroying);
        // The model goes: now it can.
        <DatanetsPallet as SnapshotUsers>::release_snapshots(d);
        assert!(!SnapshotUsage::<Test>::contains_key(d));
        assert_ok!(DatanetsPallet::start_destroy(RuntimeOrigin::signed(OWNER), d));
        assert_noop!(
            DatanetsPallet::start_destroy(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::DatanetDestroying
        );
    });
}

#[test]
fn destroying_returns_every_deposit_and_stake_and_leaves_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create(Visibility::Private);
        let keep = create_public();
        let kept = contribute(ALICE, keep, 9);
        // Accepted (stake still locked), withdrawn after acceptance, disputed, pending.
        let a = contribute(ALICE, d, 1);
        let b = contribute(BOB, d, 2);
        let c = contribute(ALICE, d, 3);
        accept(a);
        accept(b);
        accept(c);
        publish(OWNER, d);
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(BOB), b));
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), c, Verdict::Slash));
        contribute(BOB, d, 4);
        publish(OWNER, d);
        assert_ok!(DatanetsPallet::request_access(RuntimeOrigin::signed(STRANGER), d, vec![]));
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, CURATOR));
        assert_ok!(DatanetsPallet::close_datanet(RuntimeOrigin::signed(OWNER), d));
        assert_ok!(DatanetsPallet::start_destroy(RuntimeOrigin::signed(OWNER), d));
        assert_eq!(datanet_events().last(), Some(&Event::DatanetDestroying { datanet: d }));

        // Nothing new can use it, and nothing may change it but the destruction.
        assert_eq!(
            DatanetsPallet::can_use_snapshot(&OWNER, d, 1),
            Err(SnapshotAccessError::UnknownDatanet)
        );
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::DatanetDestroying
        );
        assert_noop!(
            DatanetsPallet::review(RuntimeOrigin::signed(OWNER), a, Verdict::Slash),
            Error::<Test>::DatanetDestroying
        );
        assert_noop!(
            DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, BOB),
            Error::<Test>::DatanetDestroying
        );
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(BOB), d, vec![]),
            Error::<Test>::DatanetDestroying
        );
        assert_noop!(
            DatanetsPallet::close_datanet(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::DatanetDestroying
        );

        // In batches: 2 access items, 4 contributions, 2 snapshots, the datanet: 9 items.
        let treasury_before = Balances::balance(&TREASURY);
        assert_ok!(destroy(d, 3));
        assert_eq!(
            datanet_events().last(),
            Some(&Event::DatanetItemsDestroyed { datanet: d, removed: 3, done: false })
        );
        // Half-way (every contribution gone, the accepted one included; the snapshots and the
        // datanet left), the invariants hold.
        assert_ok!(destroy(d, 3));
        assert!(!Contributions::<Test>::contains_key(a) && Datanets::<Test>::contains_key(d));
        DatanetsPallet::do_try_state().unwrap();
        assert_ok!(destroy(d, 100));
        assert_eq!(
            datanet_events().last(),
            Some(&Event::DatanetItemsDestroyed { datanet: d, removed: 3, done: true })
        );
        assert!(nothing_left_of(d));
        assert!(datanet_events().contains(&Event::DatanetDestroyed {
            datanet: d,
            owner: OWNER,
            deposit_released: DatanetDeposit::get(),
            pool: 10,
        }));
        // The slashed stake in the pool went to the pool destination.
        assert_eq!(Balances::balance(&TREASURY), treasury_before + 10);
        // Everyone has everything back but the slashed stake; the other datanet is untouched.
        assert_eq!(Balances::free_balance(OWNER), INITIAL - DatanetDeposit::get());
        assert_eq!(Balances::free_balance(STRANGER), INITIAL);
        assert_eq!(Balances::free_balance(BOB), INITIAL);
        assert_eq!(
            Balances::free_balance(ALICE),
            INITIAL - 10 - 10 - ContributionDeposit::get(),
            "the slashed stake, and the stake and deposit of the contribution elsewhere"
        );
        assert_eq!(Contributions::<Test>::get(kept).unwrap().contributor_index, 0);
        assert_eq!(ContributorCount::<Test>::get(ALICE), 1);
        assert_noop!(destroy(d, 1), Error::<Test>::DatanetNotFound);
    });
}

/// Sets what attribution owes contribution `id`, in its record (as attribution does).
fn set_owed(id: ContributionId, owed: bool) {
    use provena_primitives::datanets::ContributionRewards;
    assert_ok!(<DatanetsPallet as ContributionRewards<TestReward>>::mutate_reward(id, |r| {
        r.owed = owed;
        Ok(())
    }));
}

#[test]
fn credit_still_owed_holds_up_the_destruction_until_paid() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let a = contribute(ALICE, d, 1);
        let b = contribute(BOB, d, 2);
        accept(a);
        accept(b);
        assert_ok!(DatanetsPallet::start_destroy(RuntimeOrigin::signed(OWNER), d));
        // Attribution owes `a` (the older one, removed last) and the datanet's pool.
        set_owed(a, true);
        OWED.with(|o| *o.borrow_mut() = vec![d]);
        // `b` goes, then the call stops at `a` and keeps its progress.
        assert_ok!(destroy(d, 10));
        assert_eq!(
            datanet_events().last(),
            Some(&Event::DatanetItemsDestroyed { datanet: d, removed: 1, done: false })
        );
        assert!(Contributions::<Test>::contains_key(a));
        assert!(!Contributions::<Test>::contains_key(b));
        // Nothing can go now: the caller learns why, and nothing changes.
        assert_noop!(destroy(d, 10), Error::<Test>::CreditOwed);
        // `a` is paid; the pool is still owed.
        set_owed(a, false);
        assert_ok!(destroy(d, 10));
        assert!(Datanets::<Test>::contains_key(d));
        assert_noop!(destroy(d, 10), Error::<Test>::CreditOwed);
        OWED.with(|o| o.borrow_mut().clear());
        assert_ok!(destroy(d, 10));
        assert!(nothing_left_of(d));
        assert_eq!(DatanetsPallet::contribution(a), None);
    });
}

/// v0 stored items without deposits or index positions; v1 adds them (deposits of zero: v0
/// never held any), and the items work as before.
#[test]
fn v1_adds_deposits_and_index_positions_to_what_a_v0_chain_stored() {
    use crate::migrations::v1::{old, MigrateToV1};
    use polkadot_sdk::frame_support::{
        storage::unhashed,
        traits::{
            fungible::MutateHold, tokens::Precision, GetStorageVersion, OnRuntimeUpgrade,
            StorageVersion,
        },
    };
    ExtBuilder::default().build_and_execute(|| {
        let d = create(Visibility::Private);
        let a = contribute(ALICE, d, 1);
        let b = contribute(ALICE, d, 2);
        let c = contribute(BOB, d, 3);
        accept(a);
        accept(b);
        publish(OWNER, d);
        assert_ok!(DatanetsPallet::request_access(RuntimeOrigin::signed(STRANGER), d, vec![]));
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, CURATOR));
        // Rewrite every item as v0 stored it, and release the deposits v0 never took.
        for (id, x) in Contributions::<Test>::iter().collect::<Vec<_>>() {
            let v0 = old::Contribution::<Test> {
                datanet: x.datanet,
                contributor: x.contributor,
                content_hash: x.content_hash,
                byte_size: x.byte_size,
                token_count: x.token_count,
                metadata_uri: x.metadata_uri,
                license: x.license,
                status: x.status,
                stake_held: x.stake_held,
                stake_unlocks_at: x.stake_unlocks_at,
                submitted_at: x.submitted_at,
                reviewed: x.reviewed,
            };
            unhashed::put(&Contributions::<Test>::hashed_key_for(id), &v0);
        }
        let s = Snapshots::<Test>::get(d, 1).unwrap();
        let v0 = old::Snapshot::<Test> {
            root: s.root,
            contribution_count: s.contribution_count,
            publisher: s.publisher,
            published_at: s.published_at,
        };
        unhashed::put(&Snapshots::<Test>::hashed_key_for(d, 1), &v0);
        let r = AccessRequests::<Test>::get(d, STRANGER).unwrap();
        let v0 =
            old::AccessRequest::<Test> { purpose_uri: r.purpose_uri, requested_at: r.requested_at };
        unhashed::put(&AccessRequests::<Test>::hashed_key_for(d, STRANGER), &v0);
        let granted_at = AccessGrants::<Test>::get(d, CURATOR).unwrap().granted_at;
        unhashed::put(&AccessGrants::<Test>::hashed_key_for(d, CURATOR), &granted_at);
        for who in [ALICE, BOB, OWNER, STRANGER] {
            let held = storage_deposit(who);
            assert_ok!(Balances::release(
                &HoldReason::StorageDeposit.into(),
                &who,
                held,
                Precision::Exact
            ));
        }
        StorageVersion::new(0).put::<DatanetsPallet>();
        assert!(Contributions::<Test>::get(a).is_none(), "v0 bytes do not decode as v1");

        MigrateToV1::<Test>::on_runtime_upgrade();

        assert_eq!(DatanetsPallet::on_chain_storage_version(), 1);
        // The runtime runs v2 right after (it sets the snapshot spans v1 leaves empty).
        crate::migrations::v2::MigrateToV2::<Test>::on_runtime_upgrade();
        // And v3 (an empty reward record in each contribution).
        crate::migrations::v3::MigrateToV3::<Test>::on_runtime_upgrade();
        assert_eq!(DatanetsPallet::on_chain_storage_version(), 3);
        assert!(Contributions::<Test>::get(a).unwrap().snapshots.unwrap().contains(1));
        assert_eq!(Contributions::<Test>::get(a).unwrap().reward, TestReward::default());
        for (id, index, who) in [(a, 0, ALICE), (b, 1, ALICE), (c, 2, BOB)] {
            let x = Contributions::<Test>::get(id).unwrap();
            assert_eq!((x.deposit, x.datanet_index, x.contributor), (0, index, who));
        }
        assert_eq!(Contributions::<Test>::get(b).unwrap().contributor_index, 1);
        assert_eq!(Contributions::<Test>::get(c).unwrap().contributor_index, 0);
        assert_eq!(Snapshots::<Test>::get(d, 1).unwrap().deposit, 0);
        assert_eq!(AccessRequests::<Test>::get(d, STRANGER).unwrap().deposit, 0);
        let grant = AccessGrants::<Test>::get(d, CURATOR).unwrap();
        assert_eq!((grant.granted_at, grant.depositor, grant.deposit), (granted_at, OWNER, 0));
        // They work as before: a legacy contribution leaves the state (returning nothing), and
        // the one that took the last index position moves into its place.
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), c, Verdict::Reject));
        assert!(!Contributions::<Test>::contains_key(c));
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), b));
        assert_ok!(DatanetsPallet::cancel_access_request(RuntimeOrigin::signed(STRANGER), d));
        assert_ok!(DatanetsPallet::revoke_access(RuntimeOrigin::signed(OWNER), d, CURATOR));
        // Running it again changes nothing: the storage version says it ran.
        MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(Contributions::<Test>::get(a).unwrap().datanet_index, 0);
    });
}

/// v2 stored contributions without a reward record; v3 gives each an empty one (attribution's
/// v4 then moves in what it kept for them), and nothing else changes.
#[test]
fn v3_gives_each_contribution_of_a_v2_chain_an_empty_reward_record() {
    use crate::migrations::v3::{old, MigrateToV3};
    use polkadot_sdk::frame_support::{
        storage::unhashed,
        traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
    };
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let a = contribute(ALICE, d, 1);
        let b = contribute(BOB, d, 2);
        accept(a);
        let before: Vec<_> = Contributions::<Test>::iter().collect();
        for (id, x) in &before {
            let v2 = old::Contribution::<Test> {
                datanet: x.datanet,
                contributor: x.contributor,
                content_hash: x.content_hash,
                byte_size: x.byte_size,
                token_count: x.token_count,
                metadata_uri: x.metadata_uri.clone(),
                license: x.license.clone(),
                status: x.status,
                stake_held: x.stake_held,
                stake_unlocks_at: x.stake_unlocks_at,
                submitted_at: x.submitted_at,
                reviewed: x.reviewed,
                deposit: x.deposit,
                datanet_index: x.datanet_index,
                contributor_index: x.contributor_index,
                priority: x.priority,
                snapshots: x.snapshots,
            };
            unhashed::put(&Contributions::<Test>::hashed_key_for(id), &v2);
        }
        StorageVersion::new(2).put::<DatanetsPallet>();
        assert!(Contributions::<Test>::get(a).is_none(), "v2 bytes do not decode as v3");

        MigrateToV3::<Test>::on_runtime_upgrade();

        assert_eq!(DatanetsPallet::on_chain_storage_version(), 3);
        let mut after: Vec<_> = Contributions::<Test>::iter().collect();
        after.sort_by_key(|(id, _)| *id);
        let mut before = before;
        before.sort_by_key(|(id, _)| *id);
        assert_eq!(after, before, "the same contributions, each with an empty reward record");
        // They work as before.
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(BOB), b));
        assert!(!Contributions::<Test>::contains_key(b));
    });
}
