//! Contribution power: per-account histories, their total, and the readings referenda take.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{defensive, traits::Get, BoundedVec},
    frame_system::pallet_prelude::BlockNumberFor,
    sp_runtime::traits::{CheckedDiv, CheckedMul, Saturating},
};
use provena_primitives::Balance;
use scale_info::TypeInfo;

use crate::{
    tally::Electorate, Config, Event, Pallet, PowerHistory, TotalPowerHistory, LOG_TARGET,
};

/// The power a history holds from the start of the period `from` on, after that period's
/// changes.
#[derive(
    Encode,
    Decode,
    DecodeWithMemTracking,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct Checkpoint<BlockNumber> {
    /// The start of the period whose changes this entry ends with.
    pub from: BlockNumber,
    /// The power after them.
    pub power: Balance,
}

type History<T> = BoundedVec<Checkpoint<BlockNumberFor<T>>, <T as Config>::MaxCheckpoints>;

impl<T: Config> Pallet<T> {
    /// The start of the power period `block` is in.
    pub fn period_start(block: BlockNumberFor<T>) -> BlockNumberFor<T> {
        let period = T::PowerPeriod::get().max(1u32.into());
        block.checked_div(&period).and_then(|q| q.checked_mul(&period)).unwrap_or(block)
    }

    /// `who`'s contribution power now.
    pub fn power(who: &T::AccountId) -> Balance {
        PowerHistory::<T>::get(who).last().map(|c| c.power).unwrap_or_default()
    }

    /// `who`'s contribution power at `snapshot`: what it was before the period starting at
    /// `snapshot` began.
    pub fn power_at(who: &T::AccountId, snapshot: BlockNumberFor<T>) -> Balance {
        Self::value_at(&PowerHistory::<T>::get(who), snapshot)
    }

    /// Everyone's contribution power at `snapshot`.
    pub fn total_power_at(snapshot: BlockNumberFor<T>) -> Balance {
        Self::value_at(&TotalPowerHistory::<T>::get(), snapshot)
    }

    fn value_at(history: &[Checkpoint<BlockNumberFor<T>>], snapshot: BlockNumberFor<T>) -> Balance {
        let before = history.partition_point(|c| c.from < snapshot);
        before.checked_sub(1).and_then(|i| history.get(i)).map(|c| c.power).unwrap_or_default()
    }

    /// Sets the latest value of `history` to `power` in the current period, first dropping the
    /// entries no live referendum can read. Returns whether the history is now empty of
    /// information (a single zero entry, or none) and can be removed.
    fn record(history: &mut History<T>, power: Balance) -> bool {
        let now = Self::period_start(frame_system_block::<T>());
        let retention = T::PowerPeriod::get()
            .max(1u32.into())
            .saturating_mul(T::PowerRetentionPeriods::get().into());
        let oldest_needed = now.saturating_sub(retention);
        // The first entry answers only snapshots up to the second entry's period; once that is
        // older than any live snapshot, the second entry answers all of them.
        while history.get(1).is_some_and(|second| second.from < oldest_needed) {
            history.remove(0);
        }
        match history.last_mut() {
            Some(last) if last.from >= now => last.power = power,
            _ => {
                if history.try_push(Checkpoint { from: now, power }).is_err() {
                    // Unreachable: `integrity_test` makes room for every retained period, the
                    // current one and the one before them.
                    defensive!("power history full");
                    log::error!(target: LOG_TARGET, "power history full; merging into its last entry");
                    if let Some(last) = history.last_mut() {
                        last.power = power;
                    }
                }
            }
        }
        matches!(history.as_slice(), [] | [Checkpoint { power: 0, .. }])
    }

    fn set_power(who: &T::AccountId, new: Balance, old: Balance) {
        if new == old {
            return;
        }
        PowerHistory::<T>::mutate_exists(who, |history| {
            let mut h = history.take().unwrap_or_default();
            let empty = Self::record(&mut h, new);
            *history = (!empty).then_some(h);
        });
        let total = TotalPowerHistory::<T>::get().last().map(|c| c.power).unwrap_or_default();
        // The total is the sum of every account's power, each at most the total.
        let total = if new > old {
            total.saturating_add(new.saturating_sub(old))
        } else {
            total.saturating_sub(old.saturating_sub(new))
        };
        TotalPowerHistory::<T>::mutate(|h| {
            Self::record(h, total);
        });
        Self::deposit_event(Event::PowerChanged { who: who.clone(), power: new });
    }
}

fn frame_system_block<T: Config>() -> BlockNumberFor<T> {
    polkadot_sdk::frame_system::Pallet::<T>::block_number()
}

impl<T: Config> Pallet<T> {
    /// Adds `amount` to `who`'s contribution power. The runtime calls it through its
    /// [`provena_primitives::governance::ContributionPower`] adapter, which weighs each kind of
    /// value by its coefficient.
    pub fn add_power(who: &T::AccountId, amount: Balance) {
        let old = Self::power(who);
        // Power counts value created, at most every OPEN ever paid or staked: u128 does not
        // saturate in practice, and a count that did would only stop growing.
        Self::set_power(who, old.saturating_add(amount), old);
    }

    /// Takes up to `amount` from `who`'s contribution power.
    pub fn remove_power(who: &T::AccountId, amount: Balance) {
        let old = Self::power(who);
        Self::set_power(who, old.saturating_sub(amount), old);
    }
}

impl<T: Config> Electorate<BlockNumberFor<T>> for Pallet<T> {
    fn snapshot_now() -> BlockNumberFor<T> {
        Self::period_start(frame_system_block::<T>())
    }

    fn electorate(snapshot: BlockNumberFor<T>) -> Balance {
        T::MaxTurnout::get().saturating_add(Self::total_power_at(snapshot))
    }
}
