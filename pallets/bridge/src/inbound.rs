//! Transfers in (burns on Ethereum): members' approvals collected on chain, and the release of
//! the OPEN once a transfer has the threshold of current members' signatures.

use crate::{
    message, BalanceOf, Config, CurrentCommittee, Error, Event, InBucket, InboundApproval,
    InboundApprovals, InboundTransfer, NextInboundNonce, Pallet, Signature, TotalLocked, Totals,
};
use alloc::vec::Vec;
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::{BoundedVec, DispatchError, Get},
        traits::{fungible::Mutate, tokens::Preservation},
    },
    frame_system,
    sp_core::{H160, H256},
    sp_runtime::{
        traits::{Saturating, UniqueSaturatedInto},
        DispatchResult,
    },
};

impl<T: Config> Pallet<T> {
    /// Checks what every transfer in must satisfy, whoever signed it, and returns its digest
    /// under the current committee (and that committee).
    fn inbound_checks(
        transfer: &InboundTransfer<T::AccountId, BalanceOf<T>>,
    ) -> Result<(H256, crate::Committee<T::MaxMembers>), DispatchError> {
        Self::ensure_running()?;
        let domain = Self::domain()?;
        ensure!(transfer.source_chain_id == domain.eth_chain_id, Error::<T>::WrongSourceChain);
        ensure!(transfer.contract == domain.contract, Error::<T>::WrongContract);
        // The contract burns no less, so every signed message can be paid (a smaller one to a
        // new account would fail on the existential deposit and hold up the nonces).
        ensure!(transfer.amount >= T::MinTransfer::get(), Error::<T>::BelowMinimum);
        let committee = CurrentCommittee::<T>::get().ok_or(Error::<T>::NotConfigured)?;
        let recipient: [u8; 32] = Self::account_bytes(&transfer.recipient);
        let amount: u128 = transfer.amount.unique_saturated_into();
        let digest = domain.inbound_digest(committee.id, transfer.nonce, &recipient, amount);
        Ok((H256(digest), committee))
    }

    /// The digest the current committee signs for `transfer` (for relayers and tests).
    pub fn inbound_digest(
        transfer: &InboundTransfer<T::AccountId, BalanceOf<T>>,
    ) -> Result<H256, DispatchError> {
        let domain = Self::domain()?;
        let committee = CurrentCommittee::<T>::get().ok_or(Error::<T>::NotConfigured)?;
        let recipient: [u8; 32] = Self::account_bytes(&transfer.recipient);
        let amount: u128 = transfer.amount.unique_saturated_into();
        Ok(H256(domain.inbound_digest(committee.id, transfer.nonce, &recipient, amount)))
    }

    /// Pays out `transfer` if `signatures` hold the threshold of distinct current members',
    /// it has the next nonce and fits the inbound bucket; deletes the nonce's approvals.
    pub(crate) fn release(
        transfer: InboundTransfer<T::AccountId, BalanceOf<T>>,
        signatures: &[Signature],
    ) -> DispatchResult {
        let (digest, committee) = Self::inbound_checks(&transfer)?;
        ensure!(transfer.nonce == NextInboundNonce::<T>::get(), Error::<T>::UnexpectedNonce);
        let mut signers: Vec<H160> = Vec::with_capacity(signatures.len());
        for signature in signatures {
            if let Some(who) = message::signer(&digest.0, signature) {
                if committee.members.contains(&who) && !signers.contains(&who) {
                    signers.push(who);
                }
            }
        }
        ensure!(signers.len() >= committee.threshold as usize, Error::<T>::NotEnoughSignatures);
        let now = frame_system::Pallet::<T>::block_number();
        let mut bucket = InBucket::<T>::get();
        ensure!(bucket.take(transfer.amount, now), Error::<T>::RateLimited);
        let locked = TotalLocked::<T>::get();
        ensure!(transfer.amount <= locked, Error::<T>::InsufficientLocked);
        T::Currency::transfer(
            &Self::account_id(),
            &transfer.recipient,
            transfer.amount,
            Preservation::Expendable,
        )?;
        InBucket::<T>::put(bucket);
        NextInboundNonce::<T>::put(transfer.nonce.saturating_add(1));
        TotalLocked::<T>::put(locked.saturating_sub(transfer.amount));
        Totals::<T>::mutate(|(_, inn)| *inn = inn.saturating_add(transfer.amount));
        // Approvals of this nonce are spent (at most one per member).
        let _ = InboundApprovals::<T>::clear_prefix(transfer.nonce, Self::approvals_bound(), None);
        Self::deposit_event(Event::BridgedIn {
            nonce: transfer.nonce,
            recipient: transfer.recipient,
            amount: transfer.amount,
        });
        Ok(())
    }

    /// The most approvals one nonce holds: one per member of the current committee.
    pub(crate) fn approvals_bound() -> u32 {
        T::MaxMembers::get()
    }

    /// The most approvals stored: a full window of nonces, each with the most approvals.
    pub(crate) fn all_approvals_bound() -> u32 {
        let window = u32::try_from(T::InboundWindow::get()).unwrap_or(u32::MAX);
        window.saturating_mul(Self::approvals_bound())
    }

    /// Records a current member's signature over `transfer` (see `approve_in`).
    pub(crate) fn approve(
        transfer: InboundTransfer<T::AccountId, BalanceOf<T>>,
        signature: Signature,
    ) -> DispatchResult {
        let (digest, committee) = Self::inbound_checks(&transfer)?;
        let next = NextInboundNonce::<T>::get();
        let nonce = transfer.nonce;
        ensure!(
            nonce >= next && nonce < next.saturating_add(T::InboundWindow::get()),
            Error::<T>::OutsideWindow
        );
        let member = message::signer(&digest.0, &signature).ok_or(Error::<T>::NotAMember)?;
        ensure!(committee.members.contains(&member), Error::<T>::NotAMember);
        // One approval per member and nonce; earlier committees' approvals are dropped (their
        // signatures no longer count).
        // So a nonce holds at most one approval per member (a rotation deletes them all).
        for (_, a) in InboundApprovals::<T>::iter_prefix(nonce) {
            ensure!(
                !a.signatures.iter().any(|(m, _)| *m == member),
                Error::<T>::DuplicateSignature
            );
        }
        let mut approval = InboundApprovals::<T>::get(nonce, digest).unwrap_or(InboundApproval {
            transfer,
            committee: committee.id,
            signatures: BoundedVec::default(),
        });
        approval
            .signatures
            .try_push((member, signature))
            .map_err(|_| Error::<T>::DuplicateSignature)?;
        let count = u32::try_from(approval.signatures.len()).unwrap_or(u32::MAX);
        InboundApprovals::<T>::insert(nonce, digest, approval);
        Self::deposit_event(Event::InboundApprovalAdded { nonce, digest, member, count });
        if count == committee.threshold {
            Self::deposit_event(Event::InboundApproved { nonce, digest });
        }
        Ok(())
    }
}
