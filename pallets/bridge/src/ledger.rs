//! The pallet's bookkeeping outside its calls: closing epochs, proofs, the signing domain and
//! the invariants.

use crate::{
    message, BalanceOf, Bucket, Config, CurrentCommittee, Epoch, EpochLeaves, Epochs, Error, Event,
    InBucket, InboundApprovals, Limits, NextAttributionEpoch, NextEpoch, NextInboundNonce,
    NextOutboundNonce, OutBucket, Pallet, Paused, Queue, RateLimits, Rotations, Target,
    TotalLocked, Totals, WeightInfo,
};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::{BoundedVec, ConstU32, DispatchError, Get, Weight},
        traits::fungible::Inspect,
    },
    frame_system::pallet_prelude::BlockNumberFor,
    sp_core::H160,
    sp_runtime::{
        traits::{AccountIdConversion, Saturating, UniqueSaturatedInto},
        DispatchResult,
    },
};
use provena_primitives::{attribution::SettledEpochs, merkle};

/// The most leaves an epoch has: its transfers and attribution roots.
pub struct LeavesBound<T>(core::marker::PhantomData<T>);
impl<T: Config> Get<u32> for LeavesBound<T> {
    fn get() -> u32 {
        T::MaxMessagesPerEpoch::get().saturating_add(T::MaxAttributionRootsPerEpoch::get())
    }
}

