//! Benchmarks, each at its worst case: the voter already votes on `MaxVotes` referenda of the
//! class (or all but one), and its power history is as long as retention allows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::Pallet as Governance;
use alloc::vec::Vec;
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_support::traits::{Currency, Get, Polling},
    frame_system::RawOrigin,
    sp_runtime::traits::{One, Saturating},
};

/// What benchmark accounts hold: far more than any vote, far less than `u128::MAX`.
const FUNDS: Balance = 1_000_000_000_000_000_000_000_000;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    T::Currency::make_free_balance_be(&who, FUNDS);
    who
}

fn aye(balance: Balance) -> AccountVote<Balance> {
    AccountVote::Standard { vote: Vote { aye: true, conviction: Conviction::Locked1x }, balance }
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
    frame_system::Pallet::<T>::set_block_number(n);
}

/// Gives `who` the longest power history retention keeps (one change per period), ending at
/// the current block's period; the total history gets as long.
fn long_history<T: Config>(who: &T::AccountId) {
    let period = T::PowerPeriod::get().max(One::one());
    let start = frame_system::Pallet::<T>::block_number();
    for k in 0..T::MaxCheckpoints::get() {
        set_block::<T>(start.saturating_add(period.saturating_mul(k.into())));
        Governance::<T>::add_power(who, 1);
    }
}

/// Opens `MaxVotes` referenda in the class that allows the most; returns the class and them.
fn open_polls<T: Config>() -> (ClassOf<T>, Vec<PollIndexOf<T>>) {
    let mut best: Option<(ClassOf<T>, Vec<PollIndexOf<T>>)> = None;
    for class in T::Polls::classes() {
        let mut polls = Vec::new();
        for _ in 0..T::MaxVotes::get() {
            match T::Polls::create_ongoing(class.clone()) {
                Ok(i) => polls.push(i),
                Err(()) => break,
            }
        }
        if best.as_ref().is_none_or(|(_, b)| polls.len() > b.len()) {
            best = Some((class, polls));
        }
        if best.as_ref().is_some_and(|(_, b)| b.len() as u32 == T::MaxVotes::get()) {
            break;
        }
    }
    best.expect("at least one class")
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn vote_new() -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        long_history::<T>(&caller);
        let (class, polls) = open_polls::<T>();
        for i in polls.iter().skip(1) {
            Governance::<T>::vote(RawOrigin::Signed(caller.clone()).into(), *i, aye(100))?;
        }
        #[extrinsic_call]
        vote(RawOrigin::Signed(caller.clone()), polls[0], aye(100));
        assert!(matches!(
            VotingFor::<T>::get(&caller, &class),
            Voting::Casting(Casting { votes, .. }) if votes.len() == polls.len()
        ));
        Ok(())
    }

    #[benchmark]
    fn vote_existing() -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        long_history::<T>(&caller);
        let (_, polls) = open_polls::<T>();
        for i in polls.iter() {
            Governance::<T>::vote(RawOrigin::Signed(caller.clone()).into(), *i, aye(100))?;
        }
        #[extrinsic_call]
        vote(RawOrigin::Signed(caller.clone()), polls[0], aye(200));
        Ok(())
    }

    #[benchmark]
    fn remove_vote() -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        long_history::<T>(&caller);
        let (class, polls) = open_polls::<T>();
        for i in polls.iter() {
            Governance::<T>::vote(RawOrigin::Signed(caller.clone()).into(), *i, aye(100))?;
        }
        #[extrinsic_call]
        remove_vote(RawOrigin::Signed(caller.clone()), Some(class), polls[0]);
        Ok(())
    }

    #[benchmark]
    fn remove_other_vote() -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        let voter = funded::<T>("voter", 0);
        let (class, polls) = open_polls::<T>();
        for i in polls.iter() {
            Governance::<T>::vote(RawOrigin::Signed(voter.clone()).into(), *i, aye(100))?;
        }
        // Rejected: the aye vote is not locked, so anyone may remove it.
        T::Polls::end_ongoing(polls[0], false).map_err(|_| "cannot end the referendum")?;
        let voter_lookup = T::Lookup::unlookup(voter.clone());
        #[extrinsic_call]
        remove_other_vote(RawOrigin::Signed(caller), voter_lookup, class, polls[0]);
        Ok(())
    }

    #[benchmark]
    fn delegate(r: Linear<0, { T::MaxVotes::get() }>) -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        let target = funded::<T>("delegate", 0);
        let (class, polls) = open_polls::<T>();
        for i in polls.iter().take(r as usize) {
            Governance::<T>::vote(RawOrigin::Signed(target.clone()).into(), *i, aye(100))?;
        }
        let to = T::Lookup::unlookup(target);
        #[extrinsic_call]
        delegate(RawOrigin::Signed(caller.clone()), class.clone(), to, Conviction::Locked1x, 100);
        assert!(matches!(VotingFor::<T>::get(&caller, &class), Voting::Delegating(_)));
        Ok(())
    }

    #[benchmark]
    fn undelegate(r: Linear<0, { T::MaxVotes::get() }>) -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        let target = funded::<T>("delegate", 0);
        let (class, polls) = open_polls::<T>();
        Governance::<T>::delegate(
            RawOrigin::Signed(caller.clone()).into(),
            class.clone(),
            T::Lookup::unlookup(target.clone()),
            Conviction::Locked1x,
            100,
        )?;
        for i in polls.iter().take(r as usize) {
            Governance::<T>::vote(RawOrigin::Signed(target.clone()).into(), *i, aye(100))?;
        }
        #[extrinsic_call]
        undelegate(RawOrigin::Signed(caller.clone()), class.clone());
        assert!(matches!(VotingFor::<T>::get(&caller, &class), Voting::Casting(_)));
        Ok(())
    }

    #[benchmark]
    fn unlock() -> Result<(), BenchmarkError> {
        let caller = funded::<T>("caller", 0);
        let (class, polls) = open_polls::<T>();
        for i in polls.iter() {
            Governance::<T>::vote(RawOrigin::Signed(caller.clone()).into(), *i, aye(100))?;
        }
        Governance::<T>::vote(RawOrigin::Signed(caller.clone()).into(), polls[0], aye(1_000))?;
        Governance::<T>::remove_vote(
            RawOrigin::Signed(caller.clone()).into(),
            Some(class.clone()),
            polls[0],
        )?;
        let target = T::Lookup::unlookup(caller.clone());
        #[extrinsic_call]
        unlock(RawOrigin::Signed(caller.clone()), class, target);
        Ok(())
    }

    /// A change of contribution power that drops every entry of the account's and the total's
    /// histories but the last (both as long as retention keeps) and adds one.
    #[benchmark]
    fn note_power() {
        let who = funded::<T>("contributor", 0);
        long_history::<T>(&who);
        let period = T::PowerPeriod::get().max(One::one());
        let far = period
            .saturating_mul(T::MaxCheckpoints::get().saturating_mul(2).into())
            .saturating_add(frame_system::Pallet::<T>::block_number());
        set_block::<T>(far);
        #[block]
        {
            Governance::<T>::add_power(&who, 1);
        }
        assert_eq!(PowerHistory::<T>::get(&who).len(), 2);
    }

    impl_benchmark_test_suite!(
        Governance,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
