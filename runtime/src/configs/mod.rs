//! Pallet configurations, one file per area. Each file holds the `parameter_types!` of its
//! pallets next to their `impl Config`, so a parameter is read where it is used.

mod accounts;
mod agents;
mod attribution;
mod bridge;
mod consensus;
mod datanets;
pub mod governance;
mod inference;
mod models;
mod monetary;
mod revive;
pub(crate) mod staking;
mod system;

pub use accounts::ProxyType;
pub use agents::{AgentEra, AgentsPalletId, MinAgentBond, MinDelegation};
pub use attribution::{AttributionPalletId, ChallengeBond, EpochLength, OperatorSlash};
pub use bridge::{BridgeEpochLength, BridgeGuardian, BridgePalletId, MinBridgeTransfer};
pub use datanets::{
    AccessDeposit, ContributionDeposit, DatanetDeposit, DatanetsPalletId, MinContributionStake,
    SnapshotDepositBase, SnapshotDepositPerMember, StakeLockup,
};
pub use governance::{
    origins, pallet_custom_origins,
    parameters::{dynamic_params, RuntimeParameters, RuntimeParametersKey, Shares},
    tracks,
};
pub use inference::{JobDeposit, JobTimeout, OperatorDeposit, Retention};
pub use models::{Curve, MinTradeValue, ModelDeposit, ModelsPalletId, TreasuryAccount};
pub use monetary::{ExistentialDeposit, FeePerRefTime, TransactionByteFee};
pub use revive::{
    CodeHashLockupDepositPercent, DepositPerByte, DepositPerChildTrieItem, DepositPerItem,
    GasScale, EVM_CHAIN_ID,
};
pub use staking::{
    era_reward, rewards_pool, slash_destination, BondingDuration, KeyDeposit, MaxActiveValidators,
    MaxCandidates, MaxNominatorAccounts, MinNominatorBond, MinValidatorBond, SessionsPerEra,
    SlashRewardFraction, ANNUAL_REWARD_PERCENT, SESSION_LENGTH,
};
pub use system::{RuntimeBlockLength, RuntimeBlockWeights, Version};