impl<T: Config> Pallet<T> {
    /// The account holding the locked OPEN.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    pub(crate) fn account_bytes(who: &T::AccountId) -> [u8; 32] {
        let encoded = who.encode();
        let mut out = [0u8; 32];
        // Account ids are 32 bytes on Provena; a shorter test id is left-padded.
        let start = 32usize.saturating_sub(encoded.len());
        for (dst, src) in out.iter_mut().skip(start).zip(encoded) {
            *dst = src;
        }
        out
    }

    /// Whether no address appears twice.
    pub(crate) fn distinct(members: &[H160]) -> bool {
        let mut sorted = members.to_vec();
        sorted.sort_unstable();
        sorted.windows(2).all(|w| w.first() != w.get(1))
    }

    /// The deployment's signing domain.
    pub fn domain() -> Result<message::Domain, DispatchError> {
        let (eth_chain_id, contract) = Target::<T>::get().ok_or(Error::<T>::NotConfigured)?;
        Ok(message::Domain { provena_chain_id: T::ProvenaChainId::get(), eth_chain_id, contract })
    }

    /// Sets the rate limits with both buckets full.
    pub(crate) fn put_limits(limits: RateLimits<BalanceOf<T>>, now: BlockNumberFor<T>) {
        OutBucket::<T>::put(Bucket {
            capacity: limits.out_capacity,
            per_block: limits.out_per_block,
            level: limits.out_capacity,
            updated_at: now,
        });
        InBucket::<T>::put(Bucket {
            capacity: limits.in_capacity,
            per_block: limits.in_per_block,
            level: limits.in_capacity,
            updated_at: now,
        });
        Limits::<T>::put(limits);
    }

    pub(crate) fn ensure_running() -> DispatchResult {
        ensure!(!Paused::<T>::get(), Error::<T>::Paused);
        ensure!(
            Target::<T>::exists() && CurrentCommittee::<T>::exists() && Limits::<T>::exists(),
            Error::<T>::NotConfigured
        );
        Ok(())
    }

    /// Closes the queue into an epoch (if there is anything to settle) and drops the epoch
    /// that left the retention window.
    pub(crate) fn close_epoch(now: BlockNumberFor<T>) -> Weight {
        let queue = Queue::<T>::take();
        let mut leaves: Vec<Vec<u8>> = queue
            .iter()
            .map(|t| {
                message::transfer_leaf(t.nonce, &t.recipient, t.amount.unique_saturated_into())
            })
            .collect();
        // Closed attribution epochs since the last bridge epoch, at most
        // `MaxAttributionRootsPerEpoch` of them (one read each); those closed without receipts
        // have no root and no leaf.
        let mut next_attr = NextAttributionEpoch::<T>::get();
        let first_open = T::SettledEpochs::first_open();
        let mut attribution_epochs = 0u32;
        let mut scanned = 0u32;
        while scanned < T::MaxAttributionRootsPerEpoch::get() && next_attr < first_open {
            if let Some((root, receipts)) = T::SettledEpochs::settled_root(next_attr) {
                leaves.push(message::attribution_leaf(u64::from(next_attr), &root, receipts));
                attribution_epochs = attribution_epochs.saturating_add(1);
            }
            next_attr = next_attr.saturating_add(1);
            scanned = scanned.saturating_add(1);
        }
        // Empty attribution epochs are passed over even when no bridge epoch closes.
        NextAttributionEpoch::<T>::put(next_attr);
        let transfers = u32::try_from(queue.len()).unwrap_or(u32::MAX);
        let mut weight = T::WeightInfo::close_epoch(transfers, attribution_epochs);
        if leaves.is_empty() {
            return weight;
        }
        let epoch = NextEpoch::<T>::get();
        NextEpoch::<T>::put(epoch.saturating_add(1));
        let root = merkle::root(&leaves);
        let leaf_count = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        let stored: Vec<BoundedVec<u8, ConstU32<61>>> =
            leaves.into_iter().filter_map(|l| BoundedVec::try_from(l).ok()).collect();
        EpochLeaves::<T>::insert(epoch, BoundedVec::truncate_from(stored));
        let committee = CurrentCommittee::<T>::get().map_or(0, |c| c.id);
        Epochs::<T>::insert(
            epoch,
            Epoch {
                root,
                leaf_count,
                closed_at: now,
                committee,
                signatures: BoundedVec::default(),
                signed: false,
            },
        );
        if let Some(old) = epoch.checked_sub(T::EpochRetention::get()) {
            Epochs::<T>::remove(old);
            EpochLeaves::<T>::remove(old);
            weight = weight.saturating_add(T::DbWeight::get().writes(2));
        }
        Self::deposit_event(Event::EpochClosed { epoch, root, transfers, attribution_epochs });
        weight
    }

    /// The inclusion proof of leaf `index` of retained epoch `epoch`.
    pub fn proof(epoch: u64, index: u32) -> Option<merkle::MerkleProof> {
        let leaves: Vec<Vec<u8>> =
            EpochLeaves::<T>::get(epoch).into_iter().map(|l| l.into_inner()).collect();
        merkle::proof(leaves, index)
    }

    /// The proof of the transfer out with `nonce`, if its epoch is retained: (epoch, proof).
    pub fn transfer_proof(nonce: u64) -> Option<(u64, merkle::MerkleProof)> {
        Self::find_leaf(message::LEAF_TRANSFER, nonce)
    }

    /// The proof of attribution epoch `epoch`'s settled root, if the bridge epoch that carries
    /// it is retained: (bridge epoch, proof).
    pub fn attribution_proof(epoch: u64) -> Option<(u64, merkle::MerkleProof)> {
        Self::find_leaf(message::LEAF_ATTRIBUTION, epoch)
    }

    /// The retained leaf with `tag` and number `number` (a nonce or an attribution epoch).
    fn find_leaf(tag: u8, number: u64) -> Option<(u64, merkle::MerkleProof)> {
        let next = NextEpoch::<T>::get();
        let first = next.saturating_sub(T::EpochRetention::get());
        for epoch in (first..next).rev() {
            let leaves = EpochLeaves::<T>::get(epoch);
            let found = leaves.iter().position(|l| {
                l.first() == Some(&tag) && l.get(1..9) == Some(&number.to_be_bytes()[..])
            });
            if let Some(i) = found {
                return Some((epoch, Self::proof(epoch, u32::try_from(i).ok()?)?));
            }
        }
        None
    }

    /// Checks the pallet's invariants (see the module docs).
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        let locked = TotalLocked::<T>::get();
        let (out, inn) = Totals::<T>::get();
        ensure!(locked == out.saturating_sub(inn) && out >= inn, "locked != out - in");
        ensure!(
            T::Currency::balance(&Self::account_id()) >= locked,
            "the pallet account holds less than is locked"
        );
        let queue = Queue::<T>::get();
        let next = NextOutboundNonce::<T>::get();
        for (i, t) in queue.iter().enumerate() {
            let expected = next.saturating_sub(queue.len() as u64).saturating_add(i as u64);
            ensure!(t.nonce == expected, "queued nonces are not consecutive up to the next");
        }
        if let Some(c) = CurrentCommittee::<T>::get() {
            let n = c.members.len() as u32;
            ensure!(
                c.threshold <= n && c.threshold.saturating_mul(2) > n,
                "the threshold is not a majority"
            );
            ensure!(Self::distinct(&c.members), "a committee member appears twice");
            for (_, e) in Epochs::<T>::iter() {
                ensure!(e.signatures.len() <= c.members.len(), "more signatures than members");
                if e.signed && e.committee == c.id {
                    ensure!(e.signatures.len() as u32 >= c.threshold, "signed below threshold");
                }
            }
        }
        let next_in = NextInboundNonce::<T>::get();
        let current = CurrentCommittee::<T>::get().map(|c| c.id);
        for (nonce, _, a) in InboundApprovals::<T>::iter() {
            ensure!(
                nonce >= next_in && nonce < next_in.saturating_add(T::InboundWindow::get()),
                "an approval outside the inbound window is stored"
            );
            ensure!(a.transfer.nonce == nonce, "an approval is filed under another nonce");
            ensure!(Some(a.committee) == current, "an approval by an earlier committee");
            let signers: Vec<H160> = a.signatures.iter().map(|(m, _)| *m).collect();
            ensure!(Self::distinct(&signers), "a member approved twice");
        }
        let current = current.unwrap_or(0);
        for (to, r) in Rotations::<T>::iter() {
            ensure!(
                to <= current && current.saturating_sub(to) < T::RotationRetention::get(),
                "a rotation outside the retention window is stored"
            );
            ensure!(r.to.id == to && r.from.id.saturating_add(1) == to, "a rotation's ids");
            ensure!(!r.signed || r.signatures.len() as u32 >= r.from.threshold, "rotation signed");
        }
        let next_epoch = NextEpoch::<T>::get();
        for (epoch, _) in Epochs::<T>::iter() {
            ensure!(
                epoch < next_epoch && next_epoch.saturating_sub(epoch) <= T::EpochRetention::get(),
                "an epoch outside the retention window is stored"
            );
        }
        Ok(())
    }
}
