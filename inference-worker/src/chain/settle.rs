//! The settler: turns recorded receipts into `Attribution::submit_receipts` transactions.
//!
//! ## One transaction at a time
//!
//! Each round (every `--settle-interval`, or sooner when a batch is full) does one of:
//!
//! - **A transaction is in flight** (`inflight.tx`): each of its receipts whose voucher a
//!   *finalized* block shows spent is settled (its file removed). When all are, or when the
//!   finalized block is past the transaction's era (it can no longer be included anywhere),
//!   or when the operator's finalized nonce is past the transaction's (it was included and
//!   failed, or another transaction of the operator took its nonce), the transaction is
//!   forgotten and what is left goes back to the queue. Otherwise the same
//!   bytes are sent again (the pool ignores a transaction it holds) and the round ends.
//! - **Otherwise**, up to a batch of pending receipts, oldest first: a voucher spent in the
//!   finalized state is settled; one past its expiry is rejected. The batch is tried against the
//!   best block's state (`BlockBuilder_apply_extrinsic`, nothing kept). If it would fail, each
//!   receipt is tried alone: one the chain refuses for a reason of its own (bad signature,
//!   expired, fee above max, a contribution outside the model's snapshots, …) is rejected with
//!   that reason; one refused for a reason that may pass (the user's balance, the operator not
//!   yet registered) waits for the next round, until its voucher expires. The chain settles a
//!   batch in part (a receipt that fails between the dry run and inclusion is skipped with a
//!   `ReceiptSkipped` event): receipts of an included transaction that are still unspent are
//!   *suspects*, each tried alone in the next round like the receipts of a failing batch. The
//!   rest is signed
//!   (mortal, [`ERA_PERIOD`] blocks), written to `inflight.tx`, then sent.
//!
//! Because the transaction is on disk before it is sent and is the only one until it is final
//! or dead, a crash at any point leads to the same bytes being sent again or to a rebuild after
//! they can no longer land: a receipt is never in two live transactions, and the chain's spent
//! vouchers make a second inclusion impossible anyway.

use super::{
    ledger::{Inflight, Pending},
    ChainError, Settlement,
};
use codec::Encode;
use polkadot_sdk::{
    sp_core::H256,
    sp_runtime::{generic::Era, DispatchError},
};
use provena_runtime::{client, RuntimeCall, UncheckedExtrinsic};
use std::{sync::Arc, time::Duration};

/// The era of a settlement transaction, in blocks: it lands within this or never.
pub const ERA_PERIOD: u64 = 32;

/// Errors of `submit_receipts` that concern the batch or the operator, not one receipt: the
/// receipts wait.
const NOT_THE_RECEIPTS: &[&str] = &[
    "Attribution::NotOperator",
    "Attribution::EpochFull",
    "Attribution::OperatorEpochFull",
    "Attribution::NoHolders",
    "Attribution::BondTooLow",
    "Attribution::TooManyReceipts",
    "Attribution::NoReceipts",
    "Attribution::Overflow",
];

/// What a round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Receipts seen settled.
    pub settled: usize,
    /// Receipts rejected for good.
    pub rejected: usize,
    /// Receipts in the transaction sent (0 if none was sent).
    pub sent: usize,
}

