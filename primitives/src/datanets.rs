//! What other pallets may know about datanets and their contributions, without depending on
//! the datanets pallet: the [`ContributionInspect`] trait and the types it speaks.

use crate::{
    merkle::MerkleProof, serde_helpers, ContentHash, ContributionId, DatanetId, SnapshotVersion,
};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Where a contribution is in its life.
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
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ContributionStatus {
    /// Submitted with its stake held, waiting for a curator.
    Pending,
    /// Accepted by a curator with a quality score (0–100); eligible for snapshots and rewards.
    Accepted {
        /// The curator's quality score, 0–100.
        quality: u8,
    },
    /// Rejected in good faith; the stake went back to the contributor.
    Rejected,
    /// Rejected as malicious or spam; the stake went to the datanet's reward pool.
    Slashed,
    /// Withdrawn by its contributor; kept for history, excluded from later snapshots.
    Withdrawn,
}

impl ContributionStatus {
    /// Whether the contribution may earn attribution rewards now.
    pub fn is_earning(&self) -> bool {
        matches!(self, ContributionStatus::Accepted { .. })
    }
}

/// Who may see a datanet's data.
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
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Visibility {
    /// Anyone may use the data and train on its snapshots.
    Public,
    /// Only the owner and accounts the owner granted access may train on its snapshots.
    Private,
}

/// Why an account may not use a datanet snapshot.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub enum SnapshotAccessError {
    /// The datanet does not exist.
    UnknownDatanet,
    /// The datanet has no snapshot with that version.
    UnknownSnapshot,
    /// The datanet is private and the account has no access grant.
    NoAccess,
}

/// The snapshots of its datanet a contribution is a member of: every version after `after` (the
/// datanet's snapshot count when the contribution was accepted) up to and including `until`
/// (the count when it left the accepted set, if it did). Kept on the contribution, so that
/// membership is known from the contribution alone, without reading a snapshot's member list.
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
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SnapshotSpan {
    /// It is in no version up to this one.
    pub after: SnapshotVersion,
    /// It is in no version after this one; `None` while it is accepted.
    pub until: Option<SnapshotVersion>,
}

impl SnapshotSpan {
    /// Whether a published snapshot `version` holds the contribution.
    pub fn contains(&self, version: SnapshotVersion) -> bool {
        version > self.after && self.until.is_none_or(|until| version <= until)
    }
}

/// A contribution as other pallets see it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ContributionView<AccountId> {
    /// The datanet it belongs to.
    pub datanet: DatanetId,
    /// Who contributed it (and is paid for it).
    pub contributor: AccountId,
    /// The hash of its content.
    pub content_hash: ContentHash,
    /// Its status now.
    pub status: ContributionStatus,
    /// The published snapshots of its datanet it is a member of; `None` if it was never
    /// accepted.
    pub snapshots: Option<SnapshotSpan>,
}

/// Read access to datanets for other pallets (models, attribution), wired in the runtime.
pub trait ContributionInspect<AccountId> {
    /// A contribution, if it exists.
    fn contribution(id: ContributionId) -> Option<ContributionView<AccountId>>;

    /// Whether `contribution` is a member of snapshot `version` of `datanet`.
    fn in_snapshot(
        datanet: DatanetId,
        version: SnapshotVersion,
        contribution: ContributionId,
    ) -> bool;

    /// Whether `who` may train on snapshot `version` of `datanet` (it exists, and the datanet is
    /// public or `who` owns it or was granted access).
    fn can_use_snapshot(
        who: &AccountId,
        datanet: DatanetId,
        version: SnapshotVersion,
    ) -> Result<(), SnapshotAccessError>;
}

/// Paying into datanets' reward pools, for other pallets (attribution), wired in the runtime.
pub trait RewardPoolFunding<AccountId> {
    /// Moves `amount` from `from`'s free balance (keeping `from` alive) into the reward pool of
    /// `datanet`, which must exist.
    fn fund_reward_pool(
        datanet: DatanetId,
        from: &AccountId,
        amount: crate::Balance,
    ) -> polkadot_sdk::sp_runtime::DispatchResult;
}

