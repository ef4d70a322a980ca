//! Registration, bonds, delegations, unbonding and rewards: the calls' work.

use crate::*;
use polkadot_sdk::{
    frame_support::traits::tokens::{Fortitude, Precision, Preservation, Restriction},
    sp_core::{U256, U512},
    sp_runtime::{
        helpers_128bit::multiply_by_rational_with_rounding,
        traits::{Saturating, Zero},
        DispatchError, Rounding,
    },
};

/// Rewards per point are kept ×10³⁶ (decimal, so that shares that are whole numbers come out
/// whole). A reward (< 2¹²⁸) times this fits a U256.
fn scale() -> U256 {
    U256::exp10(36)
}

/// A pool whose points exceed this many times its value (slashes took nearly all of it) takes
/// no new stake: new members would get absurd numbers of points.
const MAX_POINTS_PER_VALUE: Balance = 10;

impl<T: Config> Pallet<T> {
    /// The points `value` buys in `pool`.
    pub(crate) fn points_for(
        pool: &Pool<Balance>,
        value: Balance,
        rounding: Rounding,
    ) -> Result<Balance, DispatchError> {
        if pool.points.is_zero() {
            return Ok(value);
        }
        ensure!(
            pool.value.saturating_mul(MAX_POINTS_PER_VALUE) >= pool.points,
            Error::<T>::PoolWipedOut
        );
        multiply_by_rational_with_rounding(value, pool.points, pool.value, rounding)
            .ok_or_else(|| Error::<T>::Overflow.into())
    }

    /// What `points` of `pool` are worth (rounded down; all the points take all the value).
    pub fn value_of(pool: &Pool<Balance>, points: Balance) -> Balance {
        if points >= pool.points {
            return pool.value;
        }
        multiply_by_rational_with_rounding(points, pool.value, pool.points, Rounding::Down)
            .unwrap_or_default()
    }

    /// The rewards `m` is owed by agent `a` (never more than the agent's unpaid rewards).
    pub fn owed(a: &Agent<T>, m: &Membership<T>) -> Balance {
        let delta = a.reward_per_point.saturating_sub(m.reward_snapshot);
        let owed: U512 = U256::from(m.points)
            .full_mul(delta)
            .checked_div(U512::from(scale()))
            .unwrap_or_default();
        let owed = if owed > U512::from(u128::MAX) { u128::MAX } else { owed.low_u128() };
        owed.min(a.rewards_unpaid)
    }

