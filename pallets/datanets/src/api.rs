//! Read access for the runtime API and other pallets, and the pallet's invariants.

use crate::*;

impl<T: Config> Pallet<T> {
    // ---- Read API (runtime API and RPC) ----

    /// A datanet as the runtime API returns it.
    pub fn api_datanet(
        id: DatanetId,
    ) -> Option<DatanetInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
        let d = Datanets::<T>::get(id)?;
        Some(DatanetInfo {
            id,
            owner: d.owner,
            name: d.name.into_inner(),
            description_uri: d.description_uri.into_inner(),
            domain: d.domain.into_inner(),
            license: d.license.into_inner(),
            visibility: d.visibility,
            contribution_stake: d.contribution_stake,
            max_contribution_bytes: d.max_contribution_bytes,
            open: d.status == DatanetStatus::Open,
            curators: d.curators.into_inner(),
            created_at: d.created_at,
            contribution_count: d.contribution_count,
            accepted_count: Accepted::<T>::decode_len(id)
                .unwrap_or(0)
                .try_into()
                .unwrap_or(u32::MAX),
            snapshot_count: d.snapshot_count,
            reward_pool: RewardPools::<T>::get(id),
        })
    }

    /// A contribution as the runtime API returns it.
    pub fn api_contribution(
        id: ContributionId,
    ) -> Option<ContributionInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
        Contributions::<T>::get(id).map(|c| Self::contribution_info(id, c))
    }

    pub(crate) fn contribution_info(
        id: ContributionId,
        c: Contribution<T>,
    ) -> ContributionInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> {
        let (reviewer, reviewed_at) = match c.reviewed {
            Some((who, at)) => (Some(who), Some(at)),
            None => (None, None),
        };
        ContributionInfo {
            id,
            datanet: c.datanet,
            contributor: c.contributor,
            content_hash: c.content_hash,
            byte_size: c.byte_size,
            token_count: c.token_count,
            metadata_uri: c.metadata_uri.into_inner(),
            license: c.license.into_inner(),
            status: c.status,
            stake_held: c.stake_held,
            stake_unlocks_at: c.stake_unlocks_at,
            submitted_at: c.submitted_at,
            reviewer,
            reviewed_at,
        }
    }

    /// Up to `limit` contributions of a datanet from index `start`.
    pub fn api_datanet_contributions(
        datanet: DatanetId,
        start: u32,
        limit: u32,
    ) -> Vec<ContributionInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
        Self::page(start, limit, |i| DatanetContributions::<T>::get(datanet, i))
    }

    /// Up to `limit` contributions of an account from index `start`.
    pub fn api_contributor_contributions(
        who: &T::AccountId,
        start: u32,
        limit: u32,
    ) -> Vec<ContributionInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
        Self::page(start, limit, |i| ContributorContributions::<T>::get(who, i))
    }

    pub(crate) fn page(
        start: u32,
        limit: u32,
        at: impl Fn(u32) -> Option<ContributionId>,
    ) -> Vec<ContributionInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
        (start..start.saturating_add(limit.min(API_PAGE_LIMIT)))
            .map_while(at)
            .filter_map(Self::api_contribution)
            .collect()
    }

    /// A snapshot as the runtime API returns it.
    pub fn api_snapshot(
        datanet: DatanetId,
        version: SnapshotVersion,
    ) -> Option<SnapshotInfo<T::AccountId, BlockNumberFor<T>>> {
        let s = Snapshots::<T>::get(datanet, version)?;
        Some(SnapshotInfo {
            datanet,
            version,
            root: s.root,
            members: SnapshotMembers::<T>::get(datanet, version).into_inner(),
            publisher: s.publisher,
            published_at: s.published_at,
        })
    }

    /// The Merkle proof that `contribution` is in snapshot `version` of `datanet`.
    pub fn api_snapshot_proof(
        datanet: DatanetId,
        version: SnapshotVersion,
        contribution: ContributionId,
    ) -> Option<merkle::MerkleProof> {
        let members = SnapshotMembers::<T>::get(datanet, version);
        let index = members.binary_search(&contribution).ok()?;
        let leaves = Self::leaves(&members).ok()?;
        merkle::proof(leaves, u32::try_from(index).ok()?)
    }

    /// Checks the pallet's invariants (see the module docs).
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        let mut stakes: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        // Storage deposits by holder: every stored contribution, snapshot, access request and
        // grant has its deposit held, and nothing else is held for storage.
        let mut storage: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        let mut add = |who: &T::AccountId, amount: BalanceOf<T>| -> Result<(), &'static str> {
            let entry = storage.entry(who.clone()).or_default();
            *entry = entry.checked_add(&amount).ok_or("storage deposit sum overflows")?;
            Ok(())
        };
        let mut accepted_per_datanet: BTreeMap<DatanetId, u32> = BTreeMap::new();
        let next_contribution = NextContributionId::<T>::get();
        for (id, c) in Contributions::<T>::iter() {
            ensure!(id < next_contribution, "contribution id at or above NextContributionId");
            ensure!(Datanets::<T>::contains_key(c.datanet), "contribution of unknown datanet");
            let entry = stakes.entry(c.contributor.clone()).or_default();
            *entry = entry.checked_add(&c.stake_held).ok_or("stake sum overflows")?;
            add(&c.contributor, c.deposit)?;
            ensure!(
                DatanetContributions::<T>::get(c.datanet, c.datanet_index) == Some(id),
                "contribution's datanet index entry points elsewhere"
            );
            ensure!(
                ContributorContributions::<T>::get(&c.contributor, c.contributor_index) == Some(id),
                "contribution's contributor index entry points elsewhere"
            );
            // Rejected ones and ones withdrawn or slashed while pending leave the state; only
            // records from before deposits existed (deposit zero) may remain.
            if c.status == ContributionStatus::Rejected
                || (c.reviewed.is_none() && c.status != ContributionStatus::Pending)
            {
                ensure!(c.deposit.is_zero(), "a never-accepted contribution outlived its verdict");
            }
            if c.status.is_earning() {
                let n = accepted_per_datanet.entry(c.datanet).or_default();
                *n = n.saturating_add(1);
                ensure!(
                    c.snapshots.is_some_and(|s| s.until.is_none()),
                    "an accepted contribution's snapshot span is not open"
                );
            }
            if c.status == ContributionStatus::Pending {
                ensure!(c.snapshots.is_none(), "a pending contribution has a snapshot span");
            }
            if matches!(c.status, ContributionStatus::Slashed | ContributionStatus::Rejected) {
                ensure!(
                    c.stake_held.is_zero(),
                    "rejected or slashed contribution still holds stake"
                );
            }
        }
        for (who, sum) in stakes.iter() {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::ContributionStake.into(), who) == *sum,
                "held contribution stake differs from the contributions' stakes"
            );
        }

        let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        let mut listed: BTreeMap<ContributionId, usize> = BTreeMap::new();
        let next_datanet = NextDatanetId::<T>::get();
        for (id, d) in Datanets::<T>::iter() {
            ensure!(id < next_datanet, "datanet id at or above NextDatanetId");
            let entry = deposits.entry(d.owner.clone()).or_default();
            *entry = entry.checked_add(&d.deposit).ok_or("deposit sum overflows")?;
            if d.status == DatanetStatus::Destroying {
                ensure!(
                    SnapshotUsage::<T>::get(id) == 0,
                    "a datanet being destroyed has snapshot users"
                );
            }
            let indexed = DatanetContributions::<T>::iter_prefix(id).count();
            ensure!(
                indexed == d.contribution_count as usize,
                "datanet index differs from its count"
            );
            let accepted = Accepted::<T>::get(id);
            ensure!(
                accepted.iter().zip(accepted.iter().skip(1)).all(|(a, b)| a < b),
                "accepted list not strictly sorted"
            );
            let stored = accepted_per_datanet.get(&id).copied().unwrap_or(0) as usize;
            if d.status == DatanetStatus::Destroying {
                // Destruction removes contributions one by one and the list last, with the
                // datanet: until then it may still name removed ones.
                ensure!(accepted.len() >= stored, "accepted contributions missing from the list");
            } else {
                ensure!(
                    accepted.len() == stored,
                    "accepted list differs from accepted contributions"
                );
            }
            ensure!(
                Snapshots::<T>::iter_prefix(id).count() == d.snapshot_count as usize,
                "snapshot count differs from snapshots"
            );
            for (version, s) in Snapshots::<T>::iter_prefix(id) {
                let members = SnapshotMembers::<T>::get(id, version);
                ensure!(members.len() == s.contribution_count as usize, "snapshot size differs");
                add(&s.publisher, s.deposit)?;
                if d.status == DatanetStatus::Destroying {
                    continue;
                }
                for m in members {
                    let span = Contributions::<T>::get(m).and_then(|c| c.snapshots);
                    ensure!(
                        span.is_some_and(|s| s.contains(version)),
                        "a snapshot member's span does not hold the snapshot"
                    );
                    let n = listed.entry(m).or_default();
                    *n = n.saturating_add(1);
                }
            }
        }
        // Each contribution's span holds exactly the snapshots that list it.
        for (id, c) in Contributions::<T>::iter() {
            let Some(d) = Datanets::<T>::get(c.datanet) else { continue };
            if d.status == DatanetStatus::Destroying {
                continue;
            }
            let held = (1..=d.snapshot_count)
                .filter(|v| c.snapshots.is_some_and(|s| s.contains(*v)))
                .count();
            ensure!(
                held == listed.get(&id).copied().unwrap_or(0),
                "a contribution's snapshot span holds snapshots that do not list it"
            );
        }
        for (datanet, who, r) in AccessRequests::<T>::iter() {
            ensure!(Datanets::<T>::contains_key(datanet), "access request to an unknown datanet");
            add(&who, r.deposit)?;
        }
        for (datanet, _, g) in AccessGrants::<T>::iter() {
            ensure!(Datanets::<T>::contains_key(datanet), "access grant to an unknown datanet");
            add(&g.depositor, g.deposit)?;
        }
        let now = frame_system::Pallet::<T>::block_number();
        for (who, _, c) in Commitments::<T>::iter() {
            ensure!(c.at <= now, "a commitment from the future");
            add(&who, c.deposit)?;
        }
        for (datanet, _) in SnapshotUsage::<T>::iter() {
            ensure!(Datanets::<T>::contains_key(datanet), "snapshot users of an unknown datanet");
        }
        for (who, sum) in storage.iter() {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::StorageDeposit.into(), who) == *sum,
                "held storage deposit differs from the stored items' deposits"
            );
        }
        for (who, sum) in deposits.iter() {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::DatanetDeposit.into(), who) == *sum,
                "held datanet deposit differs from the datanets' deposits"
            );
        }

        for (who, count) in ContributorCount::<T>::iter() {
            ensure!(
                ContributorContributions::<T>::iter_prefix(&who).count() == count as usize,
                "contributor index differs from its count"
            );
        }
        for (datanet, hash, id) in ContentIndex::<T>::iter() {
            let c = Contributions::<T>::get(id).ok_or("content index points nowhere")?;
            ensure!(c.datanet == datanet && c.content_hash == hash, "content index mismatch");
        }

        let pools = RewardPools::<T>::iter_values()
            .try_fold(BalanceOf::<T>::zero(), |acc, v| acc.checked_add(&v))
            .ok_or("reward pools overflow")?;
        ensure!(
            T::Currency::balance(&Self::account_id()) >= pools,
            "pallet account holds less than the reward pools"
        );
        Ok(())
    }
}

