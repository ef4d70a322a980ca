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

/// Half the order of secp256k1: Ethereum (EIP-2, OpenZeppelin's `ECDSA`) refuses signatures
/// whose `s` is above it.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// The Ethereum address that signed `digest`, if `signature` is a valid signature with a low
/// `s`, as the Ethereum contract requires: otherwise anyone could record the malleable twin of a
/// member's signature first, which the contract would not count.
pub fn signer(digest: &[u8; 32], signature: &[u8; 65]) -> Option<H160> {
    if signature.get(32..64)? > &HALF_ORDER[..] {
        return None;
    }
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
        // The malleable twin (n - s, v flipped) is a valid signature, but refused, as on Ethereum.
        let n: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c,
            0xd0, 0x36, 0x41, 0x41,
        ];
        let s = U256::from_big_endian(&sig[32..64]);
        let mut twin = sig;
        twin[32..64].copy_from_slice(&(U256::from_big_endian(&n) - s).to_big_endian());
        twin[64] ^= 1;
        assert!(secp256k1_ecdsa_recover(&twin, &digest).is_ok(), "the twin is a valid signature");
        assert_eq!(signer(&digest, &twin), None);
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

    /// The same digests as Solidity's `abi.encodePacked` builds them (computed with ethers'
    /// `solidityPackedKeccak256`, as `pallets/bridge/solidity/lib.mjs` does for the contract).
    #[test]
    fn digests_match_solidity() {
        let d = Domain { provena_chain_id: 1, eth_chain_id: 31337, contract: H160::repeat_byte(1) };
        let hex = |s: &str| {
            let v: Vec<u8> =
                (0..32).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect();
            <[u8; 32]>::try_from(v).unwrap()
        };
        assert_eq!(
            d.root_digest(0, 1, &H256::repeat_byte(2)),
            hex("ffd58f18500bf28514435459672301973768b3a31d16e0fea371e798a8c71f72")
        );
        let members = [0xaa, 0xbb, 0xcc].map(H160::repeat_byte);
        assert_eq!(
            d.rotation_digest(0, 1, 2, &members),
            hex("bc5f6b458a676bbfa9fe3df2caa46f55030ac182fad382e18494a53c7bafd7ce")
        );
        assert_eq!(
            d.inbound_digest(0, 1, &[0; 32], 5),
            hex("d8d297ccf6f38d5824d71768a2430b92444d8fc276a3fe89880eef5a333c036e")
        );
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
