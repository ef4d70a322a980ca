//! The records this pallet stores and the arguments its calls take.

use crate::Config;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{
        traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
    },
    frame_system::pallet_prelude::BlockNumberFor,
};
use provena_primitives::{
    attribution::{EpochIndex, Payee, ReceiptStatus, Voucher, WeightPpm},
    Balance, ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};
use scale_info::TypeInfo;

/// A voucher as this runtime's types spell it.
pub type VoucherOf<T> =
    Voucher<<T as polkadot_sdk::frame_system::Config>::AccountId, BlockNumberFor<T>>;

/// A payee as this runtime's types spell it.
pub type PayeeOf<T> = Payee<<T as polkadot_sdk::frame_system::Config>::AccountId>;

/// One receipt as an operator submits it.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct ReceiptInput<T: Config> {
    /// The user's voucher.
    pub voucher: VoucherOf<T>,
    /// The user, who signed the voucher and pays.
    pub user: T::AccountId,
    /// The user's signature over [`provena_primitives::attribution::voucher_payload`]; `None`
    /// redeems the user's prepaid voucher of this request id instead (which must equal
    /// `voucher`), so the operator declares which receipts redeem one and the call is weighed
    /// exactly.
    pub signature: Option<T::OffchainSignature>,
    /// The model served (must be the voucher's).
    pub model: ModelId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// The attribution: contributions and weights in ppm; with the pool's part they sum to
    /// 1,000,000 (or both are empty).
    pub attribution: Vec<(ContributionId, WeightPpm)>,
    /// The part (ppm) of a datanet's reward pool: credit beyond the named contributions. The
    /// datanet must be one the model (or the retrieval) declares.
    pub pool: Option<(DatanetId, WeightPpm)>,
    /// For a retrieval-augmented answer, the snapshot passages were retrieved from.
    pub retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    /// The hash of the attribution engine's evidence.
    pub evidence_hash: ContentHash,
}

/// The most payouts a receipt has: one per attributed contribution, plus treasury, operator,
/// developer, holders and a datanet pool.
pub struct MaxPayoutsOf<T>(core::marker::PhantomData<T>);
impl<T: Config> Get<u32> for MaxPayoutsOf<T> {
    fn get() -> u32 {
        T::MaxEntries::get().saturating_add(5)
    }
}

/// A stored receipt.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Receipt<T: Config> {
    /// The user who paid.
    pub user: T::AccountId,
    /// The operator who submitted it.
    pub operator: T::AccountId,
    /// The model used.
    pub model: ModelId,
    /// The voucher's request id.
    pub request_id: ContentHash,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// The fee charged.
    pub fee: Balance,
    /// The attribution.
    pub attribution: BoundedVec<(ContributionId, WeightPpm), T::MaxEntries>,
    /// The snapshot retrieved from (RAG).
    pub retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    /// The evidence hash.
    pub evidence_hash: ContentHash,
    /// Each payee's part; they sum to `fee`.
    pub payouts: BoundedVec<(PayeeOf<T>, Balance), MaxPayoutsOf<T>>,
    /// Its epoch.
    pub epoch: EpochIndex,
    /// When it was submitted.
    pub submitted_at: BlockNumberFor<T>,
    /// When its payouts become claimable unless challenged.
    pub claimable_at: BlockNumberFor<T>,
    /// Pending, challenged or reversed.
    pub status: ReceiptStatus,
}

/// What the chain owes one payee.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    DefaultNoBound,
    Encode,
    Decode,
    MaxEncodedLen,
    TypeInfo,
    DecodeWithMemTracking,
)]
#[scale_info(skip_type_params(T))]
pub struct RewardRecord<T: Config> {
    /// Credited and not reversed, ever.
    pub earned: Balance,
    /// Paid out.
    pub claimed: Balance,
    /// Past its challenge window, not yet paid.
    pub matured: Balance,
    /// Frozen by open challenges.
    pub frozen: Balance,
    /// In a challenge window: (claimable from, amount), ascending.
    pub pending: BoundedVec<(BlockNumberFor<T>, Balance), T::MaxPendingBuckets>,
}

/// A contribution's record is kept in its datanet's contribution record (see
/// [`provena_primitives::datanets::ContributionRewards`]), which stays while it is owed.
impl<T: Config> provena_primitives::datanets::OwedCredit for RewardRecord<T> {
    fn is_owed(&self) -> bool {
        self.matured > 0 || self.frozen > 0 || self.pending.iter().any(|(_, a)| *a > 0)
    }
}

