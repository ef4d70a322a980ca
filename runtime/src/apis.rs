//! Runtime APIs: what the node, RPC clients and tools ask of the runtime.

use alloc::{vec, vec::Vec};
use polkadot_sdk::{
    frame_support::{
        genesis_builder_helper::{build_state, get_preset},
        weights::Weight,
    },
    pallet_aura, pallet_revive, pallet_transaction_payment,
    pallet_transaction_payment_rpc_runtime_api, sp_api, sp_block_builder,
    sp_consensus_aura::sr25519::AuthorityId as AuraId,
    sp_consensus_grandpa::{self, AuthorityId as GrandpaId},
    sp_core::{crypto::KeyTypeId, OpaqueMetadata},
    sp_genesis_builder::{self, PresetId},
    sp_inherents::{CheckInherentsResult, InherentData},
    sp_offchain,
    sp_runtime::{
        traits::{Block as BlockT, NumberFor},
        transaction_validity::{TransactionSource, TransactionValidity},
        ApplyExtrinsicResult, ExtrinsicInclusionMode,
    },
    sp_session::{self, OpaqueGeneratedSessionKeys},
    sp_transaction_pool,
    sp_version::RuntimeVersion,
};

use provena_primitives::{
    attribution::{
        EpochIndex, EpochInfo, Payee, ReceiptId, ReceiptInfo, ReceiptProof, RewardInfo, Voucher,
    },
    bonding_curve::Trade,
    datanets::{ContributionInfo, DatanetInfo, SnapshotInfo},
    inference::{JobId, JobInfo},
    merkle::MerkleProof,
    models::{HoldingInfo, ModelInfo, QuoteError, TokenInfo},
    BlockNumber, ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};

use crate::{
    opaque::SessionKeys, AccountId, Agents, Attribution, Aura, Balance, Block, Bridge, Datanets,
    Executive, Grandpa, Historical, Inference, InherentDataExt, Models, Nonce, Runtime,
    RuntimeCall, RuntimeGenesisConfig, Staking, System, TransactionPayment, VERSION,
};
use polkadot_sdk::sp_api::impl_runtime_apis;

