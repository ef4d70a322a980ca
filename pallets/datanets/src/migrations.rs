//! Storage migrations.
//!
//! ## v0 → v1: every stored item holds a deposit
//!
//! From v1 a contribution records its storage deposit, its positions in the per-datanet and
//! per-contributor indices (so a contribution that leaves the state can be taken out of both in
//! constant time) and its priority (its submission block for these: they revealed no
//! commitment), a snapshot records its deposit, an access request its deposit, and an access
//! grant who holds its deposit. Items stored under v0 were created without deposits: they get
//! a deposit of zero (and a grant's depositor is the datanet's owner), so the invariant "held
//! == the deposits of the items alive" holds from the first block. Their owners get nothing
//! back when such an item goes, and paid nothing for it. Datanets closed under v0 released
//! their owner's deposit then and keep a deposit of zero.
//!
//! The migration reads both contribution indices and rewrites every contribution, snapshot,
//! access request and grant once: all of them are bounded by their per-datanet maxima and by
//! the stakes and deposits their creators locked.
//!
//! ## v1 → v2: a contribution knows the snapshots that hold it
//!
//! From v2 a contribution records its [`SnapshotSpan`]: the versions of its datanet published
//! after it was accepted and before it left the accepted set. Attribution checks a receipt's
//! contributions against the model's snapshots from the contributions alone, instead of reading
//! each declared snapshot's member list (up to 2,000 ids, 16 KB of proof each). The migration
//! reads every snapshot's member list once and sets each contribution's span from the first and
//! last version that lists it: an accepted one is in every version from its first on (or in
//! none yet: its span opens after the current count); one that left (withdrawn or slashed on
//! dispute) is in the versions that list it (or none); one never accepted has none.
//!
//! ## v2 → v3: a contribution carries attribution's reward record
//!
//! From v3 a contribution's record holds the reward record attribution keeps for it
//! ([`Config::Reward`]): a receipt that reads a contribution to check it then credits it with
//! one write, instead of reading and writing a record of its own in attribution's storage. This
//! migration gives every contribution an empty record; attribution's v4 migration then moves
//! each contribution's existing record in (it runs after this one).

use crate::*;
use alloc::collections::btree_map::BTreeMap;
use polkadot_sdk::frame_support::{
    migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade, weights::Weight,
};

/// The v0 → v1 migration (see the module docs).
pub mod v1 {
    use super::*;

    /// The layouts as v0 stored them.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// A contribution under v0.
        #[derive(Encode, Decode)]
        pub struct Contribution<T: Config> {
            pub datanet: DatanetId,
            pub contributor: T::AccountId,
            pub content_hash: ContentHash,
            pub byte_size: u64,
            pub token_count: u64,
            pub metadata_uri: BoundedText<T::MaxUriLen>,
            pub license: BoundedText<T::MaxTagLen>,
            pub status: ContributionStatus,
            pub stake_held: BalanceOf<T>,
            pub stake_unlocks_at: Option<BlockNumberFor<T>>,
            pub submitted_at: BlockNumberFor<T>,
            pub reviewed: Option<(T::AccountId, BlockNumberFor<T>)>,
        }

        /// A snapshot under v0.
        #[derive(Encode, Decode)]
        pub struct Snapshot<T: Config> {
            pub root: ContentHash,
            pub contribution_count: u32,
            pub publisher: T::AccountId,
            pub published_at: BlockNumberFor<T>,
        }