    /// Pays `member` what it is owed and moves its snapshot to now. An amount below the
    /// existential deposit that cannot be paid (the member's account is gone) is forfeited: it
    /// stays with the agent's rounding, swept to the agent when it is reaped.
    pub(crate) fn pay_rewards(
        agent: &T::AccountId,
        a: &mut Agent<T>,
        member: &T::AccountId,
        m: &mut Membership<T>,
    ) -> DispatchResult {
        let owed = Self::owed(a, m);
        m.reward_snapshot = a.reward_per_point;
        if owed.is_zero() {
            return Ok(());
        }
        match T::Currency::transfer(&Self::account_id(), member, owed, Preservation::Preserve) {
            Ok(_) => {
                a.rewards_unpaid = a.rewards_unpaid.saturating_sub(owed);
                Self::deposit_event(Event::RewardsPaid {
                    agent: agent.clone(),
                    member: member.clone(),
                    amount: owed,
                });
                Ok(())
            }
            Err(_) if owed < T::Currency::minimum_balance() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Checks an agent's models and URIs.
    #[allow(clippy::type_complexity)]
    fn agent_fields(
        models: Vec<ModelId>,
        endpoint: Vec<u8>,
        metadata: Vec<u8>,
    ) -> Result<(BoundedVec<ModelId, T::MaxModels>, Uri<T>, Uri<T>), DispatchError> {
        ensure!(!models.is_empty(), Error::<T>::NoModels);
        let mut sorted = models.clone();
        sorted.sort_unstable();
        sorted.dedup();
        ensure!(sorted.len() == models.len(), Error::<T>::BadModels);
        let models = BoundedVec::try_from(models).map_err(|_| Error::<T>::BadModels)?;
        ensure!(models.iter().all(|m| T::Models::exists(*m)), Error::<T>::UnknownModel);
        let endpoint = BoundedVec::try_from(endpoint).map_err(|_| Error::<T>::UriTooLong)?;
        let metadata = BoundedVec::try_from(metadata).map_err(|_| Error::<T>::UriTooLong)?;
        Ok((models, endpoint, metadata))
    }

    /// `register_agent`'s work.
    pub(crate) fn do_register(
        who: T::AccountId,
        models: Vec<ModelId>,
        endpoint: Vec<u8>,
        metadata: Vec<u8>,
        bond: Balance,
        commission: Perbill,
    ) -> DispatchResult {
        ensure!(!Agents::<T>::contains_key(&who), Error::<T>::AlreadyAgent);
        let (models, endpoint, metadata) = Self::agent_fields(models, endpoint, metadata)?;
        Self::insert_agent(who, models, endpoint, metadata, bond, commission)
    }

    /// Makes `who` an agent serving any model with [`Config::MinAgentBond`] and no commission
    /// (see [`provena_primitives::agents::AgentBonds::enroll`]).
    pub(crate) fn do_enroll(who: &T::AccountId) -> DispatchResult {
        ensure!(!Agents::<T>::contains_key(who), Error::<T>::AlreadyAgent);
        Self::insert_agent(
            who.clone(),
            BoundedVec::default(),
            BoundedVec::default(),
            BoundedVec::default(),
            T::MinAgentBond::get(),
            Perbill::zero(),
        )
    }

    /// Stores a new, active agent with checked fields, holds its deposit and bonds `bond`.
    fn insert_agent(
        who: T::AccountId,
        models: BoundedVec<ModelId, T::MaxModels>,
        endpoint: Uri<T>,
        metadata: Uri<T>,
        bond: Balance,
        commission: Perbill,
    ) -> DispatchResult {
        ensure!(commission <= T::MaxCommission::get(), Error::<T>::CommissionTooHigh);
        ensure!(bond >= T::MinAgentBond::get(), Error::<T>::BondTooLow);
        let deposit = T::AgentDeposit::get();
        T::Currency::hold(&HoldReason::AgentDeposit.into(), &who, deposit)?;
        let era = Self::current_era();
        let agent = Agent::<T> {
            models,
            endpoint,
            metadata,
            deposit,
            commission,
            commission_changed: era,
            status: AgentStatus::Active,
            active: Pool::default(),
            delegators: 0,
            unbonding_pools: 0,
            reward_per_point: U256::zero(),
            rewards_unpaid: 0,
            pending_slashes: BoundedVec::default(),
            next_slash: 0,
            governance_slashed: (era, Perbill::zero()),
            auto_slashed: None,
            performance_eras: BoundedVec::default(),
            registered_at: frame_system::Pallet::<T>::block_number(),
        };
        Agents::<T>::insert(&who, agent);
        Self::deposit_event(Event::AgentRegistered { agent: who.clone(), bond, commission });
        Self::do_bond(who.clone(), who, bond)
    }

    /// `update_agent`'s work.
    pub(crate) fn do_update(
        who: T::AccountId,
        models: Vec<ModelId>,
        endpoint: Vec<u8>,
        metadata: Vec<u8>,
    ) -> DispatchResult {
        let mut a = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
        let (models, endpoint, metadata) = Self::agent_fields(models, endpoint, metadata)?;
        a.models = models;
        a.endpoint = endpoint;
        a.metadata = metadata;
        Agents::<T>::insert(&who, a);
        Self::deposit_event(Event::AgentUpdated { agent: who });
        Ok(())
    }

    /// `set_commission`'s work.
    pub(crate) fn do_set_commission(who: T::AccountId, commission: Perbill) -> DispatchResult {
        let mut a = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
        ensure!(commission <= T::MaxCommission::get(), Error::<T>::CommissionTooHigh);
        let era = Self::current_era();
        if commission > a.commission {
            ensure!(
                a.commission_changed < era
                    && commission.saturating_sub(a.commission) <= T::MaxCommissionIncrease::get(),
                Error::<T>::CommissionChangeTooFast
            );
        }
        a.commission = commission;
        a.commission_changed = era;
        Agents::<T>::insert(&who, a);
        Self::deposit_event(Event::CommissionChanged { agent: who, commission });
        Ok(())
    }

    /// Bonds `amount` of `member`'s OPEN to `agent` (the agent's own bond when they are the
    /// same account).
    pub(crate) fn do_bond(
        agent: T::AccountId,
        member: T::AccountId,
        amount: Balance,
    ) -> DispatchResult {
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&agent, &mut a)?;
        let own = member == agent;
        if !own {
            ensure!(a.status == AgentStatus::Active, Error::<T>::NotActive);
            ensure!(a.pending_slashes.is_empty(), Error::<T>::SlashPending);
        }
        ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
        let existing = Members::<T>::get(&agent, &member);
        let new_member = existing.is_none();
        if new_member && !own {
            ensure!(a.delegators < T::MaxDelegators::get(), Error::<T>::TooManyDelegators);
        }
        let mut m = existing.unwrap_or_default();
        let current = Self::value_of(&a.active, m.points);
        if !own {
            ensure!(
                current.saturating_add(amount) >= T::MinDelegation::get(),
                Error::<T>::DelegationTooLow
            );
        }
        Self::pay_rewards(&agent, &mut a, &member, &mut m)?;
        let points = Self::points_for(&a.active, amount, Rounding::Down)?;
        ensure!(!points.is_zero(), Error::<T>::ZeroAmount);
        a.active.value = a.active.value.checked_add(amount).ok_or(Error::<T>::Overflow)?;
        a.active.points = a.active.points.checked_add(points).ok_or(Error::<T>::Overflow)?;
        m.points = m.points.saturating_add(points);
        // The pallet account keeps one existential deposit of free balance for good (so that
        // rewards can wait there); on a chain that added the pallet by an upgrade, the first
        // staker pays it, once.
        let account = Self::account_id();
        let floor = T::Currency::minimum_balance();
        let free = T::Currency::balance(&account);
        if free < floor {
            T::Currency::transfer(
                &member,
                &account,
                floor.saturating_sub(free),
                Preservation::Preserve,
            )?;
        }
        T::Currency::transfer_and_hold(
            &HoldReason::Staked.into(),
            &member,
            &Self::account_id(),
            amount,
            Precision::Exact,
            Preservation::Preserve,
            Fortitude::Polite,
        )?;
        if new_member && !own {
            a.delegators = a.delegators.saturating_add(1);
        }
        Members::<T>::insert(&agent, &member, m);
        Agents::<T>::insert(&agent, a);
        Self::deposit_event(Event::Bonded { agent, member, amount });
        Ok(())
    }

    /// Moves `amount` (all, if it is more) of `member`'s active stake in `agent` to the
    /// unbonding pool of the era it unlocks in.
    pub(crate) fn do_unbond(
        agent: T::AccountId,
        member: T::AccountId,
        amount: Balance,
    ) -> DispatchResult {
        ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&agent, &mut a)?;
        let mut m = Members::<T>::get(&agent, &member).ok_or(Error::<T>::NotMember)?;
        ensure!(!m.points.is_zero(), Error::<T>::ZeroAmount);
        Self::pay_rewards(&agent, &mut a, &member, &mut m)?;
        let have = Self::value_of(&a.active, m.points);
        let points = if amount >= have {
            m.points
        } else {
            Self::points_for(&a.active, amount, Rounding::Up)?.min(m.points)
        };
        let value = Self::value_of(&a.active, points);
        let left = have.saturating_sub(value);
        if member == agent {
            if a.status == AgentStatus::Active {
                ensure!(left >= T::MinAgentBond::get(), Error::<T>::WouldLeaveBondBelowMinimum);
            }
        } else {
            ensure!(
                points == m.points || left >= T::MinDelegation::get(),
                Error::<T>::DelegationTooLow
            );
        }
        let unlocks_at = Self::current_era().saturating_add(T::BondingDuration::get());
        if !value.is_zero() {
            let existing = Unbonding::<T>::get(&agent, unlocks_at);
            if existing.is_none() {
                ensure!(
                    a.unbonding_pools < T::MaxUnbondingPools::get(),
                    Error::<T>::TooManyUnbondingPools
                );
            }
            let mut pool = existing.unwrap_or_default();
            let pool_points = Self::points_for(&pool, value, Rounding::Down)?;
            match m.unlocking.iter_mut().find(|(era, _)| *era == unlocks_at) {
                Some(chunk) => chunk.1 = chunk.1.saturating_add(pool_points),
                None => m
                    .unlocking
                    .try_push((unlocks_at, pool_points))
                    .map_err(|_| Error::<T>::TooManyUnlockingChunks)?,
            }
            if pool.points.is_zero() {
                a.unbonding_pools = a.unbonding_pools.saturating_add(1);
            }
            pool.value = pool.value.saturating_add(value);
            pool.points = pool.points.saturating_add(pool_points);
            Unbonding::<T>::insert(&agent, unlocks_at, pool);
        }
        a.active.value = a.active.value.saturating_sub(value);
        a.active.points = a.active.points.saturating_sub(points);
        m.points = m.points.saturating_sub(points);
        Self::store_member(&agent, &mut a, &member, m);
        Agents::<T>::insert(&agent, a);
        Self::deposit_event(Event::Unbonding { agent, member, amount: value, unlocks_at });
        Ok(())
    }

