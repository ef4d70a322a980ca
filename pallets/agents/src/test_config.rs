//! The agents pallet's configuration for the test runtimes of the pallets that use it (attribution
//! and inference run the real pallet in their mocks): [`impl_test_config`](crate::impl_test_config).

/// Implements `pallet_agents::Config` for a test runtime `$runtime` with small, documented
/// settings: deposit 50, least own bond `$min_bond`, least delegation 100, eras of `$era`
/// blocks, unbonding 3 eras, slash deferral 2, commission at most 50% (raised 5 points an era),
/// threshold slash 10% when a quarter of at least 4 jobs expired or 2 challenges were upheld,
/// governance slash at most 50%, root for every origin, slashes to `$treasury`, and `$models`
/// and `$liability` as the models and the liability. The runtime must have `Balances` and its
/// derived `RuntimeEvent` and `RuntimeHoldReason`.
#[macro_export]
macro_rules! impl_test_config {
    ($runtime:ty, models: $models:ty, liability: $liability:ty, min_bond: $min_bond:expr,
     era: $era:expr, treasury: $treasury:ty $(,)?) => {
        polkadot_sdk::frame_support::parameter_types! {
            pub const AgentsPalletId: polkadot_sdk::frame_support::PalletId =
                polkadot_sdk::frame_support::PalletId(*b"prv/agnt");
            pub const AgentsMinBond: u128 = $min_bond;
            pub const AgentsEra: u64 = $era;
            pub const AgentCommission: polkadot_sdk::sp_runtime::Perbill =
                polkadot_sdk::sp_runtime::Perbill::from_percent(50);
            pub const AgentCommissionStep: polkadot_sdk::sp_runtime::Perbill =
                polkadot_sdk::sp_runtime::Perbill::from_percent(5);
            pub const AgentExpiryRate: polkadot_sdk::sp_runtime::Perbill =
                polkadot_sdk::sp_runtime::Perbill::from_percent(25);
            pub const AgentThresholdSlash: polkadot_sdk::sp_runtime::Perbill =
                polkadot_sdk::sp_runtime::Perbill::from_percent(10);
        }

        impl $crate::Config for $runtime {
            type RuntimeEvent = RuntimeEvent;
            type Currency = Balances;
            type RuntimeHoldReason = RuntimeHoldReason;
            type PalletId = AgentsPalletId;
            type Models = $models;
            type AgentDeposit = polkadot_sdk::frame_support::traits::ConstU128<50>;
            type MinAgentBond = AgentsMinBond;
            type MinDelegation = polkadot_sdk::frame_support::traits::ConstU128<100>;
            type EraLength = AgentsEra;
            type BondingDuration = polkadot_sdk::frame_support::traits::ConstU32<3>;
            type SlashDeferral = polkadot_sdk::frame_support::traits::ConstU32<2>;
            type MaxCommission = AgentCommission;
            type MaxCommissionIncrease = AgentCommissionStep;
            type MinJobsForExpiryRate = polkadot_sdk::frame_support::traits::ConstU32<4>;
            type ExpiryRateThreshold = AgentExpiryRate;
            type UpheldChallengeThreshold = polkadot_sdk::frame_support::traits::ConstU32<2>;
            type ThresholdSlash = AgentThresholdSlash;
            type MaxGovernanceSlash = AgentCommission;
            type SlashOrigin = polkadot_sdk::frame_system::EnsureRoot<Self::AccountId>;
            type CancelSlashOrigin = polkadot_sdk::frame_system::EnsureRoot<Self::AccountId>;
            type ForceChillOrigin = polkadot_sdk::frame_system::EnsureRoot<Self::AccountId>;
            type Liability = $liability;
            type SlashDestination = $treasury;
            type HistoryDepth = polkadot_sdk::frame_support::traits::ConstU32<4>;
            type MaxModels = polkadot_sdk::frame_support::traits::ConstU32<4>;
            type MaxUriLen = polkadot_sdk::frame_support::traits::ConstU32<32>;
            type MaxDelegators = polkadot_sdk::frame_support::traits::ConstU32<8>;
            type MaxUnlockingChunks = polkadot_sdk::frame_support::traits::ConstU32<4>;
            type MaxUnbondingPools = polkadot_sdk::frame_support::traits::ConstU32<5>;
            type MaxPendingSlashes = polkadot_sdk::frame_support::traits::ConstU32<3>;
            type WeightInfo = ();
            #[cfg(feature = "runtime-benchmarks")]
            type BenchmarkHelper = ();
        }
    };
}
