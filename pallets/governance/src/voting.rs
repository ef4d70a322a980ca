//! Votes, delegations and the locks behind them.

use pallet_conviction_voting::{Delegations, UnvoteScope};
use polkadot_sdk::{
    frame_support::{
        defensive,
        dispatch::DispatchResult,
        ensure,
        traits::{fungible::Inspect, Get, LockableCurrency, PollStatus, Polling, WithdrawReasons},
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    pallet_conviction_voting,
    sp_runtime::{traits::Saturating, DispatchError},
};
use provena_primitives::Balance;

use crate::{
    AccountVote, Casting, ClassLocksFor, ClassOf, Config, Conviction, Delegating, Error, Event,
    Pallet, PollIndexOf, VotePower, Voting, VotingFor, VOTING_LOCK_ID,
};

impl<T: Config> Pallet<T> {
    fn now() -> BlockNumberFor<T> {
        frame_system::Pallet::<T>::block_number()
    }

    /// When a lock of `periods` lock periods that starts at `from` ends.
    fn lock_end(from: BlockNumberFor<T>, periods: u32) -> BlockNumberFor<T> {
        from.saturating_add(T::VoteLockingPeriod::get().saturating_mul(periods.into()))
    }

    pub(crate) fn try_vote(
        who: &T::AccountId,
        poll_index: PollIndexOf<T>,
        vote: AccountVote<Balance>,
    ) -> DispatchResult {
        ensure!(vote.balance() <= T::Currency::total_balance(who), Error::<T>::InsufficientFunds);
        T::Polls::try_access_poll(poll_index, |status| {
            let (tally, class) = status.ensure_ongoing().ok_or(Error::<T>::NotOngoing)?;
            let power = match vote {
                AccountVote::Standard { .. } => Self::power_at(who, tally.snapshot),
                _ => 0,
            };
            VotingFor::<T>::try_mutate(who, &class, |voting| -> DispatchResult {
                let Voting::Casting(Casting { votes, delegations, .. }) = voting else {
                    return Err(Error::<T>::AlreadyDelegating.into());
                };
                match votes.binary_search_by_key(&poll_index, |v| v.0) {
                    Ok(i) => {
                        let slot = votes.get_mut(i).ok_or(Error::<T>::NotVoter)?;
                        let old_power = VotePower::<T>::get(who, poll_index).unwrap_or_default();
                        tally.remove(slot.1, old_power).ok_or(Error::<T>::TallyOverflow)?;
                        if let Some(aye) = slot.1.as_standard() {
                            tally.reduce(aye, *delegations);
                        }
                        slot.1 = vote;
                    }
                    Err(i) => votes
                        .try_insert(i, (poll_index, vote))
                        .map_err(|_| Error::<T>::MaxVotesReached)?,
                }
                tally.add(vote, power).ok_or(Error::<T>::TallyOverflow)?;
                if let Some(aye) = vote.as_standard() {
                    tally.increase(aye, *delegations);
                }
                Ok(())
            })?;
            if power > 0 {
                VotePower::<T>::insert(who, poll_index, power);
            } else {
                VotePower::<T>::remove(who, poll_index);
            }
            Self::extend_lock(who, &class, vote.balance());
            Self::deposit_event(Event::Voted { who: who.clone(), poll_index, vote, power });
            Ok(())
        })
    }

    pub(crate) fn try_remove_vote(
        who: &T::AccountId,
        poll_index: PollIndexOf<T>,
        class_hint: Option<ClassOf<T>>,
        scope: UnvoteScope,
    ) -> DispatchResult {
        let class = class_hint
            .or_else(|| Some(T::Polls::as_ongoing(poll_index)?.1))
            .ok_or(Error::<T>::ClassNeeded)?;
        VotingFor::<T>::try_mutate(who, &class, |voting| -> DispatchResult {
            let Voting::Casting(Casting { votes, delegations, prior }) = voting else {
                return Err(Error::<T>::NotVoter.into());
            };
            let i = votes
                .binary_search_by_key(&poll_index, |v| v.0)
                .map_err(|_| Error::<T>::NotVoter)?;
            let (_, vote) = votes.remove(i);
            let power = VotePower::<T>::take(who, poll_index).unwrap_or_default();
            T::Polls::try_access_poll(poll_index, |status| match status {
                PollStatus::Ongoing(tally, _) => {
                    ensure!(matches!(scope, UnvoteScope::Any), Error::<T>::NoPermission);
                    tally.remove(vote, power).ok_or(Error::<T>::TallyOverflow)?;
                    if let Some(aye) = vote.as_standard() {
                        tally.reduce(aye, *delegations);
                    }
                    Ok(())
                }
                PollStatus::Completed(end, approved) => {
                    if let Some((periods, balance)) = locked_after(vote, approved) {
                        let until = Self::lock_end(end, periods);
                        if Self::now() < until {
                            ensure!(matches!(scope, UnvoteScope::Any), Error::<T>::NoPermissionYet);
                            prior.accumulate(until, balance);
                        }
                    }
                    Ok(())
                }
                // Cancelled or killed: nothing to count, nothing to lock.
                PollStatus::None => Ok(()),
            })?;
            Self::deposit_event(Event::VoteRemoved { who: who.clone(), poll_index, vote });
            Ok(())
        })
    }

    /// Adds (`add`) or removes delegated `amount` to `who`'s standard votes on ongoing
    /// referenda of `class`. Returns how many votes it looked at.
    fn update_upstream(
        who: &T::AccountId,
        class: &ClassOf<T>,
        amount: Delegations<Balance>,
        add: bool,
    ) -> u32 {
        VotingFor::<T>::mutate(who, class, |voting| match voting {
            // One level of delegation only: a delegate who delegates passes nothing on.
            Voting::Delegating(Delegating { delegations, .. }) => {
                *delegations = if add {
                    delegations.saturating_add(amount)
                } else {
                    delegations.saturating_sub(amount)
                };
                1
            }
            Voting::Casting(Casting { votes, delegations, .. }) => {
                *delegations = if add {
                    delegations.saturating_add(amount)
                } else {
                    delegations.saturating_sub(amount)
                };
                for (poll_index, vote) in votes.iter() {
                    if let Some(aye) = vote.as_standard() {
                        T::Polls::access_poll(*poll_index, |status| {
                            if let PollStatus::Ongoing(tally, _) = status {
                                if add {
                                    tally.increase(aye, amount)
                                } else {
                                    tally.reduce(aye, amount)
                                }
                            }
                        });
                    }
                }
                u32::try_from(votes.len()).unwrap_or(u32::MAX)
            }
        })
    }

    pub(crate) fn try_delegate(
        who: T::AccountId,
        class: ClassOf<T>,
        target: T::AccountId,
        conviction: Conviction,
        balance: Balance,
    ) -> Result<u32, DispatchError> {
        ensure!(who != target, Error::<T>::Nonsense);
        T::Polls::classes().binary_search(&class).map_err(|_| Error::<T>::BadClass)?;
        ensure!(balance <= T::Currency::total_balance(&who), Error::<T>::InsufficientFunds);
        VotingFor::<T>::try_mutate(&who, &class, |voting| -> DispatchResult {
            let Voting::Casting(Casting { votes, delegations, prior }) = voting else {
                return Err(Error::<T>::AlreadyDelegating.into());
            };
            ensure!(votes.is_empty(), Error::<T>::AlreadyVoting);
            *voting = Voting::Delegating(Delegating {
                balance,
                target: target.clone(),
                conviction,
                delegations: *delegations,
                prior: *prior,
            });
            Ok(())
        })?;
        let votes = Self::update_upstream(&target, &class, conviction.votes(balance), true);
        Self::extend_lock(&who, &class, balance);
        Self::deposit_event(Event::Delegated { who, target, class });
        Ok(votes)
    }

    pub(crate) fn try_undelegate(
        who: T::AccountId,
        class: ClassOf<T>,
    ) -> Result<u32, DispatchError> {
        let (target, amount) =
            VotingFor::<T>::try_mutate(&who, &class, |voting| -> Result<_, DispatchError> {
                let Voting::Delegating(Delegating {
                    balance,
                    target,
                    conviction,
                    delegations,
                    prior,
                }) = voting
                else {
                    return Err(Error::<T>::NotDelegating.into());
                };
                let mut prior = *prior;
                prior.accumulate(Self::lock_end(Self::now(), conviction.lock_periods()), *balance);
                let out = (target.clone(), conviction.votes(*balance));
                *voting = Voting::Casting(Casting {
                    votes: Default::default(),
                    delegations: *delegations,
                    prior,
                });
                Ok(out)
            })?;
        let votes = Self::update_upstream(&target, &class, amount, false);
        Self::deposit_event(Event::Undelegated { who, class });
        Ok(votes)
    }

    /// Whether `voting` records nothing: no votes, nothing delegated to it, no lock to keep.
    fn is_idle(voting: &crate::VotingOf<T>) -> bool {
        matches!(
            voting,
            Voting::Casting(Casting { votes, delegations, prior })
                if votes.is_empty() && delegations.capital == 0 && prior.locked() == 0
        )
    }

    fn extend_lock(who: &T::AccountId, class: &ClassOf<T>, amount: Balance) {
        ClassLocksFor::<T>::mutate(who, |locks| {
            match locks.iter_mut().find(|(c, _)| c == class) {
                Some((_, lock)) => *lock = (*lock).max(amount),
                None => {
                    if locks.try_push((class.clone(), amount)).is_err() {
                        // Unreachable: bounded by the number of classes, one entry each.
                        defensive!("more class locks than classes");
                    }
                }
            }
        });
        T::Currency::extend_lock(
            VOTING_LOCK_ID,
            who,
            amount,
            WithdrawReasons::except(WithdrawReasons::RESERVE),
        );
    }

    /// Recomputes `who`'s lock for `class` and the `pyconvot` lock; returns the latter.
    pub(crate) fn update_lock(
        class: &ClassOf<T>,
        who: &T::AccountId,
    ) -> Result<Balance, DispatchError> {
        let mut locks = ClassLocksFor::<T>::get(who);
        let i = locks.iter().position(|(c, _)| c == class).ok_or(Error::<T>::NothingToUnlock)?;
        let needed = VotingFor::<T>::mutate_exists(who, class, |maybe| {
            let Some(voting) = maybe else { return 0 };
            voting.rejig(Self::now());
            let needed = voting.locked_balance();
            if needed == 0 && Self::is_idle(voting) {
                // Nothing left to remember: free the entry.
                *maybe = None;
            }
            needed
        });
        if needed == 0 {
            locks.remove(i);
        } else if let Some((_, lock)) = locks.get_mut(i) {
            *lock = needed;
        }
        let locked = locks.iter().map(|(_, l)| *l).max().unwrap_or_default();
        if locks.is_empty() {
            ClassLocksFor::<T>::remove(who);
            T::Currency::remove_lock(VOTING_LOCK_ID, who);
        } else {
            ClassLocksFor::<T>::insert(who, locks);
            T::Currency::set_lock(
                VOTING_LOCK_ID,
                who,
                locked,
                WithdrawReasons::except(WithdrawReasons::RESERVE),
            );
        }
        Ok(locked)
    }
}

/// The lock periods and balance a vote keeps locked after its referendum ended `approved`: a
/// standard vote with conviction on the winning side; nothing for any other vote.
fn locked_after(vote: AccountVote<Balance>, approved: bool) -> Option<(u32, Balance)> {
    match vote {
        AccountVote::Standard { vote, balance }
            if vote.aye == approved && vote.conviction != Conviction::None =>
        {
            Some((vote.conviction.lock_periods(), balance))
        }
        _ => None,
    }
}
