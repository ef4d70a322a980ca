//! Transactions for this runtime, built off chain (native builds only).
//!
//! ## Overview
//!
//! A client that submits transactions over RPC — the inference worker settling receipts, the
//! node's tests — must sign what the runtime checks: the call, the [`TxExtension`](crate::TxExtension)
//! and what that extension implies without carrying it (the spec and transaction versions, the
//! genesis hash and the block that starts the era). [`SigningContext`] holds the chain-wide
//! part, read from the node; [`sign`] builds the extrinsic ([`sign_encoded`] from a call's
//! encoding, for a call an older runtime on the chain has); [`error_name`] names a dispatch
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
    let payload =
        SignedPayload::from_raw(call.clone(), extension.clone(), implied(ctx, checkpoint));
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

/// What the [`TxExtension`](crate::TxExtension) implies without carrying it.
fn implied(ctx: &SigningContext, checkpoint: Hash) -> ImpliedOf {
    ((), ctx.spec_version, ctx.transaction_version, ctx.genesis, checkpoint, (), (), (), (), ())
}

type ImpliedOf = ((), u32, u32, Hash, Hash, (), (), (), (), ());

/// Signs a call given by its encoding, and returns the encoded extrinsic: for a call of a
/// runtime on the chain that this build's runtime no longer has (an older runtime's, before an
/// upgrade). The extension is this runtime's; the context must be the chain's.
pub fn sign_encoded(
    pair: &sr25519::Pair,
    call: &[u8],
    nonce: Nonce,
    era: Era,
    checkpoint: Hash,
    tip: Balance,
    ctx: &SigningContext,
) -> alloc::vec::Vec<u8> {
    /// Bytes that encode as themselves.
    struct Encoded<'a>(&'a [u8]);
    impl Encode for Encoded<'_> {
        fn size_hint(&self) -> usize {
            self.0.len()
        }
        fn encode_to<O: codec::Output + ?Sized>(&self, dest: &mut O) {
            dest.write(self.0)
        }
    }
    let extension = tx_extension(era, nonce, tip);
    // As `SignedPayload`: hashed when longer than 256 bytes.
    let payload = (Encoded(call), &extension, implied(ctx, checkpoint)).encode();
    let signature = if payload.len() > 256 {
        pair.sign(&polkadot_sdk::sp_io::hashing::blake2_256(&payload))
    } else {
        pair.sign(&payload)
    };
    let signer: AccountId = pair.public().into();
    let preamble =
        generic::Preamble::<crate::Address, crate::Signature, crate::TxExtension>::Signed(
            signer.into(),
            MultiSignature::Sr25519(signature),
            extension,
        );
    let mut body = preamble.encode();
    body.extend_from_slice(call);
    let mut xt = codec::Compact(u32::try_from(body.len()).unwrap_or(u32::MAX)).encode();
    xt.extend(body);
    xt
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
    fn a_call_signed_by_its_encoding_is_the_same_extrinsic() {
        use codec::Decode;
        use polkadot_sdk::sp_runtime::traits::Verify;
        let ctx = SigningContext {
            genesis: Hash::repeat_byte(7),
            spec_version: VERSION.spec_version,
            transaction_version: VERSION.transaction_version,
        };
        let ferdie = Sr25519Keyring::Ferdie;
        // A short call, and one whose payload is hashed before signing.
        for remark in [vec![1u8], vec![2u8; 300]] {
            let call = RuntimeCall::System(polkadot_sdk::frame_system::Call::remark { remark });
            let bytes = sign_encoded(
                &ferdie.pair(),
                &call.encode(),
                5,
                Era::Immortal,
                ctx.genesis,
                0,
                &ctx,
            );
            let xt = UncheckedExtrinsic::decode(&mut &bytes[..]).unwrap();
            assert_eq!(xt.0.function, call);
            let generic::Preamble::Signed(address, signature, extension) = &xt.0.preamble else {
                panic!("not signed")
            };
            assert_eq!(*address, ferdie.to_account_id().into());
            assert_eq!(*extension, tx_extension(Era::Immortal, 5, 0));
            let payload = SignedPayload::from_raw(
                call.clone(),
                extension.clone(),
                implied(&ctx, ctx.genesis),
            );
            assert!(payload.using_encoded(|b| signature.verify(b, &ferdie.to_account_id())));
        }
    }

    #[test]
    fn errors_are_named_by_pallet_and_variant() {
        let e: DispatchError = pallet_attribution::Error::<crate::Runtime>::VoucherExpired.into();
        assert_eq!(error_name(e), "Attribution::VoucherExpired");
        assert_eq!(error_name(DispatchError::BadOrigin), "BadOrigin");
    }
}
