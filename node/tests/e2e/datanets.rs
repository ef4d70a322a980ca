//! Datanets end to end on a real `provena-node --dev`: create a datanet, two contributors,
//! a curator accepts one and slashes the other, a snapshot is published; balances, events and
//! the `datanets_*` RPC (the runtime API) are checked, and the snapshot proof is verified
//! independently against the on-chain root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use codec::Encode;
use jsonrpsee::{core::client::ClientT, rpc_params};
use pallet_datanets::{Event as DatanetEvent, Verdict};
use polkadot_sdk::{sp_core::H256, sp_keyring::Sr25519Keyring};
use provena_primitives::datanets::Visibility;
use provena_primitives::ContributionId;
use provena_runtime::{
    configs::{ContributionDeposit, DatanetDeposit, MinContributionStake},
    RuntimeCall, RuntimeEvent,
};
use serde_json::Value;

fn datanet_events(events: &[RuntimeEvent]) -> Vec<DatanetEvent<provena_runtime::Runtime>> {
    events
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::Datanets(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datanet_lifecycle_over_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    let (alice, bob, charlie, dave) =
        (Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave);
    let stake = 5 * MinContributionStake::get();

    // Alice creates a public datanet and appoints Dave as curator (one batch).
    let create = RuntimeCall::Datanets(pallet_datanets::Call::create_datanet {
        name: b"Solidity audits".to_vec(),
        description_uri: b"ipfs://bafy-desc".to_vec(),
        domain: b"solidity".to_vec(),
        license: b"CC-BY-4.0".to_vec(),
        visibility: Visibility::Public,
        contribution_stake: stake,
        max_contribution_bytes: 1 << 20,
    });
    let curator = RuntimeCall::Datanets(pallet_datanets::Call::add_curator {
        datanet: 0,
        curator: dave.to_account_id(),
    });
    let batch = RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all {
        calls: vec![create, curator],
    });
    let block = submit_and_wait_in_block(&c, &sign(&c, alice, batch).await).await;
    let created = datanet_events(&events(&c, block).await);
    assert_eq!(
        created,
        vec![
            DatanetEvent::DatanetCreated {
                datanet: 0,
                owner: alice.to_account_id(),
                visibility: Visibility::Public,
                contribution_stake: stake
            },
            DatanetEvent::CuratorAdded { datanet: 0, curator: dave.to_account_id() },
        ]
    );

    // Bob and Charlie contribute.
    let bob_before = free_balance(&c, &bob.to_account_id(), None).await;
    let charlie_before = free_balance(&c, &charlie.to_account_id(), None).await;
    for (who, byte) in [(bob, 1u8), (charlie, 2u8)] {
        let call = RuntimeCall::Datanets(pallet_datanets::Call::contribute {
            datanet: 0,
            content_hash: H256::repeat_byte(byte),
            byte_size: 4_096,
            token_count: 1_000,
            metadata_uri: b"ipfs://meta".to_vec(),
            license: vec![],
            max_stake: u128::MAX,
        });
        let block = submit_and_wait_in_block(&c, &sign(&c, who, call).await).await;
        assert!(matches!(
            datanet_events(&events(&c, block).await)[..],
            [DatanetEvent::ContributionSubmitted { .. }]
        ));
    }

    // Dave accepts Bob's and slashes Charlie's.
    for (id, verdict) in [(0u64, Verdict::Accept { quality: 90 }), (1, Verdict::Slash)] {
        let call = RuntimeCall::Datanets(pallet_datanets::Call::review {
            contribution: ContributionId(id),
            verdict,
        });
        submit_and_wait_in_block(&c, &sign(&c, dave, call).await).await;
    }

    // Alice publishes snapshot 1; wait for it to be final.
    let publish = RuntimeCall::Datanets(pallet_datanets::Call::publish_snapshot { datanet: 0 });
    let block = submit_and_wait_finalized(&c, &sign(&c, alice, publish).await).await;
    let published = datanet_events(&events(&c, block).await);
    let DatanetEvent::SnapshotPublished { version: 1, root, contributions: 1, .. } = published[0]
    else {
        panic!("{published:?}")
    };

    // Balances: Charlie lost the stake (and fees) but got the storage deposit back with his
    // slashed contribution's record; Bob's stake (lock-up) and deposit are still held.
    let at = Some(block);
    let bob_now = free_balance(&c, &bob.to_account_id(), at).await;
    let charlie_now = free_balance(&c, &charlie.to_account_id(), at).await;
    let held = stake + ContributionDeposit::get();
    assert!(bob_before - bob_now >= held && bob_before - bob_now < held + stake / 10);
    assert!(
        charlie_before - charlie_now >= stake && charlie_before - charlie_now < held,
        "{charlie_before} − {charlie_now}"
    );
    let alice_deposit = DatanetDeposit::get();
    assert!(alice_deposit > 0);

    // The RPC (runtime API) agrees.
    let dn: Value = c
        .request("datanets_getDatanet", rpc_params![0, Some(to_hex(block.as_bytes()))])
        .await
        .unwrap();
    assert_eq!(dn["name"], "Solidity audits");
    assert_eq!(account(&dn["owner"]), alice.to_account_id());
    // The slashed pending contribution left the state.
    assert_eq!(dn["contributionCount"], 1);
    assert_eq!(dn["acceptedCount"], 1);
    assert_eq!(dn["snapshotCount"], 1);
    assert_eq!(dn["rewardPool"], stake.to_string());
    assert_eq!(account(&dn["curators"][0]), dave.to_account_id());

    let page: Value = c.request("datanets_getContributions", rpc_params![0, 0, 10]).await.unwrap();
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(account(&page[0]["contributor"]), bob.to_account_id());
    assert_eq!(page[0]["status"], serde_json::json!({"Accepted": {"quality": 90}}));
    assert_eq!(page[0]["stakeHeld"], stake.to_string());
    let mine: Value = c
        .request(
            "datanets_getContributionsOf",
            rpc_params![charlie.to_account_id().to_string(), 0, 10],
        )
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 0);
    let err = c
        .request::<Value, _>("datanets_getContributions", rpc_params![0, 0, 100_000])
        .await
        .expect_err("page limit enforced");
    assert!(err.to_string().contains("limit"), "{err}");

    let snapshot: Value = c.request("datanets_getSnapshot", rpc_params![0, 1]).await.unwrap();
    assert_eq!(h256(&snapshot["root"]), root);
    assert_eq!(snapshot["members"], serde_json::json!([0]));

    // The proof verifies against the on-chain root with an independent verifier, and its
    // leaf is exactly (id, content hash, contributor).
    let proof: Value = c.request("datanets_getSnapshotProof", rpc_params![0, 1, 0]).await.unwrap();
    assert!(verify_proof_json(root, &proof), "{proof}");
    assert_eq!(
        from_hex(proof["leaf"].as_str().unwrap()),
        (0u64, H256::repeat_byte(1), bob.to_account_id()).encode()
    );
    let none: Value = c.request("datanets_getSnapshotProof", rpc_params![0, 1, 1]).await.unwrap();
    assert!(none.is_null(), "a slashed contribution is not in the snapshot");
}
