//! On-chain inference jobs as other crates see them: the [`InferenceSettlement`] trait through
//! which the inference pallet turns a completed job into an attribution receipt (implemented by
//! the attribution pallet, wired in the runtime), the job types the runtime API returns, and the
//! `InferenceApi`.

use crate::{
    attribution::{PayoutAmount, ReceiptId, WeightPpm},
    serde_helpers, Balance, ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::DispatchError;
use scale_info::TypeInfo;

/// Identifies an on-chain inference job. Assigned sequentially from 0.
pub type JobId = u64;

/// The domain tag of a job's request id in its receipt.
pub const JOB_REQUEST_DOMAIN: &[u8] = b"provena:job:v1";

/// The request id a job's receipt carries: `blake2_256(SCALE(JOB_REQUEST_DOMAIN, job))`, so a
/// receipt names the job it settled and no signed voucher's request id can collide with it by
/// accident.
pub fn job_request_id(job: JobId) -> ContentHash {
    crate::content_hash(&(JOB_REQUEST_DOMAIN, job).encode())
}

/// A completed job, as the inference pallet hands it to the settlement.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JobSettlement<AccountId> {
    /// The user who requested it; the fee is charged to their free balance (the inference pallet
    /// has released their held `max_fee` just before).
    pub user: AccountId,
    /// The operator that served it.
    pub operator: AccountId,
    /// The model served.
    pub model: ModelId,
    /// [`job_request_id`] of the job.
    pub request_id: ContentHash,
    /// Prompt tokens, as the operator's worker counted them.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// The most the user agreed to pay.
    pub max_fee: Balance,
    /// Attributed contributions and their weights (ppm); with the pool's part they sum to
    /// exactly 1,000,000 (or both are empty).
    pub attribution: Vec<(ContributionId, WeightPpm)>,
    /// A datanet reward pool's part (ppm), for credit beyond the named contributions.
    pub pool: Option<(DatanetId, WeightPpm)>,
    /// The snapshot the user asked passages to be retrieved from, if any.
    pub retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    /// The hash of the attribution engine's evidence.
    pub evidence_hash: ContentHash,
}

/// Where completed inference jobs are paid: implemented by the attribution pallet, called by the
/// inference pallet. The job's hold is the user's authorization, so no voucher is signed; the
/// receipt is checked, charged and split exactly as one submitted with a signed voucher.
pub trait InferenceSettlement<AccountId> {
    /// Whether `who` may serve paid inference (an active agent).
    fn is_operator(who: &AccountId) -> bool;

    /// The fee for `tokens` (prompt plus output) of `model`: its price per 1,000 tokens times
    /// the tokens, rounded up; `None` if the model is unknown or the fee overflows.
    fn fee(model: ModelId, tokens: u64) -> Option<Balance>;

    /// Records the job's receipt: checks it, charges the fee (at most `max_fee`) from the user's
    /// free balance, splits it and credits every payee. Returns the receipt id and the fee.
    /// All or nothing: on an error nothing changed.
    fn settle(job: JobSettlement<AccountId>) -> Result<(ReceiptId, Balance), DispatchError>;
}

/// A job's life stage.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum JobStatus {
    /// Waiting for its operator; `max_fee` is held from the user.
    Open,
    /// Served and paid: its output and receipt are readable until it is pruned.
    Completed,
    /// Not completed before its deadline: the user got `max_fee` back.
    Expired,
}

/// A job as the runtime API and the `inference_getJob` RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, BlockNumber: serde::Deserialize<'de>"
))]
pub struct JobInfo<AccountId, BlockNumber> {
    /// Its id.
    pub id: JobId,
    /// Who requested and pays.
    pub user: AccountId,
    /// The model asked for.
    pub model: ModelId,
    /// The operator it was assigned to.
    pub operator: AccountId,
    /// The most the user pays, held while the job is open.
    #[serde(with = "serde_helpers::amount")]
    pub max_fee: Balance,
    /// The most tokens the answer may have.
    pub max_tokens: u32,
    /// The snapshot to retrieve passages from, if asked.
    pub rag: Option<(DatanetId, SnapshotVersion)>,
    /// When it was requested.
    pub requested_at: BlockNumber,
    /// The block from which it can no longer be completed (and expires).
    pub expires_at: BlockNumber,
    /// When it is deleted from state (with its output), and its deposit returned.
    pub prune_at: BlockNumber,
    /// Open, completed or expired.
    pub status: JobStatus,
    /// The prompt, while the job is open.
    #[serde(with = "serde_helpers::text")]
    pub prompt: Vec<u8>,
    /// The answer, once completed.
    #[serde(with = "serde_helpers::text")]
    pub output: Vec<u8>,
    /// Prompt and output tokens, once completed.
    pub tokens: Option<(u32, u32)>,
    /// The output's content hash, once completed.
    pub output_hash: Option<ContentHash>,
    /// Its receipt and the fee charged, once completed.
    pub receipt: Option<(ReceiptId, PayoutAmount)>,
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to on-chain inference jobs for clients and the node's `inference_*` RPC.
    pub trait InferenceApi<AccountId, BlockNumber>
    where
        AccountId: codec::Codec,
        BlockNumber: codec::Codec,
    {
        /// A job, until it is pruned.
        fn job(id: JobId) -> Option<JobInfo<AccountId, BlockNumber>>;
        /// The open jobs assigned to `operator`, at most `limit` (at most 1,000).
        fn operator_jobs(operator: AccountId, limit: u32) -> Vec<JobId>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_request_ids_are_distinct_and_domain_separated() {
        assert_ne!(job_request_id(0), job_request_id(1));
        assert_ne!(job_request_id(0), crate::content_hash(&0u64.encode()));
    }
}
