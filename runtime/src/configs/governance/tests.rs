//! Governance as the runtime wires it: tracks and curves as documented, power kept longer than
//! referenda live, and referenda on each track enacting what their origin may do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use super::{
    origins::Origin,
    parameters::{dynamic_params, RuntimeParameters, Shares, DEFAULT_SHARES},
    tracks::{longest_referendum, Tracks, DEV_TIMESCALE},
    ContributionPowerAdapter, VotableIssuance, POWER_RETENTION_PERIODS,
};
use crate::{
    genesis_config_presets::{
        tests::with_preset, LOCAL_TESTNET_RUNTIME_PRESET, TESTNET_RUNTIME_PRESET,
    },
    AccountId, Balances, ConvictionVoting, OriginCaller, Parameters, Preimage, Referenda, Runtime,
    RuntimeCall, RuntimeOrigin, Scheduler, System, Treasury,
};
use pallet_governance::{AccountVote, Conviction, Vote};
use polkadot_sdk::{
    frame_support::{
        assert_noop, assert_ok,
        traits::{fungible::Inspect, schedule::DispatchTime, Get, Hooks, StorePreimage},
    },
    frame_system::{self, RawOrigin},
    pallet_referenda::{self, ReferendumInfo, TracksInfo},
    pallet_treasury,
    sp_keyring::Sr25519Keyring,
    sp_runtime::{DispatchError, Perbill, Permill},
};
use provena_primitives::{
    attribution::SplitShares,
    currency::OPEN,
    governance::{ContributionPower, PowerSource},
    time::{DAYS, HOURS},
};

/// The tracks' periods, curves and deposits as the module docs list them.
#[test]
fn tracks_are_as_documented_and_follow_the_timescale() {
    with_preset(TESTNET_RUNTIME_PRESET, || {
        let root = Tracks::info(0).unwrap();
        assert_eq!(&root.name[..4], b"root");
        assert_eq!(
            (
                root.prepare_period,
                root.decision_period,
                root.confirm_period,
                root.min_enactment_period
            ),
            (2 * HOURS, 14 * DAYS, DAYS, DAYS)
        );
        assert_eq!((root.max_deciding, root.decision_deposit), (1, 100_000 * OPEN));
        // Approval falls from 100% to 50% and support from 50% to 0.5% over the decision.
        let at = |p| Perbill::from_percent(p);
        assert_eq!(root.min_approval.threshold(at(0)), at(100));
        assert_eq!(root.min_approval.threshold(at(50)), at(75));
        assert_eq!(root.min_approval.threshold(at(100)), at(50));
        assert_eq!(root.min_support.threshold(at(0)), at(50));
        assert_eq!(root.min_support.threshold(at(100)), Perbill::from_parts(5_000_000));
        let expected = [
            ("treasurer", 14 * DAYS, 25, 2_500_000, 10_000 * OPEN),
            ("parameters", 7 * DAYS, 25, 2_500_000, 10_000 * OPEN),
            ("admission", 7 * DAYS, 10, 1_000_000, 1_000 * OPEN),
            ("disputes", 3 * DAYS, 5, 500_000, 100 * OPEN),
        ];
        for (id, (name, decision, start, end, deposit)) in (1u16..).zip(expected) {
            let t = Tracks::info(id).unwrap();
            assert_eq!(&t.name[..name.len()], name.as_bytes());
            assert_eq!((t.decision_period, t.decision_deposit), (decision, deposit));
            assert_eq!(t.min_support.threshold(at(0)), at(start));
            assert_eq!(t.min_support.threshold(at(100)), Perbill::from_parts(end));
            assert_eq!(t.min_approval.threshold(at(100)), at(50));
        }
        // A dispute is decided well before attribution's challenge deadline.
        let disputes = Tracks::info(4).unwrap();
        assert!(
            disputes.prepare_period + disputes.decision_period + disputes.confirm_period
                < super::super::attribution::ChallengeDeadline::get()
        );
    });
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        // A documented day is a block; nothing is shorter than a block.
        let root = Tracks::info(0).unwrap();
        assert_eq!(
            (
                root.prepare_period,
                root.decision_period,
                root.confirm_period,
                root.min_enactment_period
            ),
            (1, 14, 1, 1)
        );
        assert_eq!(<super::tracks::UndecidingTimeout as Get<u32>>::get(), 14);
    });
}

#[test]
fn origins_map_to_their_tracks() {
    let track = |o: OriginCaller| Tracks::track_for(&o);
    assert_eq!(track(OriginCaller::system(RawOrigin::Root)), Ok(0));
    assert_eq!(track(OriginCaller::Origins(Origin::Treasurer)), Ok(1));
    assert_eq!(track(OriginCaller::Origins(Origin::ParameterAdmin)), Ok(2));
    assert_eq!(track(OriginCaller::Origins(Origin::AdmissionAdmin)), Ok(3));
    assert_eq!(track(OriginCaller::Origins(Origin::DisputeResolver)), Ok(4));
    assert_eq!(track(OriginCaller::system(RawOrigin::None)), Err(()));
}

