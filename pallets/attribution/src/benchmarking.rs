//! Benchmarks of every call in its worst case, of crediting distinct payees, and of closing an
//! epoch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use super::*;
use crate::Pallet as Attribution;
use alloc::vec;
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_support::traits::fungible::{Inspect, Mutate, MutateHold},
    frame_system::RawOrigin,
};
use provena_primitives::attribution::{Voucher, PPM};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
    let who: T::AccountId = account(name, index, 0);
    T::Currency::set_balance(&who, Balance::MAX / 1_024);
    who
}

/// An operator: an agent of the agents pallet serving any model.
fn operator<T: Config>() -> T::AccountId {
    use provena_primitives::agents::AgentBonds;
    let op = funded::<T>("operator", 0);
    T::Agents::enroll(&op, true).unwrap();
    op
}

/// A signed receipt of user `user_index` attributing evenly to `contributions`.
fn input<T: Config>(
    user_index: u32,
    model: ModelId,
    operator: &T::AccountId,
    contributions: &[ContributionId],
) -> ReceiptInput<T> {
    // Block 0 redeems no signed voucher: its anchor must come before the redeeming block.
    if frame_system::Pallet::<T>::block_number().is_zero() {
        frame_system::Pallet::<T>::set_block_number(1u32.into());
    }
    let mut request = [0u8; 32];
    request[..4].copy_from_slice(&user_index.to_be_bytes());
    let voucher = Voucher {
        request_id: H256(request),
        model,
        max_fee: Balance::MAX,
        operator: operator.clone(),
        expires_at: frame_system::Pallet::<T>::block_number() + T::MaxVoucherLifetime::get(),
    };
    let payload = Attribution::<T>::api_voucher_payload(voucher.clone());
    let (user, signature) = T::BenchmarkHelper::sign(user_index, &payload);
    T::Currency::set_balance(&user, Balance::MAX / 1_024);
    let e = contributions.len() as u32;
    let attribution = contributions
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, PPM / e + if i == 0 { PPM % e } else { 0 }))
        .collect();
    ReceiptInput {
        voucher,
        user,
        signature: Some(signature),
        model,
        input_tokens: 1_000,
        output_tokens: 1_000,
        attribution,
        pool: None,
        retrieved_from: None,
        evidence_hash: H256::repeat_byte(0xee),
    }
}

/// A reward record with all the pending buckets it may hold but one, claimable after `now`
/// (one credited at `now + MaxPendingBuckets` is inserted after them).
fn almost_full_record<T: Config>(now: BlockNumberFor<T>) -> RewardRecord<T> {
    let buckets = T::MaxPendingBuckets::get().saturating_sub(1);
    let pending: Vec<_> = (1..=buckets).map(|i| (now + i.into(), 1_000)).collect();
    RewardRecord::<T> {
        earned: 1_000 * Balance::from(buckets),
        claimed: 0,
        matured: 0,
        frozen: 0,
        pending: BoundedVec::try_from(pending).unwrap(),
    }
}

/// A funded user and a voucher for an active model and a registered operator, expiring in 100
/// blocks, for the user to prepay.
fn voucher_to_prepay<T: Config>() -> (T::AccountId, VoucherOf<T>) {
    let op = operator::<T>();
    let owner = funded::<T>("owner", 0);
    let (model, _) = T::BenchmarkHelper::model_with_contributions(&owner, 1);
    let voucher = Voucher {
        request_id: H256::repeat_byte(0x42),
        model,
        max_fee: 1_000_000_000,
        operator: op,
        expires_at: frame_system::Pallet::<T>::block_number() + 100u32.into(),
    };
    (funded::<T>("user", 0), voucher)
}

/// Fills the current epoch with leaves up to `room` short of its capacity: the costliest
/// epoch to add receipts to.
fn fill_epoch<T: Config>(room: u32) {
    let epoch = Attribution::<T>::epoch_of(frame_system::Pallet::<T>::block_number());
    let count = T::MaxReceiptsPerEpoch::get().saturating_sub(room);
    let leaves: Vec<H256> = (0..count).map(|i| H256::from_low_u64_be(u64::from(i))).collect();
    EpochLeaves::<T>::insert(epoch, BoundedVec::try_from(leaves).unwrap());
}

