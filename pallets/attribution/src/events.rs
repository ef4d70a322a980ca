//! The pallet's events and errors: a section of the pallet module, imported into it.

use polkadot_sdk::frame_support::pallet_macros::pallet_section;

#[pallet_section]
mod events_and_errors {
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An operator registered before operators were agents became one (the v6 migration):
        /// its old bond was released and `bond` bonded as its agent's own.
        OperatorAdded { operator: T::AccountId, bond: Balance },
        /// What was kept about an operator went: its agent left, nothing owed (`bond_released`
        /// zero), or, in the v6 migration, a candidate's or a leaving operator's old bond was
        /// released.
        OperatorRemoved { operator: T::AccountId, bond_released: Balance },
        /// The challenge window changed.
        ChallengeWindowSet { blocks: BlockNumberFor<T> },
        /// Receipt `index` of an operator's `submit_receipts` batch was skipped (nothing of it
        /// happened; the voucher is not spent) for `error`; the rest of the batch settled.
        ReceiptSkipped {
            operator: T::AccountId,
            index: u32,
            user: T::AccountId,
            request_id: ContentHash,
            error: DispatchError,
        },
        /// A receipt was accepted and its fee charged; `leaf` is its leaf in the epoch's Merkle
        /// tree, so that the tree can be rebuilt from events once the receipts have left the
        /// state.
        ReceiptSubmitted {
            receipt: u64,
            model: ModelId,
            user: T::AccountId,
            operator: T::AccountId,
            fee: Balance,
            epoch: EpochIndex,
            leaf: H256,
        },
        /// Rewards were paid to a payee's owner (for model holders: through the models pallet,
        /// or to the developer if the token had no holders).
        RewardsClaimed { payee: PayeeOf<T>, amount: Balance },
        /// A receipt was challenged; its credits are frozen.
        ReceiptChallenged { receipt: u64, challenger: T::AccountId },
        /// A challenge nobody resolved in time ended: the receipt stands, the bond came back.
        ChallengeExpired { receipt: u64, challenger: T::AccountId },
        /// A challenge was resolved; if upheld, the user got `refunded` back (the whole fee,
        /// unless the operator's bond could not make good the holders' part).
        ChallengeResolved { receipt: u64, upheld: bool, slashed: Balance, refunded: Balance },
        /// A model's token holders were paid their part of the receipts just credited, into
        /// the models pallet's revenue accumulator (pro rata to their holdings now).
        HoldersPaid { model: ModelId, amount: Balance },
        /// An epoch closed with a Merkle root over its receipts.
        EpochClosed { epoch: EpochIndex, root: H256, receipts: u32 },
        /// A voucher was authorized on chain; its max fee is held on the user.
        VoucherPrepaid {
            user: T::AccountId,
            request_id: ContentHash,
            model: ModelId,
            operator: T::AccountId,
            max_fee: Balance,
            expires_at: BlockNumberFor<T>,
        },
        /// An expired, unredeemed prepaid voucher was released; its hold returned to the user.
        VoucherReleased { user: T::AccountId, request_id: ContentHash, amount: Balance },
        /// Receipts `from..to` (ids) left the state: past their challenge window and their
        /// vouchers' expiry, the epoch roots, the events and the payees' totals are their record.
        ReceiptsPruned { from: u64, to: u64 },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The operator is not an active agent.
        NotOperator,
        /// The challenge window must be positive.
        InvalidWindow,
        /// No receipts were given.
        NoReceipts,
        /// More receipts than `MaxReceiptsPerCall`.
        TooManyReceipts,
        /// More attribution entries than `MaxEntries`.
        TooManyEntries,
        /// The voucher names another operator.
        WrongOperator,
        /// The receipt's model is not the voucher's.
        ModelMismatch,
        /// The voucher's expiry block has passed.
        VoucherExpired,
        /// The voucher's signature does not verify for the user.
        BadSignature,
        /// The voucher was already spent.
        VoucherAlreadyUsed,
        /// No model with that id.
        UnknownModel,
        /// The model is deprecated.
        ModelNotActive,
        /// The fee (price × tokens) exceeds the voucher's max fee.
        FeeAboveMax,
        /// Attribution weights must each be positive and sum to exactly 1,000,000.
        WeightsNotNormalized,
        /// A contribution is attributed twice.
        DuplicateContribution,
        /// No contribution with that id.
        UnknownContribution,
        /// A contribution is in none of the model's snapshots (nor the retrieved one).
        ContributionNotInModelSnapshots,
        /// The operator may not use the snapshot it claims to have retrieved from.
        RetrievalNotAllowed,
        /// The epoch holds `MaxReceiptsPerEpoch` receipts already.
        EpochFull,
        /// More payees than `MaxClaims`.
        TooManyClaims,
        /// Nothing is claimable for these payees.
        NothingToClaim,
        /// No receipt with that id.
        UnknownReceipt,
        /// The receipt is already challenged.
        AlreadyChallenged,
        /// The receipt was reversed.
        ReceiptReversed,
        /// The receipt's challenge window has passed.
        ChallengeWindowClosed,
        /// The receipt has no open challenge.
        NotChallenged,
        /// A computation overflowed.
        Overflow,
        /// A prepaid voucher's max fee must be positive.
        ZeroMaxFee,
        /// A voucher with this request id is already prepaid by this user.
        AlreadyPrepaid,
        /// No prepaid voucher with this request id for this user.
        NotPrepaid,
        /// The prepaid voucher has not expired yet: the operator may still redeem it.
        VoucherNotExpired,
        /// The receipt's voucher differs from the one prepaid under its request id.
        PrepaidMismatch,
        /// The receipt pays a datanet pool of a datanet the model (or the retrieval) does not
        /// declare.
        PoolNotDeclared,
        /// The fee is zero (a zero price or no tokens): free receipts are refused.
        ZeroFee,
        /// The model's token has no holders to pay.
        NoHolders,
        /// The challenge is younger than [`Config::ChallengeDeadline`]: the resolve origin
        /// still decides it.
        ChallengeNotExpired,
        /// The operator's own bond as an agent no longer covers one more slash
        /// ([`Config::OperatorSlash`]): it may not submit until it tops it up.
        BondTooLow,
        /// The operator has submitted its share ([`Config::OperatorEpochShare`]) of this
        /// epoch's receipts.
        OperatorEpochFull,
        /// The voucher expires more than [`Config::MaxVoucherLifetime`] blocks from now.
        VoucherTooLong,
        /// The operator does not serve the receipt's (or voucher's) model: as an agent it
        /// declared neither the model nor its base.
        ModelNotServed,
    }
}
