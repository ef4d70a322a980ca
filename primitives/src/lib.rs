//! # Provena primitives
//!
//! ## Overview
//!
//! Chain-wide types shared by the runtime, the pallets and the node. Everything here is
//! `no_std` and free of pallet logic, so that a pallet can name another pallet's concepts
//! (an account, an amount of OPEN, a block number) without depending on that pallet.
//!
//! ## Terminology
//!
//! - **OPEN**: the native token. It has [`currency::DECIMALS`] = 18 decimals so that a balance
//!   reads the same on the Substrate side and on the EVM side (where 1 ether = 10^18 wei).
//! - **Base unit**: the smallest indivisible amount, 10^-18 OPEN.
//!
//! ## Design
//!
//! Identifiers and amounts are distinct types: a [`Balance`] is a `u128` of base units, and
//! every id is a named `u64`/`u32` alias, so the intent is visible at each use site. Constants
//! are computed in `const` context, so an overflow would be a compile error, not a runtime panic.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod agents;
pub mod attribution;
pub mod bonding_curve;
pub mod bridge;
pub mod commit;
pub mod datanets;
pub mod governance;
pub mod ids;
pub mod inference;
pub mod merkle;
pub mod models;
pub mod serde_helpers;

pub use ids::{ContributionId, ModelId};

use polkadot_sdk::sp_runtime::{
    generic,
    traits::{BlakeTwo256, IdentifyAccount, Verify},
    MultiAddress, MultiSignature,
};

/// An index to a block.
pub type BlockNumber = u32;

/// Alias to a 512-bit signature scheme: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;

/// An account on the chain: the public key behind [`Signature`], as a 32-byte id.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// An address as extrinsics name it (an account id, an index or raw bytes).
pub type Address = MultiAddress<AccountId, ()>;

/// An amount of OPEN in base units (10^-18 OPEN).
pub type Balance = u128;

/// The index of a transaction in the chain for an account.
pub type Nonce = u32;

/// A hash of some data used by the chain.
pub type Hash = polkadot_sdk::sp_core::H256;

/// The hashing algorithm of blocks and the state trie.
pub type Hashing = BlakeTwo256;

/// The block header type.
pub type Header = generic::Header<BlockNumber, Hashing>;

/// Units of the native token, OPEN.
pub mod currency {
    use super::Balance;

    /// Decimal places of OPEN. 18, as on Ethereum, so that EVM and native balances are equal.
    pub const DECIMALS: u8 = 18;
    /// Ticker symbol shown by wallets and explorers.
    pub const SYMBOL: &str = "OPEN";
    /// One whole OPEN in base units.
    pub const OPEN: Balance = 1_000_000_000_000_000_000;
    /// One thousandth of an OPEN.
    pub const MILLI_OPEN: Balance = OPEN / 1_000;
    /// One millionth of an OPEN.
    pub const MICRO_OPEN: Balance = MILLI_OPEN / 1_000;
    /// The total supply minted at genesis: one billion OPEN, 10^27 base units.
    pub const GENESIS_SUPPLY: Balance = 1_000_000_000 * OPEN;

    /// The deposit for storing `items` entries totalling `bytes` bytes: a flat price per item
    /// and per byte, so that state bloat is paid for by whoever causes it.
    pub const fn deposit(items: u32, bytes: u32) -> Balance {
        (items as Balance)
            .saturating_mul(20 * MILLI_OPEN)
            .saturating_add((bytes as Balance).saturating_mul(100 * MICRO_OPEN))
    }
}

/// Time in blocks, for a chain with [`time::MILLISECS_PER_BLOCK`] blocks.
pub mod time {
    use super::BlockNumber;

    /// The target block time. Aura slots are this long.
    pub const MILLISECS_PER_BLOCK: u64 = 6_000;
    /// Slot duration equals the block time: one block per slot at most.
    pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
    /// Blocks in one minute.
    pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
    /// Blocks in one hour.
    pub const HOURS: BlockNumber = MINUTES * 60;
    /// Blocks in one day.
    pub const DAYS: BlockNumber = HOURS * 24;
}

/// What the trie adds to a map entry's proof in the benchmarks' `MaxEncodedLen` mode at their
/// worst-case map size (1,000,000 entries): every generated `weights.rs` of this chain estimates
/// a map read as the entry's largest encoded size plus this (`System::Account`: 128 → 2,603
/// bytes). Used where a weight is computed from a storage item's `StorageInfo` rather than
/// benchmarked (a read whose count the benchmark cannot know).
pub const TRIE_PROOF_OVERHEAD: u64 = 2_475;

/// The weight the generated weights give one read of a map entry (in their `MaxEncodedLen`
/// mode), for a read they could not count: `db_read` (the runtime's database read) and, as
/// proof size, the entry's `largest` encoded size (key and value) plus
/// [`TRIE_PROOF_OVERHEAD`]. An item without a bound is priced at the largest size there is.
pub fn map_read_weight(
    db_read: polkadot_sdk::sp_runtime::Weight,
    largest: Option<u32>,
) -> polkadot_sdk::sp_runtime::Weight {
    let proof = u64::from(largest.unwrap_or(u32::MAX)).saturating_add(TRIE_PROOF_OVERHEAD);
    db_read.saturating_add(polkadot_sdk::sp_runtime::Weight::from_parts(0, proof))
}

/// Identifies a datanet. Assigned sequentially from 0.
pub type DatanetId = u32;

/// The version number of a datanet snapshot. The first snapshot of a datanet is version 1.
pub type SnapshotVersion = u32;

/// The content address of off-chain data (a dataset file, an adapter, an output): its 32-byte
/// hash, computed off-chain by whoever publishes the data.
pub type ContentHash = Hash;

/// The content address of `bytes`: their BLAKE2b-256 hash. Datanet contributions, model weights
/// and evidence records are addressed this way.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    <Hashing as polkadot_sdk::sp_runtime::traits::Hash>::hash(bytes)
}

/// The SS58 address prefix of Provena accounts (`registry`-style network id).
pub const SS58_PREFIX: u16 = 4044;

#[cfg(test)]
mod tests {
    use super::{currency::*, time::*};

    #[test]
    fn genesis_supply_is_one_billion_open_with_18_decimals() {
        assert_eq!(OPEN, 10u128.pow(u32::from(DECIMALS)));
        assert_eq!(GENESIS_SUPPLY, 10u128.pow(27));
    }

    #[test]
    fn time_constants_are_consistent() {
        assert_eq!(MINUTES, 10);
        assert_eq!(DAYS, 14_400);
    }

    #[test]
    fn deposit_saturates_instead_of_overflowing() {
        assert_eq!(deposit(1, 0), 20 * MILLI_OPEN);
        assert_eq!(deposit(0, 10), 1_000 * MICRO_OPEN);
        assert!(deposit(u32::MAX, u32::MAX) > deposit(u32::MAX, 0));
    }

    #[test]
    fn a_map_read_is_priced_as_the_generated_weights_price_it() {
        use polkadot_sdk::sp_runtime::Weight;
        let read = Weight::from_parts(8_000_000, 0);
        // `System::Account` (128 bytes) is estimated at 2,603 bytes in every weights file.
        assert_eq!(super::map_read_weight(read, Some(128)), Weight::from_parts(8_000_000, 2_603));
        let unbounded = super::map_read_weight(read, None);
        assert_eq!(unbounded.proof_size(), u64::from(u32::MAX) + super::TRIE_PROOF_OVERHEAD);
    }
}
