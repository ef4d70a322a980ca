//! Snapshots and their Merkle proofs.

use super::*;
use polkadot_sdk::{frame_support::assert_noop, sp_io::hashing::keccak_256};
use provena_primitives::merkle::MerkleProof;

/// An independent verifier of the documented tree (keccak leaves, keccak(left ++ right) inner
/// nodes, odd last node promoted), written from the spec rather than from the pallet's code.
fn verify_independently(root: H256, p: &MerkleProof) -> bool {
    let mut hash = keccak_256(&p.leaf);
    let (mut index, mut width) = (p.leaf_index as u64, p.leaf_count as u64);
    let mut siblings = p.siblings.iter();
    while width > 1 {
        let is_promoted = index.is_multiple_of(2) && index + 1 == width;
        if !is_promoted {
            let Some(sibling) = siblings.next() else { return false };
            let mut buf = [0u8; 64];
            if index.is_multiple_of(2) {
                buf[..32].copy_from_slice(&hash);
                buf[32..].copy_from_slice(sibling.as_bytes());
            } else {
                buf[..32].copy_from_slice(sibling.as_bytes());
                buf[32..].copy_from_slice(&hash);
            }
            hash = keccak_256(&buf);
        }
        index /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && H256(hash) == root
}

#[test]
fn a_snapshot_commits_to_the_accepted_contributions_in_id_order() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let ids: Vec<_> =
            (1..=5).map(|n| contribute(if n % 2 == 0 { BOB } else { ALICE }, d, n)).collect();
        // Accept out of order; reject one, leave one pending.
        for i in [3, 0, 4] {
            accept(ids[i]);
        }
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), ids[1], Verdict::Reject));

        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        let members = vec![ids[0], ids[3], ids[4]];
        assert_eq!(SnapshotMembers::<Test>::get(d, 1).to_vec(), members);
        let snapshot = Snapshots::<Test>::get(d, 1).unwrap();
        let leaves: Vec<Vec<u8>> = members
            .iter()
            .map(|id| {
                let c = Contributions::<Test>::get(id).unwrap();
                (*id, c.content_hash, c.contributor).encode()
            })
            .collect();
        assert_eq!(snapshot.root, merkle::root(&leaves));
        assert_eq!(snapshot.contribution_count, 3);
        assert_eq!(Datanets::<Test>::get(d).unwrap().snapshot_count, 1);
        assert_eq!(
            datanet_events().last(),
            Some(&Event::SnapshotPublished {
                datanet: d,
                version: 1,
                root: snapshot.root,
                contributions: 3,
                publisher: OWNER
            })
        );

        // Every member's proof verifies with the independent verifier; others have none.
        for id in &members {
            let proof = DatanetsPallet::api_snapshot_proof(d, 1, *id).unwrap();
            assert!(verify_independently(snapshot.root, &proof), "member {id}");
            let mut forged = proof.clone();
            forged.leaf = (99u64, hash(9), ALICE).encode();
            assert!(!verify_independently(snapshot.root, &forged));
        }
        assert!(DatanetsPallet::api_snapshot_proof(d, 1, ids[1]).is_none());
        assert!(DatanetsPallet::api_snapshot_proof(d, 2, ids[0]).is_none());
        assert!(<DatanetsPallet as ContributionInspect<AccountId>>::in_snapshot(d, 1, ids[3]));
        assert!(!<DatanetsPallet as ContributionInspect<AccountId>>::in_snapshot(d, 1, ids[2]));
    });
}

#[test]
fn snapshots_are_numbered_and_immutable() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let a = contribute(ALICE, d, 1);
        accept(a);
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        let first = Snapshots::<Test>::get(d, 1).unwrap();
        let b = contribute(BOB, d, 2);
        accept(b);
        assert_ok!(DatanetsPallet::add_curator(RuntimeOrigin::signed(OWNER), d, CURATOR));
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(CURATOR), d));
        assert_eq!(Snapshots::<Test>::get(d, 1).unwrap(), first, "version 1 unchanged");
        let second = Snapshots::<Test>::get(d, 2).unwrap();
        assert_ne!(second.root, first.root);
        assert_eq!(second.publisher, CURATOR);
    });
}

