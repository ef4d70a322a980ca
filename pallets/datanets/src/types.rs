//! Storage types of the datanets pallet.

use crate::{BalanceOf, Config};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound},
    frame_system::pallet_prelude::BlockNumberFor,
};
use provena_primitives::{
    datanets::{ContributionStatus, SnapshotSpan, Visibility},
    ContentHash, DatanetId, SnapshotVersion,
};
use scale_info::TypeInfo;

/// A bounded byte string: a name, a URI, a domain tag or an SPDX license id.
pub type BoundedText<S> = BoundedVec<u8, S>;

/// Whether a datanet takes new contributions.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum DatanetStatus {
    /// Open for contributions.
    Open,
    /// Closed by its owner: no new contributions; pending ones can still be reviewed or withdrawn,
    /// and snapshots published. Its storage (and the owner's deposit) stays until it is
    /// destroyed.
    Closed,
    /// Being destroyed: its snapshots can no longer be used, and `destroy_items` removes its
    /// items, returning each one's deposit, then the datanet itself.
    Destroying,
}

/// A community dataset.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Datanet<T: Config> {
    /// Who created it; manages curators, access and the datanet itself.
    pub owner: T::AccountId,
    /// A human-readable name.
    pub name: BoundedText<T::MaxNameLen>,
    /// Where the description lives (IPFS, HTTPS, ...).
    pub description_uri: BoundedText<T::MaxUriLen>,
    /// The domain tag: `solidity`, `healthcare`, `iot`, ...
    pub domain: BoundedText<T::MaxTagLen>,
    /// The license contributions are made under by default (an SPDX id such as `CC-BY-4.0`).
    pub license: BoundedText<T::MaxTagLen>,
    /// Public, or private with access grants.
    pub visibility: Visibility,
    /// What each contributor must stake per contribution.
    pub contribution_stake: BalanceOf<T>,
    /// The largest contribution accepted, in bytes.
    pub max_contribution_bytes: u64,
    /// The owner's deposit, held while the datanet exists (open, closed or being destroyed).
    pub deposit: BalanceOf<T>,
    /// Open or closed.
    pub status: DatanetStatus,
    /// Accounts that may review contributions and publish snapshots, besides the owner.
    pub curators: BoundedVec<T::AccountId, T::MaxCurators>,
    /// When it was created.
    pub created_at: BlockNumberFor<T>,
    /// How many of its contributions are stored (the length of its contribution index);
    /// rejected, slashed-while-pending and withdrawn-while-pending ones leave the state.
    pub contribution_count: u32,
    /// How many snapshots were published; the latest snapshot's version.
    pub snapshot_count: SnapshotVersion,
}

impl<T: Config> Datanet<T> {
    /// Whether `who` may review contributions and publish snapshots.
    pub fn is_curator(&self, who: &T::AccountId) -> bool {
        self.owner == *who || self.curators.contains(who)
    }
}

/// A contribution of data to a datanet. The data stays off-chain, addressed by its hash.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Contribution<T: Config> {
    /// The datanet it was contributed to.
    pub datanet: DatanetId,
    /// Who contributed it; credited and paid for it.
    pub contributor: T::AccountId,
    /// The hash of the content.
    pub content_hash: ContentHash,
    /// The content's size in bytes.
    pub byte_size: u64,
    /// The content's size in tokens, as the contributor declared it.
    pub token_count: u64,
    /// Where its metadata lives.
    pub metadata_uri: BoundedText<T::MaxUriLen>,
    /// The license it is contributed under.
    pub license: BoundedText<T::MaxTagLen>,
    /// Where it is in its life.
    pub status: ContributionStatus,
    /// The stake still held for it (zero once released or slashed).
    pub stake_held: BalanceOf<T>,
    /// From which block its held stake may be released (set on acceptance or withdrawal).
    pub stake_unlocks_at: Option<BlockNumberFor<T>>,
    /// When it was submitted.
    pub submitted_at: BlockNumberFor<T>,
    /// Who reviewed it and when.
    pub reviewed: Option<(T::AccountId, BlockNumberFor<T>)>,
    /// The storage deposit held from the contributor until the record leaves the state.
    pub deposit: BalanceOf<T>,
    /// Its position in its datanet's index ([`crate::DatanetContributions`]).
    pub datanet_index: u32,
    /// Its position in its contributor's index ([`crate::ContributorContributions`]).
    pub contributor_index: u32,
    /// Its claim to the content hash: the block of the commitment it was revealed from, or the
    /// block it was submitted in (see [`provena_primitives::commit`]).
    pub priority: BlockNumberFor<T>,
    /// The snapshots that hold it (from v2): set when it is accepted, closed when it leaves the
    /// accepted set. `None` while it was never accepted.
    pub snapshots: Option<SnapshotSpan>,
    /// What attribution has credited it and not yet paid, and what it paid (from v3): kept
    /// here so that crediting a contribution a receipt has just read costs one write.
    pub reward: T::Reward,
}

/// A published snapshot: the Merkle root over its accepted contributions.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Snapshot<T: Config> {
    /// The root of the binary Merkle tree over the member leaves (see `provena_primitives::merkle`).
    pub root: ContentHash,
    /// How many contributions it commits to.
    pub contribution_count: u32,
    /// Who published it.
    pub publisher: T::AccountId,
    /// When it was published.
    pub published_at: BlockNumberFor<T>,
    /// The storage deposit held from the publisher until the snapshot leaves the state with its
    /// datanet.
    pub deposit: BalanceOf<T>,
}

/// A request for access to a private datanet.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct AccessRequest<T: Config> {
    /// Where the requester explains the intended use.
    pub purpose_uri: BoundedText<T::MaxUriLen>,
    /// When it was requested.
    pub requested_at: BlockNumberFor<T>,
    /// The deposit held from the requester; it carries over to the grant.
    pub deposit: BalanceOf<T>,
}

/// A commitment to registering a content hash (see [`provena_primitives::commit`]).
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct HashCommitment<T: Config> {
    /// When it was made: the priority of the registration that reveals it.
    pub at: BlockNumberFor<T>,
    /// The deposit held from the committer until it is revealed or cleared.
    pub deposit: BalanceOf<T>,
}

/// An access grant to a private datanet.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct AccessGrant<T: Config> {
    /// When it was granted.
    pub granted_at: BlockNumberFor<T>,
    /// Who holds the grant's deposit: the requester, or the owner for a grant nobody asked for.
    pub depositor: T::AccountId,
    /// The deposit, returned to `depositor` when the grant goes.
    pub deposit: BalanceOf<T>,
}

/// A curator's verdict on a pending contribution.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Verdict {
    /// Accept with a quality score (0–100); the stake is released after the lock-up.
    Accept {
        /// Quality score, 0–100.
        quality: u8,
    },
    /// Reject in good faith; the stake goes back now.
    Reject,
    /// Reject as malicious or spam; the stake goes to the datanet's reward pool.
    Slash,
}

/// The changes `update_datanet` applies; `None` leaves a field as it is.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct DatanetUpdate<T: Config> {
    /// A new description URI.
    pub description_uri: Option<BoundedText<T::MaxUriLen>>,
    /// A new default license.
    pub license: Option<BoundedText<T::MaxTagLen>>,
    /// A new visibility. Existing grants stay; they matter again if it turns private.
    pub visibility: Option<Visibility>,
    /// A new stake for future contributions (pending ones keep theirs).
    pub contribution_stake: Option<BalanceOf<T>>,
    /// A new size limit for future contributions.
    pub max_contribution_bytes: Option<u64>,
}
