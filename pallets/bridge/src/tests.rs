//! Unit tests of the bridge pallet; every test ends with `do_try_state`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use crate::{message, mock::*, pallet::*, InboundTransfer, RateLimits};
use polkadot_sdk::{
    frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec},
    sp_core::{H160, H256},
    sp_runtime::DispatchError,
};
use provena_primitives::merkle;

const RECIPIENT: H160 = H160::repeat_byte(0xee);

fn limits(capacity: Balance, per_block: Balance) -> RateLimits<Balance> {
    RateLimits {
        out_capacity: capacity,
        out_per_block: per_block,
        in_capacity: capacity,
        in_per_block: per_block,
    }
}

/// Target, a committee of keys 0, 1, 2 (threshold 2) and generous limits.
fn configure() {
    assert_ok!(Bridge::set_target(RuntimeOrigin::root(), ETH_CHAIN, CONTRACT));
    let members = BoundedVec::truncate_from((0..3).map(|i| address(&key(i))).collect());
    assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
    assert_ok!(Bridge::set_rate_limits(RuntimeOrigin::root(), limits(1_000_000, 1_000)));
}

fn root_signature(member: u8, committee: u32, epoch: u64) -> [u8; 65] {
    let root = Epochs::<Test>::get(epoch).unwrap().root;
    sign(&key(member), &Bridge::domain().unwrap().root_digest(committee, epoch, &root))
}

fn inbound(
    nonce: u64,
    recipient: AccountId,
    amount: Balance,
) -> InboundTransfer<AccountId, Balance> {
    InboundTransfer { source_chain_id: ETH_CHAIN, contract: CONTRACT, nonce, recipient, amount }
}

fn in_signatures(
    t: &InboundTransfer<AccountId, Balance>,
    committee: u32,
    members: &[u8],
) -> BoundedVec<[u8; 65], MaxMembers> {
    let mut recipient = [0u8; 32];
    // The pallet encodes a u64 account id little-endian (SCALE), right-aligned.
    recipient[24..].copy_from_slice(&t.recipient.to_le_bytes());
    let digest = Bridge::domain().unwrap().inbound_digest(committee, t.nonce, &recipient, t.amount);
    BoundedVec::truncate_from(members.iter().map(|m| sign(&key(*m), &digest)).collect())
}

fn locked_balance() -> Balance {
    Balances::balance(&Bridge::account_id())
}

#[test]
fn nothing_crosses_before_the_admin_configures_the_bridge() {
    run(|| {
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 100),
            Error::<Test>::NotConfigured
        );
        assert_ok!(Bridge::set_target(RuntimeOrigin::root(), ETH_CHAIN, CONTRACT));
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 100),
            Error::<Test>::NotConfigured
        );
        // Only the admin configures.
        assert_noop!(
            Bridge::set_target(RuntimeOrigin::signed(ALICE), ETH_CHAIN, CONTRACT),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Bridge::set_target(RuntimeOrigin::root(), 0, CONTRACT),
            Error::<Test>::NotConfigured
        );
    });
}

