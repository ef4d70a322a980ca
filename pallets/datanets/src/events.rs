//! The pallet's events and errors: a section of the pallet module, imported into it.

use polkadot_sdk::frame_support::pallet_macros::pallet_section;

#[pallet_section]
mod events_and_errors {
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A datanet was created.
        DatanetCreated {
            datanet: DatanetId,
            owner: T::AccountId,
            visibility: Visibility,
            contribution_stake: BalanceOf<T>,
        },
        /// A datanet's settings changed.
        DatanetUpdated { datanet: DatanetId },
        /// A curator was appointed.
        CuratorAdded { datanet: DatanetId, curator: T::AccountId },
        /// A curator was removed.
        CuratorRemoved { datanet: DatanetId, curator: T::AccountId },
        /// A datanet was closed to new contributions; its deposit stays held until it is
        /// destroyed.
        DatanetClosed { datanet: DatanetId },
        /// A contribution was submitted and its stake held.
        ContributionSubmitted {
            datanet: DatanetId,
            contribution: ContributionId,
            contributor: T::AccountId,
            content_hash: ContentHash,
            stake: BalanceOf<T>,
        },
        /// A curator accepted a contribution.
        ContributionAccepted {
            datanet: DatanetId,
            contribution: ContributionId,
            curator: T::AccountId,
            quality: u8,
            stake_unlocks_at: BlockNumberFor<T>,
        },
        /// A curator rejected a contribution; its stake went back.
        ContributionRejected {
            datanet: DatanetId,
            contribution: ContributionId,
            curator: T::AccountId,
        },
        /// A curator slashed a contribution; its stake went to the datanet's reward pool.
        ContributionSlashed {
            datanet: DatanetId,
            contribution: ContributionId,
            curator: T::AccountId,
            amount: BalanceOf<T>,
        },
        /// A contributor withdrew a contribution.
        ContributionWithdrawn { datanet: DatanetId, contribution: ContributionId },
        /// A held stake went back to its contributor.
        StakeReleased {
            contribution: ContributionId,
            contributor: T::AccountId,
            amount: BalanceOf<T>,
        },
        /// A snapshot was published.
        SnapshotPublished {
            datanet: DatanetId,
            version: SnapshotVersion,
            root: ContentHash,
            contributions: u32,
            publisher: T::AccountId,
        },
        /// An account asked for access to a private datanet.
        AccessRequested { datanet: DatanetId, who: T::AccountId },
        /// The owner granted access to a private datanet.
        AccessGranted { datanet: DatanetId, who: T::AccountId },
        /// The owner revoked access to a private datanet.
        AccessRevoked { datanet: DatanetId, who: T::AccountId },
        /// Attribution credit was paid into a datanet's reward pool.
        RewardPoolFunded { datanet: DatanetId, from: T::AccountId, amount: BalanceOf<T> },
        /// Governance paid from a datanet's reward pool.
        RewardPoolSpent { datanet: DatanetId, beneficiary: T::AccountId, amount: BalanceOf<T> },
        /// A contribution left the state (rejected, slashed or withdrawn while pending, or with
        /// its datanet); its storage deposit went back.
        ContributionRemoved {
            contribution: ContributionId,
            contributor: T::AccountId,
            deposit_released: BalanceOf<T>,
        },
        /// A snapshot left the state with its datanet; its deposit went back to its publisher.
        SnapshotRemoved {
            datanet: DatanetId,
            version: SnapshotVersion,
            publisher: T::AccountId,
            deposit_released: BalanceOf<T>,
        },
        /// An access request was withdrawn by its requester or turned down by the owner; its
        /// deposit went back.
        AccessRequestRemoved { datanet: DatanetId, who: T::AccountId, rejected: bool },
        /// An access grant's deposit went back to whoever held it.
        AccessDepositReleased {
            datanet: DatanetId,
            who: T::AccountId,
            depositor: T::AccountId,
            amount: BalanceOf<T>,
        },
        /// The owner started destroying a datanet: `destroy_items` now removes its items.
        DatanetDestroying { datanet: DatanetId },
        /// A `destroy_items` call removed `removed` items; `done` when the datanet is gone.
        DatanetItemsDestroyed { datanet: DatanetId, removed: u32, done: bool },
        /// A datanet left the state: its owner's deposit went back and what was left of its
        /// reward pool went to [`Config::PoolDestination`].
        DatanetDestroyed {
            datanet: DatanetId,
            owner: T::AccountId,
            deposit_released: BalanceOf<T>,
            pool: BalanceOf<T>,
        },
        /// A commitment to a content hash was made; its deposit is held.
        Committed { who: T::AccountId, commitment: ContentHash },
        /// A commitment was cleared without being revealed; its deposit went back.
        CommitmentCleared { who: T::AccountId, commitment: ContentHash },
        /// A reveal of an older commitment took the content hash over from a pending
        /// contribution, which left the state (its stake and deposit went back).
        ContributionDisplaced {
            contribution: ContributionId,
            contributor: T::AccountId,
            by: T::AccountId,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No datanet has this id.
        DatanetNotFound,
        /// No contribution has this id.
        ContributionNotFound,
        /// Only the datanet's owner may do this.
        NotOwner,
        /// Only the owner or a curator of the datanet may do this.
        NotCurator,
        /// Only the contribution's contributor may do this.
        NotContributor,
        /// The datanet is closed.
        DatanetClosed,
        /// This content hash is already registered in this datanet.
        DuplicateContent,
        /// The contribution stake is below the minimum.
        StakeTooLow,
        /// The contributor cannot afford the datanet's contribution stake.
        InsufficientBalance,
        /// The contribution is larger than the datanet allows.
        ContributionTooLarge,
        /// A contribution must have a non-zero size.
        EmptyContribution,
        /// The contribution was already reviewed.
        AlreadyReviewed,
        /// A quality score is at most 100.
        QualityOutOfRange,
        /// The contribution is rejected, slashed or already withdrawn.
        CannotWithdraw,
        /// The stake's lock-up has not passed yet.
        StakeLocked,
        /// The contribution has no held stake to release now.
        NothingToRelease,
        /// A snapshot needs at least one accepted contribution.
        NothingAccepted,
        /// The datanet has its maximum number of accepted contributions.
        TooManyAccepted,
        /// The datanet has published its maximum number of snapshots.
        TooManySnapshots,
        /// The datanet has its maximum number of curators.
        TooManyCurators,
        /// The account is already a curator (or the owner).
        AlreadyCurator,
        /// The account is not a curator of this datanet.
        CuratorNotFound,
        /// The name is empty.
        EmptyName,
        /// The name is too long.
        NameTooLong,
        /// The URI is too long.
        UriTooLong,
        /// The domain tag or license id is too long.
        TagTooLong,
        /// Access requests and grants are for private datanets only.
        NotPrivate,
        /// The account already has access (or is the owner).
        AlreadyGranted,
        /// The account has no access grant to revoke.
        AccessNotGranted,
        /// A counter or amount would overflow.
        Overflow,
        /// The datanet's contribution stake is above the contributor's `max_stake`.
        StakeAboveMax,
        /// The accepted set is the same as the latest snapshot's: nothing to publish.
        SnapshotUnchanged,
        /// Registered models were trained on this datanet's snapshots; it cannot be destroyed.
        SnapshotsInUse,
        /// The datanet is being destroyed.
        DatanetDestroying,
        /// The datanet is not being destroyed (`start_destroy` first).
        NotDestroying,
        /// Attribution credit is still owed to this contribution or reward pool: it must be
        /// claimed (or its challenge resolved) before the item can go.
        CreditOwed,
        /// The spend is more than the origin may pay at once.
        SpendAboveLimit,
        /// The reward pool holds less than the spend.
        PoolTooSmall,
        /// A spend of nothing.
        ZeroSpend,
        /// There is no access request from this account.
        AccessNotRequested,
        /// This commitment was already made.
        AlreadyCommitted,
        /// No such commitment of this account (or the hash or salt differ from the committed).
        CommitmentNotFound,
        /// A commitment can be revealed from the block after it was made.
        CommitmentTooRecent,
        /// The commitment's lifetime has passed; clear it and commit again.
        CommitmentExpired,
        /// Only the committer may clear a commitment before it expires.
        CommitmentNotExpired,
    }
}
