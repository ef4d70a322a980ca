//! # Provena runtime
//!
//! ## Overview
//!
//! The state transition function of the Provena chain, compiled to WASM and executed by every
//! node. It composes FRAME pallets with explicit indices, grouped by area:
//!
//! | index | pallet | area |
//! | --- | --- | --- |
//! | 0 | System | core |
//! | 1 | Timestamp | core |
//! | 10 | Aura | consensus |
//! | 11 | Grandpa | consensus |
//! | 20 | Balances | monetary |
//! | 21 | TransactionPayment | monetary |
//! | 22 | Authorship | staking (block authors earn reward points) |
//! | 23 | Staking | staking (validators elected by NPoS, rewards, slashing) |
//! | 24 | Offences | staking (GRANDPA equivocation reports) |
//! | 25 | Historical | staking (session keys of past sessions, for offence proofs) |
//! | 26 | Session | staking (session keys, validator set rotation) |
//! | 30 | Utility | account tools |
//! | 31 | Multisig | account tools |
//! | 32 | Proxy | account tools |
//! | 40 | Scheduler | governance |
//! | 41 | Preimage | governance |
//! | 42 | Sudo | governance (a key only in the development preset) |
//! | 43 | Referenda | governance (referenda on tracks) |
//! | 44 | ConvictionVoting | governance (`pallet-governance`: contribution-weighted votes, named as polkadot-sdk's voting pallet for wallets) |
//! | 45 | Treasury | governance (spends from the treasury account) |
//! | 46 | Parameters | governance (protocol parameters) |
//! | 47 | Origins | governance (the tracks' origins) |
//! | 50 | Datanets | Payable AI |
//! | 51 | Models | Payable AI |
//! | 52 | Attribution | Payable AI |
//! | 53 | Inference | Payable AI |
//! | 54 | Agents | Payable AI: bonded operators, delegation, slashing (`pallet-agents`) |
//! | 60 | Revive | EVM contracts |
//! | 70 | Bridge | Ethereum settlement (`pallet-bridge`: OPEN to and from Ethereum, attribution roots settled there) |
//!
//! Indices are part of the encoding of every call and event: they never change once a network
//! has launched. New areas take the next free decade. Genesis is built and hooks run in index
//! order, so a pallet that needs another's genesis state takes a higher index (staking after
//! balances, session after staking).
//!
//! ## Layout
//!
//! - [`configs`]: one file per area, each with its `parameter_types!` and `impl Config`.
//! - [`apis`]: the runtime APIs the node and clients call.
//! - [`precompiles`]: Provena's features as EVM precompiles (`IProvena.sol`).
//! - [`genesis_config_presets`]: the `development`, `local_testnet` and `testnet` genesis states
//!   and the genesis token allocation table.
//! - [`client`] (native only): signing transactions for this runtime, for off-chain clients
//!   such as the inference worker.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` needs a higher recursion limit than the default.
#![recursion_limit = "256"]

// Make the WASM binary available to the node.
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

/// The same runtime one `spec_version` higher, built when `PROVENA_UPGRADE_RUNTIME` is set (see
/// `build.rs`): what the multi-node test upgrades the network to through a referendum.
#[cfg(feature = "std")]
pub mod upgrade_test {
    include!(concat!(env!("OUT_DIR"), "/wasm_binary_upgrade.rs"));
}

extern crate alloc;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
#[cfg(feature = "std")]
pub mod client;
pub mod configs;
pub mod genesis_config_presets;
pub mod precompiles;
pub mod weights;

use alloc::{borrow::Cow, vec::Vec};
use polkadot_sdk::{
    frame_support, frame_system, pallet_aura, pallet_authorship, pallet_balances, pallet_grandpa,
    pallet_multisig, pallet_offences, pallet_parameters, pallet_preimage, pallet_proxy,
    pallet_referenda, pallet_revive, pallet_scheduler, pallet_session, pallet_staking, pallet_sudo,
    pallet_timestamp, pallet_transaction_payment, pallet_treasury, pallet_utility, sp_runtime,
    sp_runtime::generic, sp_version::RuntimeVersion,
};

pub use configs::{pallet_custom_origins, RuntimeParameters, RuntimeParametersKey};

pub use provena_primitives::{
    currency, time, AccountId, Address, Balance, BlockNumber, Hash, Header, Nonce, Signature,
};

/// Opaque types, used by the node and CLI to handle blocks without knowing the runtime's calls.
pub mod opaque {
    use super::*;
    use polkadot_sdk::{sp_consensus_aura, sp_consensus_grandpa, sp_runtime::impl_opaque_keys};

    pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

