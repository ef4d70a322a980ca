//! Proof of Attribution end to end on a real `provena-node --dev`: a datanet with two
//! accepted contributions, a model trained on its snapshot, an operator added by sudo, a
//! user-signed voucher, a receipt submitted by the operator; the challenge window passes,
//! every party is paid, and the balances match the split to the base unit. The
//! `attribution_*` RPC answers are checked along the way, and the receipt's epoch proof is
//! verified independently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use codec::Encode;
use jsonrpsee::{core::client::ClientT, rpc_params};
use pallet_attribution::{Event as AttributionEvent, ReceiptInput};
use polkadot_sdk::{
    sp_core::{Pair, H256},
    sp_keyring::Sr25519Keyring,
    sp_runtime::MultiSignature,
};
use provena_primitives::{
    attribution::{voucher_anchor, voucher_payload, Payee, Voucher},
    currency::{MILLI_OPEN, OPEN},
    datanets::Visibility,
};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{
    configs::{MinContributionStake, TreasuryAccount},
    AccountId, Runtime, RuntimeCall, RuntimeEvent,
};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_inference_pays_every_party_over_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    use Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie};

    // A datanet: Alice's contribution 0 and Bob's contribution 1, accepted, snapshot 1.
    let dn = |call| RuntimeCall::Datanets(call);
    let contribute = |byte| {
        dn(pallet_datanets::Call::contribute {
            datanet: 0,
            content_hash: H256::repeat_byte(byte),
            byte_size: 100,
            token_count: 25,
            metadata_uri: vec![],
            license: vec![],
            max_stake: u128::MAX,
        })
    };
    let create = batch(vec![
        dn(pallet_datanets::Call::create_datanet {
            name: b"Solidity".to_vec(),
            description_uri: vec![],
            domain: b"solidity".to_vec(),
            license: b"MIT".to_vec(),
            visibility: Visibility::Public,
            contribution_stake: MinContributionStake::get(),
            max_contribution_bytes: 1 << 20,
        }),
        contribute(1),
    ]);
    submit_and_wait_in_block(&c, &sign(&c, Alice, create).await).await;
    submit_and_wait_in_block(&c, &sign(&c, Bob, contribute(2)).await).await;
    let accept = |id| {
        dn(pallet_datanets::Call::review {
            contribution: id,
            verdict: pallet_datanets::Verdict::Accept { quality: 90 },
        })
    };
    let publish = batch(vec![
        accept(ContributionId(0)),
        accept(ContributionId(1)),
        dn(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ]);
    submit_and_wait_in_block(&c, &sign(&c, Alice, publish).await).await;

    // Charlie's model, trained on it: 1 OPEN per 1,000 tokens, 40% developer share.
    submit_and_wait_in_block(&c, &sign(&c, Charlie, register_base_model()).await).await;

    // Ferdie becomes an operator: an agent serving model 0, keeping half of what it earns as
    // commission.
    let register = register_agent(
        vec![ModelId(0)],
        1_000 * OPEN,
        polkadot_sdk::sp_runtime::Perbill::from_percent(50),
    );
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, register).await).await).await;

    // Dave signs a voucher; the RPC gives the same bytes to sign as the documented rule.
    let genesis: Value = c.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
    let voucher = Voucher::<AccountId, u32> {
        request_id: H256::repeat_byte(0x42),
        model: ModelId(0),
        max_fee: 2 * OPEN,
        operator: Ferdie.to_account_id(),
        // Within the hour a voucher may live (blocks are 6 s; this test starts at block 0).
        expires_at: 500,
    };
    // Its anchor: block `expires_at − MaxVoucherLifetime − 1`, here the genesis.
    let lifetime = <Runtime as pallet_attribution::Config>::MaxVoucherLifetime::get();
    let anchor: Value = c
        .request("chain_getBlockHash", rpc_params![voucher_anchor(voucher.expires_at, lifetime)])
        .await
        .unwrap();
    let payload = voucher_payload(&h256(&genesis), &h256(&anchor), &voucher);
    let rpc_payload: String = c
        .request(
            "attribution_voucherPayload",
            rpc_params![json!({
                "requestId": format!("0x{}", "42".repeat(32)),
                "model": 0,
                "maxFee": (2 * OPEN).to_string(),
                "operator": Ferdie.to_account_id().to_string(),
                "expiresAt": 500,
            })],
        )
        .await
        .unwrap();
    assert_eq!(from_hex(&rpc_payload), payload);
    let signature = MultiSignature::Sr25519(Dave.pair().sign(&payload));

    // Ferdie submits the receipt: 600 + 400 tokens → fee 1 OPEN, attributed 3/4 to
    // contribution 0 and 1/4 to contribution 1.
    let dave_before = free_balance(&c, &Dave.to_account_id(), None).await;
    let receipt = ReceiptInput::<Runtime> {
        voucher,
        user: Dave.to_account_id(),
        signature: Some(signature),
        model: ModelId(0),
        input_tokens: 600,
        output_tokens: 400,
        attribution: vec![(ContributionId(0), 750_000), (ContributionId(1), 250_000)],
        pool: None,
        retrieved_from: None,
        evidence_hash: H256::repeat_byte(0xee),
    };
    let submit = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts {
        receipts: vec![receipt],
    });
    let block = submit_and_wait_in_block(&c, &sign(&c, Ferdie, submit).await).await;
    let evs = events(&c, block).await;
    let (epoch, event_leaf) = evs
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::Attribution(AttributionEvent::ReceiptSubmitted {
                receipt: 0,
                fee,
                epoch,
                leaf,
                ..
            }) => {
                assert_eq!(*fee, OPEN);
                Some((*epoch, *leaf))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ReceiptSubmitted in {evs:?}"));
    assert_eq!(dave_before - free_balance(&c, &Dave.to_account_id(), Some(block)).await, OPEN);

    // The RPC shows the receipt, its split, and the pending rewards.
    let r: Value = c.request("attribution_getReceipt", rpc_params![0]).await.unwrap();
    assert_eq!(account(&r["user"]), Dave.to_account_id());
    assert_eq!(r["fee"], OPEN.to_string());
    assert_eq!(r["attribution"], json!([[0, 750_000], [1, 250_000]]));
    assert_eq!(r["status"], "Pending");
    let claimable_at = r["claimableAt"].as_u64().unwrap() as u32;
    let by_model: Value =
        c.request("attribution_getReceiptsByModel", rpc_params![0, 0, 10]).await.unwrap();
    assert_eq!(by_model.as_array().unwrap().len(), 1);
    let by_contribution: Value = c
        .request("attribution_getReceiptsByContribution", rpc_params![1, 0, 100, 10])
        .await
        .unwrap();
    assert_eq!(by_contribution[0]["id"], 0);
    let alice: Value = c
        .request("attribution_getRewards", rpc_params![Alice.to_account_id().to_string()])
        .await
        .unwrap();
    assert_eq!(alice["contributions"][0]["contribution"], 0);
    assert_eq!(amount(&alice["contributions"][0]["pending"]), 375 * MILLI_OPEN);
    let err = c
        .request::<Value, _>("attribution_getReceiptsByModel", rpc_params![0, 0, 0])
        .await
        .expect_err("limit checked");
    assert!(err.to_string().contains("limit"), "{err}");

    // After the window, Eve claims for everyone; each party gets its exact part.
    wait_for_best(&c, claimable_at, Duration::from_secs(180)).await;
    let parties = [
        Alice.to_account_id(),
        Bob.to_account_id(),
        Charlie.to_account_id(),
        Ferdie.to_account_id(),
        TreasuryAccount::get(),
    ];
    let mut before = Vec::new();
    for p in &parties {
        before.push(free_balance(&c, p, None).await);
    }
    let payees = vec![
        Payee::Contribution(ContributionId(0)),
        Payee::Contribution(ContributionId(1)),
        Payee::Account(Charlie.to_account_id()),
        Payee::ModelHolders(ModelId(0)),
        Payee::Agent(Ferdie.to_account_id()),
        Payee::Account(TreasuryAccount::get()),
    ];
    let claim = RuntimeCall::Attribution(pallet_attribution::Call::claim_rewards { payees });
    let block = submit_and_wait_in_block(&c, &sign(&c, Eve, claim).await).await;
    let mut gained = Vec::new();
    for (p, b) in parties.iter().zip(&before) {
        gained.push(free_balance(&c, p, Some(block)).await - b);
    }
    // Contributors 50% by weight; developer 40% of the model's 30% plus the holders' 60% of
    // it (no token); operator 15%, half of it the agent's commission, the other half its
    // stakers' (Ferdie alone), waiting in the agents pallet; treasury 5%.
    assert_eq!(
        gained,
        vec![
            375 * MILLI_OPEN,
            125 * MILLI_OPEN,
            300 * MILLI_OPEN,
            75 * MILLI_OPEN,
            50 * MILLI_OPEN
        ]
    );
    let own: Value = c
        .request(
            "agents_getDelegation",
            rpc_params![Ferdie.to_account_id().to_string(), Ferdie.to_account_id().to_string()],
        )
        .await
        .unwrap();
    assert_eq!(amount(&own["pendingRewards"]), 75 * MILLI_OPEN, "{own}");
    let ferdie: Value = c
        .request("attribution_getRewards", rpc_params![Ferdie.to_account_id().to_string()])
        .await
        .unwrap();
    assert_eq!(amount(&ferdie["agent"]["claimed"]), 150 * MILLI_OPEN, "{ferdie}");
    let alice: Value = c
        .request("attribution_getRewards", rpc_params![Alice.to_account_id().to_string()])
        .await
        .unwrap();
    assert_eq!(amount(&alice["contributions"][0]["claimed"]), 375 * MILLI_OPEN);
    assert_eq!(amount(&alice["contributions"][0]["pending"]), 0);

    // The receipt's epoch closed; its proof verifies against the root, and its leaf is the
    // documented keccak256(SCALE(id, receipt)), as its event says.
    let epoch_info: Value = c.request("attribution_getEpoch", rpc_params![epoch]).await.unwrap();
    let root = h256(&epoch_info["root"]);
    let proof: Value = c.request("attribution_getReceiptProof", rpc_params![0]).await.unwrap();
    assert!(verify_proof_json(root, &proof["proof"]), "{proof}");
    let stored: Option<pallet_attribution::Receipt<Runtime>> =
        storage(&c, pallet_attribution::Receipts::<Runtime>::hashed_key_for(0u64), None).await;
    let leaf = polkadot_sdk::sp_crypto_hashing::keccak_256(&(0u64, stored.unwrap()).encode());
    assert_eq!(from_hex(proof["proof"]["leaf"].as_str().unwrap()), leaf.to_vec());
    // The event carries the same leaf: the record once the receipt has left the state.
    assert_eq!(event_leaf.0, leaf);
}