        /// An access request under v0.
        #[derive(Encode, Decode)]
        pub struct AccessRequest<T: Config> {
            pub purpose_uri: BoundedText<T::MaxUriLen>,
            pub requested_at: BlockNumberFor<T>,
        }
    }

    /// The unversioned step; use [`MigrateToV1`].
    pub struct AddDeposits<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for AddDeposits<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut reads: u64 = 0;
            let mut writes: u64 = 0;
            let mut in_datanet: BTreeMap<ContributionId, u32> = BTreeMap::new();
            for (_, index, id) in DatanetContributions::<T>::iter() {
                in_datanet.insert(id, index);
                reads = reads.saturating_add(1);
            }
            let mut of_contributor: BTreeMap<ContributionId, u32> = BTreeMap::new();
            for (_, index, id) in ContributorContributions::<T>::iter() {
                of_contributor.insert(id, index);
                reads = reads.saturating_add(1);
            }
            Contributions::<T>::translate::<old::Contribution<T>, _>(|id, c| {
                reads = reads.saturating_add(1);
                writes = writes.saturating_add(1);
                let (Some(datanet_index), Some(contributor_index)) =
                    (in_datanet.get(&id).copied(), of_contributor.get(&id).copied())
                else {
                    log::error!(target: LOG_TARGET, "v1: contribution {id} is not indexed");
                    return None;
                };
                Some(Contribution {
                    datanet: c.datanet,
                    contributor: c.contributor,
                    content_hash: c.content_hash,
                    byte_size: c.byte_size,
                    token_count: c.token_count,
                    metadata_uri: c.metadata_uri,
                    license: c.license,
                    status: c.status,
                    stake_held: c.stake_held,
                    stake_unlocks_at: c.stake_unlocks_at,
                    submitted_at: c.submitted_at,
                    reviewed: c.reviewed,
                    deposit: Zero::zero(),
                    datanet_index,
                    contributor_index,
                    priority: c.submitted_at,
                    // Set by v2, which reads the v1 layout (a prefix of this one) back.
                    snapshots: None,
                    // v3's field, likewise read back by v3.
                    reward: Default::default(),
                })
            });
            Snapshots::<T>::translate::<old::Snapshot<T>, _>(|_, _, s| {
                reads = reads.saturating_add(1);
                writes = writes.saturating_add(1);
                Some(Snapshot {
                    root: s.root,
                    contribution_count: s.contribution_count,
                    publisher: s.publisher,
                    published_at: s.published_at,
                    deposit: Zero::zero(),
                })
            });
            AccessRequests::<T>::translate::<old::AccessRequest<T>, _>(|_, _, r| {
                reads = reads.saturating_add(1);
                writes = writes.saturating_add(1);
                Some(AccessRequest {
                    purpose_uri: r.purpose_uri,
                    requested_at: r.requested_at,
                    deposit: Zero::zero(),
                })
            });
            AccessGrants::<T>::translate::<BlockNumberFor<T>, _>(|datanet, _, granted_at| {
                reads = reads.saturating_add(2);
                writes = writes.saturating_add(1);
                let owner = Datanets::<T>::get(datanet)?.owner;
                Some(AccessGrant { granted_at, depositor: owner, deposit: Zero::zero() })
            });
            log::info!(target: LOG_TARGET, "v1: {writes} items now record their deposits");
            T::DbWeight::get().reads_writes(reads, writes)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            let counts = (
                Contributions::<T>::iter_keys().count() as u64,
                Snapshots::<T>::iter_keys().count() as u64,
                AccessRequests::<T>::iter_keys().count() as u64,
                AccessGrants::<T>::iter_keys().count() as u64,
            );
            Ok(counts.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let (contributions, snapshots, requests, grants): (u64, u64, u64, u64) =
                Decode::decode(&mut &state[..]).map_err(|_| "v1: undecodable pre-upgrade state")?;
            ensure!(
                Contributions::<T>::iter_values().count() as u64 == contributions,
                "v1: contributions lost"
            );
            ensure!(
                Snapshots::<T>::iter_values().count() as u64 == snapshots,
                "v1: snapshots lost"
            );
            ensure!(
                AccessRequests::<T>::iter_values().count() as u64 == requests,
                "v1: access requests lost"
            );
            ensure!(AccessGrants::<T>::iter_values().count() as u64 == grants, "v1: grants lost");
            Pallet::<T>::do_try_state()
        }
    }

    /// Adds the deposit fields and sets the storage version to 1.
    pub type MigrateToV1<T> = VersionedMigration<
        0,
        1,
        AddDeposits<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v1 → v2 migration (see the module docs).
pub mod v2 {
    use super::*;

