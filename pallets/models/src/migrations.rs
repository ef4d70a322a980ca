//! Storage migrations.
//!
//! ## v0 → v1: what a model depends on is counted
//!
//! From v1 registering a model tells the datanets pallet, through
//! [`provena_primitives::datanets::SnapshotUsers`], which datanets its training snapshots belong
//! to, so that a datanet cannot be destroyed while a model's provenance points into it; and an
//! adapter counts against its base ([`crate::AdapterCount`]), so that a base with adapters
//! cannot be removed. The migration counts both once for every model registered under v0 (one
//! call per distinct datanet of each model; models are bounded by their deposits). Models
//! deprecated under v0 released their deposit then and keep a deposit of zero.

use crate::*;
use polkadot_sdk::frame_support::{
    migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade, weights::Weight,
};

/// The v0 → v1 migration (see the module docs).
pub mod v1 {
    use super::*;

    /// The unversioned step; use [`MigrateToV1`].
    pub struct CountSnapshotUsers<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for CountSnapshotUsers<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut models: u64 = 0;
            let mut uses: u64 = 0;
            for model in Models::<T>::iter_values() {
                models = models.saturating_add(1);
                for datanet in Pallet::<T>::datanets_of(&model.trained_on) {
                    T::Datanets::use_snapshots(datanet);
                    uses = uses.saturating_add(1);
                }
                if let ModelKind::Adapter { base, .. } = model.kind {
                    AdapterCount::<T>::mutate(base, |n| *n = n.saturating_add(1));
                    uses = uses.saturating_add(1);
                }
            }
            log::info!(target: LOG_TARGET, "v1: {models} models use {uses} datanets' snapshots");
            T::DbWeight::get().reads_writes(models.saturating_add(uses), uses)
        }
    }

    /// Counts the snapshot users of v0 models and sets the storage version to 1.
    pub type MigrateToV1<T> = VersionedMigration<
        0,
        1,
        CountSnapshotUsers<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}
