//! Operators are agents: the agents pallet keeps the registry and the bond
//! ([`Config::Agents`]); this pallet keeps what its receipts need.
//!
//! An operator is an active agent of the agents pallet: only one submits receipts (each for a
//! model it serves), is named in prepaid vouchers and is assigned on-chain jobs. Its own bond
//! answers first for its receipts: an upheld challenge takes the user's refund of what the
//! token holders were already paid, then [`Config::OperatorSlash`], from it at once
//! (`AgentBonds::take_own_bond`). So that it is there to take, [`Operator`] records until when
//! an agent's receipts can be challenged and how many are: while they can, the agents pallet
//! does not let its own unbonded stake be withdrawn ([`OperatorLiability`]). The record goes
//! with the agent (`reap_agent` forgets it, once nothing is owed).

use crate::*;
use provena_primitives::agents::{AgentBonds, OperatorLiability};

impl<T: Config> Pallet<T> {
    /// Whether `who` is an operator that may submit receipts and be named in vouchers: an
    /// active agent.
    pub fn is_active_operator(who: &T::AccountId) -> bool {
        T::Agents::is_active(who, None)
    }

    /// Whether `who`'s receipts still answer for themselves: one is in its challenge window or
    /// challenged.
    pub fn is_liable(who: &T::AccountId) -> bool {
        Operators::<T>::get(who).is_some_and(|op| {
            op.open_challenges > 0 || op.busy_until > frame_system::Pallet::<T>::block_number()
        })
    }

    /// Whether `operator`'s own bond covers a full slash, so that every receipt it submits
    /// is answerable.
    pub(crate) fn answerable(operator: &T::AccountId) -> bool {
        T::Agents::own_bond(operator) >= T::OperatorSlash::get()
    }
}

impl<T: Config> OperatorLiability<T::AccountId> for Pallet<T> {
    fn is_liable(who: &T::AccountId) -> bool {
        Self::is_liable(who)
    }

    fn forget(who: &T::AccountId) {
        if Self::is_liable(who) {
            return;
        }
        if Operators::<T>::take(who).is_some() {
            OperatorEpochUsage::<T>::remove(who);
            Self::deposit_event(Event::OperatorRemoved { operator: who.clone(), bond_released: 0 });
        }
    }

    fn liability_weight() -> Weight {
        T::DbWeight::get().reads_writes(1, 2)
    }
}
