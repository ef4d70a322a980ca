//! Creating datanets, taking contributions, reviews, withdrawals and snapshots: the calls' work.

use crate::*;

impl<T: Config> Pallet<T> {
    /// The pallet account: it keeps the reward pools.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    /// Pays `amount` of the reward pools out of the pallet account. The account keeps its
    /// existential deposit (funded at genesis) unless this pays out the last of it.
    pub(crate) fn pay_from_pools(to: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
        if amount.is_zero() {
            return Ok(());
        }
        let account = Self::account_id();
        let rest = T::Currency::balance(&account).saturating_sub(amount);
        let keep = if rest.is_zero() { Preservation::Expendable } else { Preservation::Preserve };
        T::Currency::transfer(&account, to, amount, keep)?;
        Ok(())
    }

    /// `spend_pool`'s work, once the origin and its limit were checked.
    pub(crate) fn do_spend_pool(
        datanet: DatanetId,
        beneficiary: T::AccountId,
        amount: BalanceOf<T>,
    ) -> DispatchResult {
        ensure!(!amount.is_zero(), Error::<T>::ZeroSpend);
        ensure!(Datanets::<T>::contains_key(datanet), Error::<T>::DatanetNotFound);
        let pool = RewardPools::<T>::get(datanet);
        let left = pool.checked_sub(&amount).ok_or(Error::<T>::PoolTooSmall)?;
        Self::pay_from_pools(&beneficiary, amount)?;
        if left.is_zero() {
            RewardPools::<T>::remove(datanet);
        } else {
            RewardPools::<T>::insert(datanet, left);
        }
        Self::deposit_event(Event::RewardPoolSpent { datanet, beneficiary, amount });
        Ok(())
    }

