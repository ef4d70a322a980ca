//! `frame_system`: block limits, account data, SS58 prefix.

use crate::{
    AccountId, Block, Hash, Nonce, PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeOrigin,
    RuntimeTask, VERSION,
};
use polkadot_sdk::{
    frame_support::{
        derive_impl,
        dispatch::DispatchClass,
        parameter_types,
        traits::{ConstU32, Everything},
        weights::{
            constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
            Weight,
        },
    },
    frame_system::{
        self,
        limits::{BlockLength, BlockWeights},
    },
    pallet_balances,
    sp_runtime::{traits::AccountIdLookup, Perbill},
    sp_version::RuntimeVersion,
};

/// Normal transactions may fill 75% of a block; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
/// Two seconds of compute per six-second block leaves time to gossip and import the block.
/// A solochain has no proof-of-validity limit, so proof size is unbounded.
const MAXIMUM_BLOCK_WEIGHT: Weight =
    Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2), u64::MAX);
/// Blocks are at most 5 MiB.
const MAXIMUM_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
    /// The runtime version, exposed to `frame_system` for `CheckSpecVersion` and upgrades.
    pub const Version: RuntimeVersion = VERSION;
    /// Block weight limits per dispatch class: the standard base block and base extrinsic
    /// weights, 5% of the block expected for `on_initialize` hooks.
    pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
        MAXIMUM_BLOCK_WEIGHT,
        NORMAL_DISPATCH_RATIO,
    );
    /// Block length limits per dispatch class.
    pub RuntimeBlockLength: BlockLength =
        BlockLength::builder()
            .max_length(MAXIMUM_BLOCK_LENGTH)
            .modify_max_length_for_class(DispatchClass::Normal, |max| {
                *max = NORMAL_DISPATCH_RATIO.mul_floor(*max)
            })
            .build();
    /// The SS58 prefix of Provena addresses.
    pub const SS58Prefix: u16 = provena_primitives::SS58_PREFIX;
    /// Hashes of the last 2400 blocks (four hours) are kept for mortal transactions.
    pub const BlockHashCount: u32 = 2400;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type SystemWeightInfo = crate::weights::frame_system::WeightInfo<Runtime>;
    type Block = Block;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountId = AccountId;
    type Nonce = Nonce;
    type Hash = Hash;
    type Lookup = AccountIdLookup<AccountId, ()>;
    type RuntimeEvent = RuntimeEvent;
    type RuntimeOrigin = RuntimeOrigin;
    type RuntimeCall = RuntimeCall;
    type RuntimeTask = RuntimeTask;
    type PalletInfo = PalletInfo;
    type BaseCallFilter = Everything;
    type BlockHashCount = BlockHashCount;
    /// The node stores state in ParityDb only, so weights use its read and write costs
    /// (polkadot-sdk's defaults: 8 µs a read, 50 µs a write).
    type DbWeight = ParityDbWeight;
    type Version = Version;
    type AccountData = pallet_balances::AccountData<crate::Balance>;
    type SS58Prefix = SS58Prefix;
    type MaxConsumers = ConstU32<16>;
    // Every new native account gets its Ethereum address mapping (see `revive`), and loses it
    // when reaped.
    type OnNewAccount = polkadot_sdk::pallet_revive::AutoMapper<Runtime>;
    type OnKilledAccount = polkadot_sdk::pallet_revive::AutoMapper<Runtime>;
}
