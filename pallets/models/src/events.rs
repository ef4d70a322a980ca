//! The pallet's events and errors: a section of the pallet module, imported into it.

use polkadot_sdk::frame_support::pallet_macros::pallet_section;

#[pallet_section]
mod events_and_errors {
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A model was registered.
        ModelRegistered {
            model: ModelId,
            owner: T::AccountId,
            base: Option<ModelId>,
            weights_hash: ContentHash,
            trained_on: Vec<TrainedOn>,
            predecessor: Option<ModelId>,
            version: u32,
        },
        /// A model's price changed.
        PriceUpdated { model: ModelId, price_per_1k_tokens: Balance },
        /// A model changed hands.
        OwnershipTransferred { model: ModelId, from: T::AccountId, to: T::AccountId },
        /// A model was deprecated; its deposit stays held until it is removed.
        ModelDeprecated { model: ModelId },
        /// A model's token was launched.
        TokenLaunched { model: ModelId, account: T::AccountId, params: CurveParams, fee: Permill },
        /// Tokens were bought on the curve.
        Bought {
            model: ModelId,
            who: T::AccountId,
            tokens: Balance,
            cost: Balance,
            fee: Balance,
            sold: Balance,
            reserve: Balance,
        },
        /// Tokens were sold back to the curve.
        Sold {
            model: ModelId,
            who: T::AccountId,
            tokens: Balance,
            proceeds: Balance,
            fee: Balance,
            sold: Balance,
            reserve: Balance,
        },
        /// A curve reached its graduation reserve and became a pool of the reserve against
        /// `pool_tokens` from the never-sold supply.
        Graduated { model: ModelId, reserve: Balance, sold: Balance, pool_tokens: Balance },
        /// Revenue was credited to a token's holders.
        RevenueDistributed {
            model: ModelId,
            from: T::AccountId,
            amount: Balance,
            circulating: Balance,
        },
        /// A holder claimed revenue.
        RevenueClaimed { model: ModelId, who: T::AccountId, amount: Balance },
        /// Tokens moved between accounts.
        TokensTransferred { model: ModelId, from: T::AccountId, to: T::AccountId, amount: Balance },
        /// A deprecated model left the state; its deposit went back to its owner.
        ModelRemoved { model: ModelId, owner: T::AccountId, deposit_released: Balance },
        /// A reveal of an older commitment to the same weights displaced a model nothing
        /// depended on yet: it left the state and its deposit went back to its owner.
        ModelDisplaced { model: ModelId, owner: T::AccountId, by: T::AccountId },
        /// A reveal of an older commitment to the same weights took a model over: it passed to
        /// `to` with the revealed price, developer share and metadata.
        ModelTakenOver { model: ModelId, from: T::AccountId, to: T::AccountId },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No model with that id.
        UnknownModel,
        /// Only the model's owner may do that.
        NotOwner,
        /// The model is deprecated.
        ModelNotActive,
        /// The adapter's base model does not exist.
        UnknownBase,
        /// An adapter's base must be a base model, not another adapter.
        BaseIsAdapter,
        /// The adapter's base model is deprecated.
        BaseNotActive,
        /// The adapter rank is zero or above `MaxAdapterRank`.
        InvalidRank,
        /// The adapter alpha is zero.
        InvalidAlpha,
        /// An adapter must target at least one module.
        NoTargetModules,
        /// More target modules than `MaxTargetModules`.
        TooManyTargetModules,
        /// A target module name is empty or longer than `MaxModuleNameLen`.
        InvalidModuleName,
        /// A target module is listed twice.
        DuplicateTargetModule,
        /// More snapshots than `MaxTrainedOn`.
        TooManySnapshots,
        /// A snapshot is listed twice.
        DuplicateSnapshot,
        /// A declared datanet does not exist.
        UnknownDatanet,
        /// A declared datanet has no snapshot with that version.
        SnapshotNotFound,
        /// A declared snapshot is of a private datanet the caller has no access to.
        NoSnapshotAccess,
        /// The metadata URI is longer than `MaxUriLen`.
        UriTooLong,
        /// A model with these weights is already registered.
        WeightsAlreadyRegistered,
        /// The predecessor does not exist.
        UnknownPredecessor,
        /// The account already owns the model.
        AlreadyOwner,
        /// The model's token was already launched.
        AlreadyLaunched,
        /// The model has no token.
        NoToken,
        /// Not returned since storage version 2: a graduated token trades on its pool.
        CurveGraduated,
        /// The amount is zero.
        ZeroAmount,
        /// The trade moves less OPEN than `MinTradeValue`.
        BelowMinimumTrade,
        /// The trade costs more than `max_cost` or pays less than `min_out`.
        SlippageExceeded,
        /// The deadline block has passed.
        DeadlinePassed,
        /// Buying that many would exceed the curve's supply.
        ExceedsCurveSupply,
        /// The account holds fewer tokens than that.
        InsufficientTokens,
        /// Nothing to claim.
        NothingToClaim,
        /// Tokens cannot be sent to their sender.
        SelfTransfer,
        /// The curve parameters are invalid (a runtime configuration error).
        InvalidCurve,
        /// A computation overflowed.
        Overflow,
        /// A holding would be left with less than [`Config::MinHolding`] (but not nothing).
        BelowMinHolding,
        /// Only a deprecated model can be removed.
        NotDeprecated,
        /// The model's token was launched: its holders keep the model stored.
        HasToken,
        /// Adapters over this base are registered: they keep it stored.
        HasAdapters,
        /// Attribution still stores receipts of this model (until their window and payouts end).
        ModelInUse,
    }
}
