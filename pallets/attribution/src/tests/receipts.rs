//! Submitting receipts: vouchers, fees, eligibility, the split, epochs.

use super::*;
use polkadot_sdk::frame_support::traits::fungible::InspectHold;
use polkadot_sdk::{frame_support::assert_noop, sp_core::Pair as _, sp_runtime::DispatchError};
use provena_primitives::{attribution::ReceiptStatus, merkle};
use provena_primitives::{ContributionId, ModelId};

#[test]
fn a_receipt_charges_the_user_and_credits_every_party() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let (user_before, op_before) = (free(&user()), free(&operator()));
        submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
        assert_eq!(free(&user()), user_before - 1_000);
        let pot = Attribution::account_id();
        assert_eq!(Balances::balance_on_hold(&HoldReason::Fees.into(), &pot), 1_000);
        // The first submission funds the pallet account's floor from the operator.
        assert_eq!((free(&pot), free(&operator())), (ED, op_before - ED));
        let r = Attribution::api_receipt(0).unwrap();
        assert_eq!(r.fee, 1_000);
        assert_eq!(r.status, ReceiptStatus::Pending);
        // (epoch 0 + 1) · 10 + 20.
        assert_eq!(r.claimable_at, 30);
        let part = |p: PayeeOf<Test>| Attribution::api_rewards(p).pending;
        assert_eq!(part(Payee::Contribution(f.c0)), 375);
        assert_eq!(part(Payee::Contribution(f.c1)), 125);
        assert_eq!(part(Payee::Agent(operator())), 150);
        // The developer's 120, plus the holders' 180: the model has no token holders.
        assert_eq!(part(Payee::Account(dev())), 300);
        assert_eq!(part(Payee::ModelHolders(f.model)), 0);
        assert_eq!(part(Payee::Account(TreasuryAccount::get())), 50);
        // The pallet's last event (the balances pallet's hold of the call's fees follows).
        let last = System::events().into_iter().rev().find_map(|e| match e.event {
            RuntimeEvent::Attribution(e) => Some(e),
            _ => None,
        });
        assert!(matches!(
            last,
            Some(Event::ReceiptSubmitted { receipt: 0, fee: 1_000, epoch: 0, .. })
        ));
        assert_eq!(Attribution::api_receipts_by_model(f.model, 0, 10).len(), 1);
        assert_eq!(Attribution::api_receipts_by_contribution(f.c1, 0, 100, 10).len(), 1);
        assert!(
            Attribution::api_receipts_by_contribution(ContributionId(99), 0, 100, 10).is_empty()
        );
    });
}

#[test]
fn ecdsa_vouchers_are_accepted() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let (p, who) = ecdsa_user();
        let mut r = receipt(f.model, 1, vec![(f.c0, 1_000_000)]);
        let payload = Attribution::api_voucher_payload(r.voucher.clone());
        r.user = who.clone();
        r.signature = Some(polkadot_sdk::sp_runtime::MultiSignature::Ecdsa(p.sign(&payload)));
        let before = free(&who);
        submit(vec![r]);
        assert_eq!(free(&who), before - 1_000);
    });
}

/// Issue 17, point 11: a voucher signed only the genesis hash, so on two chains split from one
/// genesis (or two branches both kept) a voucher signed for one was good on the other. It now
/// signs the hash of its anchor block (`expires_at − lifetime − 1`) too.
#[test]
fn a_voucher_is_bound_to_the_branch_it_was_signed_on() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        run_to_block(300);
        // Lifetime 200: a voucher expiring at 400 is anchored at block 199.
        let ours = H256::repeat_byte(0xa1);
        polkadot_sdk::frame_system::BlockHash::<Test>::insert(199, ours);
        let r =
            receipt_by(&pair("User"), f.model, 1, vec![(f.c0, 1_000_000)], |v| v.expires_at = 400);
        // The other branch: the same genesis, another block 199.
        polkadot_sdk::frame_system::BlockHash::<Test>::insert(199, H256::repeat_byte(0xb2));
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![r.clone()]),
            Error::<Test>::BadSignature
        );
        // Its own branch settles it.
        polkadot_sdk::frame_system::BlockHash::<Test>::insert(199, ours);
        submit(vec![r]);
        assert!(UsedVouchers::<Test>::contains_key(user(), H256::repeat_byte(1)));
    });
}

