//! # Inference
//!
//! On-chain inference requests, served by operators' off-chain workers: a user asks a model a
//! question on chain with a fee held; the operator assigned to the job answers it through its
//! inference worker; the answer comes back as the operator's signed transaction and becomes an
//! attribution receipt that pays the data contributors, the model and the operator.
//!
//! ## Overview
//!
//! 1. An operator (an active agent of the agents pallet, [`Config::Agents`], serving the base)
//!    registers the base models its inference worker serves, holding [`Config::OperatorDeposit`]
//!    for the registration ([`Pallet::register_operator`]); the bond is its agent's.
//! 2. A user calls [`Pallet::request_inference`] with a model, a prompt of at most
//!    [`Config::MaxPromptLen`] bytes (4 KiB in the runtime), `max_tokens`, `max_fee` and an
//!    optional snapshot to retrieve passages from. `max_fee` and [`Config::JobDeposit`] are held
//!    from the user; the job is assigned to one operator serving the model's base.
//! 3. The off-chain worker of every node whose keystore holds an operator key
//!    ([`KEY_TYPE`] `infr`) and that was started with `--inference-worker-url` takes the jobs
//!    assigned to its operator, POSTs each to the worker's `/v1/chat/completions` with a bounded
//!    deadline, and submits [`Pallet::complete_job`] signed by the operator key.
//! 4. The completion is checked, the held `max_fee` released, and the job handed to
//!    [`Config::Settlement`] (the attribution pallet), which charges the fee, splits it exactly
//!    and credits every party; the output is kept for readers (`inference_getJob`).
//! 5. A job not completed by its deadline expires in `on_initialize` and the user gets the whole
//!    `max_fee` back. Each completion and each expiry counts in the operator's performance as an
//!    agent: an era with too many expiries slashes and chills it (see `pallet-agents`). Every job is deleted [`Config::Retention`] blocks after its deadline, and
//!    its deposit returned to the user.
//!
//! ## Terminology
//!
//! - **Base**: the model an adapter adapts, or the model itself for a base model. An inference
//!   worker loads one base and any number of its adapters, so operators register bases.
//! - **Assignment**: among the operators registered for the job's base that are still active
//!   agents serving it and have fewer than [`Config::MaxOpenJobsPerOperator`] open jobs, the
//!   one with the fewest open jobs; ties go to the first in registration order at or after
//!   position `job id mod operators`, so equal operators take turns. No such operator:
//!   [`Error::NoOperator`], nothing held.
//! - **Worst-case fee**: the model's price for `prompt bytes + PromptOverheadTokens (+
//!   RagContextTokens for a retrieval job) + max_tokens` tokens. A byte-level BPE token covers at
//!   least one byte, so the prompt's tokens never exceed its bytes plus the chat template's.
//!   `max_fee` must cover it, and a completion may not report more tokens, so a well-formed
//!   completion can always be paid. (If the developer raises the price meanwhile, the
//!   completion is refused and the job expires with a full refund.)
//! - **Job states**: `Open` (prompt stored, `max_fee` held) → `Completed` (output stored,
//!   receipt issued) or `Expired` (refunded); then deleted.
//!
//! ## Usage
//!
//! - `register_operator(bases)` / `unregister_operator()` (operator; unregistering needs no open
//!   job).
//! - `request_inference(model, prompt, max_tokens, max_fee, rag)` (anyone).
//! - `complete_job(job, output, input_tokens, output_tokens, attribution, evidence_hash,
//!   output_hash)` (the assigned operator; sent by its off-chain worker).
//!
//! ## Jobs per block
//!
//! Every job requested in block `n` expires at `n + JobTimeout` and is deleted at
//! `n + JobTimeout + Retention`, in per-block queues of at most [`Config::MaxJobsPerBlock`]
//! (64 in the runtime). So at most 64 jobs are requested per block ([`Error::BlockFull`] beyond),
//! `on_initialize` expires at most 64 and deletes at most 64 per block, and completions are
//! bounded by the open jobs. Each node's off-chain worker serves at most
//! [`Config::OcwJobsPerBlock`] jobs per block (4 in the runtime), all requests in flight at once
//! under one deadline of [`Config::OcwHttpTimeoutMs`]; it runs beside block import and
//! authoring, never in their way.
//!
//! From the generated [`weights`] (1.5 s of normal-dispatch reference time per block), at their
//! worst cases: **1,376** `request_inference` with 4 KiB prompts or **353** `complete_job` with
//! 8 KiB outputs and 32 attribution entries fit in one block, so the 64-request cap binds first;
//! the expiry hook with 64 jobs expiring and 64 deleted takes 0.9% of a block. The runtime test
//! `jobs_per_block_from_the_weights` recomputes these figures and fails if either call drops
//! below 64 per block or the hook exceeds a tenth of a block.
//!
//! ## Design
//!
//! The pallet knows models and attribution only through traits in `provena-primitives`
//! ([`ModelInspect`], [`InferenceSettlement`]). Outputs and prompts live in state only while
//! someone may read them, each paid for by the job's deposit. The off-chain worker's result is
//! untrusted input like any transaction: it is checked in full by `complete_job`, and an
//! operator that lies about attribution can be challenged in the attribution pallet.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - every job is in exactly one state and in exactly the queues that state implies: an open job
//!   is in its operator's open list and its expiry queue; every job is in its prune queue;
//! - each user's `JobFee` hold equals the `max_fee` sum of their open jobs, and their
//!   `JobDeposit` hold the deposits of their stored jobs;
//! - each operator's open-job count equals its open list; registered operators and the
//!   per-base lists agree, and each holds its deposit.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod jobs;
#[cfg(test)]
mod mock;
pub mod offchain;
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
            fungible::{InspectHold, Mutate, MutateHold},
            tokens::Precision,
        },
    },
    frame_system::{self, offchain::CreateSignedTransaction, pallet_prelude::BlockNumberFor},
    sp_core::crypto::KeyTypeId,
    sp_runtime::{
        traits::{Saturating, Zero},
        DispatchResult,
    },
};
use provena_primitives::{
    agents::{AgentWork, Work},
    attribution::{WeightPpm, PPM},
    inference::{job_request_id, InferenceSettlement, JobId, JobSettlement},
    models::{ModelInspect, ModelStatus},
    Balance, ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::inference";

/// The keystore key type of operator keys: `infr`.
pub const KEY_TYPE: KeyTypeId = KeyTypeId(*b"infr");

/// The largest page the runtime API returns.
pub const MAX_PAGE: u32 = 1_000;

/// Operator keys: sr25519 under [`KEY_TYPE`].
pub mod crypto {
    use super::KEY_TYPE;
    use polkadot_sdk::{
        sp_application_crypto::{app_crypto, sr25519},
        sp_runtime::{MultiSignature, MultiSigner},
    };
    app_crypto!(sr25519, KEY_TYPE);

    /// Signs the off-chain worker's completions with an operator key from the keystore.
    pub struct OperatorAuthId;

    impl polkadot_sdk::frame_system::offchain::AppCrypto<MultiSigner, MultiSignature>
        for OperatorAuthId
    {
        type RuntimeAppPublic = Public;
        type GenericSignature = polkadot_sdk::sp_core::sr25519::Signature;
        type GenericPublic = polkadot_sdk::sp_core::sr25519::Public;
    }
}

// FRAME's macro expansion of this module uses `expect` (on can't-fail metadata lookups) and
// generates functions with one argument per call parameter; the lints are for hand-written code.
#[allow(clippy::expect_used, clippy::too_many_arguments, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::pallet_prelude::*;

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An open job's `max_fee`, held on the user until the job completes or expires.
        JobFee,
        /// A stored job's deposit, held on the user until the job is deleted.
        JobDeposit,
        /// A registered operator's deposit.
        OperatorDeposit,
    }

    /// What benchmarks need from the runtime.
    #[cfg(feature = "runtime-benchmarks")]
    pub trait BenchmarkHelper<AccountId> {
        /// Makes `who` an active agent serving any model (funding it).
        fn make_operator(who: &AccountId);
        /// An active base model of `owner`, trained on a snapshot holding `contributions`
        /// accepted contributions (returned in id order), priced so a fee is charged.
        fn model_with_contributions(
            owner: &AccountId,
            contributions: u32,
        ) -> (ModelId, Vec<ContributionId>);
        /// Funds `who` generously.
        fn fund(who: &AccountId);
    }

    #[pallet::config]
    pub trait Config:
        CreateSignedTransaction<Call<Self>> + polkadot_sdk::frame_system::Config
    {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The currency (OPEN) fees and deposits are held in.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + InspectHold<Self::AccountId>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// Models: status, base, price.
        type Models: ModelInspect<Self::AccountId, Balance>;

        /// Where completed jobs are paid (the attribution pallet).
        type Settlement: InferenceSettlement<Self::AccountId>;

        /// Agents: each job an operator completes or lets expire counts in its performance
        /// (too many expiries in an era slash and chill it).
        type Agents: AgentWork<Self::AccountId>;

        /// The operator key the off-chain worker signs completions with.
        type AuthorityId: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>;

        /// The longest prompt, in bytes.
        #[pallet::constant]
        type MaxPromptLen: Get<u32>;

        /// The longest stored output, in bytes.
        #[pallet::constant]
        type MaxOutputLen: Get<u32>;

        /// The largest `max_tokens`.
        #[pallet::constant]
        type MaxTokens: Get<u32>;

        /// Tokens the chat template adds to a prompt (roles, markers), at most.
        #[pallet::constant]
        type PromptOverheadTokens: Get<u32>;

        /// Tokens retrieved passages add to a retrieval job's prompt, at most.
        #[pallet::constant]
        type RagContextTokens: Get<u32>;

        /// The most attribution entries a completion names.
        #[pallet::constant]
        type MaxAttribution: Get<u32>;

        /// The most jobs requested per block (the size of each expiry and prune queue).
        #[pallet::constant]
        type MaxJobsPerBlock: Get<u32>;

        /// The most operators per base.
        #[pallet::constant]
        type MaxOperatorsPerBase: Get<u32>;

        /// The most bases per operator.
        #[pallet::constant]
        type MaxBasesPerOperator: Get<u32>;

        /// The most open jobs per operator; beyond it the operator is not assigned more.
        #[pallet::constant]
        type MaxOpenJobsPerOperator: Get<u32>;

        /// Blocks a job stays open.
        #[pallet::constant]
        type JobTimeout: Get<BlockNumberFor<Self>>;

        /// Blocks a finished job stays readable after its deadline.
        #[pallet::constant]
        type Retention: Get<BlockNumberFor<Self>>;

        /// Held from the user per job until it is deleted: pays for its storage (a full
        /// prompt or output).
        #[pallet::constant]
        type JobDeposit: Get<Balance>;

        /// Held from an operator while registered.
        #[pallet::constant]
        type OperatorDeposit: Get<Balance>;

        /// The most jobs one node's off-chain worker serves per block.
        #[pallet::constant]
        type OcwJobsPerBlock: Get<u32>;

        /// The off-chain worker's deadline for the inference worker's answers, in milliseconds.
        #[pallet::constant]
        type OcwHttpTimeoutMs: Get<u64>;

        /// Weights of this pallet's calls and hooks.
        type WeightInfo: WeightInfo;

        /// Benchmark setup.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Registered operators.
    #[pallet::storage]
    pub type Operators<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, OperatorOf<T>>;

    /// The operators of each base, in registration order.
    #[pallet::storage]
    pub type BaseOperators<T: Config> = StorageMap<
        _,
        Twox64Concat,
        ModelId,
        BoundedVec<T::AccountId, T::MaxOperatorsPerBase>,
        ValueQuery,
    >;

    /// The id the next job gets.
    #[pallet::storage]
    pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

    /// Jobs, until deleted.
    #[pallet::storage]
    pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, Job<T>>;

    /// Each operator's open jobs (operator, job) → (); what its off-chain worker serves.
    #[pallet::storage]
    pub type OperatorJobs<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

    /// Jobs that expire at a block (those requested `JobTimeout` blocks before).
    #[pallet::storage]
    pub type Expiries<T: Config> = StorageMap<
        _,
        Twox64Concat,
        BlockNumberFor<T>,
        BoundedVec<JobId, T::MaxJobsPerBlock>,
        ValueQuery,
    >;

    /// Jobs deleted at a block (those that expired `Retention` blocks before).
    #[pallet::storage]
    pub type Prunes<T: Config> = StorageMap<
        _,
        Twox64Concat,
        BlockNumberFor<T>,
        BoundedVec<JobId, T::MaxJobsPerBlock>,
        ValueQuery,
    >;

    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Operators registered at genesis with the bases they serve (the bases must exist
        /// and each operator must be an active agent at genesis).
        pub operators: Vec<(T::AccountId, Vec<ModelId>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            for (who, bases) in &self.operators {
                let r = Pallet::<T>::do_register(who.clone(), bases.clone());
                assert!(r.is_ok(), "genesis inference operator cannot be registered: {r:?}");
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An operator registered the bases it serves; its deposit is held.
        OperatorRegistered { operator: T::AccountId, bases: Vec<ModelId>, deposit: Balance },
        /// An operator left; its deposit was released.
        OperatorUnregistered { operator: T::AccountId, deposit: Balance },
        /// A job was requested and assigned; `max_fee` and the deposit are held.
        JobRequested {
            job: JobId,
            user: T::AccountId,
            model: ModelId,
            operator: T::AccountId,
            max_fee: Balance,
            expires_at: BlockNumberFor<T>,
        },
        /// A job was completed and settled as a receipt; the rest of `max_fee` was released.
        JobCompleted {
            job: JobId,
            operator: T::AccountId,
            receipt: u64,
            fee: Balance,
            refunded: Balance,
            output_hash: ContentHash,
        },
        /// A job passed its deadline open; the user got `max_fee` back.
        JobExpired { job: JobId, user: T::AccountId, operator: T::AccountId, refunded: Balance },
        /// A finished job was deleted; its deposit was released.
        JobPruned { job: JobId, deposit: Balance },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The prompt is empty.
        PromptEmpty,
        /// The prompt is longer than `MaxPromptLen` bytes.
        PromptTooLong,
        /// `max_tokens` must be between 1 and `MaxTokens`.
        InvalidMaxTokens,
        /// No model with that id.
        UnknownModel,
        /// The model is deprecated.
        ModelNotActive,
        /// `max_fee` is below the request's worst-case fee.
        MaxFeeTooLow,
        /// No registered operator with capacity serves the model's base.
        NoOperator,
        /// The operator, as an agent, does not serve this base (it declared neither it nor
        /// any model: declaring none serves all).
        BaseNotServed,
        /// This block's expiry queue is full; request in a later block.
        BlockFull,
        /// No job with that id.
        UnknownJob,
        /// The caller is not the operator the job is assigned to.
        NotAssignedOperator,
        /// The job is already completed.
        AlreadyCompleted,
        /// The job passed its deadline.
        JobExpired,
        /// The output is longer than `MaxOutputLen` bytes.
        OutputTooLong,
        /// The output hash is not the output's content hash.
        OutputHashMismatch,
        /// More tokens than the request allows.
        TooManyTokens,
        /// Attribution weights must each be positive and sum to exactly 1,000,000 (or be
        /// empty).
        WeightsNotNormalized,
        /// More attribution entries than `MaxAttribution`.
        TooManyEntries,
        /// The caller is not an active agent.
        NotOperator,
        /// The caller is already a registered operator.
        AlreadyRegistered,
        /// The caller is not a registered operator.
        NotRegistered,
        /// An operator must serve 1 to `MaxBasesPerOperator` bases.
        InvalidBases,
        /// A base is listed twice.
        DuplicateBase,
        /// The model is an adapter, not a base.
        NotABaseModel,
        /// The base has `MaxOperatorsPerBase` operators already.
        TooManyOperators,
        /// The operator has open jobs.
        OperatorBusy,
        /// A computation overflowed.
        Overflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(n: BlockNumberFor<T>) -> Weight {
            let expiring = Expiries::<T>::decode_len(n).unwrap_or(0);
            let pruning = Prunes::<T>::decode_len(n).unwrap_or(0);
            if expiring == 0 && pruning == 0 {
                return T::DbWeight::get().reads(2);
            }
            Self::expire_and_prune(n);
            let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
            T::WeightInfo::on_initialize(clamp(expiring), clamp(pruning)).saturating_add(
                T::Agents::note_work_weight().saturating_mul(clamp(expiring).into()),
            )
        }

        fn offchain_worker(n: BlockNumberFor<T>) {
            offchain::run::<T>(n);
        }

        fn integrity_test() {
            assert!(!T::JobTimeout::get().is_zero(), "JobTimeout must be positive");
            assert!(T::MaxJobsPerBlock::get() > 0, "MaxJobsPerBlock must be positive");
            assert!(T::MaxPromptLen::get() > 0, "MaxPromptLen must be positive");
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
        /// Registers the caller, an active agent serving them, as serving `bases` (base
        /// models its inference worker loads); holds [`Config::OperatorDeposit`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_operator(bases.len().try_into().unwrap_or(u32::MAX)))]
        pub fn register_operator(origin: OriginFor<T>, bases: Vec<ModelId>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_register(who, bases)
        }

        /// Unregisters the caller once it has no open job; releases its deposit.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::unregister_operator(T::MaxBasesPerOperator::get()))]
        pub fn unregister_operator(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let op = Operators::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
            ensure!(op.open_jobs == 0, Error::<T>::OperatorBusy);
            for base in &op.bases {
                BaseOperators::<T>::mutate_exists(base, |list| {
                    if let Some(l) = list {
                        l.retain(|a| a != &who);
                        if l.is_empty() {
                            *list = None;
                        }
                    }
                });
            }
            T::Currency::release(
                &HoldReason::OperatorDeposit.into(),
                &who,
                op.deposit,
                Precision::Exact,
            )?;
            Operators::<T>::remove(&who);
            Self::deposit_event(Event::OperatorUnregistered { operator: who, deposit: op.deposit });
            Ok(())
        }

        /// Asks `model` to answer `prompt` (at most [`Config::MaxPromptLen`] bytes) with at
        /// most `max_tokens` tokens, paying at most `max_fee`, optionally with passages
        /// retrieved from snapshot `rag`. Holds `max_fee` and [`Config::JobDeposit`] and
        /// assigns the job to an operator serving the model's base (see the module docs).
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::request_inference(prompt.len().try_into().unwrap_or(u32::MAX)))]
        pub fn request_inference(
            origin: OriginFor<T>,
            model: ModelId,
            prompt: Vec<u8>,
            max_tokens: u32,
            max_fee: Balance,
            rag: Option<(DatanetId, SnapshotVersion)>,
        ) -> DispatchResult {
            let user = ensure_signed(origin)?;
            Self::do_request(user, model, prompt, max_tokens, max_fee, rag).map(|_| ())
        }

        /// Completes `job` with its answer. The assigned operator only (its off-chain worker
        /// sends this): the output must hash to `output_hash`, the tokens stay within the
        /// request, and the attribution weights (ppm) with the `pool` part (a datanet reward
        /// pool's, for credit beyond the named contributions) sum to exactly 1,000,000, or
        /// there are none.
        /// The job's receipt is recorded and paid through [`Config::Settlement`].
        #[pallet::call_index(3)]
        // A pool's part costs what one more entry does. The receipt's model index reads the
        // model's last run, which the benchmark's new model does not have: one read more.
        #[pallet::weight(T::WeightInfo::complete_job(
            output.len().try_into().unwrap_or(u32::MAX),
            attribution.len().saturating_add(usize::from(pool.is_some())).try_into().unwrap_or(u32::MAX),
        ).saturating_add(T::DbWeight::get().reads(1)).saturating_add(T::Agents::note_work_weight()))]
        pub fn complete_job(
            origin: OriginFor<T>,
            job: JobId,
            output: Vec<u8>,
            input_tokens: u32,
            output_tokens: u32,
            attribution: Vec<(ContributionId, WeightPpm)>,
            evidence_hash: ContentHash,
            output_hash: ContentHash,
            pool: Option<(DatanetId, WeightPpm)>,
        ) -> DispatchResult {
            let operator = ensure_signed(origin)?;
            Self::do_complete(
                operator,
                job,
                Completion {
                    output,
                    input_tokens,
                    output_tokens,
                    attribution,
                    pool,
                    evidence_hash,
                    output_hash,
                },
            )
        }
    }
}
