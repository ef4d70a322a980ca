//! Models end to end on a real `provena-node --dev`: a datanet snapshot, a model registered as
//! trained on it, its token launched, two accounts buy and one sells; every balance change is
//! checked against the `models_*` RPC quotes, and the token's state against the trades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use pallet_models::{Event as ModelEvent, ModelKindArg};
use polkadot_sdk::{
    frame_system, sp_core::H256, sp_keyring::Sr25519Keyring, sp_runtime::DispatchError,
    sp_runtime::Permill,
};
use provena_primitives::{bonding_curve::TOKEN_UNIT, currency::OPEN, datanets::Visibility};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{
    configs::{Curve, MinContributionStake, TreasuryAccount},
    Balance, Runtime, RuntimeCall, RuntimeEvent,
};
use serde_json::Value;

fn model_events(events: &[RuntimeEvent]) -> Vec<ModelEvent<Runtime>> {
    events
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::Models(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

async fn quote(c: &WsClient, method: &str, tokens: Balance) -> Value {
    c.request(method, rpc_params![0, tokens.to_string()]).await.unwrap()
}

async fn holding(c: &WsClient, who: Sr25519Keyring) -> Balance {
    let h: Value = c
        .request("models_getHolding", rpc_params![0, who.to_account_id().to_string()])
        .await
        .unwrap();
    amount(&h["balance"])
}

/// `who` runs `call`; returns the block and `who`'s free-balance change net of the fee.
async fn trade(
    c: &WsClient,
    who: Sr25519Keyring,
    call: RuntimeCall,
) -> (H256, i128, Vec<RuntimeEvent>) {
    let account = who.to_account_id();
    let before = free_balance(c, &account, None).await;
    let block = submit_and_wait_in_block(c, &sign(c, who, call).await).await;
    let events = events(c, block).await;
    let after = free_balance(c, &account, Some(block)).await;
    let fee = fee_paid(&events, &account);
    (block, after as i128 - before as i128 + fee as i128, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_token_lifecycle_over_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    let (alice, charlie, dave, eve) =
        (Sr25519Keyring::Alice, Sr25519Keyring::Charlie, Sr25519Keyring::Dave, Sr25519Keyring::Eve);

    // Alice creates a datanet, contributes, accepts and publishes snapshot 1 (one batch).
    let datanet = |call| RuntimeCall::Datanets(call);
    let calls = vec![
        datanet(pallet_datanets::Call::create_datanet {
            name: b"Solidity".to_vec(),
            description_uri: vec![],
            domain: b"solidity".to_vec(),
            license: b"MIT".to_vec(),
            visibility: Visibility::Public,
            contribution_stake: MinContributionStake::get(),
            max_contribution_bytes: 1 << 20,
        }),
        datanet(pallet_datanets::Call::contribute {
            datanet: 0,
            content_hash: H256::repeat_byte(1),
            byte_size: 1_000,
            token_count: 250,
            metadata_uri: vec![],
            license: vec![],
            max_stake: u128::MAX,
        }),
        datanet(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 95 },
        }),
        datanet(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ];
    let batch = RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all { calls });
    submit_and_wait_in_block(&c, &sign(&c, alice, batch).await).await;

    // Charlie registers a LoRA-ready base model trained on it and launches its token.
    let register = RuntimeCall::Models(pallet_models::Call::register_model {
        kind: ModelKindArg::Base,
        weights_hash: H256::repeat_byte(0xaa),
        training_config_hash: H256::repeat_byte(0xbb),
        trained_on: vec![(0, 1)],
        price_per_1k_tokens: OPEN / 1_000,
        developer_share: Permill::from_percent(40),
        metadata_uri: b"ipfs://model-card".to_vec(),
        predecessor: None,
    });
    let launch = RuntimeCall::Models(pallet_models::Call::launch_token { model: ModelId(0) });
    let batch = RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all {
        calls: vec![register, launch],
    });
    let block = submit_and_wait_in_block(&c, &sign(&c, charlie, batch).await).await;
    let evs = model_events(&events(&c, block).await);
    assert!(
        matches!(
            evs[..],
            [
                ModelEvent::ModelRegistered { model: ModelId(0), .. },
                ModelEvent::TokenLaunched { model: ModelId(0), .. }
            ]
        ),
        "{evs:?}"
    );

    let model: Value = c.request("models_getModel", rpc_params![0]).await.unwrap();
    assert_eq!(account(&model["owner"]), charlie.to_account_id());
    assert_eq!(model["trainedOn"], serde_json::json!([[0, 1]]));
    assert_eq!(model["status"], "Active");
    assert_eq!(model["hasToken"], true);
    assert_eq!(model["developerSharePpm"], 400_000);
    let by_weights: Value = c
        .request("models_getModelByWeights", rpc_params![format!("0x{}", "aa".repeat(32))])
        .await
        .unwrap();
    assert_eq!(by_weights, 0);

    // Dave buys 10M tokens for exactly the quoted amount.
    let lot = 10_000_000 * TOKEN_UNIT;
    let q = quote(&c, "models_quoteBuy", lot).await;
    let dave_cost = amount(&q["traderAmount"]);
    let dave_curve = amount(&q["curveAmount"]);
    let treasury_before = free_balance(&c, &TreasuryAccount::get(), None).await;
    let buy = |tokens, max_cost| {
        RuntimeCall::Models(pallet_models::Call::buy {
            model: ModelId(0),
            tokens,
            max_cost,
            deadline: 10_000,
        })
    };
    let (block, delta, _) = trade(&c, dave, buy(lot, dave_cost)).await;
    assert_eq!(delta, -(dave_cost as i128));
    assert_eq!(holding(&c, dave).await, lot);
    assert_eq!(
        free_balance(&c, &TreasuryAccount::get(), Some(block)).await - treasury_before,
        amount(&q["fee"])
    );

    // Eve buys the same amount: the price rose.
    let q = quote(&c, "models_quoteBuy", lot).await;
    let eve_cost = amount(&q["traderAmount"]);
    assert!(eve_cost > dave_cost, "{eve_cost} > {dave_cost}");
    // A max_cost one unit too low fails with SlippageExceeded and moves nothing but the fee.
    let (_, delta, evs) = trade(&c, eve, buy(lot, eve_cost - 1)).await;
    assert_eq!(delta, 0);
    let expected: DispatchError = pallet_models::Error::<Runtime>::SlippageExceeded.into();
    assert!(
        evs.iter().any(|e| matches!(e,
            RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { dispatch_error, .. })
                if *dispatch_error == expected)),
        "{evs:?}"
    );
    let (_, delta, _) = trade(&c, eve, buy(lot, eve_cost)).await;
    assert_eq!(delta, -(eve_cost as i128));
    let eve_curve = amount(&q["curveAmount"]);

    // Dave sells 4M tokens for at least the quote.
    let sold = 4_000_000 * TOKEN_UNIT;
    let q = quote(&c, "models_quoteSell", sold).await;
    let proceeds = amount(&q["traderAmount"]);
    let sell = RuntimeCall::Models(pallet_models::Call::sell {
        model: ModelId(0),
        tokens: sold,
        min_out: proceeds,
        deadline: 10_000,
    });
    let (_, delta, _) = trade(&c, dave, sell).await;
    assert_eq!(delta, proceeds as i128);
    assert_eq!(holding(&c, dave).await, lot - sold);
    assert_eq!(holding(&c, eve).await, lot);

    // The token's state is exactly the sum of the trades.
    let token: Value = c.request("models_getToken", rpc_params![0]).await.unwrap();
    assert_eq!(amount(&token["state"]["sold"]), 2 * lot - sold);
    assert_eq!(
        amount(&token["state"]["reserve"]),
        dave_curve + eve_curve - amount(&q["curveAmount"])
    );
    assert_eq!(token["phase"], "Trading");
    assert_eq!(token["holders"], 2);
    assert_eq!(amount(&token["params"]["curveSupply"]), Curve::get().curve_supply);
    let reserve_account_free = free_balance(&c, &account(&token["account"]), None).await;
    assert!(reserve_account_free > 0, "the token account keeps its floor");

    // Quote errors are named; bad parameters get invalid-params errors.
    let spend: Value =
        c.request("models_quoteSpend", rpc_params![0, (100 * OPEN).to_string()]).await.unwrap();
    assert!(amount(&spend["traderAmount"]) <= 100 * OPEN);
    let err = c
        .request::<Value, _>("models_quoteSell", rpc_params![0, (100 * lot).to_string()])
        .await
        .expect_err("cannot sell more than was sold");
    assert!(err.to_string().contains("ExceedsSold"), "{err}");
    let err = c
        .request::<Value, _>("models_quoteBuy", rpc_params![7, "1"])
        .await
        .expect_err("no such token");
    assert!(err.to_string().contains("NoToken"), "{err}");
    let err = c
        .request::<Value, _>("models_quoteBuy", rpc_params![0, "-5"])
        .await
        .expect_err("not an amount");
    assert!(err.to_string().contains("tokens must be a decimal"), "{err}");
}
