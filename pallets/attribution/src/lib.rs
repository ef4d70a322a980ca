//! # Attribution
//!
//! Proof of Attribution: every paid inference is a receipt that splits its fee among the data
//! contributors the answer is attributed to, the model (developer and token holders), the
//! operator that served it and the protocol treasury.
//!
//! ## Overview
//!
//! An inference operator serves a request, its attribution engine computes which datanet
//! contributions the output came from (weights plus an evidence hash), and it submits a receipt
//! with the user's signed voucher. The chain checks the voucher, charges the user, splits the
//! fee exactly and credits every party; the credits become claimable after a challenge window.
//! Every epoch closes with a Merkle root over its receipts, for settlement elsewhere.
//!
//! ## Terminology
//!
//! - **Operator**: an active agent of the agents pallet ([`Config::Agents`]): it submits
//!   receipts for the models it serves, and its own bond there answers first for them (see the
//!   `operators` module).
//! - **Voucher**: `(request id, model, max fee, operator, expiry)` signed off-chain by the user
//!   (any `MultiSignature`: sr25519, ed25519 or ecdsa) over
//!   [`provena_primitives::attribution::voucher_payload`] (domain tag + genesis hash + the hash
//!   of its anchor block + voucher). It is spent once per `(user, request id)`; only the named
//!   operator may redeem it, only up to its expiry block and its max fee, and its expiry may be
//!   at most [`Config::MaxVoucherLifetime`] blocks after the block that redeems (or prepays)
//!   it. Its anchor is block `expires_at − MaxVoucherLifetime − 1` (the genesis early on; see
//!   [`provena_primitives::attribution::voucher_anchor`]), always a block before the redeeming
//!   one: so a voucher is bound to the branch of the chain it was signed on, and after a split
//!   no voucher is good on both sides for more than `MaxVoucherLifetime` blocks.
//! - **Prepaid voucher**: a voucher authorized on chain instead of signed, with its max fee held
//!   from the user until it is redeemed or expires ([`Pallet::prepay_voucher`],
//!   [`Pallet::release_voucher`]). This is how an account that cannot sign (an EVM contract,
//!   through the runtime's `IProvena` precompile) pays for inference. A receipt redeems one by
//!   carrying no signature (`signature: None`: the operator declares it, so the call is weighed
//!   exactly); at submission the hold is released and the fee charged as for a signed voucher,
//!   the rest staying with the user. A signed receipt may spend the same request id instead:
//!   the hold then comes back at expiry.
//! - **Funding**: the fee is taken from the user's free balance when the receipt is submitted
//!   (the voucher is the authorization; the user keeps at least the existential deposit). No
//!   credit has to be pre-funded. The fee is `⌈price per 1,000 tokens × (input + output) / 1,000⌉`
//!   and must not exceed the voucher's max fee.
//! - **Eligible contribution**: a contribution in a snapshot the model declares, or one its base
//!   model declares (for an adapter); for a retrieval-augmented answer, also one in the
//!   `retrieved_from` snapshot, which the operator must be allowed to use (public datanet, or
//!   granted). Withdrawn, rejected or slashed contributions are accepted in a receipt but earn
//!   nothing: their part goes to the treasury.
//! - **Split**: [`Config::Shares`] gives the treasury, operator, model and contributor shares; the
//!   model part is divided between developer and token holders by the model's developer share;
//!   the contributor part by weight, the pool's part (if any) being one more weight; exact to
//!   the base unit ([`provena_primitives::attribution::split_fee`]). With no attribution the
//!   contributor part goes to the treasury.
//! - **Pool**: the attribution engine names its top contributions and puts the rest of the
//!   credit in the datanet's pool; a receipt carries that part as `pool: (datanet, ppm)`, the
//!   datanet being one the model (or the retrieval) declares, and it is paid into the reward
//!   pool the datanets pallet keeps for that datanet.
//! - **Payee**: an account, a contribution (paid to its contributor), a model's token holders
//!   (paid through the models pallet), or a datanet's reward pool.
//! - **Holder revenue**: the holders' part is paid into the models pallet's revenue
//!   accumulator when the receipt is credited, pro rata to the holdings at that moment, so it
//!   belongs to those who held while it was earned: buying just before a payout and selling
//!   after earns nothing from receipts credited before the buy. When nobody holds the token the
//!   part is the developer's (an ordinary credit). It is not held through the challenge
//!   window: an upheld challenge refunds it to the user out of the operator's own bond.
//! - **Challenge window**: credits of a receipt submitted in epoch `e` become claimable at block
//!   `(e + 1) · EpochLength + ChallengeWindow`. Until then anyone may challenge it with
//!   [`Config::ChallengeBond`]; [`Config::ResolveOrigin`] resolves: upheld → its credits are
//!   reversed, the user refunded (the holders' part out of the operator's own bond),
//!   [`Config::OperatorSlash`] of what is left of the operator's own bond slashed
//!   ([`Config::ChallengerReward`] of it to the challenger, the rest to the treasury) and the
//!   challenger's bond returned; rejected → the credits unfreeze and the challenger's bond goes
//!   to the treasury.
//! - **Lifecycle**: a receipt leaves the state at [`Pallet::prunable_at`], once its challenge
//!   window is over and every voucher of its epoch has expired; with it go its spent-voucher
//!   mark, its place in the model index and (with the epoch's last receipt) the epoch's leaves. The
//!   epoch roots, the events (each `ReceiptSubmitted` carries its leaf) and the payees' totals
//!   stay as the record. `on_initialize` prunes up to [`Config::MaxPrunePerBlock`] due receipts
//!   a block (what a full epoch adds per block) and `on_idle` more with the block's spare
//!   weight (see the `prune` module).
//! - **Epoch**: [`Config::EpochLength`] blocks. At the first block of epoch `e + 1` the chain
//!   stores the Merkle root (the Keccak tree of [`provena_primitives::merkle`]) over epoch `e`'s
//!   receipt leaves, each leaf being `keccak256(SCALE(receipt id, receipt))`.
//!
//! ## Usage
//!
//! 1. An operator registers as an agent in the agents pallet (`register_agent`), bonding at
//!    least its minimum own bond and declaring the models (or bases) it serves.
//! 2. Users sign vouchers off-chain (`attribution_voucherPayload` gives the bytes to sign).
//! 3. `submit_receipts` (operator): up to [`Config::MaxReceiptsPerCall`] receipts; a bad one
//!    is skipped with an event, the rest settle; each operator submits at most
//!    [`Config::OperatorEpochShare`] of an epoch's [`Config::MaxReceiptsPerEpoch`].
//! 4. `challenge_receipt` (anyone, within the window) and `resolve_challenge` (resolve origin);
//!    `expire_challenge` (anyone) after [`Config::ChallengeDeadline`] if nobody resolved it: the
//!    receipt stands and the challenger's bond comes back. An operator whose own bond slashes
//!    left below [`Config::OperatorSlash`] submits nothing more until it tops it up (and the
//!    agents pallet chills one left below its minimum own bond).
//! 5. `claim_rewards` (anyone, for any payees): pays what has matured to its rightful owner.
//! 6. An operator stops by chilling as an agent; its own bond unbonds there, and is withdrawn
//!    only once none of its receipts is in a window or challenged.
//! 7. `prepay_voucher` (user, instead of signing) and `release_voucher` (user, after expiry,
//!    if no receipt used it).
//! 8. On-chain inference jobs (`pallet-inference`) are settled through
//!    [`provena_primitives::inference::InferenceSettlement`]: the job's held `max_fee` is the
//!    user's authorization (released by the inference pallet just before), the voucher is the
//!    job itself (its request id `job_request_id(job)`, expiring in the completing block), and
//!    no voucher is marked spent (a job completes once). Everything else is checked, charged and
//!    split exactly as for a signed voucher.
//!
//! ## Throughput
//!
//! `submit_receipts` writes, per receipt, the receipt, its voucher mark and the user's balance;
//! per call, one model-index run per model (a call that switches between models is charged a
//! write for each further run it starts), the epoch's leaves once, one hold of the call's fees,
//! and one reward record per distinct payee (credits to one payee are aggregated over the call;
//! a contribution's reward record is part of its record in the datanets pallet, which the receipt
//! reads to check it anyway, so crediting it costs one more write). What receipts of one model
//! and retrieval share (the model, the snapshots it, its base and the retrieval declare, whether
//! its token has holders) and each voucher anchor's hash are read once per call (the `check`
//! module). Receipts declare their prepaid vouchers (no signature), so a call is charged exactly
//! what [`Pallet::submit_weight`] computes from the benchmarks (see there). From the generated
//! [`weights`] (ParityDb read/write costs, 1.5 s of normal-dispatch reference time per block), in
//! calls of 64 receipts with 16 attribution entries each whose vouchers expire at the same block:
//!
//! | a call of 64 receipts | receipts per block |
//! | --- | --- |
//! | one model, all 1,024 contributions distinct (1,028 reward records) | **1,024** |
//! | the same, every voucher prepaid | 896 |
//! | every receipt for its own adapter with its own retrieval, all contributions distinct | 704 |
//! | one model, the same 16 contributions in every receipt (one datanet's popular documents) | 3,712 |
//!
//! The first case is the worst there is for one model: each of its 1,024 contributions is read
//! (its snapshot span and status) and written (the reward record it carries), 67 µs each (58
//! of them ParityDb's default read and write costs). A call weighs 93.1 ms and sixteen fit the
//! 1,499.5 ms (93.7 ms each): issue 17's 1,000 receipts per block with 16 entries. Since v6 a
//! call also pays for its operator as an agent (its record, its own bond and unbonding pools,
//! whether it serves each shape's model, and the work reported: the agents pallet's
//! `note_work` at its worst), charged on top of the benchmarks in [`Pallet::submit_weight`]
//! from the database weights and the agents pallet's. The measured
//! part of the weights varies by up to half between runs on the 2-core VM they come from; these
//! are the fastest of three runs. The runtime test `receipts_per_block_from_the_weights`
//! recomputes the table from the weights file and fails if any figure drops below it.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - the fees held on the pallet account equal everything owed to payees (pending, matured and
//!   frozen): held funds equal pending payouts;
//! - challenger bonds held equal the open challenges' bonds, prepaid-voucher holds equal each
//!   user's open prepaid vouchers, and no operator bond is held here any more (from v6);
//! - fees charged minus refunded equal paid plus owed, so paid plus pending never exceeds the
//!   fees charged;
//! - each payee's `earned` equals `claimed + matured + frozen + Σ pending` (contributions'
//!   records, kept in the datanets pallet, included);
//! - each epoch's leaves are at most [`Config::MaxReceiptsPerEpoch`], and every receipt's
//!   payouts sum to its fee;
//! - a model's token holders are never owed anything here (paid when credited);
//! - operator epoch usage exists only with an operator record, never for a future epoch, and
//!   never above [`Config::OperatorEpochShare`]; each record's open challenges are the open
//!   challenges against its receipts;
//! - pruned ⊆ settled and past: every receipt pruning has not passed is stored, every one it
//!   passed is gone (but one still under challenge), and no model-index run, epoch leaves or
//!   expired voucher mark outlives its receipts (but the counted [`LegacyVoucherMarks`]);
//! - the model index ([`ModelIndex`], [`ModelReceipts`]): each model's live runs are numbered
//!   without gaps, follow each other in index and id order, end at its receipt count, start at
//!   its pruned point, and name stored receipts of that model (see the `index` module).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod challenges;
mod check;
mod events;
mod index;
mod ledger;
pub mod migrations;
#[cfg(test)]
mod mock;
mod operators;
mod prune;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use pallet::*;
pub use types::*;

