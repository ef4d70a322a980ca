use super::*;
use crate::{BaseOperators, Error, Event, HoldReason, Operators};
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::InspectHold};
use provena_primitives::ModelId;

#[test]
fn an_attribution_operator_registers_its_bases_and_holds_a_deposit() {
    ExtBuilder.build_and_execute(|| {
        // Given a base model.
        let (datanet, _) =
            datanet_with(&data_owner(), 1, provena_primitives::datanets::Visibility::Public);
        let model = model_on(&dev(), datanet, 0xaa);
        // When the operator registers it.
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator()), vec![model]));
        // Then it is listed under the base and its deposit is held.
        assert_eq!(BaseOperators::<Test>::get(model).into_inner(), vec![operator()]);
        assert_eq!(
            Balances::balance_on_hold(&HoldReason::OperatorDeposit.into(), &operator()),
            OPERATOR_DEPOSIT
        );
        assert_eq!(
            events(),
            vec![Event::OperatorRegistered {
                operator: operator(),
                bases: vec![model],
                deposit: OPERATOR_DEPOSIT
            }]
        );
    });
}

#[test]
fn bad_registrations_are_refused_without_effect() {
    ExtBuilder.build_and_execute(|| {
        let (datanet, _) =
            datanet_with(&data_owner(), 1, provena_primitives::datanets::Visibility::Public);
        let base = model_on(&dev(), datanet, 0xaa);
        let other = model_on(&dev(), datanet, 0xab);
        let adapter = pallet_models::NextModelId::<Test>::get();
        assert_ok!(Models::register_model(
            RuntimeOrigin::signed(dev()),
            pallet_models::ModelKindArg::Adapter {
                base,
                rank: 8,
                alpha: 16,
                target_modules: vec![b"q_proj".to_vec()],
            },
            H256::repeat_byte(0xad),
            H256::zero(),
            vec![],
            1_000,
            Permill::from_percent(40),
            vec![],
            None,
        ));
        let o = || RuntimeOrigin::signed(operator());
        // Not an agent.
        assert_noop!(
            Inference::register_operator(RuntimeOrigin::signed(operator3()), vec![base]),
            Error::<Test>::NotOperator
        );
        // An agent of another model only.
        assert_ok!(Agents::register_agent(
            RuntimeOrigin::signed(operator3()),
            vec![other],
            vec![],
            vec![],
            OPERATOR_BOND,
            Default::default()
        ));
        assert_noop!(
            Inference::register_operator(RuntimeOrigin::signed(operator3()), vec![base]),
            Error::<Test>::BaseNotServed
        );
        assert_noop!(Inference::register_operator(o(), vec![]), Error::<Test>::InvalidBases);
        assert_noop!(
            Inference::register_operator(o(), vec![base, other, ModelId(99)]),
            Error::<Test>::InvalidBases
        );
        assert_noop!(
            Inference::register_operator(o(), vec![base, base]),
            Error::<Test>::DuplicateBase
        );
        assert_noop!(
            Inference::register_operator(o(), vec![ModelId(99)]),
            Error::<Test>::UnknownModel
        );
        assert_noop!(
            Inference::register_operator(o(), vec![adapter]),
            Error::<Test>::NotABaseModel
        );
        assert_ok!(Models::deprecate(RuntimeOrigin::signed(dev()), other));
        assert_noop!(Inference::register_operator(o(), vec![other]), Error::<Test>::ModelNotActive);
        assert_ok!(Inference::register_operator(o(), vec![base]));
        assert_noop!(
            Inference::register_operator(o(), vec![base]),
            Error::<Test>::AlreadyRegistered
        );
        // A base takes at most three operators.
        // (Operator2 is an agent from genesis; operator3 registered above, serving `other`.)
        assert_ok!(Agents::update_agent(
            RuntimeOrigin::signed(operator3()),
            vec![base],
            vec![],
            vec![]
        ));
        make_agent(&dev());
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator2()), vec![base]));
        assert_ok!(Inference::register_operator(RuntimeOrigin::signed(operator3()), vec![base]));
        assert_noop!(
            Inference::register_operator(RuntimeOrigin::signed(dev()), vec![base]),
            Error::<Test>::TooManyOperators
        );
    });
}

#[test]
fn an_operator_leaves_only_without_open_jobs() {
    ExtBuilder.build_and_execute(|| {
        let (model, _) = served_model(1);
        let job = request(model);
        assert_noop!(
            Inference::unregister_operator(RuntimeOrigin::signed(operator())),
            Error::<Test>::OperatorBusy
        );
        assert_noop!(
            Inference::unregister_operator(RuntimeOrigin::signed(operator2())),
            Error::<Test>::NotRegistered
        );
        assert_ok!(complete(job, b"Paris.", vec![]));
        let free = Balances::free_balance(operator());
        assert_ok!(Inference::unregister_operator(RuntimeOrigin::signed(operator())));
        assert_eq!(Balances::free_balance(operator()), free + OPERATOR_DEPOSIT);
        assert!(Operators::<Test>::get(operator()).is_none());
        assert!(!BaseOperators::<Test>::contains_key(model));
        assert_eq!(
            events().last(),
            Some(&Event::OperatorUnregistered { operator: operator(), deposit: OPERATOR_DEPOSIT })
        );
    });
}

use polkadot_sdk::sp_runtime::Permill;
