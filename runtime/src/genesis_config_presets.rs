//! Genesis presets and the genesis allocation of OPEN.
//!
//! ## Genesis allocation
//!
//! Exactly 1,000,000,000 OPEN ([`GENESIS_SUPPLY`], 10^27 base units) exist at genesis. They are
//! allocated by [`ALLOCATION`]:
//!
//! | bucket | share | OPEN | account |
//! | --- | --- | --- | --- |
//! | Community pool (contributor rewards, grants, airdrops) | 51% | 510,000,000 | `modlprv/comm` |
//! | Investors | 18% | 180,000,000 | `modlprv/invs` |
//! | Team | 15% | 150,000,000 | `modlprv/team` |
//! | Ecosystem fund | 10% | 100,000,000 | `modlprv/ecos` |
//! | Liquidity | 5% | 50,000,000 | `modlprv/liqd` |
//! | Treasury | 1% | 10,000,000 | `modlprv/trsy` |
//!
//! Each bucket is a keyless account derived from a [`PalletId`], so no private key controls it:
//! funds leave only through root (a root referendum; Sudo on the development chain) or, for the
//! treasury bucket, a treasurer-track spend. Development and local presets
//! additionally fund the twelve well-known development accounts (Alice, Bob, ... and their
//! `//stash` accounts) and the five well-known Ethereum development accounts ([`DEV_ETH_ACCOUNTS`])
//! with [`DEV_ENDOWMENT`] each, taken out of the ecosystem fund so that the total stays exactly
//! [`GENESIS_SUPPLY`]. The contracts pallet's own account is given its existential deposit out of
//! the same fund (otherwise `pallet_revive` would mint it at genesis), and so are the datanets
//! pallet's account, which keeps the reward pools (so paying out one pool never has to take the
//! account below its existential deposit), and the agents pallet's, which keeps stakers' unpaid
//! rewards (so a reward below the existential deposit can always be paid into it).

use crate::{
    configs::{
        tracks::DEV_TIMESCALE, MaxActiveValidators, MaxCandidates, MaxNominatorAccounts,
        MinNominatorBond, MinValidatorBond, SlashRewardFraction,
    },
    opaque::{AuraId, GrandpaId, SessionKeys},
    AccountId, AttributionConfig, Balance, BalancesConfig, BlockNumber, ConvictionVotingConfig,
    RuntimeGenesisConfig, SessionConfig, StakingConfig, SudoConfig,
};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
    frame_support::{build_struct_json_patch, PalletId},
    pallet_staking::Forcing,
    sp_genesis_builder::{self, PresetId},
    sp_keyring::{Ed25519Keyring, Sr25519Keyring},
    sp_runtime::traits::AccountIdConversion,
    sp_staking::StakerStatus,
};
#[cfg(doc)]
use provena_primitives::currency::GENESIS_SUPPLY;
use provena_primitives::currency::OPEN;
use serde_json::Value;

/// The `local_testnet` preset: three validators (Alice, Bob, Charlie).
pub const LOCAL_TESTNET_RUNTIME_PRESET: &str = "local_testnet";

/// The `testnet` preset: a template for a public network (see [`testnet_genesis_preset`]).
pub const TESTNET_RUNTIME_PRESET: &str = "testnet";

/// What each genesis validator bonds (out of its endowment).
pub const VALIDATOR_BOND: Balance = 100_000 * OPEN;

/// What each well-known development account holds at genesis in dev and local presets.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * OPEN;

