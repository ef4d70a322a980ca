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
//! have receipts (`ModelReceiptCount` before v5), one reward record each.
//!
//! ## v1 → v2: request ids are hashed into storage keys
//!
//! Up to v1 [`UsedVouchers`] and [`PrepaidVouchers`] keyed their second level by the request
//! id as is (`Identity`). A request id is chosen by the user, so a user could choose ids that
//! share long prefixes and grow one deep, unbalanced branch of the state trie that every
//! later access to those maps pays for. From v2 the request id is hashed (`Blake2_128Concat`,
//! still reversible). The migration re-keys every entry of both maps: it reads them all, then
//! writes them under the new keys (both maps are small: spent marks live about an hour, and
//! prepaid vouchers are held funds their owners release).
//!
//! ## v2 → v3: operators have a status
//!
//! From v3 an operator may register itself (a candidate until admitted) and leaves with an
//! unbonding delay, so an operator records an `OperatorStatus` ([`v6::old`]). Every operator stored under
//! v2 was added by the admin origin and is active: the migration adds that status to each (one
//! read and one write per operator; operators are bounded by their bonds).
//!
//! ## v3 → v4: a contribution's reward record lives in its contribution
//!
//! Up to v3 every payee's record was in [`Rewards`], so a receipt that read a contribution to
//! check it then read and wrote that contribution's reward record too. From v4 a contribution's
//! record is kept in the contribution's own record in the datanets pallet (its v3 added the
//! field; that migration runs first), and crediting it is one more write. The migration moves
//! each contribution's record there (one read and two writes each). The record of a
//! contribution that has left the state (only one owed nothing can) is history the events
//! keep: it is dropped. One owed something whose contribution is gone cannot exist (the
//! datanets pallet keeps such a contribution); if one did it would stay in [`Rewards`], still
//! counted by `do_try_state`, and be logged.
//!
//! ## v4 → v5: a model's receipts are indexed in runs
//!
//! Up to v4 the model index kept one entry per receipt (`ModelReceipts`: the model's `i`-th
//! receipt's id), a storage write per receipt. From v5 it keeps runs of consecutive receipt
//! ids ([`ReceiptRun`]), and one item per model ([`ModelIndex`]) holds what `ModelReceiptCount`
//! and `ModelReceiptsPruned` did, with run counts. The migration turns each entry still
//! indexed into a run of one (its number is its index, so the runs pruned are the receipts
//! pruned) and each model's two counts into its [`ModelIndexInfo`]: one read and one write per
//! entry and per model. Entries live only while their receipts can be challenged or their
//! vouchers redeemed (about an hour of receipts).
//!
//! ## v5 → v6: operators are agents
//!
//! Up to v5 this pallet kept the operator registry and each operator's bond (held under
//! [`HoldReason::OperatorBond`]), added by the admin origin or registered and admitted. From v6
//! the agents pallet is the registry and holds the one bond ([`Config::Agents`]); [`Operators`]
//! keeps only until when each operator's receipts answer. The migration releases every bond and
//! enrolls each active operator as an agent serving any model with the agents pallet's minimum
//! own bond (a leaving one too, chilled, so that its receipts still have a bond to answer from;
//! it unbonds there); a candidate, which never submitted, gets its bond back and nothing more.
//! An operator that cannot afford its agent's deposit and bond is logged and left out (its
//! bond is free). Each record keeps its receipts' `busy_until` and open challenges. Per
//! operator: a release, an enrolment (about ten reads and writes) and a write; operators were
//! bounded by their bonds.

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
            for model in v5::old::ModelReceiptCount::<T>::iter_keys() {
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
            let owed_total = v5::old::ModelReceiptCount::<T>::iter_keys()
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
            // The invariants are those of the layout the last migration leaves: checked after v6.
            Ok(())
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

/// The v1 → v2 migration (see the module docs).
pub mod v2 {
    use super::*;
    use polkadot_sdk::frame_support::{storage_alias, Blake2_128Concat, Identity};

    /// The voucher maps as v1 laid them out: the same storage items (a storage alias takes its
    /// item name from the alias's own name), with the request id as is.
    pub mod old {
        use super::*;

        /// [`crate::UsedVouchers`] under v1.
        #[storage_alias]
        pub type UsedVouchers<T: Config> = StorageDoubleMap<
            Pallet<T>,
            Blake2_128Concat,
            <T as polkadot_sdk::frame_system::Config>::AccountId,
            Identity,
            ContentHash,
            BlockNumberFor<T>,
        >;

        /// [`crate::PrepaidVouchers`] under v1.
        #[storage_alias]
        pub type PrepaidVouchers<T: Config> = StorageDoubleMap<
            Pallet<T>,
            Blake2_128Concat,
            <T as polkadot_sdk::frame_system::Config>::AccountId,
            Identity,
            ContentHash,
            VoucherOf<T>,
        >;
    }

    /// The unversioned step; use [`MigrateToV2`].
    pub struct HashRequestIds<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for HashRequestIds<T> {
        fn on_runtime_upgrade() -> Weight {
            // Both old and new keys live under the same prefixes: take every old entry out
            // first, then write the new ones.
            let used: alloc::vec::Vec<_> = old::UsedVouchers::<T>::drain().collect();
            let prepaid: alloc::vec::Vec<_> = old::PrepaidVouchers::<T>::drain().collect();
            let n = u64::try_from(used.len().saturating_add(prepaid.len())).unwrap_or(u64::MAX);
            for (who, request_id, expiry) in used {
                UsedVouchers::<T>::insert(who, request_id, expiry);
            }
            for (who, request_id, voucher) in prepaid {
                PrepaidVouchers::<T>::insert(who, request_id, voucher);
            }
            log::info!(target: LOG_TARGET, "v2: re-keyed {n} voucher entries");
            T::DbWeight::get().reads_writes(n, n.saturating_mul(2))
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let used = old::UsedVouchers::<T>::iter().count() as u64;
            let prepaid = old::PrepaidVouchers::<T>::iter().count() as u64;
            Ok((used, prepaid).encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let (used, prepaid): (u64, u64) =
                Decode::decode(&mut &state[..]).map_err(|_| "v2: undecodable pre-upgrade state")?;
            ensure!(UsedVouchers::<T>::iter().count() as u64 == used, "v2: spent marks lost");
            ensure!(
                PrepaidVouchers::<T>::iter().count() as u64 == prepaid,
                "v2: prepaid vouchers lost"
            );
            // The invariants are those of the layout the last migration leaves: checked after v6.
            Ok(())
        }
    }

    /// Re-keys the voucher maps and sets the storage version to 2.
    pub type MigrateToV2<T> = VersionedMigration<
        1,
        2,
        HashRequestIds<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v2 → v3 migration (see the module docs).
pub mod v3 {
    use super::*;

    /// The layout as v2 stored it.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// An operator under v2: without its status.
        #[derive(Encode, Decode)]
        pub struct Operator<T: Config> {
            pub bond: Balance,
            pub busy_until: BlockNumberFor<T>,
            pub open_challenges: u32,
        }
    }

    /// The unversioned step; use [`MigrateToV3`].
    pub struct OperatorsAreActive<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for OperatorsAreActive<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut n: u64 = 0;
            v6::old::Operators::<T>::translate::<old::Operator<T>, _>(|_, op| {
                n = n.saturating_add(1);
                Some(v6::old::Operator {
                    bond: op.bond,
                    busy_until: op.busy_until,
                    open_challenges: op.open_challenges,
                    status: v6::old::OperatorStatus::Active,
                })
            });
            log::info!(target: LOG_TARGET, "v3: {n} operators are active");
            T::DbWeight::get().reads_writes(n, n)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let bonds: alloc::vec::Vec<(T::AccountId, Balance)> =
                v6::old::Operators::<T>::iter_keys()
                    .filter_map(|who| {
                        let key = v6::old::Operators::<T>::hashed_key_for(&who);
                        let op: old::Operator<T> =
                            polkadot_sdk::frame_support::storage::unhashed::get(&key)?;
                        Some((who, op.bond))
                    })
                    .collect();
            Ok(bonds.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let bonds: alloc::vec::Vec<(T::AccountId, Balance)> =
                Decode::decode(&mut &state[..]).map_err(|_| "v3: undecodable pre-upgrade state")?;
            ensure!(bonds.len() == v6::old::Operators::<T>::iter().count(), "v3: operators lost");
            for (who, bond) in bonds {
                let op = v6::old::Operators::<T>::get(&who).ok_or("v3: an operator lost")?;
                ensure!(
                    op.bond == bond && op.status == v6::old::OperatorStatus::Active,
                    "v3: not active"
                );
            }
            // The invariants are those of the layout the last migration leaves: checked after v6.
            Ok(())
        }
    }

    /// Makes every v2 operator active and sets the storage version to 3.
    pub type MigrateToV3<T> = VersionedMigration<
        2,
        3,
        OperatorsAreActive<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v3 → v4 migration (see the module docs).
pub mod v4 {
    use super::*;

    /// The unversioned step; use [`MigrateToV4`].
    pub struct MoveContributionRewards<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for MoveContributionRewards<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut reads: u64 = 0;
            let mut writes: u64 = 0;
            let moving: alloc::vec::Vec<(ContributionId, RewardRecord<T>)> = Rewards::<T>::iter()
                .filter_map(|(payee, r)| {
                    reads = reads.saturating_add(1);
                    match payee {
                        Payee::Contribution(id) => Some((id, r)),
                        _ => None,
                    }
                })
                .collect();
            let (mut moved, mut dropped) = (0u32, 0u32);
            for (id, record) in moving {
                reads = reads.saturating_add(1);
                let owed = record.is_owed();
                let stored = T::Datanets::mutate_reward(id, |slot| {
                    *slot = record;
                    Ok(())
                });
                if stored.is_ok() {
                    moved = moved.saturating_add(1);
                } else if !owed {
                    dropped = dropped.saturating_add(1);
                } else {
                    log::error!(
                        target: LOG_TARGET,
                        "v4: contribution {id} is owed credit but gone; its record stays"
                    );
                    continue;
                }
                Rewards::<T>::remove(Payee::Contribution(id));
                writes = writes.saturating_add(2);
            }
            log::info!(
                target: LOG_TARGET,
                "v4: {moved} contribution reward records moved into their contributions, \
                 {dropped} of removed contributions dropped"
            );
            T::DbWeight::get().reads_writes(reads, writes)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let records: alloc::vec::Vec<(ContributionId, RewardRecord<T>)> = Rewards::<T>::iter()
                .filter_map(|(payee, r)| match payee {
                    Payee::Contribution(id) => Some((id, r)),
                    _ => None,
                })
                .collect();
            Ok(records.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let records: alloc::vec::Vec<(ContributionId, RewardRecord<T>)> =
                Decode::decode(&mut &state[..]).map_err(|_| "v4: undecodable pre-upgrade state")?;
            for (id, record) in records {
                match T::Datanets::reward(id) {
                    Some(r) => ensure!(r == record, "v4: a record changed in the move"),
                    None => ensure!(!record.is_owed(), "v4: an owed record was dropped"),
                }
                ensure!(
                    !Rewards::<T>::contains_key(Payee::Contribution(id)),
                    "v4: a contribution's record left behind"
                );
            }
            // The invariants are those of the layout the last migration leaves: checked after v6.
            Ok(())
        }
    }

    /// Moves each contribution's reward record into the contribution and sets the storage
    /// version to 4. Runs after the datanets pallet's `MigrateToV3`.
    pub type MigrateToV4<T> = VersionedMigration<
        3,
        4,
        MoveContributionRewards<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v4 → v5 migration (see the module docs).
pub mod v5 {
    use super::*;
    use polkadot_sdk::frame_support::storage_alias;

    /// Storage items as v4 laid them out.
    pub mod old {
        use super::*;

        /// Receipts per model: how many.
        #[storage_alias]
        pub type ModelReceiptCount<T: Config> =
            StorageMap<Pallet<T>, Twox64Concat, ModelId, u32, ValueQuery>;

        /// Receipts per model: the `i`-th receipt's id.
        #[storage_alias]
        pub type ModelReceipts<T: Config> =
            StorageDoubleMap<Pallet<T>, Twox64Concat, ModelId, Twox64Concat, u32, u64>;

        /// Per model, how many of its first receipts have left the index.
        #[storage_alias]
        pub type ModelReceiptsPruned<T: Config> =
            StorageMap<Pallet<T>, Twox64Concat, ModelId, u32, ValueQuery>;
    }

    /// The unversioned step; use [`MigrateToV5`].
    pub struct IndexInRuns<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for IndexInRuns<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut reads: u64 = 0;
            let mut writes: u64 = 0;
            // Each entry becomes a run of one under the same key (the old value is the run's
            // first id; its number is its index).
            ModelReceipts::<T>::translate::<u64, _>(|_, index, id| {
                reads = reads.saturating_add(1);
                writes = writes.saturating_add(1);
                Some(ReceiptRun { first_id: id, first_index: index, len: 1 })
            });
            let counts: alloc::vec::Vec<(ModelId, u32)> =
                old::ModelReceiptCount::<T>::drain().collect();
            for (model, receipts) in counts {
                let pruned = old::ModelReceiptsPruned::<T>::take(model);
                reads = reads.saturating_add(2);
                writes = writes.saturating_add(3);
                let info = ModelIndexInfo {
                    receipts,
                    runs: receipts,
                    pruned_receipts: pruned,
                    pruned_runs: pruned,
                };
                ModelIndex::<T>::insert(model, info);
            }
            // A pruned count without a receipt count cannot exist (pruning follows receipts);
            // one would be meaningless: it goes.
            let stray = old::ModelReceiptsPruned::<T>::drain().count() as u64;
            reads = reads.saturating_add(stray);
            writes = writes.saturating_add(stray);
            log::info!(target: LOG_TARGET, "v5: {reads} index items read, {writes} written");
            T::DbWeight::get().reads_writes(reads, writes)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let entries: alloc::vec::Vec<(ModelId, u32, u64)> =
                old::ModelReceipts::<T>::iter().collect();
            Ok(entries.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let entries: alloc::vec::Vec<(ModelId, u32, u64)> =
                Decode::decode(&mut &state[..]).map_err(|_| "v5: undecodable pre-upgrade state")?;
            for (model, index, id) in entries {
                ensure!(
                    Pallet::<T>::model_receipt_ids(model, index, index.saturating_add(1))
                        == alloc::vec![id],
                    "v5: an indexed receipt lost"
                );
            }
            ensure!(old::ModelReceiptCount::<T>::iter().next().is_none(), "v5: a count left");
            // The invariants are those of the layout the last migration leaves: checked after v6.
            Ok(())
        }
    }

    /// Indexes each model's receipts in runs and sets the storage version to 5.
    pub type MigrateToV5<T> = VersionedMigration<
        4,
        5,
        IndexInRuns<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v5 → v6 migration (see the module docs).
pub mod v6 {
    use super::*;
    use provena_primitives::agents::AgentBonds;

    /// The layout as v3 to v5 stored it.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// A registered operator under v3 to v5.
        #[derive(Encode, Decode)]
        pub struct Operator<T: Config> {
            pub bond: Balance,
            pub busy_until: BlockNumberFor<T>,
            pub open_challenges: u32,
            pub status: OperatorStatus<BlockNumberFor<T>>,
        }

        /// Where an operator stood under v3 to v5.
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
        pub enum OperatorStatus<BlockNumber> {
            Candidate,
            Active,
            Leaving { unlocks_at: BlockNumber },
        }

        /// The registry under v3 to v5.
        #[polkadot_sdk::frame_support::storage_alias]
        pub type Operators<T: Config> = StorageMap<
            Pallet<T>,
            Blake2_128Concat,
            <T as polkadot_sdk::frame_system::Config>::AccountId,
            Operator<T>,
        >;
    }

    /// The unversioned step; use [`MigrateToV6`].
    pub struct OperatorsBecomeAgents<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for OperatorsBecomeAgents<T> {
        fn on_runtime_upgrade() -> Weight {
            let operators: alloc::vec::Vec<(T::AccountId, old::Operator<T>)> =
                old::Operators::<T>::drain().collect();
            let n = operators.len() as u64;
            let (mut enrolled, mut left_out) = (0u32, 0u32);
            for (who, op) in operators {
                let released = T::Currency::release(
                    &HoldReason::OperatorBond.into(),
                    &who,
                    op.bond,
                    Precision::BestEffort,
                )
                .unwrap_or_default();
                if op.status == old::OperatorStatus::Candidate {
                    Pallet::<T>::deposit_event(Event::OperatorRemoved {
                        operator: who,
                        bond_released: released,
                    });
                    continue;
                }
                let active = op.status == old::OperatorStatus::Active;
                match T::Agents::enroll(&who, active) {
                    Ok(()) => {
                        enrolled = enrolled.saturating_add(1);
                        Pallet::<T>::deposit_event(Event::OperatorAdded {
                            operator: who.clone(),
                            bond: T::Agents::own_bond(&who),
                        });
                    }
                    Err(e) => {
                        left_out = left_out.saturating_add(1);
                        log::error!(target: LOG_TARGET, "v6: operator {who:?} not enrolled: {e:?}");
                        Pallet::<T>::deposit_event(Event::OperatorRemoved {
                            operator: who.clone(),
                            bond_released: released,
                        });
                    }
                }
                Operators::<T>::insert(
                    &who,
                    Operator { busy_until: op.busy_until, open_challenges: op.open_challenges },
                );
            }
            log::info!(
                target: LOG_TARGET,
                "v6: {enrolled} operators are agents, {left_out} could not be enrolled"
            );
            T::DbWeight::get().reads_writes(n.saturating_mul(12), n.saturating_mul(12))
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let operators: alloc::vec::Vec<(T::AccountId, bool)> = old::Operators::<T>::iter()
                .map(|(who, op)| (who, op.status != old::OperatorStatus::Candidate))
                .collect();
            Ok(operators.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let operators: alloc::vec::Vec<(T::AccountId, bool)> =
                Decode::decode(&mut &state[..]).map_err(|_| "v6: undecodable pre-upgrade state")?;
            for (who, kept) in operators {
                ensure!(Operators::<T>::contains_key(&who) == kept, "v6: an operator record lost");
            }
            Pallet::<T>::do_try_state()
        }
    }

    /// Makes every operator an agent and sets the storage version to 6.
    pub type MigrateToV6<T> = VersionedMigration<
        5,
        6,
        OperatorsBecomeAgents<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}
