//! Benchmarks of every call and of closing an epoch, each in its worst case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use super::*;
use crate::Pallet as Bridge;
use alloc::{format, vec};
use polkadot_sdk::{
    frame_benchmarking::v2::*,
    frame_system::RawOrigin,
    sp_core::{crypto::KeyTypeId, ecdsa},
    sp_io::{crypto, hashing::keccak_256},
    sp_runtime::traits::Bounded,
};

/// What benchmarks need from the runtime.
pub trait BenchmarkHelper {
    /// Makes attribution epochs `0..n` settled.
    fn settle_epochs(n: u32);
}

const KEY: KeyTypeId = KeyTypeId(*b"brdg");

fn keys(n: u32) -> Vec<ecdsa::Public> {
    (0..n).map(|i| crypto::ecdsa_generate(KEY, Some(format!("//bridge{i}").into_bytes()))).collect()
}

fn sign(public: &ecdsa::Public, digest: &[u8; 32]) -> Signature {
    crypto::ecdsa_sign_prehashed(KEY, public, digest).expect("the key is in the keystore").0
}

fn address(public: &ecdsa::Public) -> H160 {
    let digest = keccak_256(b"address");
    message::signer(&digest, &sign(public, &digest)).unwrap()
}

/// Target, a committee of `n` keys (a bare majority must sign) and limits nothing reaches.
fn setup<T: Config>(n: u32) -> Vec<ecdsa::Public> {
    let keys = keys(n);
    Target::<T>::put((1u64, H160::repeat_byte(0xc0)));
    let members = BoundedVec::truncate_from(keys.iter().map(address).collect());
    CurrentCommittee::<T>::put(Committee { id: 0, members, threshold: n / 2 + 1 });
    let max = BalanceOf::<T>::max_value() / 4u32.into();
    Bridge::<T>::set_rate_limits(
        RawOrigin::Root.into(),
        RateLimits { out_capacity: max, out_per_block: max, in_capacity: max, in_per_block: max },
    )
    .unwrap();
    keys
}

/// Fills nonce `nonce` with `count` approvals of other transfers, each with the most
/// signatures, so that they are read (and deleted).
fn other_approvals<T: Config>(nonce: u64, count: u32, recipient: &T::AccountId) {
    let sig = (H160::repeat_byte(7), [7u8; 65]);
    let signatures = BoundedVec::truncate_from(vec![sig; T::MaxMembers::get() as usize]);
    let domain = Bridge::<T>::domain().unwrap();
    let committee = CurrentCommittee::<T>::get().unwrap().id;
    for i in 0..count {
        let transfer = InboundTransfer {
            source_chain_id: domain.eth_chain_id,
            contract: domain.contract,
            nonce,
            recipient: recipient.clone(),
            amount: T::MinTransfer::get(),
        };
        let digest = H256::from_low_u64_be(u64::from(i) + 1_000);
        InboundApprovals::<T>::insert(
            nonce,
            digest,
            InboundApproval { transfer, committee, signatures: signatures.clone() },
        );
    }
}

/// Locks `amount` (so that it can come back) and returns the transfer in of it, nonce 0.
fn locked_transfer<T: Config>(
    amount: BalanceOf<T>,
) -> (T::AccountId, InboundTransfer<T::AccountId, BalanceOf<T>>) {
    let who = funded::<T>("sender");
    Bridge::<T>::bridge_out(RawOrigin::Signed(who.clone()).into(), H160::repeat_byte(1), amount)
        .unwrap();
    let recipient: T::AccountId = account("recipient", 0, 0);
    let domain = Bridge::<T>::domain().unwrap();
    let transfer = InboundTransfer {
        source_chain_id: domain.eth_chain_id,
        contract: domain.contract,
        nonce: 0,
        recipient,
        amount,
    };
    (who, transfer)
}

fn funded<T: Config>(name: &'static str) -> T::AccountId {
    let who: T::AccountId = account(name, 0, 0);
    T::Currency::set_balance(&who, T::MinTransfer::get() * 1_000_000u32.into());
    who
}

#[benchmarks]
mod benches {
    use super::*;

