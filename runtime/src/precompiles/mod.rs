//! Precompiles: Provena's own features as contracts at fixed addresses, callable from EVM
//! contracts and by `eth_call`.
//!
//! ## `IProvena` ([`Provena`], at [`PROVENA_ADDRESS`])
//!
//! The ABI is the Solidity interface in `runtime/src/precompiles/IProvena.sol` (the same file
//! generates the Rust types here, so the two cannot drift apart). Contracts import that file.
//!
//! | function | reads |
//! | --- | --- |
//! | `datanet(uint32)` | a datanet's owner, name, visibility, counters and stake |
//! | `contributionStatus(uint64)` | a contribution's status, quality, datanet and contributor |
//! | `modelPrice(uint64)` | whether a model exists and is active, and its price per 1k tokens |
//! | `prepaidVoucher(address, bytes32)` | a user's open prepaid voucher |
//!
//! | function | writes |
//! | --- | --- |
//! | `prepayVoucher(...)` | prepays an inference voucher from the calling contract (its max fee held) |
//! | `releaseVoucher(bytes32)` | releases the caller's expired prepaid voucher |
//!
//! Unknown ids are not errors: `exists` is false (status 0) and every other field is zero, so a
//! contract can branch on them. A read is charged, before it runs, one database read of each
//! storage entry it touches (named below) and, as proof size, each entry's largest encoded size
//! plus the trie's overhead, the way the generated weights estimate a map read (see
//! [`read_of`]); writes the weight of the matching `pallet_attribution` call.
//!
//! | function | storage read |
//! | --- | --- |
//! | `datanet` | `Datanets::Datanets`, `Datanets::Accepted` (its length) |
//! | `contributionStatus` | `Datanets::Contributions` |
//! | `modelPrice` | `Models::Models` |
//! | `prepaidVoucher` | `Attribution::PrepaidVouchers` |
//!
//! Writes revert in a static call, and a refused write reverts with `Provena: <error name>` (Solidity `Error(string)`), so callers can
//! `try`/`catch` it.
//!
//! ## `IGovernance` ([`governance::Governance`], at [`governance::GOVERNANCE_ADDRESS`])
//!
//! Votes, delegations and unlocks on referenda from an Ethereum wallet or contract (see
//! [`governance`]).
//!
//! ## `IAgents` ([`agents::AgentsPrecompile`], at [`agents::AGENTS_ADDRESS`])
//!
//! Delegating to agents, unbonding, withdrawing and claiming their rewards from an Ethereum
//! wallet or contract (see [`agents`]).
//!
//! ## Paying for inference from a contract
//!
//! A contract cannot sign a voucher, so it prepays one: `prepayVoucher` holds the max fee from
//! the contract's own balance (`pallet_attribution::Pallet::prepay_voucher` with the contract's
//! account as the user). The operator serves the request and names the voucher in its receipt;
//! the chain charges the fee from the contract and splits it among contributors, model and
//! operator exactly as for a signed voucher.

use crate::{AccountId, Attribution, Datanets, Runtime};
use alloc::vec::Vec;
use core::{marker::PhantomData, num::NonZero};
use pallet_attribution::WeightInfo as _;
use polkadot_sdk::{
    frame_support::traits::StorageInfoTrait,
    pallet_revive::precompiles::{
        alloy::{
            primitives::{FixedBytes, U256 as AbiU256},
            sol_types::SolCall,
        },
        AddressMatcher, Error, Ext, Precompile,
    },
    sp_core::H256,
    sp_runtime::{DispatchError, Weight},
};
use provena_primitives::attribution::Voucher;
use provena_primitives::{
    datanets::ContributionStatus, datanets::Visibility, models::ModelStatus, ContributionId,
    ModelId,
};

pub mod agents;
pub mod governance;

pub use agents::{AgentsPrecompile, AGENTS_ADDRESS};
pub use governance::{Governance, GOVERNANCE_ADDRESS};

alloy_core::sol!("src/precompiles/IProvena.sol");

/// Where [`Provena`] answers: the fixed precompile slot `0x0B00`.
pub const PROVENA_MATCHER: AddressMatcher = AddressMatcher::Fixed(match NonZero::new(0x0B00) {
    Some(n) => n,
    // Evaluated at compile time: a zero suffix fails the build, never the runtime.
    None => panic!("the suffix is a non-zero constant"),
});