use check::CallCache;
pub use weights::WeightInfo;

use alloc::{collections::btree_map::BTreeMap, vec::Vec};
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, InspectHold, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Preservation, Restriction},
            EnsureOrigin, StorageInfoTrait,
        },
        PalletId,
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    sp_core::H256,
    sp_runtime::{
        traits::{
            AccountIdConversion, IdentifyAccount, Saturating, UniqueSaturatedInto, Verify, Zero,
        },
        DispatchResult, Permill,
    },
};
use provena_primitives::{
    agents::{AgentBonds, AgentRewards, AgentWork, Work},
    attribution::{
        split_fee, voucher_anchor, voucher_payload, EpochIndex, EpochInfo, Payee, PayoutAmount,
        ReceiptInfo, ReceiptProof, ReceiptStatus, RewardInfo, SplitShares,
    },
    datanets::{ContributionInspect, ContributionRewards, OwedCredit, RewardPoolFunding},
    governance::{ContributionPower, PowerSource},
    inference::{InferenceSettlement, JobSettlement},
    merkle,
    models::{ModelInspect, ModelRevenue, ModelStatus},
    Balance, ContentHash, ContributionId, ModelId,
};

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::attribution";

/// The largest page the runtime API returns.
pub const MAX_PAGE: u32 = 1_000;