use polkadot_sdk::frame_support::DefaultNoBound;

/// What is kept about an operator (an agent that submitted receipts): until when its receipts
/// answer for themselves, so that its own bond is not withdrawn before.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    DefaultNoBound,
    Encode,
    Decode,
    MaxEncodedLen,
    TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Operator<T: Config> {
    /// The latest claimable-at of its receipts.
    pub busy_until: BlockNumberFor<T>,
    /// Challenges open against its receipts.
    pub open_challenges: u32,
}

/// An open challenge.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Challenge<T: Config> {
    /// Who challenged.
    pub challenger: T::AccountId,
    /// The bond held from them.
    pub bond: Balance,
    /// When.
    pub opened_at: BlockNumberFor<T>,
}

/// A closed epoch's commitment.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct EpochRoot<BlockNumber> {
    /// The Merkle root over the epoch's receipt leaves.
    pub root: ContentHash,
    /// How many receipts.
    pub receipts: u32,
    /// The block that closed it.
    pub closed_at: BlockNumber,
}

/// Where pruning stands: the next receipt to consider, and how many receipts of its epoch have
/// been passed (the epoch's leaves go when all of them have).
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Pruning {
    /// The lowest receipt id not yet pruned.
    pub next: u64,
    /// The epoch of the last receipt pruned.
    pub epoch: EpochIndex,
    /// How many receipts of that epoch have been pruned.
    pub in_epoch: u32,
}

/// A model's receipt index: its receipts in id order, stored as runs of consecutive ids
/// ([`ModelReceipts`]), so that a call of many receipts for one model writes one entry, not one
/// per receipt.
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct ModelIndexInfo {
    /// How many receipts the model has had (the next receipt's index).
    pub receipts: u32,
    /// How many runs they make (the next run's number).
    pub runs: u32,
    /// How many of its first receipts have left the index (pruned).
    pub pruned_receipts: u32,
    /// How many of its first runs have left the index (every receipt in them pruned).
    pub pruned_runs: u32,
}

/// Receipts of one model with consecutive ids: receipt `first_id + k` is the model's receipt
/// number `first_index + k`, for `k < len`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct ReceiptRun {
    /// The first receipt's id.
    pub first_id: u64,
    /// Its index among the model's receipts.
    pub first_index: u32,
    /// How many receipts the run holds (at least one).
    pub len: u32,
}

impl ReceiptRun {
    /// The id the run would take next to grow.
    pub fn end_id(&self) -> u64 {
        self.first_id.saturating_add(u64::from(self.len))
    }

    /// The model index after the run's last receipt.
    pub fn end_index(&self) -> u32 {
        self.first_index.saturating_add(self.len)
    }
}

/// Money in and out of the pallet, for the conservation invariant.
#[derive(Clone, Default, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Totals {
    /// Fees charged to users.
    pub charged: Balance,
    /// Fees refunded after upheld challenges.
    pub refunded: Balance,
    /// Rewards paid out.
    pub paid: Balance,
}

/// How a user authorized a receipt's fee.
pub(crate) enum Authorization<T: Config> {
    /// A voucher signed by the user.
    Signed(<T as Config>::OffchainSignature),
    /// A voucher the user prepaid on chain: its hold is the authorization.
    Prepaid,
    /// An on-chain inference job whose `max_fee` the calling pallet held and has just released:
    /// nothing to verify, and no voucher is marked spent (the job completes only once).
    Job,
}

/// A receipt to check and record: the call's [`ReceiptInput`] or a settled job.
pub(crate) struct Submission<T: Config> {
    pub voucher: VoucherOf<T>,
    pub user: T::AccountId,
    pub model: ModelId,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub attribution: Vec<(ContributionId, WeightPpm)>,
    pub pool: Option<(DatanetId, WeightPpm)>,
    pub retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    pub evidence_hash: ContentHash,
    pub auth: Authorization<T>,
}

impl<T: Config> From<ReceiptInput<T>> for Submission<T> {
    fn from(r: ReceiptInput<T>) -> Self {
        Submission {
            voucher: r.voucher,
            user: r.user,
            model: r.model,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            attribution: r.attribution,
            pool: r.pool,
            retrieved_from: r.retrieved_from,
            evidence_hash: r.evidence_hash,
            auth: r.signature.map_or(Authorization::Prepaid, Authorization::Signed),
        }
    }
}
