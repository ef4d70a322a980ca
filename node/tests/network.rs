//! A real network: the README's three-validator recipe, grown to four validators by staking, and
//! a full node, all real `provena-node` processes on this machine, through five scenarios:
//!
//! 1. all four validators author and finalize;
//! 2. one validator killed: finality continues; restarted: it catches up and authors again;
//! 3. a fresh full node syncs from genesis to the finalized head and serves the same state root,
//!    and the receipt of an Ethereum transaction in a block it synced;
//! 4. a new account (Dave) bonds, sets keys from `author_rotateKeysWithOwner` and is elected at
//!    the next era, then authors; Eve nominates Dave, and paying out an era in which she backs
//!    him moves exactly the rewards out of the community pool, 95% pro rata to stake (Dave's 5%
//!    commission off the top); a validator that chills and unbonds (Charlie) leaves the set;
//! 5. two nodes running the same validator key (Bob's) equivocate: the GRANDPA offence is reported
//!    on chain and Bob's stake is slashed by the documented `(3k/n)^2` fraction;
//! 6. a runtime upgrade by referendum: a root referendum authorizes the same runtime one
//!    `spec_version` higher, anyone applies it, every node runs it, a datanet and a model created
//!    before are read back and finality continues.
//!
//! Every wait is a deadline (stated next to it), never a sleep. The local testnet forces an era
//! every session (ten blocks), so elections take a minute or two. One test, so the scenarios share
//! the network (it is heavy on two cores); it takes about ten minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

mod common;
#[path = "network/governance.rs"]
mod governance;
#[path = "network/harness.rs"]
mod harness;

use std::{
    cell::Cell,
    time::{Duration, Instant},
};

use common::{events, finalized, sign, submit_and_wait_in_block};
use harness::{
    active_era, block_hash, era_points, session_validators, state_root, within, Network,
};
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::{
    frame_system, pallet_offences, pallet_staking, pallet_utility, sp_core::H256,
    sp_keyring::Sr25519Keyring, sp_runtime::Perbill,
};
use provena_primitives::currency::OPEN;
use provena_runtime::{
    genesis_config_presets::{self, VALIDATOR_BOND},
    RuntimeCall, RuntimeEvent,
};

/// The RPC ports the README's recipe gives Alice, Bob and Charlie.
const RECIPE_NODES: [(&str, u16); 3] = [("alice", 9954), ("bob", 9955), ("charlie", 9956)];

