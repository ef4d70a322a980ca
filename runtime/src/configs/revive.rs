//! `pallet_revive`: Ethereum-compatible smart contracts (EVM bytecode, run by REVM).
//!
//! ## The Ethereum view of the chain
//!
//! - **Chain id** [`EVM_CHAIN_ID`] (EIP-155): signed Ethereum transactions name it, so they
//!   cannot be replayed on another chain.
//! - **Balances**: `NativeToEthRatio` is 1. OPEN has 18 decimals like ether, so one wei is one
//!   OPEN base unit and `eth_getBalance` equals the account's spendable native balance.
//! - **Accounts** ([`AccountId32Mapper`]): the Ethereum address `a` is the native account
//!   `a ‖ 0xEE × 12`; a native (sr25519/ed25519) account has the address
//!   `keccak256(account)[12..]`. With `AutoMap`, every native account is mapped when it is
//!   created, so a contract paying that address pays the native account.
//! - **Gas**: the fee of an Ethereum transaction is the ordinary transaction fee (weight and
//!   length, see `monetary`), shown to Ethereum tools as `gas × gas price`. The gas price is
//!   [`GasScale`] wei (the fee multiplier is a constant 1); fees are burned like every other
//!   transaction fee.
//! - **Storage deposits**: contracts pay for the state they keep ([`DepositPerByte`],
//!   [`DepositPerItem`], [`DepositPerChildTrieItem`]) and get it back when they free it. For an
//!   Ethereum transaction the deposit is part of the gas the wallet pays.
//! - **Precompiles**: [`crate::precompiles::Provena`] at [`crate::precompiles::PROVENA_ADDRESS`]
//!   exposes datanets, contributions, model prices and inference vouchers to Solidity;
//!   [`crate::precompiles::Governance`] at [`crate::precompiles::GOVERNANCE_ADDRESS`] votes and
//!   delegates on referenda; [`crate::precompiles::AgentsPrecompile`] at
//!   [`crate::precompiles::AGENTS_ADDRESS`] delegates to agents and claims their rewards.

use crate::{
    precompiles::{AgentsPrecompile, Governance, Provena},
    AccountId, Address, Balance, Balances, EthExtraImpl, Runtime, RuntimeCall, RuntimeEvent,
    RuntimeHoldReason, RuntimeOrigin, Signature, Timestamp,
};
use polkadot_sdk::{
    frame_support::{
        derive_impl, parameter_types,
        traits::{ConstBool, ConstU32, ConstU64},
    },
    frame_system::EnsureSigned,
    pallet_revive,
    pallet_revive::{evm::fees::Info as FeeInfo, AccountId32Mapper},
    sp_runtime::Perbill,
};
use provena_primitives::currency::{MICRO_OPEN, MILLI_OPEN};

/// Provena's EIP-155 chain id (`0x50524f` = "PRO").
pub const EVM_CHAIN_ID: u64 = 0x0050_524f;

parameter_types! {
    /// Every byte a contract keeps in state (code included) holds 10 micro-OPEN.
    pub const DepositPerByte: Balance = 10 * MICRO_OPEN;
    /// Every top-level storage item (a contract, a code blob) holds 10 milli-OPEN.
    pub const DepositPerItem: Balance = 10 * MILLI_OPEN;
    /// Every storage slot a contract writes holds 0.1 milli-OPEN (plus its bytes).
    pub const DepositPerChildTrieItem: Balance = MILLI_OPEN / 10;
    /// Instantiating a contract locks 30% of its code's deposit, so code in use is not removed.
    pub CodeHashLockupDepositPercent: Perbill = Perbill::from_percent(30);
    /// The gas price in wei: one gwei.
    pub const GasScale: u32 = 1_000_000_000;
}

#[derive_impl(pallet_revive::config_preludes::TestDefaultConfig)]
impl pallet_revive::Config for Runtime {
    type Time = Timestamp;
    type Balance = Balance;
    type Currency = Balances;
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type RuntimeOrigin = RuntimeOrigin;
    type RuntimeHoldReason = RuntimeHoldReason;
    type WeightInfo = pallet_revive::weights::SubstrateWeight<Runtime>;
    type Precompiles = (Provena<Runtime>, Governance<Runtime>, AgentsPrecompile<Runtime>);
    // The block author's stash account (the validator that sealed the block): `block.coinbase`.
    type FindAuthor = polkadot_sdk::pallet_session::FindAccountFromAuthorIndex<Self, crate::Aura>;
    type DepositPerByte = DepositPerByte;
    type DepositPerItem = DepositPerItem;
    type DepositPerChildTrieItem = DepositPerChildTrieItem;
    type CodeHashLockupDepositPercent = CodeHashLockupDepositPercent;
    type AddressMapper = AccountId32Mapper<Self>;
    type AllowEVMBytecode = ConstBool<true>;
    type UploadOrigin = EnsureSigned<AccountId>;
    type InstantiateOrigin = EnsureSigned<AccountId>;
    type ChainId = ConstU64<EVM_CHAIN_ID>;
    type NativeToEthRatio = ConstU32<1>;
    type FeeInfo = FeeInfo<Address, Signature, EthExtraImpl>;
    type DebugEnabled = ConstBool<false>;
    type AutoMap = ConstBool<true>;
    type GasScale = GasScale;
    // Gas rounding dust is burned, like transaction fees.
    type OnBurn = ();
}