#[test]
fn bad_receipts_fail_cleanly() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let (other_datanet, others) = datanet_with(&data_owner(), 1, Visibility::Public);
        let (private, _) = datanet_with(&data_owner(), 1, Visibility::Private);
        let deprecated = model_on(&dev(), f.datanet, 9);
        assert_ok!(Models::deprecate(RuntimeOrigin::signed(dev()), deprecated));
        let ok = |req| receipt(f.model, req, vec![(f.c0, 600_000), (f.c1, 400_000)]);
        let fails = |receipts: Vec<ReceiptInput<Test>>, e: Error<Test>| {
            assert_noop!(
                Attribution::submit_receipts(RuntimeOrigin::signed(operator()), receipts),
                e
            );
        };
        // Signatures and vouchers.
        let mut forged = ok(1);
        forged.signature = Some(sign(&pair("Mallory"), &forged.voucher));
        fails(vec![forged], Error::<Test>::BadSignature);
        let mut tampered = ok(1);
        tampered.voucher.max_fee = 10_000;
        fails(vec![tampered], Error::<Test>::BadSignature);
        fails(
            vec![receipt_by(&pair("User"), f.model, 1, vec![], |v| v.expires_at = 0)],
            Error::<Test>::VoucherExpired,
        );
        fails(
            vec![receipt_by(&pair("User"), f.model, 1, vec![], |v| v.max_fee = 999)],
            Error::<Test>::FeeAboveMax,
        );
        fails(
            vec![receipt_by(&pair("User"), f.model, 1, vec![], |v| v.operator = dev())],
            Error::<Test>::WrongOperator,
        );
        let mut mismatch = ok(1);
        mismatch.model = deprecated;
        fails(vec![mismatch], Error::<Test>::ModelMismatch);
        fails(
            vec![receipt_by(&pair("User"), ModelId(77), 1, vec![], |_| {})],
            Error::<Test>::UnknownModel,
        );
        fails(
            vec![receipt_by(&pair("User"), deprecated, 1, vec![], |_| {})],
            Error::<Test>::ModelNotActive,
        );
        // Attribution.
        fails(
            vec![receipt(f.model, 1, vec![(f.c0, 500_000)])],
            Error::<Test>::WeightsNotNormalized,
        );
        fails(
            vec![receipt(f.model, 1, vec![(f.c0, 1_000_000), (f.c1, 0)])],
            Error::<Test>::WeightsNotNormalized,
        );
        fails(
            vec![receipt(f.model, 1, vec![(f.c0, 500_000), (f.c0, 500_000)])],
            Error::<Test>::DuplicateContribution,
        );
        fails(
            vec![receipt(f.model, 1, vec![(ContributionId(999), 1_000_000)])],
            Error::<Test>::UnknownContribution,
        );
        fails(
            vec![receipt(f.model, 1, vec![(others[0], 1_000_000)])],
            Error::<Test>::ContributionNotInModelSnapshots,
        );
        fails(
            vec![receipt(
                f.model,
                1,
                vec![
                    (f.c0, 200_000),
                    (f.c1, 200_000),
                    (others[0], 200_000),
                    (ContributionId(3), 200_000),
                    (ContributionId(4), 200_000),
                ],
            )],
            Error::<Test>::TooManyEntries,
        );
        let mut rag = ok(1);
        rag.retrieved_from = Some((private, 1));
        fails(vec![rag], Error::<Test>::RetrievalNotAllowed);
        // Batches and callers.
        fails(vec![], Error::<Test>::NoReceipts);
        fails((0..9).map(ok).collect(), Error::<Test>::TooManyReceipts);
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(dev()), vec![ok(1)]),
            Error::<Test>::NotOperator
        );
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::none(), vec![ok(1)]),
            DispatchError::BadOrigin
        );
        // A user who cannot pay: the balances error, and nothing is recorded.
        let broke = receipt_by(&pair("Poor"), f.model, 1, vec![], |_| {});
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![broke]),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
        // A spent voucher cannot be reused later either.
        submit(vec![ok(1)]);
        fails(vec![ok(1)], Error::<Test>::VoucherAlreadyUsed);
        let _ = other_datanet;
    });
}