/// What Eve bonds to nominate Dave (who bonds twice the genesis validator bond).
const EVE_BOND: u128 = 50_000 * OPEN;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_and_a_full_node_through_five_scenarios() {
    let started = Instant::now();
    let mut net = Network::from_readme(&RECIPE_NODES);
    let alice = net.node("alice").client().await;
    let [alice_id, bob_id, charlie_id, dave_id] =
        [Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave]
            .map(|k| k.to_account_id());

    // The recipe's network finalizes (deadline: two minutes from start).
    within(&net, "the README network finalizes block 3", 2 * MINUTE, || async {
        (finalized(&alice).await.0 >= 3).then_some(())
    })
    .await;
    eprintln!("recipe: three validators finalize ({:?})", started.elapsed());

    // 4a. Dave: a node with a file keystore, keys rotated over RPC, bond + keys + validate in one
    // batch; elected at the next era (deadline: three minutes, i.e. three one-minute eras).
    harness::join_as_validator(&mut net, "dave", Sr25519Keyring::Dave, &alice).await;
    within(&net, "Dave is elected into the session validators", 3 * MINUTE, || async {
        session_validators(&alice, None).await.contains(&dave_id).then_some(())
    })
    .await;
    eprintln!("4a: Dave elected ({:?})", started.elapsed());
    // Eve backs Dave with 50k OPEN; she is in his exposure from the next election on.
    let eve_id = Sr25519Keyring::Eve.to_account_id();
    let nominate = RuntimeCall::Utility(pallet_utility::Call::batch_all {
        calls: vec![
            RuntimeCall::Staking(pallet_staking::Call::bond {
                value: EVE_BOND,
                payee: pallet_staking::RewardDestination::Stash,
            }),
            RuntimeCall::Staking(pallet_staking::Call::nominate {
                targets: vec![dave_id.clone().into()],
            }),
        ],
    });
    submit_and_wait_in_block(&alice, &sign(&alice, Sr25519Keyring::Eve, nominate).await).await;

    // 1. All four author (reward points in one era) and that era is finalized (deadline: three
    // minutes).
    let all = [alice_id.clone(), bob_id.clone(), charlie_id.clone(), dave_id.clone()];
    within(&net, "an era in which all four author, finalized", 3 * MINUTE, || async {
        let (_, head) = finalized(&alice).await;
        let era = active_era(&alice, Some(head)).await;
        for e in [era, era.saturating_sub(1)] {
            let points = era_points(&alice, e, Some(head)).await;
            if all.iter().all(|v| points.get(v).copied().unwrap_or(0) > 0) {
                return Some(());
            }
        }
        None
    })
    .await;
    eprintln!("1: four validators author and finalize ({:?})", started.elapsed());

    // 2. Bob crashes: finality goes on with three of four (deadline: one minute for 5 blocks).
    let (before, _) = finalized(&alice).await;
    net.node("bob").kill();
    within(&net, "finality continues without Bob", MINUTE, || async {
        (finalized(&alice).await.0 >= before + 5).then_some(())
    })
    .await;
    // Restarted on the same database: it catches up with the finalized head and authors again
    // in an era that began after the restart (deadline: three minutes).
    let era_at_restart = active_era(&alice, None).await;
    net.node("bob").restart();
    let bob = net.node("bob").client().await;
    let (head_at_restart, _) = finalized(&alice).await;
    within(&net, "Bob catches up and authors again", 3 * MINUTE, || async {
        let caught_up = finalized(&bob).await.0 >= head_at_restart;
        let era = active_era(&alice, None).await;
        let authored = era > era_at_restart
            && era_points(&alice, era, None).await.get(&bob_id).copied().unwrap_or(0) > 0;
        (caught_up && authored).then_some(())
    })
    .await;
    eprintln!(
        "2: Bob killed, finality continued, restarted, caught up, authored ({:?})",
        started.elapsed()
    );

    // 3. A fresh full node syncs from genesis to the finalized head and serves the same state
    // (deadline: two minutes), and the same Ethereum history: an Ethereum transaction's receipt,
    // though the node imported its block during its initial sync.
    // (A transfer between existing accounts: an Ethereum transaction that creates an account
    // pays the account's existential deposit out of its fee, which the supply check at the end
    // would count as burnt.)
    let alice_eth = common::eth_client(net.node("alice").eth_port()).await;
    let baltathar = genesis_config_presets::DEV_ETH_ACCOUNTS[1].1;
    let eth_tx =
        common::send_eth(&alice_eth, common::alith_key(), Some(baltathar), OPEN, vec![]).await;
    let eth_receipt = common::eth_receipt(&alice_eth, eth_tx, MINUTE).await;
    assert_eq!(eth_receipt["status"], "0x1", "{eth_receipt}");
    let eth_block = common::quantity(&eth_receipt["blockNumber"]) as u32;
    // The fee an Ethereum transaction burns is its receipt's, whole gas at the gas price; the
    // `TransactionFeePaid` event reports the weight fee before that rounding up (less than one
    // gas unit's price below it). The supply check counts the event, plus this.
    let eth_price = common::quantity(&eth_receipt["effectiveGasPrice"]);
    let eth_fee = common::quantity(&eth_receipt["gasUsed"]) * eth_price;
    let eth_event_fee: u128 = events(&alice, common::h256(&eth_receipt["blockHash"]))
        .await
        .into_iter()
        .filter_map(|e| match e {
            RuntimeEvent::TransactionPayment(
                polkadot_sdk::pallet_transaction_payment::Event::TransactionFeePaid {
                    who,
                    actual_fee,
                    ..
                },
            ) if who
                == genesis_config_presets::eth_account(
                    genesis_config_presets::DEV_ETH_ACCOUNTS[0].1,
                ) =>
            {
                Some(actual_fee)
            }
            _ => None,
        })
        .sum();
    let eth_rounding = eth_fee - eth_event_fee;
    assert!(eth_rounding < eth_price, "fee {eth_fee}, event {eth_event_fee}");
    within(&net, "the Ethereum transaction's block is finalized", MINUTE, || async {
        (finalized(&alice).await.0 >= eth_block).then_some(())
    })
    .await;
    let (target, target_hash) = finalized(&alice).await;
    net.add_node("full", &[]);
    let full = net.node("full").client().await;
    within(&net, "the full node reaches the finalized head", 2 * MINUTE, || async {
        (finalized(&full).await.0 >= target).then_some(())
    })
    .await;
    assert_eq!(block_hash(&full, target).await, Some(target_hash));
    assert_eq!(state_root(&full, target_hash).await, state_root(&alice, target_hash).await);
    assert_eq!(
        session_validators(&full, Some(target_hash)).await,
        session_validators(&alice, Some(target_hash)).await
    );
    let full_eth = common::eth_client(net.node("full").eth_port()).await;
    let synced =
        within(&net, "the full node indexes the synced Ethereum block", MINUTE, || async {
            let r: serde_json::Value =
                full_eth.request("eth_getTransactionReceipt", rpc_params![eth_tx]).await.unwrap();
            (!r.is_null()).then_some(r)
        })
        .await;
    assert_eq!(synced, eth_receipt, "the synced node's receipt differs");
    eprintln!(
        "3: full node synced block #{target} with the same state root ({:?})",
        started.elapsed()
    );

    // 4c. Rewards: wait for a finalized era in which Eve backs Dave (deadline: three minutes),
    // then for its end (two minutes), and pay it out.
    let eve_era = within(&net, "an era in which Eve backs Dave", 3 * MINUTE, || async {
        let (_, head) = finalized(&alice).await;
        let era = active_era(&alice, Some(head)).await;
        let page = harness::exposure_page(&alice, era, &dave_id, 0, Some(head)).await?;
        page.others.iter().any(|i| i.who == eve_id).then_some(era)
    })
    .await;
    within(&net, "the era in which Eve backs Dave ends", 2 * MINUTE, || async {
        (active_era(&alice, None).await > eve_era).then_some(())
    })
    .await;
    let payout = RuntimeCall::Staking(pallet_staking::Call::payout_stakers {
        validator_stash: dave_id.clone(),
        era: eve_era,
    });
    let paid_in =
        submit_and_wait_in_block(&alice, &sign(&alice, Sr25519Keyring::Ferdie, payout).await).await;
    let rewards: std::collections::BTreeMap<_, _> = events(&alice, paid_in)
        .await
        .into_iter()
        .filter_map(|e| match e {
            RuntimeEvent::Staking(pallet_staking::Event::Rewarded { stash, amount, .. }) => {
                Some((stash, amount))
            }
            _ => None,
        })
        .collect();
    let (dave_reward, eve_reward) = (rewards[&dave_id], rewards[&eve_id]);
    let paid = dave_reward + eve_reward;
    assert_eq!(rewards.len(), 2, "only Dave and Eve are paid: {rewards:?}");
    // Exactly what was paid left the community pool (fees are burnt, not pooled).
    let pool = provena_runtime::configs::rewards_pool();
    let parent = harness::parent_of(&alice, paid_in).await;
    let pool_spent = common::free_balance(&alice, &pool, Some(parent)).await
        - common::free_balance(&alice, &pool, Some(paid_in)).await;
    assert_eq!(pool_spent, paid, "the pool pays the era's rewards, nothing minted");
    // Eve's share: 95% (after Dave's 5% commission) of the payout, pro rata to her exposure.
    let overview = harness::exposure_overview(&alice, eve_era, &dave_id, Some(parent))
        .await
        .expect("Dave has an exposure in the era paid");
    let eve_exposed = harness::exposure_page(&alice, eve_era, &dave_id, 0, Some(parent))
        .await
        .unwrap()
        .others
        .iter()
        .find(|i| i.who == eve_id)
        .unwrap()
        .value;
    let expected_eve = Perbill::from_rational(eve_exposed, overview.total)
        * (paid - Perbill::from_percent(5) * paid);
    assert!(
        paid > 0 && expected_eve.abs_diff(eve_reward) <= paid / 1_000_000_000 + 1,
        "Eve's reward {eve_reward} of {paid}, expected {expected_eve}"
    );
    assert!(
        eve_exposed.abs_diff(EVE_BOND) <= EVE_BOND / 1_000_000_000,
        "Eve's exposure is her bond: {eve_exposed}"
    );
    eprintln!(
        "4c: era {eve_era} paid {paid} from the pool: Dave {dave_reward}, Eve {eve_reward} ({:?})",
        started.elapsed()
    );

    // 5. Bob's key on a second node: both vote in GRANDPA with one key. The equivocation is
    // reported and Bob is slashed after the deferral (deadlines: three minutes to the report,
    // five to the slash). Every finalized block is scanned, none skipped.
    let cursor = Cell::new(finalized(&alice).await.0);
    let treasury = provena_runtime::configs::slash_destination();
    let treasury_before = common::free_balance(&alice, &treasury, None).await;
    net.add_node("bob-twin", &["--bob"]);
    let (report_block, fraction) =
        within(&net, "an equivocation of Bob is reported", 3 * MINUTE, || async {
            harness::scan_finalized(&alice, &cursor, |event| match event {
                RuntimeEvent::Staking(pallet_staking::Event::SlashReported {
                    validator,
                    fraction,
                    ..
                }) if *validator == bob_id => Some(*fraction),
                _ => None,
            })
            .await
        })
        .await;
    net.node("bob-twin").kill();
    let report_events = events(&alice, report_block).await;
    assert!(
        report_events.iter().any(|e| matches!(
            e,
            RuntimeEvent::Offences(pallet_offences::Event::Offence { kind, .. })
                if kind == b"grandpa:equivoca"
        )),
        "a GRANDPA equivocation offence: {report_events:?}"
    );
    // The documented fraction: (3k/n)^2 for k = 1 offender among n = 4 validators.
    assert_eq!(fraction, Perbill::from_rational(3u32, 4).square(), "slash fraction, 1 of 4");
    eprintln!("5: equivocation reported: {fraction:?} of Bob's stake ({:?})", started.elapsed());

    // 4b, while the slash is deferred: Charlie chills and unbonds, and leaves the set
    // (deadline: three minutes).
    let leave = RuntimeCall::Utility(pallet_utility::Call::batch_all {
        calls: vec![
            RuntimeCall::Staking(pallet_staking::Call::chill {}),
            RuntimeCall::Staking(pallet_staking::Call::unbond { value: VALIDATOR_BOND }),
        ],
    });
    submit_and_wait_in_block(&alice, &sign(&alice, Sr25519Keyring::Charlie, leave).await).await;
    within(&net, "Charlie leaves the session validators", 3 * MINUTE, || async {
        (!session_validators(&alice, None).await.contains(&charlie_id)).then_some(())
    })
    .await;
    let charlie_ledger = harness::ledger(&alice, &charlie_id, None).await.unwrap();
    assert_eq!(charlie_ledger.active, 0);
    assert_eq!(charlie_ledger.unlocking.iter().map(|c| c.value).sum::<u128>(), VALIDATOR_BOND);
    eprintln!("4b: Charlie unbonded and left the set ({:?})", started.elapsed());

    // The deferred slash applies: Bob loses exactly that fraction of his exposed stake, which
    // goes to the treasury bucket, so the supply stays 10^27.
    let (_, slashed) = within(&net, "Bob's slash is applied", 5 * MINUTE, || async {
        harness::scan_finalized(&alice, &cursor, |event| match event {
            RuntimeEvent::Staking(pallet_staking::Event::Slashed { staker, amount })
                if *staker == bob_id =>
            {
                Some(*amount)
            }
            _ => None,
        })
        .await
    })
    .await;
    // The slash is the fraction of Bob's exposure, which staking derives through u64 vote
    // weights (`U128CurrencyToVote`), a few 1e-17 short of his bond: so the amount is the fraction
    // of the bond to within a part per billion; the accounting around it is exact.
    let expected = fraction * VALIDATOR_BOND;
    assert!(
        expected.abs_diff(slashed) <= expected / 1_000_000_000,
        "Bob's slash: {slashed} vs {expected}"
    );
    let bob_ledger = harness::ledger(&alice, &bob_id, None).await.unwrap();
    assert_eq!(bob_ledger.active, VALIDATOR_BOND - slashed);
    assert_eq!(bob_ledger.total, VALIDATOR_BOND - slashed);
    // The reporter (for an unsigned report: the author of the block that included it) gets
    // half of the 10% slash reward fraction; the treasury bucket the other 95%. Nothing is
    // minted or burnt (the supply is checked with the invariants below).
    let (_, head) = finalized(&alice).await;
    let to_treasury = common::free_balance(&alice, &treasury, Some(head)).await - treasury_before;
    let expected_treasury = Perbill::from_percent(95) * slashed;
    assert!(
        to_treasury.abs_diff(expected_treasury) <= slashed / 1_000_000_000,
        "the treasury bucket receives 95% of the slash: {to_treasury} of {slashed}"
    );
    eprintln!("5: Bob slashed {} OPEN ({:?})", slashed / OPEN, started.elapsed());

    // 6. A runtime upgrade by referendum: the same runtime one `spec_version` higher (built
    // from this checkout with the `upgrade-test` feature) is authorized by a root referendum the
    // twelve development accounts vote for, and applied; every node runs it, the state is kept
    // and finality continues (deadlines: three minutes to enactment, two to the switch).
    let upgrade = provena_runtime::upgrade_test::WASM_BINARY
        .expect("the upgrade-test runtime: build with PROVENA_UPGRADE_RUNTIME=1 (.ci/run does)");
    let ferdie = Sr25519Keyring::Ferdie;
    let before_upgrade = governance::items_before_upgrade(&alice, ferdie).await;
    let code_hash = H256(polkadot_sdk::sp_crypto_hashing::blake2_256(upgrade));
    let from = finalized(&alice).await.0;
    governance::pass_root_referendum(
        &alice,
        RuntimeCall::System(frame_system::Call::authorize_upgrade { code_hash }),
    )
    .await;
    let cursor = Cell::new(from);
    within(&net, "the root referendum authorizes the upgrade", 3 * MINUTE, || async {
        harness::scan_finalized(&alice, &cursor, |event| match event {
            RuntimeEvent::System(frame_system::Event::UpgradeAuthorized {
                code_hash: h, ..
            }) if *h == code_hash => Some(()),
            _ => None,
        })
        .await
    })
    .await;
    let apply = RuntimeCall::System(frame_system::Call::apply_authorized_upgrade {
        code: upgrade.to_vec(),
    });
    let applied = submit_and_wait_in_block(&alice, &sign(&alice, ferdie, apply).await).await;
    let applied_at = harness::header_number_of(&alice, applied).await;
    let expected = u64::from(provena_runtime::SPEC_VERSION + 1);
    let names: Vec<String> =
        net.nodes.values().filter(|n| n.alive()).map(|n| n.name.clone()).collect();
    for name in names {
        let c = net.node(&name).client().await;
        within(&net, &format!("{name} runs spec {expected}"), 2 * MINUTE, || async {
            let v: serde_json::Value =
                c.request("state_getRuntimeVersion", jsonrpsee::rpc_params![]).await.ok()?;
            (v["specVersion"].as_u64() == Some(expected)).then_some(())
        })
        .await;
    }
    within(&net, "finality continues after the upgrade", 2 * MINUTE, || async {
        (finalized(&alice).await.0 >= applied_at + 3).then_some(())
    })
    .await;
    governance::items_after_upgrade(&alice, &before_upgrade).await;
    eprintln!("6: upgraded to spec {expected} by referendum ({:?})", started.elapsed());

    // The staking pallets' invariants on the final finalized state, from storage (the
    // production node has no try-runtime API): see `harness::check_staking_invariants`.
    let (_, head) = finalized(&alice).await;
    harness::check_staking_invariants(&alice, head, eth_rounding).await;
    eprintln!("invariants hold at the finalized head; done in {:?}", started.elapsed());
}

