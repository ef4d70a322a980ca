//! The pallet's bookkeeping outside its calls: closing epochs, proofs, the signing domain and
//! the invariants.

use crate::{
    message, Config, CurrentCommittee, Epoch, EpochLeaves, Epochs, Error, Event, Limits,
    NextAttributionEpoch, NextEpoch, NextOutboundNonce, Pallet, Paused, Queue, Target, TotalLocked,
    Totals, WeightInfo,
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
        let mut next_attr = NextAttributionEpoch::<T>::get();
        let mut attribution_epochs = 0u32;
        while attribution_epochs < T::MaxAttributionRootsPerEpoch::get() {
            let Some((root, receipts)) = T::SettledEpochs::settled_root(next_attr) else { break };
            leaves.push(message::attribution_leaf(u64::from(next_attr), &root, receipts));
            next_attr = next_attr.saturating_add(1);
            attribution_epochs = attribution_epochs.saturating_add(1);
        }
        let transfers = u32::try_from(queue.len()).unwrap_or(u32::MAX);
        let mut weight = T::WeightInfo::close_epoch(transfers, attribution_epochs);
        if leaves.is_empty() {
            return weight;
        }
        NextAttributionEpoch::<T>::put(next_attr);
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
        let next = NextEpoch::<T>::get();
        let first = next.saturating_sub(T::EpochRetention::get());
        for epoch in (first..next).rev() {
            let leaves = EpochLeaves::<T>::get(epoch);
            let found = leaves.iter().position(|l| {
                l.first() == Some(&message::LEAF_TRANSFER)
                    && l.get(1..9) == Some(&nonce.to_be_bytes()[..])
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