    /// An opaque block.
    pub type Block = generic::Block<Header, UncheckedExtrinsic>;
    /// An opaque block identifier.
    pub type BlockId = generic::BlockId<Block>;

    impl_opaque_keys! {
        /// The session keys of a validator: its Aura (authoring) and GRANDPA (finality) keys.
        pub struct SessionKeys {
            pub aura: Aura,
            pub grandpa: Grandpa,
        }
    }

    /// The Aura authority key type.
    pub type AuraId = sp_consensus_aura::sr25519::AuthorityId;
    /// The GRANDPA authority key type.
    pub type GrandpaId = sp_consensus_grandpa::AuthorityId;
}

/// Defines [`VERSION`] with `spec_version` `$spec`.
macro_rules! runtime_version {
    ($spec:tt) => {
        /// The version of this runtime. Clients compare `spec_version` to know when the runtime
        /// was upgraded; `transaction_version` changes when the encoding of transactions changes.
        #[polkadot_sdk::sp_version::runtime_version]
        pub const VERSION: RuntimeVersion = RuntimeVersion {
            spec_name: Cow::Borrowed("provena"),
            impl_name: Cow::Borrowed("provena-node"),
            authoring_version: 1,
            spec_version: $spec,
            impl_version: 1,
            apis: apis::RUNTIME_API_VERSIONS,
            transaction_version: 4,
            system_version: 1,
        };
    };
}

// Bump on every runtime change that is deployed; storage migrations key off it. The
// `upgrade-test` blob (see [`upgrade_test`]) is the same runtime one higher.
#[cfg(not(feature = "upgrade-test"))]
runtime_version!(120);
#[cfg(feature = "upgrade-test")]
runtime_version!(121);

/// This runtime's `spec_version`.
pub const SPEC_VERSION: u32 = VERSION.spec_version;

/// The block type of this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The transaction extensions, checked in order for every signed transaction.
pub type TxExtension = (
    // The zero account cannot sign.
    frame_system::CheckNonZeroSender<Runtime>,
    // The transaction was built for this runtime version...
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    // ...and for this chain.
    frame_system::CheckGenesis<Runtime>,
    // Mortality: a transaction is valid only within its era.
    frame_system::CheckEra<Runtime>,
    // Replay protection.
    frame_system::CheckNonce<Runtime>,
    // The block has room for it.
    frame_system::CheckWeight<Runtime>,
    // The sender pays fee and tip.
    pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
    // Turns the signed origin of an Ethereum transaction into its EVM origin; after every
    // extension that needs the signed origin.
    pallet_revive::evm::tx_extension::SetOrigin<Runtime>,
    // Unused weight is returned to the block; must come last to see every refund.
    frame_system::WeightReclaim<Runtime>,
);

/// The extensions of a native transaction of `nonce`, valid in `era`, with `tip`: what wallets,
/// the off-chain workers and [`client`] sign.
pub fn tx_extension(era: generic::Era, nonce: Nonce, tip: Balance) -> TxExtension {
    (
        frame_system::CheckNonZeroSender::<Runtime>::new(),
        frame_system::CheckSpecVersion::<Runtime>::new(),
        frame_system::CheckTxVersion::<Runtime>::new(),
        frame_system::CheckGenesis::<Runtime>::new(),
        frame_system::CheckEra::<Runtime>::from(era),
        frame_system::CheckNonce::<Runtime>::from(nonce),
        frame_system::CheckWeight::<Runtime>::new(),
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
        pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::default(),
        frame_system::WeightReclaim::<Runtime>::new(),
    )
}

/// The extensions of an Ethereum transaction (`Revive::eth_transact`): the same checks as a
/// native transaction, built from the Ethereum transaction's nonce and tip. Ethereum
/// transactions carry no era, so they are immortal; their nonce is their replay protection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EthExtraImpl;

impl pallet_revive::evm::runtime::EthExtra for EthExtraImpl {
    type Config = Runtime;
    type ExtensionV0 = TxExtension;
    type ExtensionOtherVersions = sp_runtime::traits::InvalidVersion;

    fn get_eth_extension(nonce: Nonce, tip: Balance) -> Self::ExtensionV0 {
        (
            frame_system::CheckNonZeroSender::<Runtime>::new(),
            frame_system::CheckSpecVersion::<Runtime>::new(),
            frame_system::CheckTxVersion::<Runtime>::new(),
            frame_system::CheckGenesis::<Runtime>::new(),
            frame_system::CheckEra::<Runtime>::from(generic::Era::Immortal),
            frame_system::CheckNonce::<Runtime>::from(nonce),
            frame_system::CheckWeight::<Runtime>::new(),
            pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
            pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::new_from_eth_transaction(),
            frame_system::WeightReclaim::<Runtime>::new(),
        )
    }
}