impl<T: Config> provena_primitives::datanets::ContributionRewards<T::Reward> for Pallet<T> {
    fn mutate_reward<R>(
        id: ContributionId,
        f: impl FnOnce(&mut T::Reward) -> Result<R, DispatchError>,
    ) -> Result<R, DispatchError> {
        Contributions::<T>::try_mutate(id, |c| {
            let c = c.as_mut().ok_or(Error::<T>::ContributionNotFound)?;
            f(&mut c.reward)
        })
    }

    fn reward(id: ContributionId) -> Option<T::Reward> {
        Contributions::<T>::get(id).map(|c| c.reward)
    }

    fn rewards() -> Vec<(ContributionId, T::Reward)> {
        let default = T::Reward::default();
        Contributions::<T>::iter()
            .filter(|(_, c)| c.reward != default)
            .map(|(id, c)| (id, c.reward))
            .collect()
    }
}

impl<T: Config> ContributionInspect<T::AccountId> for Pallet<T> {
    fn contribution(id: ContributionId) -> Option<ContributionView<T::AccountId>> {
        Contributions::<T>::get(id).map(|c| ContributionView {
            datanet: c.datanet,
            contributor: c.contributor,
            content_hash: c.content_hash,
            status: c.status,
            snapshots: c.snapshots,
        })
    }

