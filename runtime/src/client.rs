//! Transactions for this runtime, built off chain (native builds only).
//!
//! ## Overview
//!
//! A client that submits transactions over RPC — the inference worker settling receipts, the
//! node's tests — must sign what the runtime checks: the call, the [`TxExtension`](crate::TxExtension)
//! and what that extension implies without carrying it (the spec and transaction versions, the
//! genesis hash and the block that starts the era). [`SigningContext`] holds the chain-wide
//! part, read from the node; [`sign`] builds the extrinsic; [`error_name`] names a dispatch
//! error the way the runtime's metadata does.
//!
//! ## Versions
//!
//! A client built from this crate encodes calls as this runtime does. The encoding changes only
//! with [`crate::VERSION`]'s `transaction_version`: a client checks
//! [`SigningContext::encodes_for_this_build`] before it signs and stops (rather than sending
//! transactions a newer runtime would misread) when it does not hold.

use crate::{
    tx_extension, AccountId, Balance, Hash, Nonce, RuntimeCall, RuntimeError, SignedPayload,
    UncheckedExtrinsic, VERSION,
};
use codec::Encode;
use polkadot_sdk::{
    sp_core::{sr25519, Pair},
    sp_runtime::{
        generic::{self, Era},
        DispatchError, MultiSignature,
    },
};

/// What a transaction is signed for, as the node it goes to reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningContext {
    /// The chain's genesis hash.
    pub genesis: Hash,
    /// The runtime's `spec_version` now.
    pub spec_version: u32,
    /// The runtime's `transaction_version` now.
    pub transaction_version: u32,
}

impl SigningContext {
    /// Whether calls encoded by this build mean the same to the node's runtime.
    pub fn encodes_for_this_build(&self) -> bool {
        self.transaction_version == VERSION.transaction_version
    }
}

/// `call` signed by `pair` with `nonce` and `tip`, valid in `era`, whose first block has hash
/// `checkpoint` (the genesis hash for an immortal era).
pub fn sign(
    pair: &sr25519::Pair,
    call: RuntimeCall,
    nonce: Nonce,
    era: Era,
    checkpoint: Hash,
    tip: Balance,
    ctx: &SigningContext,
) -> UncheckedExtrinsic {
    let extension = tx_extension(era, nonce, tip);
    let implicit = (
        (),
        ctx.spec_version,
        ctx.transaction_version,
        ctx.genesis,
        checkpoint,
        (),
        (),
        (),
        (),
        (),
    );
    let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
    let signature = payload.using_encoded(|bytes| pair.sign(bytes));
    let signer: AccountId = pair.public().into();
    generic::UncheckedExtrinsic::new_signed(
        call,
        signer.into(),
        MultiSignature::Sr25519(signature),
        extension,
    )
    .into()
}

/// A dispatch error by name: `Attribution::VoucherExpired` for a pallet's error, the
/// error's own form otherwise.
pub fn error_name(error: DispatchError) -> String {
    match RuntimeError::from_dispatch_error(error) {
        Some(e) => {
            // `Attribution(VoucherExpired)` → `Attribution::VoucherExpired`.
            let debug = format!("{e:?}");
            match debug.split_once('(') {
                Some((pallet, rest)) => format!("{pallet}::{}", rest.trim_end_matches(')')),
                None => debug,
            }
        }
        None => format!("{error:?}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use polkadot_sdk::sp_keyring::Sr25519Keyring;

    #[test]
    fn the_signature_covers_the_context() {
        use polkadot_sdk::sp_runtime::traits::Verify;
        let ctx = SigningContext {
            genesis: Hash::repeat_byte(7),
            spec_version: VERSION.spec_version,
            transaction_version: VERSION.transaction_version,
        };
        assert!(ctx.encodes_for_this_build());
        assert!(!SigningContext { transaction_version: 0, ..ctx }.encodes_for_this_build());
        let call =
            RuntimeCall::System(polkadot_sdk::frame_system::Call::remark { remark: vec![1] });
        let ferdie = Sr25519Keyring::Ferdie;
        let xt = sign(&ferdie.pair(), call.clone(), 3, Era::Immortal, ctx.genesis, 0, &ctx);
        let generic::Preamble::Signed(address, signature, extension) = &xt.0.preamble else {
            panic!("not signed")
        };
        assert_eq!(*address, ferdie.to_account_id().into());
        assert_eq!(*extension, tx_extension(Era::Immortal, 3, 0));
        let verifies = |genesis: Hash, spec_version: u32| {
            let implicit =
                ((), spec_version, ctx.transaction_version, genesis, genesis, (), (), (), (), ());
            let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
            payload.using_encoded(|bytes| signature.verify(bytes, &ferdie.to_account_id()))
        };
        assert!(verifies(ctx.genesis, ctx.spec_version));
        assert!(!verifies(Hash::repeat_byte(8), ctx.spec_version), "another chain");
        assert!(!verifies(ctx.genesis, ctx.spec_version + 1), "another runtime");
    }

    #[test]
    fn errors_are_named_by_pallet_and_variant() {
        let e: DispatchError = pallet_attribution::Error::<crate::Runtime>::VoucherExpired.into();
        assert_eq!(error_name(e), "Attribution::VoucherExpired");
        assert_eq!(error_name(DispatchError::BadOrigin), "BadOrigin");
    }
}
