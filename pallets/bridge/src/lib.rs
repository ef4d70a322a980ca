//! # Bridge
//!
//! Ethereum settlement: OPEN bridged to and from Ethereum, and the attribution epoch roots
//! settled there, through an M-of-N committee of secp256k1 (Ethereum) keys.
//!
//! ## Overview
//!
//! - **Out** (Provena → Ethereum): `bridge_out` moves OPEN into the pallet account (locked) and
//!   queues a transfer message with the next outbound nonce. Every [`Config::EpochLength`]
//!   blocks the queue is closed into a **bridge epoch**: a Keccak-256 Merkle tree
//!   ([`provena_primitives::merkle`]) over its transfers and the attribution epoch roots settled
//!   since the last bridge epoch ([`provena_primitives::attribution::SettledEpochs`]). Committee
//!   members sign the epoch's root ([`message::Domain::root_digest`]) and anyone submits the
//!   signatures with `submit_signature`: each is checked on chain, and at the threshold the
//!   root is **signed** — a relayer then posts root and signatures to the Ethereum contract,
//!   where each recipient claims wrapped OPEN with a Merkle proof, and anyone can check that an
//!   attribution receipt was settled.
//! - **In** (Ethereum → Provena): burning wrapped OPEN on Ethereum gives the burn a nonce there;
//!   committee members sign it ([`message::Domain::inbound_digest`]). Each member's relayer
//!   records its signature on chain with `approve_in` (members need not meet); once the
//!   threshold approved the same transfer, anyone calls `release_in`, which releases the OPEN
//!   from the pallet account. `bridge_in` does the same in one call for whoever holds enough
//!   signatures. Inbound nonces are consumed strictly in order, each once.
//! - **Rotation**: `set_committee` replaces the committee at once on Provena and files the
//!   handover; the outgoing members sign it ([`message::Domain::rotation_digest`]) with
//!   `sign_rotation`, and the relayer carries it to the Ethereum contract, which accepts it only
//!   with the outgoing committee's threshold.
//!
//! ## Safety
//!
//! - Every signed digest names the Provena chain, the Ethereum chain id, the contract and the
//!   committee id ([`message`]): a signature cannot be replayed on another deployment, for
//!   another purpose, or after its committee was rotated out.
//! - A signature counts once per signer; a message needs [`Committee::threshold`] distinct
//!   current members, and the threshold is always a majority of the committee.
//! - Token buckets limit each direction ([`RateLimits`]); a transfer over the bucket is refused
//!   (nothing moves) and can be retried when it has refilled.
//! - [`Config::PauseOrigin`], separate from the signers and from [`Config::AdminOrigin`], halts
//!   both directions and signature collection.
//! - Nothing works until [`Config::AdminOrigin`] has set the Ethereum target and a committee
//!   (no default contract or key set to be initialized by a stranger).
//! - Both directions move at least [`Config::MinTransfer`] (at least the existential deposit),
//!   and the Ethereum contract must refuse smaller burns: inbound nonces are taken in order, so
//!   a signed message that could not be paid would hold up every later one.
//!
//! ## Storage and its lifecycle
//!
//! The outbound queue holds at most [`Config::MaxMessagesPerEpoch`] transfers (more wait for the
//! next epoch). A closed epoch keeps its leaves (for proofs) and signatures for
//! [`Config::EpochRetention`] epochs, then they are deleted; the root stays in the relayer's and
//! Ethereum's hands. The inbound side keeps one counter and the approvals of nonces in the
//! window [`Config::InboundWindow`] past it (at most one per member per nonce, deleted when
//! the nonce is released or the committee rotates). The last [`Config::RotationRetention`] handovers are
//! kept. Transfers pay fees, not deposits: each
//! queued transfer moves at least [`Config::MinTransfer`] and its storage is bounded as above.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - `TotalLocked = total bridged out − total bridged in`, and the pallet account holds at
//!   least `TotalLocked` (on Ethereum, wrapped OPEN minted − burned never exceeds it);
//! - the queue's nonces are consecutive and end at `NextOutboundNonce`;
//! - every retained epoch's signature count is at most its committee's size, and a signed
//!   epoch has at least the threshold;
//! - the committee's threshold is a majority of its members, members distinct.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
mod inbound;
mod ledger;
pub mod message;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use ledger::LeavesBound;
pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate},
            tokens::Preservation,
        },
        PalletId,
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    sp_core::{H160, H256},
    sp_runtime::{
        traits::{Saturating, UniqueSaturatedInto, Zero},
        DispatchResult,
    },
};
use provena_primitives::attribution::{EpochIndex, SettledEpochs};