/// `0x000000000000000000000000000000000b000000`, the address of [`Provena`].
pub const PROVENA_ADDRESS: [u8; 20] = PROVENA_MATCHER.base_address();

/// Reference time charged per call on top of the storage reads: ABI decoding and encoding of at
/// most a few hundred bytes.
pub(crate) const CALL_REF_TIME: u64 = 5_000_000;

/// The `IProvena` precompile (see the module docs).
pub struct Provena<T>(PhantomData<T>);

fn account_bytes(who: &AccountId) -> FixedBytes<32> {
    let raw: &[u8; 32] = who.as_ref();
    FixedBytes(*raw)
}

/// A refused call as a Solidity `Error(string)` revert, `<precompile>: <pallet error name>`.
pub(crate) fn revert_named(precompile: &str, e: DispatchError) -> Error {
    let name: &'static str = e.into();
    Error::Revert(alloc::format!("{precompile}: {name}").as_str().into())
}

/// A refused write of `IProvena` (see [`revert_named`]).
fn revert(e: DispatchError) -> Error {
    revert_named("Provena", e)
}

/// Charges `weight`, then runs `f` with the caller's signed origin and account, unless the call
/// is static; a refusal reverts naming `precompile` and the pallet error.
pub(crate) fn write_as(
    env: &mut impl Ext<T = Runtime>,
    precompile: &str,
    weight: Weight,
    f: impl FnOnce(crate::RuntimeOrigin, AccountId) -> Result<(), DispatchError>,
) -> Result<Vec<u8>, Error> {
    ensure_writable(env)?;
    env.charge(weight)?;
    let who = caller(env)?;
    f(crate::RuntimeOrigin::signed(who.clone()), who).map_err(|e| revert_named(precompile, e))?;
    Ok(Vec::new())
}

/// Writes are refused in a static call (`eth_call` and `STATICCALL`).
pub(crate) fn ensure_writable(env: &mut impl Ext<T = Runtime>) -> Result<(), Error> {
    if env.is_read_only() {
        return Err(Error::Error(
            polkadot_sdk::pallet_revive::Error::<Runtime>::StateChangeDenied.into(),
        ));
    }
    Ok(())
}

/// The account of the contract (or account) calling the precompile.
pub(crate) fn caller(env: &mut impl Ext<T = Runtime>) -> Result<AccountId, Error> {
    Ok(env.caller().account_id()?.clone())
}

/// The weight of reading one entry of the storage item `S`: a database read, and as proof size
/// its largest entry plus the trie's overhead ([`pallet_attribution::Pallet::read_weight`]).
pub fn read_of<S: StorageInfoTrait>() -> Weight {
    Attribution::read_weight::<S>()
}

/// Charges `reads` (see [`read_of`]) and the call's ABI work, before anything is read.
fn charge_reads(env: &mut impl Ext<T = Runtime>, reads: Weight) -> Result<(), Error> {
    env.charge(reads.saturating_add(Weight::from_parts(CALL_REF_TIME, 0)))?;
    Ok(())
}

/// What `datanet(uint32)` reads: the datanet and the length of its accepted list.
fn datanet_view(id: u32) -> Option<(pallet_datanets::Datanet<Runtime>, u32)> {
    let d = pallet_datanets::Datanets::<Runtime>::get(id)?;
    let accepted = pallet_datanets::Accepted::<Runtime>::decode_len(id).unwrap_or(0);
    Some((d, u32::try_from(accepted).unwrap_or(u32::MAX)))
}

impl Precompile for Provena<Runtime> {
    type T = Runtime;
    type Interface = IProvena::IProvenaCalls;
    const MATCHER: AddressMatcher = PROVENA_MATCHER;
    const HAS_CONTRACT_INFO: bool = false;

