//! Paid requests: the worker as an operator on the Provena chain (and, in [`factory`], the
//! Model Factory's chain side: training data read from datanet snapshots, the trained adapter's
//! registration prepared).
//!
//! ## Overview
//!
//! Started with `--operator-key` and `--chain-rpc`, the worker checks the voucher a request
//! carries ([`voucher`]) before any inference, records the receipt of every answered paid
//! request on disk before the answer leaves ([`ledger`]), and settles the receipts in batches
//! with `Attribution::submit_receipts` signed by the operator key ([`settle`]). With
//! `--require-voucher` a request without a voucher is refused (a public paid endpoint);
//! without it, requests without one are served unpaid as before.
//!
//! ## What is checked before inference (else 402 with the reason)
//!
//! 1. The voucher names this worker's operator account, and the request runs one model.
//! 2. It expires no earlier than `--voucher-margin` blocks after the best block, so the receipt
//!    can still land, and no later than the chain lets a voucher live.
//! 3. The user's signature over the voucher payload on this chain (genesis hash, and the hash
//!    of the voucher's anchor block on the best chain) verifies.
//! 4. The voucher's model is registered and active, and its weights hash is what the request
//!    runs (the base's content hash, or the adapter id).
//! 5. Its max fee covers the worst case: the model's price × (prompt tokens + `max_tokens`).
//! 6. It is neither spent on chain nor being served or settled here, nor refused on chain
//!    after being served here.
//! 7. Its funds: a matching prepaid voucher holds them (its receipt then declares it, with no
//!    signature: the chain redeems the hold); otherwise the user's free balance covers this
//!    worst case, the fees of the user's receipts still unsettled here, and the existential
//!    deposit (the chain charges with "keep alive").
//!
//! An answered request is charged for what it used (price × (prompt + completion tokens),
//! rounded up to the base unit), which never exceeds the checked worst case. A paid request runs
//! to its end even if the client goes away: its tokens are generated and charged.
//!
//! ## Trust
//!
//! The operator bears the risk that a user spends their balance between the answer and the
//! settlement (the receipt is then refused on chain and kept under `rejected/`, and its voucher
//! is never served again); a prepaid voucher removes it. The user bears none: the chain charges
//! at most the signed max fee, once.

pub mod factory;
pub mod ledger;
pub mod mask;
pub mod rpc;
pub mod settle;
pub mod voucher;

use ledger::{Key, Ledger, Pending};
use polkadot_sdk::sp_core::{sr25519, Pair};
use provena_primitives::{
    attribution::{fee_for, voucher_anchor, WeightPpm},
    models::ModelStatus,
    ContentHash, ContributionId,
};
use provena_runtime::{AccountId, Balance, BlockNumber};
use rpc::Node;
use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::{Arc, Mutex},
};
use voucher::{Refusal, SignedVoucher};

/// The longest a voucher may be valid, in blocks from the block that redeems it: the runtime's
/// `MaxVoucherLifetime` (this worker is built against the runtime it settles on).
pub fn max_voucher_lifetime() -> BlockNumber {
    <provena_runtime::Runtime as pallet_attribution::Config>::MaxVoucherLifetime::get()
}

/// What can go wrong talking to the chain or keeping the ledger.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node cannot be reached (or a call timed out).
    #[error("the chain node is unavailable: {0}")]
    Unavailable(String),
    /// The node answered with an error.
    #[error("the chain node refused: {0}")]
    Refused(String),
    /// An answer that does not decode.
    #[error("unexpected answer from the chain node: {0}")]
    Decode(String),
    /// The node runs a runtime this build cannot sign for.
    #[error("{0}")]
    Incompatible(String),
    /// The settle directory.
    #[error("receipt ledger: {0}")]
    Ledger(String),
}

/// Why a paid request is not served.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The voucher is refused (402).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The chain could not be asked (503).
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// How the worker settles.
pub struct SettleConfig {
    /// Vouchers are required (no free requests).
    pub require_voucher: bool,
    /// Blocks a voucher must stay valid after the best block to be accepted.
    pub margin: BlockNumber,
    /// Receipts per `submit_receipts` (at most the runtime's `MaxReceiptsPerCall`).
    pub batch: usize,
}

/// The operator's settlement state, shared by the HTTP handlers and the settler.
pub struct Settlement {
    /// The node.
    pub node: Arc<Node>,
    operator: sr25519::Pair,
    account: AccountId,
    ledger: Ledger,
    /// Vouchers being served or waiting to be settled here → the fee they may charge (the
    /// worst case while served, the fee once answered).
    outstanding: Mutex<HashMap<Key, Balance>>,
    /// Vouchers whose receipt the chain refused for good (under `rejected/`): never served
    /// again, so a user who empties their balance before settlement gets one free answer per
    /// funded voucher at most, not one per retry.
    refused: Mutex<HashSet<Key>>,
    /// Receipts that were in an included settlement transaction and are still unspent: the
    /// chain skipped them (`ReceiptSkipped`), so the next round tries each alone to learn why.
    suspects: Mutex<HashSet<Key>>,
    /// The configuration.
    pub config: SettleConfig,
    /// Wakes the settler when a batch is full.
    wake: tokio::sync::Notify,
}