/// The balance type of the bridged currency.
pub type BalanceOf<T> =
    <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::bridge";

// FRAME's macro expansion uses `expect` on can't-fail metadata lookups.
#[allow(clippy::expect_used, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::pallet_prelude::*;

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The bridged currency (OPEN).
        type Currency: Mutate<Self::AccountId>;

        /// The pallet's id; its account holds the locked OPEN.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// Sets the committee, the Ethereum target and the rate limits (governance).
        type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Pauses and resumes the bridge; separate from the signers and from the admin.
        type PauseOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The attribution epoch roots settled on chain, included in bridge epochs.
        type SettledEpochs: SettledEpochs;

        /// This chain's id in signed digests (its EVM chain id).
        #[pallet::constant]
        type ProvenaChainId: Get<u64>;

        /// Blocks per bridge epoch.
        #[pallet::constant]
        type EpochLength: Get<BlockNumberFor<Self>>;

        /// Closed epochs kept (leaves for proofs, signatures) before deletion.
        #[pallet::constant]
        type EpochRetention: Get<u64>;

        /// Transfers one epoch holds; more wait for the next.
        #[pallet::constant]
        type MaxMessagesPerEpoch: Get<u32>;

        /// Attribution epoch roots one bridge epoch includes; more go in the next.
        #[pallet::constant]
        type MaxAttributionRootsPerEpoch: Get<u32>;

        /// The largest committee.
        #[pallet::constant]
        type MaxMembers: Get<u32>;

        /// The least amount one transfer out moves (at least the existential deposit).
        #[pallet::constant]
        type MinTransfer: Get<BalanceOf<Self>>;

        /// How far past the next inbound nonce members may approve transfers in.
        #[pallet::constant]
        type InboundWindow: Get<u64>;

        /// Committee handovers kept for the Ethereum contract to follow.
        #[pallet::constant]
        type RotationRetention: Get<u32>;

        /// Weights of the calls.
        type WeightInfo: WeightInfo;

        /// Settles attribution epochs for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: benchmarking::BenchmarkHelper;
    }

    /// The current committee (none until the admin sets one).
    #[pallet::storage]
    pub type CurrentCommittee<T: Config> = StorageValue<_, Committee<T::MaxMembers>, OptionQuery>;

    /// The Ethereum chain id and bridge contract (none until the admin sets them).
    #[pallet::storage]
    pub type Target<T: Config> = StorageValue<_, (u64, H160), OptionQuery>;

    /// Whether the bridge is paused.
    #[pallet::storage]
    pub type Paused<T: Config> = StorageValue<_, bool, ValueQuery>;

    /// The rate limits (none: nothing crosses).
    #[pallet::storage]
    pub type Limits<T: Config> = StorageValue<_, RateLimits<BalanceOf<T>>, OptionQuery>;

    /// The outbound bucket.
    #[pallet::storage]
    pub type OutBucket<T: Config> =
        StorageValue<_, Bucket<BalanceOf<T>, BlockNumberFor<T>>, ValueQuery>;

    /// The inbound bucket.
    #[pallet::storage]
    pub type InBucket<T: Config> =
        StorageValue<_, Bucket<BalanceOf<T>, BlockNumberFor<T>>, ValueQuery>;

    /// The nonce of the next transfer out.
    #[pallet::storage]
    pub type NextOutboundNonce<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// The nonce the next transfer in must have.
    #[pallet::storage]
    pub type NextInboundNonce<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// Transfers out waiting for the epoch to close.
    #[pallet::storage]
    pub type Queue<T: Config> = StorageValue<
        _,
        BoundedVec<OutboundTransfer<T::AccountId, BalanceOf<T>>, T::MaxMessagesPerEpoch>,
        ValueQuery,
    >;

    /// The number the next closed epoch gets.
    #[pallet::storage]
    pub type NextEpoch<T: Config> = StorageValue<_, u64, ValueQuery>;

    /// The next attribution epoch whose root a bridge epoch includes.
    #[pallet::storage]
    pub type NextAttributionEpoch<T: Config> = StorageValue<_, EpochIndex, ValueQuery>;

    /// Closed epochs, for [`Config::EpochRetention`] epochs.
    #[pallet::storage]
    pub type Epochs<T: Config> =
        StorageMap<_, Twox64Concat, u64, Epoch<BlockNumberFor<T>, T::MaxMembers>, OptionQuery>;

    /// The leaves of each retained epoch, in tree order (for proofs).
    #[pallet::storage]
    pub type EpochLeaves<T: Config> = StorageMap<
        _,
        Twox64Concat,
        u64,
        BoundedVec<BoundedVec<u8, ConstU32<61>>, LeavesBound<T>>,
        ValueQuery,
    >;

    /// OPEN locked in the pallet account for wrapped OPEN on Ethereum.
    #[pallet::storage]
    pub type TotalLocked<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

    /// Everything ever bridged out and in (for the conservation check).
    #[pallet::storage]
    pub type Totals<T: Config> = StorageValue<_, (BalanceOf<T>, BalanceOf<T>), ValueQuery>;

    /// Committee handovers by the incoming committee's id, for the last
    /// [`Config::RotationRetention`] rotations; signed by the outgoing committee
    /// (`sign_rotation`).
    #[pallet::storage]
    pub type Rotations<T: Config> = StorageMap<_, Twox64Concat, u32, Rotation<T::MaxMembers>>;

    /// Members' approvals of transfers in, by nonce and digest, for nonces in
    /// `NextInboundNonce .. + InboundWindow`; deleted when the nonce is released.
    #[pallet::storage]
    pub type InboundApprovals<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        u64,
        Identity,
        H256,
        InboundApproval<T::AccountId, BalanceOf<T>, T::MaxMembers>,
    >;

    /// The bridge at genesis; by default unconfigured (the admin sets it up).
    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// The Ethereum chain id and bridge contract.
        pub target: Option<(u64, H160)>,
        /// The first committee's members (id 0) and its threshold; none if empty.
        pub committee: Vec<H160>,
        pub threshold: u32,
        /// Rate limits: out capacity, out per block, in capacity, in per block.
        pub limits: Option<(BalanceOf<T>, BalanceOf<T>, BalanceOf<T>, BalanceOf<T>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some((chain_id, contract)) = self.target {
                assert!(chain_id != 0 && !contract.is_zero(), "genesis bridge target is unset");
                Target::<T>::put((chain_id, contract));
            }
            if !self.committee.is_empty() {
                let members = BoundedVec::<H160, T::MaxMembers>::try_from(self.committee.clone())
                    .expect("genesis bridge committee larger than MaxMembers");
                let n = members.len() as u32;
                assert!(
                    Pallet::<T>::distinct(&members)
                        && members.iter().all(|m| !m.is_zero())
                        && self.threshold <= n
                        && self.threshold.saturating_mul(2) > n,
                    "genesis bridge committee needs distinct members and a majority threshold"
                );
                CurrentCommittee::<T>::put(Committee { id: 0, members, threshold: self.threshold });
            }
            if let Some((out_capacity, out_per_block, in_capacity, in_per_block)) = self.limits {
                let limits = RateLimits { out_capacity, out_per_block, in_capacity, in_per_block };
                Pallet::<T>::put_limits(limits, Zero::zero());
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// OPEN locked for `recipient` on Ethereum.
        BridgedOut { nonce: u64, sender: T::AccountId, recipient: H160, amount: BalanceOf<T> },
        /// An epoch closed with its root.
        EpochClosed { epoch: u64, root: H256, transfers: u32, attribution_epochs: u32 },
        /// A member's signature over an epoch root was recorded.
        SignatureAdded { epoch: u64, member: H160, count: u32 },
        /// An epoch root reached the threshold: it can be settled on Ethereum.
        EpochSigned { epoch: u64, root: H256, committee: u32 },
        /// OPEN released for a burn on Ethereum.
        BridgedIn { nonce: u64, recipient: T::AccountId, amount: BalanceOf<T> },
        /// A new committee.
        CommitteeSet { id: u32, members: Vec<H160>, threshold: u32 },
        /// The Ethereum chain and contract.
        TargetSet { chain_id: u64, contract: H160 },
        /// New rate limits (the buckets start full).
        RateLimitsSet { limits: RateLimits<BalanceOf<T>> },
        /// Paused or resumed.
        PausedSet { paused: bool },
        /// An outgoing member signed the handover to committee `to`.
        RotationSignatureAdded { to: u32, member: H160, count: u32 },
        /// The outgoing committee signed the handover to committee `to`: the Ethereum contract
        /// can follow it.
        RotationSigned { to: u32 },
        /// A member approved the transfer in with `nonce` (digest `digest`).
        InboundApprovalAdded { nonce: u64, digest: H256, member: H160, count: u32 },
        /// A transfer in has the threshold of approvals: `release_in` pays it out.
        InboundApproved { nonce: u64, digest: H256 },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The bridge is paused.
        Paused,
        /// No Ethereum target, committee or rate limits set yet.
        NotConfigured,
        /// Below the least amount a transfer moves.
        BelowMinimum,
        /// Over the rate limit of this direction now; retry when the bucket has refilled.
        RateLimited,
        /// This epoch's queue is full; retry in the next epoch.
        QueueFull,
        /// No such retained epoch.
        UnknownEpoch,
        /// The epoch's root already has its signatures.
        AlreadySigned,
        /// The signature is not by a member of the epoch's committee.
        NotAMember,
        /// This member already signed.
        DuplicateSignature,
        /// The message comes from another Ethereum chain.
        WrongSourceChain,
        /// The message comes from another contract.
        WrongContract,
        /// Not the next inbound nonce (a replay, or one out of order).
        UnexpectedNonce,
        /// Fewer valid distinct member signatures than the threshold.
        NotEnoughSignatures,
        /// A committee needs distinct members and a majority threshold.
        BadCommittee,
        /// The pallet account cannot pay this out (never expected).
        InsufficientLocked,
        /// No such handover kept, or it is already signed.
        UnknownRotation,
        /// The nonce is not in the window of approvable nonces.
        OutsideWindow,
        /// No such approval, or not by the current committee.
        UnknownApproval,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            let length = T::EpochLength::get();
            let (now32, length32): (u32, u32) =
                (now.unique_saturated_into(), length.unique_saturated_into());
            if now32.checked_rem(length32) != Some(0) {
                return T::DbWeight::get().reads(0);
            }
            Self::close_epoch(now)
        }

        fn integrity_test() {
            assert!(
                T::MinTransfer::get() >= T::Currency::minimum_balance(),
                "MinTransfer must be at least the existential deposit"
            );
            assert!(T::MaxMembers::get() > 0 && T::EpochRetention::get() > 0);
            assert!(T::InboundWindow::get() > 0 && T::RotationRetention::get() > 0);
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(
            _n: BlockNumberFor<T>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Locks `amount` of the caller's OPEN for `recipient` on Ethereum; it is claimable there
        /// once the epoch closes and its root is signed.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::bridge_out())]
        pub fn bridge_out(
            origin: OriginFor<T>,
            recipient: H160,
            amount: BalanceOf<T>,
        ) -> DispatchResult {
            let sender = ensure_signed(origin)?;
            Self::ensure_running()?;
            ensure!(amount >= T::MinTransfer::get(), Error::<T>::BelowMinimum);
            let nonce = NextOutboundNonce::<T>::get();
            let transfer = OutboundTransfer { nonce, sender: sender.clone(), recipient, amount };
            let mut queue = Queue::<T>::get();
            queue.try_push(transfer).map_err(|_| Error::<T>::QueueFull)?;
            let now = frame_system::Pallet::<T>::block_number();
            let mut bucket = OutBucket::<T>::get();
            ensure!(bucket.take(amount, now), Error::<T>::RateLimited);
            T::Currency::transfer(&sender, &Self::account_id(), amount, Preservation::Preserve)?;
            Queue::<T>::put(queue);
            OutBucket::<T>::put(bucket);
            NextOutboundNonce::<T>::put(nonce.saturating_add(1));
            TotalLocked::<T>::mutate(|l| *l = l.saturating_add(amount));
            Totals::<T>::mutate(|(out, _)| *out = out.saturating_add(amount));
            Self::deposit_event(Event::BridgedOut { nonce, sender, recipient, amount });
            Ok(())
        }

        /// Records a committee member's signature over a closed epoch's root digest. Anyone may
        /// submit it (a relayer, or the member); only a valid signature by a member who has not
        /// signed yet is stored.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::submit_signature())]
        pub fn submit_signature(
            origin: OriginFor<T>,
            epoch: u64,
            signature: Signature,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            ensure!(!Paused::<T>::get(), Error::<T>::Paused);
            let domain = Self::domain()?;
            let committee = CurrentCommittee::<T>::get().ok_or(Error::<T>::NotConfigured)?;
            let mut e = Epochs::<T>::get(epoch).ok_or(Error::<T>::UnknownEpoch)?;
            if e.committee != committee.id {
                // Rotated since: the new committee signs it afresh, also a root the old one
                // signed, which the Ethereum contract refuses once it follows the rotation
                // (a root it already holds is not replaced there: roots are set once).
                e.committee = committee.id;
                e.signatures = BoundedVec::default();
                e.signed = false;
            }
            ensure!(!e.signed, Error::<T>::AlreadySigned);
            let digest = domain.root_digest(committee.id, epoch, &e.root);
            let member = message::signer(&digest, &signature).ok_or(Error::<T>::NotAMember)?;
            ensure!(committee.members.contains(&member), Error::<T>::NotAMember);
            ensure!(
                !e.signatures.iter().any(|(m, _)| *m == member),
                Error::<T>::DuplicateSignature
            );
            e.signatures.try_push((member, signature)).map_err(|_| Error::<T>::AlreadySigned)?;
            let count = u32::try_from(e.signatures.len()).unwrap_or(u32::MAX);
            Self::deposit_event(Event::SignatureAdded { epoch, member, count });
            if count >= committee.threshold {
                e.signed = true;
                Self::deposit_event(Event::EpochSigned {
                    epoch,
                    root: e.root,
                    committee: committee.id,
                });
            }
            Epochs::<T>::insert(epoch, e);
            Ok(())
        }

        /// Releases OPEN for a burn on Ethereum, given the current committee's signatures over
        /// it (at least the threshold of distinct members). Nonces are taken in order, once.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::bridge_in(signatures.len() as u32))]
        pub fn bridge_in(
            origin: OriginFor<T>,
            transfer: InboundTransfer<T::AccountId, BalanceOf<T>>,
            signatures: BoundedVec<Signature, T::MaxMembers>,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            Self::release(transfer, &signatures)
        }

        /// Sets a new committee (its id is the previous one's + 1). Signatures of the old
        /// committee stop counting at once (its approvals of transfers in are deleted); roots
        /// not yet signed are signed by the new one. The
        /// Ethereum contract follows with a rotation signed by the old committee
        /// ([`message::Domain::rotation_digest`]).
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::set_committee(members.len() as u32))]
        pub fn set_committee(
            origin: OriginFor<T>,
            members: BoundedVec<H160, T::MaxMembers>,
            threshold: u32,
        ) -> DispatchResult {
            T::AdminOrigin::ensure_origin(origin)?;
            let n = u32::try_from(members.len()).map_err(|_| Error::<T>::BadCommittee)?;
            let distinct = Self::distinct(&members);
            ensure!(
                distinct && threshold <= n && threshold.saturating_mul(2) > n,
                Error::<T>::BadCommittee
            );
            ensure!(members.iter().all(|m| !m.is_zero()), Error::<T>::BadCommittee);
            let old = CurrentCommittee::<T>::get();
            let id = old.as_ref().map_or(0, |c| c.id.saturating_add(1));
            let new = Committee { id, members, threshold };
            // Approvals of transfers in are by the outgoing members: they no longer count.
            let _ = InboundApprovals::<T>::clear(Self::all_approvals_bound(), None);
            if let Some(from) = old {
                // The Ethereum contract follows once the outgoing committee signs the handover.
                Rotations::<T>::insert(
                    id,
                    Rotation {
                        from,
                        to: new.clone(),
                        signatures: BoundedVec::default(),
                        signed: false,
                    },
                );
                if let Some(gone) = id.checked_sub(T::RotationRetention::get()) {
                    Rotations::<T>::remove(gone);
                }
            }
            Self::deposit_event(Event::CommitteeSet {
                id,
                members: new.members.to_vec(),
                threshold,
            });
            CurrentCommittee::<T>::put(new);
            Ok(())
        }

        /// Sets the Ethereum chain id and the bridge contract.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::set_target())]
        pub fn set_target(origin: OriginFor<T>, chain_id: u64, contract: H160) -> DispatchResult {
            T::AdminOrigin::ensure_origin(origin)?;
            ensure!(chain_id != 0 && !contract.is_zero(), Error::<T>::NotConfigured);
            Target::<T>::put((chain_id, contract));
            Self::deposit_event(Event::TargetSet { chain_id, contract });
            Ok(())
        }

        /// Sets the rate limits; both buckets start full.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::set_rate_limits())]
        pub fn set_rate_limits(
            origin: OriginFor<T>,
            limits: RateLimits<BalanceOf<T>>,
        ) -> DispatchResult {
            T::AdminOrigin::ensure_origin(origin)?;
            Self::put_limits(limits, frame_system::Pallet::<T>::block_number());
            Self::deposit_event(Event::RateLimitsSet { limits });
            Ok(())
        }

        /// Pauses (or resumes) both directions and signature collection.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::set_paused())]
        pub fn set_paused(origin: OriginFor<T>, paused: bool) -> DispatchResult {
            T::PauseOrigin::ensure_origin(origin)?;
            Paused::<T>::put(paused);
            Self::deposit_event(Event::PausedSet { paused });
            Ok(())
        }

        /// Records an outgoing member's signature over the handover to committee `to`
        /// ([`message::Domain::rotation_digest`]); at the outgoing threshold the relayer can
        /// carry the handover to the Ethereum contract. Allowed while paused: handing over
        /// from a compromised committee is what a pause is for.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::sign_rotation())]
        pub fn sign_rotation(
            origin: OriginFor<T>,
            to: u32,
            signature: Signature,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            let domain = Self::domain()?;
            let mut r = Rotations::<T>::get(to).ok_or(Error::<T>::UnknownRotation)?;
            ensure!(!r.signed, Error::<T>::AlreadySigned);
            let digest = domain.rotation_digest(r.from.id, r.to.id, r.to.threshold, &r.to.members);
            let member = message::signer(&digest, &signature).ok_or(Error::<T>::NotAMember)?;
            ensure!(r.from.members.contains(&member), Error::<T>::NotAMember);
            ensure!(
                !r.signatures.iter().any(|(m, _)| *m == member),
                Error::<T>::DuplicateSignature
            );
            r.signatures.try_push((member, signature)).map_err(|_| Error::<T>::AlreadySigned)?;
            let count = u32::try_from(r.signatures.len()).unwrap_or(u32::MAX);
            Self::deposit_event(Event::RotationSignatureAdded { to, member, count });
            if count >= r.from.threshold {
                r.signed = true;
                Self::deposit_event(Event::RotationSigned { to });
            }
            Rotations::<T>::insert(to, r);
            Ok(())
        }

        /// Records a current member's approval (signature) of a transfer in, so that members
        /// each running their own relayer need not meet: once the threshold of them approved
        /// the same transfer, `release_in` pays it out. One approval per member per nonce;
        /// nonces from the next one to [`Config::InboundWindow`] past it.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::approve_in())]
        pub fn approve_in(
            origin: OriginFor<T>,
            transfer: InboundTransfer<T::AccountId, BalanceOf<T>>,
            signature: Signature,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            Self::approve(transfer, signature)
        }

        /// Pays out the transfer in with `nonce` whose approval `digest` reached the threshold
        /// (anyone may call it). The same checks as `bridge_in` apply: the next nonce, the rate
        /// limit, not paused.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::release_in(T::MaxMembers::get()))]
        pub fn release_in(origin: OriginFor<T>, nonce: u64, digest: H256) -> DispatchResult {
            ensure_signed(origin)?;
            let approval =
                InboundApprovals::<T>::get(nonce, digest).ok_or(Error::<T>::UnknownApproval)?;
            let signatures: Vec<Signature> = approval.signatures.iter().map(|(_, s)| *s).collect();
            Self::release(approval.transfer, &signatures)
        }
    }
}
