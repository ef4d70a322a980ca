//! Slashes (queued, cancelled, applied), performance from reported work and the thresholds
//! that slash automatically; the traits other pallets call.

use crate::*;
use polkadot_sdk::sp_runtime::Rounding;
use polkadot_sdk::{
    frame_support::traits::tokens::{Fortitude, Precision, Restriction},
    sp_runtime::{traits::Zero, DispatchError},
};
use provena_primitives::agents::{AgentBonds, AgentRewards, AgentWork, Work};

impl<T: Config> Pallet<T> {
    /// Queues a slash of `fraction` of `agent`'s stake, applied after [`Config::SlashDeferral`]
    /// eras.
    pub(crate) fn queue_slash(
        agent: &T::AccountId,
        a: &mut Agent<T>,
        fraction: Perbill,
        reason: SlashReason,
    ) -> Result<u32, DispatchError> {
        let id = a.next_slash;
        let era = Self::current_era();
        let apply_at = era.saturating_add(T::SlashDeferral::get());
        a.pending_slashes
            .try_push(PendingSlash { id, fraction, era, apply_at, reason })
            .map_err(|_| Error::<T>::TooManyPendingSlashes)?;
        a.next_slash = id.checked_add(1).ok_or(Error::<T>::Overflow)?;
        Self::deposit_event(Event::SlashQueued {
            agent: agent.clone(),
            id,
            fraction,
            reason,
            apply_at,
        });
        Ok(id)
    }

    /// Applies the agent's slashes whose deferral is over, oldest first.
    pub(crate) fn apply_due_slashes(agent: &T::AccountId, a: &mut Agent<T>) -> DispatchResult {
        let now = Self::current_era();
        while a.pending_slashes.first().is_some_and(|s| s.apply_at <= now) {
            let s = a.pending_slashes.remove(0);
            Self::apply_slash(agent, a, s)?;
        }
        Ok(())
    }

    /// Takes `s.fraction` of the active pool and of every unbonding pool (each loses at most
    /// its value) to the slash destination.
    fn apply_slash(agent: &T::AccountId, a: &mut Agent<T>, s: PendingSlash) -> DispatchResult {
        let take = s.fraction.mul_floor(a.active.value);
        a.active.value = a.active.value.saturating_sub(take);
        let mut amount = take;
        for (era, mut pool) in Unbonding::<T>::iter_prefix(agent) {
            let take = s.fraction.mul_floor(pool.value);
            if take.is_zero() {
                continue;
            }
            pool.value = pool.value.saturating_sub(take);
            amount = amount.saturating_add(take);
            Unbonding::<T>::insert(agent, era, pool);
        }
        if !amount.is_zero() {
            T::Currency::transfer_on_hold(
                &HoldReason::Staked.into(),
                &Self::account_id(),
                &T::SlashDestination::get(),
                amount,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Force,
            )?;
        }
        Self::deposit_event(Event::Slashed { agent: agent.clone(), id: s.id, amount });
        Ok(())
    }