#[test]
fn publish_snapshot_errors_have_no_side_effects() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), 5),
            Error::<Test>::DatanetNotFound
        );
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::NothingAccepted
        );
        let id = contribute(ALICE, d, 1);
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::NothingAccepted
        );
        accept(id);
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(ALICE), d),
            Error::<Test>::NotCurator
        );
        for n in 0..4 {
            assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
            accept(contribute(ALICE, d, 10 + n));
        }
        assert_noop!(
            DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d),
            Error::<Test>::TooManySnapshots
        );
    });
}

/// Issue 17, point 11: checking a receipt read the member list of every snapshot its model
/// declares (up to 2,000 ids, 16 KB of proof, each; up to 33 a receipt). A contribution now
/// records the snapshots that hold it, through acceptance, new versions, withdrawal and a
/// dispute, and the span agrees with the member lists (also checked by `do_try_state`).
#[test]
fn a_contribution_knows_the_snapshots_that_hold_it() {
    use provena_primitives::datanets::SnapshotSpan;
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let view = |id| {
            <DatanetsPallet as ContributionInspect<AccountId>>::contribution(id).unwrap().snapshots
        };
        let publish = || {
            assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        };
        let a = contribute(ALICE, d, 1);
        let b = contribute(BOB, d, 2);
        assert_eq!(view(a), None, "pending: in no snapshot");
        accept(a);
        assert_eq!(view(a), Some(SnapshotSpan { after: 0, until: None }));
        publish(); // 1: a
        accept(b);
        assert_eq!(view(b), Some(SnapshotSpan { after: 1, until: None }));
        publish(); // 2: a, b
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), a));
        assert_eq!(view(a), Some(SnapshotSpan { after: 0, until: Some(2) }));
        let c = contribute(ALICE, d, 3);
        accept(c);
        publish(); // 3: b, c
                   // A dispute within the lock-up takes b out of later snapshots.
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), b, Verdict::Slash));
        assert_eq!(view(b), Some(SnapshotSpan { after: 1, until: Some(3) }));
        let e = contribute(BOB, d, 4);
        accept(e);
        publish(); // 4: c, e
        for (id, holds) in [
            (a, [true, true, false, false]),
            (b, [false, true, true, false]),
            (c, [false, false, true, true]),
            (e, [false, false, false, true]),
        ] {
            for (version, held) in (1..=4).zip(holds) {
                let span = view(id).unwrap();
                assert_eq!(span.contains(version), held, "{id} in {version}");
                assert_eq!(
                    <DatanetsPallet as ContributionInspect<AccountId>>::in_snapshot(d, version, id),
                    held
                );
            }
        }
    });
}

/// v1 stored no spans; v2 sets each from the member lists, to what the pallet records live.
#[test]
fn v2_sets_every_contributions_span_from_the_snapshots_that_list_it() {
    use crate::migrations::v2::{old, MigrateToV2};
    use polkadot_sdk::frame_support::{
        storage::unhashed,
        traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
    };
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        let publish = || {
            assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        };
        let (a, b, c) = (contribute(ALICE, d, 1), contribute(BOB, d, 2), contribute(ALICE, d, 3));
        accept(a);
        publish();
        accept(b);
        publish();
        assert_ok!(DatanetsPallet::withdraw_contribution(RuntimeOrigin::signed(ALICE), a));
        assert_ok!(DatanetsPallet::review(RuntimeOrigin::signed(OWNER), b, Verdict::Slash));
        let late = contribute(BOB, d, 4);
        accept(late); // accepted, in no snapshot yet
        accept(c);
        publish();
        let pending = contribute(BOB, d, 5);
        let live: Vec<_> = Contributions::<Test>::iter().collect();
        for (id, x) in &live {
            let v1 = old::Contribution::<Test> {
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
            };
            unhashed::put(&Contributions::<Test>::hashed_key_for(id), &v1);
        }
        StorageVersion::new(1).put::<DatanetsPallet>();

        MigrateToV2::<Test>::on_runtime_upgrade();

        assert_eq!(DatanetsPallet::on_chain_storage_version(), 2);
        for (id, x) in live {
            assert_eq!(Contributions::<Test>::get(id), Some(x), "contribution {id}");
        }
        assert_eq!(Contributions::<Test>::get(pending).unwrap().snapshots, None);
        assert!(Contributions::<Test>::get(late).unwrap().snapshots.unwrap().contains(3));
    });
}
