//! Commit–reveal for registering a content hash (a contribution's content, a model's weights),
//! so that a mempool watcher who copies the hash cannot take the credit.
//!
//! ## The scheme
//!
//! 1. **Commit**: the registrant sends [`commitment`]`(hash, who, salt)` with a random `salt`
//!    (the datanets pallet's `commit`, holding a small deposit). It reveals nothing about the hash,
//!    and it is bound to the committer: no one else can reveal it.
//! 2. **Reveal**, at least one block later and within the commitment's lifetime: the registrant
//!    registers the hash with the salt (`contribute_committed`, `register_model_committed`); the
//!    commitment is used up and its deposit comes back.
//! 3. **Priority**: a registration's priority is the block of its commitment, or, without one,
//!    the block it was registered in. A reveal whose commitment is older than an existing
//!    registration of the same hash takes it over (the pallets document what that means for
//!    each item). A front-runner can only learn the hash from the reveal itself, so any
//!    commitment of theirs is later than the registrant's, and the first committer wins.
//!
//! Registering without a commitment remains possible; it is exposed to front-running.

use crate::{ContentHash, Hash};
use codec::Encode;

/// The domain tag of a commitment.
pub const COMMIT_DOMAIN: &[u8] = b"provena:commit:v1";

/// The commitment to registering `hash` as `who`: `blake2_256(SCALE(COMMIT_DOMAIN, hash, who,
/// salt))`.
pub fn commitment<AccountId: Encode>(hash: &ContentHash, who: &AccountId, salt: &Hash) -> Hash {
    crate::content_hash(&(COMMIT_DOMAIN, hash, who, salt).encode())
}

/// Using up a commitment made in the pallet that keeps them (datanets), for other pallets
/// (models), wired in the runtime.
pub trait HashCommitments<AccountId, BlockNumber> {
    /// Takes `who`'s commitment to `hash` with `salt` if it may be revealed now (made at least
    /// one block ago and not expired): removes it, returns its deposit, and returns the block it
    /// was made in (the registration's priority).
    fn reveal(
        who: &AccountId,
        hash: &ContentHash,
        salt: &Hash,
    ) -> Result<BlockNumber, polkadot_sdk::sp_runtime::DispatchError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commitment_binds_the_hash_the_account_and_the_salt() {
        let (h, s) = (Hash::repeat_byte(1), Hash::repeat_byte(2));
        let c = commitment(&h, &7u64, &s);
        assert_eq!(c, commitment(&h, &7u64, &s));
        assert_ne!(c, commitment(&Hash::repeat_byte(3), &7u64, &s));
        assert_ne!(c, commitment(&h, &8u64, &s));
        assert_ne!(c, commitment(&h, &7u64, &Hash::repeat_byte(4)));
        assert_ne!(c, h, "it does not reveal the hash");
    }
}