#[test]
fn a_transfer_out_is_locked_closed_into_an_epoch_and_its_root_signed() {
    run(|| {
        configure();
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 9),
            Error::<Test>::BelowMinimum
        );
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 500));
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(BOB), RECIPIENT, 300));
        assert_eq!(locked_balance(), 800);
        assert_eq!(TotalLocked::<Test>::get(), 800);
        assert_eq!(Balances::balance(&ALICE), 1_000_000 - 500);
        run_to(EPOCH);
        let e = Epochs::<Test>::get(0).expect("epoch 0 closed");
        let leaves = vec![
            message::transfer_leaf(0, &RECIPIENT, 500),
            message::transfer_leaf(1, &RECIPIENT, 300),
        ];
        assert_eq!(e.root, merkle::root(&leaves));
        assert_eq!(e.leaf_count, 2);
        assert!(Queue::<Test>::get().is_empty());
        // Each transfer's proof verifies against the root.
        let (epoch, proof) = Bridge::transfer_proof(1).unwrap();
        assert_eq!(epoch, 0);
        assert_eq!(proof.leaf, leaves[1]);
        assert!(merkle::verify(&e.root, &proof));

        // Signatures: an outsider's is refused, a member's counts once, the threshold signs.
        let outsider = {
            let root = e.root;
            sign(&key(9), &Bridge::domain().unwrap().root_digest(0, 0, &root))
        };
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, outsider),
            Error::<Test>::NotAMember
        );
        // A member's signature over another epoch's digest is not one over this root.
        let wrong = sign(&key(0), &Bridge::domain().unwrap().root_digest(0, 1, &e.root));
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, wrong),
            Error::<Test>::NotAMember
        );
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(0, 0, 0)
        ));
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(0, 0, 0)),
            Error::<Test>::DuplicateSignature
        );
        assert!(!Epochs::<Test>::get(0).unwrap().signed);
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(2, 0, 0)
        ));
        assert!(Epochs::<Test>::get(0).unwrap().signed);
        System::assert_has_event(
            Event::<Test>::EpochSigned { epoch: 0, root: e.root, committee: 0 }.into(),
        );
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(1, 0, 0)),
            Error::<Test>::AlreadySigned
        );
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 7, root_signature(1, 0, 0)),
            Error::<Test>::UnknownEpoch
        );
    });
}

#[test]
fn attribution_roots_ride_along_a_few_per_epoch() {
    run(|| {
        configure();
        SETTLED.with(|s| {
            *s.borrow_mut() =
                (1..=3u8).map(|i| Some((H256::repeat_byte(i), u32::from(i)))).collect()
        });
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 50));
        run_to(EPOCH);
        let leaves = vec![
            message::transfer_leaf(0, &RECIPIENT, 50),
            message::attribution_leaf(0, &H256::repeat_byte(1), 1),
            message::attribution_leaf(1, &H256::repeat_byte(2), 2),
        ];
        assert_eq!(Epochs::<Test>::get(0).unwrap().root, merkle::root(&leaves));
        // The third root goes in the next epoch, which has no transfers.
        run_to(2 * EPOCH);
        let next = Epochs::<Test>::get(1).unwrap();
        assert_eq!(
            next.root,
            merkle::root([message::attribution_leaf(2, &H256::repeat_byte(3), 3)])
        );
        let proof = Bridge::proof(1, 0).unwrap();
        assert!(merkle::verify(&next.root, &proof));
        // Nothing to settle: no epoch.
        run_to(3 * EPOCH);
        assert!(!Epochs::<Test>::contains_key(2));
        assert_eq!(NextEpoch::<Test>::get(), 2);
        // Attribution epochs closed without receipts have no root: they are passed over (two
        // reads count against the per-epoch bound), and the next with a root still comes.
        SETTLED.with(|s| {
            let mut s = s.borrow_mut();
            s.extend([None, None, Some((H256::repeat_byte(9), 4)), None]);
        });
        run_to(4 * EPOCH);
        // Epochs 3 and 4 (empty) filled the bound of 2: no leaves, no bridge epoch.
        assert!(!Epochs::<Test>::contains_key(2));
        assert_eq!(NextAttributionEpoch::<Test>::get(), 5);
        run_to(5 * EPOCH);
        let e = Epochs::<Test>::get(2).unwrap();
        assert_eq!(e.root, merkle::root([message::attribution_leaf(5, &H256::repeat_byte(9), 4)]));
        assert_eq!(NextAttributionEpoch::<Test>::get(), 7);
        assert_eq!(Bridge::attribution_proof(5).unwrap().0, 2);
        assert!(Bridge::attribution_proof(4).is_none());
    });
}

