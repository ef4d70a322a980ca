//! Agents on a real `provena-node --dev`, read back through the `agents_*` RPC (issue 19,
//! acceptance 3): an agent registers, two accounts delegate, the agent serves paid receipts and
//! everyone claims exactly their share of the operator's part; one delegator unbonds; the agent
//! lets its on-chain jobs expire (no inference worker is attached to the dev node) past the
//! documented threshold and is slashed and chilled by the chain itself; root slashes it too,
//! for a fault the chain cannot see; both slashes wait their two-era deferral (an era is 10
//! blocks on a dev chain) and then fall on the agent's own bond, the delegation and the
//! unbonding stake by the same fraction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::{
    pallet_sudo,
    sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Eve, Ferdie},
    sp_runtime::Perbill,
};
use provena_primitives::{
    agents::SlashReason, attribution::Payee, currency::OPEN, ContributionId, ModelId,
};
use provena_runtime::{AccountId, RuntimeCall, RuntimeEvent};
use serde_json::Value;

/// An amount of OPEN as the RPC writes it.
fn open(n: u128) -> Value {
    Value::String((n * OPEN).to_string())
}

/// What `RewardsPaid` paid `member` in `evs`.
fn paid_to(evs: &[RuntimeEvent], member: &AccountId) -> u128 {
    evs.iter()
        .filter_map(|e| match e {
            RuntimeEvent::Agents(pallet_agents::Event::RewardsPaid {
                member: m, amount, ..
            }) if m == member => Some(*amount),
            _ => None,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_paid_with_its_delegators_and_slashed_for_expired_jobs_with_the_unbonded() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;

    // Model 0 on datanet 0's snapshot 1.
    let setup = batch(vec![
        create_public_datanet("Agents"),
        contribute(0, 1),
        RuntimeCall::Datanets(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 90 },
        }),
        RuntimeCall::Datanets(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ]);
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, setup).await).await).await;
    succeeded(
        &c,
        submit_and_wait_in_block(&c, &sign(&c, Charlie, register_base_model()).await).await,
    )
    .await;

    // 1. Ferdie registers as an agent serving model 0 (own bond 2,000, commission 10%) and as
    // the operator of its base for on-chain jobs; Dave and Eve delegate 1,000 each.
    let agents = |call| RuntimeCall::Agents(call);
    let register = batch(vec![
        register_agent(vec![ModelId(0)], 2_000 * OPEN, Perbill::from_percent(10)),
        RuntimeCall::Inference(pallet_inference::Call::register_operator {
            bases: vec![ModelId(0)],
        }),
    ]);
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, register).await).await).await;
    let ferdie = Ferdie.to_account_id();
    let delegate = |amount| agents(pallet_agents::Call::delegate { agent: ferdie.clone(), amount });
    let (dave, eve) =
        (sign(&c, Dave, delegate(1_000 * OPEN)).await, sign(&c, Eve, delegate(1_000 * OPEN)).await);
    succeeded(&c, submit_and_wait_in_block(&c, &dave).await).await;
    succeeded(&c, submit_and_wait_in_block(&c, &eve).await).await;
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(agent["ownStake"], open(2_000), "{agent}");
    assert_eq!(agent["totalStake"], open(4_000), "{agent}");
    assert_eq!(agent["delegators"], 2, "{agent}");
    assert_eq!(agent["commission"], 100_000_000, "{agent}");
    assert_eq!(agent["status"], "active", "{agent}");
    let page: Value = c.request("agents_getAgents", rpc_params![Value::Null, 10]).await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    let bad: Result<Value, _> =
        c.request("agents_getAgents", rpc_params![Value::Null, 1_001]).await;
    assert!(bad.is_err(), "a page above the limit is refused");

    // 2. Ferdie serves two paid receipts (Bob's vouchers, 1 OPEN each); the operator's 15% is
    // owed to it as an agent.
    let receipts = vec![served_by_ferdie(&c, Bob, 1).await, served_by_ferdie(&c, Bob, 2).await];
    let submit = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts { receipts });
    let evs =
        succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, submit).await).await).await;
    let operator_part: u128 = evs
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::Attribution(pallet_attribution::Event::ReceiptSubmitted {
                receipt,
                ..
            }) => Some(*receipt),
            _ => None,
        })
        .map(|_| 15 * OPEN / 100)
        .sum();
    assert_eq!(operator_part, 30 * OPEN / 100, "two receipts settled: {evs:?}");
    let rewards: Value =
        c.request("attribution_getRewards", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(amount(&rewards["agent"]["pending"]), operator_part, "{rewards}");
    let first: Value = c.request("attribution_getReceipt", rpc_params![0]).await.unwrap();
    let claimable_at = first["claimableAt"].as_u64().unwrap() as u32;
    // Its work is counted in its performance of this era.
    let performance: Value =
        c.request("agents_getPerformance", rpc_params![ferdie.to_string()]).await.unwrap();
    let now = performance.as_array().unwrap().last().unwrap()[1].clone();
    assert_eq!(now["receiptsSettled"], 2, "{performance}");
    assert_eq!(now["feesServed"], open(2), "{performance}");

    // 3. After the challenge window anyone claims the operator's part: 10% commission to
    // Ferdie, the rest shared by stake (2,000 : 1,000 : 1,000); each member claims exactly its
    // share.
    wait_for_best(&c, claimable_at, Duration::from_secs(240)).await;
    let claim = RuntimeCall::Attribution(pallet_attribution::Call::claim_rewards {
        payees: vec![Payee::Agent(ferdie.clone())],
    });
    let evs =
        succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, claim).await).await).await;
    let (commission, shared) = evs
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::Agents(pallet_agents::Event::Rewarded { commission, shared, .. }) => {
                Some((*commission, *shared))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Rewarded in {evs:?}"));
    assert_eq!(commission, operator_part / 10);
    assert_eq!(shared, operator_part - operator_part / 10);
    let claim = |_| agents(pallet_agents::Call::claim_rewards { agent: ferdie.clone() });
    let mut paid = Vec::new();
    for who in [Ferdie, Dave, Eve] {
        let evs =
            succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, who, claim(())).await).await)
                .await;
        paid.push(paid_to(&evs, &who.to_account_id()));
    }
    assert_eq!(paid, vec![shared / 2, shared / 4, shared / 4], "exactly each one's share");

    // 4. Eve unbonds all of her delegation: it is slashable until withdrawn.
    let undelegate =
        agents(pallet_agents::Call::undelegate { agent: ferdie.clone(), amount: u128::MAX });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Eve, undelegate).await).await).await;

    // 5. Dave asks ten on-chain questions; they are assigned to Ferdie, whose node has no
    // worker, so all ten expire together: ten jobs, all expired, past the documented threshold
    // (at least 10 jobs in an era, 20% expired). The chain slashes 5% and chills Ferdie.
    let ask = |n: u8| {
        RuntimeCall::Inference(pallet_inference::Call::request_inference {
            model: ModelId(0),
            prompt: vec![b'?'; usize::from(n) + 1],
            max_tokens: 8,
            max_fee: OPEN,
            rag: None,
        })
    };
    let start = best_number(&c).await;
    let evs = succeeded(
        &c,
        submit_and_wait_in_block(&c, &sign(&c, Dave, batch((0..10).map(ask).collect())).await)
            .await,
    )
    .await;
    let assigned = evs
        .iter()
        .filter(|e| {
            matches!(e, RuntimeEvent::Inference(pallet_inference::Event::JobRequested { operator, .. }) if *operator == ferdie)
        })
        .count();
    assert_eq!(assigned, 10, "{evs:?}");
    let (_, at) =
        wait_for_event(&c, start, Duration::from_secs(300), "the threshold slash", |e| match e {
            RuntimeEvent::Agents(pallet_agents::Event::SlashQueued {
                reason: SlashReason::JobExpiry,
                apply_at,
                ..
            }) => Some(*apply_at),
            _ => None,
        })
        .await;
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert!(agent["status"]["chilled"]["fault"].as_bool().unwrap(), "{agent}");
    assert_eq!(agent["pendingSlashes"][0]["reason"], "jobExpiry", "{agent}");
    let performance: Value =
        c.request("agents_getPerformance", rpc_params![ferdie.to_string()]).await.unwrap();
    let last = performance.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last[1]["jobsExpired"], 10, "{performance}");
    // A chilled agent is assigned nothing more.
    let refused = submit_and_wait_in_block(&c, &sign(&c, Dave, ask(42)).await).await;
    assert!(
        events(&c, refused).await.iter().any(|e| matches!(
            e,
            RuntimeEvent::System(polkadot_sdk::frame_system::Event::ExtrinsicFailed { .. })
        )),
        "no operator takes the job"
    );

    // 6. Root (Sudo on a dev chain) slashes a further 10% in the same era.
    let slash = agents(pallet_agents::Call::slash {
        agent: ferdie.clone(),
        fraction: Perbill::from_percent(10),
    });
    let sudo = RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(slash) });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, sudo).await).await).await;
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    let pending = agent["pendingSlashes"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{agent} (the first queued at block {at})");
    let apply_at = pending.iter().map(|s| s["applyAt"].as_u64().unwrap() as u32).max().unwrap();

    // 7. Once their era has come, anyone applies them: 5% then 10% of the 3,000 active
    // (Ferdie's 2,000 and Dave's 1,000) and of Eve's 1,000 unbonding.
    // `configs::AgentEra` on a dev chain: a governance day is one block, an era at least 10.
    let era_length = 10;
    wait_for_best(&c, apply_at * era_length, Duration::from_secs(300)).await;
    let apply = agents(pallet_agents::Call::apply_slashes { agent: ferdie.clone() });
    let evs = succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Bob, apply).await).await).await;
    let slashed: Vec<u128> = evs
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::Agents(pallet_agents::Event::Slashed { amount, .. }) => Some(*amount),
            _ => None,
        })
        .collect();
    assert_eq!(slashed, vec![200 * OPEN, 380 * OPEN], "{evs:?}");
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(agent["ownStake"], open(1_710), "{agent}");
    assert_eq!(agent["pendingSlashes"], Value::Array(vec![]), "{agent}");
    let delegation = |who: Sr25519Keyring| {
        let c = &c;
        let ferdie = ferdie.clone();
        async move {
            let v: Value = c
                .request(
                    "agents_getDelegation",
                    rpc_params![ferdie.to_string(), who.to_account_id().to_string()],
                )
                .await
                .unwrap();
            v
        }
    };
    let dave = delegation(Dave).await;
    assert_eq!(dave["stake"], open(855), "{dave}");
    let eve = delegation(Eve).await;
    assert_eq!(eve["stake"], open(0), "{eve}");
    assert_eq!(eve["unlocking"][0]["value"], open(855), "Eve unbonded, and is slashed too: {eve}");
    let members: Value = c
        .request("agents_getDelegations", rpc_params![ferdie.to_string(), Value::Null, 10])
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 3, "{members}");
}
