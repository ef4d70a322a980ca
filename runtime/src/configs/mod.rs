//! Pallet configurations, one file per area. Each file holds the `parameter_types!` of its
//! pallets next to their `impl Config`, so a parameter is read where it is used.

mod accounts;
mod attribution;
mod consensus;
mod datanets;
mod governance;
mod inference;
mod models;
mod monetary;
mod revive;
mod system;

pub use accounts::ProxyType;
pub use attribution::{AttributionPalletId, ChallengeBond, EpochLength, OperatorBond, Shares};
pub use datanets::{DatanetDeposit, DatanetsPalletId, MinContributionStake, StakeLockup};
pub use inference::{JobDeposit, JobTimeout, OperatorDeposit, Retention};
pub use models::{Curve, MinTradeValue, ModelDeposit, ModelsPalletId, TradingFee, TreasuryAccount};
pub use monetary::{ExistentialDeposit, FeePerRefTime, TransactionByteFee};
pub use revive::{
    AuraAuthorAccount, CodeHashLockupDepositPercent, DepositPerByte, DepositPerChildTrieItem,
    DepositPerItem, GasScale, EVM_CHAIN_ID,
};
pub use system::{RuntimeBlockLength, RuntimeBlockWeights, Version};
