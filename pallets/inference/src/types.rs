//! The records this pallet stores, the completion a call carries, and the invariant checks.

use crate::Config;
use alloc::vec::Vec;
use codec::{Decode, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound},
    frame_system::pallet_prelude::BlockNumberFor,
};
use provena_primitives::{
    attribution::{PayoutAmount, ReceiptId, WeightPpm},
    inference::{JobId, JobInfo, JobStatus},
    Balance, ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};
use scale_info::TypeInfo;

/// A registered operator.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxBases))]
pub struct Operator<MaxBases: polkadot_sdk::frame_support::traits::Get<u32>> {
    /// The base models its inference worker serves.
    pub bases: BoundedVec<ModelId, MaxBases>,
    /// Its deposit, held.
    pub deposit: Balance,
    /// Jobs assigned to it and still open.
    pub open_jobs: u32,
}

/// An operator as this runtime's types spell it.
pub type OperatorOf<T> = Operator<<T as Config>::MaxBasesPerOperator>;

/// A job's state and the data stored with it.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub enum JobState<T: Config> {
    /// Waiting for its operator.
    Open {
        /// The prompt.
        prompt: BoundedVec<u8, T::MaxPromptLen>,
    },
    /// Answered and paid.
    Completed {
        /// The answer.
        output: BoundedVec<u8, T::MaxOutputLen>,
        /// Its content hash.
        output_hash: ContentHash,
        /// Prompt tokens.
        input_tokens: u32,
        /// Output tokens.
        output_tokens: u32,
        /// The receipt it was settled as.
        receipt: ReceiptId,
        /// The fee charged.
        fee: Balance,
    },
    /// Not answered before its deadline; refunded.
    Expired,
}

/// A stored job.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct Job<T: Config> {
    /// Who asked and pays.
    pub user: T::AccountId,
    /// The model asked for.
    pub model: ModelId,
    /// The operator it is assigned to.
    pub operator: T::AccountId,
    /// The most the user pays; held while open.
    pub max_fee: Balance,
    /// Its deposit, held until it is deleted.
    pub deposit: Balance,
    /// The most tokens the answer may have.
    pub max_tokens: u32,
    /// The snapshot to retrieve passages from.
    pub rag: Option<(DatanetId, SnapshotVersion)>,
    /// When it was requested.
    pub requested_at: BlockNumberFor<T>,
    /// From this block on it cannot be completed; it expires in this block's
    /// `on_initialize` if still open.
    pub expires_at: BlockNumberFor<T>,
    /// Open, completed or expired.
    pub state: JobState<T>,
}

impl<T: Config> Job<T> {
    /// Its form for the runtime API.
    pub fn info(self, id: JobId) -> JobInfo<T::AccountId, BlockNumberFor<T>> {
        let (status, prompt, output, tokens, output_hash, receipt) = match self.state {
            JobState::Open { prompt } => {
                (JobStatus::Open, prompt.into_inner(), Vec::new(), None, None, None)
            }
            JobState::Completed {
                output,
                output_hash,
                input_tokens,
                output_tokens,
                receipt,
                fee,
            } => (
                JobStatus::Completed,
                Vec::new(),
                output.into_inner(),
                Some((input_tokens, output_tokens)),
                Some(output_hash),
                Some((receipt, PayoutAmount(fee))),
            ),
            JobState::Expired => (JobStatus::Expired, Vec::new(), Vec::new(), None, None, None),
        };
        JobInfo {
            id,
            user: self.user,
            model: self.model,
            operator: self.operator,
            max_fee: self.max_fee,
            max_tokens: self.max_tokens,
            rag: self.rag,
            requested_at: self.requested_at,
            expires_at: self.expires_at,
            prune_at: crate::Pallet::<T>::prune_at(self.expires_at),
            status,
            prompt,
            output,
            tokens,
            output_hash,
            receipt,
        }
    }
}

/// What an operator submits for a job.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Completion {
    /// The answer's bytes.
    pub output: Vec<u8>,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Contributions and weights (ppm).
    pub attribution: Vec<(ContributionId, WeightPpm)>,
    /// A datanet reward pool's part (ppm).
    pub pool: Option<(DatanetId, WeightPpm)>,
    /// The attribution evidence's hash.
    pub evidence_hash: ContentHash,
    /// The output's content hash.
    pub output_hash: ContentHash,
}