/// Recording which datanets' snapshots registered items depend on, for other pallets (models),
/// wired in the runtime: a datanet whose snapshots are in use cannot be destroyed.
pub trait SnapshotUsers {
    /// One more item (a model) depends on snapshots of `datanet`.
    fn use_snapshots(datanet: DatanetId);
    /// One item no longer depends on snapshots of `datanet`.
    fn release_snapshots(datanet: DatanetId);
}

/// Whether attribution still owes credit to a datanet's reward pool, asked before the datanet
/// goes, wired in the runtime. (What a contribution is owed is kept in its own record: see
/// [`ContributionRewards`].)
pub trait CreditOwed {
    /// Whether the reward pool of `datanet` is owed credit not yet paid into it.
    fn owed_to_pool(datanet: DatanetId) -> bool;
}

/// Nothing is ever owed: for runtimes without attribution.
impl CreditOwed for () {
    fn owed_to_pool(_: DatanetId) -> bool {
        false
    }
}

/// A reward record kept inside each contribution's record for another pallet (attribution's
/// pending, frozen and unclaimed credit): the datanets pallet stores it and asks only whether
/// it still owes anything, since a contribution that is owed credit may not leave the state.
pub trait OwedCredit {
    /// Whether anything credited is not yet paid (pending, frozen or claimable).
    fn is_owed(&self) -> bool;
}

/// Nothing is ever owed: for runtimes without attribution.
impl OwedCredit for () {
    fn is_owed(&self) -> bool {
        false
    }
}

/// The reward record each contribution carries for attribution (see [`OwedCredit`]), wired in
/// the runtime. Kept in the contribution's own record so that a receipt that reads a
/// contribution to check it credits it with one more write, not another read and write.
pub trait ContributionRewards<Record> {
    /// Runs `f` on contribution `id`'s reward record and stores the record if `f` succeeds.
    /// Fails, changing nothing, if the contribution does not exist or `f` fails.
    fn mutate_reward<R>(
        id: ContributionId,
        f: impl FnOnce(&mut Record) -> Result<R, polkadot_sdk::sp_runtime::DispatchError>,
    ) -> Result<R, polkadot_sdk::sp_runtime::DispatchError>;

    /// Contribution `id`'s reward record, if the contribution exists.
    fn reward(id: ContributionId) -> Option<Record>;

    /// Every contribution's reward record that is not the default (for invariant checks: it
    /// reads every contribution).
    fn rewards() -> Vec<(ContributionId, Record)>;
}

/// The bytes of a snapshot's Merkle leaf for one contribution: the SCALE encoding of
/// `(contribution id, content hash, contributor)`. Anyone holding the contribution list can
/// rebuild the leaves and check the on-chain root.
pub fn snapshot_leaf<AccountId: Encode>(
    id: ContributionId,
    content_hash: &ContentHash,
    contributor: &AccountId,
) -> alloc::vec::Vec<u8> {
    (id, content_hash, contributor).encode()
}

/// A datanet as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
))]
pub struct DatanetInfo<AccountId, Balance, BlockNumber> {
    /// Its id.
    pub id: DatanetId,
    /// Its owner.
    pub owner: AccountId,
    /// Its name (UTF-8 as given).
    #[serde(with = "serde_helpers::text")]
    pub name: Vec<u8>,
    /// Where its description lives.
    #[serde(with = "serde_helpers::text")]
    pub description_uri: Vec<u8>,
    /// Its domain tag.
    #[serde(with = "serde_helpers::text")]
    pub domain: Vec<u8>,
    /// Its default license.
    #[serde(with = "serde_helpers::text")]
    pub license: Vec<u8>,
    /// Public or private.
    pub visibility: Visibility,
    /// The stake per contribution, in base units.
    #[serde(with = "serde_helpers::amount")]
    pub contribution_stake: Balance,
    /// The largest contribution, in bytes.
    pub max_contribution_bytes: u64,
    /// Whether it takes new contributions.
    pub open: bool,
    /// Its curators besides the owner.
    pub curators: Vec<AccountId>,
    /// When it was created.
    pub created_at: BlockNumber,
    /// How many contributions it ever received.
    pub contribution_count: u32,
    /// How many are accepted now (what the next snapshot commits to).
    pub accepted_count: u32,
    /// How many snapshots it published (the latest version).
    pub snapshot_count: SnapshotVersion,
    /// Its reward pool (slashed stakes), in base units.
    #[serde(with = "serde_helpers::amount")]
    pub reward_pool: Balance,
}

