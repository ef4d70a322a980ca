//! Benchmarks of every call, each in its worst case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use super::*;
use crate::Pallet as DatanetsPallet;
use alloc::vec;
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_support::traits::fungible::Mutate,
    frame_system::{Pallet as System, RawOrigin},
    sp_core::H256,
    sp_runtime::traits::Bounded,
};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
    who
}

fn max_text(len: u32) -> Vec<u8> {
    vec![b'x'; len as usize]
}

/// A datanet owned by `owner` with the longest texts and the most curators (so that curator
/// checks scan the whole list).
fn datanet<T: Config>(owner: &T::AccountId, visibility: Visibility) -> DatanetId {
    let id = NextDatanetId::<T>::get();
    DatanetsPallet::<T>::create_datanet(
        RawOrigin::Signed(owner.clone()).into(),
        max_text(T::MaxNameLen::get()),
        max_text(T::MaxUriLen::get()),
        max_text(T::MaxTagLen::get()),
        max_text(T::MaxTagLen::get()),
        visibility,
        T::MinContributionStake::get(),
        u64::MAX,
    )
    .unwrap();
    for i in 0..T::MaxCurators::get().saturating_sub(1) {
        DatanetsPallet::<T>::add_curator(
            RawOrigin::Signed(owner.clone()).into(),
            id,
            account("curator", i, 0),
        )
        .unwrap();
    }
    id
}

