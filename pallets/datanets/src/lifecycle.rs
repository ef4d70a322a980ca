//! Access requests and grants with their deposits, and destroying a datanet item by item.

use crate::*;
use polkadot_sdk::frame_support::storage::with_storage_layer;

/// What one `destroy_items` step removed, or why it stopped.
enum Step {
    /// One item left the state.
    Removed,
    /// The datanet itself left the state: nothing is left.
    Done,
}

impl<T: Config> Pallet<T> {
    /// Files (or re-files, keeping its deposit) an access request.
    pub(crate) fn do_request_access(
        who: T::AccountId,
        datanet: DatanetId,
        purpose_uri: BoundedText<T::MaxUriLen>,
    ) -> DispatchResult {
        let d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
        ensure!(d.visibility == Visibility::Private, Error::<T>::NotPrivate);
        ensure!(
            d.owner != who && !AccessGrants::<T>::contains_key(datanet, &who),
            Error::<T>::AlreadyGranted
        );
        let deposit = match AccessRequests::<T>::get(datanet, &who) {
            Some(previous) => previous.deposit,
            None => {
                let deposit = T::AccessDeposit::get();
                Self::hold_storage_deposit(&who, deposit)?;
                deposit
            }
        };
        let requested_at = frame_system::Pallet::<T>::block_number();
        AccessRequests::<T>::insert(
            datanet,
            &who,
            AccessRequest { purpose_uri, requested_at, deposit },
        );
        Self::deposit_event(Event::AccessRequested { datanet, who });
        Ok(())
    }

    /// Grants access; the request's deposit (or a new one from the owner) backs the grant.
    pub(crate) fn do_grant_access(
        owner: T::AccountId,
        datanet: DatanetId,
        who: T::AccountId,
    ) -> DispatchResult {
        let d = Self::owned_datanet(datanet, &owner)?;
        ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
        ensure!(d.visibility == Visibility::Private, Error::<T>::NotPrivate);
        ensure!(
            d.owner != who && !AccessGrants::<T>::contains_key(datanet, &who),
            Error::<T>::AlreadyGranted
        );
        let (depositor, deposit) = match AccessRequests::<T>::take(datanet, &who) {
            Some(request) => (who.clone(), request.deposit),
            None => {
                let deposit = T::AccessDeposit::get();
                Self::hold_storage_deposit(&owner, deposit)?;
                (owner, deposit)
            }
        };
        let granted_at = frame_system::Pallet::<T>::block_number();
        AccessGrants::<T>::insert(datanet, &who, AccessGrant { granted_at, depositor, deposit });
        Self::deposit_event(Event::AccessGranted { datanet, who });
        Ok(())
    }

    /// Removes `who`'s access request and returns its deposit.
    pub(crate) fn remove_request(
        datanet: DatanetId,
        who: &T::AccountId,
        rejected: bool,
    ) -> DispatchResult {
        let request =
            AccessRequests::<T>::take(datanet, who).ok_or(Error::<T>::AccessNotRequested)?;
        Self::release_storage_deposit(who, request.deposit)?;
        Self::deposit_event(Event::AccessRequestRemoved { datanet, who: who.clone(), rejected });
        Ok(())
    }

    /// Removes `who`'s access grant and returns its deposit to whoever held it.
    pub(crate) fn remove_grant(datanet: DatanetId, who: &T::AccountId) -> DispatchResult {
        let grant = AccessGrants::<T>::take(datanet, who).ok_or(Error::<T>::AccessNotGranted)?;
        Self::release_storage_deposit(&grant.depositor, grant.deposit)?;
        Self::deposit_event(Event::AccessDepositReleased {
            datanet,
            who: who.clone(),
            depositor: grant.depositor,
            amount: grant.deposit,
        });
        Ok(())
    }

    /// Holds a storage deposit from `who` (nothing for a deposit of zero).
    pub(crate) fn hold_storage_deposit(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
        if !amount.is_zero() {
            T::Currency::hold(&HoldReason::StorageDeposit.into(), who, amount)
                .map_err(|_| Error::<T>::InsufficientBalance)?;
        }
        Ok(())
    }

    /// Releases a storage deposit held from `who`.
    pub(crate) fn release_storage_deposit(
        who: &T::AccountId,
        amount: BalanceOf<T>,
    ) -> DispatchResult {
        if !amount.is_zero() {
            T::Currency::release(
                &HoldReason::StorageDeposit.into(),
                who,
                amount,
                Precision::Exact,
            )?;
        }
        Ok(())
    }

