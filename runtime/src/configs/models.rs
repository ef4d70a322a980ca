//! Models: the model registry and model tokens on bonding curves (Initial AI Offering).
//!
//! ## The curve every token launches on
//!
//! 1,000,000,000 tokens (18 decimals); 800,000,000 sold on the curve; virtual reserves of
//! 10,000 OPEN and 1,073,000,000 tokens, so the first token costs about 9.3 µOPEN. The curve
//! graduates when its reserve reaches 25,000 OPEN (about 760 million tokens sold); selling out
//! would take about 29,300 OPEN, so graduation always comes first. At graduation the curve
//! becomes a constant-product pool of its 25,000 OPEN reserve against about 219 million of the
//! 234 million tokens never sold (the curve's last price), which nobody owns and nobody can
//! withdraw: holders always have an exit. A 1% trading fee goes to the treasury.

use crate::{Balance, Balances, Datanets, Runtime, RuntimeEvent, RuntimeHoldReason};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{ConstU16, ConstU32},
        PalletId,
    },
    sp_runtime::traits::AccountIdConversion,
};
use provena_primitives::{
    bonding_curve::{CurveParams, TOKEN_UNIT},
    currency::{deposit, MILLI_OPEN, OPEN},
    AccountId,
};

parameter_types! {
    /// Token accounts are sub-accounts of this id.
    pub const ModelsPalletId: PalletId = PalletId(*b"prv/modl");
    /// An owner's deposit per model: one record of up to ~1.5 KiB.
    pub const ModelDeposit: Balance = deposit(1, 1_536);
    /// The curve of every token launched under this runtime (see the module docs).
    pub const Curve: CurveParams = CurveParams {
        total_supply: 1_000_000_000 * TOKEN_UNIT,
        curve_supply: 800_000_000 * TOKEN_UNIT,
        virtual_native: 10_000 * OPEN,
        virtual_tokens: 1_073_000_000 * TOKEN_UNIT,
        graduation_reserve: 25_000 * OPEN,
    };
    /// Trades move at least 0.01 OPEN (ten existential deposits).
    pub const MinTradeValue: Balance = 10 * MILLI_OPEN;
    /// No holding is left with fewer than 100 tokens (but some): at the launch price that is
    /// about 0.93 mOPEN, about one existential deposit, so each stored holding is worth keeping.
    pub const MinHolding: Balance = 100 * TOKEN_UNIT;
    /// Trading fees go to the treasury bucket of the genesis allocation.
    pub TreasuryAccount: AccountId = PalletId(*b"prv/trsy").into_account_truncating();
}

impl pallet_models::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Datanets = Datanets;
    type PalletId = ModelsPalletId;
    type ModelDeposit = ModelDeposit;
    type Curve = Curve;
    // 1% of each trade's curve amount unless the parameters track changes it.
    type TradingFee = super::governance::parameters::dynamic_params::models::TradingFee;
    type FeeDestination = TreasuryAccount;
    type MinTradeValue = MinTradeValue;
    type MaxTrainedOn = ConstU32<16>;
    type MaxTargetModules = ConstU32<16>;
    type MaxModuleNameLen = ConstU32<64>;
    type MaxAdapterRank = ConstU16<1_024>;
    type MaxUriLen = ConstU32<256>;
    type MinHolding = MinHolding;
    // Attribution's stored receipts keep their model stored.
    type Usage = crate::Attribution;
    // Commitments to weights hashes are made in the datanets pallet.
    type Commitments = Datanets;
    type WeightInfo = pallet_models::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = SnapshotsForBenchmarks;
}

/// Creates real datanet snapshots for the models benchmarks: `n` private datanets of `who`,
/// each with one accepted contribution in its snapshot 1.
#[cfg(feature = "runtime-benchmarks")]
pub struct SnapshotsForBenchmarks;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_models::BenchmarkHelper<AccountId> for SnapshotsForBenchmarks {
    fn usable_snapshots(
        who: &AccountId,
        n: u32,
    ) -> alloc::vec::Vec<provena_primitives::models::TrainedOn> {
        use super::datanets::benchmark_datanet;
        // The worst case: every snapshot from a different private datanet (each access is
        // checked, and each datanet counts the model as a user).
        (0..n)
            .map(|_| {
                let (datanet, _) =
                    benchmark_datanet(who, provena_primitives::datanets::Visibility::Private, 1);
                (datanet, 1)
            })
            .collect()
    }

    fn commit(
        who: &AccountId,
        hash: provena_primitives::ContentHash,
        salt: provena_primitives::ContentHash,
    ) {
        let commitment = provena_primitives::commit::commitment(&hash, who, &salt);
        super::datanets::bench_ok(Datanets::commit(
            crate::RuntimeOrigin::signed(who.clone()),
            commitment,
        ));
    }
}