/// A referendum reads contribution power at its snapshot for as long as it can live outside a
/// queue, at both timescales.
#[test]
fn power_outlives_every_referendum() {
    for preset in [TESTNET_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET] {
        with_preset(preset, || {
            let kept = POWER_RETENTION_PERIODS * ConvictionVoting::scaled(DAYS);
            assert!(ConvictionVoting::scaled(longest_referendum()) < kept, "{preset}");
        });
    }
    assert_eq!(DEV_TIMESCALE, DAYS);
}

#[test]
fn the_electorate_leaves_out_the_keyless_buckets() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        // Seventeen funded development accounts and the two pallet accounts' existential
        // deposits are all that can vote.
        let votable = VotableIssuance::get();
        let dev = 17 * crate::genesis_config_presets::DEV_ENDOWMENT;
        assert!(votable >= dev && votable < dev + OPEN, "{votable}");
    });
}

#[test]
fn power_is_credited_by_kind_with_its_ratio() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        let who = Sr25519Keyring::Ferdie.to_account_id();
        ContributionPowerAdapter::credit(&who, PowerSource::AcceptedContribution, 1_000);
        assert_eq!(ConvictionVoting::power(&who), 100);
        ContributionPowerAdapter::credit(&who, PowerSource::Earnings, 1_000);
        assert_eq!(ConvictionVoting::power(&who), 1_100);
    });
}

#[test]
fn an_incomplete_fee_split_is_never_used() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        assert_eq!(Shares::get(), DEFAULT_SHARES);
        let set = |shares: SplitShares| {
            assert_ok!(Parameters::set_parameter(
                RuntimeOrigin::root(),
                RuntimeParameters::Attribution(dynamic_params::attribution::Parameters::FeeShares(
                    dynamic_params::attribution::FeeShares,
                    Some(shares),
                )),
            ));
        };
        set(SplitShares { treasury: Permill::from_percent(50), ..DEFAULT_SHARES });
        assert_eq!(Shares::get(), DEFAULT_SHARES);
        let complete = SplitShares {
            treasury: Permill::from_percent(10),
            operator: Permill::from_percent(10),
            model: Permill::from_percent(30),
            contributors: Permill::from_percent(50),
        };
        set(complete);
        assert_eq!(Shares::get(), complete);
    });
}

fn account(k: Sr25519Keyring) -> AccountId {
    k.to_account_id()
}

/// Runs blocks up to `n`, with the scheduler (which services referenda and enacts them).
fn run_to(n: u32) {
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        Scheduler::on_initialize(next);
    }
}

/// Submits `call` for `origin`'s track, places its decision deposit and has the twelve
/// development accounts vote aye with 900,000 OPEN each; returns the referendum's index.
fn propose_and_vote(origin: OriginCaller, call: RuntimeCall) -> u32 {
    let alice = account(Sr25519Keyring::Alice);
    let index = pallet_referenda::ReferendumCount::<Runtime>::get();
    let bounded = <Preimage as StorePreimage>::bound(call).unwrap();
    assert_ok!(Referenda::submit(
        RuntimeOrigin::signed(alice.clone()),
        Box::new(origin),
        bounded,
        DispatchTime::After(0),
    ));
    assert_ok!(Referenda::place_decision_deposit(RuntimeOrigin::signed(alice), index));
    for k in Sr25519Keyring::well_known() {
        let vote = Vote { aye: true, conviction: Conviction::Locked1x };
        assert_ok!(ConvictionVoting::vote(
            RuntimeOrigin::signed(account(k)),
            index,
            AccountVote::Standard { vote, balance: 900_000 * OPEN },
        ));
    }
    index
}

fn approved(index: u32) -> bool {
    matches!(
        pallet_referenda::ReferendumInfoFor::<Runtime>::get(index),
        Some(ReferendumInfo::Approved(..))
    )
}

#[test]
fn a_root_referendum_authorizes_a_runtime_upgrade() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        run_to(1);
        let code_hash = polkadot_sdk::sp_core::H256::repeat_byte(7);
        let call = RuntimeCall::System(frame_system::Call::authorize_upgrade { code_hash });
        // Nobody may authorize an upgrade directly.
        assert_noop!(
            System::authorize_upgrade(
                RuntimeOrigin::signed(account(Sr25519Keyring::Alice)),
                code_hash
            ),
            DispatchError::BadOrigin
        );
        let index = propose_and_vote(OriginCaller::system(RawOrigin::Root), call);
        run_to(10);
        assert!(approved(index));
        assert!(System::events().iter().any(|r| matches!(
            r.event,
            crate::RuntimeEvent::System(frame_system::Event::UpgradeAuthorized {
                code_hash: h,
                check_version: true
            }) if h == code_hash
        )));
    });
}

