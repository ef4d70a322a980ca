//! The state's lifecycle: receipts leave the state once nothing can need them.
//!
//! A receipt is kept while it can be challenged (its credits are then still in the payees'
//! pending buckets, and a reversal needs its payouts) and while its voucher has not expired (the
//! spent mark in [`UsedVouchers`] stops a replay). After both — from [`Pallet::prunable_at`] —
//! the receipt, its spent-voucher mark, its place in the model index and, with the last receipt
//! of its epoch, the epoch's leaves leave the state. What stays is the record: the epoch's
//! Merkle root ([`EpochRoots`]), the events (`ReceiptSubmitted` carries each leaf, so the tree
//! and any inclusion proof can be rebuilt from them) and each payee's aggregated totals
//! ([`Rewards`]).
//!
//! Pruning goes in receipt-id order behind a cursor ([`PruneCursor`]): `on_initialize` prunes up
//! to [`Config::MaxPrunePerBlock`] receipts every block — at least what a full epoch adds per
//! block, so the state stays bounded under any load, and in the block's non-normal share, so it
//! never takes room from receipts — and `on_idle` prunes more with the block's spare weight. A receipt whose challenge is
//! still open when the cursor passes it loses its voucher mark and index place but stays until
//! the challenge is resolved or expires, which then removes it.

use crate::*;

impl<T: Config> Pallet<T> {
    /// The first block at which receipt `r` may leave the state: its challenge window is over
    /// (`claimable_at`) and every voucher of its epoch has expired (an epoch's vouchers expire
    /// at most [`Config::MaxVoucherLifetime`] blocks after it ends).
    pub fn prunable_at(r: &Receipt<T>) -> BlockNumberFor<T> {
        let epoch_end = T::EpochLength::get()
            .saturating_mul(BlockNumberFor::<T>::from(r.epoch.saturating_add(1)));
        r.claimable_at.max(epoch_end.saturating_add(T::MaxVoucherLifetime::get()))
    }

    /// Prunes at most `max` receipts that are due at `now`, in id order, stopping at the first
    /// that is not. Returns how many it pruned.
    pub(crate) fn prune(now: BlockNumberFor<T>, max: u32) -> u32 {
        let mut cursor = PruneCursor::<T>::get();
        let from = cursor.next;
        let end = NextReceiptId::<T>::get();
        let mut done: u32 = 0;
        // Read once and written once per call: each model's index, the current epoch's receipt
        // count.
        let mut models: BTreeMap<ModelId, ModelIndexInfo> = BTreeMap::new();
        let mut epoch_size: Option<(EpochIndex, u32)> = None;
        while done < max && cursor.next < end {
            let id = cursor.next;
            let Some(r) = Receipts::<T>::get(id) else {
                // Every id below `NextReceiptId` was stored, and only pruning removes one.
                polkadot_sdk::frame_support::defensive!("a receipt ahead of pruning is missing");
                cursor.next = cursor.next.saturating_add(1);
                continue;
            };
            if now < Self::prunable_at(&r) {
                break;
            }
            // The spent mark: harmless to drop once its voucher has expired (it can no longer
            // be redeemed). A mark that has not (left by a receipt from before vouchers had a
            // maximum lifetime) stays.
            match UsedVouchers::<T>::get(&r.user, r.request_id) {
                Some(expiry) if expiry < now => UsedVouchers::<T>::remove(&r.user, r.request_id),
                Some(_) => LegacyVoucherMarks::<T>::mutate(|n| *n = n.saturating_add(1)),
                None => {}
            }
            // A model's receipts enter its index in id order and leave it in the same order.
            let info = models.entry(r.model).or_insert_with(|| ModelIndex::<T>::get(r.model));
            Self::unindex_receipt(r.model, id, info);
            // The epoch's leaves go with its last receipt.
            if cursor.epoch != r.epoch || cursor.in_epoch == 0 {
                cursor.epoch = r.epoch;
                cursor.in_epoch = 0;
            }
            cursor.in_epoch = cursor.in_epoch.saturating_add(1);
            let size = match epoch_size {
                Some((e, size)) if e == r.epoch => size,
                _ => {
                    let size = EpochRoots::<T>::get(r.epoch).map_or(u32::MAX, |e| e.receipts);
                    epoch_size = Some((r.epoch, size));
                    size
                }
            };
            if cursor.in_epoch >= size {
                EpochLeaves::<T>::remove(r.epoch);
            }
            // An open challenge still needs the receipt; its resolution removes it.
            if r.status != ReceiptStatus::Challenged {
                Receipts::<T>::remove(id);
            }
            cursor.next = cursor.next.saturating_add(1);
            done = done.saturating_add(1);
        }
        for (model, info) in models {
            ModelIndex::<T>::insert(model, info);
        }
        if cursor.next != from {
            PruneCursor::<T>::put(cursor.clone());
            Self::deposit_event(Event::ReceiptsPruned { from, to: cursor.next });
        }
        done
    }