    /// Stores a member, or removes it (and counts a delegator out) when it has nothing left.
    pub(crate) fn store_member(
        agent: &T::AccountId,
        a: &mut Agent<T>,
        member: &T::AccountId,
        m: Membership<T>,
    ) {
        if m.points.is_zero() && m.unlocking.is_empty() {
            Members::<T>::remove(agent, member);
            if agent != member {
                a.delegators = a.delegators.saturating_sub(1);
            }
        } else {
            Members::<T>::insert(agent, member, m);
        }
    }

    /// Pays `member`'s unlocked unbonding stake from `agent` back to it.
    pub(crate) fn do_withdraw(agent: T::AccountId, member: T::AccountId) -> DispatchResult {
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&agent, &mut a)?;
        ensure!(a.pending_slashes.is_empty(), Error::<T>::SlashPending);
        let mut m = Members::<T>::get(&agent, &member).ok_or(Error::<T>::NotMember)?;
        if member == agent {
            ensure!(!T::Liability::is_liable(&agent), Error::<T>::OwnBondAnswerable);
        }
        let now = Self::current_era();
        let (due, keep): (Vec<_>, Vec<_>) =
            m.unlocking.iter().copied().partition(|(era, _)| *era <= now);
        ensure!(!due.is_empty(), Error::<T>::NothingToWithdraw);
        let mut amount: Balance = 0;
        for (era, points) in due {
            let Some(mut pool) = Unbonding::<T>::get(&agent, era) else { continue };
            let value = Self::value_of(&pool, points);
            pool.value = pool.value.saturating_sub(value);
            pool.points = pool.points.saturating_sub(points);
            amount = amount.saturating_add(value);
            if pool.points.is_zero() {
                Unbonding::<T>::remove(&agent, era);
                a.unbonding_pools = a.unbonding_pools.saturating_sub(1);
            } else {
                Unbonding::<T>::insert(&agent, era, pool);
            }
        }
        m.unlocking = BoundedVec::truncate_from(keep);
        if !amount.is_zero() {
            T::Currency::transfer_on_hold(
                &HoldReason::Staked.into(),
                &Self::account_id(),
                &member,
                amount,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Force,
            )?;
        }
        Self::store_member(&agent, &mut a, &member, m);
        Agents::<T>::insert(&agent, a);
        Self::deposit_event(Event::Withdrawn { agent, member, amount });
        Ok(())
    }

    /// `claim_rewards`'s work.
    pub(crate) fn do_claim(agent: T::AccountId, member: T::AccountId) -> DispatchResult {
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        let mut m = Members::<T>::get(&agent, &member).ok_or(Error::<T>::NotMember)?;
        Self::pay_rewards(&agent, &mut a, &member, &mut m)?;
        Members::<T>::insert(&agent, &member, m);
        Agents::<T>::insert(&agent, a);
        Ok(())
    }

    /// Splits a reward of `amount` from `from`: the commission to the agent, the rest to its
    /// stakers by points (all of it to the agent when nobody is staked).
    pub(crate) fn do_reward(
        agent: &T::AccountId,
        from: &T::AccountId,
        amount: Balance,
    ) -> DispatchResult {
        let mut a = Agents::<T>::get(agent).ok_or(Error::<T>::NotAgent)?;
        if amount.is_zero() {
            return Ok(());
        }
        let (commission, shared) = if a.active.points.is_zero() {
            (amount, 0)
        } else {
            let commission = a.commission.mul_floor(amount);
            (commission, amount.saturating_sub(commission))
        };
        if !commission.is_zero() {
            T::Currency::transfer(from, agent, commission, Preservation::Preserve)?;
        }
        if !shared.is_zero() {
            T::Currency::transfer(from, &Self::account_id(), shared, Preservation::Preserve)?;
            let increase = U256::from(shared)
                .saturating_mul(scale())
                .checked_div(U256::from(a.active.points))
                .unwrap_or_default();
            a.reward_per_point = a.reward_per_point.saturating_add(increase);
            a.rewards_unpaid = a.rewards_unpaid.saturating_add(shared);
            Agents::<T>::insert(agent, a);
        }
        Self::deposit_event(Event::Rewarded { agent: agent.clone(), commission, shared });
        Ok(())
    }

    /// Chills `who`: by itself (`fault` false, only an active agent), or by a slash.
    pub(crate) fn do_chill(who: &T::AccountId, fault: bool) -> DispatchResult {
        let mut a = Agents::<T>::get(who).ok_or(Error::<T>::NotAgent)?;
        Self::chill_record(who, &mut a, fault)?;
        Agents::<T>::insert(who, a);
        Ok(())
    }

    /// Marks the record chilled (a fault always re-marks it, so it waits an era).
    pub(crate) fn chill_record(
        who: &T::AccountId,
        a: &mut Agent<T>,
        fault: bool,
    ) -> DispatchResult {
        if !fault {
            ensure!(a.status == AgentStatus::Active, Error::<T>::NotActive);
        }
        a.status = AgentStatus::Chilled { since: Self::current_era(), fault };
        Self::deposit_event(Event::Chilled { agent: who.clone(), fault });
        Ok(())
    }

    /// `activate`'s work.
    pub(crate) fn do_activate(who: T::AccountId) -> DispatchResult {
        let mut a = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&who, &mut a)?;
        let AgentStatus::Chilled { since, fault } = a.status else {
            return Err(Error::<T>::AlreadyActive.into());
        };
        ensure!(a.pending_slashes.is_empty(), Error::<T>::SlashPending);
        ensure!(!fault || Self::current_era() > since, Error::<T>::ChilledThisEra);
        let own = Members::<T>::get(&who, &who).map(|m| m.points).unwrap_or_default();
        ensure!(Self::value_of(&a.active, own) >= T::MinAgentBond::get(), Error::<T>::BondTooLow);
        a.status = AgentStatus::Active;
        Agents::<T>::insert(&who, a);
        Self::deposit_event(Event::Activated { agent: who });
        Ok(())
    }

    /// `reap_agent`'s work.
    pub(crate) fn do_reap(agent: T::AccountId) -> DispatchResult {
        let mut a = Agents::<T>::get(&agent).ok_or(Error::<T>::NotAgent)?;
        Self::apply_due_slashes(&agent, &mut a)?;
        ensure!(
            a.status != AgentStatus::Active
                && a.active.points.is_zero()
                && a.unbonding_pools == 0
                && a.delegators == 0
                && a.pending_slashes.is_empty()
                && !Members::<T>::contains_key(&agent, &agent),
            Error::<T>::AgentInUse
        );
        T::Currency::release(
            &HoldReason::AgentDeposit.into(),
            &agent,
            a.deposit,
            Precision::Exact,
        )?;
        // The rewards' rounding (and forfeited dust) goes to the agent.
        if !a.rewards_unpaid.is_zero() {
            T::Currency::transfer(
                &Self::account_id(),
                &agent,
                a.rewards_unpaid,
                Preservation::Preserve,
            )?;
        }
        for era in a.performance_eras.iter() {
            Performance::<T>::remove(&agent, era);
        }
        T::Liability::forget(&agent);
        Agents::<T>::remove(&agent);
        Self::deposit_event(Event::AgentReaped { agent, deposit_released: a.deposit });
        Ok(())
    }
}
