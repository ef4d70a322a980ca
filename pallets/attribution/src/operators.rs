//! Operators: registration by admin or by themselves, admission, bonding more, leaving with an
//! unbonding delay, and removal.
//!
//! An operator is [`OperatorStatus::Active`] when [`Config::AdminOrigin`] adds it
//! (`add_operator`, its bond held at once) or admits it after it registered itself
//! (`register_operator`, a [`OperatorStatus::Candidate`] with its bond held). Only an active
//! operator submits receipts, is named in prepaid vouchers and is assigned on-chain jobs. It
//! leaves with `leave_operator`: from then on it submits nothing, and its bond comes back with
//! `withdraw_operator_bond` once [`Config::OperatorUnbondingDelay`] has passed, its last
//! receipts are out of their challenge window and none of them is under challenge, so every
//! receipt it submitted stays answerable by its bond. A candidate that leaves gets its bond
//! back at once (it never submitted anything).

use crate::*;

impl<T: Config> Pallet<T> {
    /// Holds the bond from `operator` and stores it with `status`.
    pub(crate) fn do_add_operator(
        operator: T::AccountId,
        status: OperatorStatus<BlockNumberFor<T>>,
    ) -> DispatchResult {
        ensure!(!Operators::<T>::contains_key(&operator), Error::<T>::AlreadyOperator);
        let bond = T::OperatorBond::get();
        T::Currency::hold(&HoldReason::OperatorBond.into(), &operator, bond)?;
        let candidate = status == OperatorStatus::Candidate;
        Operators::<T>::insert(
            &operator,
            Operator { bond, busy_until: Zero::zero(), open_challenges: 0, status },
        );
        if candidate {
            Self::deposit_event(Event::OperatorRegistered { operator, bond });
        } else {
            Self::deposit_event(Event::OperatorAdded { operator, bond });
        }
        Ok(())
    }

    /// Whether `who` is an operator that may submit receipts and be named in vouchers.
    pub fn is_active_operator(who: &T::AccountId) -> bool {
        Operators::<T>::get(who).is_some_and(|op| op.status == OperatorStatus::Active)
    }

    /// Admits a candidate.
    pub(crate) fn do_admit_operator(operator: T::AccountId) -> DispatchResult {
        Operators::<T>::try_mutate(&operator, |op| {
            let op = op.as_mut().ok_or(Error::<T>::NotOperator)?;
            ensure!(op.status == OperatorStatus::Candidate, Error::<T>::NotCandidate);
            op.status = OperatorStatus::Active;
            Ok::<_, DispatchError>(())
        })?;
        Self::deposit_event(Event::OperatorAdmitted { operator });
        Ok(())
    }

    /// Holds `extra` more from a candidate or active operator.
    pub(crate) fn do_bond_more(operator: T::AccountId, extra: Balance) -> DispatchResult {
        ensure!(!extra.is_zero(), Error::<T>::ZeroBond);
        let mut op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
        ensure!(!matches!(op.status, OperatorStatus::Leaving { .. }), Error::<T>::OperatorLeaving);
        op.bond = op.bond.checked_add(extra).ok_or(Error::<T>::Overflow)?;
        T::Currency::hold(&HoldReason::OperatorBond.into(), &operator, extra)?;
        let bond = op.bond;
        Operators::<T>::insert(&operator, op);
        Self::deposit_event(Event::OperatorBonded { operator, extra, bond });
        Ok(())
    }

    /// Starts an active operator's departure, or removes a candidate.
    pub(crate) fn do_leave_operator(operator: T::AccountId) -> DispatchResult {
        let mut op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
        match op.status {
            OperatorStatus::Candidate => Self::remove(operator, op),
            OperatorStatus::Active => {
                let now = frame_system::Pallet::<T>::block_number();
                let unlocks_at =
                    now.saturating_add(T::OperatorUnbondingDelay::get()).max(op.busy_until);
                op.status = OperatorStatus::Leaving { unlocks_at };
                Operators::<T>::insert(&operator, op);
                Self::deposit_event(Event::OperatorLeaving { operator, unlocks_at });
                Ok(())
            }
            OperatorStatus::Leaving { .. } => Err(Error::<T>::OperatorLeaving.into()),
        }
    }

    /// Releases a departed operator's bond and removes it.
    pub(crate) fn do_withdraw_operator_bond(operator: T::AccountId) -> DispatchResult {
        let op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
        let OperatorStatus::Leaving { unlocks_at } = op.status else {
            return Err(Error::<T>::NotLeaving.into());
        };
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(unlocks_at <= now, Error::<T>::StillUnbonding);
        Self::remove_idle(operator, op)
    }

    /// Removes an operator (admin): once none of its receipts is in a window or challenged.
    pub(crate) fn do_remove_operator(operator: T::AccountId) -> DispatchResult {
        let op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
        Self::remove_idle(operator, op)
    }

    /// Removes `op` if none of its receipts is in its challenge window or challenged.
    fn remove_idle(operator: T::AccountId, op: Operator<T>) -> DispatchResult {
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(op.busy_until <= now && op.open_challenges == 0, Error::<T>::OperatorBusy);
        Self::remove(operator, op)
    }

    /// Releases the bond and removes the operator and its epoch usage.
    fn remove(operator: T::AccountId, op: Operator<T>) -> DispatchResult {
        if op.bond > 0 {
            T::Currency::release(
                &HoldReason::OperatorBond.into(),
                &operator,
                op.bond,
                Precision::Exact,
            )?;
        }
        Operators::<T>::remove(&operator);
        OperatorEpochUsage::<T>::remove(&operator);
        Self::deposit_event(Event::OperatorRemoved { operator, bond_released: op.bond });
        Ok(())
    }
}
