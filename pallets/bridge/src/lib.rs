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
//!   committee members sign it ([`message::Domain::inbound_digest`]) and anyone submits it with
//!   the signatures with `bridge_in`, which releases the OPEN from the pallet account. Inbound
//!   nonces are consumed strictly in order, each once.
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
//! Ethereum's hands. The inbound side keeps one counter. Transfers pay fees, not deposits: each
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

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
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
        traits::{Saturating, UniqueSaturatedInto},
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
            ensure!(!e.signed, Error::<T>::AlreadySigned);
            if e.committee != committee.id {
                // Rotated before the root was signed: the new committee signs it afresh.
                e.committee = committee.id;
                e.signatures = BoundedVec::default();
            }
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
            Self::ensure_running()?;
            let domain = Self::domain()?;
            ensure!(transfer.source_chain_id == domain.eth_chain_id, Error::<T>::WrongSourceChain);
            ensure!(transfer.contract == domain.contract, Error::<T>::WrongContract);
            ensure!(transfer.nonce == NextInboundNonce::<T>::get(), Error::<T>::UnexpectedNonce);
            // The contract burns no less, so every signed message can be paid (a smaller one
            // to a new account would fail on the existential deposit and hold up the nonces).
            ensure!(transfer.amount >= T::MinTransfer::get(), Error::<T>::BelowMinimum);
            let committee = CurrentCommittee::<T>::get().ok_or(Error::<T>::NotConfigured)?;
            let recipient: [u8; 32] = Self::account_bytes(&transfer.recipient);
            let amount: u128 = transfer.amount.unique_saturated_into();
            let digest = domain.inbound_digest(committee.id, transfer.nonce, &recipient, amount);
            let mut signers: Vec<H160> = Vec::with_capacity(signatures.len());
            for signature in &signatures {
                if let Some(who) = message::signer(&digest, signature) {
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
            Self::deposit_event(Event::BridgedIn {
                nonce: transfer.nonce,
                recipient: transfer.recipient,
                amount: transfer.amount,
            });
            Ok(())
        }

        /// Sets a new committee (its id is the previous one's + 1). Signatures of the old
        /// committee stop counting at once; roots not yet signed are signed by the new one. The
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
            let id = CurrentCommittee::<T>::get().map_or(0, |c| c.id.saturating_add(1));
            Self::deposit_event(Event::CommitteeSet { id, members: members.to_vec(), threshold });
            CurrentCommittee::<T>::put(Committee { id, members, threshold });
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
            let now = frame_system::Pallet::<T>::block_number();
            OutBucket::<T>::put(Bucket {
                capacity: limits.out_capacity,
                per_block: limits.out_per_block,
                level: limits.out_capacity,
                updated_at: now,
            });
            InBucket::<T>::put(Bucket {
                capacity: limits.in_capacity,
                per_block: limits.in_per_block,
                level: limits.in_capacity,
                updated_at: now,
            });
            Limits::<T>::put(limits);
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
    }
}
