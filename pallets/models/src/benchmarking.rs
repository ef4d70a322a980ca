//! Benchmarks of every call, each in its worst case, and of crediting holder revenue (which
//! the attribution pallet calls).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use super::*;
use crate::Pallet as ModelsPallet;
use alloc::vec;
use polkadot_sdk::{
    frame_benchmarking::v2::*, frame_support::traits::fungible::Mutate, frame_system::RawOrigin,
    sp_core::H256,
};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    // Far more than any benchmark spends, and room for many such accounts in the issuance.
    T::Currency::set_balance(&who, Balance::MAX / 1_024);
    who
}

fn weights(n: u32) -> H256 {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&(n + 1).to_be_bytes());
    H256(bytes)
}

/// A base model of `owner` with the longest URI.
fn base_model<T: Config>(owner: &T::AccountId, n: u32) -> ModelId {
    ModelsPallet::<T>::do_register(
        owner.clone(),
        ModelKindArg::Base,
        weights(n),
        H256::zero(),
        vec![],
        1_000,
        Permill::from_percent(50),
        vec![b'x'; T::MaxUriLen::get() as usize],
        None,
        None,
    )
    .unwrap()
}

/// The largest adapter kind over `base`: the highest rank, the most target modules with the
/// longest names.
fn largest_adapter<T: Config>(base: ModelId) -> ModelKindArg {
    let modules: Vec<Vec<u8>> = (0..T::MaxTargetModules::get())
        .map(|i| {
            let mut name = vec![b'm'; T::MaxModuleNameLen::get() as usize];
            name[0] = (i % 256) as u8;
            name[1] = (i / 256) as u8;
            name
        })
        .collect();
    ModelKindArg::Adapter {
        base,
        rank: T::MaxAdapterRank::get(),
        alpha: 16,
        target_modules: modules,
    }
}

/// An adapter of `who` over `base` with weights `weights(9)`, trained on the most datanets (each
/// counts it as a user): the most expensive model to remove.
fn adapter_on_most_datanets<T: Config>(who: &T::AccountId, base: ModelId) -> ModelId {
    let trained_on = T::BenchmarkHelper::usable_snapshots(who, T::MaxTrainedOn::get());
    let kind = ModelKindArg::Adapter {
        base,
        rank: 8,
        alpha: 16,
        target_modules: vec![b"q_proj".to_vec()],
    };
    ModelsPallet::<T>::do_register(
        who.clone(),
        kind,
        weights(9),
        H256::zero(),
        trained_on,
        1_000,
        Permill::from_percent(50),
        vec![b'x'; T::MaxUriLen::get() as usize],
        None,
        None,
    )
    .unwrap()
}

/// A launched model of `owner`.
fn launched<T: Config>(owner: &T::AccountId) -> ModelId {
    let model = base_model::<T>(owner, 0);
    ModelsPallet::<T>::launch_token(RawOrigin::Signed(owner.clone()).into(), model).unwrap();
    model
}

/// A trade size well above the minimum: 1% of the curve supply.
fn lot<T: Config>() -> Balance {
    T::Curve::get().curve_supply / 100
}

fn buy_as<T: Config>(who: &T::AccountId, model: ModelId, tokens: Balance) {
    ModelsPallet::<T>::buy(
        RawOrigin::Signed(who.clone()).into(),
        model,
        tokens,
        Balance::MAX,
        1_000u32.into(),
    )
    .unwrap();
}

