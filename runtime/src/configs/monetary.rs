//! Balances (the OPEN token) and transaction fees.
//!
//! ## Fees
//!
//! A transaction pays `base + length_fee + weight_fee`, all in OPEN:
//! - weight: one second of reference compute costs 1 OPEN, so a transfer (about 0.2 ms
//!   including the base extrinsic weight) costs about 0.0002 OPEN;
//! - length: 1 micro-OPEN per encoded byte.
//!
//! The fee multiplier is constant (1): blocks on this chain are far from full, and a constant
//! price keeps fees predictable for inference users. Transaction fees are burned (the
//! withdrawn credit is dropped); inference fees are a separate flow, split by Proof of
//! Attribution.

use crate::{Balance, Balances, Runtime, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{ConstU32, ConstU8},
        weights::{constants::WEIGHT_REF_TIME_PER_SECOND, ConstantMultiplier},
    },
    pallet_balances,
    pallet_revive::evm::fees::BlockRatioFee,
    pallet_transaction_payment::{self, ConstFeeMultiplier, FungibleAdapter, Multiplier},
    sp_runtime::traits::One,
};
use provena_primitives::currency::{MICRO_OPEN, MILLI_OPEN, OPEN};

/// 1 OPEN per second of reference compute (10^12 ref-time units): 10^6 base units per unit.
const FEE_PER_REF_TIME: Balance = OPEN / (WEIGHT_REF_TIME_PER_SECOND as Balance);

parameter_types! {
    /// An account holding less than 0.001 OPEN is reaped. Keeps dust accounts from bloating state.
    pub const ExistentialDeposit: Balance = MILLI_OPEN;
    /// Price of one unit of ref time (a picosecond of reference compute): 1 OPEN per second.
    pub const FeePerRefTime: Balance = FEE_PER_REF_TIME;
    /// Price of one encoded byte of a transaction.
    pub const TransactionByteFee: Balance = MICRO_OPEN;
    /// The fee multiplier never moves (see the module docs).
    pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_balances::Config for Runtime {
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ConstU32<50>;
    type ReserveIdentifier = [u8; 8];
    type Balance = Balance;
    type RuntimeEvent = RuntimeEvent;
    // Dust from reaped accounts is burned.
    type DustRemoval = ();
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = crate::System;
    type WeightInfo = crate::weights::pallet_balances::WeightInfo<Runtime>;
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxFreezes = polkadot_sdk::frame_support::traits::VariantCountOf<RuntimeFreezeReason>;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type DoneSlashHandler = ();
}

impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    // Operational transactions (e.g. GRANDPA reports, sudo fixes) get priority at 5x the fee.
    type OperationalFeeMultiplier = ConstU8<5>;
    // `pallet_revive` derives gas from fees and needs this form: `FEE_PER_REF_TIME` per unit
    // of ref time, or proof size priced at the same share of the block limit if larger. The
    // block's proof-size limit is unbounded on this solochain, so proof size never dominates and
    // the fee is ref time × `FEE_PER_REF_TIME`, as before.
    type WeightToFee = BlockRatioFee<FEE_PER_REF_TIME, 1, Runtime, Balance>;
    type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}
