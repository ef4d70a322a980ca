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
//!
//! ## v1 → v2: a graduated token trades on its pool
//!
//! Under v1 graduation closed the curve for good, trapping every holder. From v2 the curve
//! becomes a constant-product pool at graduation ([`CurveParams::graduated`]); the migration
//! does the same for every token graduated under v1, from its state now (one read and one
//! write per token; tokens are bounded by model deposits). A token whose pool cannot be formed
//! (launch parameters that leave fewer than two unsold tokens; the runtime's leave 200M) goes
//! back to trading on its launch curve, which is an exit too.

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

/// The v1 → v2 migration (see the module docs).
pub mod v2 {
    use super::*;

    /// The unversioned step; use [`MigrateToV2`].
    pub struct GraduatedCurvesBecomePools<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for GraduatedCurvesBecomePools<T> {
        fn on_runtime_upgrade() -> Weight {
            let (mut tokens, mut pools, mut reopened) = (0u64, 0u64, 0u64);
            Tokens::<T>::translate_values::<Token<T>, _>(|mut t| {
                tokens = tokens.saturating_add(1);
                if matches!(t.phase, TokenPhase::Graduated { .. }) && !t.params.is_pool() {
                    match t.params.graduated(&t.state) {
                        Ok(pool) => {
                            t.params = pool;
                            pools = pools.saturating_add(1);
                        }
                        Err(_) => {
                            t.phase = TokenPhase::Trading;
                            reopened = reopened.saturating_add(1);
                        }
                    }
                }
                Some(t)
            });
            log::info!(
                target: LOG_TARGET,
                "v2: {pools} graduated tokens trade on their pools, {reopened} on their curves"
            );
            T::DbWeight::get().reads_writes(tokens, tokens)
        }

        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
            use codec::Encode;
            let states: alloc::vec::Vec<(ModelId, CurveState)> =
                Tokens::<T>::iter().map(|(m, t)| (m, t.state)).collect();
            Ok(states.encode())
        }

        #[cfg(feature = "try-runtime")]
        fn post_upgrade(
            state: alloc::vec::Vec<u8>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            use codec::Decode;
            let before: alloc::vec::Vec<(ModelId, CurveState)> =
                Decode::decode(&mut &state[..]).map_err(|_| "v2: undecodable pre-upgrade state")?;
            ensure!(before.len() == Tokens::<T>::iter().count(), "v2: tokens lost");
            for (model, curve) in before {
                let t = Tokens::<T>::get(model).ok_or("v2: a token lost")?;
                ensure!(t.state == curve, "v2: a token's sold supply or reserve changed");
            }
            Pallet::<T>::do_try_state()
        }
    }

    /// Turns the curves graduated under v1 into pools and sets the storage version to 2.
    pub type MigrateToV2<T> = VersionedMigration<
        1,
        2,
        GraduatedCurvesBecomePools<T>,
        Pallet<T>,
        <T as polkadot_sdk::frame_system::Config>::DbWeight,
    >;
}
