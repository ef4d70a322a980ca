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
