//! Agents: bonded inference operators with delegators, paid from their work and slashed for
//! poor performance (`pallet-agents`).
//!
//! | setting | value |
//! | --- | --- |
//! | era | a day on the governance timescale, at least 10 blocks (a minute on `--dev` and `local_testnet`) |
//! | agent deposit / least own bond / least delegation | 0.11 OPEN / 1,000 OPEN / 10 OPEN |
//! | unbonding / slash deferral | 7 eras / 2 eras |
//! | commission | at most 50%, raised at most 2 points an era |
//! | threshold slash | 5%, when ≥ 20% of ≥ 10 jobs of an era expired, or 3 challenges were upheld |
//! | governance slash | the disputes track (or root), at most 20% of an agent per era; the same origins cancel |
//! | force chill | the admission track (or root) |
//!
//! Agents are the inference operators: attribution takes receipts, and inference assigns jobs,
//! only from active agents serving the model; an upheld challenge takes the user's refund and
//! attribution's operator slash (500 OPEN) from the agent's own bond at once, which its
//! minimum (1,000 OPEN) covers.

use super::governance::origins::{AdmissionAdmin, DisputeResolver};
use crate::{
    Balance, Balances, BlockNumber, ConvictionVoting, Models, Runtime, RuntimeEvent,
    RuntimeHoldReason,
};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{ConstU32, EitherOf, Get},
        PalletId,
    },
    frame_system::EnsureRoot,
    sp_runtime::Perbill,
};
use provena_primitives::{
    currency::{deposit, OPEN},
    AccountId,
};

parameter_types! {
    /// The agents pallet account: it holds the stake and keeps unpaid rewards.
    pub const AgentsPalletId: PalletId = PalletId(*b"prv/agnt");
    /// An agent's record: up to ~900 bytes in one item.
    pub const AgentDeposit: Balance = deposit(1, 900);
    /// An agent's own bond answers for its work: as much as an operator's bond.
    pub const MinAgentBond: Balance = 1_000 * OPEN;
    /// The least delegation: each is a stored record.
    pub const MinDelegation: Balance = 10 * OPEN;
    pub const MaxCommission: Perbill = Perbill::from_percent(50);
    pub const MaxCommissionIncrease: Perbill = Perbill::from_percent(2);
    pub const ExpiryRateThreshold: Perbill = Perbill::from_percent(20);
    pub const ThresholdSlash: Perbill = Perbill::from_percent(5);
    pub const MaxGovernanceSlash: Perbill = Perbill::from_percent(20);
}

/// An agents era: a day on the governance timescale, and never under 10 blocks, so that an
/// era on a development chain (whose governance day is a block) still counts a minute of work.
pub struct AgentEra;
impl Get<BlockNumber> for AgentEra {
    fn get() -> BlockNumber {
        ConvictionVoting::scaled(crate::time::DAYS).max(10)
    }
}

impl pallet_agents::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type PalletId = AgentsPalletId;
    type Models = Models;
    type AgentDeposit = AgentDeposit;
    type MinAgentBond = MinAgentBond;
    type MinDelegation = MinDelegation;
    type EraLength = AgentEra;
    type BondingDuration = ConstU32<7>;
    type SlashDeferral = ConstU32<2>;
    type MaxCommission = MaxCommission;
    type MaxCommissionIncrease = MaxCommissionIncrease;
    type MinJobsForExpiryRate = ConstU32<10>;
    type ExpiryRateThreshold = ExpiryRateThreshold;
    type UpheldChallengeThreshold = ConstU32<3>;
    type ThresholdSlash = ThresholdSlash;
    type MaxGovernanceSlash = MaxGovernanceSlash;
    type SlashOrigin = EitherOf<EnsureRoot<AccountId>, DisputeResolver>;
    type CancelSlashOrigin = EitherOf<EnsureRoot<AccountId>, DisputeResolver>;
    type ForceChillOrigin = EitherOf<EnsureRoot<AccountId>, AdmissionAdmin>;
    type Liability = crate::Attribution;
    type SlashDestination = super::TreasuryAccount;
    type HistoryDepth = ConstU32<28>;
    type MaxModels = ConstU32<16>;
    type MaxUriLen = ConstU32<256>;
    type MaxDelegators = ConstU32<1_024>;
    type MaxUnlockingChunks = ConstU32<16>;
    type MaxUnbondingPools = ConstU32<32>;
    type MaxPendingSlashes = ConstU32<8>;
    type WeightInfo = pallet_agents::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = AgentsBenchmarks;
}

/// Real models for the agents benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct AgentsBenchmarks;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_agents::benchmarking::BenchmarkHelper for AgentsBenchmarks {
    fn models(n: u32) -> alloc::vec::Vec<provena_primitives::ModelId> {
        use pallet_attribution::BenchmarkHelper;
        let owner = AccountId::new([0x4d; 32]);
        (0..n)
            .map(|_| {
                super::attribution::AttributionBenchmarks::model_with_contributions(&owner, 1).0
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An active agent keeps its minimum own bond, and an upheld challenge takes attribution's
    /// operator slash from it: the minimum must cover one slash, or an operator could submit
    /// receipts its bond cannot answer for (attribution refuses those with `BondTooLow`).
    #[test]
    fn the_least_own_bond_covers_an_upheld_challenges_slash() {
        assert!(MinAgentBond::get() >= super::super::attribution::OperatorSlash::get());
    }
}
