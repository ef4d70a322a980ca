//! The pallet's invariants, checked after every unit test and by `try-runtime`.

use crate::*;
use polkadot_sdk::sp_runtime::{traits::Zero, TryRuntimeError};

impl<T: Config> Pallet<T> {
    /// Checks every invariant listed in the pallet's documentation.
    pub fn do_try_state() -> Result<(), TryRuntimeError> {
        let account = Self::account_id();
        let mut staked: Balance = 0;
        let mut unpaid: Balance = 0;
        for (agent, a) in Agents::<T>::iter() {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::AgentDeposit.into(), &agent) >= a.deposit,
                "an agent's deposit is not held"
            );
            ensure!(
                !a.active.points.is_zero() || a.active.value.is_zero(),
                "an active pool has value without points"
            );
            let mut points: Balance = 0;
            let mut delegators = 0u32;
            let mut unlocking = alloc::collections::BTreeMap::<EraIndex, Balance>::new();
            let mut owed: Balance = 0;
            for (member, m) in Members::<T>::iter_prefix(&agent) {
                ensure!(
                    !m.points.is_zero() || !m.unlocking.is_empty(),
                    "an empty member is stored"
                );
                points = points.checked_add(m.points).ok_or("points overflow")?;
                if member != agent {
                    delegators = delegators.saturating_add(1);
                }
                for (era, p) in m.unlocking.iter() {
                    let e = unlocking.entry(*era).or_default();
                    *e = e.saturating_add(*p);
                }
                owed = owed.saturating_add(Self::owed(&a, &m));
            }
            ensure!(points == a.active.points, "members' points differ from the active pool's");
            ensure!(delegators == a.delegators, "delegator count is wrong");
            ensure!(
                owed <= a.rewards_unpaid,
                "members are owed more than the agent's unpaid rewards"
            );
            let mut pools = 0u32;
            for (era, pool) in Unbonding::<T>::iter_prefix(&agent) {
                ensure!(!pool.points.is_zero(), "an empty unbonding pool is stored");
                ensure!(
                    unlocking.remove(&era) == Some(pool.points),
                    "an unbonding pool's points differ from its members' chunks"
                );
                staked = staked.checked_add(pool.value).ok_or("stake overflow")?;
                pools = pools.saturating_add(1);
            }
            ensure!(unlocking.is_empty(), "a chunk points to no unbonding pool");
            ensure!(pools == a.unbonding_pools, "unbonding pool count is wrong");
            ensure!(
                a.performance_eras.windows(2).all(|w| w.first() < w.get(1)),
                "performance eras are not ordered"
            );
            ensure!(
                Performance::<T>::iter_key_prefix(&agent).count() == a.performance_eras.len(),
                "performance records differ from their list"
            );
            ensure!(
                a.pending_slashes
                    .windows(2)
                    .all(|w| w.first().map(|s| s.apply_at) <= w.get(1).map(|s| s.apply_at)),
                "pending slashes are not in order"
            );
            staked = staked.checked_add(a.active.value).ok_or("stake overflow")?;
            unpaid = unpaid.checked_add(a.rewards_unpaid).ok_or("rewards overflow")?;
        }
        ensure!(
            Members::<T>::iter_keys().all(|(agent, _)| Agents::<T>::contains_key(agent)),
            "a member of no agent"
        );
        ensure!(
            Unbonding::<T>::iter_keys().all(|(agent, _)| Agents::<T>::contains_key(agent)),
            "an unbonding pool of no agent"
        );
        ensure!(
            T::Currency::balance_on_hold(&HoldReason::Staked.into(), &account) == staked,
            "stake held differs from the agents' pools"
        );
        ensure!(
            T::Currency::balance(&account) >= unpaid,
            "the pallet account holds less than the unpaid rewards"
        );
        Ok(())
    }
}
