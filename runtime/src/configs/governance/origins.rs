//! The origins referenda dispatch with besides root, one per track (see [`super::tracks`]),
//! and what each may do.
//!
//! | origin | may | wired into |
//! | --- | --- | --- |
//! | `Treasurer` | spend up to [`MAX_TREASURER_SPEND`] per spend from the treasury or a datanet's reward pool | `Treasury::spend`, `Datanets::spend_pool` |
//! | `ParameterAdmin` | change protocol parameters | `Parameters::set_parameter`, `Attribution::set_challenge_window` |
//! | `AdmissionAdmin` | stop an agent (inference operator) serving at once | `Agents::force_chill` |
//! | `DisputeResolver` | resolve attribution challenges; slash agents for faults the chain cannot see (at most 20% of an agent per era) and cancel pending agent slashes | `Attribution::resolve_challenge`, `Agents::{slash, cancel_slash}` |
//!
//! Root may do all of these.

use crate::Balance;
use polkadot_sdk::frame_support::traits::{EnsureOrigin, OriginTrait};
use provena_primitives::currency::OPEN;

pub use pallet_custom_origins::Origin;

/// The most one treasurer-track spend (from the treasury or a reward pool) may pay.
pub const MAX_TREASURER_SPEND: Balance = 1_000_000 * OPEN;

/// A FRAME pallet that only declares the origins, so that they are part of the runtime's
/// `OriginCaller` and referenda can dispatch with them.
// The pallet macros expand to `expect`s on values they construct.
#[allow(clippy::expect_used)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet_custom_origins {
    use polkadot_sdk::frame_support::pallet_prelude::*;

    /// No configuration: the pallet only declares its origin.
    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {}

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The origins of the non-root governance tracks.
    #[derive(
        PartialEq, Eq, Clone, MaxEncodedLen, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug,
    )]
    #[pallet::origin]
    pub enum Origin {
        /// The treasurer track: treasury spends.
        Treasurer,
        /// The parameters track: protocol parameters.
        ParameterAdmin,
        /// The admission track: which agents (inference operators) serve.
        AdmissionAdmin,
        /// The disputes track: attribution challenges.
        DisputeResolver,
    }
}

macro_rules! ensure_origin {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub struct $name;
        impl<O: OriginTrait + From<Origin>> EnsureOrigin<O> for $name
        where
            O: Into<Result<Origin, O>>,
        {
            type Success = ();
            fn try_origin(o: O) -> Result<(), O> {
                match o.into() {
                    Ok(Origin::$name) => Ok(()),
                    Ok(other) => Err(O::from(other)),
                    Err(o) => Err(o),
                }
            }
            #[cfg(feature = "runtime-benchmarks")]
            fn try_successful_origin() -> Result<O, ()> {
                Ok(O::from(Origin::$name))
            }
        }
    )*};
}

ensure_origin! {
    /// Ensures the treasurer track's origin.
    Treasurer,
    /// Ensures the parameters track's origin.
    ParameterAdmin,
    /// Ensures the admission track's origin.
    AdmissionAdmin,
    /// Ensures the disputes track's origin.
    DisputeResolver,
}

/// Ensures the treasurer origin and yields the most it may spend.
pub struct TreasurySpender;
impl<O: OriginTrait + From<Origin>> EnsureOrigin<O> for TreasurySpender
where
    O: Into<Result<Origin, O>>,
{
    type Success = Balance;
    fn try_origin(o: O) -> Result<Balance, O> {
        <Treasurer as EnsureOrigin<O>>::try_origin(o).map(|()| MAX_TREASURER_SPEND)
    }
    #[cfg(feature = "runtime-benchmarks")]
    fn try_successful_origin() -> Result<O, ()> {
        Ok(O::from(Origin::Treasurer))
    }
}
