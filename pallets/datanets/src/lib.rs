//! # Datanets
//!
//! Community datasets with on-chain provenance, curation, staking and versioned snapshots.
//!
//! ## Overview
//!
//! A datanet is a domain dataset (Solidity, healthcare, IoT, trading, ...) that anyone can
//! create and anyone can contribute to. The data stays off-chain, addressed by content hash;
//! the chain records who contributed what, when, under which license, and what curators decided
//! about it. Accepted contributions are frozen into numbered snapshots whose Merkle roots models
//! declare they were trained on, and through which Proof of Attribution pays contributors.
//!
//! ## Terminology
//!
//! - **Owner**: the creator of a datanet. Holds [`Config::DatanetDeposit`] for as long as the
//!   datanet is stored, manages curators and access grants, and may close and destroy it.
//! - **Curator**: an account the owner appointed (the owner is always one) that reviews
//!   contributions and publishes snapshots.
//! - **Contribution**: a content hash with its size, token count, metadata URI and license,
//!   submitted with the datanet's contribution stake held from the contributor.
//! - **Verdict**: accept with a quality score 0–100 (stake released after
//!   [`Config::StakeLockup`]), reject (stake returned now) or slash (stake moved to the
//!   datanet's reward pool).
//! - **Dispute**: the lock-up is the time in which an accepted contribution can still be
//!   disputed: a curator may slash it until its stake unlocks (plagiarism or a license problem
//!   found after acceptance). It leaves the accepted set, later snapshots exclude it, receipts
//!   that attribute it from earlier snapshots pay its part to the treasury, and its stake goes to
//!   the datanet's reward pool.
//! - **Snapshot**: version `n` of a datanet: the ordered list of its accepted, non-withdrawn
//!   contributions at publication, committed to by a binary Merkle root.
//! - **Reward pool**: slashed stakes and the attribution credit receipts put in the datanet's
//!   pool ([`provena_primitives::datanets::RewardPoolFunding`]), kept per datanet in the pallet
//!   account. Nobody with a stake in the outcome decides where it goes: curators, who slash,
//!   cannot spend it; governance ([`Config::PoolSpendOrigin`]) pays from it with `spend_pool`,
//!   and what is left when the datanet is destroyed goes to [`Config::PoolDestination`].
//!
//! ## Usage
//!
//! 1. `create_datanet` — the owner pays a deposit and sets the contribution stake and size limit.
//! 2. `contribute` — a contributor registers a content hash; the stake is held (at most the
//!    contributor's `max_stake`). The same hash in the same datanet is refused: the first
//!    registration wins and keeps the credit. To keep a mempool watcher from copying the hash
//!    first, `commit` to it, then reveal it from the next block with `contribute_committed`
//!    (see "Commit–reveal" below).
//! 3. `review` — a curator accepts, rejects or slashes it (an accepted one can still be slashed
//!    during its lock-up).
//! 4. `publish_snapshot` — a curator freezes the accepted set into version `n`.
//! 5. `release_stake` — anyone releases a stake whose lock-up has passed, back to its contributor.
//! 6. `withdraw_contribution` — a contributor withdraws; later snapshots exclude it, history stays.
//! 7. Private datanets: `request_access` (a deposit) → `grant_access` / `reject_access_request`
//!    / `cancel_access_request`; `revoke_access` / `renounce_access`. Only the owner and
//!    granted accounts may declare a private datanet's snapshot as training data.
//! 8. `spend_pool` — governance ([`Config::PoolSpendOrigin`]) pays from a datanet's reward pool.
//! 9. `close_datanet` — no new contributions. `start_destroy` (owner, once no model uses its
//!    snapshots) then `destroy_items` (anyone, in bounded batches) remove every item and give
//!    back every deposit and stake.
//!
//! ## Deposits and the life of stored items
//!
//! Every stored item has a deposit (a hold), and the deposit comes back exactly when the item
//! leaves the state:
//!
//! | Item | Deposit, held from | Leaves the state |
//! |------|--------------------|------------------|
//! | datanet | [`Config::DatanetDeposit`], owner | when destroyed (closing keeps it) |
//! | contribution | [`Config::ContributionDeposit`] (besides the stake), contributor | rejected, slashed or withdrawn while pending: at once; accepted: with its datanet (snapshots commit to it) |
//! | snapshot | [`Config::SnapshotDepositBase`] + [`Config::SnapshotDepositPerMember`] × members, publisher | with its datanet |
//! | access request | [`Config::AccessDeposit`], requester | cancelled, rejected, or granted (the deposit carries over) |
//! | access grant | the request's deposit, or the owner's | revoked or renounced |
//!
//! A commitment holds [`Config::CommitDeposit`] until it is revealed or cleared
//! (`clear_commitment`: the committer at any time, anyone after [`Config::CommitLifetime`]).
//!
//! ## Commit–reveal
//!
//! The scheme is [`provena_primitives::commit`]'s. This pallet keeps the commitments (for
//! contributions, and through [`provena_primitives::commit::HashCommitments`] for the models
//! pallet's weights hashes). A contribution's priority is the block of the commitment it revealed
//! (or its own block); a reveal whose commitment is older than the priority of a *pending*
//! contribution of the same hash displaces it (its stake and deposit go back) and takes its
//! place. A reviewed contribution is never displaced: an accepted one may already be in a
//! snapshot, which commits to its contributor.
//!
//! A content hash is free to be registered again once its contribution is rejected, removed or
//! withdrawn. A snapshot identical to the previous one is refused. A datanet can be destroyed
//! only when no registered model was trained on its snapshots ([`SnapshotUsers`], counted by
//! the models pallet) and, item by item, when attribution owes its contributions (the reward
//! record in each, [`Config::Reward`]) and reward pool ([`Config::Credits`]) nothing; what is
//! left in its reward pool goes to [`Config::PoolDestination`].
//!
//! Other pallets read contributions and snapshot membership through
//! [`provena_primitives::datanets::ContributionInspect`], and keep a reward record in each
//! contribution through [`provena_primitives::datanets::ContributionRewards`], both
//! implemented by [`Pallet`].
//!
//! ## Design
//!
//! - Stakes and deposits are fungible **holds** ([`HoldReason`]), never reserves.
//! - Snapshot leaves are `SCALE(contribution id, content hash, contributor)`, in ascending
//!   contribution id order; the tree is the Keccak-256 binary Merkle tree documented in
//!   [`provena_primitives::merkle`], so Ethereum contracts can verify membership.
//! - A contribution records the versions that hold it ([`SnapshotSpan`]: those published after
//!   its acceptance and before it left), so membership is answered from the contribution alone;
//!   attribution never reads a snapshot's member list.
//! - Contributions are listed per datanet and per contributor through dense indices
//!   (`0..count`), so clients can page through them with stable cursors.
//! - Every map is bounded: each entry holds a deposit (see the table above), and per-datanet
//!   lists have `Max*` bounds.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - the stake held from each contributor equals the sum of `stake_held` of its contributions;
//! - the deposit held from each owner equals the deposits of its datanets, and the storage
//!   deposit held from each account equals the deposits of the contributions, snapshots,
//!   access requests and grants it holds them for (deposits == items alive);
//! - every index counter equals the number of entries of its index, and each contribution's
//!   index positions point back to it;
//! - no rejected contribution with a deposit is stored;
//! - the accepted list of a datanet is sorted and holds exactly its accepted contributions;
//! - each snapshot's member list has `contribution_count` entries and `snapshot_count` snapshots
//!   exist per datanet; each contribution's span holds exactly the snapshots that list it;
//! - the pallet account holds at least the sum of all reward pools.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod events;
mod genesis;
mod ledger;
mod lifecycle;
pub mod migrations;
#[cfg(test)]
mod mock;
mod storage;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, InspectHold, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Preservation, Restriction},
        },
        PalletId,
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    sp_runtime::{
        traits::{AccountIdConversion, CheckedAdd, CheckedSub, Saturating, Zero},
        DispatchResult, Percent, SaturatedConversion,
    },
};
use provena_primitives::{
    datanets::{
        snapshot_leaf, ContributionInfo, ContributionInspect, ContributionStatus, ContributionView,
        CreditOwed, DatanetInfo, OwedCredit, RewardPoolFunding, SnapshotAccessError, SnapshotInfo,
        SnapshotSpan, SnapshotUsers, Visibility,
    },
    governance::{ContributionPower, PowerSource},
    merkle, ContentHash, ContributionId, DatanetId, SnapshotVersion,
};