    /// `slash`'s work: governance's slash, capped per era, chills the agent.
    pub(crate) fn do_governance_slash(agent: T::AccountId, fraction: Perbill) -> DispatchResult {
        ensure!(!fraction.is_zero(), Error::<T>::ZeroSlash);
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&agent, &mut a)?;
        let era = Self::current_era();
        let used =
            if a.governance_slashed.0 == era { a.governance_slashed.1 } else { Perbill::zero() };
        let total = used.deconstruct().saturating_add(fraction.deconstruct());
        ensure!(
            total <= T::MaxGovernanceSlash::get().deconstruct(),
            Error::<T>::GovernanceSlashCapReached
        );
        a.governance_slashed = (era, Perbill::from_parts(total));
        Self::queue_slash(&agent, &mut a, fraction, SlashReason::Governance)?;
        Self::chill_record(&agent, &mut a, true)?;
        Agents::<T>::insert(&agent, a);
        Ok(())
    }

    /// `cancel_slash`'s work.
    pub(crate) fn do_cancel_slash(agent: T::AccountId, id: u32) -> DispatchResult {
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        let index =
            a.pending_slashes.iter().position(|s| s.id == id).ok_or(Error::<T>::SlashNotFound)?;
        let due = a.pending_slashes.get(index).is_some_and(|s| s.apply_at <= Self::current_era());
        ensure!(!due, Error::<T>::SlashDue);
        a.pending_slashes.remove(index);
        Agents::<T>::insert(&agent, a);
        Self::deposit_event(Event::SlashCancelled { agent, id });
        Ok(())
    }

    /// Counts `work` in `who`'s performance of this era; crossing a threshold queues a
    /// threshold slash and chills the agent (at most once per era).
    pub(crate) fn do_note_work(who: &T::AccountId, work: Work) {
        let Some(mut a) = Agents::<T>::get(who) else { return };
        let era = Self::current_era();
        if a.performance_eras.last() != Some(&era) {
            // Forget the eras past the history depth, and the oldest if the list is full.
            let oldest = era.saturating_sub(T::HistoryDepth::get().saturating_sub(1));
            while a
                .performance_eras
                .first()
                .is_some_and(|e| *e < oldest || a.performance_eras.is_full())
            {
                let gone = a.performance_eras.remove(0);
                Performance::<T>::remove(who, gone);
            }
            // Cannot fail: the list has room now.
            let _ = a.performance_eras.try_push(era);
        }
        let p = Performance::<T>::mutate(who, era, |p| {
            match work {
                Work::JobCompleted => p.jobs_completed = p.jobs_completed.saturating_add(1),
                Work::JobExpired => p.jobs_expired = p.jobs_expired.saturating_add(1),
                Work::ReceiptsSettled { count, fees } => {
                    p.receipts_settled = p.receipts_settled.saturating_add(count);
                    p.fees_served = p.fees_served.saturating_add(fees);
                }
                Work::ChallengeUpheld => {
                    p.challenges_upheld = p.challenges_upheld.saturating_add(1)
                }
            }
            *p
        });
        let reason = match work {
            Work::JobExpired if Self::expiry_rate_crossed(&p) => Some(SlashReason::JobExpiry),
            Work::ChallengeUpheld if p.challenges_upheld >= T::UpheldChallengeThreshold::get() => {
                Some(SlashReason::UpheldChallenges)
            }
            _ => None,
        };
        if let Some(reason) = reason {
            if a.auto_slashed != Some(era) {
                a.auto_slashed = Some(era);
                if let Err(e) = Self::queue_slash(who, &mut a, T::ThresholdSlash::get(), reason) {
                    // The slashes already pending are enough to chill it; it stays chilled.
                    log::warn!(target: "runtime::agents", "threshold slash not queued: {e:?}");
                }
                let _ = Self::chill_record(who, &mut a, true);
            }
        }
        Agents::<T>::insert(who, a);
    }

    /// What the agent's own bond is worth: its active points and its unlocking chunks.
    pub fn own_value(agent: &T::AccountId) -> Balance {
        let (Some(a), Some(m)) = (Agents::<T>::get(agent), Members::<T>::get(agent, agent)) else {
            return 0;
        };
        let unlocking = m.unlocking.iter().fold(0, |sum: Balance, (era, points)| {
            let pool = Unbonding::<T>::get(agent, era).unwrap_or_default();
            sum.saturating_add(Self::value_of(&pool, *points))
        });
        Self::value_of(&a.active, m.points).saturating_add(unlocking)
    }

    /// Takes up to `want` of `points` in `pool`: the value taken and the points it burns (all of
    /// them when it takes all they are worth; otherwise rounded up, against the owner).
    fn take_from(pool: &mut Pool<Balance>, points: &mut Balance, want: Balance) -> Balance {
        let have = Self::value_of(pool, *points);
        let (value, burnt) = if want >= have {
            (have, *points)
        } else {
            let burnt = Self::points_for(pool, want, Rounding::Up).unwrap_or(*points);
            (want, burnt.min(*points))
        };
        pool.value = pool.value.saturating_sub(value);
        pool.points = pool.points.saturating_sub(burnt);
        *points = points.saturating_sub(burnt);
        value
    }

    /// [`AgentBonds::take_own_bond`]'s work.
    pub(crate) fn do_take_own_bond(
        agent: &T::AccountId,
        to: &[(T::AccountId, Balance)],
    ) -> Result<Balance, DispatchError> {
        let mut a = Agents::<T>::get(agent).ok_or(Error::<T>::NotAgent)?;
        let Some(mut m) = Members::<T>::get(agent, agent) else { return Ok(0) };
        Self::apply_due_slashes(agent, &mut a)?;
        // Its rewards are paid at the points it held while earning them.
        Self::pay_rewards(agent, &mut a, agent, &mut m)?;
        let mut total: Balance = 0;
        for (payee, want) in to {
            let mut rest = *want;
            let mut taken = Self::take_from(&mut a.active, &mut m.points, rest);
            rest = rest.saturating_sub(taken);
            // Then its unbonding stake, the latest to unlock first.
            let mut chunks = m.unlocking.to_vec();
            for (era, points) in chunks.iter_mut().rev() {
                if rest.is_zero() {
                    break;
                }
                let Some(mut pool) = Unbonding::<T>::get(agent, *era) else { continue };
                let value = Self::take_from(&mut pool, points, rest);
                rest = rest.saturating_sub(value);
                taken = taken.saturating_add(value);
                if pool.points.is_zero() {
                    Unbonding::<T>::remove(agent, *era);
                    a.unbonding_pools = a.unbonding_pools.saturating_sub(1);
                } else {
                    Unbonding::<T>::insert(agent, *era, pool);
                }
            }
            chunks.retain(|(_, points)| !points.is_zero());
            m.unlocking = BoundedVec::truncate_from(chunks);
            if taken.is_zero() {
                continue;
            }
            T::Currency::transfer_on_hold(
                &HoldReason::Staked.into(),
                &Self::account_id(),
                payee,
                taken,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Force,
            )?;
            total = total.saturating_add(taken);
            Self::deposit_event(Event::OwnBondTaken {
                agent: agent.clone(),
                to: payee.clone(),
                amount: taken,
            });
        }
        let own = Self::value_of(&a.active, m.points);
        if a.status == AgentStatus::Active && own < T::MinAgentBond::get() {
            Self::chill_record(agent, &mut a, true)?;
        }
        Self::store_member(agent, &mut a, agent, m);
        Agents::<T>::insert(agent, a);
        Ok(total)
    }

    /// Whether an era's jobs are enough and expired often enough to slash.
    pub fn expiry_rate_crossed(p: &EraPerformance) -> bool {
        let jobs = p.jobs_completed.saturating_add(p.jobs_expired);
        jobs >= T::MinJobsForExpiryRate::get()
            && !jobs.is_zero()
            && Perbill::from_rational(p.jobs_expired, jobs) >= T::ExpiryRateThreshold::get()
    }
}

