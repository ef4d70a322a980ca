//! The model index: each model's receipts, in id order, for the runtime API (a page of a
//! model's receipts) and for the models pallet (a model stays while it has receipts).
//!
//! Receipts are numbered per model (`0, 1, 2, …`, [`ModelIndexInfo::receipts`]) and stored as
//! runs of consecutive receipt ids ([`ReceiptRun`] in [`ModelReceipts`]): a receipt whose id
//! follows the model's last run grows that run, any other starts a new one. A call of 64
//! receipts for one model therefore writes one run, where one entry per receipt cost a storage
//! write each (64 × 50 µs, a twentieth of the call); a call that interleaves models writes at
//! most one run per receipt, as before.
//!
//! Pruning goes in receipt-id order, so a model's receipts leave its index in order too: a
//! run leaves with its last receipt ([`ModelIndexInfo::pruned_runs`]); the receipts before
//! [`ModelIndexInfo::pruned_receipts`] are gone. Looking a receipt up by its model index is a
//! binary search over the model's live runs (runtime API only, never in a call).

use crate::*;

impl<T: Config> Pallet<T> {
    /// Adds the `len` receipts from `first_id` on (the highest so far, consecutive) to
    /// `model`'s index: they grow the model's last run when they follow it, else start one. A
    /// call indexes each run of one model's receipts once, after it has settled them.
    pub(crate) fn index_receipts(model: ModelId, first_id: u64, len: u32) {
        if len == 0 {
            return;
        }
        ModelIndex::<T>::mutate(model, |info| {
            let last = info.runs.checked_sub(1).filter(|k| *k >= info.pruned_runs);
            let grown = last.and_then(|k| {
                let mut run = ModelReceipts::<T>::get(model, k)?;
                (run.end_id() == first_id).then(|| {
                    run.len = run.len.saturating_add(len);
                    ModelReceipts::<T>::insert(model, k, run);
                })
            });
            if grown.is_none() {
                let run = ReceiptRun { first_id, first_index: info.receipts, len };
                ModelReceipts::<T>::insert(model, info.runs, run);
                info.runs = info.runs.saturating_add(1);
            }
            info.receipts = info.receipts.saturating_add(len);
        });
    }

    /// Takes receipt `id`, the lowest of `model`'s receipts still indexed, out of the index
    /// held in `info` (read and written back by the caller, once per pruning pass): its run
    /// goes when this is the run's last receipt.
    pub(crate) fn unindex_receipt(model: ModelId, id: u64, info: &mut ModelIndexInfo) {
        let Some(run) = ModelReceipts::<T>::get(model, info.pruned_runs) else {
            polkadot_sdk::frame_support::defensive!("a model's index has no run left");
            return;
        };
        let at = u64::from(info.pruned_receipts.saturating_sub(run.first_index));
        if run.first_id.saturating_add(at) != id {
            polkadot_sdk::frame_support::defensive!("a model's index is out of receipt order");
            return;
        }
        info.pruned_receipts = info.pruned_receipts.saturating_add(1);
        if info.pruned_receipts >= run.end_index() {
            ModelReceipts::<T>::remove(model, info.pruned_runs);
            info.pruned_runs = info.pruned_runs.saturating_add(1);
        }
    }

    /// The ids of `model`'s receipts numbered `start .. end` that are still indexed.
    pub(crate) fn model_receipt_ids(model: ModelId, start: u32, end: u32) -> Vec<u64> {
        let info = ModelIndex::<T>::get(model);
        let end = end.min(info.receipts);
        let start = start.max(info.pruned_receipts);
        // The first live run that ends after `start`.
        let (mut low, mut high) = (info.pruned_runs, info.runs);
        while low < high {
            let mid = low.saturating_add(high.saturating_sub(low) / 2);
            match ModelReceipts::<T>::get(model, mid) {
                Some(run) if run.end_index() <= start => low = mid.saturating_add(1),
                _ => high = mid,
            }
        }
        let mut ids = Vec::new();
        let mut k = low;
        while k < info.runs {
            let Some(run) = ModelReceipts::<T>::get(model, k) else { break };
            if run.first_index >= end {
                break;
            }
            let from = start.max(run.first_index);
            let to = end.min(run.end_index());
            ids.extend((from..to).map(|i| {
                run.first_id.saturating_add(u64::from(i.saturating_sub(run.first_index)))
            }));
            k = k.saturating_add(1);
        }
        ids
    }

    /// The index's invariants: runs are numbered `pruned_runs .. runs` without gaps, each holds
    /// at least one receipt, they follow each other in model index and id order and end at
    /// `receipts`; the pruned point lies in the first live run; every live indexed receipt is
    /// stored, is the model's, and has not been pruned.
    pub(crate) fn try_state_index(
        prune_next: u64,
    ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        for (model, k, _) in ModelReceipts::<T>::iter() {
            let info = ModelIndex::<T>::get(model);
            ensure!(k >= info.pruned_runs && k < info.runs, "a model's run outside its index");
        }
        for (model, info) in ModelIndex::<T>::iter() {
            ensure!(info.pruned_runs <= info.runs, "a model's index pruned beyond its runs");
            ensure!(
                info.pruned_receipts <= info.receipts,
                "a model's index pruned beyond its receipts"
            );
            let mut next_index: Option<u32> = None;
            let mut last_end: u64 = 0;
            for k in info.pruned_runs..info.runs {
                let run = ModelReceipts::<T>::get(model, k).ok_or("a model's run is missing")?;
                ensure!(run.len > 0, "an empty run");
                ensure!(run.first_id >= last_end, "a model's runs out of id order");
                if let Some(expected) = next_index {
                    ensure!(run.first_index == expected, "a gap in a model's index");
                } else {
                    ensure!(
                        run.first_index <= info.pruned_receipts
                            && info.pruned_receipts < run.end_index(),
                        "the pruned point outside the first live run"
                    );
                }
                for i in info.pruned_receipts.max(run.first_index)..run.end_index() {
                    let id =
                        run.first_id.saturating_add(u64::from(i.saturating_sub(run.first_index)));
                    ensure!(id >= prune_next, "a model index entry of a pruned receipt");
                    let r = Receipts::<T>::get(id).ok_or("an indexed receipt is missing")?;
                    ensure!(r.model == model, "a receipt indexed under another model");
                }
                next_index = Some(run.end_index());
                last_end = run.end_id();
            }
            let end = next_index.unwrap_or(info.pruned_receipts);
            ensure!(end == info.receipts, "a model's runs do not end at its receipt count");
        }
        Ok(())
    }
}
