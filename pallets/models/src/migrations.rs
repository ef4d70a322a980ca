//! Storage migrations.
//!
//! ## v0 → v1: what a model depends on is counted
//!
//! From v1 registering a model tells the datanets pallet, through
//! [`provena_primitives::datanets::SnapshotUsers`], which datanets its training snapshots belong
//! to, so that a datanet cannot be destroyed while a model's provenance points into it; and an
//! adapter counts against its base ([`crate::AdapterCount`]), so that a base with adapters
//! cannot be removed. A model also records its priority (see [`provena_primitives::commit`]):
//! for models registered under v0, their registration block. The migration adds it and counts
//! both once for every model registered under v0 (one call per distinct datanet of each model;
//! models are bounded by their deposits). Models deprecated under v0 released their deposit then
//! and keep a deposit of zero.

use crate::*;
use polkadot_sdk::frame_support::{
    migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade, weights::Weight,
};

/// The v0 → v1 migration (see the module docs).
pub mod v1 {
    use super::*;

    /// The layout as v0 stored it.
    pub mod old {
        use super::*;
        use codec::{Decode, Encode};

        /// A model under v0: without its priority.
        #[derive(Encode, Decode)]
        pub struct Model<T: Config> {
            pub owner: T::AccountId,
            pub kind: ModelKind<T>,
            pub weights_hash: ContentHash,
            pub training_config_hash: ContentHash,
            pub trained_on: BoundedVec<TrainedOn, T::MaxTrainedOn>,
            pub price_per_1k_tokens: Balance,
            pub developer_share: Permill,
            pub metadata_uri: BoundedVec<u8, T::MaxUriLen>,
            pub predecessor: Option<ModelId>,
            pub version: u32,
            pub status: ModelStatus,
            pub registered_at: BlockNumberFor<T>,
            pub deposit: Balance,
        }
    }

    /// The unversioned step; use [`MigrateToV1`].
    pub struct CountSnapshotUsers<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for CountSnapshotUsers<T> {
        fn on_runtime_upgrade() -> Weight {
            let mut models: u64 = 0;
            let mut uses: u64 = 0;
            Models::<T>::translate::<old::Model<T>, _>(|_, m| {
                Some(Model {
                    owner: m.owner,
                    kind: m.kind,
                    weights_hash: m.weights_hash,
                    training_config_hash: m.training_config_hash,
                    trained_on: m.trained_on,
                    price_per_1k_tokens: m.price_per_1k_tokens,
                    developer_share: m.developer_share,
                    metadata_uri: m.metadata_uri,
                    predecessor: m.predecessor,
                    version: m.version,
                    status: m.status,
                    registered_at: m.registered_at,
                    deposit: m.deposit,
                    priority: m.registered_at,
                })
            });
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
            T::DbWeight::get().reads_writes(
                models.saturating_mul(2).saturating_add(uses),
                models.saturating_add(uses),
            )
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