impl<T: Config> AgentWork<T::AccountId> for Pallet<T> {
    fn is_active(who: &T::AccountId, model: Option<ModelId>) -> bool {
        Agents::<T>::get(who).is_some_and(|a| {
            a.status == AgentStatus::Active
                && model.is_none_or(|m| {
                    a.models.is_empty()
                        || a.models.contains(&m)
                        || T::Models::base(m).is_some_and(|b| a.models.contains(&b))
                })
        })
    }

    fn note_work(who: &T::AccountId, work: Work) {
        Self::do_note_work(who, work)
    }

    fn note_work_weight() -> Weight {
        T::WeightInfo::note_work()
    }
}

impl<T: Config> AgentRewards<T::AccountId> for Pallet<T> {
    fn is_agent(who: &T::AccountId) -> bool {
        Agents::<T>::contains_key(who)
    }

    fn reward(agent: &T::AccountId, from: &T::AccountId, amount: Balance) -> DispatchResult {
        Self::do_reward(agent, from, amount)
    }

    fn reward_weight() -> Weight {
        T::WeightInfo::reward()
    }
}

impl<T: Config> AgentBonds<T::AccountId> for Pallet<T> {
    fn own_bond(agent: &T::AccountId) -> Balance {
        Self::own_value(agent)
    }

    fn own_bond_weight() -> Weight {
        // The agent, its own membership and each unbonding pool it has a chunk in.
        T::DbWeight::get().reads(u64::from(T::MaxUnlockingChunks::get()).saturating_add(2))
    }

    fn take_own_bond(
        agent: &T::AccountId,
        to: &[(T::AccountId, Balance)],
    ) -> Result<Balance, DispatchError> {
        Self::do_take_own_bond(agent, to)
    }

    fn take_own_bond_weight() -> Weight {
        // Slashes that fell due are applied first.
        T::WeightInfo::take_own_bond().saturating_add(T::WeightInfo::apply_slashes())
    }

    fn enroll(who: &T::AccountId, active: bool) -> DispatchResult {
        Self::do_enroll(who)?;
        if !active {
            Self::do_chill(who, false)?;
        }
        Ok(())
    }
}