/// The operator submits one receipt attributing to `e` distinct contributions; returns it.
fn submitted<T: Config>(e: u32) -> (T::AccountId, u64) {
    let op = operator::<T>();
    let owner = funded::<T>("owner", 0);
    let (model, contributions) = T::BenchmarkHelper::model_with_contributions(&owner, e);
    let receipt = input::<T>(0, model, &op, &contributions[..e as usize]);
    Attribution::<T>::do_submit(op.clone(), vec![receipt.into()]).unwrap();
    (op, NextReceiptId::<T>::get() - 1)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn set_challenge_window() {
        let origin = T::ParameterOrigin::try_successful_origin().unwrap();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, 77u32.into());
        assert_eq!(ChallengeWindow::<T>::get(), 77u32.into());
    }

    /// `n` receipts from `n` users in the costliest shape a receipt has, all of one shape: for
    /// one LoRA adapter (so its base model is read too) and retrieving from one private
    /// snapshot the operator was granted (the RAG path's access check); all attribute to the
    /// same `e` contributions, so that crediting touches `e + 3` reward records (the
    /// contributions, the developer, the operator, the treasury). The epoch already holds all
    /// the leaves it can take but these `n`. Receipts of more shapes are
    /// [`submit_receipts_models`], reading and crediting more distinct contributions is
    /// [`credit_contributions`], crediting more distinct payees of other kinds is
    /// [`credit_payees`].
    #[benchmark]
    fn submit_receipts(
        n: Linear<1, { T::MaxReceiptsPerCall::get() }>,
        e: Linear<0, { T::MaxEntries::get() }>,
    ) {
        let op = operator::<T>();
        let owner = funded::<T>("owner", 0);
        let (first, contributions) = T::BenchmarkHelper::model_with_contributions(&owner, e);
        let snapshot = T::Models::model(first).unwrap().trained_on[0];
        let (adapter, retrieval) =
            T::BenchmarkHelper::adapter_with_retrieval(&owner, &op, snapshot);
        let receipts: Vec<_> = (0..n)
            .map(|i| {
                let mut r = input::<T>(i, adapter, &op, &contributions[..e as usize]);
                r.retrieved_from = Some(retrieval);
                r
            })
            .collect();
        fill_epoch::<T>(n);
        #[extrinsic_call]
        submit_receipts(RawOrigin::Signed(op), receipts);
        assert_eq!(NextReceiptId::<T>::get(), u64::from(n));
    }

    /// `m` receipts as in [`submit_receipts`] without attribution, but each of its own shape:
    /// its own adapter, base model and retrieved private snapshot. `submit_weight` charges
    /// what this costs over `submit_receipts(m, 0)` for each distinct (model, retrieval) pair.
    #[benchmark]
    fn submit_receipts_models(m: Linear<1, { T::MaxReceiptsPerCall::get() }>) {
        let op = operator::<T>();
        let owner = funded::<T>("owner", 0);
        let (first, _) = T::BenchmarkHelper::model_with_contributions(&owner, 0);
        let snapshot = T::Models::model(first).unwrap().trained_on[0];
        let receipts: Vec<_> = (0..m)
            .map(|i| {
                let (adapter, retrieval) =
                    T::BenchmarkHelper::adapter_with_retrieval(&owner, &op, snapshot);
                let mut r = input::<T>(i, adapter, &op, &[]);
                r.retrieved_from = Some(retrieval);
                r
            })
            .collect();
        fill_epoch::<T>(m);
        #[extrinsic_call]
        submit_receipts(RawOrigin::Signed(op), receipts);
        assert_eq!(NextReceiptId::<T>::get(), u64::from(m));
    }

    /// Crediting `p` distinct accounts whose reward records hold all the pending buckets they
    /// can but one (the costliest record to decode, insert into and encode).
    #[benchmark]
    fn credit_payees(p: Linear<1, { T::MaxReceiptsPerCall::get() * T::MaxEntries::get() + 4 }>) {
        let now = frame_system::Pallet::<T>::block_number();
        let payees: Vec<PayeeOf<T>> =
            (0..p).map(|i| Payee::Account(account("payee", i, 0))).collect();
        let full = almost_full_record::<T>(now);
        for payee in &payees {
            Rewards::<T>::insert(payee, full.clone());
        }
        let credits: BTreeMap<PayeeOf<T>, Balance> =
            payees.iter().map(|payee| (payee.clone(), 1_000)).collect();
        #[block]
        {
            Attribution::<T>::credit(credits, now + T::MaxPendingBuckets::get().into(), now)
                .unwrap();
        }
        assert_eq!(Rewards::<T>::get(&payees[0]).unwrap().earned, full.earned + 1_000);
    }

    /// Reading (as a receipt's check does) and crediting `c` distinct contributions whose
    /// reward records (kept in their datanet records) hold all the pending buckets they can but
    /// one. Linear in `c`; measured up to a quarter of the most a call can attribute (setting
    /// up contributions is slow).
    #[benchmark]
    fn credit_contributions(
        c: Linear<1, { T::MaxReceiptsPerCall::get() * T::MaxEntries::get() / 4 }>,
    ) {
        let owner = funded::<T>("owner", 0);
        let (_, ids) = T::BenchmarkHelper::model_with_contributions(&owner, c);
        let now = frame_system::Pallet::<T>::block_number();
        let full = almost_full_record::<T>(now);
        for id in &ids {
            T::Datanets::mutate_reward(*id, |r| {
                *r = full.clone();
                Ok(())
            })
            .unwrap();
        }
        let credits: BTreeMap<PayeeOf<T>, Balance> =
            ids.iter().map(|id| (Payee::Contribution(*id), 1_000)).collect();
        #[block]
        {
            for id in &ids {
                assert!(T::Datanets::contribution(*id).is_some());
            }
            Attribution::<T>::credit(credits, now + T::MaxPendingBuckets::get().into(), now)
                .unwrap();
        }
        assert_eq!(T::Datanets::reward(ids[0]).unwrap().earned, full.earned + 1_000);
    }

    /// `p` payees with matured rewards, of the costliest kind: model holders, paid through the
    /// models pallet (holder revenue left matured by a v0 chain; since v1 it is paid when
    /// credited, which `submit_weight` prices as one such claim per model).
    #[benchmark]
    fn claim_rewards(p: Linear<1, { T::MaxClaims::get() }>) {
        let owner = funded::<T>("owner", 0);
        let account = Attribution::<T>::account_id();
        let mut payees = Vec::new();
        for _ in 0..p {
            let (model, _) = T::BenchmarkHelper::model_with_contributions(&owner, 1);
            T::BenchmarkHelper::launch_with_holder(&owner, model);
            let amount: Balance = 1_000_000_000_000;
            let floor = T::Currency::minimum_balance();
            T::Currency::mint_into(&account, amount + floor).unwrap();
            T::Currency::hold(&HoldReason::Fees.into(), &account, amount).unwrap();
            let payee = Payee::ModelHolders(model);
            let record = RewardRecord::<T> {
                earned: amount,
                claimed: 0,
                matured: amount,
                frozen: 0,
                pending: Default::default(),
            };
            Rewards::<T>::insert(&payee, record);
            FeeTotals::<T>::mutate(|t| t.charged += amount);
            payees.push(payee);
        }
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), payees.clone());
        assert!(Rewards::<T>::get(&payees[0]).unwrap().claimed > 0);
    }

    /// A receipt with `e` distinct attributed contributions.
    #[benchmark]
    fn challenge_receipt(e: Linear<0, { T::MaxEntries::get() }>) {
        let (_, id) = submitted::<T>(e);
        let challenger = funded::<T>("challenger", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(challenger), id);
        assert!(Challenges::<T>::contains_key(id));
    }

    /// Upholding (refund, slash, reversal) a challenge of a receipt with `e` contributions.
    #[benchmark]
    fn resolve_challenge(e: Linear<0, { T::MaxEntries::get() }>) {
        let (_, id) = submitted::<T>(e);
        let challenger = funded::<T>("challenger", 0);
        Attribution::<T>::challenge_receipt(RawOrigin::Signed(challenger).into(), id).unwrap();
        let origin = T::ResolveOrigin::try_successful_origin().unwrap();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id, true);
        assert!(!Challenges::<T>::contains_key(id));
    }

    /// Closing an epoch of `n` receipts (the Merkle root over `n` leaves).
    #[benchmark]
    fn close_epoch(n: Linear<1, { T::MaxReceiptsPerEpoch::get() }>) {
        let leaves: Vec<H256> = (0..n).map(|i| H256::repeat_byte((i % 256) as u8)).collect();
        EpochLeaves::<T>::insert(0, BoundedVec::try_from(leaves).unwrap());
        let now = frame_system::Pallet::<T>::block_number();
        #[block]
        {
            Attribution::<T>::close_epoch(0, now);
        }
        assert!(EpochRoots::<T>::contains_key(0));
    }

    /// Pruning `n` due receipts, each of the largest kind (every attribution entry, so the most
    /// payouts, and a retrieval) with its spent-voucher mark, and each of its own model (an
    /// adapter of the model trained on the contributions' snapshot), so each reads and writes
    /// its model's index and removes a run of its own; the last of them also removes its
    /// epoch's leaves.
    #[benchmark]
    fn prune_receipts(n: Linear<0, { T::MaxReceiptsPerCall::get() }>) {
        let op = operator::<T>();
        let owner = funded::<T>("owner", 0);
        let e = T::MaxEntries::get();
        let (model, contributions) = T::BenchmarkHelper::model_with_contributions(&owner, e);
        let snapshot = T::Models::model(model).unwrap().trained_on[0];
        if n > 0 {
            let receipts = (0..n)
                .map(|i| {
                    let (adapter, retrieval) =
                        T::BenchmarkHelper::adapter_with_retrieval(&owner, &op, snapshot);
                    let mut r = input::<T>(i, adapter, &op, &contributions);
                    r.retrieved_from = Some(retrieval);
                    r.into()
                })
                .collect();
            let outcome = Attribution::<T>::do_submit(op, receipts).unwrap();
            assert_eq!(outcome.settled, n);
        }
        let now = frame_system::Pallet::<T>::block_number();
        let epoch = Attribution::<T>::epoch_of(now);
        let due = Receipts::<T>::get(0).map(|r| Attribution::<T>::prunable_at(&r)).unwrap_or(now);
        frame_system::Pallet::<T>::set_block_number(due);
        Attribution::<T>::close_epoch(epoch, due);
        #[block]
        {
            assert_eq!(Attribution::<T>::prune(due, n), n);
        }
        assert_eq!(PruneCursor::<T>::get().next, u64::from(n));
        assert!(Receipts::<T>::iter().next().is_none());
        assert!(!EpochLeaves::<T>::contains_key(epoch));
    }

    /// Prepaying a voucher: the model and operator checks, the hold and the record.
    #[benchmark]
    fn prepay_voucher() {
        let (user, voucher) = voucher_to_prepay::<T>();
        #[extrinsic_call]
        _(RawOrigin::Signed(user.clone()), voucher.clone());
        assert!(PrepaidVouchers::<T>::contains_key(&user, voucher.request_id));
    }

    /// Releasing an expired prepaid voucher.
    #[benchmark]
    fn release_voucher() {
        let (user, voucher) = voucher_to_prepay::<T>();
        Attribution::<T>::do_prepay_voucher(user.clone(), voucher.clone()).unwrap();
        frame_system::Pallet::<T>::set_block_number(voucher.expires_at + 1u32.into());
        #[extrinsic_call]
        _(RawOrigin::Signed(user.clone()), voucher.request_id);
        assert!(!PrepaidVouchers::<T>::contains_key(&user, voucher.request_id));
    }

    /// What a receipt naming a prepaid voucher adds to `submit_receipts`: releasing the hold
    /// and removing the voucher.
    #[benchmark]
    fn redeem_prepaid() {
        let (user, voucher) = voucher_to_prepay::<T>();
        Attribution::<T>::do_prepay_voucher(user.clone(), voucher.clone()).unwrap();
        #[block]
        {
            Attribution::<T>::redeem_prepaid(&user, voucher.request_id, voucher.max_fee).unwrap();
        }
        assert!(!PrepaidVouchers::<T>::contains_key(&user, voucher.request_id));
    }

    impl_benchmark_test_suite!(Attribution, crate::mock::ExtBuilder.build(), crate::mock::Test);
}
