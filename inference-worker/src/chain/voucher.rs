//! The voucher a paid request carries, and why one is refused.
//!
//! A request carries at most one, either as the header `X-Provena-Voucher` or as the body
//! field `provena.voucher` (what the OpenAI clients' `extra_headers` / `extra_body` send):
//!
//! ```json
//! {"voucher": {"requestId": "0x…32 bytes", "model": 0, "maxFee": "1000000000000000",
//!              "operator": "<SS58>", "expiresAt": 1200},
//!  "user": "<SS58>", "signature": "0x…"}
//! ```
//!
//! `signature` is the user's signature over `attribution_voucherPayload(voucher)` (the domain,
//! the genesis hash, the hash of the voucher's anchor block `expiresAt − MaxVoucherLifetime − 1`
//! and the SCALE-encoded voucher; see `provena_primitives::attribution::voucher_anchor`): 64
//! bytes (sr25519 or ed25519) or 65 bytes (ECDSA), hex.

use polkadot_sdk::{
    sp_core::{ecdsa, ed25519, sr25519},
    sp_runtime::{traits::Verify, MultiSignature},
};
use provena_primitives::{
    attribution::{voucher_payload, Voucher},
    ModelId,
};
use provena_runtime::{AccountId, Balance, BlockNumber, Hash};
use serde::Deserialize;
use serde_json::Value;

/// The header a voucher may come in.
pub const VOUCHER_HEADER: &str = "x-provena-voucher";

/// A voucher as a request carries it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedVoucher {
    /// What the user agreed to.
    pub voucher: Voucher<AccountId, BlockNumber>,
    /// Who signed it and pays.
    pub user: AccountId,
    /// The signature, `0x`-hex.
    pub signature: String,
}

impl SignedVoucher {
    /// The voucher from the header value or the body's `provena.voucher`, if either is there.
    pub fn from_request(header: Option<&[u8]>, body: &Value) -> Result<Option<Self>, Refusal> {
        let in_body = body.get("provena").map(|p| match p.get("voucher") {
            Some(v) if p.as_object().is_some_and(|o| o.len() == 1) => Ok(v.clone()),
            _ => Err(Refusal::Malformed("`provena` must be {\"voucher\": …}".into())),
        });
        let from_header = header.map(|h| {
            serde_json::from_slice::<Value>(h)
                .map_err(|e| Refusal::Malformed(format!("header {VOUCHER_HEADER}: {e}")))
        });
        let value = match (from_header, in_body) {
            (Some(_), Some(_)) => {
                return Err(Refusal::Malformed(
                    "a voucher in the header and another in the body".into(),
                ))
            }
            (Some(v), None) | (None, Some(v)) => v?,
            (None, None) => return Ok(None),
        };
        serde_json::from_value(value).map(Some).map_err(|e| Refusal::Malformed(e.to_string()))
    }

    /// Whether the signature is the user's over the voucher on the chain with `genesis`
    /// whose block at the voucher's anchor has hash `anchor`.
    pub fn signature_verifies(&self, genesis: &Hash, anchor: &Hash) -> bool {
        self.multi_signature(genesis, anchor).is_some()
    }

    /// The signature, as the scheme under which it verifies for the user over the voucher on
    /// the chain with `genesis` and anchor block hash `anchor` (what the receipt carries);
    /// `None` if it verifies under none.
    pub fn multi_signature(&self, genesis: &Hash, anchor: &Hash) -> Option<MultiSignature> {
        let bytes = hex::decode(self.signature.trim_start_matches("0x")).ok()?;
        let payload = voucher_payload(genesis, anchor, &self.voucher);
        let candidates: Vec<MultiSignature> = match bytes.len() {
            64 => {
                let mut raw = [0u8; 64];
                raw.copy_from_slice(&bytes);
                vec![
                    sr25519::Signature::from_raw(raw).into(),
                    ed25519::Signature::from_raw(raw).into(),
                ]
            }
            65 => {
                let mut raw = [0u8; 65];
                raw.copy_from_slice(&bytes);
                vec![ecdsa::Signature::from_raw(raw).into()]
            }
            _ => Vec::new(),
        };
        candidates.into_iter().find(|s| s.verify(&payload[..], &self.user))
    }
}

/// Signs `voucher` as the user with secret URI `user_suri` for the chain with `genesis` whose
/// block at the voucher's anchor has hash `anchor`, in the JSON form a request carries.
pub fn sign(
    user_suri: &str,
    voucher: Voucher<AccountId, BlockNumber>,
    genesis: &Hash,
    anchor: &Hash,
) -> anyhow::Result<Value> {
    use polkadot_sdk::sp_core::Pair;
    let pair = sr25519::Pair::from_string(user_suri, None)
        .map_err(|e| anyhow::anyhow!("the user key: {e:?}"))?;
    let signature = pair.sign(&voucher_payload(genesis, anchor, &voucher));
    Ok(serde_json::json!({
        "voucher": voucher,
        "user": AccountId::from(pair.public()).to_string(),
        "signature": format!("0x{}", hex::encode(signature.0)),
    }))
}

