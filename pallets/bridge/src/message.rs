//! What crosses the bridge, byte for byte as the Ethereum contract hashes it (Solidity's
//! `abi.encodePacked`), and the checks on committee signatures.
//!
//! ## Leaves of an epoch's tree
//!
//! - a transfer out: `uint8(1) ‖ uint64 nonce ‖ address recipient ‖ uint256 amount` (61 bytes);
//! - a settled attribution epoch: `uint8(2) ‖ uint64 epoch ‖ bytes32 root ‖ uint32 receipts`
//!   (45 bytes).
//!
//! The tree is [`provena_primitives::merkle`]'s Keccak-256 tree.
//!
//! ## Signed digests
//!
//! Every digest names the Provena chain, the Ethereum chain and contract, and the committee, so a
//! signature is good for one purpose, on one deployment, by one committee:
//!
//! - an epoch root: `keccak256("provena-bridge/root" ‖ uint64 provenaChainId ‖ uint64 ethChainId
//!   ‖ address contract ‖ uint32 committeeId ‖ uint64 epoch ‖ bytes32 root)`;
//! - a transfer in: `keccak256("provena-bridge/in" ‖ uint64 provenaChainId ‖ uint64 ethChainId ‖
//!   address contract ‖ uint32 committeeId ‖ uint64 nonce ‖ bytes32 recipient ‖ uint256 amount)`;
//! - a committee rotation (signed by the old committee, for the contract):
//!   `keccak256("provena-bridge/rotate" ‖ uint64 provenaChainId ‖ uint64 ethChainId ‖ address
//!   contract ‖ uint32 oldId ‖ uint32 newId ‖ uint32 threshold ‖ address[] members)`.
//!
//! Signatures are 65 bytes `r ‖ s ‖ v` over the digest itself (no `eth_sign` prefix), `v` 0/1 or
//! 27/28.

use alloc::vec::Vec;
use polkadot_sdk::{
    sp_core::{H160, H256, U256},
    sp_io::{crypto::secp256k1_ecdsa_recover, hashing::keccak_256},
};

/// The leaf tag of a transfer out.
pub const LEAF_TRANSFER: u8 = 1;
/// The leaf tag of a settled attribution epoch root.
pub const LEAF_ATTRIBUTION: u8 = 2;

/// Where a bridge deployment lives: the chains and the Ethereum contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain {
    pub provena_chain_id: u64,
    pub eth_chain_id: u64,
    pub contract: H160,
}

impl Domain {
    fn prefix(&self, tag: &[u8], committee: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(tag.len().saturating_add(40));
        out.extend_from_slice(tag);
        out.extend_from_slice(&self.provena_chain_id.to_be_bytes());
        out.extend_from_slice(&self.eth_chain_id.to_be_bytes());
        out.extend_from_slice(self.contract.as_bytes());
        out.extend_from_slice(&committee.to_be_bytes());
        out
    }

    /// The digest a committee signs to settle an epoch's root on Ethereum.
    pub fn root_digest(&self, committee: u32, epoch: u64, root: &H256) -> [u8; 32] {
        let mut m = self.prefix(b"provena-bridge/root", committee);
        m.extend_from_slice(&epoch.to_be_bytes());
        m.extend_from_slice(root.as_bytes());
        keccak_256(&m)
    }

    /// The digest a committee signs to release a transfer from Ethereum on Provena.
    pub fn inbound_digest(
        &self,
        committee: u32,
        nonce: u64,
        recipient: &[u8; 32],
        amount: u128,
    ) -> [u8; 32] {
        let mut m = self.prefix(b"provena-bridge/in", committee);
        m.extend_from_slice(&nonce.to_be_bytes());
        m.extend_from_slice(recipient);
        m.extend_from_slice(&U256::from(amount).to_big_endian());
        keccak_256(&m)
    }

    /// The digest the outgoing committee signs to hand over to the next one on Ethereum.
    pub fn rotation_digest(
        &self,
        old: u32,
        new: u32,
        threshold: u32,
        members: &[H160],
    ) -> [u8; 32] {
        let mut m = self.prefix(b"provena-bridge/rotate", old);
        m.extend_from_slice(&new.to_be_bytes());
        m.extend_from_slice(&threshold.to_be_bytes());
        for member in members {
            // `abi.encodePacked` pads the elements of an array to 32 bytes.
            m.extend_from_slice(&[0u8; 12]);
            m.extend_from_slice(member.as_bytes());
        }
        keccak_256(&m)
    }
}