/// Runs rounds forever (a task of the worker's runtime).
pub async fn run(s: Arc<Settlement>, interval: Duration) {
    loop {
        match round(&s).await {
            Ok(r) if r != Round::default() => log::info!("settlement: {r:?}"),
            Ok(_) => {}
            Err(e) => log::warn!("settlement round: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = s.wake.notified() => {}
        }
    }
}

/// One round (see the module docs).
pub async fn round(s: &Settlement) -> Result<Round, ChainError> {
    let mut out = Round::default();
    let node = &s.node;
    let finalized = node.finalized().await?;
    if let Some(inflight) = s.ledger.inflight()? {
        let mut open: usize = 0;
        for key in &inflight.keys {
            if node.voucher_used(&key.0, key.1, finalized.hash).await? {
                s.ledger.settled(key)?;
                s.release(key);
                out.settled = out.settled.saturating_add(1);
            } else {
                open = open.saturating_add(1);
            }
        }
        let used_nonce = node.nonce_at(s.account(), finalized.hash).await? > inflight.nonce;
        if open > 0 && !used_nonce && finalized.number < inflight.valid_until {
            // Still live: send it again in case the node lost it (a restart, a full pool).
            if let Err(e) = node.submit(&inflight.xt).await {
                log::debug!("re-sending the settlement transaction: {e}");
            }
            return Ok(out);
        }
        if used_nonce && open > 0 {
            // Included (or failed) without spending these: each is tried alone next.
            let mut unspent = Vec::new();
            for key in &inflight.keys {
                if !node.voucher_used(&key.0, key.1, finalized.hash).await? {
                    unspent.push(key.clone());
                }
            }
            s.suspect(unspent);
        }
        s.ledger.clear_inflight()?;
    }

    let best = node.best().await?;
    let mut batch: Vec<Pending> = Vec::new();
    for p in s.ledger.pending()? {
        if batch.len() >= s.config.batch {
            break;
        }
        let key = p.key();
        if node.voucher_used(&key.0, key.1, finalized.hash).await? {
            s.ledger.settled(&key)?;
            s.release(&key);
            out.settled = out.settled.saturating_add(1);
        } else if best.number >= p.input.voucher.expires_at {
            reject(s, &p, "the voucher expired before the receipt could be settled")?;
            out.rejected = out.rejected.saturating_add(1);
        } else {
            batch.push(p);
        }
    }
    if batch.is_empty() {
        return Ok(out);
    }

    let ctx = node.signing_context().await?;
    // The era starts at the best block's parent, whose hash every node's state holds.
    let current = u64::from(best.number.saturating_sub(1));
    let era = Era::mortal(ERA_PERIOD, current);
    let birth = u32::try_from(era.birth(current)).unwrap_or(0);
    let checkpoint = node.block_hash(birth).await?;
    let state_nonce = node.nonce_at(s.account(), best.hash).await?;
    let sign = |receipts: &[Pending], nonce| {
        let call = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts {
            receipts: receipts.iter().map(|p| p.input.clone()).collect(),
        });
        client::sign(&s.operator, call, nonce, era, checkpoint, 0, &ctx)
    };

    // Receipts the chain skipped before are tried alone first.
    let (suspects, rest): (Vec<Pending>, Vec<Pending>) =
        batch.into_iter().partition(|p| s.is_suspect(&p.key(), false));
    batch = rest;
    for p in suspects {
        let key = p.key();
        let tx = sign(std::slice::from_ref(&p), state_nonce);
        if let Some(p) = alone(s, p, &tx, best.hash, &mut out).await? {
            batch.push(p);
        }
        s.is_suspect(&key, true);
    }
    if batch.is_empty() {
        return Ok(out);
    }
    match node.dry_run(&sign(&batch, state_nonce), best.hash).await? {
        Err(invalid) => {
            return Err(ChainError::Refused(format!(
                "the settlement transaction is invalid: {invalid:?}"
            )))
        }
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            // Nothing in the batch would settle: find the receipts at fault, one by one.
            let mut good = Vec::with_capacity(batch.len());
            for p in batch {
                let tx = sign(std::slice::from_ref(&p), state_nonce);
                if let Some(p) = alone(s, p, &tx, best.hash, &mut out).await? {
                    good.push(p);
                }
            }
            batch = good;
        }
    }
    if batch.is_empty() {
        return Ok(out);
    }
    let nonce = node.next_nonce(s.account()).await?;
    let xt = sign(&batch, nonce).encode();
    let valid_until = u32::try_from(era.death(current)).unwrap_or(u32::MAX).saturating_sub(1);
    let keys = batch.iter().map(Pending::key).collect();
    s.ledger.set_inflight(&Inflight { xt: xt.clone(), keys, nonce, valid_until })?;
    node.submit(&xt).await?;
    out.sent = batch.len();
    Ok(out)
}

/// Tries one receipt alone (`tx` submits just it) against block `at`: `Some` if it would
/// settle; otherwise it is rejected for good (counted in `out`) or waits for a later round.
async fn alone(
    s: &Settlement,
    p: Pending,
    tx: &UncheckedExtrinsic,
    at: H256,
    out: &mut Round,
) -> Result<Option<Pending>, ChainError> {
    match s.node.dry_run(tx, at).await? {
        Ok(Ok(())) => return Ok(Some(p)),
        Ok(Err(e)) => {
            let name = client::error_name(e);
            if is_the_receipts_fault(e, &name) {
                reject(s, &p, &name)?;
                out.rejected = out.rejected.saturating_add(1);
            } else {
                log::warn!("receipt {:?} waits: {name}", p.key().1);
            }
        }
        Err(invalid) => log::warn!("receipt {:?} waits: {invalid:?}", p.key().1),
    }
    Ok(None)
}

fn is_the_receipts_fault(e: DispatchError, name: &str) -> bool {
    matches!(e, DispatchError::Module(_))
        && name.starts_with("Attribution::")
        && !NOT_THE_RECEIPTS.contains(&name)
}

fn reject(s: &Settlement, p: &Pending, reason: &str) -> Result<(), ChainError> {
    log::warn!("receipt {:?} of {} rejected: {reason}", p.key().1, p.key().0);
    s.ledger.reject(p, reason)?;
    s.refuse(&p.key());
    Ok(())
}
