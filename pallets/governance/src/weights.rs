//! Weights for `pallet_governance`: placeholder until the benchmarks are run on the node
//! (regenerated with the command in the README, "Benchmarks").

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]
#![allow(clippy::unnecessary_cast)]

use polkadot_sdk::frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_governance`.
pub trait WeightInfo {
	fn vote_new() -> Weight;
	fn vote_existing() -> Weight;
	fn remove_vote() -> Weight;
	fn remove_other_vote() -> Weight;
	fn delegate(r: u32, ) -> Weight;
	fn undelegate(r: u32, ) -> Weight;
	fn unlock() -> Weight;
	fn note_power() -> Weight;
}

/// Weights for `pallet_governance` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn vote_new() -> Weight {
		Weight::from_parts(150_000_000, 20_000).saturating_add(T::DbWeight::get().reads_writes(6, 6))
	}
	fn vote_existing() -> Weight {
		Weight::from_parts(300_000_000, 20_000).saturating_add(T::DbWeight::get().reads_writes(6, 6))
	}
	fn remove_vote() -> Weight {
		Weight::from_parts(250_000_000, 20_000).saturating_add(T::DbWeight::get().reads_writes(4, 2))
	}
	fn remove_other_vote() -> Weight {
		Weight::from_parts(250_000_000, 20_000).saturating_add(T::DbWeight::get().reads_writes(4, 2))
	}
	fn delegate(r: u32, ) -> Weight {
		Weight::from_parts(100_000_000, 20_000)
			.saturating_add(Weight::from_parts(30_000_000, 3_000).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads_writes(5, 5))
			.saturating_add(T::DbWeight::get().reads_writes((1_u64).saturating_mul(r.into()), (1_u64).saturating_mul(r.into())))
	}
	fn undelegate(r: u32, ) -> Weight {
		Weight::from_parts(100_000_000, 20_000)
			.saturating_add(Weight::from_parts(30_000_000, 3_000).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads_writes(3, 3))
			.saturating_add(T::DbWeight::get().reads_writes((1_u64).saturating_mul(r.into()), (1_u64).saturating_mul(r.into())))
	}
	fn unlock() -> Weight {
		Weight::from_parts(100_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
	fn note_power() -> Weight {
		Weight::from_parts(50_000_000, 5_000).saturating_add(T::DbWeight::get().reads_writes(2, 3))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn vote_new() -> Weight { Weight::from_parts(150_000_000, 20_000) }
	fn vote_existing() -> Weight { Weight::from_parts(300_000_000, 20_000) }
	fn remove_vote() -> Weight { Weight::from_parts(250_000_000, 20_000) }
	fn remove_other_vote() -> Weight { Weight::from_parts(250_000_000, 20_000) }
	fn delegate(r: u32, ) -> Weight { Weight::from_parts(100_000_000, 20_000).saturating_add(Weight::from_parts(30_000_000, 3_000).saturating_mul(r.into())) }
	fn undelegate(r: u32, ) -> Weight { Weight::from_parts(100_000_000, 20_000).saturating_add(Weight::from_parts(30_000_000, 3_000).saturating_mul(r.into())) }
	fn unlock() -> Weight { Weight::from_parts(100_000_000, 10_000) }
	fn note_power() -> Weight { Weight::from_parts(50_000_000, 5_000) }
}