#[test]
fn a_transfer_in_needs_the_threshold_of_current_members_once() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 1_000));
        let t = inbound(0, BOB, 400);
        // M − 1 signatures, a member twice, an outsider: not enough.
        for members in [&[0][..], &[1, 1], &[0, 9]] {
            assert_noop!(
                Bridge::bridge_in(
                    RuntimeOrigin::signed(ALICE),
                    t.clone(),
                    in_signatures(&t, 0, members)
                ),
                Error::<Test>::NotEnoughSignatures
            );
        }
        // A forged signature (a member's, over other data) does not count.
        let mut forged = in_signatures(&inbound(0, BOB, 399), 0, &[0]);
        forged.try_push(in_signatures(&t, 0, &[1])[0]).unwrap();
        assert_noop!(
            Bridge::bridge_in(RuntimeOrigin::signed(ALICE), t.clone(), forged),
            Error::<Test>::NotEnoughSignatures
        );
        // Another chain, another contract.
        let other_chain = InboundTransfer { source_chain_id: 1, ..t.clone() };
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                other_chain,
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::WrongSourceChain
        );
        let other_contract = InboundTransfer { contract: H160::repeat_byte(1), ..t.clone() };
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                other_contract,
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::WrongContract
        );
        // Below the minimum (the contract never burns less).
        let dust = inbound(0, BOB, 9);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                dust.clone(),
                in_signatures(&dust, 0, &[0, 1])
            ),
            Error::<Test>::BelowMinimum
        );
        // Out of order.
        let later = inbound(1, BOB, 400);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                later.clone(),
                in_signatures(&later, 0, &[0, 1])
            ),
            Error::<Test>::UnexpectedNonce
        );
        let bob_before = Balances::balance(&BOB);
        assert_ok!(Bridge::bridge_in(
            RuntimeOrigin::signed(ALICE),
            t.clone(),
            in_signatures(&t, 0, &[2, 0])
        ));
        assert_eq!(Balances::balance(&BOB), bob_before + 400);
        assert_eq!(TotalLocked::<Test>::get(), 600);
        assert_eq!(locked_balance(), 600);
        // Replayed.
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::UnexpectedNonce
        );
        // More than is locked never leaves (a compromised committee is bounded by the lock).
        let too_much = inbound(1, BOB, 601);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                too_much.clone(),
                in_signatures(&too_much, 0, &[0, 1])
            ),
            Error::<Test>::InsufficientLocked
        );
    });
}

#[test]
fn a_rotated_out_committee_signs_nothing_and_open_roots_are_signed_anew() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 1_000));
        run_to(EPOCH);
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(0, 0, 0)
        ));
        // Keys 2, 3, 4 replace 0, 1, 2 (threshold 2).
        let members = BoundedVec::truncate_from((2..5).map(|i| address(&key(i))).collect());
        assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
        // The old committee's signatures, under its id or the new one, count for nothing.
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(1, 0, 0)),
            Error::<Test>::NotAMember
        );
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(1, 1, 0)),
            Error::<Test>::NotAMember
        );
        let t = inbound(0, BOB, 10);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::NotEnoughSignatures
        );
        // Key 2 stayed, but its signature under the old id does not count either.
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[2, 3])
            ),
            Error::<Test>::NotEnoughSignatures
        );
        assert_ok!(Bridge::bridge_in(
            RuntimeOrigin::signed(ALICE),
            t.clone(),
            in_signatures(&t, 1, &[3, 4])
        ));
        // The new committee signs the open root from scratch (key 0's signature was dropped).
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(3, 1, 0)
        ));
        assert!(!Epochs::<Test>::get(0).unwrap().signed);
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(4, 1, 0)
        ));
        let e = Epochs::<Test>::get(0).unwrap();
        assert!(e.signed && e.committee == 1 && e.signatures.len() == 2);
    });
}

#[test]
fn committees_need_distinct_members_and_a_majority() {
    run(|| {
        let a = |i| address(&key(i));
        for (members, threshold) in [
            (vec![a(0), a(1)], 1),
            (vec![a(0), a(1), a(2)], 4),
            (vec![a(0), a(0), a(1)], 2),
            (vec![H160::zero()], 1),
            (vec![], 0),
        ] {
            assert_noop!(
                Bridge::set_committee(
                    RuntimeOrigin::root(),
                    BoundedVec::truncate_from(members),
                    threshold
                ),
                Error::<Test>::BadCommittee
            );
        }
        assert_noop!(
            Bridge::set_committee(
                RuntimeOrigin::signed(GUARDIAN),
                BoundedVec::truncate_from(vec![a(0)]),
                1
            ),
            DispatchError::BadOrigin
        );
        assert_ok!(Bridge::set_committee(
            RuntimeOrigin::root(),
            BoundedVec::truncate_from(vec![a(0)]),
            1
        ));
    });
}

