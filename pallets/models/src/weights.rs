
//! Weights for `pallet_models`.
//!
//! Bootstrap values until the benchmark CLI regenerates this file (see the README,
//! "Benchmarks"); never edit by hand.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]
#![allow(clippy::unnecessary_cast)]

use polkadot_sdk::frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_models`.
pub trait WeightInfo {
	fn register_model(s: u32, ) -> Weight;
	fn update_price() -> Weight;
	fn transfer_ownership() -> Weight;
	fn deprecate() -> Weight;
	fn launch_token() -> Weight;
	fn buy() -> Weight;
	fn sell() -> Weight;
	fn claim_revenue() -> Weight;
	fn transfer_tokens() -> Weight;
}

pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_model(s: u32, ) -> Weight {
		Weight::from_parts(100_000_000, 10_000)
			.saturating_add(Weight::from_parts(20_000_000, 3_000).saturating_mul(s.into()))
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	fn update_price() -> Weight { Weight::from_parts(50_000_000, 5_000).saturating_add(T::DbWeight::get().reads_writes(1, 1)) }
	fn transfer_ownership() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn deprecate() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(3, 3)) }
	fn launch_token() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(4, 4)) }
	fn buy() -> Weight { Weight::from_parts(150_000_000, 15_000).saturating_add(T::DbWeight::get().reads_writes(8, 8)) }
	fn sell() -> Weight { Weight::from_parts(150_000_000, 15_000).saturating_add(T::DbWeight::get().reads_writes(8, 8)) }
	fn claim_revenue() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(5, 5)) }
	fn transfer_tokens() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(4, 4)) }
}

impl WeightInfo for () {
	fn register_model(s: u32, ) -> Weight {
		Weight::from_parts(100_000_000, 10_000)
			.saturating_add(Weight::from_parts(20_000_000, 3_000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(5_u64))
	}
	fn update_price() -> Weight { Weight::from_parts(50_000_000, 5_000).saturating_add(RocksDbWeight::get().reads_writes(1, 1)) }
	fn transfer_ownership() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn deprecate() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3)) }
	fn launch_token() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(4, 4)) }
	fn buy() -> Weight { Weight::from_parts(150_000_000, 15_000).saturating_add(RocksDbWeight::get().reads_writes(8, 8)) }
	fn sell() -> Weight { Weight::from_parts(150_000_000, 15_000).saturating_add(RocksDbWeight::get().reads_writes(8, 8)) }
	fn claim_revenue() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(5, 5)) }
	fn transfer_tokens() -> Weight { Weight::from_parts(100_000_000, 10_000).saturating_add(RocksDbWeight::get().reads_writes(4, 4)) }
}