/// The most receipts `receipts_by_contribution` scans per call.
pub const MAX_SCAN: u32 = 10_000;

// FRAME's macro expansion of this module uses `expect` (on can't-fail metadata lookups) and
// generates functions with one argument per call parameter; the lints are for hand-written code.
#[allow(clippy::expect_used, clippy::too_many_arguments, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet_macros::import_section(events::events_and_errors)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::{self, pallet_prelude::*};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(6);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An operator's bond, until v6 (operators are agents since, bonded in the agents
        /// pallet); the v6 migration released every one.
        OperatorBond,
        /// A challenger's bond on an open challenge.
        ChallengeBond,
        /// Fees charged and not yet paid out, held on the pallet account.
        Fees,
        /// A prepaid voucher's max fee, held on the user until redeemed or released.
        PrepaidVoucher,
    }

    /// What benchmarks need from the runtime: a model trained on a snapshot with many accepted
    /// contributions, and a user key that signs vouchers.
    #[cfg(feature = "runtime-benchmarks")]
    pub trait BenchmarkHelper<AccountId, Signature> {
        /// A model of `owner` trained on a snapshot holding `contributions` accepted
        /// contributions, returned in id order.
        fn model_with_contributions(
            owner: &AccountId,
            contributions: u32,
        ) -> (ModelId, Vec<ContributionId>);
        /// The costliest model to attribute to: a LoRA adapter of `owner` over a new base model
        /// of `owner`, both trained on `snapshot`; and a snapshot of a new private datanet of
        /// `owner` that `operator` was granted access to, to attribute a retrieval to.
        fn adapter_with_retrieval(
            owner: &AccountId,
            operator: &AccountId,
            snapshot: provena_primitives::models::TrainedOn,
        ) -> (ModelId, provena_primitives::models::TrainedOn);
        /// A user account and its signature over `payload`.
        fn sign(user_index: u32, payload: &[u8]) -> (AccountId, Signature);
        /// Launches `model`'s token and has someone buy it, so holder revenue has holders.
        fn launch_with_holder(owner: &AccountId, model: ModelId);
    }

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The currency (OPEN) fees, bonds and rewards are paid in.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + InspectHold<Self::AccountId>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// Datanets, to check attributed contributions; each contribution's reward record is
        /// kept in its datanet record.
        type Datanets: ContributionInspect<Self::AccountId>
            + RewardPoolFunding<Self::AccountId>
            + ContributionRewards<RewardRecord<Self>>;

        /// Models: prices, declared snapshots, developers, and holder revenue.
        type Models: ModelInspect<Self::AccountId, Balance> + ModelRevenue<Self::AccountId, Balance>;

        /// The signature users sign vouchers with.
        type OffchainSignature: Verify<Signer = Self::OffchainPublic> + Parameter;

        /// The public key behind [`Config::OffchainSignature`].
        type OffchainPublic: IdentifyAccount<AccountId = Self::AccountId>;

        /// Sets the challenge window (a protocol parameter).
        type ParameterOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Resolves challenges.
        type ResolveOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The pallet's id; its account holds fees until they are paid out.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// The protocol treasury.
        type Treasury: Get<Self::AccountId>;

        /// Governance's record of contribution power: a reward paid to the account that earned
        /// it (a contributor, a model's developer, an operator; not the treasury, not token
        /// holders) is credited as earnings.
        type Power: ContributionPower<Self::AccountId>;

        /// Agents, the operators: only an active agent submits receipts (for the models it
        /// serves); its share is paid to it and its stakers; its own bond answers first for an
        /// upheld challenge; its work (receipts settled, challenges upheld) counts in its
        /// performance.
        type Agents: AgentWork<Self::AccountId>
            + AgentRewards<Self::AccountId>
            + AgentBonds<Self::AccountId>;

        /// How fees are split.
        #[pallet::constant]
        type Shares: Get<SplitShares>;

        /// What a challenger holds while a challenge is open.
        #[pallet::constant]
        type ChallengeBond: Get<Balance>;

        /// What an upheld challenge slashes from the operator's own bond (at most what is left
        /// of it); an operator whose own bond is below it submits nothing.
        #[pallet::constant]
        type OperatorSlash: Get<Balance>;

        /// The challenger's share of a slash.
        #[pallet::constant]
        type ChallengerReward: Get<Permill>;

        /// Blocks after which a challenge nobody resolved may be ended by anyone, with the
        /// receipt standing and the challenger's bond returned.
        #[pallet::constant]
        type ChallengeDeadline: Get<BlockNumberFor<Self>>;

        /// The longest a voucher may be valid: its expiry is at most this many blocks after the
        /// block that redeems (or prepays) it. Bounds how long a spent voucher must be
        /// remembered, and so how long its receipt stays in the state.
        #[pallet::constant]
        type MaxVoucherLifetime: Get<BlockNumberFor<Self>>;

        /// The most receipts `on_initialize` prunes in a block: at least the most receipts an
        /// epoch may add per block (`MaxReceiptsPerEpoch / EpochLength`), so the state stays
        /// bounded under any load; `on_idle` prunes more when blocks have room.
        #[pallet::constant]
        type MaxPrunePerBlock: Get<u32>;

        /// Blocks per epoch.
        #[pallet::constant]
        type EpochLength: Get<BlockNumberFor<Self>>;

        /// The most receipts per `submit_receipts`.
        #[pallet::constant]
        type MaxReceiptsPerCall: Get<u32>;

        /// The most attribution entries per receipt.
        #[pallet::constant]
        type MaxEntries: Get<u32>;

        /// The most receipts per epoch.
        #[pallet::constant]
        type MaxReceiptsPerEpoch: Get<u32>;

        /// The share of an epoch's receipts one operator may submit, so that no operator can
        /// fill an epoch for everyone.
        #[pallet::constant]
        type OperatorEpochShare: Get<Permill>;

        /// The most pending buckets per payee (later credits merge into the last one, which
        /// then unlocks at the later time).
        #[pallet::constant]
        type MaxPendingBuckets: Get<u32>;

        /// The most payees per `claim_rewards`.
        #[pallet::constant]
        type MaxClaims: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Benchmark setup.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::OffchainSignature>;
    }

    /// What is kept about each operator that submitted receipts (from v6; before, the
    /// registry itself, with bonds).
    #[pallet::storage]
    pub type Operators<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Operator<T>>;

    /// Blocks after the end of a receipt's epoch before its credits are claimable.
    #[pallet::storage]
    pub type ChallengeWindow<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

    /// The id the next receipt gets.
    #[pallet::storage]
    pub type NextReceiptId<T> = StorageValue<_, u64, ValueQuery>;

    /// Receipts.
    #[pallet::storage]
    pub type Receipts<T: Config> = StorageMap<_, Twox64Concat, u64, Receipt<T>>;

    /// Spent vouchers: (user, request id) → the voucher's expiry.
    #[pallet::storage]
    pub type UsedVouchers<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        ContentHash,
        BlockNumberFor<T>,
    >;

    /// Prepaid vouchers not yet redeemed: (user, request id) → the voucher (its max fee is
    /// held on the user).
    #[pallet::storage]
    pub type PrepaidVouchers<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        ContentHash,
        VoucherOf<T>,
    >;

    /// Receipts per model: how many receipts and runs, and how many have been pruned (from v5;
    /// before, `ModelReceiptCount` and `ModelReceiptsPruned`).
    #[pallet::storage]
    pub type ModelIndex<T> = StorageMap<_, Twox64Concat, ModelId, ModelIndexInfo, ValueQuery>;

    /// Receipts per model: run `k` of a model's receipts (consecutive ids; from v5, before one
    /// entry per receipt).
    #[pallet::storage]
    pub type ModelReceipts<T> =
        StorageDoubleMap<_, Twox64Concat, ModelId, Twox64Concat, u32, ReceiptRun>;

    /// What each payee is owed and was paid, but contributions: theirs is kept in their own
    /// record in the datanets pallet (from v4; see [`Config::Datanets`]).
    #[pallet::storage]
    pub type Rewards<T: Config> = StorageMap<_, Blake2_128Concat, PayeeOf<T>, RewardRecord<T>>;

    /// Receipt leaves of each epoch, in receipt order.
    #[pallet::storage]
    pub type EpochLeaves<T: Config> = StorageMap<
        _,
        Twox64Concat,
        EpochIndex,
        BoundedVec<H256, T::MaxReceiptsPerEpoch>,
        ValueQuery,
    >;

    /// Closed epochs' roots.
    #[pallet::storage]
    pub type EpochRoots<T: Config> =
        StorageMap<_, Twox64Concat, EpochIndex, EpochRoot<BlockNumberFor<T>>>;

    /// Open challenges.
    #[pallet::storage]
    pub type Challenges<T: Config> = StorageMap<_, Twox64Concat, u64, Challenge<T>>;

    /// Receipts each operator submitted in an epoch: `(epoch, count)`, replaced when the
    /// operator submits in a later epoch, removed with the operator.
    #[pallet::storage]
    pub type OperatorEpochUsage<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, (EpochIndex, u32), OptionQuery>;

    /// Fees charged, refunded and paid.
    #[pallet::storage]
    pub type FeeTotals<T> = StorageValue<_, Totals, ValueQuery>;

    /// How far pruning has gone: receipts below `next` have left the state (but for one whose
    /// challenge was still open, removed when it is resolved).
    #[pallet::storage]
    pub type PruneCursor<T> = StorageValue<_, Pruning, ValueQuery>;

    /// How many spent-voucher marks pruning left in [`UsedVouchers`] because their voucher had
    /// not expired: only receipts from before [`Config::MaxVoucherLifetime`] existed (spec 104
    /// and earlier) can leave one; they stay, so that those vouchers are never redeemed twice.
    #[pallet::storage]
    pub type LegacyVoucherMarks<T> = StorageValue<_, u32, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// The challenge window in blocks; zero means one epoch.
        pub challenge_window: BlockNumberFor<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let window = if self.challenge_window.is_zero() {
                T::EpochLength::get()
            } else {
                self.challenge_window
            };
            ChallengeWindow::<T>::put(window);
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// Closes the epoch that just ended, then prunes up to [`Config::MaxPrunePerBlock`]
        /// receipts that are due (outside the normal-dispatch share of the block, so pruning
        /// never takes room from receipts).
        fn on_initialize(n: BlockNumberFor<T>) -> Weight {
            let mut weight = Weight::zero();
            if Self::starts_epoch(n) {
                let closing = Self::epoch_of(n).saturating_sub(1);
                let count = EpochLeaves::<T>::decode_len(closing).unwrap_or(0);
                Self::close_epoch(closing, n);
                weight = T::WeightInfo::close_epoch(count.try_into().unwrap_or(u32::MAX));
            }
            let pruned = Self::prune(n, T::MaxPrunePerBlock::get());
            // At least the reads that found nothing due.
            weight.saturating_add(T::WeightInfo::prune_receipts(pruned.max(1)))
        }

        /// Prunes more receipts that are due with the block's spare weight.
        fn on_idle(n: BlockNumberFor<T>, remaining: Weight) -> Weight {
            Self::prune_within(n, remaining)
        }

        fn integrity_test() {
            assert!(T::Shares::get().is_complete(), "Config::Shares must sum to 100%");
            assert!(!T::EpochLength::get().is_zero(), "EpochLength must be positive");
            assert!(T::MaxPendingBuckets::get() > 0, "MaxPendingBuckets must be positive");
            let length: u64 = T::EpochLength::get().unique_saturated_into();
            assert!(
                u64::from(T::MaxPrunePerBlock::get()).saturating_mul(length)
                    >= u64::from(T::MaxReceiptsPerEpoch::get()),
                "MaxPrunePerBlock must keep up with the most receipts an epoch adds per block"
            );
            assert!(
                !T::MaxVoucherLifetime::get().is_zero(),
                "MaxVoucherLifetime must be positive, or no voucher could be redeemed"
            );
            assert!(
                T::MaxVoucherLifetime::get().saturating_add(2u32.into())
                    <= <T as frame_system::Config>::BlockHashCount::get(),
                "the block hashes kept must reach back to the anchor of every unexpired voucher"
            );
            assert!(
                Self::operator_epoch_cap() >= T::MaxReceiptsPerCall::get(),
                "an operator's share of an epoch must hold at least one full call"
            );
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
        /// Sets the challenge window (blocks after a receipt's epoch ends). Parameter origin.
        /// Applies to receipts submitted from now on.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::set_challenge_window())]
        pub fn set_challenge_window(
            origin: OriginFor<T>,
            blocks: BlockNumberFor<T>,
        ) -> DispatchResult {
            T::ParameterOrigin::ensure_origin(origin)?;
            ensure!(!blocks.is_zero(), Error::<T>::InvalidWindow);
            ChallengeWindow::<T>::put(blocks);
            Self::deposit_event(Event::ChallengeWindowSet { blocks });
            Ok(())
        }

        /// Submits receipts: each one's voucher is checked and spent, its fee charged to the
        /// user and split, and the credits start their challenge window (the holders' part is
        /// paid at once). A receipt that fails (a bad voucher, a user who cannot pay, a model
        /// repriced or deprecated since) is skipped with [`Event::ReceiptSkipped`] naming its
        /// index and error, and the rest settle; if none settles the call fails with the first
        /// error. Operator only, within its share of the epoch.
        #[pallet::call_index(3)]
        #[pallet::weight(Pallet::<T>::submit_weight(receipts))]
        pub fn submit_receipts(
            origin: OriginFor<T>,
            receipts: Vec<ReceiptInput<T>>,
        ) -> DispatchResultWithPostInfo {
            let operator = ensure_signed(origin)?;
            let charged = Self::submit_weight(&receipts);
            let outcome =
                Self::do_submit(operator, receipts.into_iter().map(Submission::from).collect())?;
            // Charged for the work done: skipped receipts get the writes they did not make.
            let unused = T::DbWeight::get().writes(5).saturating_mul(u64::from(outcome.skipped));
            Ok(Some(charged.saturating_sub(unused)).into())
        }

        /// Pays each payee what has matured for it: an account directly, a contribution to its
        /// contributor, a model's holders through the models pallet. Anyone may call it.
        #[pallet::call_index(4)]
        #[pallet::weight({
            let n: u32 = payees.len().try_into().unwrap_or(u32::MAX);
            T::WeightInfo::claim_rewards(n).saturating_add(
                T::Power::credit_weight()
                    .saturating_add(T::Agents::reward_weight())
                    .saturating_mul(n.into()),
            )
        })]
        pub fn claim_rewards(origin: OriginFor<T>, payees: Vec<PayeeOf<T>>) -> DispatchResult {
            ensure_signed(origin)?;
            ensure!(payees.len() <= T::MaxClaims::get() as usize, Error::<T>::TooManyClaims);
            let now = frame_system::Pallet::<T>::block_number();
            let mut total: Balance = 0;
            let mut totals = FeeTotals::<T>::get();
            for payee in payees {
                if Self::reward_record(&payee).is_none() {
                    continue;
                }
                let amount = Self::mutate_reward(&payee, |record| {
                    Self::mature(record, now)?;
                    let amount = record.matured;
                    record.matured = 0;
                    record.claimed =
                        record.claimed.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                    Ok(amount)
                })?;
                if amount == 0 {
                    continue;
                }
                Self::pay(&payee, amount)?;
                total = total.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                Self::deposit_event(Event::RewardsClaimed { payee, amount });
            }
            ensure!(total > 0, Error::<T>::NothingToClaim);
            totals.paid = totals.paid.checked_add(total).ok_or(Error::<T>::Overflow)?;
            FeeTotals::<T>::put(totals);
            Ok(())
        }

        /// Challenges a receipt within its window, holding [`Config::ChallengeBond`]; its
        /// credits freeze until the challenge is resolved.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::challenge_receipt(T::MaxEntries::get()))]
        pub fn challenge_receipt(origin: OriginFor<T>, receipt: u64) -> DispatchResult {
            let challenger = ensure_signed(origin)?;
            Self::do_challenge(challenger, receipt)
        }

        /// Resolves a challenge. Upheld: the receipt's credits are reversed, the user refunded
        /// in full (the part already paid to token holders out of the operator's bond), the
        /// operator slashed (part to the challenger) and the challenger's bond returned.
        /// Rejected: the credits unfreeze and the challenger's bond goes to the treasury.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::resolve_challenge(T::MaxEntries::get())
            .saturating_add(T::Agents::own_bond_weight())
            .saturating_add(T::Agents::take_own_bond_weight())
            .saturating_add(T::Agents::note_work_weight()))]
        pub fn resolve_challenge(
            origin: OriginFor<T>,
            receipt: u64,
            upheld: bool,
        ) -> DispatchResult {
            T::ResolveOrigin::ensure_origin(origin)?;
            let resolution = if upheld {
                crate::challenges::Resolution::Upheld
            } else {
                crate::challenges::Resolution::Rejected
            };
            Self::do_resolve(receipt, resolution)
        }

        /// Ends a challenge that nobody resolved within [`Config::ChallengeDeadline`] blocks of
        /// its opening: the receipt stands, its credits unfreeze and the challenger's bond comes
        /// back. Anyone may call it. (The same work as resolving, and priced so.)
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::resolve_challenge(T::MaxEntries::get()))]
        pub fn expire_challenge(origin: OriginFor<T>, receipt: u64) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_expire(receipt)
        }

        /// Authorizes `voucher` on chain instead of signing it: its max fee is held on the
        /// caller until the named operator redeems it with a receipt (then the fee is charged
        /// and the rest released) or it expires unredeemed (then [`Pallet::release_voucher`]).
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::prepay_voucher())]
        pub fn prepay_voucher(origin: OriginFor<T>, voucher: VoucherOf<T>) -> DispatchResult {
            let user = ensure_signed(origin)?;
            Self::do_prepay_voucher(user, voucher)
        }

        /// Releases an expired, unredeemed prepaid voucher of the caller: its held max fee
        /// returns to the caller's free balance.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::release_voucher())]
        pub fn release_voucher(origin: OriginFor<T>, request_id: ContentHash) -> DispatchResult {
            let user = ensure_signed(origin)?;
            Self::do_release_voucher(user, request_id)
        }
    }
}