#[test]
fn rate_limits_refuse_what_is_over_the_bucket_until_it_refills() {
    run(|| {
        configure();
        assert_ok!(Bridge::set_rate_limits(RuntimeOrigin::root(), limits(100, 10)));
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 100));
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 10),
            Error::<Test>::RateLimited
        );
        run_to(2);
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 10));
        // Inbound has its own bucket: 100 now, then 10 a block.
        let t = inbound(0, BOB, 100);
        assert_ok!(Bridge::bridge_in(
            RuntimeOrigin::signed(ALICE),
            t.clone(),
            in_signatures(&t, 0, &[0, 1])
        ));
        let t = inbound(1, BOB, 10);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::RateLimited
        );
        run_to(3);
        assert_ok!(Bridge::bridge_in(
            RuntimeOrigin::signed(ALICE),
            t.clone(),
            in_signatures(&t, 0, &[0, 1])
        ));
    });
}

#[test]
fn the_guardian_pauses_everything_and_only_the_guardian() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 100));
        run_to(EPOCH);
        assert_noop!(Bridge::set_paused(RuntimeOrigin::root(), true), DispatchError::BadOrigin);
        assert_noop!(
            Bridge::set_paused(RuntimeOrigin::signed(ALICE), true),
            DispatchError::BadOrigin
        );
        assert_ok!(Bridge::set_paused(RuntimeOrigin::signed(GUARDIAN), true));
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 100),
            Error::<Test>::Paused
        );
        let t = inbound(0, BOB, 50);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::Paused
        );
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(0, 0, 0)),
            Error::<Test>::Paused
        );
        assert_ok!(Bridge::set_paused(RuntimeOrigin::signed(GUARDIAN), false));
        assert_ok!(Bridge::bridge_in(
            RuntimeOrigin::signed(ALICE),
            t.clone(),
            in_signatures(&t, 0, &[0, 1])
        ));
    });
}

#[test]
fn the_queue_is_bounded_and_old_epochs_are_deleted() {
    run(|| {
        configure();
        for _ in 0..4 {
            assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 10));
        }
        assert_noop!(
            Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 10),
            Error::<Test>::QueueFull
        );
        // Four more epochs, one transfer each: epoch 0 leaves the retention window (3).
        for i in 1..=4 {
            run_to(i * EPOCH);
            assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 10));
        }
        run_to(5 * EPOCH);
        assert_eq!(NextEpoch::<Test>::get(), 5);
        assert!(!Epochs::<Test>::contains_key(0) && !Epochs::<Test>::contains_key(1));
        assert!(EpochLeaves::<Test>::get(1).is_empty());
        assert!(Epochs::<Test>::contains_key(2) && Epochs::<Test>::contains_key(4));
        // A deleted epoch's transfer has no proof here any more; a retained one does.
        assert!(Bridge::transfer_proof(0).is_none());
        assert!(Bridge::transfer_proof(4).is_none());
        assert_eq!(Bridge::transfer_proof(7).map(|(e, _)| e), Some(4));
    });
}

fn approve(
    t: &InboundTransfer<AccountId, Balance>,
    committee: u32,
    member: u8,
) -> polkadot_sdk::sp_runtime::DispatchResult {
    let sig = in_signatures(t, committee, &[member])[0];
    Bridge::approve_in(RuntimeOrigin::signed(BOB), t.clone(), sig)
}

fn digest_of(t: &InboundTransfer<AccountId, Balance>) -> H256 {
    Bridge::inbound_digest(t).unwrap()
}

