//! The pallets whose benchmarks this runtime exposes to `provena-node benchmark pallet`.

use crate::{AllPalletsWithSystem, Runtime};
use alloc::{string::String, vec::Vec};
use polkadot_sdk::{
    frame_benchmarking::{self, BenchmarkBatch, BenchmarkConfig, BenchmarkList},
    frame_support::traits::{
        StorageInfo, StorageInfoTrait, TrackedStorageKey, WhitelistedStorageKeys,
    },
    frame_system_benchmarking,
};

#[allow(unused_imports)]
use crate::{
    Agents, Attribution, Balances, Bridge, ConvictionVoting, Datanets, Inference, Models, Multisig,
    Parameters, Preimage, Proxy, Referenda, Scheduler, Sudo, Timestamp, Treasury, Utility,
};
use frame_system_benchmarking::Pallet as SystemBench;

impl frame_system_benchmarking::Config for Runtime {}

frame_benchmarking::define_benchmarks!(
    [frame_system, SystemBench::<Runtime>]
    [pallet_balances, Balances]
    [pallet_timestamp, Timestamp]
    [pallet_utility, Utility]
    [pallet_multisig, Multisig]
    [pallet_proxy, Proxy]
    [pallet_scheduler, Scheduler]
    [pallet_preimage, Preimage]
    [pallet_sudo, Sudo]
    [pallet_referenda, Referenda]
    [pallet_governance, ConvictionVoting]
    [pallet_treasury, Treasury]
    [pallet_parameters, Parameters]
    [pallet_datanets, Datanets]
    [pallet_models, Models]
    [pallet_attribution, Attribution]
    [pallet_inference, Inference]
    [pallet_agents, Agents]
    [pallet_bridge, Bridge]
);

/// The benchmarks available and the storage items they touch.
pub fn benchmark_metadata(extra: bool) -> (Vec<BenchmarkList>, Vec<StorageInfo>) {
    let mut list = Vec::<BenchmarkList>::new();
    list_benchmarks!(list, extra);
    (list, AllPalletsWithSystem::storage_info())
}

/// Runs the benchmarks selected by `config`.
pub fn dispatch_benchmark(config: BenchmarkConfig) -> Result<Vec<BenchmarkBatch>, String> {
    let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
    let mut batches = Vec::<BenchmarkBatch>::new();
    let params = (&config, &whitelist);
    add_benchmarks!(params, batches);
    Ok(batches)
}