/// The leaf of a transfer out.
pub fn transfer_leaf(nonce: u64, recipient: &H160, amount: u128) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(61);
    leaf.push(LEAF_TRANSFER);
    leaf.extend_from_slice(&nonce.to_be_bytes());
    leaf.extend_from_slice(recipient.as_bytes());
    leaf.extend_from_slice(&U256::from(amount).to_big_endian());
    leaf
}

/// The leaf of a settled attribution epoch.
pub fn attribution_leaf(epoch: u64, root: &H256, receipts: u32) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(45);
    leaf.push(LEAF_ATTRIBUTION);
    leaf.extend_from_slice(&epoch.to_be_bytes());
    leaf.extend_from_slice(root.as_bytes());
    leaf.extend_from_slice(&receipts.to_be_bytes());
    leaf
}

/// The Ethereum address that signed `digest`, if `signature` is a valid signature.
pub fn signer(digest: &[u8; 32], signature: &[u8; 65]) -> Option<H160> {
    let public = secp256k1_ecdsa_recover(signature, digest).ok()?;
    Some(H160::from_slice(&keccak_256(&public)[12..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polkadot_sdk::sp_core::{ecdsa, Pair};

    /// Signs like an Ethereum key: `r ‖ s ‖ v` over the raw digest.
    fn sign(pair: &ecdsa::Pair, digest: &[u8; 32]) -> [u8; 65] {
        pair.sign_prehashed(digest).0
    }

    #[test]
    fn a_signature_recovers_its_signer_and_nothing_else() {
        let pair = ecdsa::Pair::from_seed(&[1; 32]);
        let digest = keccak_256(b"message");
        let sig = sign(&pair, &digest);
        let who = signer(&digest, &sig).unwrap();
        // The same key signs another digest: same address.
        assert_eq!(signer(&keccak_256(b"other"), &sign(&pair, &keccak_256(b"other"))), Some(who));
        // A tampered signature recovers someone else or nobody.
        let mut bad = sig;
        bad[10] ^= 1;
        assert_ne!(signer(&digest, &bad), Some(who));
        // v as 27/28 is accepted too.
        let mut v27 = sig;
        v27[64] += 27;
        assert_eq!(signer(&digest, &v27), Some(who));
    }

    #[test]
    fn leaves_have_the_documented_layout() {
        let leaf = transfer_leaf(5, &H160::repeat_byte(0xaa), 1_000);
        assert_eq!(leaf.len(), 61);
        assert_eq!(leaf[0], LEAF_TRANSFER);
        assert_eq!(&leaf[1..9], &5u64.to_be_bytes());
        assert_eq!(&leaf[9..29], &[0xaa; 20]);
        assert_eq!(&leaf[59..61], &1_000u16.to_be_bytes());
        let leaf = attribution_leaf(3, &H256::repeat_byte(9), 12);
        assert_eq!(leaf.len(), 45);
        assert_eq!(leaf[0], LEAF_ATTRIBUTION);
        assert_eq!(&leaf[41..45], &12u32.to_be_bytes());
    }

    #[test]
    fn digests_differ_by_domain_committee_and_purpose() {
        let d = Domain { provena_chain_id: 1, eth_chain_id: 31337, contract: H160::repeat_byte(1) };
        let root = H256::repeat_byte(2);
        let base = d.root_digest(0, 1, &root);
        assert_ne!(base, d.root_digest(1, 1, &root));
        assert_ne!(base, d.root_digest(0, 2, &root));
        assert_ne!(base, Domain { eth_chain_id: 1, ..d }.root_digest(0, 1, &root));
        assert_ne!(base, Domain { contract: H160::repeat_byte(3), ..d }.root_digest(0, 1, &root));
        assert_ne!(d.inbound_digest(0, 1, &[0; 32], 5), d.inbound_digest(0, 1, &[0; 32], 6));
    }
}