#[test]
fn a_treasurer_referendum_spends_from_the_treasury() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        run_to(1);
        let ferdie = account(Sr25519Keyring::Ferdie);
        let call = RuntimeCall::Treasury(pallet_treasury::Call::spend {
            asset_kind: Box::new(()),
            amount: 5_000 * OPEN,
            beneficiary: Box::new(ferdie.clone()),
            valid_from: None,
        });
        let index = propose_and_vote(OriginCaller::Origins(Origin::Treasurer), call);
        run_to(10);
        assert!(approved(index));
        let before = Balances::total_balance(&ferdie);
        assert_ok!(Treasury::payout(RuntimeOrigin::signed(ferdie.clone()), 0));
        assert_eq!(Balances::total_balance(&ferdie), before + 5_000 * OPEN);
        // The treasurer track may not spend more than its limit.
        let too_much = RuntimeCall::Treasury(pallet_treasury::Call::spend {
            asset_kind: Box::new(()),
            amount: super::origins::MAX_TREASURER_SPEND + 1,
            beneficiary: Box::new(ferdie.clone()),
            valid_from: None,
        });
        let index = propose_and_vote(OriginCaller::Origins(Origin::Treasurer), too_much);
        run_to(20);
        assert!(approved(index));
        assert!(pallet_treasury::Spends::<Runtime>::get(1).is_none());
    });
}

#[test]
fn only_root_and_the_treasurer_track_spend_from_a_reward_pool() {
    use polkadot_sdk::frame_support::traits::fungible::Mutate;
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        run_to(1);
        let owner = account(Sr25519Keyring::Alice);
        let ferdie = account(Sr25519Keyring::Ferdie);
        let datanet = pallet_datanets::NextDatanetId::<Runtime>::get();
        assert_ok!(crate::Datanets::create_datanet(
            RuntimeOrigin::signed(owner.clone()),
            b"pool".to_vec(),
            vec![],
            b"tests".to_vec(),
            b"MIT".to_vec(),
            provena_primitives::datanets::Visibility::Public,
            crate::configs::MinContributionStake::get(),
            1 << 20,
        ));
        let limit = super::origins::MAX_TREASURER_SPEND;
        // A pool of twice the treasurer's limit, held by the datanets pallet account.
        let pallet = crate::Datanets::account_id();
        assert_ok!(Balances::mint_into(&pallet, 2 * limit));
        pallet_datanets::RewardPools::<Runtime>::insert(datanet, 2 * limit);
        let spend = |origin: RuntimeOrigin, amount| {
            crate::Datanets::spend_pool(origin, datanet, ferdie.clone(), amount)
        };
        for origin in [
            RuntimeOrigin::signed(owner.clone()),
            RuntimeOrigin::from(Origin::ParameterAdmin),
            RuntimeOrigin::from(Origin::DisputeResolver),
        ] {
            assert_noop!(spend(origin, OPEN), DispatchError::BadOrigin);
        }
        assert_noop!(
            spend(RuntimeOrigin::from(Origin::Treasurer), limit + 1),
            pallet_datanets::Error::<Runtime>::SpendAboveLimit
        );
        let before = Balances::total_balance(&ferdie);
        assert_ok!(spend(RuntimeOrigin::from(Origin::Treasurer), limit));
        assert_ok!(spend(RuntimeOrigin::root(), limit));
        assert_eq!(Balances::total_balance(&ferdie), before + 2 * limit);
        assert!(!pallet_datanets::RewardPools::<Runtime>::contains_key(datanet));
    });
}

#[test]
fn a_parameters_referendum_changes_a_parameter() {
    with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
        run_to(1);
        let call = RuntimeCall::Parameters(polkadot_sdk::pallet_parameters::Call::set_parameter {
            key_value: RuntimeParameters::Models(dynamic_params::models::Parameters::TradingFee(
                dynamic_params::models::TradingFee,
                Some(Permill::from_percent(2)),
            )),
        });
        // Not through any other track.
        assert_noop!(
            Parameters::set_parameter(
                RuntimeOrigin::from(Origin::Treasurer),
                RuntimeParameters::Models(dynamic_params::models::Parameters::TradingFee(
                    dynamic_params::models::TradingFee,
                    Some(Permill::from_percent(2)),
                )),
            ),
            DispatchError::BadOrigin
        );
        let index = propose_and_vote(OriginCaller::Origins(Origin::ParameterAdmin), call);
        run_to(10);
        assert!(approved(index));
        assert_eq!(dynamic_params::models::TradingFee::get(), Permill::from_percent(2));
    });
}