    fn call(
        _address: &[u8; 20],
        input: &Self::Interface,
        env: &mut impl Ext<T = Self::T>,
    ) -> Result<Vec<u8>, Error> {
        use IProvena::IProvenaCalls;
        match input {
            IProvenaCalls::datanet(IProvena::datanetCall { id }) => {
                charge_reads(
                    env,
                    read_of::<pallet_datanets::Datanets<Runtime>>()
                        .saturating_add(read_of::<pallet_datanets::Accepted<Runtime>>()),
                )?;
                let out = match datanet_view(*id) {
                    Some((d, accepted)) => IProvena::Datanet {
                        exists: true,
                        owner: account_bytes(&d.owner),
                        name: alloc::string::String::from_utf8_lossy(&d.name).into_owned(),
                        isPublic: d.visibility == Visibility::Public,
                        open: d.status == pallet_datanets::DatanetStatus::Open,
                        contributionCount: d.contribution_count,
                        acceptedCount: accepted,
                        snapshotCount: d.snapshot_count,
                        contributionStake: AbiU256::from(d.contribution_stake),
                    },
                    None => IProvena::Datanet {
                        exists: false,
                        owner: FixedBytes::ZERO,
                        name: alloc::string::String::new(),
                        isPublic: false,
                        open: false,
                        contributionCount: 0,
                        acceptedCount: 0,
                        snapshotCount: 0,
                        contributionStake: AbiU256::ZERO,
                    },
                };
                Ok(IProvena::datanetCall::abi_encode_returns(&out))
            }
            IProvenaCalls::contributionStatus(IProvena::contributionStatusCall { id }) => {
                charge_reads(env, read_of::<pallet_datanets::Contributions<Runtime>>())?;
                let out = match Datanets::api_contribution(ContributionId(*id)) {
                    Some(c) => {
                        let (status, quality) = match c.status {
                            ContributionStatus::Pending => (1u8, 0u8),
                            ContributionStatus::Accepted { quality } => (2, quality),
                            ContributionStatus::Rejected => (3, 0),
                            ContributionStatus::Slashed => (4, 0),
                            ContributionStatus::Withdrawn => (5, 0),
                        };
                        IProvena::contributionStatusReturn {
                            status,
                            quality,
                            datanetId: c.datanet,
                            contributor: account_bytes(&c.contributor),
                        }
                    }
                    None => IProvena::contributionStatusReturn {
                        status: 0,
                        quality: 0,
                        datanetId: 0,
                        contributor: FixedBytes::ZERO,
                    },
                };
                Ok(IProvena::contributionStatusCall::abi_encode_returns(&out))
            }
            IProvenaCalls::modelPrice(IProvena::modelPriceCall { id }) => {
                charge_reads(env, read_of::<pallet_models::Models<Runtime>>())?;
                let out = match pallet_models::Models::<Runtime>::get(ModelId(*id)) {
                    Some(m) => IProvena::modelPriceReturn {
                        exists: true,
                        active: m.status == ModelStatus::Active,
                        pricePer1kTokens: AbiU256::from(m.price_per_1k_tokens),
                    },
                    None => IProvena::modelPriceReturn {
                        exists: false,
                        active: false,
                        pricePer1kTokens: AbiU256::ZERO,
                    },
                };
                Ok(IProvena::modelPriceCall::abi_encode_returns(&out))
            }
            IProvenaCalls::prepaidVoucher(IProvena::prepaidVoucherCall { user, requestId }) => {
                charge_reads(env, read_of::<pallet_attribution::PrepaidVouchers<Runtime>>())?;
                let who = env.to_account_id(&polkadot_sdk::sp_core::H160(user.0 .0));
                let out = match pallet_attribution::PrepaidVouchers::<Runtime>::get(
                    &who,
                    H256(requestId.0),
                ) {
                    Some(v) => IProvena::prepaidVoucherReturn {
                        exists: true,
                        model: v.model.get(),
                        maxFee: AbiU256::from(v.max_fee),
                        expiresAt: v.expires_at,
                    },
                    None => IProvena::prepaidVoucherReturn {
                        exists: false,
                        model: 0,
                        maxFee: AbiU256::ZERO,
                        expiresAt: 0,
                    },
                };
                Ok(IProvena::prepaidVoucherCall::abi_encode_returns(&out))
            }
            IProvenaCalls::prepayVoucher(IProvena::prepayVoucherCall {
                requestId,
                model,
                maxFee,
                operator,
                expiresAt,
            }) => {
                ensure_writable(env)?;
                env.charge(<Runtime as pallet_attribution::Config>::WeightInfo::prepay_voucher())?;
                let user = caller(env)?;
                let max_fee = u128::try_from(*maxFee).map_err(|_| {
                    Error::Revert("Provena: maxFee exceeds the total supply".into())
                })?;
                let voucher = Voucher {
                    request_id: H256(requestId.0),
                    model: ModelId(*model),
                    max_fee,
                    operator: AccountId::new(operator.0),
                    expires_at: *expiresAt,
                };
                Attribution::do_prepay_voucher(user, voucher).map_err(revert)?;
                Ok(Vec::new())
            }
            IProvenaCalls::releaseVoucher(IProvena::releaseVoucherCall { requestId }) => {
                ensure_writable(env)?;
                env.charge(<Runtime as pallet_attribution::Config>::WeightInfo::release_voucher())?;
                let user = caller(env)?;
                Attribution::do_release_voucher(user, H256(requestId.0)).map_err(revert)?;
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_one_the_solidity_interface_names() {
        assert_eq!(PROVENA_ADDRESS, hex_literal::hex!("000000000000000000000000000000000b000000"));
        let sol = include_str!("IProvena.sol");
        assert!(sol.contains(
            "address constant PROVENA_PRECOMPILE = 0x000000000000000000000000000000000B000000;"
        ));
    }

    /// Issue 17, point 11: `datanet()` was charged one read and no proof size, but read three
    /// entries, one of them a list of up to 2,000 ids. Now it reads exactly the two it is
    /// charged for, and their proof fits in what it is charged.
    #[test]
    #[allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    fn a_read_is_charged_for_the_entries_it_reads_and_reads_no_other() {
        use crate::{configs::ExistentialDeposit, currency::OPEN, Balances, RuntimeOrigin};
        use codec::Encode;
        use polkadot_sdk::{
            frame_support::{
                traits::{fungible::Mutate, Get},
                BoundedVec,
            },
            sp_io::TestExternalities,
            sp_keyring::Sr25519Keyring,
        };
        let most = <Runtime as pallet_datanets::Config>::MaxAcceptedPerDatanet::get();
        // A value `datanet()` does not need: it must not be in the proof.
        let marker: u128 = 0x5eed_1234_5678_9abc_def0_1234_5678_5eed;
        let mut ext = TestExternalities::new_empty();
        ext.execute_with(|| {
            let alice = Sr25519Keyring::Alice.to_account_id();
            Balances::mint_into(&alice, 1_000 * OPEN + ExistentialDeposit::get()).unwrap();
            Datanets::create_datanet(
                RuntimeOrigin::signed(alice),
                b"docs".to_vec(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Visibility::Public,
                OPEN,
                1_000,
            )
            .unwrap();
            let full: BoundedVec<ContributionId, _> =
                (0..u64::from(most)).map(ContributionId).collect::<Vec<_>>().try_into().unwrap();
            pallet_datanets::Accepted::<Runtime>::insert(0, full);
            pallet_datanets::RewardPools::<Runtime>::insert(0, marker);
        });
        ext.commit_all().unwrap();
        let (view, proof) = ext.execute_and_prove(|| datanet_view(0));
        assert_eq!(view.map(|(_, accepted)| accepted), Some(most));
        let charged = read_of::<pallet_datanets::Datanets<Runtime>>()
            .saturating_add(read_of::<pallet_datanets::Accepted<Runtime>>());
        let proved = proof.encoded_size() as u64;
        assert!(proved > 8 * u64::from(most), "the whole list is proved: {proved} bytes");
        assert!(proved <= charged.proof_size(), "{proved} proved, {charged:?} charged");
        let needle = marker.encode();
        assert!(
            !proof.into_iter_nodes().any(|n| n.windows(needle.len()).any(|w| w == needle)),
            "the reward pool is not read"
        );
    }

    #[test]
    fn refusals_name_the_pallet_error() {
        let e: DispatchError = pallet_attribution::Error::<Runtime>::NotOperator.into();
        match revert(e) {
            Error::Revert(r) => assert_eq!(r.reason, "Provena: NotOperator"),
            other => panic!("not a revert: {other:?}"),
        }
    }
}
