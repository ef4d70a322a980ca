//! Challenges: freezing a receipt's credits and resolving them.
//!
//! A receipt's credits wait out the challenge window, except the token holders' part, which is
//! paid into the models pallet when the receipt is credited (so revenue belongs to those who
//! held while it was earned). An upheld challenge therefore refunds the user from two places:
//! the credits still held by this pallet, and, for the holders' part, the operator's own bond
//! in the agents pallet (the operator submitted the bad receipt; its delegators did not). Then
//! the slash is taken from what is left of its own bond, and the upheld challenge counts in the
//! agent's performance (enough of them in an era slash it and its stakers).
//!
//! A challenge nobody resolves within [`Config::ChallengeDeadline`] blocks may be ended by anyone
//! ([`Pallet::expire_challenge`]) with a neutral default: the receipt stands, its credits
//! unfreeze, and the challenger's bond comes back. So frozen rewards never stay frozen forever,
//! and neither side profits from the resolver's silence (a default for the challenger would let
//! anyone slash operators while governance is slow; one against it would punish honest
//! challengers for the same).

use crate::*;
use polkadot_sdk::frame_support::{defensive, traits::DefensiveSaturating};

/// How a challenge ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// The resolve origin upheld it.
    Upheld,
    /// The resolve origin rejected it.
    Rejected,
    /// Nobody resolved it within [`Config::ChallengeDeadline`].
    Expired,
}