impl Settlement {
    /// Opens the ledger and takes up the receipts it holds, settling through `node`.
    pub async fn open(
        node: Arc<Node>,
        operator_suri: &str,
        settle_dir: &Path,
        config: SettleConfig,
    ) -> Result<Arc<Self>, ChainError> {
        let operator = sr25519::Pair::from_string(operator_suri, None)
            .map_err(|e| ChainError::Incompatible(format!("--operator-key: {e:?}")))?;
        let account: AccountId = operator.public().into();
        node.signing_context().await?;
        // One ledger per chain: receipts of another network (or of a dev chain started afresh)
        // are never sent to this one.
        let ledger = Ledger::open(&settle_dir.join(hex::encode(node.genesis)))?;
        let outstanding = ledger.pending()?.into_iter().map(|p| (p.key(), p.fee)).collect();
        let refused = ledger.rejected_keys()?;
        let best = node.best().await?;
        if !node.is_operator(&account, best.hash).await? {
            log::warn!("{account} is not an active agent (operator): receipts wait until it is");
        }
        Ok(Arc::new(Settlement {
            node,
            operator,
            account,
            ledger,
            outstanding: Mutex::new(outstanding),
            refused: Mutex::new(refused),
            suspects: Mutex::new(HashSet::new()),
            config,
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// The operator account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// Receipts answered and not yet settled.
    pub fn unsettled(&self) -> usize {
        self.outstanding.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// Checks a request's voucher before inference (see the module docs). `served` is the
    /// weights hash the request runs (hex), `None` for a mixture of adapters; `tokens` its
    /// prompt tokens plus `max_tokens`. `Ok(None)`: no voucher, and none is required.
    pub async fn admit(
        self: &Arc<Self>,
        voucher: Option<SignedVoucher>,
        served: Option<&str>,
        tokens: u64,
    ) -> Result<Option<Admission>, AdmitError> {
        let Some(sv) = voucher else {
            return if self.config.require_voucher {
                Err(Refusal::Missing.into())
            } else {
                Ok(None)
            };
        };
        let v = &sv.voucher;
        if v.operator != self.account {
            return Err(Refusal::WrongOperator {
                named: v.operator.clone(),
                ours: self.account.clone(),
            }
            .into());
        }
        let Some(served) = served else {
            return Err(
                Refusal::Malformed("a paid request runs one model, not a mixture".into()).into()
            );
        };
        let best = self.node.best().await?;
        let needed_until = best.number.saturating_add(self.config.margin);
        if v.expires_at < needed_until {
            return Err(Refusal::Expired { expires_at: v.expires_at, needed: needed_until }.into());
        }
        // The chain refuses a voucher that outlives its maximum life from the redeeming block;
        // checked against the best block, which is earlier, so never more lenient.
        let latest = best.number.saturating_add(max_voucher_lifetime());
        if v.expires_at > latest {
            return Err(Refusal::TooLong { expires_at: v.expires_at, latest }.into());
        }
        // Not too long, so its anchor is before the best block: read on the best chain.
        let anchor =
            self.node.block_hash(voucher_anchor(v.expires_at, max_voucher_lifetime())).await?;
        let Some(signature) = sv.multi_signature(&self.node.genesis, &anchor) else {
            return Err(Refusal::BadSignature(sv.user.clone()).into());
        };
        let model =
            self.node.model(v.model, best.hash).await?.ok_or(Refusal::UnknownModel(v.model))?;
        if model.status != ModelStatus::Active {
            return Err(Refusal::ModelNotActive(v.model).into());
        }
        let weights = hex::encode(model.weights_hash);
        if !weights.eq_ignore_ascii_case(served.trim_start_matches("0x")) {
            return Err(Refusal::ModelMismatch {
                model: v.model,
                weights,
                served: served.to_string(),
            }
            .into());
        }
        let price = model.price_per_1k_tokens;
        let worst = fee_for(price, u128::from(tokens)).unwrap_or(Balance::MAX);
        if worst > v.max_fee {
            return Err(
                Refusal::MaxFeeTooLow { max_fee: v.max_fee, needed: worst, tokens, price }.into()
            );
        }
        // Held from here on, so that the same voucher sent twice at once is served once.
        let key: Key = (sv.user.clone(), v.request_id);
        if self.refused.lock().map_err(|_| poisoned())?.contains(&key) {
            return Err(Refusal::RefusedOnChain { user: key.0, request_id: key.1 }.into());
        }
        {
            let mut outstanding = self.outstanding.lock().map_err(|_| poisoned())?;
            if outstanding.contains_key(&key) {
                return Err(Refusal::InUse { user: key.0, request_id: key.1 }.into());
            }
            outstanding.insert(key.clone(), worst);
        }
        let mut admission = Admission {
            settlement: self.clone(),
            key: key.clone(),
            voucher: sv.clone(),
            signature: Some(signature),
            price,
            committed: false,
        };
        if self.node.voucher_used(&key.0, key.1, best.hash).await? {
            return Err(Refusal::AlreadyUsed { user: key.0, request_id: key.1 }.into());
        }
        if self.node.prepaid(&key.0, key.1, best.hash).await?.as_ref() == Some(v) {
            // The receipt declares the prepaid voucher (its hold pays; the user cannot release
            // it before it expires): the chain checks no signature and the free balance is not
            // needed.
            admission.signature = None;
        } else {
            let owed: Balance = {
                let outstanding = self.outstanding.lock().map_err(|_| poisoned())?;
                outstanding
                    .iter()
                    .filter(|((user, _), _)| *user == key.0)
                    .fold(0u128, |acc, (_, fee)| acc.saturating_add(*fee))
            };
            let needed = owed.saturating_add(provena_runtime::configs::ExistentialDeposit::get());
            let free = self.node.free_balance(&key.0, best.hash).await?;
            if free < needed {
                return Err(Refusal::InsufficientFunds { user: key.0, free, needed }.into());
            }
        }
        Ok(Some(admission))
    }

    fn release(&self, key: &Key) {
        if let Ok(mut o) = self.outstanding.lock() {
            o.remove(key);
        }
    }

    /// Marks receipts the chain skipped in an included batch (see `suspects`).
    fn suspect(&self, keys: impl IntoIterator<Item = Key>) {
        if let Ok(mut s) = self.suspects.lock() {
            s.extend(keys);
        }
    }

    /// Whether a receipt was skipped in an included batch; `clear` forgets it.
    fn is_suspect(&self, key: &Key, clear: bool) -> bool {
        self.suspects.lock().is_ok_and(|mut s| if clear { s.remove(key) } else { s.contains(key) })
    }

    /// Forgets a receipt the chain refused for good and refuses its voucher from now on.
    fn refuse(&self, key: &Key) {
        self.release(key);
        if let Ok(mut r) = self.refused.lock() {
            r.insert(key.clone());
        }
    }

    fn set_fee(&self, key: &Key, fee: Balance) {
        if let Ok(mut o) = self.outstanding.lock() {
            o.insert(key.clone(), fee);
        }
    }
}

fn poisoned() -> ChainError {
    ChainError::Ledger("the settlement state lock is poisoned".into())
}

/// An admitted paid request: its voucher is held until the receipt is recorded
/// ([`Admission::commit`]) or the request ends without an answer (dropped).
pub struct Admission {
    settlement: Arc<Settlement>,
    key: Key,
    voucher: SignedVoucher,
    /// The user's signature, or `None` for a voucher the user prepaid on chain.
    signature: Option<polkadot_sdk::sp_runtime::MultiSignature>,
    price: Balance,
    committed: bool,
}

/// What an answer's receipt says about where the answer came from.
pub struct ReceiptAttribution {
    /// Contributions and weights; with the pool's part they sum to 1,000,000 ppm (or both are
    /// empty).
    pub weights: Vec<(ContributionId, WeightPpm)>,
    /// A datanet reward pool's part.
    pub pool: Option<(provena_primitives::DatanetId, WeightPpm)>,
    /// The evidence hash.
    pub evidence_hash: ContentHash,
}

impl Admission {
    /// The voucher's request id.
    pub fn request_id(&self) -> ContentHash {
        self.key.1
    }

    /// Records the answered request's receipt durably; returns the fee it charges.
    /// `retrieved_from`: the (datanet, snapshot) of retrieved passages the answer used.
    pub fn commit(
        mut self,
        prompt_tokens: u32,
        completion_tokens: u32,
        attribution: ReceiptAttribution,
        retrieved_from: Option<(u32, u32)>,
    ) -> Result<Balance, ChainError> {
        let tokens = u128::from(prompt_tokens).saturating_add(u128::from(completion_tokens));
        let fee = fee_for(self.price, tokens).unwrap_or(Balance::MAX);
        let v = &self.voucher;
        let pending = Pending {
            input: ledger::ReceiptInput {
                voucher: v.voucher.clone(),
                user: v.user.clone(),
                signature: self.signature.clone(),
                model: v.voucher.model,
                input_tokens: prompt_tokens,
                output_tokens: completion_tokens,
                attribution: attribution.weights,
                pool: attribution.pool,
                retrieved_from,
                evidence_hash: attribution.evidence_hash,
            },
            fee,
            answered_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let s = &self.settlement;
        s.ledger.put(&pending)?;
        s.set_fee(&self.key, fee);
        self.committed = true;
        if s.unsettled() >= s.config.batch {
            s.wake.notify_one();
        }
        Ok(fee)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.committed {
            self.settlement.release(&self.key);
        }
    }
}
