//! `IGovernance` ([`Governance`], at [`GOVERNANCE_ADDRESS`]): voting and delegating from an
//! Ethereum wallet or contract, with the caller's own OPEN (its account is the address followed
//! by twelve `0xEE` bytes).
//!
//! The ABI is `runtime/src/precompiles/IGovernance.sol`. Each write runs the matching
//! `convictionVoting` call as the caller and is charged that call's weight before it runs;
//! `contributionPower` is charged one read of the account's power history.

use super::read_of;
use crate::{AccountId, ConvictionVoting, Runtime, RuntimeOrigin};
use alloc::vec::Vec;
use core::{marker::PhantomData, num::NonZero};
use pallet_governance::{AccountVote, Conviction, Vote, WeightInfo as _};
use polkadot_sdk::{
    frame_support::traits::Get,
    pallet_revive::precompiles::{
        alloy::{primitives::U256 as AbiU256, sol_types::SolCall},
        AddressMatcher, Error, Ext, Precompile,
    },
    sp_runtime::{DispatchError, Weight},
};

alloy_core::sol!("src/precompiles/IGovernance.sol");

/// Where [`Governance`] answers: the fixed precompile slot `0x0C00`.
pub const GOVERNANCE_MATCHER: AddressMatcher = AddressMatcher::Fixed(match NonZero::new(0x0C00) {
    Some(n) => n,
    // Evaluated at compile time: a zero suffix fails the build, never the runtime.
    None => panic!("the suffix is a non-zero constant"),
});

/// `0x000000000000000000000000000000000c000000`, the address of [`Governance`].
pub const GOVERNANCE_ADDRESS: [u8; 20] = GOVERNANCE_MATCHER.base_address();

/// The `IGovernance` precompile (see the module docs).
pub struct Governance<T>(PhantomData<T>);

type W = <Runtime as pallet_governance::Config>::WeightInfo;

/// A refused call as a Solidity `Error(string)` revert naming the pallet error.
#[cfg(test)]
fn revert(e: DispatchError) -> Error {
    super::revert_named("Governance", e)
}

fn conviction(c: u8) -> Result<Conviction, Error> {
    Conviction::try_from(c).map_err(|_| Error::Revert("Governance: conviction above 6".into()))
}

fn balance(b: &AbiU256) -> Result<u128, Error> {
    u128::try_from(*b).map_err(|_| Error::Revert("Governance: balance exceeds the supply".into()))
}

/// Charges `weight` and runs `f` as the caller, unless the call is static.
fn write(
    env: &mut impl Ext<T = Runtime>,
    weight: Weight,
    f: impl FnOnce(RuntimeOrigin) -> Result<(), DispatchError>,
) -> Result<Vec<u8>, Error> {
    super::write_as(env, "Governance", weight, |o, _| f(o))
}

impl Precompile for Governance<Runtime> {
    type T = Runtime;
    type Interface = IGovernance::IGovernanceCalls;
    const MATCHER: AddressMatcher = GOVERNANCE_MATCHER;
    const HAS_CONTRACT_INFO: bool = false;

    fn call(
        _address: &[u8; 20],
        input: &Self::Interface,
        env: &mut impl Ext<T = Self::T>,
    ) -> Result<Vec<u8>, Error> {
        use IGovernance::IGovernanceCalls as C;
        let max_votes = <Runtime as pallet_governance::Config>::MaxVotes::get();
        match input {
            C::vote(IGovernance::voteCall { referendum, aye, conviction: c, balance: b }) => {
                let vote = AccountVote::Standard {
                    vote: Vote { aye: *aye, conviction: conviction(*c)? },
                    balance: balance(b)?,
                };
                let weight = W::vote_new().max(W::vote_existing());
                write(env, weight, |o| ConvictionVoting::vote(o, *referendum, vote))
            }
            C::removeVote(IGovernance::removeVoteCall { track, referendum }) => {
                write(env, W::remove_vote(), |o| {
                    ConvictionVoting::remove_vote(o, Some(*track), *referendum)
                })
            }
            C::delegate(IGovernance::delegateCall { track, to, conviction: c, balance: b }) => {
                let (c, b) = (conviction(*c)?, balance(b)?);
                let to = AccountId::new(to.0);
                write(env, W::delegate(max_votes), |o| {
                    ConvictionVoting::delegate(o, *track, to.into(), c, b)
                        .map(|_| ())
                        .map_err(|e| e.error)
                })
            }
            C::undelegate(IGovernance::undelegateCall { track }) => {
                write(env, W::undelegate(max_votes), |o| {
                    ConvictionVoting::undelegate(o, *track).map(|_| ()).map_err(|e| e.error)
                })
            }
            C::unlock(IGovernance::unlockCall { track }) => write(env, W::unlock(), |o| {
                let who = polkadot_sdk::frame_system::ensure_signed(o.clone())?;
                ConvictionVoting::unlock(o, *track, who.into())
            }),
            C::contributionPower(IGovernance::contributionPowerCall { who }) => {
                env.charge(
                    read_of::<pallet_governance::PowerHistory<Runtime>>()
                        .saturating_add(Weight::from_parts(super::CALL_REF_TIME, 0)),
                )?;
                let power = ConvictionVoting::power(&AccountId::new(who.0));
                Ok(IGovernance::contributionPowerCall::abi_encode_returns(&AbiU256::from(power)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_one_the_solidity_interface_names() {
        assert_eq!(
            GOVERNANCE_ADDRESS,
            hex_literal::hex!("000000000000000000000000000000000c000000")
        );
        let sol = include_str!("IGovernance.sol");
        assert!(sol.contains(
            "address constant GOVERNANCE_PRECOMPILE = 0x000000000000000000000000000000000c000000;"
        ));
    }

    #[test]
    fn refusals_name_the_pallet_error_and_bad_arguments() {
        let e: DispatchError = pallet_governance::Error::<Runtime>::NotOngoing.into();
        match revert(e) {
            Error::Revert(r) => assert_eq!(r.reason, "Governance: NotOngoing"),
            other => panic!("not a revert: {other:?}"),
        }
        assert!(matches!(conviction(7), Err(Error::Revert(_))));
        assert!(matches!(conviction(6), Ok(Conviction::Locked6x)));
        assert!(matches!(balance(&AbiU256::MAX), Err(Error::Revert(_))));
    }
}
