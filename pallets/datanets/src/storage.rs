//! The pallet's storage items: a section of the pallet module, imported into it.

use polkadot_sdk::frame_support::pallet_macros::pallet_section;

#[pallet_section]
mod storage_items {
    /// The id the next datanet gets.
    #[pallet::storage]
    pub type NextDatanetId<T> = StorageValue<_, DatanetId, ValueQuery>;

    /// Datanets by id. `Twox64Concat` is safe: ids are assigned sequentially, not chosen by users.
    #[pallet::storage]
    pub type Datanets<T: Config> = StorageMap<_, Twox64Concat, DatanetId, Datanet<T>>;

    /// The id the next contribution gets.
    #[pallet::storage]
    pub type NextContributionId<T> = StorageValue<_, ContributionId, ValueQuery>;

    /// Contributions by id. `Twox64Concat` is safe: ids are sequential.
    #[pallet::storage]
    pub type Contributions<T: Config> =
        StorageMap<_, Twox64Concat, ContributionId, Contribution<T>>;

    /// Which contribution registered a content hash in a datanet: first registration wins.
    /// `Blake2_128Concat` on the hash because users choose it.
    #[pallet::storage]
    pub type ContentIndex<T> =
        StorageDoubleMap<_, Twox64Concat, DatanetId, Blake2_128Concat, ContentHash, ContributionId>;

    /// The `n`th contribution of a datanet (`n < contribution_count`), for paging.
    #[pallet::storage]
    pub type DatanetContributions<T> =
        StorageDoubleMap<_, Twox64Concat, DatanetId, Twox64Concat, u32, ContributionId>;

    /// How many contributions an account ever submitted (the length of its index).
    /// `Blake2_128Concat`: account ids are user-controlled.
    #[pallet::storage]
    pub type ContributorCount<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// The `n`th contribution of an account (`n < ContributorCount`), for paging.
    #[pallet::storage]
    pub type ContributorContributions<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, u32, ContributionId>;

    /// The accepted, non-withdrawn contributions of a datanet, ascending by id: what the next
    /// snapshot will commit to.
    #[pallet::storage]
    pub type Accepted<T: Config> = StorageMap<
        _,
        Twox64Concat,
        DatanetId,
        BoundedVec<ContributionId, T::MaxAcceptedPerDatanet>,
        ValueQuery,
    >;

    /// Published snapshots by datanet and version (from 1).
    #[pallet::storage]
    pub type Snapshots<T: Config> =
        StorageDoubleMap<_, Twox64Concat, DatanetId, Twox64Concat, SnapshotVersion, Snapshot<T>>;

    /// The members of each snapshot, ascending by id (the leaf order).
    #[pallet::storage]
    pub type SnapshotMembers<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        DatanetId,
        Twox64Concat,
        SnapshotVersion,
        BoundedVec<ContributionId, T::MaxAcceptedPerDatanet>,
        ValueQuery,
    >;

    /// Open access requests to private datanets.
    #[pallet::storage]
    pub type AccessRequests<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        DatanetId,
        Blake2_128Concat,
        T::AccountId,
        AccessRequest<T>,
    >;

    /// Access grants to private datanets, with the block they were granted at.
    #[pallet::storage]
    pub type AccessGrants<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        DatanetId,
        Blake2_128Concat,
        T::AccountId,
        AccessGrant<T>,
    >;

    /// Each datanet's reward pool (slashed stakes), kept in the pallet account.
    #[pallet::storage]
    pub type RewardPools<T: Config> =
        StorageMap<_, Twox64Concat, DatanetId, BalanceOf<T>, ValueQuery>;

    /// Commitments to registering content hashes, by committer and commitment (see
    /// [`provena_primitives::commit`]); they serve contributions here and model weights in the
    /// models pallet. `Blake2_128Concat`: both keys are user-chosen.
    #[pallet::storage]
    pub type Commitments<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        ContentHash,
        HashCommitment<T>,
    >;

    /// How many registered items (models) depend on a datanet's snapshots; a datanet can only
    /// be destroyed when none do ([`SnapshotUsers`]).
    #[pallet::storage]
    pub type SnapshotUsage<T> = StorageMap<_, Twox64Concat, DatanetId, u32, ValueQuery>;
}
