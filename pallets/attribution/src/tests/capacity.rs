//! Epoch capacity: no free receipts, and each operator gets only its share of an epoch.

use super::*;
use polkadot_sdk::frame_support::assert_noop;

#[test]
fn zero_fee_receipts_are_refused() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // A model priced at zero.
        let free_model = pallet_models::NextModelId::<Test>::get();
        assert_ok!(Models::register_model(
            RuntimeOrigin::signed(dev()),
            pallet_models::ModelKindArg::Base,
            H256::repeat_byte(0x77),
            H256::zero(),
            vec![(f.datanet, 1)],
            0,
            Permill::from_percent(40),
            vec![],
            None,
        ));
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(operator()),
                vec![receipt(free_model, 1, vec![(f.c0, 1_000_000)])]
            ),
            Error::<Test>::ZeroFee
        );
        // A priced model, but no tokens.
        let empty = receipt_by(&pair("User"), f.model, 2, vec![(f.c0, 1_000_000)], |_| {});
        let empty = ReceiptInput { input_tokens: 0, output_tokens: 0, ..empty };
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![empty]),
            Error::<Test>::ZeroFee
        );
    });
}

/// Eight receipts (one call) of `user()` by `op`, request ids from `first`.
fn call_of_eight(f: &Fixture, op: &AccountId, first: u8) -> Vec<ReceiptInput<Test>> {
    (first..first + 8)
        .map(|i| {
            receipt_by(&pair("User"), f.model, i, vec![(f.c0, 1_000_000)], |v| {
                v.operator = op.clone()
            })
        })
        .collect()
}

#[test]
fn an_operator_fills_only_its_share_of_an_epoch() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // A quarter of the mock's 64 receipts an epoch.
        assert_eq!(Attribution::operator_epoch_cap(), 16);
        let op = || RuntimeOrigin::signed(operator());
        assert_ok!(Attribution::submit_receipts(op(), call_of_eight(&f, &operator(), 0)));
        assert_ok!(Attribution::submit_receipts(op(), call_of_eight(&f, &operator(), 8)));
        assert_eq!(OperatorEpochUsage::<Test>::get(operator()), Some((0, 16)));
        assert_noop!(
            Attribution::submit_receipts(op(), call_of_eight(&f, &operator(), 16)[..1].to_vec()),
            Error::<Test>::OperatorEpochFull
        );
        // Another operator still has its share of the same epoch.
        let other = data_owner();
        make_agent(&other);
        assert_ok!(Attribution::submit_receipts(
            RuntimeOrigin::signed(other.clone()),
            call_of_eight(&f, &other, 100)
        ));
        // The next epoch gives the first operator its share again.
        run_to_block(EPOCH);
        assert_ok!(Attribution::submit_receipts(op(), call_of_eight(&f, &operator(), 16)));
        assert_eq!(OperatorEpochUsage::<Test>::get(operator()), Some((1, 8)));
        // Forgetting an operator (its agent is reaped) removes its usage record, once its
        // receipts no longer answer.
        use provena_primitives::agents::OperatorLiability;
        <Attribution as OperatorLiability<_>>::forget(&other);
        assert!(OperatorEpochUsage::<Test>::get(&other).is_some());
        run_to_block(200);
        <Attribution as OperatorLiability<_>>::forget(&other);
        assert_eq!(OperatorEpochUsage::<Test>::get(&other), None);
        assert!(!Operators::<Test>::contains_key(&other));
    });
}

#[test]
fn a_full_epoch_takes_no_more_receipts_and_keeps_every_leaf_in_order() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // Four operators fill the mock's 64 receipts an epoch, 16 each.
        let operators = [operator(), data_owner(), dev(), challenger()];
        for op in &operators[1..] {
            make_agent(op);
        }
        for (k, op) in operators.iter().enumerate() {
            let first = (k * 16) as u8;
            for half in [first, first + 8] {
                let call = call_of_eight(&f, op, half);
                assert_ok!(Attribution::submit_receipts(RuntimeOrigin::signed(op.clone()), call));
            }
        }
        let leaves = EpochLeaves::<Test>::get(0);
        assert_eq!(leaves.len(), 64);
        // Each leaf is its receipt's, in receipt order.
        for (id, leaf) in leaves.iter().enumerate() {
            let receipt = Receipts::<Test>::get(id as u64).unwrap();
            assert_eq!(*leaf, Attribution::leaf(id as u64, &receipt));
        }
        // A fifth operator with room in its own share finds the epoch full.
        let fifth = user();
        make_agent(&fifth);
        assert_noop!(
            Attribution::submit_receipts(
                RuntimeOrigin::signed(fifth.clone()),
                call_of_eight(&f, &fifth, 200)[..1].to_vec()
            ),
            Error::<Test>::EpochFull
        );
        // The next epoch takes receipts again.
        run_to_block(EPOCH);
        let call = call_of_eight(&f, &fifth, 200);
        assert_ok!(Attribution::submit_receipts(RuntimeOrigin::signed(fifth), call));
        assert_eq!(EpochLeaves::<Test>::get(1).len(), 8);
    });
}