    /// The layouts as v1 stored them.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// A contribution under v1.
        #[derive(Encode, Decode)]
        pub struct Contribution<T: Config> {
            pub datanet: DatanetId,
            pub contributor: T::AccountId,
            pub content_hash: ContentHash,
            pub byte_size: u64,
            pub token_count: u64,
            pub metadata_uri: BoundedText<T::MaxUriLen>,
            pub license: BoundedText<T::MaxTagLen>,
            pub status: ContributionStatus,
            pub stake_held: BalanceOf<T>,
            pub stake_unlocks_at: Option<BlockNumberFor<T>>,
            pub submitted_at: BlockNumberFor<T>,
            pub reviewed: Option<(T::AccountId, BlockNumberFor<T>)>,
            pub deposit: BalanceOf<T>,
            pub datanet_index: u32,
            pub contributor_index: u32,
            pub priority: BlockNumberFor<T>,
        }
    }

    /// The span of a contribution with `status`, first and last listed in `listed` (if any),
    /// in a datanet with `count` snapshots.
    pub fn span_of(
        status: ContributionStatus,
        reviewed: bool,
        listed: Option<(SnapshotVersion, SnapshotVersion)>,
        count: SnapshotVersion,
    ) -> Option<SnapshotSpan> {
        let after = listed.map_or(count, |(first, _)| first.saturating_sub(1));
        match status {
            ContributionStatus::Accepted { .. } => Some(SnapshotSpan { after, until: None }),
            // Accepted once, then left the accepted set.
            ContributionStatus::Withdrawn | ContributionStatus::Slashed if reviewed => {
                Some(SnapshotSpan { after, until: Some(listed.map_or(count, |(_, last)| last)) })
            }
            _ => None,
        }
    }

    /// The unversioned step; use [`MigrateToV2`].
    pub struct AddSnapshotSpans<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for AddSnapshotSpans<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut reads: u64 = 0;
            let mut writes: u64 = 0;
            let mut listed: BTreeMap<ContributionId, (SnapshotVersion, SnapshotVersion)> =
                BTreeMap::new();
            for (_, version, members) in SnapshotMembers::<T>::iter() {
                reads = reads.saturating_add(1);
                for m in members {
                    let e = listed.entry(m).or_insert((version, version));
                    e.0 = e.0.min(version);
                    e.1 = e.1.max(version);
                }
            }
            let mut counts: BTreeMap<DatanetId, SnapshotVersion> = BTreeMap::new();
            for (id, d) in Datanets::<T>::iter() {
                reads = reads.saturating_add(1);
                counts.insert(id, d.snapshot_count);
            }
            Contributions::<T>::translate::<old::Contribution<T>, _>(|id, c| {
                reads = reads.saturating_add(1);
                writes = writes.saturating_add(1);
                let count = counts.get(&c.datanet).copied().unwrap_or(0);
                let snapshots =
                    span_of(c.status, c.reviewed.is_some(), listed.get(&id).copied(), count);
                Some(Contribution {
                    datanet: c.datanet,
                    contributor: c.contributor,
                    content_hash: c.content_hash,
                    byte_size: c.byte_size,
                    token_count: c.token_count,
                    metadata_uri: c.metadata_uri,
                    license: c.license,
                    status: c.status,
                    stake_held: c.stake_held,
                    stake_unlocks_at: c.stake_unlocks_at,
                    submitted_at: c.submitted_at,
                    reviewed: c.reviewed,
                    deposit: c.deposit,
                    datanet_index: c.datanet_index,
                    contributor_index: c.contributor_index,
                    priority: c.priority,
                    snapshots,
                    // v3 reads the v2 layout (a prefix of this one) back.
                    reward: Default::default(),
                })
            });
            log::info!(target: LOG_TARGET, "v2: {writes} contributions now record their snapshots");
            T::DbWeight::get().reads_writes(reads, writes)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            Ok((Contributions::<T>::iter_keys().count() as u64).encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let contributions: u64 =
                Decode::decode(&mut &state[..]).map_err(|_| "v2: undecodable pre-upgrade state")?;
            ensure!(
                Contributions::<T>::iter_values().count() as u64 == contributions,
                "v2: contributions lost"
            );
            Pallet::<T>::do_try_state()
        }
    }

    /// Adds each contribution's snapshot span and sets the storage version to 2.
    pub type MigrateToV2<T> = VersionedMigration<
        1,
        2,
        AddSnapshotSpans<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}

/// The v2 → v3 migration (see the module docs).
pub mod v3 {
    use super::*;

    /// The layouts as v2 stored them.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// A contribution under v2.
        #[derive(Encode, Decode)]
        pub struct Contribution<T: Config> {
            pub datanet: DatanetId,
            pub contributor: T::AccountId,
            pub content_hash: ContentHash,
            pub byte_size: u64,
            pub token_count: u64,
            pub metadata_uri: BoundedText<T::MaxUriLen>,
            pub license: BoundedText<T::MaxTagLen>,
            pub status: ContributionStatus,
            pub stake_held: BalanceOf<T>,
            pub stake_unlocks_at: Option<BlockNumberFor<T>>,
            pub submitted_at: BlockNumberFor<T>,
            pub reviewed: Option<(T::AccountId, BlockNumberFor<T>)>,
            pub deposit: BalanceOf<T>,
            pub datanet_index: u32,
            pub contributor_index: u32,
            pub priority: BlockNumberFor<T>,
            pub snapshots: Option<SnapshotSpan>,
        }
    }

    /// The unversioned step; use [`MigrateToV3`].
    pub struct AddRewardRecords<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for AddRewardRecords<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut n: u64 = 0;
            Contributions::<T>::translate::<old::Contribution<T>, _>(|_, c| {
                n = n.saturating_add(1);
                Some(Contribution {
                    datanet: c.datanet,
                    contributor: c.contributor,
                    content_hash: c.content_hash,
                    byte_size: c.byte_size,
                    token_count: c.token_count,
                    metadata_uri: c.metadata_uri,
                    license: c.license,
                    status: c.status,
                    stake_held: c.stake_held,
                    stake_unlocks_at: c.stake_unlocks_at,
                    submitted_at: c.submitted_at,
                    reviewed: c.reviewed,
                    deposit: c.deposit,
                    datanet_index: c.datanet_index,
                    contributor_index: c.contributor_index,
                    priority: c.priority,
                    snapshots: c.snapshots,
                    reward: Default::default(),
                })
            });
            log::info!(target: LOG_TARGET, "v3: {n} contributions now carry a reward record");
            T::DbWeight::get().reads_writes(n, n)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            Ok((Contributions::<T>::iter_keys().count() as u64).encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            let contributions: u64 =
                Decode::decode(&mut &state[..]).map_err(|_| "v3: undecodable pre-upgrade state")?;
            ensure!(
                Contributions::<T>::iter_values().count() as u64 == contributions,
                "v3: contributions lost"
            );
            Pallet::<T>::do_try_state()
        }
    }

    /// Adds each contribution's (empty) reward record and sets the storage version to 3.
    pub type MigrateToV3<T> = VersionedMigration<
        2,
        3,
        AddRewardRecords<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}