/// The well-known Ethereum development accounts (the keys every Substrate EVM toolkit ships as
/// Alith, Baltathar, Charleth, Dorothy and Ethan; private keys in the README). Funded only in the
/// development and local presets.
pub const DEV_ETH_ACCOUNTS: [(&str, [u8; 20]); 5] = [
    ("alith", hex_literal::hex!("f24ff3a9cf04c71dbc94d0b566f7a27b94566cac")),
    ("baltathar", hex_literal::hex!("3cd0a705a2dc65e5b1e1205896baa2be8a07c6e0")),
    ("charleth", hex_literal::hex!("798d4ba9baf0064ec19eb4f0a1a45785ae9d6dfc")),
    ("dorothy", hex_literal::hex!("773539d4ac0e786233d90a233654ccee26a613d9")),
    ("ethan", hex_literal::hex!("ff64d3f6efe2317ee2807d223a0bdc4c0c49dfdb")),
];

/// The native account of an Ethereum address: the address followed by twelve `0xEE` bytes
/// (`pallet_revive`'s `AccountId32Mapper`).
pub fn eth_account(address: [u8; 20]) -> AccountId {
    let mut raw = [0xEE; 32];
    for (dst, src) in raw.iter_mut().zip(address) {
        *dst = src;
    }
    AccountId::new(raw)
}

/// One line of the genesis allocation table.
pub struct Allocation {
    /// What the bucket is for.
    pub bucket: &'static str,
    /// Its keyless account.
    pub pallet_id: PalletId,
    /// Its share of [`GENESIS_SUPPLY`], in OPEN.
    pub amount: Balance,
}

/// The genesis allocation table (see the module docs). Sums to [`GENESIS_SUPPLY`].
pub const ALLOCATION: [Allocation; 6] = [
    Allocation {
        bucket: "community",
        pallet_id: PalletId(*b"prv/comm"),
        amount: 510_000_000 * OPEN,
    },
    Allocation {
        bucket: "investors",
        pallet_id: PalletId(*b"prv/invs"),
        amount: 180_000_000 * OPEN,
    },
    Allocation { bucket: "team", pallet_id: PalletId(*b"prv/team"), amount: 150_000_000 * OPEN },
    Allocation {
        bucket: "ecosystem",
        pallet_id: PalletId(*b"prv/ecos"),
        amount: 100_000_000 * OPEN,
    },
    Allocation {
        bucket: "liquidity",
        pallet_id: PalletId(*b"prv/liqd"),
        amount: 50_000_000 * OPEN,
    },
    Allocation { bucket: "treasury", pallet_id: PalletId(*b"prv/trsy"), amount: 10_000_000 * OPEN },
];

/// The account of an allocation bucket.
pub fn bucket_account(pallet_id: PalletId) -> AccountId {
    pallet_id.into_account_truncating()
}

/// The account of the named bucket, if such a bucket exists.
pub fn bucket_account_by_name(bucket: &str) -> Option<AccountId> {
    ALLOCATION.iter().find(|a| a.bucket == bucket).map(|a| bucket_account(a.pallet_id))
}

/// Genesis balances: the allocation table, with `dev_accounts` funded out of the ecosystem
/// bucket. Returns `None` if the dev endowments exceed the ecosystem bucket.
fn genesis_balances(dev_accounts: &[AccountId]) -> Option<Vec<(AccountId, Balance)>> {
    let revive_account: AccountId = PalletId(*b"py/reviv").into_account_truncating();
    let datanets_account: AccountId =
        crate::configs::DatanetsPalletId::get().into_account_truncating();
    let agents_account: AccountId = crate::configs::AgentsPalletId::get().into_account_truncating();
    let ed = crate::configs::ExistentialDeposit::get();
    let dev_total = DEV_ENDOWMENT
        .checked_mul(dev_accounts.len() as Balance)?
        .checked_add(ed.checked_mul(3)?)?;
    let mut balances = Vec::with_capacity(ALLOCATION.len().saturating_add(dev_accounts.len()));
    for a in ALLOCATION.iter() {
        let amount =
            if a.bucket == "ecosystem" { a.amount.checked_sub(dev_total)? } else { a.amount };
        balances.push((bucket_account(a.pallet_id), amount));
    }
    balances.extend(dev_accounts.iter().cloned().map(|who| (who, DEV_ENDOWMENT)));
    balances.push((revive_account, ed));
    balances.push((datanets_account, ed));
    balances.push((agents_account, ed));
    Some(balances)
}

