//! What the runtime API returns: agents, members' stakes with their pending rewards, and
//! performance.

use crate::*;
use provena_primitives::agents::{AgentInfo, DelegationInfo, UnlockingInfo};

/// The most items one API page returns, whatever the caller asks.
pub const API_PAGE_LIMIT: u32 = 1_000;

impl<T: Config> Pallet<T> {
    fn info(agent: T::AccountId, a: Agent<T>) -> AgentInfo<T::AccountId> {
        let own = Members::<T>::get(&agent, &agent).map(|m| m.points).unwrap_or_default();
        let unbonding = Unbonding::<T>::iter_prefix_values(&agent)
            .fold(0 as Balance, |acc, p| acc.saturating_add(p.value));
        AgentInfo {
            own_stake: Self::value_of(&a.active, own),
            total_stake: a.active.value,
            unbonding,
            delegators: a.delegators,
            pending_slashes: a.pending_slashes.to_vec(),
            models: a.models.to_vec(),
            endpoint: a.endpoint.to_vec(),
            metadata: a.metadata.to_vec(),
            commission: a.commission,
            status: a.status,
            era: Self::current_era(),
            agent,
        }
    }

    fn delegation_info(
        agent: &T::AccountId,
        a: &Agent<T>,
        member: T::AccountId,
        m: &Membership<T>,
    ) -> DelegationInfo<T::AccountId> {
        let unlocking = m
            .unlocking
            .iter()
            .map(|(era, points)| UnlockingInfo {
                era: *era,
                value: Unbonding::<T>::get(agent, era)
                    .map(|pool| Self::value_of(&pool, *points))
                    .unwrap_or_default(),
            })
            .collect();
        DelegationInfo {
            agent: agent.clone(),
            member,
            stake: Self::value_of(&a.active, m.points),
            unlocking,
            pending_rewards: Self::owed(a, m),
        }
    }

    /// `AgentsApi::agent`.
    pub fn api_agent(who: T::AccountId) -> Option<AgentInfo<T::AccountId>> {
        Agents::<T>::get(&who).map(|a| Self::info(who, a))
    }

    /// `AgentsApi::agents`.
    pub fn api_agents(
        start_after: Option<T::AccountId>,
        limit: u32,
    ) -> Vec<AgentInfo<T::AccountId>> {
        let limit = limit.min(API_PAGE_LIMIT) as usize;
        let iter = match start_after {
            Some(key) => Agents::<T>::iter_from(Agents::<T>::hashed_key_for(key)),
            None => Agents::<T>::iter(),
        };
        iter.take(limit).map(|(who, a)| Self::info(who, a)).collect()
    }

    /// `AgentsApi::delegation`.
    pub fn api_delegation(
        agent: T::AccountId,
        member: T::AccountId,
    ) -> Option<DelegationInfo<T::AccountId>> {
        let a = Agents::<T>::get(&agent)?;
        let m = Members::<T>::get(&agent, &member)?;
        Some(Self::delegation_info(&agent, &a, member, &m))
    }

    /// `AgentsApi::delegations`.
    pub fn api_delegations(
        agent: T::AccountId,
        start_after: Option<T::AccountId>,
        limit: u32,
    ) -> Vec<DelegationInfo<T::AccountId>> {
        let Some(a) = Agents::<T>::get(&agent) else { return Vec::new() };
        let limit = limit.min(API_PAGE_LIMIT) as usize;
        let iter = match start_after {
            Some(key) => {
                Members::<T>::iter_prefix_from(&agent, Members::<T>::hashed_key_for(&agent, key))
            }
            None => Members::<T>::iter_prefix(&agent),
        };
        iter.take(limit).map(|(member, m)| Self::delegation_info(&agent, &a, member, &m)).collect()
    }

    /// `AgentsApi::performance`.
    pub fn api_performance(agent: T::AccountId) -> Vec<(EraIndex, EraPerformance)> {
        Agents::<T>::get(&agent)
            .map(|a| {
                a.performance_eras.iter().map(|e| (*e, Performance::<T>::get(&agent, e))).collect()
            })
            .unwrap_or_default()
    }
}
