//! Binary Merkle trees for snapshots and receipts, compatible with Ethereum contracts.
//!
//! ## Construction
//!
//! Built with the `binary-merkle-tree` crate and Keccak-256 (so a Solidity verifier needs only
//! `keccak256`):
//! - each leaf is `keccak256(leaf_bytes)`;
//! - an inner node is `keccak256(left ++ right)`, children in leaf order, never sorted;
//! - on a level with an odd number of nodes the last node is promoted unchanged;
//! - the root of an empty tree is 32 zero bytes.
//!
//! A proof lists the sibling hashes from the leaf level up, plus the leaf index and the number
//! of leaves (which tell a verifier when a node was promoted rather than hashed).

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use polkadot_sdk::{binary_merkle_tree, sp_core::H256, sp_runtime::traits::Keccak256};
use scale_info::TypeInfo;

/// An inclusion proof of one leaf in a tree of `leaf_count` leaves.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct MerkleProof {
    /// The root the proof leads to.
    pub root: H256,
    /// Sibling hashes from the leaf level up to (not including) the root.
    pub siblings: Vec<H256>,
    /// How many leaves the tree has.
    pub leaf_count: u32,
    /// The 0-based position of the leaf.
    pub leaf_index: u32,
    /// The leaf's bytes (the verifier hashes them); `0x`-hex in JSON.
    #[serde(with = "crate::serde_helpers::hex")]
    pub leaf: Vec<u8>,
}

/// The root over `leaves` (each hashed first).
pub fn root<I>(leaves: I) -> H256
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    binary_merkle_tree::merkle_root::<Keccak256, _>(leaves)
}

/// The inclusion proof of leaf `index`, or `None` if there is no such leaf.
pub fn proof(leaves: Vec<Vec<u8>>, index: u32) -> Option<MerkleProof> {
    let count = u32::try_from(leaves.len()).ok()?;
    if index >= count {
        return None;
    }
    let p = binary_merkle_tree::merkle_proof::<Keccak256, _, _>(leaves, index);
    Some(MerkleProof {
        root: p.root,
        siblings: p.proof,
        leaf_count: p.number_of_leaves,
        leaf_index: p.leaf_index,
        leaf: p.leaf,
    })
}

/// Whether `proof` shows its leaf is in the tree with root `root`.
pub fn verify(root: &H256, proof: &MerkleProof) -> bool {
    binary_merkle_tree::verify_proof::<Keccak256, _, _>(
        root,
        proof.siblings.iter().copied(),
        proof.leaf_count,
        proof.leaf_index,
        &proof.leaf,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![i; 3]).collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves() {
        for n in 1..=17u8 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..u32::from(n) {
                let p = proof(l.clone(), i).unwrap();
                assert_eq!(p.root, r);
                assert!(verify(&r, &p), "n={n} i={i}");
                let mut bad = p.clone();
                bad.leaf.push(0);
                assert!(!verify(&r, &bad));
            }
            assert!(proof(l, u32::from(n)).is_none());
        }
    }

    /// The same trees as the bridge contract's JavaScript tests build (`merkleTree` in
    /// `pallets/bridge/solidity/lib.mjs`, which checks these roots too): the layout is shared
    /// with Ethereum, so it is pinned here.
    #[test]
    fn roots_match_the_ethereum_side() {
        let hex = |s: &str| serde_json::from_str::<H256>(&format!("\"0x{s}\"")).unwrap();
        for (n, expected) in [
            (1, "99ff0d9125e1fc9531a11262e15aeb2c60509a078c4cc4c64cefdfb06ff68647"),
            (2, "fc48644f7203cb99e79dc6d3299d229e15684355981f9dd4fae33dd1addf9949"),
            (3, "db753c0105585b799a7856f0e6c06f4c6480b6fcce8e21787185743152001dcf"),
            (5, "2a732505867901f0d8ce7cb69dc072f2557acab24d48ece556f307059c282139"),
            (7, "e2c82c3b17fcd503d7c00a74430de4de2d605300f71d0533bf83069e09358265"),
        ] {
            assert_eq!(root(leaves(n)), hex(expected), "{n} leaves");
        }
    }

    #[test]
    fn empty_tree_has_zero_root() {
        assert_eq!(root(Vec::<Vec<u8>>::new()), H256::zero());
    }
}
