//! The bridge to Ethereum (`pallet-bridge`): OPEN out and back, and attribution epoch roots
//! settled on Ethereum, through an M-of-N committee of Ethereum keys.
//!
//! | setting | value |
//! | --- | --- |
//! | committee, Ethereum target, rate limits | root (a referendum on the root track); none at genesis: nothing crosses until set |
//! | pause | root, or the guardian account (`Bridge.Guardian`, a parameter only root sets; none by default) |
//! | bridge epoch | an hour on the governance timescale, at least 10 blocks (a minute on `--dev` and `local_testnet`) |
//! | epochs kept (leaves for proofs, signatures) | 168 (a week of hourly epochs) |
//! | transfers per epoch / attribution roots per epoch | 256 / 64 (an hour holds 60 attribution epochs) |
//! | committee | at most 16 members, a majority threshold |
//! | least transfer | 1 OPEN each way |
//! | inbound approvals | nonces up to 16 past the next; the last 8 handovers kept |
//!
//! The guardian holds no signing power and cannot touch funds: it stops both directions at once
//! when something looks wrong, without waiting for a referendum.

use crate::{Balances, BlockNumber, ConvictionVoting, Runtime, RuntimeEvent, RuntimeOrigin};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{ConstU32, ConstU64, EitherOf, EnsureOrigin, Get},
        PalletId,
    },
    frame_system::{self, EnsureRoot},
};
use provena_primitives::{currency::OPEN, AccountId, Balance};

parameter_types! {
    /// The bridge account: it holds the OPEN locked against wrapped OPEN on Ethereum.
    pub const BridgePalletId: PalletId = PalletId(*b"prv/brdg");
    pub const MinBridgeTransfer: Balance = OPEN;
}

/// A bridge epoch: an hour on the governance timescale, never under 10 blocks.
pub struct BridgeEpochLength;
impl Get<BlockNumber> for BridgeEpochLength {
    fn get() -> BlockNumber {
        ConvictionVoting::scaled(crate::time::HOURS).max(10)
    }
}

/// The guardian account (`Bridge.Guardian`), signing.
pub struct BridgeGuardian;
impl EnsureOrigin<RuntimeOrigin> for BridgeGuardian {
    type Success = ();
    fn try_origin(o: RuntimeOrigin) -> Result<(), RuntimeOrigin> {
        let guardian = super::dynamic_params::bridge::Guardian::get();
        match o.clone().into() {
            Ok(frame_system::RawOrigin::Signed(who))
                if guardian != [0u8; 32] && who == AccountId::new(guardian) =>
            {
                Ok(())
            }
            _ => Err(o),
        }
    }
    #[cfg(feature = "runtime-benchmarks")]
    fn try_successful_origin() -> Result<RuntimeOrigin, ()> {
        Err(())
    }
}

impl pallet_bridge::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type PalletId = BridgePalletId;
    type AdminOrigin = EnsureRoot<AccountId>;
    type PauseOrigin = EitherOf<EnsureRoot<AccountId>, BridgeGuardian>;
    type SettledEpochs = crate::Attribution;
    type ProvenaChainId = ConstU64<{ super::EVM_CHAIN_ID }>;
    type EpochLength = BridgeEpochLength;
    type EpochRetention = ConstU64<168>;
    type MaxMessagesPerEpoch = ConstU32<256>;
    type MaxAttributionRootsPerEpoch = ConstU32<64>;
    type MaxMembers = ConstU32<16>;
    type MinTransfer = MinBridgeTransfer;
    type InboundWindow = ConstU64<16>;
    type RotationRetention = ConstU32<8>;
    type WeightInfo = pallet_bridge::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = BridgeBenchmarks;
}