    fn in_snapshot(
        datanet: DatanetId,
        version: SnapshotVersion,
        contribution: ContributionId,
    ) -> bool {
        SnapshotMembers::<T>::get(datanet, version).binary_search(&contribution).is_ok()
    }

    fn can_use_snapshot(
        who: &T::AccountId,
        datanet: DatanetId,
        version: SnapshotVersion,
    ) -> Result<(), SnapshotAccessError> {
        let d = Datanets::<T>::get(datanet).ok_or(SnapshotAccessError::UnknownDatanet)?;
        // A datanet being destroyed is as good as gone.
        ensure!(d.status != DatanetStatus::Destroying, SnapshotAccessError::UnknownDatanet);
        ensure!(
            Snapshots::<T>::contains_key(datanet, version),
            SnapshotAccessError::UnknownSnapshot
        );
        ensure!(Self::has_access(&d, datanet, who), SnapshotAccessError::NoAccess);
        Ok(())
    }
}

impl<T: Config> RewardPoolFunding<T::AccountId> for Pallet<T>
where
    BalanceOf<T>: From<provena_primitives::Balance>,
{
    fn fund_reward_pool(
        datanet: DatanetId,
        from: &T::AccountId,
        amount: provena_primitives::Balance,
    ) -> DispatchResult {
        ensure!(Datanets::<T>::contains_key(datanet), Error::<T>::DatanetNotFound);
        let amount = BalanceOf::<T>::from(amount);
        let pool =
            RewardPools::<T>::get(datanet).checked_add(&amount).ok_or(Error::<T>::Overflow)?;
        T::Currency::transfer(
            from,
            &Self::account_id(),
            amount,
            polkadot_sdk::frame_support::traits::tokens::Preservation::Preserve,
        )?;
        RewardPools::<T>::insert(datanet, pool);
        Self::deposit_event(Event::RewardPoolFunded { datanet, from: from.clone(), amount });
        Ok(())
    }
}