impl<T: Config> Pallet<T> {
    /// Challenges `receipt` (see [`Pallet::challenge_receipt`]).
    pub(crate) fn do_challenge(challenger: T::AccountId, receipt: u64) -> DispatchResult {
        let mut r = Receipts::<T>::get(receipt).ok_or(Error::<T>::UnknownReceipt)?;
        match r.status {
            ReceiptStatus::Pending => {}
            ReceiptStatus::Challenged => return Err(Error::<T>::AlreadyChallenged.into()),
            ReceiptStatus::Reversed => return Err(Error::<T>::ReceiptReversed.into()),
        }
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now < r.claimable_at, Error::<T>::ChallengeWindowClosed);
        let bond = T::ChallengeBond::get();
        T::Currency::hold(&HoldReason::ChallengeBond.into(), &challenger, bond)?;
        for (payee, amount) in r.payouts.iter().filter(|(p, _)| !Self::paid_when_credited(p)) {
            Self::mutate_reward(payee, |record| {
                Self::take_pending(record, r.claimable_at, *amount)?;
                record.frozen = record.frozen.checked_add(*amount).ok_or(Error::<T>::Overflow)?;
                Ok(())
            })?;
        }
        Operators::<T>::mutate(&r.operator, |op| match op {
            Some(op) => op.open_challenges = op.open_challenges.saturating_add(1),
            // An operator with a receipt in its window cannot have left.
            None => {
                defensive!("a receipt in its challenge window has no operator");
            }
        });
        r.status = ReceiptStatus::Challenged;
        Receipts::<T>::insert(receipt, r);
        Challenges::<T>::insert(
            receipt,
            Challenge { challenger: challenger.clone(), bond, opened_at: now },
        );
        Self::deposit_event(Event::ReceiptChallenged { receipt, challenger });
        Ok(())
    }

    /// Ends a challenge nobody resolved within [`Config::ChallengeDeadline`] (see
    /// [`Pallet::expire_challenge`]): the receipt stands, its credits unfreeze (claimable at once
    /// if its window has passed) and the challenger's bond comes back.
    pub(crate) fn do_expire(receipt: u64) -> DispatchResult {
        let c = Challenges::<T>::get(receipt).ok_or(Error::<T>::NotChallenged)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            now >= c.opened_at.saturating_add(T::ChallengeDeadline::get()),
            Error::<T>::ChallengeNotExpired
        );
        Self::do_resolve(receipt, Resolution::Expired)
    }

    /// Resolves the challenge of `receipt` (see [`Pallet::resolve_challenge`]).
    pub(crate) fn do_resolve(receipt: u64, resolution: Resolution) -> DispatchResult {
        let upheld = resolution == Resolution::Upheld;
        let c = Challenges::<T>::get(receipt).ok_or(Error::<T>::NotChallenged)?;
        let mut r = Receipts::<T>::get(receipt).ok_or(Error::<T>::UnknownReceipt)?;
        let treasury = T::Treasury::get();
        let mut paid_out: Balance = 0;
        for (payee, amount) in r.payouts.iter() {
            if Self::paid_when_credited(payee) {
                paid_out = paid_out.checked_add(*amount).ok_or(Error::<T>::Overflow)?;
                continue;
            }
            Self::mutate_reward(payee, |record| {
                record.frozen = record.frozen.checked_sub(*amount).ok_or(Error::<T>::Overflow)?;
                if upheld {
                    record.earned =
                        record.earned.checked_sub(*amount).ok_or(Error::<T>::Overflow)?;
                } else {
                    Self::add_pending(record, r.claimable_at, *amount)?;
                }
                Ok(())
            })?;
        }
        let op = Operators::<T>::get(&r.operator);
        if op.is_none() {
            // Its open challenge keeps the operator's record.
            defensive!("a challenged receipt has no operator");
        }
        let mut slashed: Balance = 0;
        let mut refunded: Balance = 0;
        if upheld {
            let from_fees = r.fee.checked_sub(paid_out).ok_or(Error::<T>::Overflow)?;
            if from_fees > 0 {
                T::Currency::transfer_on_hold(
                    &HoldReason::Fees.into(),
                    &Self::account_id(),
                    &r.user,
                    from_fees,
                    Precision::Exact,
                    Restriction::Free,
                    Fortitude::Polite,
                )?;
            }
            FeeTotals::<T>::try_mutate(|t| -> DispatchResult {
                t.refunded = t.refunded.checked_add(from_fees).ok_or(Error::<T>::Overflow)?;
                Ok(())
            })?;
            refunded = from_fees;
            // The holders' part, already theirs, is made good out of the operator's own bond,
            // then the slash is taken from what is left of it.
            let own = T::Agents::own_bond(&r.operator);
            let make_good = paid_out.min(own);
            let slash = T::OperatorSlash::get().min(own.saturating_sub(make_good));
            let reward = T::ChallengerReward::get().mul_floor(slash);
            let to = [
                (r.user.clone(), make_good),
                (c.challenger.clone(), reward),
                (treasury.clone(), slash.saturating_sub(reward)),
            ];
            // Less may be taken than was read if slashes of the agent fell due (they apply
            // first); the user's refund comes first.
            let taken = if make_good.saturating_add(slash) > 0 {
                T::Agents::take_own_bond(&r.operator, &to)?
            } else {
                0
            };
            slashed = taken.saturating_sub(make_good);
            refunded = refunded.saturating_add(taken.min(make_good));
            // An agent's upheld challenges count against it (enough of them in an era slash
            // it and its stakers and chill it).
            T::Agents::note_work(&r.operator, Work::ChallengeUpheld);
            r.status = ReceiptStatus::Reversed;
        } else {
            r.status = ReceiptStatus::Pending;
        }
        // The challenger's bond: lost to the treasury if rejected; back if upheld or if nobody
        // decided (expired: no one is penalized).
        if resolution == Resolution::Rejected {
            T::Currency::transfer_on_hold(
                &HoldReason::ChallengeBond.into(),
                &c.challenger,
                &treasury,
                c.bond,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Polite,
            )?;
        } else {
            T::Currency::release(
                &HoldReason::ChallengeBond.into(),
                &c.challenger,
                c.bond,
                Precision::Exact,
            )?;
        }
        if let Some(mut op) = op {
            op.open_challenges.defensive_saturating_dec();
            Operators::<T>::insert(&r.operator, op);
        }
        // Pruning passed it while the challenge was open: nothing needs it any more.
        if Self::pruned(receipt) {
            Receipts::<T>::remove(receipt);
        } else {
            Receipts::<T>::insert(receipt, r);
        }
        Challenges::<T>::remove(receipt);
        if resolution == Resolution::Expired {
            Self::deposit_event(Event::ChallengeExpired { receipt, challenger: c.challenger });
        } else {
            Self::deposit_event(Event::ChallengeResolved { receipt, upheld, slashed, refunded });
        }
        Ok(())
    }
}