/// A contribution as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
))]
pub struct ContributionInfo<AccountId, Balance, BlockNumber> {
    /// Its id.
    pub id: ContributionId,
    /// Its datanet.
    pub datanet: DatanetId,
    /// Its contributor.
    pub contributor: AccountId,
    /// The hash of its content.
    pub content_hash: ContentHash,
    /// Its size in bytes.
    pub byte_size: u64,
    /// Its size in tokens.
    pub token_count: u64,
    /// Where its metadata lives.
    #[serde(with = "serde_helpers::text")]
    pub metadata_uri: Vec<u8>,
    /// Its license.
    #[serde(with = "serde_helpers::text")]
    pub license: Vec<u8>,
    /// Its status.
    pub status: ContributionStatus,
    /// The stake still held for it, in base units.
    #[serde(with = "serde_helpers::amount")]
    pub stake_held: Balance,
    /// From when its stake may be released.
    pub stake_unlocks_at: Option<BlockNumber>,
    /// When it was submitted.
    pub submitted_at: BlockNumber,
    /// Who reviewed it.
    pub reviewer: Option<AccountId>,
    /// When it was reviewed.
    pub reviewed_at: Option<BlockNumber>,
}

/// A snapshot as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo<AccountId, BlockNumber> {
    /// Its datanet.
    pub datanet: DatanetId,
    /// Its version (from 1).
    pub version: SnapshotVersion,
    /// The Merkle root over its members.
    pub root: ContentHash,
    /// Its members in leaf order.
    pub members: Vec<ContributionId>,
    /// Who published it.
    pub publisher: AccountId,
    /// When it was published.
    pub published_at: BlockNumber,
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to datanets for clients, explorers and the node's `datanets_*` RPC.
    pub trait DatanetsApi<AccountId, Balance, BlockNumber>
    where
        AccountId: codec::Codec,
        Balance: codec::Codec,
        BlockNumber: codec::Codec,
    {
        /// A datanet, if it exists.
        fn datanet(id: DatanetId) -> Option<DatanetInfo<AccountId, Balance, BlockNumber>>;
        /// A contribution, if it exists.
        fn contribution(id: ContributionId) -> Option<ContributionInfo<AccountId, Balance, BlockNumber>>;
        /// Up to `limit` (at most 1,000) contributions of a datanet, from index `start` in
        /// submission order.
        fn datanet_contributions(datanet: DatanetId, start: u32, limit: u32)
            -> Vec<ContributionInfo<AccountId, Balance, BlockNumber>>;
        /// Up to `limit` (at most 1,000) contributions of an account, from index `start`.
        fn contributor_contributions(who: AccountId, start: u32, limit: u32)
            -> Vec<ContributionInfo<AccountId, Balance, BlockNumber>>;
        /// A snapshot, if it exists.
        fn snapshot(datanet: DatanetId, version: SnapshotVersion) -> Option<SnapshotInfo<AccountId, BlockNumber>>;
        /// The Merkle proof that `contribution` is in snapshot `version` of `datanet`.
        fn snapshot_proof(datanet: DatanetId, version: SnapshotVersion, contribution: ContributionId)
            -> Option<MerkleProof>;
    }
}
