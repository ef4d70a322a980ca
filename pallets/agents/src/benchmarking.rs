//! Benchmarks of every call and of the trait entry points, each in its worst case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use super::*;
use crate::Pallet as AgentsPallet;
use alloc::vec;
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_support::traits::fungible::Mutate,
    frame_system::{Pallet as System, RawOrigin},
    sp_runtime::traits::{Saturating, Zero},
};
use provena_primitives::agents::{AgentBonds, AgentRewards, AgentWork, Work};

/// What benchmarks need from the runtime.
pub trait BenchmarkHelper {
    /// `n` distinct models that exist.
    fn models(n: u32) -> Vec<ModelId>;
}

/// For mocks whose models 1 to `n` exist.
impl BenchmarkHelper for () {
    fn models(n: u32) -> Vec<ModelId> {
        (1..=u64::from(n)).map(ModelId).collect()
    }
}

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    T::Currency::set_balance(&who, T::MinAgentBond::get().saturating_mul(1_000_000));
    who
}

fn set_era<T: Config>(era: EraIndex) {
    System::<T>::set_block_number(T::EraLength::get().saturating_mul(era.into()));
}

/// The pallet account has its existential deposit, as the runtime's genesis gives it.
fn fund_pallet<T: Config>() {
    let account = AgentsPallet::<T>::account_id();
    if T::Currency::balance(&account).is_zero() {
        T::Currency::set_balance(&account, T::Currency::minimum_balance());
    }
}

/// An agent with the most models, the longest URIs and twice its minimum bond.
fn agent<T: Config>(index: u32) -> T::AccountId {
    fund_pallet::<T>();
    let who = funded::<T>("agent", index);
    AgentsPallet::<T>::register_agent(
        RawOrigin::Signed(who.clone()).into(),
        T::BenchmarkHelper::models(T::MaxModels::get()),
        vec![b'x'; T::MaxUriLen::get() as usize],
        vec![b'x'; T::MaxUriLen::get() as usize],
        T::MinAgentBond::get().saturating_mul(2),
        Perbill::from_percent(10),
    )
    .unwrap();
    who
}

fn delegator<T: Config>(agent: &T::AccountId, index: u32) -> T::AccountId {
    delegator_with::<T>(agent, index, T::MinDelegation::get().saturating_mul(10))
}

fn delegator_with<T: Config>(agent: &T::AccountId, index: u32, amount: Balance) -> T::AccountId {
    let who = funded::<T>("delegator", index);
    AgentsPallet::<T>::delegate(RawOrigin::Signed(who.clone()).into(), agent.clone(), amount)
        .unwrap();
    who
}

/// Pays `agent` a reward its stakers share.
fn rewarded<T: Config>(agent: &T::AccountId) {
    let payer = funded::<T>("payer", 0);
    AgentsPallet::<T>::do_reward(agent, &payer, T::MinAgentBond::get()).unwrap();
}

/// `MaxPendingSlashes` pending slashes queued in era 0 (due from `SlashDeferral`).
fn pending_slashes<T: Config>(agent: &T::AccountId, n: u32) {
    let mut a = Agents::<T>::get(agent).unwrap();
    for _ in 0..n {
        AgentsPallet::<T>::queue_slash(
            agent,
            &mut a,
            Perbill::from_percent(1),
            SlashReason::Governance,
        )
        .unwrap();
    }
    a.status = AgentStatus::Chilled { since: 0, fault: true };
    Agents::<T>::insert(agent, a);
}

