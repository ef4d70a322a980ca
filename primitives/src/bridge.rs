//! The bridge to Ethereum (`pallet-bridge`): what its runtime API answers relayers, explorers and
//! wallets.

use crate::merkle::MerkleProof;
use alloc::vec::Vec;
use codec::{Decode, Encode};
use polkadot_sdk::sp_core::{H160, H256};
use scale_info::TypeInfo;

/// A 65-byte `r ‖ s ‖ v` secp256k1 signature.
pub type EthSignature = [u8; 65];

/// Where the bridge stands.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct BridgeStatus<Balance> {
    /// The Ethereum chain id and contract, once set.
    pub target: Option<(u64, H160)>,
    /// The current committee: id, members, threshold.
    pub committee: Option<(u32, Vec<H160>, u32)>,
    pub paused: bool,
    /// This chain's id in signed digests.
    pub provena_chain_id: u64,
    /// The nonce the next transfer out gets, and the one the next transfer in must have.
    pub next_outbound_nonce: u64,
    pub next_inbound_nonce: u64,
    /// The number the next closed epoch gets; epochs from `next_epoch - retention` are kept.
    pub next_epoch: u64,
    pub epoch_retention: u64,
    /// Attribution epochs before it are in a bridge epoch, or closed without receipts.
    pub next_attribution_epoch: u32,
    /// OPEN locked against wrapped OPEN on Ethereum.
    pub total_locked: Balance,
}

/// A closed bridge epoch.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct BridgeEpoch {
    pub root: H256,
    pub leaf_count: u32,
    /// The committee whose signatures count for it.
    pub committee: u32,
    pub signatures: Vec<(H160, EthSignature)>,
    /// Whether the committee's threshold signed it: it can be settled on Ethereum.
    pub signed: bool,
}

/// A committee handover for the Ethereum contract to follow.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct BridgeRotation {
    pub from: u32,
    /// The outgoing members (who sign) and threshold.
    pub from_members: Vec<H160>,
    pub from_threshold: u32,
    pub to: u32,
    /// The incoming members and threshold.
    pub members: Vec<H160>,
    pub threshold: u32,
    /// The outgoing members' signatures.
    pub signatures: Vec<(H160, EthSignature)>,
    pub signed: bool,
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to the bridge for relayers and clients.
    pub trait BridgeApi<AccountId, Balance>
    where
        AccountId: codec::Codec,
        Balance: codec::Codec,
    {
        /// Where the bridge stands.
        fn status() -> BridgeStatus<Balance>;
        /// A retained closed epoch.
        fn epoch(epoch: u64) -> Option<BridgeEpoch>;
        /// The transfer out with `nonce`: its bridge epoch and the proof of its leaf.
        fn transfer_proof(nonce: u64) -> Option<(u64, MerkleProof)>;
        /// Attribution epoch `epoch`'s settled root: its bridge epoch and the proof of its leaf.
        fn attribution_proof(epoch: u64) -> Option<(u64, MerkleProof)>;
        /// The handover to committee `to`, if kept.
        fn rotation(to: u32) -> Option<BridgeRotation>;
        /// The digest the current committee signs to release a burn on Ethereum with `nonce`
        /// for `recipient`; `None` until the bridge is configured.
        fn inbound_digest(nonce: u64, recipient: AccountId, amount: Balance) -> Option<H256>;
        /// The approvals recorded for the transfer in with `nonce`: each digest and the members
        /// who signed it (releasable at the committee's threshold).
        fn approvals(nonce: u64) -> Vec<(H256, Vec<H160>)>;
    }
}