/// A validator in a genesis preset: its stash account (which also controls it) and its session
/// keys.
pub struct GenesisValidator {
    /// The stash: bonds [`VALIDATOR_BOND`] and is the validator's identity in session and staking.
    pub stash: AccountId,
    /// Block authoring key.
    pub aura: AuraId,
    /// Finality key.
    pub grandpa: GrandpaId,
}

/// How a preset's network is run.
struct NetworkParams {
    /// The sudo key, if the chain has one.
    sudo: Option<AccountId>,
    /// Attribution challenge window, in blocks.
    challenge_window: BlockNumber,
    /// `Forcing::ForceAlways` makes every session an era (an election a minute): for local and
    /// development chains, where validators should join quickly.
    force_era: Forcing,
    /// Fewer elected validators than this keeps the previous set.
    minimum_validator_count: u32,
    /// What governance durations are divided by (1: as documented).
    governance_timescale: u32,
}

/// A genesis patch with the given validators, network parameters and funded accounts.
fn testnet_genesis(
    validators: Vec<GenesisValidator>,
    endowed: Vec<AccountId>,
    params: NetworkParams,
) -> Option<Value> {
    let balances = genesis_balances(&endowed)?;
    Some(build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig { balances },
        session: SessionConfig {
            keys: validators
                .iter()
                .map(|v| {
                    let keys = SessionKeys { aura: v.aura.clone(), grandpa: v.grandpa.clone() };
                    (v.stash.clone(), v.stash.clone(), keys)
                })
                .collect(),
        },
        staking: StakingConfig {
            validator_count: MaxActiveValidators::get(),
            minimum_validator_count: params.minimum_validator_count,
            stakers: validators
                .iter()
                .map(|v| {
                    (v.stash.clone(), v.stash.clone(), VALIDATOR_BOND, StakerStatus::Validator)
                })
                .collect(),
            force_era: params.force_era,
            slash_reward_fraction: SlashRewardFraction::get(),
            min_validator_bond: MinValidatorBond::get(),
            min_nominator_bond: MinNominatorBond::get(),
            max_validator_count: Some(MaxCandidates::get()),
            max_nominator_count: Some(MaxNominatorAccounts::get()),
        },
        sudo: SudoConfig { key: params.sudo },
        conviction_voting: ConvictionVotingConfig {
            timescale: params.governance_timescale,
            power: Vec::new()
        },
        attribution: AttributionConfig { challenge_window: params.challenge_window },
    }))
}

/// A validator from the well-known development keys: `//Name` is its stash, Aura (sr25519) and
/// GRANDPA (ed25519) key.
pub fn dev_validator(sr: Sr25519Keyring, ed: Ed25519Keyring) -> GenesisValidator {
    GenesisValidator {
        stash: sr.to_account_id(),
        aura: sr.public().into(),
        grandpa: ed.public().into(),
    }
}

fn dev_accounts() -> Vec<AccountId> {
    Sr25519Keyring::well_known()
        .map(|k| k.to_account_id())
        .chain(DEV_ETH_ACCOUNTS.iter().map(|(_, address)| eth_account(*address)))
        .collect()
}

