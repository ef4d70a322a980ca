//! Weights of the bridge pallet's calls and epoch closing.
//!
//! NOT YET GENERATED: the pallet is not in the runtime yet, so there is no benchmark run of it.
//! [`CountedWeight`] counts each call's storage reads and writes and charges the
//! signature recoveries at a deliberately high 100 µs each (a secp256k1 recovery costs about
//! 50 µs on reference hardware) until `benchmarking.rs` replaces it with measured weights.

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions of `pallet_bridge`.
pub trait WeightInfo {
    fn bridge_out() -> Weight;
    fn submit_signature() -> Weight;
    fn bridge_in(s: u32) -> Weight;
    fn set_committee(n: u32) -> Weight;
    fn set_target() -> Weight;
    fn set_rate_limits() -> Weight;
    fn set_paused() -> Weight;
    fn close_epoch(t: u32, a: u32) -> Weight;
    fn sign_rotation() -> Weight;
    fn approve_in() -> Weight;
    fn release_in(s: u32) -> Weight;
}

/// One secp256k1 recovery, with margin.
const RECOVER: u64 = 100_000_000;
/// A call's fixed overhead.
const BASE: u64 = 25_000_000;

/// Counted weights (see the module docs).
pub struct CountedWeight<T>(PhantomData<T>);

impl<T: polkadot_sdk::frame_system::Config> WeightInfo for CountedWeight<T> {
    fn bridge_out() -> Weight {
        Weight::from_parts(BASE, 20_000).saturating_add(T::DbWeight::get().reads_writes(9, 8))
    }
    fn submit_signature() -> Weight {
        Weight::from_parts(BASE.saturating_add(RECOVER), 10_000)
            .saturating_add(T::DbWeight::get().reads_writes(4, 1))
    }
    fn bridge_in(s: u32) -> Weight {
        Weight::from_parts(BASE.saturating_add(RECOVER.saturating_mul(u64::from(s))), 10_000)
            .saturating_add(T::DbWeight::get().reads_writes(9, 6))
    }
    fn set_committee(n: u32) -> Weight {
        Weight::from_parts(BASE.saturating_add(1_000_000u64.saturating_mul(u64::from(n))), 5_000)
            .saturating_add(T::DbWeight::get().reads_writes(1, 1))
            // The approvals a rotation deletes, at most a window of nonces × members.
            .saturating_add(T::DbWeight::get().writes(1_024))
    }
    fn set_target() -> Weight {
        Weight::from_parts(BASE, 1_000).saturating_add(T::DbWeight::get().writes(1))
    }
    fn set_rate_limits() -> Weight {
        Weight::from_parts(BASE, 1_000).saturating_add(T::DbWeight::get().writes(3))
    }
    fn set_paused() -> Weight {
        Weight::from_parts(BASE, 1_000).saturating_add(T::DbWeight::get().writes(1))
    }
    fn close_epoch(t: u32, a: u32) -> Weight {
        let leaves = u64::from(t).saturating_add(u64::from(a));
        Weight::from_parts(BASE.saturating_add(5_000_000u64.saturating_mul(leaves)), 100_000)
            .saturating_add(T::DbWeight::get().reads_writes(6_u64.saturating_add(u64::from(a)), 8))
    }
    fn sign_rotation() -> Weight {
        Weight::from_parts(BASE.saturating_add(RECOVER), 10_000)
            .saturating_add(T::DbWeight::get().reads_writes(2, 1))
    }
    fn approve_in() -> Weight {
        Weight::from_parts(BASE.saturating_add(RECOVER), 50_000)
            .saturating_add(T::DbWeight::get().reads_writes(24, 4))
    }
    fn release_in(s: u32) -> Weight {
        Self::bridge_in(s).saturating_add(T::DbWeight::get().reads_writes(2, 20))
    }
}
