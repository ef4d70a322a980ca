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

    /// A transfer in with `s` valid signatures of a committee of `s`.
    #[benchmark]
    fn bridge_in(s: Linear<1, { T::MaxMembers::get() }>) {
        let keys = setup::<T>(s);
        let who = funded::<T>("sender");
        let amount = T::MinTransfer::get();
        Bridge::<T>::bridge_out(
            RawOrigin::Signed(who.clone()).into(),
            H160::repeat_byte(1),
            amount,
        )
        .unwrap();
        let recipient: T::AccountId = account("recipient", 0, 0);
        let domain = Bridge::<T>::domain().unwrap();
        let transfer = InboundTransfer {
            source_chain_id: domain.eth_chain_id,
            contract: domain.contract,
            nonce: 0,
            recipient: recipient.clone(),
            amount,
        };
        let digest = domain.inbound_digest(
            0,
            0,
            &Bridge::<T>::account_bytes(&recipient),
            amount.unique_saturated_into(),
        );
        let signatures = BoundedVec::truncate_from(keys.iter().map(|k| sign(k, &digest)).collect());
        #[extrinsic_call]
        _(RawOrigin::Signed(who), transfer, signatures);
        assert_eq!(NextInboundNonce::<T>::get(), 1);
    }

    #[benchmark]
    fn set_committee(n: Linear<1, { T::MaxMembers::get() }>) {
        setup::<T>(1);
        let members = BoundedVec::truncate_from(keys(n).iter().map(address).collect());
        #[extrinsic_call]
        _(RawOrigin::Root, members, n / 2 + 1);
        assert_eq!(CurrentCommittee::<T>::get().unwrap().id, 1);
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