/// An extrinsic as it travels in a block: a native transaction, or an Ethereum transaction
/// (RLP, signed with an Ethereum key) wrapped in `Revive::eth_transact`, which this type
/// checks as a transaction of the sender's mapped account.
pub type UncheckedExtrinsic =
    pallet_revive::evm::runtime::UncheckedExtrinsic<Address, Signature, EthExtraImpl>;

/// The payload a signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run at the next runtime upgrade (each is versioned: it runs once, when
/// the pallet's on-chain storage version is the one it migrates from).
pub type Migrations = (
    pallet_attribution::migrations::v1::MigrateToV1<Runtime>,
    pallet_attribution::migrations::v2::MigrateToV2<Runtime>,
    pallet_attribution::migrations::v3::MigrateToV3<Runtime>,
    pallet_datanets::migrations::v1::MigrateToV1<Runtime>,
    pallet_datanets::migrations::v2::MigrateToV2<Runtime>,
    pallet_models::migrations::v1::MigrateToV1<Runtime>,
    pallet_models::migrations::v2::MigrateToV2<Runtime>,
    // After the datanets v3 migration, which gives contributions the field it fills.
    pallet_datanets::migrations::v3::MigrateToV3<Runtime>,
    pallet_attribution::migrations::v4::MigrateToV4<Runtime>,
    pallet_attribution::migrations::v5::MigrateToV5<Runtime>,
    // Operators become agents: after the agents pallet exists (it has no migration of its own).
    pallet_attribution::migrations::v6::MigrateToV6<Runtime>,
);

/// Executive: dispatches blocks and extrinsics to the pallets.
pub type Executive = polkadot_sdk::frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
    Migrations,
>;

#[frame_support::runtime]
mod runtime {
    /// The Provena runtime.
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    // Core.
    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type Timestamp = pallet_timestamp;

    // Consensus.
    #[runtime::pallet_index(10)]
    pub type Aura = pallet_aura;
    #[runtime::pallet_index(11)]
    pub type Grandpa = pallet_grandpa;

    // Monetary.
    #[runtime::pallet_index(20)]
    pub type Balances = pallet_balances;
    #[runtime::pallet_index(21)]
    pub type TransactionPayment = pallet_transaction_payment;

    // Validator staking. Pallets are built at genesis and run their hooks in index order:
    // staking bonds balances at genesis (after Balances), then session takes the validators
    // staking elected and hands their keys to Aura and GRANDPA.
    #[runtime::pallet_index(22)]
    pub type Authorship = pallet_authorship;
    #[runtime::pallet_index(23)]
    pub type Staking = pallet_staking;
    #[runtime::pallet_index(24)]
    pub type Offences = pallet_offences;
    #[runtime::pallet_index(25)]
    pub type Historical = pallet_session::historical;
    #[runtime::pallet_index(26)]
    pub type Session = pallet_session;

    // Account tools.
    #[runtime::pallet_index(30)]
    pub type Utility = pallet_utility;
    #[runtime::pallet_index(31)]
    pub type Multisig = pallet_multisig;
    #[runtime::pallet_index(32)]
    pub type Proxy = pallet_proxy;

    // Governance.
    #[runtime::pallet_index(40)]
    pub type Scheduler = pallet_scheduler;
    #[runtime::pallet_index(41)]
    pub type Preimage = pallet_preimage;
    #[runtime::pallet_index(42)]
    pub type Sudo = pallet_sudo;
    #[runtime::pallet_index(43)]
    pub type Referenda = pallet_referenda;
    #[runtime::pallet_index(44)]
    pub type ConvictionVoting = pallet_governance;
    #[runtime::pallet_index(45)]
    pub type Treasury = pallet_treasury;
    #[runtime::pallet_index(46)]
    pub type Parameters = pallet_parameters;
    #[runtime::pallet_index(47)]
    pub type Origins = pallet_custom_origins;

    // Payable AI.
    #[runtime::pallet_index(50)]
    pub type Datanets = pallet_datanets;
    #[runtime::pallet_index(51)]
    pub type Models = pallet_models;
    #[runtime::pallet_index(52)]
    pub type Attribution = pallet_attribution;
    #[runtime::pallet_index(53)]
    pub type Inference = pallet_inference;
    #[runtime::pallet_index(54)]
    pub type Agents = pallet_agents;

    // EVM contracts.
    #[runtime::pallet_index(60)]
    pub type Revive = pallet_revive;

    // Ethereum settlement.
    #[runtime::pallet_index(70)]
    pub type Bridge = pallet_bridge;
}