/// Settled attribution epochs for the bridge benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct BridgeBenchmarks;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_bridge::benchmarking::BenchmarkHelper for BridgeBenchmarks {
    fn settle_epochs(n: u32) {
        // Epochs `0..n` closed: the block is in epoch `n`.
        polkadot_sdk::frame_system::Pallet::<Runtime>::set_block_number(
            n.saturating_mul(super::EpochLength::get()),
        );
        for epoch in 0..n {
            pallet_attribution::EpochRoots::<Runtime>::insert(
                epoch,
                pallet_attribution::EpochRoot {
                    root: polkadot_sdk::sp_core::H256::repeat_byte(1),
                    receipts: epoch,
                    closed_at: 1,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;
    use crate::{
        configs::{dynamic_params, origins::Origin, RuntimeParameters},
        genesis_config_presets::{tests::with_preset, TESTNET_RUNTIME_PRESET},
        Bridge, Parameters, System,
    };
    use pallet_bridge::{message, RateLimits};
    use polkadot_sdk::{
        frame_support::{assert_noop, assert_ok, traits::Hooks, BoundedVec},
        sp_core::{ecdsa, Pair, H160},
        sp_genesis_builder::DEV_RUNTIME_PRESET,
        sp_keyring::Sr25519Keyring,
        sp_runtime::DispatchError,
    };
    use provena_primitives::merkle;

    fn set_guardian(
        origin: RuntimeOrigin,
        who: Option<AccountId>,
    ) -> polkadot_sdk::sp_runtime::DispatchResult {
        // `None`: back to the default (no guardian).
        Parameters::set_parameter(
            origin,
            RuntimeParameters::Bridge(dynamic_params::bridge::Parameters::Guardian(
                dynamic_params::bridge::Guardian,
                who.map(Into::into),
            )),
        )
    }

    #[test]
    fn only_root_names_the_guardian_and_only_it_or_root_pauses() {
        with_preset(DEV_RUNTIME_PRESET, || {
            System::set_block_number(1);
            let guardian: AccountId = Sr25519Keyring::Ferdie.to_account_id();
            let alice = RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id());
            // The parameters track sets other parameters, not who may pause the bridge.
            assert_noop!(
                set_guardian(Origin::ParameterAdmin.into(), Some(guardian.clone())),
                DispatchError::BadOrigin
            );
            assert_noop!(Bridge::set_paused(alice.clone(), true), DispatchError::BadOrigin);
            // By default no one is the guardian (not even the all-zero account).
            assert_noop!(
                Bridge::set_paused(RuntimeOrigin::signed(AccountId::new([0u8; 32])), true),
                DispatchError::BadOrigin
            );
            assert_noop!(
                Bridge::set_paused(RuntimeOrigin::signed(guardian.clone()), true),
                DispatchError::BadOrigin
            );
            assert_ok!(set_guardian(RuntimeOrigin::root(), Some(guardian.clone())));
            assert_ok!(Bridge::set_paused(RuntimeOrigin::signed(guardian.clone()), true));
            assert!(pallet_bridge::Paused::<Runtime>::get());
            assert_noop!(Bridge::set_paused(alice, false), DispatchError::BadOrigin);
            assert_ok!(Bridge::set_paused(RuntimeOrigin::root(), false));
            // The committee and target are root's alone.
            assert_noop!(
                Bridge::set_target(Origin::ParameterAdmin.into(), 1, H160::repeat_byte(1)),
                DispatchError::BadOrigin
            );
        });
    }

    /// An hour of attribution epochs fits one bridge epoch, so settling never falls behind.
    #[test]
    fn bridge_epochs_carry_every_attribution_epoch() {
        for (preset, expected) in [(DEV_RUNTIME_PRESET, 10), (TESTNET_RUNTIME_PRESET, 600)] {
            with_preset(preset, || {
                let length = BridgeEpochLength::get();
                assert_eq!(length, expected, "{preset}");
                let per_epoch = length.div_ceil(super::super::EpochLength::get());
                assert!(
                    per_epoch <= 64,
                    "{preset}: {per_epoch} attribution epochs per bridge epoch"
                );
            });
        }
    }

    /// Out on the real runtime: the epoch closes at its boundary and the proof the runtime API
    /// serves leads to the root the committee signs.
    #[test]
    fn a_transfer_out_closes_into_a_provable_signed_epoch() {
        with_preset(DEV_RUNTIME_PRESET, || {
            System::set_block_number(1);
            let keys: Vec<ecdsa::Pair> =
                (1..=3).map(|i| ecdsa::Pair::from_seed(&[i; 32])).collect();
            let address = |p: &ecdsa::Pair| {
                let d = [7u8; 32];
                message::signer(&d, &p.sign_prehashed(&d).0).unwrap()
            };
            assert_ok!(Bridge::set_target(RuntimeOrigin::root(), 31_337, H160::repeat_byte(0xc0)));
            let members = BoundedVec::truncate_from(keys.iter().map(address).collect());
            assert_ok!(Bridge::set_committee(RuntimeOrigin::root(), members, 2));
            let big = 1_000_000 * OPEN;
            assert_ok!(Bridge::set_rate_limits(
                RuntimeOrigin::root(),
                RateLimits {
                    out_capacity: big,
                    out_per_block: big,
                    in_capacity: big,
                    in_per_block: big
                }
            ));
            let alice = RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id());
            assert_noop!(
                Bridge::bridge_out(alice.clone(), H160::repeat_byte(1), OPEN - 1),
                pallet_bridge::Error::<Runtime>::BelowMinimum
            );
            assert_ok!(Bridge::bridge_out(alice, H160::repeat_byte(1), 5 * OPEN));
            let length = BridgeEpochLength::get();
            while System::block_number() < length {
                let next = System::block_number() + 1;
                System::set_block_number(next);
                Bridge::on_initialize(next);
            }
            let status = Bridge::status();
            assert_eq!((status.next_epoch, status.total_locked), (1, 5 * OPEN));
            let (epoch, proof) = Bridge::transfer_proof(0).unwrap();
            let info = Bridge::epoch_info(epoch).unwrap();
            assert!(merkle::verify(&info.root, &proof));
            assert_eq!(proof.leaf, message::transfer_leaf(0, &H160::repeat_byte(1), 5 * OPEN));
            let digest = Bridge::domain().unwrap().root_digest(0, epoch, &info.root);
            for k in &keys[..2] {
                assert_ok!(Bridge::submit_signature(
                    RuntimeOrigin::signed(Sr25519Keyring::Bob.to_account_id()),
                    epoch,
                    k.sign_prehashed(&digest).0
                ));
            }
            assert!(Bridge::epoch_info(epoch).unwrap().signed);
            Bridge::do_try_state().unwrap();
        });
    }
}