/// The invariants of the module docs.
#[cfg(any(test, feature = "try-runtime"))]
pub(crate) fn try_state<T: Config>() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
    use crate::{BaseOperators, Expiries, HoldReason, Jobs, OperatorJobs, Operators, Prunes};
    use alloc::collections::{btree_map::BTreeMap, btree_set::BTreeSet};
    use polkadot_sdk::frame_support::{ensure, traits::fungible::InspectHold};

    let mut fees: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
    let mut deposits: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
    let mut open_per_operator: BTreeMap<T::AccountId, u32> = BTreeMap::new();
    let expiring: BTreeSet<(BlockNumberFor<T>, JobId)> =
        Expiries::<T>::iter().flat_map(|(b, ids)| ids.into_iter().map(move |i| (b, i))).collect();
    let pruning: BTreeSet<(BlockNumberFor<T>, JobId)> =
        Prunes::<T>::iter().flat_map(|(b, ids)| ids.into_iter().map(move |i| (b, i))).collect();
    let mut jobs = 0usize;
    for (id, job) in Jobs::<T>::iter() {
        jobs = jobs.saturating_add(1);
        let d = deposits.entry(job.user.clone()).or_default();
        *d = d.saturating_add(job.deposit);
        let open = matches!(job.state, JobState::Open { .. });
        let queued_expiry = expiring.contains(&(job.expires_at, id));
        let queued_prune = pruning.contains(&(crate::Pallet::<T>::prune_at(job.expires_at), id));
        // A job is in exactly one state; its queues follow from it. An open job waits in its
        // expiry queue; once that queue ran (the job expired or was completed before), it
        // waits in its prune queue.
        ensure!(queued_expiry != queued_prune, "a job is in both or neither queue");
        ensure!(!open || queued_expiry, "an open job is not queued to expire");
        ensure!(
            !matches!(job.state, JobState::Expired) || queued_prune,
            "an expired job is not queued for deletion"
        );
        ensure!(
            open == OperatorJobs::<T>::contains_key(&job.operator, id),
            "the operator's open list disagrees with the job's state"
        );
        if open {
            let f = fees.entry(job.user.clone()).or_default();
            *f = f.saturating_add(job.max_fee);
            let n = open_per_operator.entry(job.operator.clone()).or_default();
            *n = n.saturating_add(1);
        }
    }
    ensure!(expiring.len().saturating_add(pruning.len()) == jobs, "a queued job id has no job");
    ensure!(
        OperatorJobs::<T>::iter().count()
            == open_per_operator.values().map(|n| *n as usize).sum::<usize>(),
        "an operator lists a job that is not open"
    );
    for (user, fee) in &fees {
        ensure!(
            T::Currency::balance_on_hold(&HoldReason::JobFee.into(), user) == *fee,
            "held fees differ from the open jobs' max fees"
        );
    }
    for (user, deposit) in &deposits {
        ensure!(
            T::Currency::balance_on_hold(&HoldReason::JobDeposit.into(), user) == *deposit,
            "held deposits differ from the stored jobs' deposits"
        );
    }
    for (who, op) in Operators::<T>::iter() {
        ensure!(
            op.open_jobs == open_per_operator.get(&who).copied().unwrap_or_default(),
            "an operator's open-job count is off"
        );
        ensure!(
            T::Currency::balance_on_hold(&HoldReason::OperatorDeposit.into(), &who) == op.deposit,
            "an operator's deposit is not held"
        );
        for base in op.bases.iter() {
            ensure!(
                BaseOperators::<T>::get(base).contains(&who),
                "an operator is missing from its base's list"
            );
        }
    }
    for (base, list) in BaseOperators::<T>::iter() {
        ensure!(!list.is_empty(), "an empty base list is stored");
        for who in list.iter() {
            ensure!(
                Operators::<T>::get(who).is_some_and(|op| op.bases.contains(&base)),
                "a base lists an operator that does not serve it"
            );
        }
    }
    ensure!(
        open_per_operator.keys().all(Operators::<T>::contains_key),
        "an unregistered operator has open jobs"
    );
    Ok(())
}