#[test]
fn members_approve_a_transfer_in_on_chain_and_anyone_releases_it() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 1_000));
        let t = inbound(0, BOB, 300);
        let d = digest_of(&t);
        assert_ok!(approve(&t, 0, 0));
        System::assert_last_event(
            Event::<Test>::InboundApprovalAdded {
                nonce: 0,
                digest: d,
                member: address(&key(0)),
                count: 1,
            }
            .into(),
        );
        // One approval is not the threshold; nothing is paid.
        assert_noop!(
            Bridge::release_in(RuntimeOrigin::signed(ALICE), 0, d),
            Error::<Test>::NotEnoughSignatures
        );
        // A member approves once per nonce, whatever the transfer.
        assert_noop!(approve(&t, 0, 0), Error::<Test>::DuplicateSignature);
        let forged = inbound(0, ALICE, 900);
        assert_ok!(approve(&forged, 0, 1));
        assert_noop!(approve(&t, 0, 1), Error::<Test>::DuplicateSignature);
        // Refused outright: a non-member, another chain or contract, a nonce outside the
        // window, below the minimum, a signature over another digest.
        assert_noop!(approve(&t, 0, 4), Error::<Test>::NotAMember);
        let mut other = t.clone();
        other.source_chain_id = 1;
        assert_noop!(approve(&other, 0, 2), Error::<Test>::WrongSourceChain);
        let mut other = t.clone();
        other.contract = H160::repeat_byte(1);
        assert_noop!(approve(&other, 0, 2), Error::<Test>::WrongContract);
        assert_noop!(approve(&inbound(4, BOB, 300), 0, 2), Error::<Test>::OutsideWindow);
        assert_noop!(approve(&inbound(0, BOB, 9), 0, 2), Error::<Test>::BelowMinimum);
        let sig = in_signatures(&inbound(0, BOB, 301), 0, &[2])[0];
        assert_noop!(
            Bridge::approve_in(RuntimeOrigin::signed(BOB), t.clone(), sig),
            Error::<Test>::NotAMember
        );
        // The next nonces can be approved ahead, but not released out of order.
        let t1 = inbound(1, BOB, 200);
        assert_ok!(approve(&t1, 0, 0));
        assert_ok!(approve(&t1, 0, 2));
        assert_noop!(
            Bridge::release_in(RuntimeOrigin::signed(ALICE), 1, digest_of(&t1)),
            Error::<Test>::UnexpectedNonce
        );

        let bob = Balances::balance(&BOB);
        assert_ok!(approve(&t, 0, 2));
        System::assert_last_event(Event::<Test>::InboundApproved { nonce: 0, digest: d }.into());
        assert_ok!(Bridge::release_in(RuntimeOrigin::signed(ALICE), 0, d));
        assert_eq!(Balances::balance(&BOB), bob + 300);
        assert_eq!(TotalLocked::<Test>::get(), 700);
        // Every approval of nonce 0 is gone, the forged one too; nothing is paid twice.
        assert_eq!(InboundApprovals::<Test>::iter_prefix(0).count(), 0);
        assert_noop!(
            Bridge::release_in(RuntimeOrigin::signed(ALICE), 0, d),
            Error::<Test>::UnknownApproval
        );
        assert_noop!(approve(&t, 0, 1), Error::<Test>::OutsideWindow);
        assert_noop!(
            Bridge::bridge_in(
                RuntimeOrigin::signed(ALICE),
                t.clone(),
                in_signatures(&t, 0, &[0, 1])
            ),
            Error::<Test>::UnexpectedNonce
        );
        assert_ok!(Bridge::release_in(RuntimeOrigin::signed(ALICE), 1, digest_of(&t1)));
        assert_eq!(Balances::balance(&BOB), bob + 500);
        // Paused: no approvals, no releases.
        assert_ok!(Bridge::set_paused(RuntimeOrigin::signed(GUARDIAN), true));
        assert_noop!(approve(&inbound(2, BOB, 100), 0, 0), Error::<Test>::Paused);
    });
}

#[test]
fn a_rotation_drops_the_old_committees_approvals() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 1_000));
        let t = inbound(0, BOB, 300);
        assert_ok!(approve(&t, 0, 0));
        assert_ok!(approve(&t, 0, 1));
        let old = digest_of(&t);
        assert_ok!(approve(&inbound(1, BOB, 100), 0, 0));
        let members = BoundedVec::truncate_from((2..5).map(|i| address(&key(i))).collect());
        assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
        // The old committee's approvals reached the threshold, but are gone with it.
        assert_eq!(InboundApprovals::<Test>::iter().count(), 0);
        assert_noop!(
            Bridge::release_in(RuntimeOrigin::signed(ALICE), 0, old),
            Error::<Test>::UnknownApproval
        );
        assert_noop!(approve(&t, 1, 0), Error::<Test>::NotAMember);
        // Key 2 stays a member and approves afresh under the new committee.
        assert_ok!(approve(&t, 1, 2));
        assert_ok!(approve(&t, 1, 4));
        assert_ok!(Bridge::release_in(RuntimeOrigin::signed(ALICE), 0, digest_of(&t)));
        assert_eq!(TotalLocked::<Test>::get(), 700);
    });
}