/// The `development` preset: Alice is the only validator and the sudo key; governance on the
/// development timescale.
pub fn development_config_genesis() -> Option<Value> {
    testnet_genesis(
        vec![dev_validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
        dev_accounts(),
        NetworkParams {
            sudo: Some(Sr25519Keyring::Alice.to_account_id()),
            // Short, so receipts on a dev chain pay out within two minutes.
            challenge_window: 5,
            force_era: Forcing::ForceAlways,
            minimum_validator_count: 1,
            governance_timescale: DEV_TIMESCALE,
        },
    )
}

/// The `local_testnet` preset: Alice, Bob and Charlie validate; an era every session (one
/// minute), so new validators are elected within two minutes. No sudo: root is a referendum,
/// on the development timescale (a documented day is a block).
pub fn local_testnet_genesis() -> Option<Value> {
    testnet_genesis(
        vec![
            dev_validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
            dev_validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
            dev_validator(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
        ],
        dev_accounts(),
        NetworkParams {
            sudo: None,
            challenge_window: crate::time::HOURS,
            force_era: Forcing::ForceAlways,
            minimum_validator_count: 2,
            governance_timescale: DEV_TIMESCALE,
        },
    )
}

/// The `testnet` preset: the template of a public network.
///
/// - **No sudo**: root is a referendum on the root track (runtime upgrades included), with
///   governance durations as documented (timescale 1).
/// - **Validators**: four placeholders from the well-known development keys (`//Alice`, `//Bob`,
///   `//Charlie`, `//Dave` as stash, Aura and GRANDPA key), each endowed with
///   [`DEV_ENDOWMENT`] and bonding [`VALIDATOR_BOND`]. Anyone knows these keys: whoever
///   launches a network replaces them in the exported chain spec (`session.keys`,
///   `staking.stakers`, `balances.balances`; README, "Run a network") with their own.
/// - **Eras** of six hours (not forced), at least three elected validators, a one-hour
///   attribution challenge window; no development accounts are funded.
pub fn testnet_genesis_preset() -> Option<Value> {
    let validators = vec![
        dev_validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
        dev_validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
        dev_validator(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
        dev_validator(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
    ];
    let endowed = validators.iter().map(|v| v.stash.clone()).collect();
    testnet_genesis(
        validators,
        endowed,
        NetworkParams {
            sudo: None,
            challenge_window: crate::time::HOURS,
            force_era: Forcing::NotForcing,
            minimum_validator_count: 3,
            governance_timescale: 1,
        },
    )
}

/// The JSON patch of a named preset, if it exists.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis()?,
        LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis()?,
        TESTNET_RUNTIME_PRESET => testnet_genesis_preset()?,
        _ => return None,
    };
    serde_json::to_vec(&patch).ok()
}

/// The names of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
        PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET),
        PresetId::from(TESTNET_RUNTIME_PRESET),
    ]
}