    /// The datanet, if `who` owns it.
    pub(crate) fn owned_datanet(
        datanet: DatanetId,
        who: &T::AccountId,
    ) -> Result<Datanet<T>, DispatchError> {
        let d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.owner == *who, Error::<T>::NotOwner);
        Ok(d)
    }

    /// Creates a datanet and holds the owner's deposit. Used by the call and at genesis.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn do_create_datanet(
        owner: T::AccountId,
        name: BoundedText<T::MaxNameLen>,
        description_uri: BoundedText<T::MaxUriLen>,
        domain: BoundedText<T::MaxTagLen>,
        license: BoundedText<T::MaxTagLen>,
        visibility: Visibility,
        contribution_stake: BalanceOf<T>,
        max_contribution_bytes: u64,
    ) -> Result<DatanetId, DispatchError> {
        ensure!(!name.is_empty(), Error::<T>::EmptyName);
        ensure!(contribution_stake >= T::MinContributionStake::get(), Error::<T>::StakeTooLow);
        ensure!(max_contribution_bytes > 0, Error::<T>::EmptyContribution);
        let id = NextDatanetId::<T>::get();
        let next = id.checked_add(1).ok_or(Error::<T>::Overflow)?;
        let deposit = T::DatanetDeposit::get();
        T::Currency::hold(&HoldReason::DatanetDeposit.into(), &owner, deposit)
            .map_err(|_| Error::<T>::InsufficientBalance)?;
        let datanet = Datanet {
            owner: owner.clone(),
            name,
            description_uri,
            domain,
            license,
            visibility,
            contribution_stake,
            max_contribution_bytes,
            deposit,
            status: DatanetStatus::Open,
            curators: BoundedVec::default(),
            created_at: frame_system::Pallet::<T>::block_number(),
            contribution_count: 0,
            snapshot_count: 0,
        };
        Datanets::<T>::insert(id, datanet);
        NextDatanetId::<T>::put(next);
        Self::deposit_event(Event::DatanetCreated {
            datanet: id,
            owner,
            visibility,
            contribution_stake,
        });
        Ok(id)
    }

    /// Registers a contribution and holds its stake. `priority` is the block of the commitment
    /// it reveals, if any (see [`provena_primitives::commit`]).
    // The arguments of the `contribute` call, passed through.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn do_contribute(
        who: T::AccountId,
        datanet: DatanetId,
        content_hash: ContentHash,
        byte_size: u64,
        token_count: u64,
        metadata_uri: BoundedText<T::MaxUriLen>,
        license: BoundedText<T::MaxTagLen>,
        max_stake: BalanceOf<T>,
        priority: Option<BlockNumberFor<T>>,
    ) -> Result<ContributionId, DispatchError> {
        let mut d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.status == DatanetStatus::Open, Error::<T>::DatanetClosed);
        // The owner may have raised the stake since the contributor looked.
        ensure!(d.contribution_stake <= max_stake, Error::<T>::StakeAboveMax);
        ensure!(byte_size > 0, Error::<T>::EmptyContribution);
        ensure!(byte_size <= d.max_contribution_bytes, Error::<T>::ContributionTooLarge);
        let now = frame_system::Pallet::<T>::block_number();
        let priority = priority.unwrap_or(now);
        if let Some(existing) = ContentIndex::<T>::get(datanet, content_hash) {
            let c = Contributions::<T>::get(existing).ok_or(Error::<T>::ContributionNotFound)?;
            // Only an older commitment takes the hash over, and only from a contribution no
            // curator has reviewed yet (an accepted one may be in a snapshot already).
            ensure!(
                c.status == ContributionStatus::Pending && priority < c.priority,
                Error::<T>::DuplicateContent
            );
            let contributor = c.contributor.clone();
            Self::remove_contribution(existing, c, &mut d)?;
            Self::deposit_event(Event::ContributionDisplaced {
                contribution: existing,
                contributor,
                by: who.clone(),
            });
        }

        let id = NextContributionId::<T>::get();
        let next_id = id.checked_next().ok_or(Error::<T>::Overflow)?;
        let datanet_index = d.contribution_count;
        d.contribution_count = datanet_index.checked_add(1).ok_or(Error::<T>::Overflow)?;
        let contributor_index = ContributorCount::<T>::get(&who);
        let next_contributor_index =
            contributor_index.checked_add(1).ok_or(Error::<T>::Overflow)?;

        let stake = d.contribution_stake;
        T::Currency::hold(&HoldReason::ContributionStake.into(), &who, stake)
            .map_err(|_| Error::<T>::InsufficientBalance)?;
        let deposit = T::ContributionDeposit::get();
        Self::hold_storage_deposit(&who, deposit)?;

        let contribution = Contribution {
            datanet,
            contributor: who.clone(),
            content_hash,
            byte_size,
            token_count,
            metadata_uri,
            license: if license.is_empty() { d.license.clone() } else { license },
            status: ContributionStatus::Pending,
            stake_held: stake,
            stake_unlocks_at: None,
            submitted_at: now,
            reviewed: None,
            deposit,
            datanet_index,
            contributor_index,
            priority,
            snapshots: None,
            reward: Default::default(),
        };
        Contributions::<T>::insert(id, contribution);
        NextContributionId::<T>::put(next_id);
        ContentIndex::<T>::insert(datanet, content_hash, id);
        DatanetContributions::<T>::insert(datanet, datanet_index, id);
        ContributorContributions::<T>::insert(&who, contributor_index, id);
        ContributorCount::<T>::insert(&who, next_contributor_index);
        Datanets::<T>::insert(datanet, d);
        Self::deposit_event(Event::ContributionSubmitted {
            datanet,
            contribution: id,
            contributor: who,
            content_hash,
            stake,
        });
        Ok(id)
    }

    /// Applies a curator's verdict.
    pub(crate) fn do_review(
        curator: T::AccountId,
        id: ContributionId,
        verdict: Verdict,
    ) -> DispatchResult {
        let mut c = Contributions::<T>::get(id).ok_or(Error::<T>::ContributionNotFound)?;
        let datanet = c.datanet;
        let mut d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.is_curator(&curator), Error::<T>::NotCurator);
        ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
        let now = frame_system::Pallet::<T>::block_number();
        // A dispute: an accepted contribution may still be slashed while its stake is locked.
        let disputed = matches!(c.status, ContributionStatus::Accepted { .. })
            && matches!(verdict, Verdict::Slash)
            && c.stake_unlocks_at.is_some_and(|at| now < at);
        ensure!(c.status == ContributionStatus::Pending || disputed, Error::<T>::AlreadyReviewed);
        c.reviewed = Some((curator.clone(), now));

        match verdict {
            Verdict::Accept { quality } => {
                ensure!(quality <= MAX_QUALITY, Error::<T>::QualityOutOfRange);
                let mut accepted = Accepted::<T>::get(datanet);
                let pos = accepted.binary_search(&id).err().ok_or(Error::<T>::AlreadyReviewed)?;
                accepted.try_insert(pos, id).map_err(|_| Error::<T>::TooManyAccepted)?;
                let unlocks_at = now.saturating_add(T::StakeLockup::get());
                c.status = ContributionStatus::Accepted { quality };
                c.stake_unlocks_at = Some(unlocks_at);
                // Every snapshot published from now on holds it (until it leaves).
                c.snapshots = Some(SnapshotSpan { after: d.snapshot_count, until: None });
                Accepted::<T>::insert(datanet, accepted);
                Contributions::<T>::insert(id, c);
                Self::deposit_event(Event::ContributionAccepted {
                    datanet,
                    contribution: id,
                    curator,
                    quality,
                    stake_unlocks_at: unlocks_at,
                });
            }
            Verdict::Reject => {
                let contributor = c.contributor.clone();
                let amount = Self::release_held_stake(&mut c)?;
                Self::deposit_event(Event::ContributionRejected {
                    datanet,
                    contribution: id,
                    curator,
                });
                Self::deposit_event(Event::StakeReleased { contribution: id, contributor, amount });
                // It was never in a snapshot: it leaves the state, and the hash may be submitted
                // again (improved, or by its rightful owner).
                Self::remove_contribution(id, c, &mut d)?;
                Datanets::<T>::insert(datanet, d);
            }
            Verdict::Slash => {
                if disputed {
                    // It leaves the accepted set: later snapshots exclude it, and receipts that
                    // attribute it from earlier snapshots pay its part to the treasury.
                    Accepted::<T>::mutate(datanet, |accepted| accepted.retain(|a| *a != id));
                    c.stake_unlocks_at = None;
                    c.snapshots = Self::left(c.snapshots, d.snapshot_count);
                }
                let amount = c.stake_held;
                let pool = RewardPools::<T>::get(datanet)
                    .checked_add(&amount)
                    .ok_or(Error::<T>::Overflow)?;
                T::Currency::transfer_on_hold(
                    &HoldReason::ContributionStake.into(),
                    &c.contributor,
                    &Self::account_id(),
                    amount,
                    Precision::Exact,
                    Restriction::Free,
                    Fortitude::Force,
                )?;
                c.stake_held = Zero::zero();
                c.status = ContributionStatus::Slashed;
                RewardPools::<T>::insert(datanet, pool);
                Self::deposit_event(Event::ContributionSlashed {
                    datanet,
                    contribution: id,
                    curator,
                    amount,
                });
                if disputed {
                    // Earlier snapshots commit to it: the record (and its hash) stays with them.
                    Contributions::<T>::insert(id, c);
                } else {
                    // A pending one was never in a snapshot: it leaves the state.
                    Self::remove_contribution(id, c, &mut d)?;
                    Datanets::<T>::insert(datanet, d);
                }
            }
        }
        Ok(())
    }

    /// The span of a contribution that leaves the accepted set now, when its datanet has
    /// published `snapshot_count` snapshots: no later one holds it.
    fn left(span: Option<SnapshotSpan>, snapshot_count: SnapshotVersion) -> Option<SnapshotSpan> {
        span.map(|s| SnapshotSpan { until: Some(snapshot_count), ..s })
    }

    /// Withdraws a contribution for its contributor.
    pub(crate) fn do_withdraw(who: T::AccountId, id: ContributionId) -> DispatchResult {
        let mut c = Contributions::<T>::get(id).ok_or(Error::<T>::ContributionNotFound)?;
        ensure!(c.contributor == who, Error::<T>::NotContributor);
        let datanet = c.datanet;
        match c.status {
            ContributionStatus::Pending => {
                let mut d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
                let amount = Self::release_held_stake(&mut c)?;
                Self::deposit_event(Event::ContributionWithdrawn { datanet, contribution: id });
                Self::deposit_event(Event::StakeReleased {
                    contribution: id,
                    contributor: who,
                    amount,
                });
                // Never in a snapshot: it leaves the state.
                Self::remove_contribution(id, c, &mut d)?;
                Datanets::<T>::insert(datanet, d);
            }
            ContributionStatus::Accepted { .. } => {
                let d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
                let mut accepted = Accepted::<T>::get(datanet);
                if let Ok(pos) = accepted.binary_search(&id) {
                    accepted.remove(pos);
                }
                Accepted::<T>::insert(datanet, accepted);
                c.snapshots = Self::left(c.snapshots, d.snapshot_count);
                // The stake keeps its lock-up from acceptance, and the record stays with the
                // snapshots that commit to it; the hash is free to be registered again.
                if ContentIndex::<T>::get(datanet, c.content_hash) == Some(id) {
                    ContentIndex::<T>::remove(datanet, c.content_hash);
                }
                c.status = ContributionStatus::Withdrawn;
                Contributions::<T>::insert(id, c);
                Self::deposit_event(Event::ContributionWithdrawn { datanet, contribution: id });
            }
            _ => return Err(Error::<T>::CannotWithdraw.into()),
        }
        Ok(())
    }

    /// Removes a contribution's record and its index entries (the last entry of each index
    /// moves into its place), releases whatever stake it still holds and its storage deposit.
    /// `d` is its datanet, written back by the caller.
    pub(crate) fn remove_contribution(
        id: ContributionId,
        mut c: Contribution<T>,
        d: &mut Datanet<T>,
    ) -> DispatchResult {
        // What attribution owes it is kept in the record: it stays until paid.
        ensure!(!c.reward.is_owed(), Error::<T>::CreditOwed);
        let datanet = c.datanet;
        let stake = Self::release_held_stake(&mut c)?;
        if !stake.is_zero() {
            Self::deposit_event(Event::StakeReleased {
                contribution: id,
                contributor: c.contributor.clone(),
                amount: stake,
            });
        }
        Self::release_storage_deposit(&c.contributor, c.deposit)?;
        if ContentIndex::<T>::get(datanet, c.content_hash) == Some(id) {
            ContentIndex::<T>::remove(datanet, c.content_hash);
        }
        // The datanet's index: the last entry takes the removed one's place.
        let last = d.contribution_count.checked_sub(1).ok_or(Error::<T>::Overflow)?;
        if c.datanet_index != last {
            let moved =
                DatanetContributions::<T>::get(datanet, last).ok_or(Error::<T>::Overflow)?;
            DatanetContributions::<T>::insert(datanet, c.datanet_index, moved);
            Contributions::<T>::mutate(moved, |m| {
                if let Some(m) = m {
                    m.datanet_index = c.datanet_index;
                }
            });
        }
        DatanetContributions::<T>::remove(datanet, last);
        d.contribution_count = last;
        // The contributor's index, likewise.
        let who = &c.contributor;
        let last = ContributorCount::<T>::get(who).checked_sub(1).ok_or(Error::<T>::Overflow)?;
        if c.contributor_index != last {
            let moved =
                ContributorContributions::<T>::get(who, last).ok_or(Error::<T>::Overflow)?;
            ContributorContributions::<T>::insert(who, c.contributor_index, moved);
            Contributions::<T>::mutate(moved, |m| {
                if let Some(m) = m {
                    m.contributor_index = c.contributor_index;
                }
            });
        }
        ContributorContributions::<T>::remove(who, last);
        if last == 0 {
            ContributorCount::<T>::remove(who);
        } else {
            ContributorCount::<T>::insert(who, last);
        }
        Contributions::<T>::remove(id);
        Self::deposit_event(Event::ContributionRemoved {
            contribution: id,
            contributor: c.contributor,
            deposit_released: c.deposit,
        });
        Ok(())
    }

    /// Publishes the next snapshot; returns how many contributions it holds.
    pub(crate) fn do_publish_snapshot(
        who: T::AccountId,
        datanet: DatanetId,
    ) -> Result<u32, DispatchError> {
        let mut d = Datanets::<T>::get(datanet).ok_or(Error::<T>::DatanetNotFound)?;
        ensure!(d.is_curator(&who), Error::<T>::NotCurator);
        ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
        ensure!(d.snapshot_count < T::MaxSnapshotsPerDatanet::get(), Error::<T>::TooManySnapshots);
        let members = Accepted::<T>::get(datanet);
        ensure!(!members.is_empty(), Error::<T>::NothingAccepted);
        ensure!(
            d.snapshot_count == 0
                || SnapshotMembers::<T>::get(datanet, d.snapshot_count) != members,
            Error::<T>::SnapshotUnchanged
        );
        let version = d.snapshot_count.checked_add(1).ok_or(Error::<T>::Overflow)?;
        let leaves = Self::leaves(&members)?;
        let root = merkle::root(&leaves);
        let count = u32::try_from(members.len()).map_err(|_| Error::<T>::Overflow)?;
        let deposit = Self::snapshot_deposit(count);
        Self::hold_storage_deposit(&who, deposit)?;
        Snapshots::<T>::insert(
            datanet,
            version,
            Snapshot {
                root,
                contribution_count: count,
                publisher: who.clone(),
                published_at: frame_system::Pallet::<T>::block_number(),
                deposit,
            },
        );
        SnapshotMembers::<T>::insert(datanet, version, members);
        d.snapshot_count = version;
        Datanets::<T>::insert(datanet, d);
        Self::deposit_event(Event::SnapshotPublished {
            datanet,
            version,
            root,
            contributions: count,
            publisher: who,
        });
        Ok(count)
    }

    /// What a snapshot of `members` contributions holds from its publisher.
    pub fn snapshot_deposit(members: u32) -> BalanceOf<T> {
        T::SnapshotDepositPerMember::get()
            .saturating_mul(members.into())
            .saturating_add(T::SnapshotDepositBase::get())
    }

    /// The Merkle leaves of the given contributions, in order.
    pub(crate) fn leaves(members: &[ContributionId]) -> Result<Vec<Vec<u8>>, DispatchError> {
        members
            .iter()
            .map(|id| {
                let c = Contributions::<T>::get(id).ok_or(Error::<T>::ContributionNotFound)?;
                Ok(snapshot_leaf(*id, &c.content_hash, &c.contributor))
            })
            .collect()
    }

    /// Releases whatever stake `c` still holds back to its contributor; returns the amount.
    pub(crate) fn release_held_stake(
        c: &mut Contribution<T>,
    ) -> Result<BalanceOf<T>, DispatchError> {
        let amount = c.stake_held;
        if !amount.is_zero() {
            T::Currency::release(
                &HoldReason::ContributionStake.into(),
                &c.contributor,
                amount,
                Precision::Exact,
            )?;
        }
        c.stake_held = Zero::zero();
        c.stake_unlocks_at = None;
        Ok(amount)
    }

    /// Whether `who` may use the data of datanet `d` (id `datanet`).
    pub(crate) fn has_access(d: &Datanet<T>, datanet: DatanetId, who: &T::AccountId) -> bool {
        d.visibility == Visibility::Public
            || d.owner == *who
            || d.curators.contains(who)
            || AccessGrants::<T>::contains_key(datanet, who)
    }
}