// `pallet_revive`'s macro adds `ReviveApi` (the Ethereum RPC's view of the runtime) to the
// APIs below and lets Ethereum transactions set their own weight limit.
pallet_revive::impl_runtime_apis_plus_revive_traits! {
    Runtime,
    Revive,
    Executive,
    crate::EthExtraImpl,

    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }

        fn execute_block(block: <Block as BlockT>::LazyBlock) {
            Executive::execute_block(block)
        }

        fn initialize_block(header: &<Block as BlockT>::Header) -> ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> OpaqueMetadata {
            OpaqueMetadata::new(Runtime::metadata().into())
        }

        fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }

        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl sp_block_builder::BlockBuilder<Block> for Runtime {
        fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
            Executive::apply_extrinsic(extrinsic)
        }

        fn finalize_block() -> <Block as BlockT>::Header {
            Executive::finalize_block()
        }

        fn inherent_extrinsics(data: InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
            data.create_extrinsics()
        }

        fn check_inherents(
            block: <Block as BlockT>::LazyBlock,
            data: InherentData,
        ) -> CheckInherentsResult {
            data.check_extrinsics(&block)
        }
    }

    impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
        fn validate_transaction(
            source: TransactionSource,
            tx: <Block as BlockT>::Extrinsic,
            block_hash: <Block as BlockT>::Hash,
        ) -> TransactionValidity {
            Executive::validate_transaction(source, tx, block_hash)
        }
    }

    impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
        fn offchain_worker(header: &<Block as BlockT>::Header) {
            Executive::offchain_worker(header)
        }
    }

    impl polkadot_sdk::sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
        fn slot_duration() -> polkadot_sdk::sp_consensus_aura::SlotDuration {
            polkadot_sdk::sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
        }

        fn authorities() -> Vec<AuraId> {
            pallet_aura::Authorities::<Runtime>::get().into_inner()
        }
    }

    impl sp_session::SessionKeys<Block> for Runtime {
        fn generate_session_keys(owner: Vec<u8>, seed: Option<Vec<u8>>) -> OpaqueGeneratedSessionKeys {
            SessionKeys::generate(&owner, seed).into()
        }

        fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
            SessionKeys::decode_into_raw_public_keys(&encoded)
        }
    }

    impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
        fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
            Grandpa::grandpa_authorities()
        }

        fn current_set_id() -> sp_consensus_grandpa::SetId {
            Grandpa::current_set_id()
        }

        fn submit_report_equivocation_unsigned_extrinsic(
            equivocation_proof: sp_consensus_grandpa::EquivocationProof<
                <Block as BlockT>::Hash,
                NumberFor<Block>,
            >,
            key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
        ) -> Option<()> {
            let key_owner_proof = key_owner_proof.decode()?;
            Grandpa::submit_unsigned_equivocation_report(equivocation_proof, key_owner_proof)
        }

        fn generate_key_ownership_proof(
            _set_id: sp_consensus_grandpa::SetId,
            authority_id: GrandpaId,
        ) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
            use polkadot_sdk::frame_support::traits::KeyOwnerProofSystem;
            Historical::prove((sp_consensus_grandpa::KEY_TYPE, authority_id))
                .map(|proof| codec::Encode::encode(&proof))
                .map(sp_consensus_grandpa::OpaqueKeyOwnershipProof::new)
        }
    }

    impl polkadot_sdk::pallet_staking_runtime_api::StakingApi<Block, Balance, AccountId> for Runtime {
        fn nominations_quota(balance: Balance) -> u32 {
            Staking::api_nominations_quota(balance)
        }

        fn eras_stakers_page_count(era: polkadot_sdk::sp_staking::EraIndex, account: AccountId) -> polkadot_sdk::sp_staking::Page {
            Staking::api_eras_stakers_page_count(era, account)
        }

        fn pending_rewards(era: polkadot_sdk::sp_staking::EraIndex, account: AccountId) -> bool {
            Staking::api_pending_rewards(era, account)
        }
    }

    impl polkadot_sdk::frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
        fn account_nonce(account: AccountId) -> Nonce {
            System::account_nonce(account)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
        fn query_info(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_info(uxt, len)
        }
        fn query_fee_details(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_fee_details(uxt, len)
        }
        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }
        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
        for Runtime
    {
        fn query_call_info(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_call_info(call, len)
        }
        fn query_call_fee_details(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_call_fee_details(call, len)
        }
        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }
        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl provena_primitives::datanets::DatanetsApi<Block, AccountId, Balance, BlockNumber> for Runtime {
        fn datanet(id: DatanetId) -> Option<DatanetInfo<AccountId, Balance, BlockNumber>> {
            Datanets::api_datanet(id)
        }

        fn contribution(id: ContributionId) -> Option<ContributionInfo<AccountId, Balance, BlockNumber>> {
            Datanets::api_contribution(id)
        }

        fn datanet_contributions(
            datanet: DatanetId,
            start: u32,
            limit: u32,
        ) -> Vec<ContributionInfo<AccountId, Balance, BlockNumber>> {
            Datanets::api_datanet_contributions(datanet, start, limit)
        }

        fn contributor_contributions(
            who: AccountId,
            start: u32,
            limit: u32,
        ) -> Vec<ContributionInfo<AccountId, Balance, BlockNumber>> {
            Datanets::api_contributor_contributions(&who, start, limit)
        }

        fn snapshot(datanet: DatanetId, version: SnapshotVersion) -> Option<SnapshotInfo<AccountId, BlockNumber>> {
            Datanets::api_snapshot(datanet, version)
        }

        fn snapshot_proof(
            datanet: DatanetId,
            version: SnapshotVersion,
            contribution: ContributionId,
        ) -> Option<MerkleProof> {
            Datanets::api_snapshot_proof(datanet, version, contribution)
        }
    }

    impl provena_primitives::models::ModelsApi<Block, AccountId, Balance, BlockNumber> for Runtime {
        fn model(id: ModelId) -> Option<ModelInfo<AccountId, Balance, BlockNumber>> {
            Models::api_model(id)
        }

        fn model_by_weights(weights_hash: ContentHash) -> Option<ModelId> {
            Models::api_model_by_weights(weights_hash)
        }

        fn token(model: ModelId) -> Option<TokenInfo<AccountId, Balance, BlockNumber>> {
            Models::api_token(model)
        }

        fn quote_buy(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError> {
            Models::api_quote_buy(model, tokens)
        }

        fn quote_sell(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError> {
            Models::api_quote_sell(model, tokens)
        }

        fn quote_spend(model: ModelId, budget: Balance) -> Result<Trade, QuoteError> {
            Models::api_quote_spend(model, budget)
        }

        fn holding(model: ModelId, who: AccountId) -> HoldingInfo<Balance> {
            Models::api_holding(model, who)
        }
    }

    impl provena_primitives::attribution::AttributionApi<Block, AccountId, BlockNumber> for Runtime {
        fn receipt(id: ReceiptId) -> Option<ReceiptInfo<AccountId, BlockNumber>> {
            Attribution::api_receipt(id)
        }

        fn receipts_by_model(model: ModelId, start: u32, limit: u32) -> Vec<ReceiptInfo<AccountId, BlockNumber>> {
            Attribution::api_receipts_by_model(model, start, limit)
        }

        fn receipts_by_contribution(
            contribution: ContributionId,
            from: ReceiptId,
            scan: u32,
            limit: u32,
        ) -> Vec<ReceiptInfo<AccountId, BlockNumber>> {
            Attribution::api_receipts_by_contribution(contribution, from, scan, limit)
        }

        fn rewards(payee: Payee<AccountId>) -> RewardInfo {
            Attribution::api_rewards(payee)
        }

        fn account_rewards(who: AccountId) -> (RewardInfo, Vec<(ContributionId, RewardInfo)>) {
            let own = Attribution::api_rewards(Payee::Account(who.clone()));
            let mut per_contribution = Vec::new();
            // Bounded: the account's first `MAX_SCAN` (10,000) contributions, in pages of
            // 1,000; a larger contributor pages through `rewards(Payee::Contribution(id))`.
            let mut start = 0u32;
            while start < pallet_attribution::MAX_SCAN {
                let page = Datanets::api_contributor_contributions(&who, start, 1_000);
                let len = page.len() as u32;
                for c in page {
                    let r = Attribution::api_rewards(Payee::Contribution(c.id));
                    if r != RewardInfo::default() {
                        per_contribution.push((c.id, r));
                    }
                }
                if len < 1_000 {
                    break;
                }
                start = start.saturating_add(len);
            }
            (own, per_contribution)
        }

        fn epoch(epoch: EpochIndex) -> Option<EpochInfo<BlockNumber>> {
            Attribution::api_epoch(epoch)
        }

        fn receipt_proof(id: ReceiptId) -> Option<ReceiptProof> {
            Attribution::api_receipt_proof(id)
        }

        fn voucher_payload(voucher: Voucher<AccountId, BlockNumber>) -> Vec<u8> {
            Attribution::api_voucher_payload(voucher)
        }
    }

    impl provena_primitives::inference::InferenceApi<Block, AccountId, BlockNumber> for Runtime {
        fn job(id: JobId) -> Option<JobInfo<AccountId, BlockNumber>> {
            Inference::api_job(id)
        }

        fn operator_jobs(operator: AccountId, limit: u32) -> Vec<JobId> {
            Inference::api_operator_jobs(operator, limit)
        }
    }

    impl provena_primitives::agents::AgentsApi<Block, AccountId> for Runtime {
        fn agent(who: AccountId) -> Option<provena_primitives::agents::AgentInfo<AccountId>> {
            Agents::api_agent(who)
        }

        fn agents(
            start_after: Option<AccountId>,
            limit: u32,
        ) -> Vec<provena_primitives::agents::AgentInfo<AccountId>> {
            Agents::api_agents(start_after, limit)
        }

        fn delegation(
            agent: AccountId,
            member: AccountId,
        ) -> Option<provena_primitives::agents::DelegationInfo<AccountId>> {
            Agents::api_delegation(agent, member)
        }

        fn delegations(
            agent: AccountId,
            start_after: Option<AccountId>,
            limit: u32,
        ) -> Vec<provena_primitives::agents::DelegationInfo<AccountId>> {
            Agents::api_delegations(agent, start_after, limit)
        }

        fn performance(
            agent: AccountId,
        ) -> Vec<(provena_primitives::agents::EraIndex, provena_primitives::agents::EraPerformance)> {
            Agents::api_performance(agent)
        }
    }

    impl provena_primitives::bridge::BridgeApi<Block, AccountId, Balance> for Runtime {
        fn status() -> provena_primitives::bridge::BridgeStatus<Balance> {
            Bridge::status()
        }

        fn epoch(epoch: u64) -> Option<provena_primitives::bridge::BridgeEpoch> {
            Bridge::epoch_info(epoch)
        }

        fn transfer_proof(nonce: u64) -> Option<(u64, MerkleProof)> {
            Bridge::transfer_proof(nonce)
        }

        fn attribution_proof(epoch: u64) -> Option<(u64, MerkleProof)> {
            Bridge::attribution_proof(epoch)
        }

        fn rotation(to: u32) -> Option<provena_primitives::bridge::BridgeRotation> {
            Bridge::rotation_info(to)
        }

        fn inbound_digest(nonce: u64, recipient: AccountId, amount: Balance) -> Option<polkadot_sdk::sp_core::H256> {
            Bridge::inbound_digest_for(nonce, recipient, amount)
        }

        fn approvals(nonce: u64) -> Vec<(polkadot_sdk::sp_core::H256, Vec<polkadot_sdk::sp_core::H160>)> {
            Bridge::approvals(nonce)
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }

        fn get_preset(id: &Option<PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, crate::genesis_config_presets::get_preset)
        }

        fn preset_names() -> Vec<PresetId> {
            crate::genesis_config_presets::preset_names()
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl polkadot_sdk::frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(extra: bool) -> (
            Vec<polkadot_sdk::frame_benchmarking::BenchmarkList>,
            Vec<polkadot_sdk::frame_support::traits::StorageInfo>,
        ) {
            crate::benchmarks::benchmark_metadata(extra)
        }

        fn dispatch_benchmark(
            config: polkadot_sdk::frame_benchmarking::BenchmarkConfig,
        ) -> Result<Vec<polkadot_sdk::frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            crate::benchmarks::dispatch_benchmark(config)
        }
    }

    #[cfg(feature = "try-runtime")]
    impl polkadot_sdk::frame_try_runtime::TryRuntime<Block> for Runtime {
        fn on_runtime_upgrade(
            checks: polkadot_sdk::frame_try_runtime::UpgradeCheckSelect,
        ) -> (Weight, Weight) {
            try_runtime::on_runtime_upgrade(checks)
        }

        fn execute_block(
            block: <Block as BlockT>::LazyBlock,
            state_root_check: bool,
            signature_check: bool,
            select: polkadot_sdk::frame_try_runtime::TryStateSelect,
        ) -> Weight {
            try_runtime::execute_block(block, state_root_check, signature_check, select)
        }
    }
}

/// `try-runtime` is an offline testing tool: a failed check must abort the run loudly, so these
/// helpers panic on failure (the tool reports the panic). They are never compiled into a
/// production runtime.
#[cfg(feature = "try-runtime")]
#[allow(clippy::expect_used)]
mod try_runtime {
    use super::*;
    use polkadot_sdk::frame_try_runtime::{TryStateSelect, UpgradeCheckSelect};

    pub fn on_runtime_upgrade(checks: UpgradeCheckSelect) -> (Weight, Weight) {
        let weight = Executive::try_runtime_upgrade(checks).expect("runtime upgrade checks failed");
        (weight, crate::configs::RuntimeBlockWeights::get().max_block)
    }

    pub fn execute_block(
        block: <Block as BlockT>::LazyBlock,
        state_root_check: bool,
        signature_check: bool,
        select: TryStateSelect,
    ) -> Weight {
        Executive::try_execute_block(block, state_root_check, signature_check, select)
            .expect("try_execute_block failed")
    }
}