/// Not a test but a measurement (run by hand, see README "Run a network"): the resident memory
/// of a full node following the four-validator network for ten minutes, sampled every 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a ten-minute measurement, not a check; run with --ignored --nocapture"]
async fn full_node_memory_following_four_validators() {
    let mut net = Network::from_readme(&RECIPE_NODES);
    let alice = net.node("alice").client().await;
    let dave = Sr25519Keyring::Dave.to_account_id();
    harness::join_as_validator(&mut net, "dave", Sr25519Keyring::Dave, &alice).await;
    within(&net, "Dave is elected", 3 * MINUTE, || async {
        session_validators(&alice, None).await.contains(&dave).then_some(())
    })
    .await;
    let pid = net.add_node("full", &[]).pid;
    let full = net.node("full").client().await;
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < 10 * MINUTE {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        samples.push(rss_kib);
        eprintln!(
            "{:>4}s  full node RSS {:>6.1} MiB  finalized #{}",
            start.elapsed().as_secs(),
            rss_kib as f64 / 1024.0,
            finalized(&full).await.0
        );
    }
    let max = samples.iter().max().copied().unwrap_or(0);
    let mean = samples.iter().sum::<u64>() / samples.len().max(1) as u64;
    eprintln!(
        "full node over 10 minutes: max RSS {:.1} MiB, mean {:.1} MiB ({} samples)",
        max as f64 / 1024.0,
        mean as f64 / 1024.0,
        samples.len()
    );
}
