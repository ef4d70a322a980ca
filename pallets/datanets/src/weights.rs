//! Bootstrap weights for `pallet_datanets`, replaced by the benchmark CLI's output.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use polkadot_sdk::frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_datanets`.
pub trait WeightInfo {
	fn create_datanet() -> Weight;
	fn update_datanet() -> Weight;
	fn add_curator() -> Weight;
	fn remove_curator() -> Weight;
	fn close_datanet() -> Weight;
	fn contribute() -> Weight;
	fn review_accept() -> Weight;
	fn review_reject() -> Weight;
	fn review_slash() -> Weight;
	fn withdraw_contribution() -> Weight;
	fn release_stake() -> Weight;
	fn publish_snapshot(n: u32, ) -> Weight;
	fn request_access() -> Weight;
	fn grant_access() -> Weight;
	fn revoke_access() -> Weight;
}
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn update_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn add_curator() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn remove_curator() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn close_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn contribute() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn review_accept() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn review_reject() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn review_slash() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn withdraw_contribution() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn release_stake() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn publish_snapshot(n: u32, ) -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(Weight::from_parts(1_000_000, 0).saturating_mul(n.into())).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn request_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn grant_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn revoke_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
}
impl WeightInfo for () {
	fn create_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn update_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn add_curator() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn remove_curator() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn close_datanet() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn contribute() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn review_accept() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn review_reject() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn review_slash() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn withdraw_contribution() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn release_stake() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn publish_snapshot(n: u32, ) -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(Weight::from_parts(1_000_000, 0).saturating_mul(n.into())).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn request_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn grant_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn revoke_access() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
}