/// The sum of the allocation table; checked against [`GENESIS_SUPPLY`] by the tests.
pub fn allocation_total() -> Option<Balance> {
    ALLOCATION.iter().try_fold(0, |acc: Balance, a| acc.checked_add(a.amount))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;
    use crate::{Balances, Runtime, System};
    use polkadot_sdk::{
        frame_support::genesis_builder_helper::build_state, sp_io::TestExternalities,
    };
    use polkadot_sdk::{frame_support::traits::fungible::Inspect, sp_runtime::Perbill};
    use provena_primitives::currency::GENESIS_SUPPLY;

    /// Applies a JSON patch onto a base value (RFC 7396 merge, as the node's chain-spec does).
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(base), Value::Object(patch)) => {
                for (k, v) in patch {
                    merge(base.entry(k).or_insert(Value::Null), v);
                }
            }
            (base, patch) => *base = patch,
        }
    }

    /// Builds the genesis state of a preset exactly as a node does and runs `f` in it.
    pub(crate) fn with_preset(name: &str, f: impl FnOnce()) {
        let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
        let patch: Value =
            serde_json::from_slice(&get_preset(&PresetId::from(name)).unwrap()).unwrap();
        merge(&mut config, patch);
        let mut ext = TestExternalities::new_empty();
        ext.execute_with(|| {
            build_state::<RuntimeGenesisConfig>(serde_json::to_vec(&config).unwrap()).unwrap();
            f()
        });
    }

    #[test]
    fn allocation_table_sums_to_genesis_supply() {
        assert_eq!(allocation_total(), Some(GENESIS_SUPPLY));
        assert_eq!(GENESIS_SUPPLY, 10u128.pow(27));
        let community = &ALLOCATION[0];
        assert_eq!(community.bucket, "community");
        assert_eq!(community.amount * 100 / GENESIS_SUPPLY, 51);
    }

    #[test]
    fn every_preset_issues_exactly_ten_to_the_27_base_units() {
        for name in preset_names() {
            with_preset(name.as_ref(), || {
                assert_eq!(Balances::total_issuance(), 10u128.pow(27), "preset {name:?}");
                // `pallet_revive`'s own account exists, funded out of the allocation.
                let revive: AccountId = PalletId(*b"py/reviv").into_account_truncating();
                assert_eq!(
                    Balances::free_balance(revive),
                    crate::configs::ExistentialDeposit::get()
                );
                // So is the datanets pallet's, which keeps the reward pools.
                let datanets: AccountId =
                    crate::configs::DatanetsPalletId::get().into_account_truncating();
                assert_eq!(
                    Balances::free_balance(datanets),
                    crate::configs::ExistentialDeposit::get()
                );
                // And the agents pallet's, which keeps stakers' unpaid rewards.
                let agents: AccountId =
                    crate::configs::AgentsPalletId::get().into_account_truncating();
                assert_eq!(
                    Balances::free_balance(agents),
                    crate::configs::ExistentialDeposit::get()
                );
                let community = bucket_account_by_name("community").unwrap();
                assert_eq!(Balances::free_balance(community), 510_000_000 * OPEN);
            });
        }
        for name in [sp_genesis_builder::DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET] {
            with_preset(name, || {
                let dev_sum: Balance = dev_accounts().iter().map(Balances::total_balance).sum();
                assert_eq!(dev_sum, 17 * DEV_ENDOWMENT);
                for (name, address) in DEV_ETH_ACCOUNTS {
                    let who = eth_account(address);
                    assert_eq!(Balances::free_balance(&who), DEV_ENDOWMENT, "{name}");
                    // The Ethereum view: the address's spendable balance, in wei.
                    assert_eq!(
                        crate::Revive::evm_balance(&address.into()),
                        (DEV_ENDOWMENT - crate::configs::ExistentialDeposit::get()).into(),
                        "{name}"
                    );
                }
            });
        }
        with_preset(TESTNET_RUNTIME_PRESET, || {
            // Only the four placeholder validators are endowed; no development account.
            let dev_sum: Balance = dev_accounts().iter().map(Balances::total_balance).sum();
            assert_eq!(dev_sum, 4 * DEV_ENDOWMENT);
            assert_eq!(Balances::total_balance(&Sr25519Keyring::Eve.to_account_id()), 0);
        });
    }

    fn session_validators() -> Vec<AccountId> {
        polkadot_sdk::pallet_session::Validators::<Runtime>::get()
    }

    #[test]
    fn presets_set_validators_and_sudo() {
        use polkadot_sdk::{pallet_grandpa, pallet_staking, pallet_sudo};
        with_preset(sp_genesis_builder::DEV_RUNTIME_PRESET, || {
            assert_eq!(pallet_aura_authorities().len(), 1);
            assert_eq!(session_validators(), vec![Sr25519Keyring::Alice.to_account_id()]);
            assert_eq!(
                pallet_sudo::Key::<Runtime>::get(),
                Some(Sr25519Keyring::Alice.to_account_id())
            );
            assert_eq!(
                pallet_staking::ForceEra::<Runtime>::get(),
                pallet_staking::Forcing::ForceAlways
            );
            assert_eq!(System::block_number(), 0);
        });
        with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
            assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
            assert_eq!(pallet_governance::Timescale::<Runtime>::get(), DEV_TIMESCALE);
            assert_eq!(pallet_aura_authorities().len(), 3);
            assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 3);
            // Each validator bonded its stake (held, so its total balance is unchanged).
            let alice = Sr25519Keyring::Alice.to_account_id();
            let ledger = pallet_staking::Ledger::<Runtime>::get(&alice).unwrap();
            assert_eq!(ledger.active, VALIDATOR_BOND);
            assert!(pallet_staking::Validators::<Runtime>::contains_key(&alice));
            assert_eq!(pallet_staking::MinValidatorBond::<Runtime>::get(), MinValidatorBond::get());
            assert_eq!(
                pallet_staking::MaxNominatorsCount::<Runtime>::get(),
                Some(MaxNominatorAccounts::get())
            );
        });
        with_preset(TESTNET_RUNTIME_PRESET, || {
            assert_eq!(session_validators().len(), 4);
            assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
            assert_eq!(
                pallet_staking::ForceEra::<Runtime>::get(),
                pallet_staking::Forcing::NotForcing
            );
            assert_eq!(pallet_staking::MinimumValidatorCount::<Runtime>::get(), 3);
        });
    }

    fn pallet_aura_authorities() -> Vec<AuraId> {
        polkadot_sdk::pallet_aura::Authorities::<Runtime>::get().into_inner()
    }

    #[test]
    fn unknown_preset_is_none() {
        assert!(get_preset(&PresetId::from("mainnet")).is_none());
    }

    #[test]
    fn era_rewards_follow_the_documented_schedule() {
        use crate::configs::era_reward;
        let pool = 510_000_000 * OPEN;
        let year = 1000 * 3600 * 24 * 365;
        // A year-long era pays 5% of the pool; a six-hour era its share of that.
        assert_eq!(era_reward(pool, year), 25_500_000 * OPEN);
        let six_hours = era_reward(pool, 6 * 3600 * 1000);
        assert_eq!(
            six_hours,
            Perbill::from_rational(6 * 3600 * 1000u64, year).mul_floor(25_500_000 * OPEN)
        );
        assert!(six_hours > 17_400 * OPEN && six_hours < 17_500 * OPEN);
        // A stalled chain gets no windfall; an empty pool pays nothing.
        assert_eq!(era_reward(pool, 10 * year), era_reward(pool, year));
        assert_eq!(era_reward(0, year), 0);
    }

    #[test]
    fn staking_rewards_move_open_out_of_the_pool_and_slashes_into_the_treasury() {
        use crate::configs::{rewards_pool, slash_destination};
        use polkadot_sdk::frame_support::traits::{
            fungible::{Balanced, Inspect},
            tokens::{imbalance::OnUnbalanced, Precision},
        };
        with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
            let supply = Balances::total_issuance();
            let bob = Sr25519Keyring::Bob.to_account_id();
            let pool = Balances::balance(&rewards_pool());
            // What `payout_stakers` does: deposit a reward, then hand the imbalance over.
            let paid = <Balances as Balanced<AccountId>>::deposit(&bob, 7 * OPEN, Precision::Exact)
                .unwrap();
            crate::configs::staking::RewardFromPool::on_unbalanced(paid);
            assert_eq!(Balances::total_issuance(), supply);
            assert_eq!(Balances::balance(&rewards_pool()), pool - 7 * OPEN);
            // A slash: withdrawn from the offender, resolved into the treasury.
            let treasury = Balances::balance(&slash_destination());
            let slashed = <Balances as Balanced<AccountId>>::withdraw(
                &bob,
                3 * OPEN,
                Precision::Exact,
                polkadot_sdk::frame_support::traits::tokens::Preservation::Preserve,
                polkadot_sdk::frame_support::traits::tokens::Fortitude::Polite,
            )
            .unwrap();
            crate::configs::staking::SlashToTreasury::on_unbalanced(slashed);
            assert_eq!(Balances::total_issuance(), supply);
            assert_eq!(Balances::balance(&slash_destination()), treasury + 3 * OPEN);
        });
    }
}