    /// Whether pruning has passed receipt `id` (so that resolving its challenge removes it).
    pub(crate) fn pruned(id: u64) -> bool {
        id < PruneCursor::<T>::get().next
    }

    /// Prunes what `remaining` weight allows at block `n`; returns the weight used.
    pub(crate) fn prune_within(n: BlockNumberFor<T>, remaining: Weight) -> Weight {
        let base = T::WeightInfo::prune_receipts(0);
        let per = T::WeightInfo::prune_receipts(1).saturating_sub(base);
        // Finding that nothing is due costs reading the cursor and the next receipt.
        if remaining.any_lt(base.saturating_add(per)) {
            return Weight::zero();
        }
        let spare = remaining.saturating_sub(base);
        let by_time = spare.ref_time().checked_div(per.ref_time()).unwrap_or(u64::MAX);
        let by_proof = spare.proof_size().checked_div(per.proof_size()).unwrap_or(u64::MAX);
        // Never more than an epoch's worth in one block, whatever the weights say.
        let max = by_time.min(by_proof).min(u64::from(T::MaxReceiptsPerEpoch::get()));
        let done = Self::prune(n, u32::try_from(max).unwrap_or(u32::MAX));
        // At least the reads that found the first receipt not due.
        T::WeightInfo::prune_receipts(done.max(1))
    }

    /// The lifecycle invariants: what pruning passed is gone (but for receipts still under
    /// challenge), what it has not is all there, and nothing it should have removed stays.
    pub(crate) fn try_state_pruning() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        let cursor = PruneCursor::<T>::get();
        let next = NextReceiptId::<T>::get();
        ensure!(cursor.next <= next, "pruning ahead of the receipts");
        let now = frame_system::Pallet::<T>::block_number();
        let mut live = alloc::collections::BTreeSet::new();
        let mut epochs = alloc::collections::BTreeSet::new();
        let mut count: u64 = 0;
        for (id, r) in Receipts::<T>::iter() {
            if id < cursor.next {
                ensure!(
                    r.status == ReceiptStatus::Challenged,
                    "a pruned receipt outlived pruning without an open challenge"
                );
            } else {
                count = count.saturating_add(1);
                live.insert((r.user, r.request_id));
                epochs.insert(r.epoch);
            }
        }
        ensure!(count == next.saturating_sub(cursor.next), "a receipt ahead of pruning is missing");
        // Only marks left by receipts from before vouchers had a maximum lifetime (counted as
        // pruning leaves them) may outlive their receipts.
        let orphans = UsedVouchers::<T>::iter()
            .filter(|(user, request_id, expiry)| {
                *expiry < now && !live.contains(&(user.clone(), *request_id))
            })
            .count();
        ensure!(
            orphans <= LegacyVoucherMarks::<T>::get() as usize,
            "an expired voucher mark outlived its receipt"
        );
        for epoch in EpochLeaves::<T>::iter_keys() {
            ensure!(epochs.contains(&epoch), "an epoch's leaves outlived its receipts");
        }
        Self::try_state_index(cursor.next)?;
        Ok(())
    }
}