    /// Removes up to `max` items of a datanet being destroyed; returns how many went.
    pub(crate) fn do_destroy_items(datanet: DatanetId, max: u32) -> Result<u32, DispatchError> {
        let mut d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.status == DatanetStatus::Destroying, Error::<T>::NotDestroying);
        let mut removed = 0u32;
        let mut done = false;
        while removed < max {
            // Each step is all or nothing, so a step that fails after earlier ones succeeded
            // leaves no trace and the earlier ones stand.
            let mut next = d.clone();
            let step = with_storage_layer(|| Self::destroy_step(datanet, &mut next));
            match step {
                Ok(step) => {
                    d = next;
                    removed = removed.saturating_add(1);
                    if matches!(step, Step::Done) {
                        done = true;
                        break;
                    }
                }
                // Progress so far stands; the caller learns what blocks the rest from the error
                // of the next call.
                Err(_) if removed > 0 => break,
                Err(e) => return Err(e),
            }
        }
        if !done {
            Datanets::<T>::insert(datanet, d);
        }
        Self::deposit_event(Event::DatanetItemsDestroyed { datanet, removed, done });
        Ok(removed)
    }

    /// Removes the next item of a datanet being destroyed. Changes nothing when it fails.
    fn destroy_step(datanet: DatanetId, d: &mut Datanet<T>) -> Result<Step, DispatchError> {
        if let Some((who, _)) = AccessRequests::<T>::iter_prefix(datanet).next() {
            Self::remove_request(datanet, &who, true)?;
            return Ok(Step::Removed);
        }
        if let Some((who, _)) = AccessGrants::<T>::iter_prefix(datanet).next() {
            Self::remove_grant(datanet, &who)?;
            return Ok(Step::Removed);
        }
        if let Some(last) = d.contribution_count.checked_sub(1) {
            let id = DatanetContributions::<T>::get(datanet, last).ok_or(Error::<T>::Overflow)?;
            let c = Contributions::<T>::get(id).ok_or(Error::<T>::ContributionNotFound)?;
            // The lock-up is for disputes within the datanet; with the datanet gone there is
            // nothing left to dispute, so a locked stake goes back now.
            Self::remove_contribution(id, c, d)?;
            return Ok(Step::Removed);
        }
        if d.snapshot_count > 0 {
            let version = d.snapshot_count;
            if let Some(s) = Snapshots::<T>::take(datanet, version) {
                Self::release_storage_deposit(&s.publisher, s.deposit)?;
                Self::deposit_event(Event::SnapshotRemoved {
                    datanet,
                    version,
                    publisher: s.publisher,
                    deposit_released: s.deposit,
                });
            }
            SnapshotMembers::<T>::remove(datanet, version);
            d.snapshot_count = version.saturating_sub(1);
            return Ok(Step::Removed);
        }
        ensure!(!T::Credits::owed_to_pool(datanet), Error::<T>::CreditOwed);
        let pool = RewardPools::<T>::take(datanet);
        Self::pay_from_pools(&T::PoolDestination::get(), pool)?;
        T::Currency::release(
            &HoldReason::DatanetDeposit.into(),
            &d.owner,
            d.deposit,
            Precision::Exact,
        )?;
        Accepted::<T>::remove(datanet);
        SnapshotUsage::<T>::remove(datanet);
        Datanets::<T>::remove(datanet);
        Self::deposit_event(Event::DatanetDestroyed {
            datanet,
            owner: d.owner.clone(),
            deposit_released: d.deposit,
            pool,
        });
        Ok(Step::Done)
    }
}

impl<T: Config> SnapshotUsers for Pallet<T> {
    fn use_snapshots(datanet: DatanetId) {
        SnapshotUsage::<T>::mutate(datanet, |n| *n = n.saturating_add(1));
    }

    fn release_snapshots(datanet: DatanetId) {
        SnapshotUsage::<T>::mutate_exists(datanet, |n| {
            *n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
        });
    }
}

impl<T: Config> Pallet<T> {
    /// Makes a commitment, holding its deposit.
    pub(crate) fn do_commit(who: T::AccountId, commitment: ContentHash) -> DispatchResult {
        ensure!(!Commitments::<T>::contains_key(&who, commitment), Error::<T>::AlreadyCommitted);
        let deposit = T::CommitDeposit::get();
        Self::hold_storage_deposit(&who, deposit)?;
        let at = frame_system::Pallet::<T>::block_number();
        Commitments::<T>::insert(&who, commitment, HashCommitment { at, deposit });
        Self::deposit_event(Event::Committed { who, commitment });
        Ok(())
    }

    /// Clears a commitment for its committer, or for anyone once expired.
    pub(crate) fn do_clear_commitment(
        caller: T::AccountId,
        committer: T::AccountId,
        commitment: ContentHash,
    ) -> DispatchResult {
        let c =
            Commitments::<T>::get(&committer, commitment).ok_or(Error::<T>::CommitmentNotFound)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            caller == committer || now > c.at.saturating_add(T::CommitLifetime::get()),
            Error::<T>::CommitmentNotExpired
        );
        Commitments::<T>::remove(&committer, commitment);
        Self::release_storage_deposit(&committer, c.deposit)?;
        Self::deposit_event(Event::CommitmentCleared { who: committer, commitment });
        Ok(())
    }

    /// Uses up `who`'s commitment to `hash` with `salt`; returns the block it was made in.
    pub(crate) fn do_reveal(
        who: &T::AccountId,
        hash: &ContentHash,
        salt: &ContentHash,
    ) -> Result<BlockNumberFor<T>, DispatchError> {
        let commitment = provena_primitives::commit::commitment(hash, who, salt);
        let c = Commitments::<T>::get(who, commitment).ok_or(Error::<T>::CommitmentNotFound)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(c.at < now, Error::<T>::CommitmentTooRecent);
        ensure!(
            now <= c.at.saturating_add(T::CommitLifetime::get()),
            Error::<T>::CommitmentExpired
        );
        Commitments::<T>::remove(who, commitment);
        Self::release_storage_deposit(who, c.deposit)?;
        Ok(c.at)
    }
}

impl<T: Config> provena_primitives::commit::HashCommitments<T::AccountId, BlockNumberFor<T>>
    for Pallet<T>
{
    fn reveal(
        who: &T::AccountId,
        hash: &ContentHash,
        salt: &ContentHash,
    ) -> Result<BlockNumberFor<T>, DispatchError> {
        Self::do_reveal(who, hash, salt)
    }
}