#[test]
fn a_batch_skips_bad_receipts_and_settles_the_rest() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let ok = |req| receipt(f.model, req, vec![(f.c0, 600_000), (f.c1, 400_000)]);
        let user_before = free(&user());
        let poor_before = free(&poor());
        let batch = vec![
            ok(2),
            receipt(f.model, 3, vec![(ContributionId(999), 1_000_000)]),
            ok(2),
            receipt_by(&pair("Poor"), f.model, 1, vec![], |_| {}),
            ok(4),
        ];
        let declared = Attribution::submit_weight(&batch);
        let info = Attribution::submit_receipts(RuntimeOrigin::signed(operator()), batch).unwrap();
        // Charged for what was done: the three skipped receipts' five writes each are refunded.
        let db = <Test as polkadot_sdk::frame_system::Config>::DbWeight::get();
        assert_eq!(info.actual_weight, Some(declared - db.writes(15)));
        // Two settled, receipts 0 and 1, for requests 2 and 4.
        assert_eq!(NextReceiptId::<Test>::get(), 2);
        assert_eq!(Attribution::api_receipt(1).unwrap().request_id, H256::repeat_byte(4));
        assert_eq!(free(&user()), user_before - 2_000);
        assert_eq!(free(&poor()), poor_before);
        let skipped: Vec<(u32, DispatchError)> = System::events()
            .into_iter()
            .filter_map(|e| match e.event {
                RuntimeEvent::Attribution(Event::ReceiptSkipped { index, error, .. }) => {
                    Some((index, error))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            vec![
                (1, Error::<Test>::UnknownContribution.into()),
                (2, Error::<Test>::VoucherAlreadyUsed.into()),
                (3, polkadot_sdk::sp_runtime::TokenError::FundsUnavailable.into()),
            ]
        );
        // A skipped voucher is not spent: fixed, the receipt settles later.
        assert!(!UsedVouchers::<Test>::contains_key(user(), H256::repeat_byte(3)));
        submit(vec![ok(3)]);
        // A batch in which nothing settles fails with the first receipt's error.
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![receipt(f.model, 5, vec![(ContributionId(999), 1_000_000)]), ok(2)]
            ),
            Error::<Test>::UnknownContribution
        );
    });
}

#[test]
fn withdrawn_contributions_earn_nothing_and_their_part_goes_to_the_treasury() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        assert_ok!(Datanets::withdraw_contribution(RuntimeOrigin::signed(contributor()), f.c1));
        submit(vec![receipt(f.model, 1, vec![(f.c0, 750_000), (f.c1, 250_000)])]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c1)).earned, 0);
        assert_eq!(
            Attribution::api_rewards(Payee::Account(TreasuryAccount::get())).pending,
            50 + 125
        );
    });
}

#[test]
fn no_attribution_sends_the_contributor_part_to_the_treasury() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![receipt(f.model, 1, vec![])]);
        assert_eq!(Attribution::api_rewards(Payee::Account(TreasuryAccount::get())).pending, 550);
    });
}

#[test]
fn adapters_may_attribute_their_base_models_data_and_rag_a_public_snapshot() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let (rag_datanet, rag) = datanet_with(&contributor(), 1, Visibility::Public);
        let adapter = pallet_models::NextModelId::<Test>::get();
        assert_ok!(Models::register_model(
            RuntimeOrigin::signed(dev()),
            pallet_models::ModelKindArg::Adapter {
                base: f.model,
                rank: 8,
                alpha: 16,
                target_modules: vec![b"q_proj".to_vec()],
            },
            H256::repeat_byte(7),
            H256::zero(),
            vec![],
            1_000,
            Permill::from_percent(40),
            vec![],
            None,
        ));
        // The base's snapshot counts for the adapter.
        submit(vec![receipt(adapter, 1, vec![(f.c0, 1_000_000)])]);
        // A retrieved public snapshot counts when declared.
        let mut r = receipt(adapter, 2, vec![(f.c0, 500_000), (rag[0], 500_000)]);
        r.retrieved_from = Some((rag_datanet, 1));
        submit(vec![r]);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(rag[0])).pending, 250);
        assert_eq!(Attribution::api_receipt(1).unwrap().retrieved_from, Some((rag_datanet, 1)));
    });
}

#[test]
fn epochs_close_with_a_root_that_proves_each_receipt() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit((1..=3).map(|i| receipt(f.model, i, vec![(f.c0, 1_000_000)])).collect());
        assert_eq!(Attribution::api_epoch(0).unwrap().root, None);
        assert!(Attribution::api_receipt_proof(1).is_none(), "no proof before the epoch closes");
        run_to_block(10);
        let epoch = Attribution::api_epoch(0).unwrap();
        let root = epoch.root.unwrap();
        assert_eq!((epoch.receipts, epoch.closed_at), (3, Some(10)));
        for id in 0..3 {
            let p = Attribution::api_receipt_proof(id).unwrap();
            assert_eq!(p.epoch, 0);
            assert_eq!(p.proof.root, root);
            assert!(merkle::verify(&root, &p.proof));
            let stored = Receipts::<Test>::get(id).unwrap();
            assert_eq!(p.proof.leaf, Attribution::leaf(id, &stored).as_bytes().to_vec());
        }
        assert!(System::events().iter().any(|e| matches!(
            e.event,
            RuntimeEvent::Attribution(Event::EpochClosed { epoch: 0, receipts: 3, .. })
        )));
        // The next epoch's receipts go to epoch 1.
        submit(vec![receipt(f.model, 9, vec![])]);
        assert_eq!(Attribution::api_receipt(3).unwrap().epoch, 1);
    });
}
