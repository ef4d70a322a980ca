//! On-chain inference jobs served by operators' off-chain workers, and what lets the off-chain
//! worker sign its completions (`CreateSignedTransaction`).
//!
//! | parameter | value | why |
//! | --- | --- | --- |
//! | prompt | ≤ 4 KiB | a question, not a document; documents go through RAG |
//! | output | ≤ 8 KiB stored | 1,024 tokens of English text fit |
//! | `max_tokens` | ≤ 1,024 | |
//! | jobs requested per block | ≤ 64 | each expiry and prune queue holds one block's jobs |
//! | operators per base | ≤ 16 | assignment reads them all |
//! | open jobs per operator | ≤ 256 | what one worker's queue takes |
//! | timeout | 20 blocks (2 minutes) | then the user is refunded in full |
//! | retention after the deadline | 1 day | outputs are readable over `inference_getJob` |
//! | job deposit | `deposit(2, 8,400)` ≈ 0.88 OPEN | one job record with a full prompt or output |
//! | operator deposit | 10 OPEN | for the registration; the bond is the operator's as an agent |
//! | off-chain worker | ≤ 4 jobs per block per operator, 30 s deadline | |

use crate::{
    Attribution, Balance, Balances, Models, Nonce, Runtime, RuntimeCall, RuntimeEvent,
    RuntimeHoldReason, SignedPayload, UncheckedExtrinsic,
};
use codec::Encode;
use polkadot_sdk::{
    frame_support::{parameter_types, traits::ConstU32},
    frame_system,
    sp_runtime::{
        generic::Era,
        traits::{self, StaticLookup},
        SaturatedConversion,
    },
};
use provena_primitives::{
    currency::{deposit, OPEN},
    time::{DAYS, MINUTES},
    BlockNumber, Signature,
};

parameter_types! {
    /// Two minutes to answer, then a full refund.
    pub const JobTimeout: BlockNumber = 2 * MINUTES;
    /// Finished jobs stay readable for a day after their deadline.
    pub const Retention: BlockNumber = DAYS;
    /// One job record with a full prompt or output (8 KiB) and its bookkeeping.
    pub const JobDeposit: Balance = deposit(2, 8_400);
    /// Held from a registered operator.
    pub const OperatorDeposit: Balance = 10 * OPEN;
}

impl pallet_inference::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Models = Models;
    type Settlement = Attribution;
    type Agents = crate::Agents;
    type AuthorityId = pallet_inference::crypto::OperatorAuthId;
    type MaxPromptLen = ConstU32<4_096>;
    type MaxOutputLen = ConstU32<8_192>;
    type MaxTokens = ConstU32<1_024>;
    type PromptOverheadTokens = ConstU32<64>;
    type RagContextTokens = ConstU32<2_048>;
    type MaxAttribution = ConstU32<32>;
    type MaxJobsPerBlock = ConstU32<64>;
    type MaxOperatorsPerBase = ConstU32<16>;
    type MaxBasesPerOperator = ConstU32<8>;
    type MaxOpenJobsPerOperator = ConstU32<256>;
    type JobTimeout = JobTimeout;
    type Retention = Retention;
    type JobDeposit = JobDeposit;
    type OperatorDeposit = OperatorDeposit;
    type OcwJobsPerBlock = ConstU32<4>;
    type OcwHttpTimeoutMs = polkadot_sdk::frame_support::traits::ConstU64<30_000>;
    type WeightInfo = pallet_inference::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = InferenceBenchmarks;
}

impl frame_system::offchain::SigningTypes for Runtime {
    type Public = <Signature as traits::Verify>::Signer;
    type Signature = Signature;
}

impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
    RuntimeCall: From<C>,
{
    type Extrinsic = UncheckedExtrinsic;
    type RuntimeCall = RuntimeCall;
}

/// Unsigned transactions (GRANDPA equivocation reports, validated by `ValidateUnsigned`).
impl<C> frame_system::offchain::CreateBare<C> for Runtime
where
    RuntimeCall: From<C>,
{
    fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
        polkadot_sdk::sp_runtime::generic::UncheckedExtrinsic::new_bare(call).into()
    }
}

