//! Prepaid vouchers: authorized on chain with the max fee held, redeemed without a signature.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};

fn held(who: &AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::PrepaidVoucher.into(), who)
}

/// A voucher of `user()` for `model`, request `request`, max fee 5,000, expiring at block 100.
fn voucher(model: ModelId, request: u8) -> Voucher<AccountId, u64> {
    Voucher {
        request_id: H256::repeat_byte(request),
        model,
        max_fee: 5_000,
        operator: operator(),
        expires_at: 100,
    }
}

/// A receipt declaring the prepaid `v` (no signature).
fn prepaid_receipt(
    v: Voucher<AccountId, u64>,
    attribution: Vec<(ContributionId, u32)>,
) -> ReceiptInput<Test> {
    let mut r = receipt(v.model, 0, attribution);
    r.signature = None;
    r.voucher = v;
    r
}

#[test]
fn a_prepaid_voucher_is_redeemed_without_a_signature() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let v = voucher(f.model, 7);
        let before = free(&user());
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        assert_eq!((free(&user()), held(&user())), (before - 5_000, 5_000));
        assert!(matches!(
            System::events().last().map(|e| e.event.clone()),
            Some(RuntimeEvent::Attribution(Event::VoucherPrepaid {
                max_fee: 5_000,
                expires_at: 100,
                ..
            }))
        ));
        submit(vec![prepaid_receipt(v.clone(), vec![(f.c0, 1_000_000)])]);
        // Fee 1,000 charged; the other 4,000 of the hold are free again.
        assert_eq!((free(&user()), held(&user())), (before - 1_000, 0));
        assert!(!PrepaidVouchers::<Test>::contains_key(user(), v.request_id));
        assert_eq!(Attribution::api_receipt(0).unwrap().fee, 1_000);
        // Spent: neither a second receipt nor a second prepayment.
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![prepaid_receipt(v.clone(), vec![])]
            ),
            Error::<Test>::VoucherAlreadyUsed
        );
        assert_noop!(
            Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v),
            Error::<Test>::VoucherAlreadyUsed
        );
    });
}

#[test]
fn a_receipt_must_match_the_prepaid_voucher() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let v = voucher(f.model, 7);
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        // Same request id, a higher max fee than prepaid.
        let mut other = v.clone();
        other.max_fee = 9_000;
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![prepaid_receipt(other, vec![])]
            ),
            Error::<Test>::PrepaidMismatch
        );
        // Declared prepaid without a prepayment.
        let unpaid = voucher(f.model, 8);
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![prepaid_receipt(unpaid, vec![])]
            ),
            Error::<Test>::NotPrepaid
        );
        // A prepaid voucher with someone else's signature is checked as a signed one, and fails.
        let mut forged = prepaid_receipt(v.clone(), vec![]);
        forged.signature = Some(sign(&pair("Mallory"), &v));
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![forged]),
            Error::<Test>::BadSignature
        );
    });
}

#[test]
fn bad_prepayments_fail_cleanly() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let deprecated = model_on(&dev(), f.datanet, 9);
        assert_ok!(Models::deprecate(RuntimeOrigin::signed(dev()), deprecated));
        let fails = |who: AccountId, v: Voucher<AccountId, u64>, e: Error<Test>| {
            assert_noop!(Attribution::prepay_voucher(RuntimeOrigin::signed(who), v), e);
        };
        let ok = voucher(f.model, 1);
        fails(user(), Voucher { max_fee: 0, ..ok.clone() }, Error::<Test>::ZeroMaxFee);
        fails(user(), Voucher { model: ModelId(999), ..ok.clone() }, Error::<Test>::UnknownModel);
        fails(user(), Voucher { model: deprecated, ..ok.clone() }, Error::<Test>::ModelNotActive);
        fails(user(), Voucher { operator: user(), ..ok.clone() }, Error::<Test>::NotOperator);
        run_to_block(101);
        fails(user(), ok.clone(), Error::<Test>::VoucherExpired);
        let later = Voucher { expires_at: 200, ..ok.clone() };
        // More than the free balance.
        assert_noop!(
            Attribution::prepay_voucher(
                RuntimeOrigin::signed(poor()),
                Voucher { max_fee: 1_000_000_000, ..later.clone() }
            ),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), later.clone()));
        fails(user(), later, Error::<Test>::AlreadyPrepaid);
    });
}

#[test]
fn an_expired_prepaid_voucher_is_released_to_its_owner_only() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let v = voucher(f.model, 3);
        let before = free(&user());
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        let release =
            |who: AccountId| Attribution::release_voucher(RuntimeOrigin::signed(who), v.request_id);
        assert_noop!(release(user()), Error::<Test>::VoucherNotExpired);
        run_to_block(101);
        assert_noop!(release(operator()), Error::<Test>::NotPrepaid);
        // Expired: a receipt can no longer use it, and its owner gets the hold back.
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![prepaid_receipt(v.clone(), vec![])]
            ),
            Error::<Test>::VoucherExpired
        );
        assert_ok!(release(user()));
        assert_eq!((free(&user()), held(&user())), (before, 0));
        assert!(matches!(
            System::events().last().map(|e| e.event.clone()),
            Some(RuntimeEvent::Attribution(Event::VoucherReleased { amount: 5_000, .. }))
        ));
        assert_noop!(release(user()), Error::<Test>::NotPrepaid);
    });
}

