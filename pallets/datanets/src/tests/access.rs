//! Private datanets: access requests, grants and revocations.

use super::*;
use polkadot_sdk::frame_support::assert_noop;
use provena_primitives::datanets::SnapshotAccessError;

fn can_use(who: AccountId, d: DatanetId, v: SnapshotVersion) -> Result<(), SnapshotAccessError> {
    <DatanetsPallet as ContributionInspect<AccountId>>::can_use_snapshot(&who, d, v)
}

#[test]
fn private_data_needs_a_grant() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create(Visibility::Private);
        let id = contribute(ALICE, d, 1);
        accept(id);
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));

        // Without a grant, a stranger may not use the private snapshot; the owner may.
        assert_eq!(can_use(STRANGER, d, 1), Err(SnapshotAccessError::NoAccess));
        assert_eq!(can_use(OWNER, d, 1), Ok(()));
        assert_eq!(can_use(STRANGER, d, 2), Err(SnapshotAccessError::UnknownSnapshot));
        assert_eq!(can_use(STRANGER, 9, 1), Err(SnapshotAccessError::UnknownDatanet));

        // Request, grant: now it may.
        assert_ok!(DatanetsPallet::request_access(
            RuntimeOrigin::signed(STRANGER),
            d,
            b"ipfs://why".to_vec()
        ));
        assert!(AccessRequests::<Test>::contains_key(d, STRANGER));
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), d, STRANGER));
        assert!(!AccessRequests::<Test>::contains_key(d, STRANGER), "the request is answered");
        assert_eq!(can_use(STRANGER, d, 1), Ok(()));

        // Revoke: no longer.
        assert_ok!(DatanetsPallet::revoke_access(RuntimeOrigin::signed(OWNER), d, STRANGER));
        assert_eq!(can_use(STRANGER, d, 1), Err(SnapshotAccessError::NoAccess));
        assert_eq!(storage_deposit(STRANGER), 0, "the request's deposit came back");
        assert_eq!(
            datanet_events()[4..],
            [
                Event::AccessRequested { datanet: d, who: STRANGER },
                Event::AccessGranted { datanet: d, who: STRANGER },
                Event::AccessDepositReleased {
                    datanet: d,
                    who: STRANGER,
                    depositor: STRANGER,
                    amount: AccessDeposit::get()
                },
                Event::AccessRevoked { datanet: d, who: STRANGER },
            ]
        );
    });
}

#[test]
fn public_snapshots_are_usable_by_anyone() {
    ExtBuilder::default().build_and_execute(|| {
        let d = create_public();
        accept(contribute(ALICE, d, 1));
        assert_ok!(DatanetsPallet::publish_snapshot(RuntimeOrigin::signed(OWNER), d));
        assert_eq!(can_use(STRANGER, d, 1), Ok(()));
    });
}

#[test]
fn access_errors_have_no_side_effects() {
    ExtBuilder::default().build_and_execute(|| {
        let public = create_public();
        let private = create(Visibility::Private);
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(ALICE), public, vec![]),
            Error::<Test>::NotPrivate
        );
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(ALICE), 9, vec![]),
            Error::<Test>::DatanetNotFound
        );
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(ALICE), private, vec![b'u'; 65]),
            Error::<Test>::UriTooLong
        );
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(OWNER), private, vec![]),
            Error::<Test>::AlreadyGranted
        );
        assert_noop!(
            DatanetsPallet::grant_access(RuntimeOrigin::signed(ALICE), private, BOB),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), public, BOB),
            Error::<Test>::NotPrivate
        );
        assert_ok!(DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), private, BOB));
        assert_noop!(
            DatanetsPallet::grant_access(RuntimeOrigin::signed(OWNER), private, BOB),
            Error::<Test>::AlreadyGranted
        );
        assert_noop!(
            DatanetsPallet::request_access(RuntimeOrigin::signed(BOB), private, vec![]),
            Error::<Test>::AlreadyGranted
        );
        assert_noop!(
            DatanetsPallet::revoke_access(RuntimeOrigin::signed(OWNER), private, ALICE),
            Error::<Test>::AccessNotGranted
        );
        assert_noop!(
            DatanetsPallet::revoke_access(RuntimeOrigin::signed(ALICE), private, BOB),
            Error::<Test>::NotOwner
        );
    });
}
