
//! Weights for `pallet_inference`.
//!
//! PROVISIONAL: written before the first benchmark run, with every storage access of each path
//! counted and generous execution times; to be replaced by the output of the command below (see
//! the README, "Benchmarks").

// Command:
// provena-node benchmark pallet --chain dev --pallet pallet_inference --extrinsic '*'
//   --steps 20 --repeat 10 --template pallets/weight-template.hbs
//   --output pallets/inference/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]
#![allow(clippy::unnecessary_cast)]

use polkadot_sdk::frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_inference`.
pub trait WeightInfo {
	fn register_operator(b: u32, ) -> Weight;
	fn unregister_operator(b: u32, ) -> Weight;
	fn request_inference(p: u32, ) -> Weight;
	fn complete_job(o: u32, e: u32, ) -> Weight;
	fn on_initialize(e: u32, p: u32, ) -> Weight;
}

/// Weights for `pallet_inference` for a runtime whose `DbWeight` is its own.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_operator(b: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(12_000_000, 3_000).saturating_mul(b.into()))
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(b.into())))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(b.into())))
	}
	fn unregister_operator(b: u32, ) -> Weight {
		Weight::from_parts(50_000_000, 8_000)
			.saturating_add(Weight::from_parts(8_000_000, 3_000).saturating_mul(b.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(b.into())))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(b.into())))
	}
	fn request_inference(p: u32, ) -> Weight {
		Weight::from_parts(150_000_000, 12_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(40_u64))
			.saturating_add(T::DbWeight::get().writes(8_u64))
	}
	fn complete_job(o: u32, e: u32, ) -> Weight {
		Weight::from_parts(400_000_000, 40_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(o.into()))
			.saturating_add(Weight::from_parts(60_000_000, 6_000).saturating_mul(e.into()))
			.saturating_add(T::DbWeight::get().reads(30_u64))
			.saturating_add(T::DbWeight::get().reads((4_u64).saturating_mul(e.into())))
			.saturating_add(T::DbWeight::get().writes(20_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(e.into())))
	}
	fn on_initialize(e: u32, p: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(Weight::from_parts(60_000_000, 8_000).saturating_mul(e.into()))
			.saturating_add(Weight::from_parts(40_000_000, 8_000).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((4_u64).saturating_mul(e.into())))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(p.into())))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(e.into())))
			.saturating_add(T::DbWeight::get().writes((2_u64).saturating_mul(p.into())))
	}
}

impl WeightInfo for () {
	fn register_operator(b: u32, ) -> Weight { Weight::from_parts(60_000_000, 8_000).saturating_mul(b.max(1).into()) }
	fn unregister_operator(b: u32, ) -> Weight { Weight::from_parts(50_000_000, 8_000).saturating_mul(b.max(1).into()) }
	fn request_inference(p: u32, ) -> Weight { Weight::from_parts(150_000_000, 12_000).saturating_add(Weight::from_parts(2_000, 1).saturating_mul(p.into())) }
	fn complete_job(o: u32, e: u32, ) -> Weight { Weight::from_parts(400_000_000, 40_000).saturating_add(Weight::from_parts(2_000, 1).saturating_mul(o.into())).saturating_add(Weight::from_parts(60_000_000, 6_000).saturating_mul(e.into())) }
	fn on_initialize(e: u32, p: u32, ) -> Weight { Weight::from_parts(60_000_000, 8_000).saturating_mul(e.saturating_add(p).max(1).into()) }
}