/// The operator declares which receipts redeem a prepaid voucher, so a call is charged
/// exactly: a reading and a redemption for each of those, nothing for signed ones, and no
/// refund after dispatch.
#[test]
fn receipts_are_charged_for_the_prepaid_vouchers_they_declare() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let prepaid = <Test as Config>::WeightInfo::redeem_prepaid()
            .saturating_add(Attribution::read_weight::<PrepaidVouchers<Test>>());
        let signed = vec![receipt(f.model, 1, vec![]), receipt(f.model, 2, vec![])];
        let full = Attribution::submit_weight(&signed);
        let post = Attribution::submit_receipts(RuntimeOrigin::signed(operator()), signed).unwrap();
        assert_eq!(post.actual_weight, Some(full));
        let v = voucher(f.model, 9);
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        let mixed = vec![prepaid_receipt(v, vec![]), receipt(f.model, 3, vec![])];
        let as_signed = vec![receipt(f.model, 4, vec![]), receipt(f.model, 3, vec![])];
        let full = Attribution::submit_weight(&mixed);
        assert_eq!(full, Attribution::submit_weight(&as_signed) + prepaid);
        let post = Attribution::submit_receipts(RuntimeOrigin::signed(operator()), mixed).unwrap();
        assert_eq!(post.actual_weight, Some(full));
    });
}

/// A signed receipt may spend the request id of a voucher the user also prepaid: the fee comes
/// from the free balance, the prepaid voucher can no longer be redeemed, and its hold comes back
/// to the user once it expires.
#[test]
fn a_signed_receipt_spends_a_prepaid_request_id_and_the_hold_waits_for_expiry() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let v = voucher(f.model, 5);
        let before = free(&user());
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        let mut signed = prepaid_receipt(v.clone(), vec![]);
        signed.signature = Some(sign(&pair("User"), &v));
        submit(vec![signed]);
        assert_eq!((free(&user()), held(&user())), (before - 5_000 - 1_000, 5_000));
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![prepaid_receipt(v.clone(), vec![])]
            ),
            Error::<Test>::VoucherAlreadyUsed
        );
        run_to_block(101);
        assert_ok!(Attribution::release_voucher(RuntimeOrigin::signed(user()), v.request_id));
        assert_eq!((free(&user()), held(&user())), (before - 1_000, 0));
    });
}

/// v1 keyed both voucher maps by the user-chosen request id as is; v2 hashes it. The migration
/// re-keys what a v1 chain holds, and the vouchers work as before.
#[test]
fn v2_rekeys_the_voucher_maps_a_v1_chain_wrote() {
    use crate::migrations::v2::old;
    use polkadot_sdk::frame_support::{
        storage::StoragePrefixedMap,
        traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
    };
    // The aliases name the very storage items the pallet uses.
    assert_eq!(old::UsedVouchers::<Test>::final_prefix(), UsedVouchers::<Test>::final_prefix());
    assert_eq!(
        old::PrepaidVouchers::<Test>::final_prefix(),
        PrepaidVouchers::<Test>::final_prefix()
    );
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // As v1 left them: a spent mark and a prepaid voucher (its max fee held).
        let v = voucher(f.model, 3);
        assert_ok!(Attribution::prepay_voucher(RuntimeOrigin::signed(user()), v.clone()));
        PrepaidVouchers::<Test>::remove(user(), v.request_id);
        old::PrepaidVouchers::<Test>::insert(user(), v.request_id, v.clone());
        let spent = H256::repeat_byte(9);
        old::UsedVouchers::<Test>::insert(user(), spent, 50);
        StorageVersion::new(1).put::<Attribution>();
        assert!(!UsedVouchers::<Test>::contains_key(user(), spent));
        assert!(!PrepaidVouchers::<Test>::contains_key(user(), v.request_id));

        <crate::migrations::v2::MigrateToV2<Test> as OnRuntimeUpgrade>::on_runtime_upgrade();

        assert_eq!(Attribution::on_chain_storage_version(), 2);
        assert_eq!(UsedVouchers::<Test>::get(user(), spent), Some(50));
        assert_eq!(PrepaidVouchers::<Test>::get(user(), v.request_id), Some(v.clone()));
        assert!(old::UsedVouchers::<Test>::iter_keys().all(|(_, id)| id != spent));
        // The prepaid voucher redeems as before; the spent one stays spent.
        submit(vec![prepaid_receipt(v, vec![])]);
        assert_eq!(held(&user()), 0);
        assert_noop!(
            Attribution::prepay_voucher(
                RuntimeOrigin::signed(user()),
                Voucher { request_id: spent, ..voucher(f.model, 4) }
            ),
            Error::<Test>::VoucherAlreadyUsed
        );
    });
}

#[test]
fn each_distinct_voucher_anchor_is_charged_one_read() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let at = |req, expires_at: u64| {
            receipt_by(&pair("User"), f.model, req, vec![], |v| v.expires_at = expires_at)
        };
        let read = Attribution::read_weight::<polkadot_sdk::frame_system::BlockHash<Test>>();
        let shared = Attribution::submit_weight(&[at(1, 50), at(2, 50), at(3, 50)]);
        let apart = Attribution::submit_weight(&[at(1, 50), at(2, 51), at(3, 52)]);
        assert_eq!(apart, shared + read + read);
    });
}
