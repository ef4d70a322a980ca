//! Benchmarks (v2), each at its worst case: every base's operator list full for assignment,
//! the longest prompt and output, the most attribution entries of distinct contributions, full
//! expiry and prune queues.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use super::*;
use crate::Pallet as Inference;
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_support::traits::Hooks,
    frame_system::RawOrigin,
    sp_core::H256,
    sp_runtime::traits::{One, Zero},
};

/// A generous max fee for benchmark jobs.
const MAX_FEE: Balance = 1_000_000_000_000_000_000_000;

fn operator<T: Config>(i: u32) -> T::AccountId {
    let who: T::AccountId = account("operator", i, 0);
    T::BenchmarkHelper::make_operator(&who);
    who
}

/// A base model over `contributions` contributions, served by a full list of operators; the
/// first of them is returned.
fn served<T: Config>(contributions: u32) -> (ModelId, Vec<ContributionId>, T::AccountId) {
    let owner: T::AccountId = account("owner", 0, 0);
    let (model, ids) = T::BenchmarkHelper::model_with_contributions(&owner, contributions);
    let first = operator::<T>(0);
    Inference::<T>::do_register(first.clone(), vec![model]).unwrap();
    for i in 1..T::MaxOperatorsPerBase::get() {
        Inference::<T>::do_register(operator::<T>(i), vec![model]).unwrap();
    }
    (model, ids, first)
}

/// A funded user.
fn user<T: Config>(i: u32) -> T::AccountId {
    let who: T::AccountId = account("user", i, 0);
    T::BenchmarkHelper::fund(&who);
    who
}

/// A job of the longest prompt for `model`.
fn job<T: Config>(user: &T::AccountId, model: ModelId) -> JobId {
    Inference::<T>::do_request(
        user.clone(),
        model,
        vec![b'a'; T::MaxPromptLen::get() as usize],
        T::MaxTokens::get(),
        MAX_FEE,
        None,
    )
    .unwrap()
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_operator(b: Linear<1, { T::MaxBasesPerOperator::get() }>) {
        let owner: T::AccountId = account("owner", 0, 0);
        let bases: Vec<ModelId> =
            (0..b).map(|_| T::BenchmarkHelper::model_with_contributions(&owner, 1).0).collect();
        let who = operator::<T>(0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), bases);
        assert_eq!(Operators::<T>::get(&who).map(|o| o.bases.len()), Some(b as usize));
    }

    #[benchmark]
    fn unregister_operator(b: Linear<1, { T::MaxBasesPerOperator::get() }>) {
        let owner: T::AccountId = account("owner", 0, 0);
        let bases: Vec<ModelId> =
            (0..b).map(|_| T::BenchmarkHelper::model_with_contributions(&owner, 1).0).collect();
        // Other operators share every base, so each list is rewritten, not removed.
        for i in 1..T::MaxOperatorsPerBase::get() {
            Inference::<T>::do_register(operator::<T>(i), bases.clone()).unwrap();
        }
        let who = operator::<T>(0);
        Inference::<T>::do_register(who.clone(), bases).unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        assert!(!Operators::<T>::contains_key(&who));
    }

    #[benchmark]
    fn request_inference(p: Linear<1, { T::MaxPromptLen::get() }>) {
        let (model, _, _) = served::<T>(1);
        let who = user::<T>(0);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            model,
            vec![b'a'; p as usize],
            T::MaxTokens::get(),
            MAX_FEE,
            None,
        );
        assert_eq!(NextJobId::<T>::get(), 1);
    }

    #[benchmark]
    fn complete_job(
        o: Linear<0, { T::MaxOutputLen::get() }>,
        e: Linear<0, { T::MaxAttribution::get() }>,
    ) {
        let (model, ids, op) = served::<T>(T::MaxAttribution::get());
        let who = user::<T>(0);
        let id = job::<T>(&who, model);
        let output = vec![b'a'; o as usize];
        let hash = provena_primitives::content_hash(&output);
        let mut attribution: Vec<(ContributionId, WeightPpm)> =
            ids.iter().take(e as usize).map(|c| (*c, PPM / e.max(1))).collect();
        if let Some(first) = attribution.first_mut() {
            first.1 += PPM - (PPM / e.max(1)) * e;
        }
        #[extrinsic_call]
        _(RawOrigin::Signed(op), id, output, 1, 1, attribution, H256::zero(), hash, None);
        assert!(matches!(Jobs::<T>::get(id).map(|j| j.state), Some(JobState::Completed { .. })));
    }

    /// `e` open jobs expiring and `p` finished jobs deleted in one block.
    #[benchmark]
    fn on_initialize(
        e: Linear<0, { T::MaxJobsPerBlock::get() }>,
        p: Linear<0, { T::MaxJobsPerBlock::get() }>,
    ) {
        let (model, _, _) = served::<T>(1);
        let who = user::<T>(0);
        let timeout = T::JobTimeout::get();
        let retention = T::Retention::get();
        let start = frame_system::Pallet::<T>::block_number().max(One::one());
        // `p` jobs requested at `start` expire at `start + timeout` and are deleted at
        // `at = start + timeout + retention`; `e` jobs requested at `start + retention` expire
        // at `at` too.
        frame_system::Pallet::<T>::set_block_number(start);
        for _ in 0..p {
            job::<T>(&who, model);
        }
        Inference::<T>::expire_and_prune(start + timeout);
        frame_system::Pallet::<T>::set_block_number(start + retention);
        for _ in 0..e {
            job::<T>(&who, model);
        }
        let at = start + timeout + retention;
        assert_eq!(Prunes::<T>::decode_len(at).unwrap_or(0), p as usize);
        assert_eq!(Expiries::<T>::decode_len(at).unwrap_or(0), e as usize);
        frame_system::Pallet::<T>::set_block_number(at);
        #[block]
        {
            Inference::<T>::on_initialize(at);
        }
        assert!(Prunes::<T>::decode_len(at).unwrap_or(0).is_zero());
    }

    impl_benchmark_test_suite!(Inference, crate::mock::ExtBuilder.build(), crate::mock::Test);
}
