//! The bridge's stored and signed types: the committee, the token buckets and their limits,
//! transfers each way, closed epochs.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{pallet_prelude::*, traits::Get},
    sp_core::{H160, H256},
    sp_runtime::traits::{AtLeast32BitUnsigned, Saturating, UniqueSaturatedInto},
};
use scale_info::TypeInfo;

/// A 65-byte `r ‖ s ‖ v` secp256k1 signature.
pub type Signature = [u8; 65];

/// The committee: Ethereum addresses of its members and how many must sign.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(S))]
pub struct Committee<S: Get<u32>> {
    /// Increases with every rotation; part of every signed digest.
    pub id: u32,
    pub members: BoundedVec<H160, S>,
    pub threshold: u32,
}

/// A token bucket: up to `capacity` at once, refilled by `per_block` a block.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct Bucket<Balance, BlockNumber> {
    pub capacity: Balance,
    pub per_block: Balance,
    /// What is available as of `updated_at`.
    pub level: Balance,
    pub updated_at: BlockNumber,
}

impl<Balance, BlockNumber> Bucket<Balance, BlockNumber>
where
    Balance: AtLeast32BitUnsigned + Copy,
    BlockNumber: Copy + Saturating + UniqueSaturatedInto<u32>,
{
    /// What is available at `now`.
    pub fn available(&self, now: BlockNumber) -> Balance {
        let blocks: u32 = now.saturating_sub(self.updated_at).unique_saturated_into();
        let blocks = Balance::from(blocks);
        self.level.saturating_add(self.per_block.saturating_mul(blocks)).min(self.capacity)
    }

    /// Takes `amount` at `now`, or leaves the bucket as it is and returns false.
    pub fn take(&mut self, amount: Balance, now: BlockNumber) -> bool {
        let available = self.available(now);
        if amount > available {
            return false;
        }
        self.level = available.saturating_sub(amount);
        self.updated_at = now;
        true
    }
}

/// The rate limits of both directions, as set by [`Config::AdminOrigin`].
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct RateLimits<Balance> {
    pub out_capacity: Balance,
    pub out_per_block: Balance,
    pub in_capacity: Balance,
    pub in_per_block: Balance,
}

/// A transfer out, waiting in the queue or kept with its closed epoch.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct OutboundTransfer<AccountId, Balance> {
    pub nonce: u64,
    pub sender: AccountId,
    pub recipient: H160,
    pub amount: Balance,
}

/// A transfer in: a burn on Ethereum, released on Provena.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct InboundTransfer<AccountId, Balance> {
    /// The Ethereum chain the burn happened on.
    pub source_chain_id: u64,
    /// The bridge contract that burnt.
    pub contract: H160,
    /// The burn's nonce on the contract.
    pub nonce: u64,
    pub recipient: AccountId,
    pub amount: Balance,
}

/// A closed bridge epoch.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(S))]
pub struct Epoch<BlockNumber, S: Get<u32>> {
    pub root: H256,
    pub leaf_count: u32,
    pub closed_at: BlockNumber,
    /// The committee whose signatures count for it (the one current at closing, or the one
    /// that replaced it before the root was signed).
    pub committee: u32,
    /// Distinct members' signatures over its root digest, in submission order.
    pub signatures: BoundedVec<(H160, Signature), S>,
    /// Whether the threshold was reached.
    pub signed: bool,
}

/// A committee handover the Ethereum contract follows once the outgoing committee signed it
/// ([`crate::message::Domain::rotation_digest`]).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(S))]
pub struct Rotation<S: Get<u32>> {
    /// The outgoing committee: its members sign.
    pub from: Committee<S>,
    /// The incoming committee.
    pub to: Committee<S>,
    /// Distinct outgoing members' signatures, in submission order.
    pub signatures: BoundedVec<(H160, Signature), S>,
    /// Whether the outgoing committee's threshold was reached.
    pub signed: bool,
}

/// Committee members' signatures over one transfer in, collected on chain (`approve_in`) until
/// it can be released (`release_in`).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(S))]
pub struct InboundApproval<AccountId, Balance, S: Get<u32>> {
    pub transfer: InboundTransfer<AccountId, Balance>,
    /// The committee whose members signed (part of the digest).
    pub committee: u32,
    pub signatures: BoundedVec<(H160, Signature), S>,
}