impl<C> frame_system::offchain::CreateSignedTransaction<C> for Runtime
where
    RuntimeCall: From<C>,
{
    /// A transaction of `account` with the runtime's extensions, mortal for 64 blocks (longer
    /// than a job's timeout, after which a completion is useless; no immortal transaction is
    /// left behind), no tip.
    fn create_signed_transaction<
        A: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
    >(
        call: RuntimeCall,
        public: Self::Public,
        account: crate::AccountId,
        nonce: Nonce,
    ) -> Option<UncheckedExtrinsic> {
        let current = frame_system::Pallet::<Runtime>::block_number().saturated_into::<u64>();
        // The era starts at the parent block: the one this worker saw.
        let era = Era::mortal(64, current.saturating_sub(1));
        let extension = crate::tx_extension(era, nonce, 0);
        let raw = SignedPayload::new(call, extension).ok()?;
        let signature = raw.using_encoded(|payload| A::sign(payload, public))?;
        let (call, extension, _) = raw.deconstruct();
        let address = <Runtime as frame_system::Config>::Lookup::unlookup(account);
        Some(
            polkadot_sdk::sp_runtime::generic::UncheckedExtrinsic::new_signed(
                call, address, signature, extension,
            )
            .into(),
        )
    }
}

/// Real datanets, models and bonded operators for the inference benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct InferenceBenchmarks;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_inference::BenchmarkHelper<crate::AccountId> for InferenceBenchmarks {
    fn make_operator(who: &crate::AccountId) {
        Self::fund(who);
        use provena_primitives::agents::AgentBonds;
        let enrolled = crate::Agents::enroll(who, true);
        assert!(enrolled.is_ok(), "enroll failed: {enrolled:?}");
    }

    fn model_with_contributions(
        owner: &crate::AccountId,
        contributions: u32,
    ) -> (provena_primitives::ModelId, alloc::vec::Vec<provena_primitives::ContributionId>) {
        <super::attribution::AttributionBenchmarks as pallet_attribution::BenchmarkHelper<
            crate::AccountId,
            Signature,
        >>::model_with_contributions(owner, contributions)
    }

    fn fund(who: &crate::AccountId) {
        use polkadot_sdk::frame_support::traits::fungible::Mutate;
        let _ = Balances::set_balance(who, Balance::MAX / 1_024);
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::configs::RuntimeBlockWeights;
    use pallet_inference::WeightInfo;
    use polkadot_sdk::frame_support::{dispatch::DispatchClass, weights::Weight};

    type W = pallet_inference::weights::SubstrateWeight<Runtime>;

    /// How many calls of `weight` fit in one block's normal-dispatch budget.
    fn per_block(weight: Weight) -> u64 {
        let weights = RuntimeBlockWeights::get();
        let normal = weights.get(DispatchClass::Normal);
        let budget = normal
            .max_total
            .unwrap_or(weights.max_block)
            .saturating_sub(weights.base_block)
            .ref_time();
        budget / weight.saturating_add(normal.base_extrinsic).ref_time()
    }

    /// The figures the pallet docs quote ("Jobs per block"), recomputed from the generated
    /// weights: requests and completions at their worst case fit in a block beyond the
    /// per-block request cap, and the expiry hook at its worst case takes a small part of it.
    #[test]
    fn jobs_per_block_from_the_weights() {
        let requests = per_block(W::request_inference(4_096));
        // 32 entries and a pool's part.
        let completions = per_block(W::complete_job(8_192, 33));
        let hook = W::on_initialize(64, 64).ref_time();
        let block = RuntimeBlockWeights::get().max_block.ref_time();
        println!(
            "per block: {requests} requests (4 KiB prompts), {completions} completions (8 KiB, \
             32 entries); worst on_initialize (64 expiring, 64 deleted) {:.1}% of a block",
            hook as f64 * 100.0 / block as f64
        );
        assert!(requests >= 64, "{requests} < MaxJobsPerBlock requests per block");
        assert!(completions >= 64, "{completions} < 64 completions per block");
        assert!(hook * 10 <= block, "the expiry hook takes more than a tenth of a block");
    }
}