/// Fills the agent's unbonding pools: one per era from era 0, from as few delegators as their
/// chunks allow.
fn unbonding_pools<T: Config>(agent: &T::AccountId) {
    let chunks = T::MaxUnlockingChunks::get();
    for i in 0..T::MaxUnbondingPools::get() {
        set_era::<T>(i);
        let d: T::AccountId = account("delegator", 1_000 + i / chunks, 0);
        if i % chunks == 0 {
            // Enough for every chunk to take the least delegation and leave at least as much.
            let amount = T::MinDelegation::get().saturating_mul((chunks + 1).into());
            delegator_with::<T>(agent, 1_000 + i / chunks, amount);
        }
        AgentsPallet::<T>::undelegate(
            RawOrigin::Signed(d).into(),
            agent.clone(),
            T::MinDelegation::get(),
        )
        .unwrap();
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_agent(m: Linear<1, { T::MaxModels::get() }>) {
        fund_pallet::<T>();
        let who = funded::<T>("agent", 0);
        let models = T::BenchmarkHelper::models(m);
        let uri = vec![b'x'; T::MaxUriLen::get() as usize];
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            models,
            uri.clone(),
            uri,
            T::MinAgentBond::get(),
            Perbill::from_percent(10),
        );
        assert!(Agents::<T>::contains_key(&who));
    }

    #[benchmark]
    fn update_agent(m: Linear<1, { T::MaxModels::get() }>) {
        let who = agent::<T>(0);
        let models = T::BenchmarkHelper::models(m);
        let uri = vec![b'y'; T::MaxUriLen::get() as usize];
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), models, uri.clone(), uri);
        assert_eq!(Agents::<T>::get(&who).unwrap().models.len() as u32, m);
    }

    #[benchmark]
    fn set_commission() {
        let who = agent::<T>(0);
        set_era::<T>(1);
        let new = Perbill::from_percent(10).saturating_add(T::MaxCommissionIncrease::get());
        let new = new.min(T::MaxCommission::get());
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), new);
        assert_eq!(Agents::<T>::get(&who).unwrap().commission, new);
    }

    /// A delegator adds to its delegation and is first paid the rewards it is owed.
    #[benchmark]
    fn bond() {
        let a = agent::<T>(0);
        let d = delegator::<T>(&a, 0);
        rewarded::<T>(&a);
        let before = T::Currency::balance(&d);
        #[extrinsic_call]
        delegate(RawOrigin::Signed(d.clone()), a, T::MinDelegation::get());
        assert!(T::Currency::balance(&d) > before - T::MinDelegation::get());
    }

    /// A delegator with owed rewards and all but one of its chunks unbonds into a new pool.
    #[benchmark]
    fn unbond() {
        let a = agent::<T>(0);
        let d = delegator::<T>(&a, 0);
        for era in 0..T::MaxUnlockingChunks::get() - 1 {
            set_era::<T>(era);
            AgentsPallet::<T>::undelegate(
                RawOrigin::Signed(d.clone()).into(),
                a.clone(),
                1u32.into(),
            )
            .unwrap();
        }
        set_era::<T>(T::MaxUnlockingChunks::get() - 1);
        rewarded::<T>(&a);
        #[extrinsic_call]
        undelegate(RawOrigin::Signed(d.clone()), a.clone(), 1u32.into());
        assert_eq!(
            Members::<T>::get(&a, &d).unwrap().unlocking.len() as u32,
            T::MaxUnlockingChunks::get()
        );
    }

    #[benchmark]
    fn chill() {
        let who = agent::<T>(0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        assert!(Agents::<T>::get(&who).unwrap().status != AgentStatus::Active);
    }

    #[benchmark]
    fn activate() {
        let who = agent::<T>(0);
        AgentsPallet::<T>::do_chill(&who, true).unwrap();
        set_era::<T>(1);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        assert_eq!(Agents::<T>::get(&who).unwrap().status, AgentStatus::Active);
    }

    /// A member withdraws the most chunks, each emptying its own pool, and leaves.
    #[benchmark]
    fn withdraw_unbonded() {
        let a = agent::<T>(0);
        let d = delegator::<T>(&a, 0);
        let chunks = T::MaxUnlockingChunks::get();
        for era in 0..chunks {
            set_era::<T>(era);
            let amount = if era + 1 == chunks { Balance::MAX } else { 1u32.into() };
            AgentsPallet::<T>::undelegate(RawOrigin::Signed(d.clone()).into(), a.clone(), amount)
                .unwrap();
        }
        set_era::<T>(chunks + T::BondingDuration::get());
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), a.clone(), d.clone());
        assert!(!Members::<T>::contains_key(&a, &d));
    }

    #[benchmark]
    fn claim_rewards() {
        let a = agent::<T>(0);
        let d = delegator::<T>(&a, 0);
        rewarded::<T>(&a);
        #[extrinsic_call]
        _(RawOrigin::Signed(d.clone()), a.clone());
        assert_eq!(
            Members::<T>::get(&a, &d).unwrap().reward_snapshot,
            Agents::<T>::get(&a).unwrap().reward_per_point
        );
    }

    #[benchmark]
    fn slash() -> Result<(), BenchmarkError> {
        let a = agent::<T>(0);
        pending_slashes::<T>(&a, T::MaxPendingSlashes::get() - 1);
        let origin =
            T::SlashOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, a.clone(), T::MaxGovernanceSlash::get());
        assert!(Agents::<T>::get(&a).unwrap().pending_slashes.is_full());
        Ok(())
    }

    #[benchmark]
    fn cancel_slash() -> Result<(), BenchmarkError> {
        let a = agent::<T>(0);
        let n = T::MaxPendingSlashes::get();
        pending_slashes::<T>(&a, n);
        let origin = T::CancelSlashOrigin::try_successful_origin()
            .map_err(|_| BenchmarkError::Weightless)?;
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, a.clone(), n - 1);
        assert_eq!(Agents::<T>::get(&a).unwrap().pending_slashes.len() as u32, n - 1);
        Ok(())
    }

    /// The bounded work an era can leave to a call: every pending slash due, each applied to
    /// the active pool and every unbonding pool.
    #[benchmark]
    fn apply_slashes() {
        let a = agent::<T>(0);
        unbonding_pools::<T>(&a);
        set_era::<T>(0);
        pending_slashes::<T>(&a, T::MaxPendingSlashes::get());
        set_era::<T>(T::SlashDeferral::get());
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), a.clone());
        assert!(Agents::<T>::get(&a).unwrap().pending_slashes.is_empty());
    }

    /// A reaped agent with the longest performance history and rounding to sweep.
    #[benchmark]
    fn reap_agent() {
        let a = agent::<T>(0);
        for era in 0..T::HistoryDepth::get() {
            set_era::<T>(era);
            AgentsPallet::<T>::do_note_work(&a, Work::JobCompleted);
        }
        AgentsPallet::<T>::do_chill(&a, false).unwrap();
        AgentsPallet::<T>::unbond(RawOrigin::Signed(a.clone()).into(), Balance::MAX).unwrap();
        Agents::<T>::mutate(&a, |x| x.as_mut().unwrap().rewards_unpaid = 1u32.into());
        let account = AgentsPallet::<T>::account_id();
        T::Currency::set_balance(&account, T::Currency::balance(&account) + 1);
        set_era::<T>(T::HistoryDepth::get() + T::BondingDuration::get());
        AgentsPallet::<T>::withdraw_unbonded(
            RawOrigin::Signed(a.clone()).into(),
            a.clone(),
            a.clone(),
        )
        .unwrap();
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), a.clone());
        assert!(!Agents::<T>::contains_key(&a));
    }

    /// A report that starts a new era after a full history has gone stale and crosses the
    /// upheld-challenge threshold: it prunes every kept era, queues a slash and chills.
    #[benchmark]
    fn note_work() {
        let a = agent::<T>(0);
        for era in 0..T::HistoryDepth::get() {
            set_era::<T>(era);
            AgentsPallet::<T>::do_note_work(&a, Work::JobCompleted);
        }
        let era = T::HistoryDepth::get() * 2;
        set_era::<T>(era);
        for _ in 1..T::UpheldChallengeThreshold::get() {
            Performance::<T>::mutate(&a, era, |p| p.challenges_upheld += 1);
        }
        #[block]
        {
            <AgentsPallet<T> as AgentWork<_>>::note_work(&a, Work::ChallengeUpheld);
        }
        let a = Agents::<T>::get(&a).unwrap();
        assert!(a.status != AgentStatus::Active);
        assert_eq!(a.performance_eras.to_vec(), vec![era]);
    }

    #[benchmark]
    fn reward() {
        let a = agent::<T>(0);
        delegator::<T>(&a, 0);
        let payer = funded::<T>("payer", 0);
        #[block]
        {
            <AgentsPallet<T> as AgentRewards<_>>::reward(&a, &payer, T::MinAgentBond::get())
                .unwrap();
        }
        assert!(!Agents::<T>::get(&a).unwrap().rewards_unpaid.is_zero());
    }

    /// An upheld challenge takes more than the agent's whole own bond: its owed rewards are
    /// paid, its active points and every unlocking chunk (each its own pool) are taken, and it
    /// is chilled.
    #[benchmark]
    fn take_own_bond() {
        let a = agent::<T>(0);
        delegator::<T>(&a, 0);
        for era in 0..T::MaxUnlockingChunks::get() {
            set_era::<T>(era);
            AgentsPallet::<T>::unbond(RawOrigin::Signed(a.clone()).into(), 1u32.into()).unwrap();
        }
        rewarded::<T>(&a);
        let user = funded::<T>("user", 0);
        let to = vec![(user.clone(), Balance::MAX)];
        #[block]
        {
            <AgentsPallet<T> as AgentBonds<_>>::take_own_bond(&a, &to).unwrap();
        }
        assert!(!Members::<T>::contains_key(&a, &a));
        assert!(Agents::<T>::get(&a).unwrap().status != AgentStatus::Active);
    }

    impl_benchmark_test_suite!(AgentsPallet, crate::mock::ExtBuilder.build(), crate::mock::Test);
}
