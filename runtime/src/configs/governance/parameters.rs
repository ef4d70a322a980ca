//! Protocol parameters that the parameters track changes (`Parameters::set_parameter`), with
//! their defaults:
//!
//! | parameter | default | read by |
//! | --- | --- | --- |
//! | `Attribution.FeeShares` | 5% treasury, 15% operator, 30% model, 50% contributors | the fee split of every receipt |
//! | `Models.TradingFee` | 1% | every bonding-curve trade |
//! | `Governance.ContributionPowerRatio` | 10% | power per unit of an accepted contribution's stake × quality |
//! | `Governance.EarningsPowerRatio` | 100% | power per unit of rewards paid to their earner |
//! | `Bridge.Guardian` | none (the all-zero account) | the account that may pause the bridge (root only sets it) |
//!
//! A split whose shares do not sum to exactly 100% is never used: attribution keeps the default
//! split until a complete one is set. A stake comes back after its lock-up and can be staked
//! again, so an accepted contribution counts a tenth of its stake by default; earnings are fees
//! somebody paid, of which self-dealing loses at least the treasury's share.

use crate::{Runtime, RuntimeOrigin};
use polkadot_sdk::{
    frame_support::{
        dynamic_params::{dynamic_pallet_params, dynamic_params},
        traits::{EnsureOriginWithArg, Get},
    },
    frame_system, pallet_parameters,
    sp_runtime::Permill,
};
use provena_primitives::attribution::SplitShares;

/// The fee split before governance changes it.
pub const DEFAULT_SHARES: SplitShares = SplitShares {
    treasury: Permill::from_percent(5),
    operator: Permill::from_percent(15),
    model: Permill::from_percent(30),
    contributors: Permill::from_percent(50),
};

#[dynamic_params(RuntimeParameters, pallet_parameters::Parameters::<Runtime>)]
pub mod dynamic_params {
    use super::*;

    /// Attribution's parameters.
    #[dynamic_pallet_params]
    #[codec(index = 0)]
    pub mod attribution {
        /// How every inference fee is split.
        #[codec(index = 0)]
        pub static FeeShares: SplitShares = DEFAULT_SHARES;
    }

    /// The models pallet's parameters.
    #[dynamic_pallet_params]
    #[codec(index = 1)]
    pub mod models {
        /// The fee on each bonding-curve trade.
        #[codec(index = 0)]
        pub static TradingFee: Permill = Permill::from_percent(1);
    }

    /// Governance's parameters.
    #[dynamic_pallet_params]
    #[codec(index = 2)]
    pub mod governance {
        /// Contribution power per unit of an accepted contribution's stake × quality.
        #[codec(index = 0)]
        pub static ContributionPowerRatio: Permill = Permill::from_percent(10);
        /// Contribution power per unit of rewards paid to their earner.
        #[codec(index = 1)]
        pub static EarningsPowerRatio: Permill = Permill::from_percent(100);
    }

    /// The bridge's parameters.
    #[dynamic_pallet_params]
    #[codec(index = 3)]
    pub mod bridge {
        /// The account (its 32-byte id) that may pause (and resume) the bridge at once; it
        /// cannot sign or move anything. Only root sets it. All zeros (no one's key): none.
        #[codec(index = 0)]
        pub static Guardian: [u8; 32] = [0u8; 32];
    }
}

pub use dynamic_params::*;

#[cfg(feature = "runtime-benchmarks")]
impl Default for RuntimeParameters {
    fn default() -> Self {
        RuntimeParameters::Models(dynamic_params::models::Parameters::TradingFee(
            dynamic_params::models::TradingFee,
            Some(Permill::from_percent(1)),
        ))
    }
}

/// The fee split attribution uses: the governed one if it is complete, the default otherwise.
pub struct Shares;
impl Get<SplitShares> for Shares {
    fn get() -> SplitShares {
        let shares = dynamic_params::attribution::FeeShares::get();
        if shares.is_complete() {
            shares
        } else {
            DEFAULT_SHARES
        }
    }
}

/// Who may set which parameter: root any; the parameters track's origin any but the bridge's
/// (who may pause the bridge is a root matter).
pub struct ParameterOrigin;
impl EnsureOriginWithArg<RuntimeOrigin, RuntimeParametersKey> for ParameterOrigin {
    type Success = ();

    fn try_origin(
        origin: RuntimeOrigin,
        key: &RuntimeParametersKey,
    ) -> Result<Self::Success, RuntimeOrigin> {
        use polkadot_sdk::frame_support::traits::EnsureOrigin;
        if frame_system::ensure_root(origin.clone()).is_ok() {
            return Ok(());
        }
        if matches!(key, RuntimeParametersKey::Bridge(_)) {
            return Err(origin);
        }
        super::origins::ParameterAdmin::try_origin(origin)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn try_successful_origin(_key: &RuntimeParametersKey) -> Result<RuntimeOrigin, ()> {
        Ok(RuntimeOrigin::root())
    }
}

impl pallet_parameters::Config for Runtime {
    type RuntimeEvent = crate::RuntimeEvent;
    type RuntimeParameters = RuntimeParameters;
    type AdminOrigin = ParameterOrigin;
    // The pallet's reference weights (one read and one write of a parameter).
    type WeightInfo = crate::weights::pallet_parameters::WeightInfo<Runtime>;
}