/// Why a paid request is refused (HTTP 402), before any inference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("this worker serves paid requests only: send a signed voucher (header X-Provena-Voucher or body field provena.voucher)")]
    Missing,
    #[error("malformed voucher: {0}")]
    Malformed(String),
    #[error("the voucher's signature does not verify for {0} on this chain")]
    BadSignature(AccountId),
    #[error("the voucher names operator {named}; this worker settles as {ours}")]
    WrongOperator { named: AccountId, ours: AccountId },
    #[error("model {0} is not registered on chain")]
    UnknownModel(ModelId),
    #[error("model {0} is deprecated")]
    ModelNotActive(ModelId),
    #[error("the voucher is for model {model} (weights {weights}); the request runs {served}")]
    ModelMismatch { model: ModelId, weights: String, served: String },
    #[error("the voucher expires at block {expires_at}; settling needs it valid until block {needed} or later")]
    Expired { expires_at: BlockNumber, needed: BlockNumber },
    #[error("the voucher expires at block {expires_at}, beyond the chain's longest voucher life (block {latest} now)")]
    TooLong { expires_at: BlockNumber, latest: BlockNumber },
    #[error("max fee {max_fee} is below this request's worst case {needed} ({tokens} tokens at {price} per 1,000)")]
    MaxFeeTooLow { max_fee: Balance, needed: Balance, tokens: u64, price: Balance },
    #[error("voucher {request_id:?} of {user} was already spent")]
    AlreadyUsed { user: AccountId, request_id: Hash },
    #[error("voucher {request_id:?} of {user} is already being served or settled here")]
    InUse { user: AccountId, request_id: Hash },
    #[error("voucher {request_id:?} of {user} was served and its receipt refused on chain; it is not served again")]
    RefusedOnChain { user: AccountId, request_id: Hash },
    #[error("{user} has {free} free; this request's worst case, its unsettled ones here and the existential deposit need {needed}")]
    InsufficientFunds { user: AccountId, free: Balance, needed: Balance },
}

impl Refusal {
    /// The machine-readable reason (the error's `type`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Missing => "voucher_required",
            Refusal::Malformed(_) => "voucher_malformed",
            Refusal::BadSignature(_) => "voucher_bad_signature",
            Refusal::WrongOperator { .. } => "voucher_wrong_operator",
            Refusal::UnknownModel(_) => "voucher_unknown_model",
            Refusal::ModelNotActive(_) => "voucher_model_not_active",
            Refusal::ModelMismatch { .. } => "voucher_model_mismatch",
            Refusal::Expired { .. } => "voucher_expired",
            Refusal::TooLong { .. } => "voucher_too_long",
            Refusal::MaxFeeTooLow { .. } => "voucher_max_fee_too_low",
            Refusal::AlreadyUsed { .. } => "voucher_used",
            Refusal::InUse { .. } => "voucher_in_use",
            Refusal::RefusedOnChain { .. } => "voucher_refused_on_chain",
            Refusal::InsufficientFunds { .. } => "insufficient_funds",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use polkadot_sdk::sp_keyring::Sr25519Keyring;
    use serde_json::json;

    fn signed(genesis: &Hash) -> (SignedVoucher, Value) {
        let voucher = Voucher {
            request_id: Hash::repeat_byte(9),
            model: ModelId(2),
            max_fee: 5_000,
            operator: Sr25519Keyring::Ferdie.to_account_id(),
            expires_at: 300,
        };
        let v = sign("//Dave", voucher, genesis, &ANCHOR).unwrap();
        assert_eq!(v["user"], Sr25519Keyring::Dave.to_account_id().to_string());
        (serde_json::from_value(v.clone()).unwrap(), v)
    }

    const ANCHOR: Hash = Hash::repeat_byte(7);

    #[test]
    fn a_voucher_comes_in_the_header_or_the_body_never_both() {
        let genesis = Hash::repeat_byte(1);
        let (_, v) = signed(&genesis);
        let header = v.to_string();
        let from_header =
            SignedVoucher::from_request(Some(header.as_bytes()), &json!({})).unwrap().unwrap();
        let body = json!({"model": "base", "provena": {"voucher": v}});
        let from_body = SignedVoucher::from_request(None, &body).unwrap().unwrap();
        assert_eq!(from_header.voucher, from_body.voucher);
        assert_eq!(from_header.voucher.max_fee, 5_000, "amounts are decimal strings");
        assert!(SignedVoucher::from_request(None, &json!({"model": "base"})).unwrap().is_none());
        let both = SignedVoucher::from_request(Some(header.as_bytes()), &body);
        assert!(matches!(both, Err(Refusal::Malformed(_))));
        let junk = SignedVoucher::from_request(Some(b"{not json"), &json!({}));
        assert!(matches!(junk, Err(Refusal::Malformed(_))));
        let extra = json!({"provena": {"voucher": v, "tip": 1}});
        assert!(matches!(SignedVoucher::from_request(None, &extra), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn the_signature_binds_the_voucher_the_user_the_chain_and_its_branch() {
        let genesis = Hash::repeat_byte(1);
        let (sv, _) = signed(&genesis);
        assert!(sv.signature_verifies(&genesis, &ANCHOR));
        assert!(sv.multi_signature(&genesis, &ANCHOR).is_some());
        assert!(!sv.signature_verifies(&Hash::repeat_byte(2), &ANCHOR), "another chain");
        assert!(!sv.signature_verifies(&genesis, &Hash::repeat_byte(8)), "another branch");
        let mut raised = sv.clone();
        raised.voucher.max_fee += 1;
        assert!(!raised.signature_verifies(&genesis, &ANCHOR), "a changed voucher");
        let mut other = sv.clone();
        other.user = Sr25519Keyring::Eve.to_account_id();
        assert!(!other.signature_verifies(&genesis, &ANCHOR), "another user");
        let mut short = sv;
        short.signature = "0x1234".into();
        assert!(!short.signature_verifies(&genesis, &ANCHOR));
        assert!(short.multi_signature(&genesis, &ANCHOR).is_none());
    }
}
