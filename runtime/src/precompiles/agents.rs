//! `IAgents` ([`AgentsPrecompile`], at [`AGENTS_ADDRESS`]): delegating to agents, unbonding,
//! withdrawing and claiming rewards from an Ethereum wallet or contract, with the caller's own
//! OPEN (its account is the address followed by twelve `0xEE` bytes).
//!
//! The ABI is `runtime/src/precompiles/IAgents.sol`. Each write runs the matching `agents` call
//! as the caller and is charged that call's weight before it runs; the views are charged the
//! reads they make.

use super::{read_of, CALL_REF_TIME};
use crate::{AccountId, Agents, Runtime, RuntimeOrigin};
use alloc::vec::Vec;
use core::{marker::PhantomData, num::NonZero};
use pallet_agents::WeightInfo as _;
use polkadot_sdk::{
    frame_support::traits::Get,
    pallet_revive::precompiles::{
        alloy::{primitives::U256 as AbiU256, sol_types::SolCall},
        AddressMatcher, Error, Ext, Precompile,
    },
    sp_runtime::{DispatchError, Weight},
};
use provena_primitives::agents::AgentWork;

alloy_core::sol!("src/precompiles/IAgents.sol");

/// Where [`AgentsPrecompile`] answers: the fixed precompile slot `0x0D00`.
pub const AGENTS_MATCHER: AddressMatcher = AddressMatcher::Fixed(match NonZero::new(0x0D00) {
    Some(n) => n,
    // Evaluated at compile time: a zero suffix fails the build, never the runtime.
    None => panic!("the suffix is a non-zero constant"),
});

/// `0x000000000000000000000000000000000d000000`, the address of [`AgentsPrecompile`].
pub const AGENTS_ADDRESS: [u8; 20] = AGENTS_MATCHER.base_address();

/// The `IAgents` precompile (see the module docs).
pub struct AgentsPrecompile<T>(PhantomData<T>);

type W = <Runtime as pallet_agents::Config>::WeightInfo;

/// A refused call as a Solidity `Error(string)` revert naming the pallet error.
#[cfg(test)]
fn revert(e: DispatchError) -> Error {
    super::revert_named("Agents", e)
}

fn amount(a: &AbiU256) -> Result<u128, Error> {
    // More than any balance means "all of it" for `undelegate`, and fails for `delegate`.
    Ok(u128::try_from(*a).unwrap_or(u128::MAX))
}

/// Charges `weight` and runs `f` as the caller, unless the call is static.
fn write(
    env: &mut impl Ext<T = Runtime>,
    weight: Weight,
    f: impl FnOnce(RuntimeOrigin, AccountId) -> Result<(), DispatchError>,
) -> Result<Vec<u8>, Error> {
    super::write_as(env, "Agents", weight, f)
}

impl Precompile for AgentsPrecompile<Runtime> {
    type T = Runtime;
    type Interface = IAgents::IAgentsCalls;
    const MATCHER: AddressMatcher = AGENTS_MATCHER;
    const HAS_CONTRACT_INFO: bool = false;

    fn call(
        _address: &[u8; 20],
        input: &Self::Interface,
        env: &mut impl Ext<T = Self::T>,
    ) -> Result<Vec<u8>, Error> {
        use IAgents::IAgentsCalls as C;
        let slashes = W::apply_slashes();
        match input {
            C::delegate(IAgents::delegateCall { agent, amount: a }) => {
                let (agent, a) = (AccountId::new(agent.0), amount(a)?);
                write(env, W::bond().saturating_add(slashes), |o, _| Agents::delegate(o, agent, a))
            }
            C::undelegate(IAgents::undelegateCall { agent, amount: a }) => {
                let (agent, a) = (AccountId::new(agent.0), amount(a)?);
                write(env, W::unbond().saturating_add(slashes), |o, _| {
                    Agents::undelegate(o, agent, a)
                })
            }
            C::withdrawUnbonded(IAgents::withdrawUnbondedCall { agent }) => {
                let agent = AccountId::new(agent.0);
                write(env, W::withdraw_unbonded().saturating_add(slashes), |o, who| {
                    Agents::withdraw_unbonded(o, agent, who)
                })
            }
            C::claimRewards(IAgents::claimRewardsCall { agent }) => {
                let agent = AccountId::new(agent.0);
                write(env, W::claim_rewards(), |o, _| Agents::claim_rewards(o, agent))
            }
            C::delegation(IAgents::delegationCall { agent, member }) => {
                let chunks: u32 = <Runtime as pallet_agents::Config>::MaxUnlockingChunks::get();
                env.charge(
                    read_of::<pallet_agents::Agents<Runtime>>()
                        .saturating_add(read_of::<pallet_agents::Members<Runtime>>())
                        .saturating_add(
                            read_of::<pallet_agents::Unbonding<Runtime>>()
                                .saturating_mul(chunks.into()),
                        )
                        .saturating_add(Weight::from_parts(CALL_REF_TIME, 0)),
                )?;
                let d = Agents::api_delegation(AccountId::new(agent.0), AccountId::new(member.0));
                let (stake, unbonding, rewards) = d
                    .map(|d| {
                        let unbonding =
                            d.unlocking.iter().fold(0u128, |s, u| s.saturating_add(u.value));
                        (d.stake, unbonding, d.pending_rewards)
                    })
                    .unwrap_or_default();
                Ok(IAgents::delegationCall::abi_encode_returns(&IAgents::delegationReturn {
                    stake: AbiU256::from(stake),
                    unbonding: AbiU256::from(unbonding),
                    pendingRewards: AbiU256::from(rewards),
                }))
            }
            C::agentStake(IAgents::agentStakeCall { agent }) => {
                env.charge(
                    read_of::<pallet_agents::Agents<Runtime>>()
                        .saturating_add(Weight::from_parts(CALL_REF_TIME, 0)),
                )?;
                let agent = AccountId::new(agent.0);
                let total = pallet_agents::Agents::<Runtime>::get(&agent)
                    .map(|a| a.active.value)
                    .unwrap_or_default();
                Ok(IAgents::agentStakeCall::abi_encode_returns(&IAgents::agentStakeReturn {
                    active: <Agents as AgentWork<AccountId>>::is_active(&agent, None),
                    totalStake: AbiU256::from(total),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_one_the_solidity_interface_names() {
        assert_eq!(AGENTS_ADDRESS, hex_literal::hex!("000000000000000000000000000000000d000000"));
        let sol = include_str!("IAgents.sol");
        assert!(sol.contains(
            "address constant AGENTS_PRECOMPILE = 0x000000000000000000000000000000000D000000;"
        ));
    }

    #[test]
    fn refusals_name_the_pallet_error_and_amounts_saturate() {
        let e: DispatchError = pallet_agents::Error::<Runtime>::NotActive.into();
        match revert(e) {
            Error::Revert(r) => assert_eq!(r.reason, "Agents: NotActive"),
            other => panic!("not a revert: {other:?}"),
        }
        assert_eq!(amount(&AbiU256::MAX).ok(), Some(u128::MAX));
        assert_eq!(amount(&AbiU256::from(7u8)).ok(), Some(7));
    }
}