fn contribute_as<T: Config>(who: &T::AccountId, datanet: DatanetId, n: u32) -> ContributionId {
    let id = NextContributionId::<T>::get();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(u64::from(n) + 1).to_be_bytes());
    let hash = H256(bytes);
    DatanetsPallet::<T>::contribute(
        RawOrigin::Signed(who.clone()).into(),
        datanet,
        hash,
        1,
        1,
        max_text(T::MaxUriLen::get()),
        vec![],
        BalanceOf::<T>::max_value(),
    )
    .unwrap();
    id
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn create_datanet() {
        let owner = funded::<T>("owner", 0);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner.clone()),
            max_text(T::MaxNameLen::get()),
            max_text(T::MaxUriLen::get()),
            max_text(T::MaxTagLen::get()),
            max_text(T::MaxTagLen::get()),
            Visibility::Public,
            T::MinContributionStake::get(),
            1_000_000,
        );
        assert_eq!(Datanets::<T>::get(0).map(|d| d.owner), Some(owner));
    }

    #[benchmark]
    fn update_datanet() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let update = DatanetUpdate::<T> {
            description_uri: Some(max_text(T::MaxUriLen::get()).try_into().unwrap()),
            license: Some(max_text(T::MaxTagLen::get()).try_into().unwrap()),
            visibility: Some(Visibility::Private),
            contribution_stake: Some(T::MinContributionStake::get()),
            max_contribution_bytes: Some(1),
        };
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d, update);
        assert_eq!(Datanets::<T>::get(d).unwrap().max_contribution_bytes, 1);
    }

    #[benchmark]
    fn add_curator() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let curator: T::AccountId = account("new-curator", 0, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d, curator.clone());
        assert!(Datanets::<T>::get(d).unwrap().curators.contains(&curator));
    }

    #[benchmark]
    fn remove_curator() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let last: T::AccountId = account("new-curator", 0, 0);
        DatanetsPallet::<T>::add_curator(RawOrigin::Signed(owner.clone()).into(), d, last.clone())
            .unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d, last.clone());
        assert!(!Datanets::<T>::get(d).unwrap().curators.contains(&last));
    }

    #[benchmark]
    fn close_datanet() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d);
        assert_eq!(Datanets::<T>::get(d).unwrap().status, DatanetStatus::Closed);
    }

    #[benchmark]
    fn contribute() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            d,
            H256::repeat_byte(7),
            1,
            1,
            max_text(T::MaxUriLen::get()),
            max_text(T::MaxTagLen::get()),
            BalanceOf::<T>::max_value(),
        );
        assert_eq!(ContributorCount::<T>::get(&who), 1);
    }

    /// Accepting inserts into a full-but-one accepted list.
    #[benchmark]
    fn review_accept() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        for n in 0..T::MaxAcceptedPerDatanet::get().saturating_sub(1) {
            let id = contribute_as::<T>(&who, d, n);
            DatanetsPallet::<T>::do_review(owner.clone(), id, Verdict::Accept { quality: 50 })
                .unwrap();
        }
        let id = contribute_as::<T>(&who, d, u32::MAX - 1);
        // The last curator in the list reviews, so the curator scan is complete.
        let curator: T::AccountId = account("curator", T::MaxCurators::get().saturating_sub(2), 0);
        let reviewer = if T::MaxCurators::get() >= 2 { curator } else { owner };
        #[extrinsic_call]
        review(RawOrigin::Signed(reviewer), id, Verdict::Accept { quality: 100 });
        assert!(Contributions::<T>::get(id).unwrap().status.is_earning());
    }

    /// Rejecting removes the record; the last entry of both of its indices moves into its place.
    #[benchmark]
    fn review_reject() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        let id = contribute_as::<T>(&who, d, 0);
        let moved = contribute_as::<T>(&who, d, 1);
        #[extrinsic_call]
        review(RawOrigin::Signed(owner), id, Verdict::Reject);
        assert!(!Contributions::<T>::contains_key(id));
        assert_eq!(Contributions::<T>::get(moved).unwrap().datanet_index, 0);
    }

    /// The worst slash: a dispute of an accepted contribution in a full accepted list (it is
    /// removed from the list).
    #[benchmark]
    fn review_slash() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        for n in 0..T::MaxAcceptedPerDatanet::get() {
            let id = contribute_as::<T>(&who, d, n);
            DatanetsPallet::<T>::do_review(owner.clone(), id, Verdict::Accept { quality: 50 })
                .unwrap();
        }
        let id = Accepted::<T>::get(d)[0];
        #[extrinsic_call]
        review(RawOrigin::Signed(owner), id, Verdict::Slash);
        assert_eq!(Contributions::<T>::get(id).unwrap().status, ContributionStatus::Slashed);
    }

    /// Withdrawing an accepted contribution removes it from a full accepted list.
    #[benchmark]
    fn withdraw_contribution() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        for n in 0..T::MaxAcceptedPerDatanet::get() {
            let id = contribute_as::<T>(&who, d, n);
            DatanetsPallet::<T>::do_review(owner.clone(), id, Verdict::Accept { quality: 50 })
                .unwrap();
        }
        let first = Accepted::<T>::get(d)[0];
        #[extrinsic_call]
        _(RawOrigin::Signed(who), first);
        assert_eq!(Contributions::<T>::get(first).unwrap().status, ContributionStatus::Withdrawn);
    }

    #[benchmark]
    fn release_stake() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        let id = contribute_as::<T>(&who, d, 0);
        DatanetsPallet::<T>::do_review(owner, id, Verdict::Accept { quality: 50 }).unwrap();
        let unlock = Contributions::<T>::get(id).unwrap().stake_unlocks_at.unwrap();
        System::<T>::set_block_number(unlock);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), id);
        assert!(Contributions::<T>::get(id).unwrap().stake_held.is_zero());
    }

    /// Publishing hashes `n` leaves, after comparing them with a previous snapshot of `n - 1`.
    #[benchmark]
    fn publish_snapshot(n: Linear<1, { T::MaxAcceptedPerDatanet::get() }>) {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        for i in 0..n {
            if i + 1 == n && n > 1 {
                DatanetsPallet::<T>::do_publish_snapshot(owner.clone(), d).unwrap();
            }
            let id = contribute_as::<T>(&who, d, i);
            DatanetsPallet::<T>::do_review(owner.clone(), id, Verdict::Accept { quality: 50 })
                .unwrap();
        }
        let version = Datanets::<T>::get(d).unwrap().snapshot_count + 1;
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d);
        assert_eq!(Snapshots::<T>::get(d, version).unwrap().contribution_count, n);
    }

    #[benchmark]
    fn request_access() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Private);
        let who = funded::<T>("requester", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), d, max_text(T::MaxUriLen::get()));
        assert!(AccessRequests::<T>::contains_key(d, &who));
    }

    /// A grant nobody asked for: the owner holds its deposit.
    #[benchmark]
    fn grant_access() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Private);
        let who = funded::<T>("requester", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d, who.clone());
        assert!(AccessGrants::<T>::contains_key(d, &who));
    }

    #[benchmark]
    fn cancel_access_request() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Private);
        let who = funded::<T>("requester", 0);
        DatanetsPallet::<T>::request_access(
            RawOrigin::Signed(who.clone()).into(),
            d,
            max_text(T::MaxUriLen::get()),
        )
        .unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), d);
        assert!(!AccessRequests::<T>::contains_key(d, &who));
    }

    #[benchmark]
    fn start_destroy() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d);
        assert_eq!(Datanets::<T>::get(d).unwrap().status, DatanetStatus::Destroying);
    }

    /// Removing `n` accepted contributions whose stakes are still locked; each one's contributor
    /// has later contributions elsewhere, so its index entry is swapped with the last one.
    #[benchmark]
    fn destroy_items(n: Linear<1, MAX_DESTROY_ITEMS>) {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let other = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        for i in 0..n {
            let id = contribute_as::<T>(&who, d, i);
            // (A test runtime may accept fewer than `MAX_DESTROY_ITEMS`; the rest stay pending,
            // which costs the same to remove: a stake and a deposit released.)
            if i < T::MaxAcceptedPerDatanet::get() {
                DatanetsPallet::<T>::do_review(owner.clone(), id, Verdict::Accept { quality: 50 })
                    .unwrap();
            }
        }
        for i in 0..n {
            contribute_as::<T>(&who, other, i);
        }
        DatanetsPallet::<T>::start_destroy(RawOrigin::Signed(owner).into(), d).unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), d, n);
        assert_eq!(Datanets::<T>::get(d).unwrap().contribution_count, 0);
        assert_eq!(ContributorCount::<T>::get(&who), n);
    }

    #[benchmark]
    fn revoke_access() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Private);
        let who = funded::<T>("requester", 0);
        DatanetsPallet::<T>::request_access(RawOrigin::Signed(who.clone()).into(), d, vec![])
            .unwrap();
        DatanetsPallet::<T>::grant_access(RawOrigin::Signed(owner.clone()).into(), d, who.clone())
            .unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), d, who.clone());
        assert!(!AccessGrants::<T>::contains_key(d, &who));
    }

    #[benchmark]
    fn commit() {
        let who = funded::<T>("committer", 0);
        let c = H256::repeat_byte(3);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), c);
        assert!(Commitments::<T>::contains_key(&who, c));
    }

    /// Someone else clears an expired commitment.
    #[benchmark]
    fn clear_commitment() {
        let who = funded::<T>("committer", 0);
        let c = H256::repeat_byte(3);
        DatanetsPallet::<T>::do_commit(who.clone(), c).unwrap();
        let expired = System::<T>::block_number() + T::CommitLifetime::get() + 1u32.into();
        System::<T>::set_block_number(expired);
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), who.clone(), c);
        assert!(!Commitments::<T>::contains_key(&who, c));
    }

    /// A reveal that takes the hash over from a front-runner's pending contribution (which
    /// leaves both indices, each with the last entry moving into its place).
    #[benchmark]
    fn contribute_committed() {
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let who = funded::<T>("contributor", 0);
        let front = funded::<T>("front-runner", 0);
        let hash = H256::repeat_byte(9);
        let salt = H256::repeat_byte(1);
        let commitment = provena_primitives::commit::commitment(&hash, &who, &salt);
        DatanetsPallet::<T>::do_commit(who.clone(), commitment).unwrap();
        System::<T>::set_block_number(System::<T>::block_number() + 1u32.into());
        let taken = NextContributionId::<T>::get();
        DatanetsPallet::<T>::contribute(
            RawOrigin::Signed(front.clone()).into(),
            d,
            hash,
            1,
            1,
            max_text(T::MaxUriLen::get()),
            vec![],
            BalanceOf::<T>::max_value(),
        )
        .unwrap();
        contribute_as::<T>(&front, d, 1);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            d,
            hash,
            1,
            1,
            max_text(T::MaxUriLen::get()),
            max_text(T::MaxTagLen::get()),
            BalanceOf::<T>::max_value(),
            salt,
        );
        assert!(!Contributions::<T>::contains_key(taken));
        assert_eq!(ContributorCount::<T>::get(&who), 1);
    }

    /// A spend that leaves something in the pool and creates its beneficiary's account.
    #[benchmark]
    fn spend_pool() -> Result<(), BenchmarkError> {
        let origin =
            T::PoolSpendOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let max = T::PoolSpendOrigin::ensure_origin(origin.clone())
            .map_err(|_| BenchmarkError::Weightless)?;
        let owner = funded::<T>("owner", 0);
        let d = datanet::<T>(&owner, Visibility::Public);
        let amount = T::MinContributionStake::get().min(max);
        let pool = amount.saturating_mul(2u32.into());
        let pallet_account = DatanetsPallet::<T>::account_id();
        T::Currency::set_balance(
            &pallet_account,
            T::Currency::minimum_balance().saturating_add(pool),
        );
        RewardPools::<T>::insert(d, pool);
        let beneficiary: T::AccountId = account("beneficiary", 0, 0);
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, d, beneficiary.clone(), amount);
        assert_eq!(RewardPools::<T>::get(d), pool - amount);
        assert_eq!(T::Currency::balance(&beneficiary), amount);
        Ok(())
    }

    impl_benchmark_test_suite!(
        DatanetsPallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