/// Credits revenue so that every later settle has accrued revenue to move.
fn credit<T: Config>(model: ModelId) {
    let payer = funded::<T>("payer", 0);
    let amount = T::MinTradeValue::get() * 1_000;
    assert_eq!(ModelsPallet::<T>::do_distribute(model, &payer, amount).unwrap(), amount);
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// An adapter with the most (and longest) target modules, the longest URI, a predecessor,
    /// and `s` declared snapshots, each checked against the datanets pallet.
    #[benchmark]
    fn register_model(s: Linear<0, { T::MaxTrainedOn::get() }>) {
        let owner = funded::<T>("owner", 0);
        let base = base_model::<T>(&owner, 0);
        let predecessor = base_model::<T>(&owner, 1);
        let trained_on = T::BenchmarkHelper::usable_snapshots(&owner, s);
        let kind = largest_adapter::<T>(base);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner),
            kind,
            weights(9),
            weights(10),
            trained_on,
            1_000,
            Permill::from_percent(50),
            vec![b'x'; T::MaxUriLen::get() as usize],
            Some(predecessor),
        );
        assert!(ModelByWeights::<T>::contains_key(weights(9)));
    }

    /// Registering `s` snapshots with a revealed commitment that displaces a front-runner's
    /// model of the same weights: an adapter trained on the most datanets, removed first.
    #[benchmark]
    fn register_model_committed(s: Linear<0, { T::MaxTrainedOn::get() }>) {
        let owner = funded::<T>("owner", 0);
        let front = funded::<T>("front-runner", 0);
        let base = base_model::<T>(&owner, 0);
        let predecessor = base_model::<T>(&owner, 1);
        let salt = H256::repeat_byte(5);
        T::BenchmarkHelper::commit(&owner, weights(9), salt);
        let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
        polkadot_sdk::frame_system::Pallet::<T>::set_block_number(now + 1u32.into());
        let displaced = adapter_on_most_datanets::<T>(&front, base);
        let trained_on = T::BenchmarkHelper::usable_snapshots(&owner, s);
        let kind = largest_adapter::<T>(base);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner.clone()),
            kind,
            weights(9),
            weights(10),
            trained_on,
            1_000,
            Permill::from_percent(50),
            vec![b'x'; T::MaxUriLen::get() as usize],
            Some(predecessor),
            salt,
        );
        assert!(!Models::<T>::contains_key(displaced));
        let winner = ModelByWeights::<T>::get(weights(9)).unwrap();
        assert_eq!(Models::<T>::get(winner).unwrap().owner, owner);
    }

    #[benchmark]
    fn update_price() {
        let owner = funded::<T>("owner", 0);
        let model = base_model::<T>(&owner, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), model, 7);
        assert_eq!(Models::<T>::get(model).unwrap().price_per_1k_tokens, 7);
    }

    #[benchmark]
    fn transfer_ownership() {
        let owner = funded::<T>("owner", 0);
        let model = base_model::<T>(&owner, 0);
        let to = funded::<T>("to", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), model, to.clone());
        assert_eq!(Models::<T>::get(model).unwrap().owner, to);
    }

    #[benchmark]
    fn deprecate() {
        let owner = funded::<T>("owner", 0);
        let model = base_model::<T>(&owner, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), model);
        assert_eq!(Models::<T>::get(model).unwrap().status, ModelStatus::Deprecated);
    }

    /// Removing an adapter trained on the most datanets: each one stops counting it, and its
    /// base's adapter count goes down.
    #[benchmark]
    fn remove_model() {
        let owner = funded::<T>("owner", 0);
        let base = base_model::<T>(&owner, 0);
        let model = adapter_on_most_datanets::<T>(&owner, base);
        ModelsPallet::<T>::deprecate(RawOrigin::Signed(owner.clone()).into(), model).unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), model);
        assert!(!Models::<T>::contains_key(model));
        assert_eq!(AdapterCount::<T>::get(base), 0);
    }

    #[benchmark]
    fn launch_token() {
        let owner = funded::<T>("owner", 0);
        let model = base_model::<T>(&owner, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), model);
        assert!(Tokens::<T>::contains_key(model));
    }

    /// A new holder buys after revenue was credited, and the buy graduates the curve into its
    /// pool.
    #[benchmark]
    fn buy() {
        let owner = funded::<T>("owner", 0);
        let model = launched::<T>(&owner);
        let curve = T::Curve::get();
        let (below, _) =
            curve.tokens_for(&CurveState::default(), curve.graduation_reserve).unwrap();
        buy_as::<T>(&funded::<T>("holder", 0), model, below + 1 - lot::<T>());
        credit::<T>(model);
        let who = funded::<T>("buyer", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), model, lot::<T>(), Balance::MAX, 1_000u32.into());
        assert_eq!(Holdings::<T>::get(model, &who).unwrap().balance, lot::<T>());
        assert!(Tokens::<T>::get(model).unwrap().params.is_pool(), "the buy graduated");
    }

    /// A holder with accrued revenue sells part of its tokens.
    #[benchmark]
    fn sell() {
        let owner = funded::<T>("owner", 0);
        let model = launched::<T>(&owner);
        let who = funded::<T>("holder", 0);
        buy_as::<T>(&who, model, lot::<T>() * 2);
        credit::<T>(model);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), model, lot::<T>(), 0, 1_000u32.into());
        assert_eq!(Holdings::<T>::get(model, &who).unwrap().balance, lot::<T>());
    }

    /// A former holder claims its last revenue, which removes its holding.
    #[benchmark]
    fn claim_revenue() {
        let owner = funded::<T>("owner", 0);
        let model = launched::<T>(&owner);
        let who = funded::<T>("holder", 0);
        buy_as::<T>(&who, model, lot::<T>());
        buy_as::<T>(&funded::<T>("other", 0), model, lot::<T>());
        credit::<T>(model);
        ModelsPallet::<T>::sell(
            RawOrigin::Signed(who.clone()).into(),
            model,
            lot::<T>(),
            0,
            1_000u32.into(),
        )
        .unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), model);
        assert!(!Holdings::<T>::contains_key(model, &who));
    }

    /// Tokens move to a new holder; both sides settle accrued revenue.
    #[benchmark]
    fn transfer_tokens() {
        let owner = funded::<T>("owner", 0);
        let model = launched::<T>(&owner);
        let who = funded::<T>("holder", 0);
        buy_as::<T>(&who, model, lot::<T>());
        credit::<T>(model);
        let to: T::AccountId = account("to", 0, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), model, to.clone(), lot::<T>() / 2);
        assert_eq!(Holdings::<T>::get(model, &to).unwrap().balance, lot::<T>() / 2);
    }

    /// [`ModelRevenue::distribute_to_holders`], for the attribution pallet's weights.
    #[benchmark]
    fn distribute_revenue() {
        let owner = funded::<T>("owner", 0);
        let model = launched::<T>(&owner);
        buy_as::<T>(&funded::<T>("holder", 0), model, lot::<T>());
        credit::<T>(model);
        let payer = funded::<T>("payer", 1);
        let amount = T::MinTradeValue::get() * 1_000;
        #[block]
        {
            ModelsPallet::<T>::do_distribute(model, &payer, amount).unwrap();
        }
        assert_eq!(Tokens::<T>::get(model).unwrap().revenue.received, amount * 2);
    }

    impl_benchmark_test_suite!(
        ModelsPallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