    /// The last transfer a full queue takes.
    #[benchmark]
    fn bridge_out() {
        setup::<T>(T::MaxMembers::get());
        let who = funded::<T>("sender");
        for _ in 1..T::MaxMessagesPerEpoch::get() {
            Bridge::<T>::bridge_out(
                RawOrigin::Signed(who.clone()).into(),
                H160::repeat_byte(1),
                T::MinTransfer::get(),
            )
            .unwrap();
        }
        #[extrinsic_call]
        _(RawOrigin::Signed(who), H160::repeat_byte(1), T::MinTransfer::get());
        assert_eq!(Queue::<T>::get().len() as u32, T::MaxMessagesPerEpoch::get());
    }

    /// The signature that reaches the threshold of the largest committee.
    #[benchmark]
    fn submit_signature() {
        let keys = setup::<T>(T::MaxMembers::get());
        let who = funded::<T>("sender");
        Bridge::<T>::bridge_out(
            RawOrigin::Signed(who.clone()).into(),
            H160::repeat_byte(1),
            T::MinTransfer::get(),
        )
        .unwrap();
        Bridge::<T>::close_epoch(1u32.into());
        let committee = CurrentCommittee::<T>::get().unwrap();
        let mut e = Epochs::<T>::get(0).unwrap();
        let digest = Bridge::<T>::domain().unwrap().root_digest(0, 0, &e.root);
        let threshold = committee.threshold as usize;
        for k in &keys[..threshold - 1] {
            e.signatures.try_push((address(k), sign(k, &digest))).unwrap();
        }
        Epochs::<T>::insert(0, e);
        let last = sign(&keys[threshold - 1], &digest);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), 0, last);
        assert!(Epochs::<T>::get(0).unwrap().signed);
    }

    /// A transfer in with `s` valid signatures of a committee of `s`, deleting the most
    /// approvals a nonce holds.
    #[benchmark]
    fn bridge_in(s: Linear<1, { T::MaxMembers::get() }>) {
        let keys = setup::<T>(s);
        let (who, transfer) = locked_transfer::<T>(T::MinTransfer::get());
        other_approvals::<T>(0, Bridge::<T>::approvals_bound(), &transfer.recipient);
        let digest = Bridge::<T>::inbound_digest(&transfer).unwrap();
        let signatures =
            BoundedVec::truncate_from(keys.iter().map(|k| sign(k, &digest.0)).collect());
        #[extrinsic_call]
        _(RawOrigin::Signed(who), transfer, signatures);
        assert_eq!(NextInboundNonce::<T>::get(), 1);
        assert_eq!(InboundApprovals::<T>::iter_prefix(0).count(), 0);
    }

    /// The approval that reaches the largest committee's threshold, at a nonce where every
    /// other member approved another transfer (all read).
    #[benchmark]
    fn approve_in() {
        let keys = setup::<T>(T::MaxMembers::get());
        let (who, transfer) = locked_transfer::<T>(T::MinTransfer::get());
        let threshold = CurrentCommittee::<T>::get().unwrap().threshold as usize;
        let digest = Bridge::<T>::inbound_digest(&transfer).unwrap();
        for k in &keys[..threshold - 1] {
            Bridge::<T>::approve(transfer.clone(), sign(k, &digest.0)).unwrap();
        }
        let others = T::MaxMembers::get() - threshold as u32;
        other_approvals::<T>(0, others, &transfer.recipient);
        let last = sign(&keys[threshold - 1], &digest.0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), transfer, last);
        let approval = InboundApprovals::<T>::get(0, digest).unwrap();
        assert_eq!(approval.signatures.len(), threshold);
    }

    /// Releasing an approval of `s` signatures of a committee of `s`, deleting the most
    /// approvals a nonce holds.
    #[benchmark]
    fn release_in(s: Linear<1, { T::MaxMembers::get() }>) {
        let keys = setup::<T>(s);
        let (who, transfer) = locked_transfer::<T>(T::MinTransfer::get());
        other_approvals::<T>(0, Bridge::<T>::approvals_bound() - 1, &transfer.recipient);
        let digest = Bridge::<T>::inbound_digest(&transfer).unwrap();
        let signatures = keys.iter().map(|k| (address(k), sign(k, &digest.0))).collect();
        InboundApprovals::<T>::insert(
            0,
            digest,
            InboundApproval {
                transfer,
                committee: 0,
                signatures: BoundedVec::truncate_from(signatures),
            },
        );
        #[extrinsic_call]
        _(RawOrigin::Signed(who), 0, digest);
        assert_eq!(NextInboundNonce::<T>::get(), 1);
        assert_eq!(InboundApprovals::<T>::iter_prefix(0).count(), 0);
    }

    /// The outgoing signature that reaches the threshold of a handover between the largest
    /// committees.
    #[benchmark]
    fn sign_rotation() {
        let old = setup::<T>(T::MaxMembers::get());
        let who = funded::<T>("sender");
        let n = T::MaxMembers::get();
        let new: Vec<H160> = (0..n).map(|i| H160::from_low_u64_be(u64::from(i) + 1)).collect();
        Bridge::<T>::set_committee(
            RawOrigin::Root.into(),
            BoundedVec::truncate_from(new.clone()),
            n / 2 + 1,
        )
        .unwrap();
        let threshold = (n / 2 + 1) as usize;
        let digest = Bridge::<T>::domain().unwrap().rotation_digest(0, 1, n / 2 + 1, &new);
        for k in &old[..threshold - 1] {
            Bridge::<T>::sign_rotation(RawOrigin::Signed(who.clone()).into(), 1, sign(k, &digest))
                .unwrap();
        }
        let last = sign(&old[threshold - 1], &digest);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), 1, last);
        assert!(Rotations::<T>::get(1).unwrap().signed);
    }

    /// A committee of `n` replacing one, deleting the most approvals stored.
    #[benchmark]
    fn set_committee(n: Linear<1, { T::MaxMembers::get() }>) {
        setup::<T>(1);
        let recipient: T::AccountId = account("recipient", 0, 0);
        for nonce in 0..T::InboundWindow::get() {
            other_approvals::<T>(nonce, Bridge::<T>::approvals_bound(), &recipient);
        }
        let members = BoundedVec::truncate_from(keys(n).iter().map(address).collect());
        #[extrinsic_call]
        _(RawOrigin::Root, members, n / 2 + 1);
        assert_eq!(CurrentCommittee::<T>::get().unwrap().id, 1);
        assert_eq!(InboundApprovals::<T>::iter().count(), 0);
    }

    #[benchmark]
    fn set_target() {
        #[extrinsic_call]
        _(RawOrigin::Root, 1, H160::repeat_byte(2));
        assert!(Target::<T>::exists());
    }

    #[benchmark]
    fn set_rate_limits() {
        let limits = RateLimits {
            out_capacity: 1u32.into(),
            out_per_block: 1u32.into(),
            in_capacity: 1u32.into(),
            in_per_block: 1u32.into(),
        };
        #[extrinsic_call]
        _(RawOrigin::Root, limits);
        assert!(Limits::<T>::exists());
    }

    #[benchmark]
    fn set_paused() -> Result<(), BenchmarkError> {
        let origin =
            T::PauseOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, true);
        assert!(Paused::<T>::get());
        Ok(())
    }

    /// Closing an epoch of `t` transfers and `a` attribution roots, deleting the oldest epoch.
    #[benchmark]
    fn close_epoch(
        t: Linear<0, { T::MaxMessagesPerEpoch::get() }>,
        a: Linear<0, { T::MaxAttributionRootsPerEpoch::get() }>,
    ) {
        setup::<T>(T::MaxMembers::get());
        let who = funded::<T>("sender");
        for _ in 0..t {
            Bridge::<T>::bridge_out(
                RawOrigin::Signed(who.clone()).into(),
                H160::repeat_byte(1),
                T::MinTransfer::get(),
            )
            .unwrap();
        }
        T::BenchmarkHelper::settle_epochs(a);
        // An epoch about to leave the retention window, with full leaves.
        let retention = T::EpochRetention::get();
        NextEpoch::<T>::put(retention);
        Epochs::<T>::insert(
            0,
            Epoch {
                root: H256::zero(),
                leaf_count: 0,
                closed_at: 0u32.into(),
                committee: 0,
                signatures: BoundedVec::default(),
                signed: false,
            },
        );
        let leaf = BoundedVec::truncate_from(vec![1u8; 61]);
        EpochLeaves::<T>::insert(
            0,
            BoundedVec::truncate_from(vec![leaf; LeavesBound::<T>::get() as usize]),
        );
        #[block]
        {
            Bridge::<T>::close_epoch(1u32.into());
        }
        assert_eq!(Epochs::<T>::contains_key(retention), t + a > 0);
    }

    impl_benchmark_test_suite!(Bridge, crate::mock::new_bench_ext(), crate::mock::Test);
}
