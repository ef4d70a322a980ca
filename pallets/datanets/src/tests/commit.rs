//! Commit–reveal: the first committer of a content hash gets the credit, whoever registers it
//! first (see `provena_primitives::commit`).

use super::*;
use polkadot_sdk::frame_support::assert_noop;
use provena_primitives::commit::commitment;

const SALT: H256 = H256::repeat_byte(0x5a);

fn commit(who: AccountId, n: u8) {
    assert_ok!(DatanetsPallet::commit(
        RuntimeOrigin::signed(who),
        commitment(&hash(n), &who, &SALT)
    ));
}

fn reveal(who: AccountId, d: DatanetId, n: u8) -> DispatchResult {
    DatanetsPallet::contribute_committed(
        RuntimeOrigin::signed(who),
        d,
        hash(n),
        100,
        25,
        b"ipfs://meta".to_vec(),
        Vec::new(),
        u128::MAX,
        SALT,
    )
}

#[test]
fn a_commitment_is_revealed_from_the_next_block_and_returns_its_deposit() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        commit(ALICE, 1);
        assert_eq!(storage_deposit(ALICE), CommitDeposit::get());
        assert_noop!(
            DatanetsPallet::commit(
                RuntimeOrigin::signed(ALICE),
                commitment(&hash(1), &ALICE, &SALT)
            ),
            Error::<Test>::AlreadyCommitted
        );
        // Not in the block it was made in, not with another salt, not by someone else.
        assert_noop!(reveal(ALICE, d, 1), Error::<Test>::CommitmentTooRecent);
        run_to_block(2);
        assert_noop!(reveal(BOB, d, 1), Error::<Test>::CommitmentNotFound);
        assert_noop!(reveal(ALICE, d, 2), Error::<Test>::CommitmentNotFound);
        let id = NextContributionId::<Test>::get();
        assert_ok!(reveal(ALICE, d, 1));
        let c = Contributions::<Test>::get(id).unwrap();
        assert_eq!((c.contributor, c.priority, c.submitted_at), (ALICE, 1, 2));
        assert_eq!(storage_deposit(ALICE), ContributionDeposit::get(), "the commitment's is back");
        assert!(Commitments::<Test>::iter().next().is_none());
        // Used up: it cannot be revealed again.
        assert_noop!(reveal(ALICE, d, 1), Error::<Test>::CommitmentNotFound);
    });
}

#[test]
fn the_first_committer_takes_the_hash_from_a_front_runner() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        commit(ALICE, 1);
        run_to_block(2);
        // A watcher sees Alice's reveal in the pool and gets the same hash in first.
        let front = contribute(STRANGER, d, 1);
        assert_ok!(reveal(ALICE, d, 1));
        // The front-runner's pending contribution is gone (stake and deposit back).
        assert!(!Contributions::<Test>::contains_key(front));
        assert_eq!((stake_held(STRANGER), storage_deposit(STRANGER)), (0, 0));
        assert_eq!(Balances::free_balance(STRANGER), INITIAL);
        let id = ContentIndex::<Test>::get(d, hash(1)).unwrap();
        assert_eq!(Contributions::<Test>::get(id).unwrap().contributor, ALICE);
        assert!(datanet_events().contains(&Event::ContributionDisplaced {
            contribution: front,
            contributor: STRANGER,
            by: ALICE
        }));
    });
}

#[test]
fn a_later_commitment_or_a_reviewed_contribution_keeps_the_hash() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        // Alice registered first, without a commitment (priority 1); Bob's commitment is later.
        let first = contribute(ALICE, d, 1);
        run_to_block(2);
        commit(BOB, 1);
        run_to_block(3);
        assert_noop!(reveal(BOB, d, 1), Error::<Test>::DuplicateContent);
        // An older commitment does not take a contribution a curator already accepted (it may
        // be in a snapshot, which commits to its contributor).
        commit(CURATOR, 2);
        run_to_block(4);
        let accepted = contribute(ALICE, d, 2);
        accept(accepted);
        assert_noop!(reveal(CURATOR, d, 2), Error::<Test>::DuplicateContent);
        assert_eq!(Contributions::<Test>::get(first).unwrap().contributor, ALICE);
    });
}

#[test]
fn an_expired_commitment_can_be_cleared_by_anyone() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        commit(ALICE, 1);
        let c = commitment(&hash(1), &ALICE, &SALT);
        let clear = |who, committer| {
            DatanetsPallet::clear_commitment(RuntimeOrigin::signed(who), committer, c)
        };
        assert_noop!(clear(BOB, ALICE), Error::<Test>::CommitmentNotExpired);
        run_to_block(1 + CommitLifetime::get() + 1);
        assert_noop!(reveal(ALICE, d, 1), Error::<Test>::CommitmentExpired);
        assert_ok!(clear(BOB, ALICE));
        assert_eq!(storage_deposit(ALICE), 0, "the deposit went back to the committer");
        assert_eq!(
            datanet_events().last(),
            Some(&Event::CommitmentCleared { who: ALICE, commitment: c })
        );
        assert_noop!(clear(ALICE, ALICE), Error::<Test>::CommitmentNotFound);
        // The committer may clear its own at any time.
        commit(ALICE, 2);
        assert_ok!(DatanetsPallet::clear_commitment(
            RuntimeOrigin::signed(ALICE),
            ALICE,
            commitment(&hash(2), &ALICE, &SALT)
        ));
        assert_eq!(storage_deposit(ALICE), 0);
        assert_noop!(
            DatanetsPallet::commit(RuntimeOrigin::signed(POOR), H256::zero()),
            Error::<Test>::InsufficientBalance
        );
    });
}
