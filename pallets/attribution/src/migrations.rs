//! Storage migrations.
//!
//! ## v0 → v1: token holders are paid when credited
//!
//! Up to v0 a model's holders' part of each fee waited out the challenge window like every other
//! credit and was distributed to whoever held the token when someone called `claim_rewards`
//! (revenue sniping: buy, claim, sell). From v1 it is distributed when the receipt is credited.
//! The migration pays every holders' credit still in the pallet (pending, matured or frozen
//! under a challenge) to the holders of now, once, so that afterwards holder revenue is never
//! pending (a `do_try_state` invariant) and a challenge resolved later makes the holders' part
//! good from the operator's bond, as for a receipt credited under v1. It visits the models that
//! have receipts (`ModelReceiptCount`), one reward record each.

use crate::*;
use polkadot_sdk::frame_support::{
    migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade, weights::Weight,
};

/// The v0 → v1 migration (see the module docs).
pub mod v1 {
    use super::*;

    /// The unversioned step; use [`MigrateToV1`].
    pub struct PayHoldersNow<T>(core::marker::PhantomData<T>);

    /// What a holders' record still owes.
    fn owed<T: Config>(r: &RewardRecord<T>) -> Balance {
        r.pending.iter().fold(r.matured.saturating_add(r.frozen), |a, (_, b)| a.saturating_add(*b))
    }

    impl<T: Config> UncheckedOnRuntimeUpgrade for PayHoldersNow<T> {
        fn on_runtime_upgrade() -> Weight {
            let db = T::DbWeight::get();
            let mut weight = Weight::zero();
            let mut paid: Balance = 0;
            for model in ModelReceiptCount::<T>::iter_keys() {
                weight = weight.saturating_add(db.reads(2));
                let payee = Payee::ModelHolders(model);
                let Some(mut record) = Rewards::<T>::get(&payee) else { continue };
                let amount = owed(&record);
                if amount == 0 {
                    continue;
                }
                weight = weight.saturating_add(T::WeightInfo::claim_rewards(1));
                if let Err(e) = Pallet::<T>::pay(&payee, amount) {
                    // Nothing moved: the credit stays where it was, for a later claim.
                    log::error!(target: LOG_TARGET, "v1: paying model {model}'s holders: {e:?}");
                    continue;
                }
                record.matured = 0;
                record.frozen = 0;
                record.pending = Default::default();
                record.claimed = record.claimed.saturating_add(amount);
                Rewards::<T>::insert(&payee, record);
                paid = paid.saturating_add(amount);
                Pallet::<T>::deposit_event(Event::HoldersPaid { model, amount });
            }
            FeeTotals::<T>::mutate(|t| t.paid = t.paid.saturating_add(paid));
            log::info!(target: LOG_TARGET, "v1: paid {paid} of pending holder revenue");
            weight.saturating_add(db.reads_writes(1, 1))
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let owed_total = ModelReceiptCount::<T>::iter_keys()
                .filter_map(|m| Rewards::<T>::get(Payee::ModelHolders(m)))
                .fold(0u128, |a, r| a.saturating_add(owed(&r)));
            Ok((owed_total, FeeTotals::<T>::get().paid).encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let (owed_total, paid_before): (Balance, Balance) =
                Decode::decode(&mut &state[..]).map_err(|_| "v1: undecodable pre-upgrade state")?;
            ensure!(
                FeeTotals::<T>::get().paid == paid_before.saturating_add(owed_total),
                "v1: paid total did not grow by what holders were owed"
            );
            Pallet::<T>::do_try_state()
        }
    }

    /// Pays pending holder revenue and sets the storage version to 1.
    pub type MigrateToV1<T> = VersionedMigration<
        0,
        1,
        PayHoldersNow<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}
