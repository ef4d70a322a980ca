//! Agents on a real `provena-node --dev`, read back through the `agents_*` RPC: an agent bonds,
//! two accounts delegate and one of them unbonds; root slashes the agent, the slash waits its
//! two-era deferral (an era is 10 blocks on a dev chain), then anyone applies it and it falls on
//! the agent's own bond, the delegation and the unbonding stake by the same fraction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::{
    pallet_sudo,
    sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie},
    sp_runtime::Perbill,
};
use provena_primitives::{currency::OPEN, ContributionId, ModelId};
use provena_runtime::{RuntimeCall, RuntimeEvent};
use serde_json::Value;

/// An amount of OPEN as the RPC writes it.
fn open(n: u128) -> Value {
    Value::String((n * OPEN).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_bond_delegate_and_are_slashed_with_their_unbonding_delegators() {
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

    // Ferdie registers as an agent serving model 0; Dave and Eve delegate; Eve unbonds.
    let agents = |call| RuntimeCall::Agents(call);
    let register = agents(pallet_agents::Call::register_agent {
        models: vec![ModelId(0)],
        endpoint: b"http://127.0.0.1:8000".to_vec(),
        metadata: b"ipfs://agent-card".to_vec(),
        bond: 2_000 * OPEN,
        commission: Perbill::from_percent(10),
    });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, register).await).await).await;
    let ferdie = Ferdie.to_account_id();
    let delegate = |amount| agents(pallet_agents::Call::delegate { agent: ferdie.clone(), amount });
    let dave = sign(&c, Dave, delegate(1_000 * OPEN)).await;
    let eve = sign(
        &c,
        Eve,
        batch(vec![
            delegate(1_000 * OPEN),
            agents(pallet_agents::Call::undelegate { agent: ferdie.clone(), amount: u128::MAX }),
        ]),
    )
    .await;
    succeeded(&c, submit_and_wait_in_block(&c, &dave).await).await;
    succeeded(&c, submit_and_wait_in_block(&c, &eve).await).await;

    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(agent["ownStake"], open(2_000), "{agent}");
    assert_eq!(agent["totalStake"], open(3_000), "{agent}");
    assert_eq!(agent["unbonding"], open(1_000), "{agent}");
    assert_eq!(agent["delegators"], 2, "{agent}");
    assert_eq!(agent["commission"], 100_000_000, "{agent}");
    assert_eq!(agent["status"], "active", "{agent}");
    let page: Value = c.request("agents_getAgents", rpc_params![Value::Null, 10]).await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    let bad: Result<Value, _> =
        c.request("agents_getAgents", rpc_params![Value::Null, 1_001]).await;
    assert!(bad.is_err(), "a page above the limit is refused");

    // Root (Sudo on a dev chain) slashes 10%: queued for two eras, the agent chilled.
    let slash = agents(pallet_agents::Call::slash {
        agent: ferdie.clone(),
        fraction: Perbill::from_percent(10),
    });
    let sudo = RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(slash) });
    let evs = succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, sudo).await).await).await;
    let apply_at = evs
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::Agents(pallet_agents::Event::SlashQueued { apply_at, .. }) => {
                Some(*apply_at)
            }
            _ => None,
        })
        .expect("the slash is queued");
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(agent["pendingSlashes"][0]["applyAt"], apply_at, "{agent}");
    assert!(agent["status"]["chilled"]["fault"].as_bool().unwrap(), "{agent}");

    // Once its era has come, anyone applies it: 10% of 3,000 active and 1,000 unbonding.
    // `configs::AgentEra` on a dev chain: a governance day is one block, an era at least 10.
    let era_length = 10;
    wait_for_best(&c, apply_at * era_length, Duration::from_secs(300)).await;
    let apply = agents(pallet_agents::Call::apply_slashes { agent: ferdie.clone() });
    let evs = succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Bob, apply).await).await).await;
    assert!(
        evs.iter().any(|e| matches!(
            e,
            RuntimeEvent::Agents(pallet_agents::Event::Slashed { amount, .. }) if *amount == 400 * OPEN
        )),
        "{evs:?}"
    );
    let agent: Value = c.request("agents_getAgent", rpc_params![ferdie.to_string()]).await.unwrap();
    assert_eq!(agent["ownStake"], open(1_800), "{agent}");
    assert_eq!(agent["pendingSlashes"], Value::Array(vec![]), "{agent}");
    let dave: Value = c
        .request(
            "agents_getDelegation",
            rpc_params![ferdie.to_string(), Dave.to_account_id().to_string()],
        )
        .await
        .unwrap();
    assert_eq!(dave["stake"], open(900), "{dave}");
    let eve: Value = c
        .request(
            "agents_getDelegation",
            rpc_params![ferdie.to_string(), Eve.to_account_id().to_string()],
        )
        .await
        .unwrap();
    assert_eq!(eve["stake"], open(0), "{eve}");
    assert_eq!(eve["unlocking"][0]["value"], open(900), "unbonding stake is slashed too: {eve}");
    let members: Value = c
        .request("agents_getDelegations", rpc_params![ferdie.to_string(), Value::Null, 10])
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 3, "{members}");
}