#[test]
fn the_outgoing_committee_signs_the_handover() {
    run(|| {
        configure();
        assert!(
            Rotations::<Test>::iter().next().is_none(),
            "the first committee hands over nothing"
        );
        let next: Vec<H160> = (2..5).map(|i| address(&key(i))).collect();
        assert_ok!(Bridge::set_committee(
            RuntimeOrigin::root(),
            BoundedVec::truncate_from(next.clone()),
            2
        ));
        let r = Rotations::<Test>::get(1).unwrap();
        assert_eq!(
            (r.from.id, r.to.id, r.to.members.to_vec(), r.signed),
            (0, 1, next.clone(), false)
        );
        let digest = Bridge::domain().unwrap().rotation_digest(0, 1, 2, &next);
        let sig = |m: u8| sign(&key(m), &digest);
        // Only outgoing members count, each once; the handover is signable while paused.
        assert_ok!(Bridge::set_paused(RuntimeOrigin::signed(GUARDIAN), true));
        assert_noop!(
            Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sig(3)),
            Error::<Test>::NotAMember
        );
        let wrong = Bridge::domain().unwrap().rotation_digest(0, 1, 3, &next);
        assert_noop!(
            Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sign(&key(0), &wrong)),
            Error::<Test>::NotAMember
        );
        assert_noop!(
            Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 2, sig(0)),
            Error::<Test>::UnknownRotation
        );
        assert_ok!(Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sig(0)));
        assert_noop!(
            Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sig(0)),
            Error::<Test>::DuplicateSignature
        );
        assert_ok!(Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sig(2)));
        System::assert_last_event(Event::<Test>::RotationSigned { to: 1 }.into());
        assert!(Rotations::<Test>::get(1).unwrap().signed);
        assert_noop!(
            Bridge::sign_rotation(RuntimeOrigin::signed(BOB), 1, sig(1)),
            Error::<Test>::AlreadySigned
        );
        // Only the last `RotationRetention` (2) handovers are kept.
        for first in [5u8, 8] {
            let members =
                BoundedVec::truncate_from((first..first + 3).map(|i| address(&key(i))).collect());
            assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
        }
        assert!(Rotations::<Test>::get(1).is_none());
        assert!(Rotations::<Test>::get(2).is_some() && Rotations::<Test>::get(3).is_some());
    });
}

#[test]
fn a_root_the_old_committee_signed_is_signed_again_after_a_rotation() {
    run(|| {
        configure();
        assert_ok!(Bridge::bridge_out(RuntimeOrigin::signed(ALICE), RECIPIENT, 1_000));
        run_to(EPOCH);
        for m in [0, 1] {
            assert_ok!(Bridge::submit_signature(
                RuntimeOrigin::signed(BOB),
                0,
                root_signature(m, 0, 0)
            ));
        }
        assert!(Epochs::<Test>::get(0).unwrap().signed);
        // Signed by committee 0, which the contract may have left before the root reached it.
        let members = BoundedVec::truncate_from((2..5).map(|i| address(&key(i))).collect());
        assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
        // An invalid signature changes nothing; a new member's starts the root afresh.
        assert_noop!(
            Bridge::submit_signature(RuntimeOrigin::signed(BOB), 0, root_signature(0, 1, 0)),
            Error::<Test>::NotAMember
        );
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(3, 1, 0)
        ));
        let e = Epochs::<Test>::get(0).unwrap();
        assert!(!e.signed && e.committee == 1 && e.signatures.len() == 1);
        assert_ok!(Bridge::submit_signature(
            RuntimeOrigin::signed(BOB),
            0,
            root_signature(4, 1, 0)
        ));
        let e = Epochs::<Test>::get(0).unwrap();
        assert!(e.signed && e.committee == 1);
    });
}