/// The balance type of the currency this pallet holds stakes in.
pub type BalanceOf<T> =
    <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::datanets";

/// The highest quality score a curator can give.
pub const MAX_QUALITY: u8 = 100;

// FRAME's macro expansion of this module uses `expect` (on can't-fail metadata lookups) and
// generates functions with one argument per call parameter; the lints are for hand-written code.
#[allow(clippy::expect_used, clippy::too_many_arguments, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet_macros::import_section(events::events_and_errors)]
#[polkadot_sdk::frame_support::pallet_macros::import_section(genesis::genesis_and_hooks)]
#[polkadot_sdk::frame_support::pallet_macros::import_section(storage::storage_items)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::{self, pallet_prelude::*};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An owner's deposit for an open datanet.
        DatanetDeposit,
        /// A contributor's stake on a contribution.
        ContributionStake,
        /// A deposit for stored items: a contribution (from its contributor), a snapshot (from
        /// its publisher), an access request or grant (from its requester, or the owner).
        StorageDeposit,
    }

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The currency deposits and stakes are held in.
        type Currency: Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + InspectHold<Self::AccountId>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// The pallet's id; its account keeps the reward pools.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// What an owner holds while a datanet is open.
        #[pallet::constant]
        type DatanetDeposit: Get<BalanceOf<Self>>;

        /// The least contribution stake a datanet may require. At least the existential deposit,
        /// so a slashed stake can always fund the pallet account.
        #[pallet::constant]
        type MinContributionStake: Get<BalanceOf<Self>>;

        /// How long an accepted (or withdrawn accepted) contribution's stake stays held.
        #[pallet::constant]
        type StakeLockup: Get<BlockNumberFor<Self>>;

        /// The longest datanet name, in bytes.
        #[pallet::constant]
        type MaxNameLen: Get<u32>;

        /// The longest URI, in bytes.
        #[pallet::constant]
        type MaxUriLen: Get<u32>;

        /// The longest domain tag or license id, in bytes.
        #[pallet::constant]
        type MaxTagLen: Get<u32>;

        /// The most curators a datanet may have besides its owner.
        #[pallet::constant]
        type MaxCurators: Get<u32>;

        /// The most accepted contributions a datanet may have at once; also the largest snapshot.
        #[pallet::constant]
        type MaxAcceptedPerDatanet: Get<u32>;

        /// The most snapshots a datanet may publish.
        #[pallet::constant]
        type MaxSnapshotsPerDatanet: Get<u32>;

        /// What a contributor holds for each stored contribution, besides its stake, until the
        /// record leaves the state (at once when it is rejected, slashed or withdrawn while
        /// pending; with its datanet once it was accepted, since snapshots commit to it).
        #[pallet::constant]
        type ContributionDeposit: Get<BalanceOf<Self>>;

        /// What a publisher holds for a snapshot, plus [`Config::SnapshotDepositPerMember`] per
        /// member, until the snapshot leaves the state with its datanet.
        #[pallet::constant]
        type SnapshotDepositBase: Get<BalanceOf<Self>>;

        /// What a publisher holds per member of a snapshot.
        #[pallet::constant]
        type SnapshotDepositPerMember: Get<BalanceOf<Self>>;

        /// What an access request holds from its requester; the deposit carries over to the
        /// grant and comes back when the request or grant goes. The owner holds it for a grant
        /// nobody asked for.
        #[pallet::constant]
        type AccessDeposit: Get<BalanceOf<Self>>;

        /// What a commitment to a content hash holds until it is revealed or cleared.
        #[pallet::constant]
        type CommitDeposit: Get<BalanceOf<Self>>;

        /// How many blocks a commitment may be revealed in; after that anyone may clear it
        /// (its deposit goes back to the committer).
        #[pallet::constant]
        type CommitLifetime: Get<BlockNumberFor<Self>>;

        /// Attribution credit still owed to a datanet's reward pool: a datanet whose pool is
        /// owed something keeps its storage until it is paid.
        type Credits: CreditOwed;

        /// The reward record attribution keeps in each contribution's record (from v3; see
        /// [`provena_primitives::datanets::ContributionRewards`]). A contribution whose record
        /// is owed something keeps its storage until it is paid.
        type Reward: Parameter + Member + MaxEncodedLen + Default + OwedCredit;

        /// Where the reward pool of a destroyed datanet goes.
        type PoolDestination: Get<Self::AccountId>;

        /// Who may spend from a datanet's reward pool (`spend_pool`), and the most one spend
        /// may pay. In the runtime: root, or a referendum on the treasurer track.
        type PoolSpendOrigin: EnsureOrigin<Self::RuntimeOrigin, Success = BalanceOf<Self>>;

        /// Governance's record of contribution power: a contribution still accepted when its
        /// stake is released (it stayed through the lock-up, undisputed) is credited its stake
        /// weighted by its quality score.
        type Power: ContributionPower<Self::AccountId>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Creates a datanet owned by the caller, holding [`Config::DatanetDeposit`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::create_datanet())]
        pub fn create_datanet(
            origin: OriginFor<T>,
            name: Vec<u8>,
            description_uri: Vec<u8>,
            domain: Vec<u8>,
            license: Vec<u8>,
            visibility: Visibility,
            contribution_stake: BalanceOf<T>,
            max_contribution_bytes: u64,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            ensure!(!name.is_empty(), Error::<T>::EmptyName);
            let name = BoundedVec::try_from(name).map_err(|_| Error::<T>::NameTooLong)?;
            let description_uri =
                BoundedVec::try_from(description_uri).map_err(|_| Error::<T>::UriTooLong)?;
            let domain = BoundedVec::try_from(domain).map_err(|_| Error::<T>::TagTooLong)?;
            let license = BoundedVec::try_from(license).map_err(|_| Error::<T>::TagTooLong)?;
            Self::do_create_datanet(
                owner,
                name,
                description_uri,
                domain,
                license,
                visibility,
                contribution_stake,
                max_contribution_bytes,
            )
            .map(|_| ())
        }

        /// Changes a datanet's settings. Owner only.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::update_datanet())]
        pub fn update_datanet(
            origin: OriginFor<T>,
            datanet: DatanetId,
            update: DatanetUpdate<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut d = Self::owned_datanet(datanet, &who)?;
            if let Some(stake) = update.contribution_stake {
                ensure!(stake >= T::MinContributionStake::get(), Error::<T>::StakeTooLow);
                d.contribution_stake = stake;
            }
            if let Some(max) = update.max_contribution_bytes {
                ensure!(max > 0, Error::<T>::EmptyContribution);
                d.max_contribution_bytes = max;
            }
            if let Some(uri) = update.description_uri {
                d.description_uri = uri;
            }
            if let Some(license) = update.license {
                d.license = license;
            }
            if let Some(visibility) = update.visibility {
                d.visibility = visibility;
            }
            Datanets::<T>::insert(datanet, d);
            Self::deposit_event(Event::DatanetUpdated { datanet });
            Ok(())
        }

        /// Appoints a curator. Owner only.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::add_curator())]
        pub fn add_curator(
            origin: OriginFor<T>,
            datanet: DatanetId,
            curator: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut d = Self::owned_datanet(datanet, &who)?;
            ensure!(!d.is_curator(&curator), Error::<T>::AlreadyCurator);
            d.curators.try_push(curator.clone()).map_err(|_| Error::<T>::TooManyCurators)?;
            Datanets::<T>::insert(datanet, d);
            Self::deposit_event(Event::CuratorAdded { datanet, curator });
            Ok(())
        }

        /// Removes a curator. Owner only.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::remove_curator())]
        pub fn remove_curator(
            origin: OriginFor<T>,
            datanet: DatanetId,
            curator: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut d = Self::owned_datanet(datanet, &who)?;
            let pos = d.curators.iter().position(|c| *c == curator);
            let pos = pos.ok_or(Error::<T>::CuratorNotFound)?;
            d.curators.remove(pos);
            Datanets::<T>::insert(datanet, d);
            Self::deposit_event(Event::CuratorRemoved { datanet, curator });
            Ok(())
        }

        /// Closes a datanet to new contributions. Owner only. Its storage stays (models may
        /// depend on its snapshots), and so does the owner's deposit: it comes back when the
        /// datanet is destroyed ([`Pallet::start_destroy`]).
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::close_datanet())]
        pub fn close_datanet(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut d = Self::owned_datanet(datanet, &who)?;
            ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
            ensure!(d.status == DatanetStatus::Open, Error::<T>::DatanetClosed);
            d.status = DatanetStatus::Closed;
            Datanets::<T>::insert(datanet, d);
            Self::deposit_event(Event::DatanetClosed { datanet });
            Ok(())
        }

        /// Registers a contribution and holds the datanet's contribution stake from the caller,
        /// which must not exceed `max_stake` (the owner may change the stake at any time).
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::contribute())]
        pub fn contribute(
            origin: OriginFor<T>,
            datanet: DatanetId,
            content_hash: ContentHash,
            byte_size: u64,
            token_count: u64,
            metadata_uri: Vec<u8>,
            license: Vec<u8>,
            max_stake: BalanceOf<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let metadata_uri =
                BoundedVec::try_from(metadata_uri).map_err(|_| Error::<T>::UriTooLong)?;
            let license = BoundedVec::try_from(license).map_err(|_| Error::<T>::TagTooLong)?;
            Self::do_contribute(
                who,
                datanet,
                content_hash,
                byte_size,
                token_count,
                metadata_uri,
                license,
                max_stake,
                None,
            )
            .map(|_| ())
        }

        /// A curator's verdict on a pending contribution.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::review_accept().max(T::WeightInfo::review_slash()).max(T::WeightInfo::review_reject()))]
        pub fn review(
            origin: OriginFor<T>,
            contribution: ContributionId,
            verdict: Verdict,
        ) -> DispatchResult {
            let curator = ensure_signed(origin)?;
            Self::do_review(curator, contribution, verdict)
        }

        /// Withdraws a contribution. Contributor only. A pending contribution's stake goes back
        /// now; an accepted one's after its lock-up.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::withdraw_contribution())]
        pub fn withdraw_contribution(
            origin: OriginFor<T>,
            contribution: ContributionId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_withdraw(who, contribution)
        }

        /// Releases a stake whose lock-up has passed to its contributor. Anyone may call it.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::release_stake().saturating_add(T::Power::credit_weight()))]
        pub fn release_stake(origin: OriginFor<T>, contribution: ContributionId) -> DispatchResult {
            ensure_signed(origin)?;
            let mut c =
                Contributions::<T>::get(contribution).ok_or(Error::<T>::ContributionNotFound)?;
            ensure!(!c.stake_held.is_zero(), Error::<T>::NothingToRelease);
            let unlocks_at = c.stake_unlocks_at.ok_or(Error::<T>::StakeLocked)?;
            ensure!(
                frame_system::Pallet::<T>::block_number() >= unlocks_at,
                Error::<T>::StakeLocked
            );
            let amount = Self::release_held_stake(&mut c)?;
            let contributor = c.contributor.clone();
            if let ContributionStatus::Accepted { quality } = c.status {
                let value = Percent::from_percent(quality).mul_floor(amount);
                T::Power::credit(
                    &contributor,
                    PowerSource::AcceptedContribution,
                    value.saturated_into(),
                );
            }
            Contributions::<T>::insert(contribution, c);
            Self::deposit_event(Event::StakeReleased { contribution, contributor, amount });
            Ok(())
        }

        /// Publishes the next snapshot of a datanet over its accepted contributions.
        /// Owner or curator only.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::publish_snapshot(T::MaxAcceptedPerDatanet::get()))]
        pub fn publish_snapshot(
            origin: OriginFor<T>,
            datanet: DatanetId,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let members = Self::do_publish_snapshot(who, datanet)?;
            Ok(Some(T::WeightInfo::publish_snapshot(members)).into())
        }

        /// Asks the owner of a private datanet for access, holding [`Config::AccessDeposit`]
        /// (once: asking again only replaces the purpose). The deposit comes back when the
        /// request is cancelled or rejected, or, once granted, when the grant goes.
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::request_access())]
        pub fn request_access(
            origin: OriginFor<T>,
            datanet: DatanetId,
            purpose_uri: Vec<u8>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let purpose_uri =
                BoundedVec::try_from(purpose_uri).map_err(|_| Error::<T>::UriTooLong)?;
            Self::do_request_access(who, datanet, purpose_uri)
        }

        /// Grants an account access to a private datanet. Owner only. The grant keeps the
        /// account's request deposit; without a request the owner holds
        /// [`Config::AccessDeposit`].
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::grant_access())]
        pub fn grant_access(
            origin: OriginFor<T>,
            datanet: DatanetId,
            who: T::AccountId,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Self::do_grant_access(owner, datanet, who)
        }

        /// Revokes an access grant and returns its deposit. Owner only. Models already
        /// registered keep their provenance.
        #[pallet::call_index(12)]
        #[pallet::weight(T::WeightInfo::revoke_access())]
        pub fn revoke_access(
            origin: OriginFor<T>,
            datanet: DatanetId,
            who: T::AccountId,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Self::owned_datanet(datanet, &owner)?;
            Self::remove_grant(datanet, &who)?;
            Self::deposit_event(Event::AccessRevoked { datanet, who });
            Ok(())
        }

        /// Withdraws the caller's own access request and returns its deposit.
        #[pallet::call_index(13)]
        #[pallet::weight(T::WeightInfo::cancel_access_request())]
        pub fn cancel_access_request(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::remove_request(datanet, &who, false)
        }

        /// Turns down an access request and returns its deposit to the requester. Owner only.
        #[pallet::call_index(14)]
        #[pallet::weight(T::WeightInfo::cancel_access_request())]
        pub fn reject_access_request(
            origin: OriginFor<T>,
            datanet: DatanetId,
            who: T::AccountId,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Self::owned_datanet(datanet, &owner)?;
            Self::remove_request(datanet, &who, true)
        }

        /// Gives up the caller's own access grant; its deposit goes back to whoever held it.
        #[pallet::call_index(15)]
        #[pallet::weight(T::WeightInfo::revoke_access())]
        pub fn renounce_access(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::remove_grant(datanet, &who)?;
            Self::deposit_event(Event::AccessRevoked { datanet, who });
            Ok(())
        }

        /// Starts destroying a datanet. Owner only, and only when no registered model was
        /// trained on its snapshots. From now on nothing new can use it (no contributions,
        /// reviews, snapshots, grants, nor snapshot use), and [`Pallet::destroy_items`] removes
        /// its items.
        #[pallet::call_index(16)]
        #[pallet::weight(T::WeightInfo::start_destroy())]
        pub fn start_destroy(origin: OriginFor<T>, datanet: DatanetId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut d = Self::owned_datanet(datanet, &who)?;
            ensure!(d.status != DatanetStatus::Destroying, Error::<T>::DatanetDestroying);
            ensure!(SnapshotUsage::<T>::get(datanet) == 0, Error::<T>::SnapshotsInUse);
            d.status = DatanetStatus::Destroying;
            Datanets::<T>::insert(datanet, d);
            Self::deposit_event(Event::DatanetDestroying { datanet });
            Ok(())
        }

        /// Removes up to `max_items` (at most [`MAX_DESTROY_ITEMS`]) items of a datanet being
        /// destroyed, returning each item's deposit (and any stake still held) to whoever holds
        /// it: access requests and grants, then contributions (newest first), then snapshots,
        /// then the datanet itself with its owner's deposit. Anyone may call it. It stops at a
        /// contribution or reward pool that attribution still owes credit to.
        #[pallet::call_index(17)]
        #[pallet::weight(T::WeightInfo::destroy_items((*max_items).min(MAX_DESTROY_ITEMS)))]
        pub fn destroy_items(
            origin: OriginFor<T>,
            datanet: DatanetId,
            max_items: u32,
        ) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            let removed = Self::do_destroy_items(datanet, max_items.min(MAX_DESTROY_ITEMS))?;
            Ok(Some(T::WeightInfo::destroy_items(removed)).into())
        }

        /// Commits to registering a content hash (a contribution's content or a model's
        /// weights) without revealing it: `commitment` is
        /// [`provena_primitives::commit::commitment`]`(hash, caller, salt)`. Holds
        /// [`Config::CommitDeposit`] until it is revealed or cleared. See
        /// [`provena_primitives::commit`].
        #[pallet::call_index(18)]
        #[pallet::weight(T::WeightInfo::commit())]
        pub fn commit(origin: OriginFor<T>, commitment: ContentHash) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_commit(who, commitment)
        }

        /// Clears a commitment and returns its deposit to the committer: the committer at any
        /// time, anyone once its lifetime has passed.
        #[pallet::call_index(19)]
        #[pallet::weight(T::WeightInfo::clear_commitment())]
        pub fn clear_commitment(
            origin: OriginFor<T>,
            committer: T::AccountId,
            commitment: ContentHash,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_clear_commitment(who, committer, commitment)
        }

        /// `contribute`, revealing the caller's commitment to `content_hash` with `salt` (made
        /// at least a block ago, within [`Config::CommitLifetime`]). The contribution's priority
        /// is the commitment's block: if a pending contribution of the same hash has a later one
        /// (a front-runner's), it is displaced (its stake and deposit go back) and this one
        /// takes its place.
        #[pallet::call_index(20)]
        #[pallet::weight(T::WeightInfo::contribute_committed())]
        pub fn contribute_committed(
            origin: OriginFor<T>,
            datanet: DatanetId,
            content_hash: ContentHash,
            byte_size: u64,
            token_count: u64,
            metadata_uri: Vec<u8>,
            license: Vec<u8>,
            max_stake: BalanceOf<T>,
            salt: ContentHash,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let metadata_uri =
                BoundedVec::try_from(metadata_uri).map_err(|_| Error::<T>::UriTooLong)?;
            let license = BoundedVec::try_from(license).map_err(|_| Error::<T>::TagTooLong)?;
            let priority = Self::do_reveal(&who, &content_hash, &salt)?;
            Self::do_contribute(
                who,
                datanet,
                content_hash,
                byte_size,
                token_count,
                metadata_uri,
                license,
                max_stake,
                Some(priority),
            )
            .map(|_| ())
        }

        /// Pays `amount` from the reward pool of `datanet` to `beneficiary`: the governed way
        /// out of a pool (slashed stakes and credit paid into it), for instance to reward the
        /// datanet's contributors or fund its curation. [`Config::PoolSpendOrigin`] only, and at
        /// most what that origin may spend at once. A datanet being destroyed can still be
        /// paid from; what is left goes to [`Config::PoolDestination`] with it.
        #[pallet::call_index(21)]
        #[pallet::weight(T::WeightInfo::spend_pool())]
        pub fn spend_pool(
            origin: OriginFor<T>,
            datanet: DatanetId,
            beneficiary: T::AccountId,
            amount: BalanceOf<T>,
        ) -> DispatchResult {
            let max = T::PoolSpendOrigin::ensure_origin(origin)?;
            ensure!(amount <= max, Error::<T>::SpendAboveLimit);
            Self::do_spend_pool(datanet, beneficiary, amount)
        }
    }
}

/// The most items one API page returns, whatever the caller asks.
pub const API_PAGE_LIMIT: u32 = 1_000;

/// The most items one `destroy_items` call removes.
pub const MAX_DESTROY_ITEMS: u32 = 200;
