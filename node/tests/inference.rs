//! The Payable-AI loop on chain, end to end, with nobody in between: a real `provena-node --dev`
//! started with `--inference-worker-url`, a real inference worker serving SmolLM2 with an
//! attribution index built from the files whose content hashes the chain records, and a user who
//! asks a question on chain. The node's off-chain worker (Ferdie's development operator key)
//! sends the job to the worker and submits the answer; it becomes a receipt; after the challenge
//! window every party is paid its exact share, and the contribution whose text the answer
//! reproduces is the one credited. Then the worker is killed: the next job expires and the user
//! gets the whole `max_fee` back. The same node then runs the Model Factory ([`factory`]): a
//! LoRA adapter fine-tuned on a datanet snapshot, registered, served and paid for. Blocks keep
//! their slot throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

mod common;
#[path = "inference/factory.rs"]
mod factory;
#[path = "inference/paid.rs"]
mod paid;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use codec::Decode;
use common::*;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use paid::api_path;
use pallet_inference::Event as InferenceEvent;
use polkadot_sdk::{
    sp_core::H256, sp_crypto_hashing::twox_128, sp_keyring::Sr25519Keyring, sp_runtime::Permill,
};
use provena_primitives::{attribution::Payee, content_hash, currency::OPEN, datanets::Visibility};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{
    configs::{JobDeposit, TreasuryAccount},
    AccountId, RuntimeCall, RuntimeEvent,
};
use serde_json::{json, Value};

/// The two documents of the datanet: the first holds the answer SmolLM2 gives.
const PARIS: &str =
    "The capital of France is Paris. It lies on the Seine and is known for its museums.";
const BREAD: &str =
    "Bread needs flour, water, salt and yeast; knead it and let it rise for an hour.";
const QUESTION: &str = "Tell me the capital of France.";

/// `text` contributed to `datanet` (its content hash and size), declared as `tokens` tokens.
fn contribute_text(datanet: u32, text: &str, tokens: u64) -> RuntimeCall {
    RuntimeCall::Datanets(pallet_datanets::Call::contribute {
        datanet,
        content_hash: content_hash(text.as_bytes()),
        byte_size: text.len() as u64,
        token_count: tokens,
        metadata_uri: vec![],
        license: vec![],
        max_stake: u128::MAX,
    })
}

/// A curator's acceptance of contribution `id` (quality 90).
fn accept(id: ContributionId) -> RuntimeCall {
    RuntimeCall::Datanets(pallet_datanets::Call::review {
        contribution: id,
        verdict: pallet_datanets::Verdict::Accept { quality: 90 },
    })
}

/// A job over `inference_getJob`, polled until its status is `status`.
async fn wait_for_job(c: &WsClient, id: u64, status: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let job: Value = c.request("inference_getJob", rpc_params![id]).await.unwrap();
        if job["status"] == status {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} not {status} within {timeout:?}: {job}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The events of block `n` (waiting for it).
async fn events_of(c: &WsClient, n: u32) -> Vec<RuntimeEvent> {
    wait_for_best(c, n, Duration::from_secs(60)).await;
    let hash: Value = c.request("chain_getBlockHash", rpc_params![n]).await.unwrap();
    events(c, h256(&hash)).await
}

/// Each block's timestamp from `from` to the best block.
async fn timestamps(c: &WsClient, from: u32) -> Vec<(u32, u64)> {
    let key = [twox_128(b"Timestamp"), twox_128(b"Now")].concat();
    let mut out = Vec::new();
    for n in from..=best_number(c).await {
        let hash: Value = c.request("chain_getBlockHash", rpc_params![n]).await.unwrap();
        let now: u64 = storage(c, key.clone(), Some(h256(&hash))).await.unwrap();
        out.push((n, now));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_chain_requests_are_served_settled_and_paid_or_refunded() {
    use Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie};
    let dir = tempfile::tempdir().unwrap();
    let worker_port = free_port();
    let url = format!("http://127.0.0.1:{worker_port}");
    let node = DevNode::start_with(dir.path(), &["--inference-worker-url", &url]);
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    let first_block = best_number(&c).await;

    // A datanet: Alice's PARIS (contribution 0) and Bob's BREAD (1), accepted, snapshot 1.
    let dn = |call| RuntimeCall::Datanets(call);
    let contribute = |text: &str| contribute_text(0, text, 20);
    let create = batch(vec![create_public_datanet("Geography"), contribute(PARIS)]);
    submit_and_wait_in_block(&c, &sign(&c, Alice, create).await).await;
    submit_and_wait_in_block(&c, &sign(&c, Bob, contribute(BREAD)).await).await;
    let publish = batch(vec![
        accept(ContributionId(0)),
        accept(ContributionId(1)),
        dn(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ]);
    submit_and_wait_in_block(&c, &sign(&c, Alice, publish).await).await;

    // Charlie registers SmolLM2 itself (its weights' content hash, as the worker serves it)
    // as a base model trained on the snapshot: 1 OPEN per 1,000 tokens, 40% developer share.
    let weights = content_hash(&std::fs::read(model_path()).unwrap());
    let register = RuntimeCall::Models(pallet_models::Call::register_model {
        kind: pallet_models::ModelKindArg::Base,
        weights_hash: weights,
        training_config_hash: H256::zero(),
        trained_on: vec![(0, 1)],
        price_per_1k_tokens: OPEN,
        developer_share: Permill::from_percent(40),
        metadata_uri: vec![],
        predecessor: None,
    });
    submit_and_wait_in_block(&c, &sign(&c, Charlie, register).await).await;

    // Ferdie (whose operator key the dev node holds) becomes an agent serving the base, with
    // no commission (its share goes to its stakers: itself), and registers the base here.
    let agent = register_agent(vec![ModelId(0)], 1_000 * OPEN, Default::default());
    submit_and_wait_in_block(&c, &sign(&c, Ferdie, agent).await).await;
    let serve = RuntimeCall::Inference(pallet_inference::Call::register_operator {
        bases: vec![ModelId(0)],
    });
    submit_and_wait_in_block(&c, &sign(&c, Ferdie, serve).await).await;

    // The worker indexes the snapshot's files, verified against the chain's content hashes.
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let mut list = Vec::new();
    for (id, text) in [(0u64, PARIS), (1, BREAD)] {
        let contribution: Value =
            c.request("datanets_getContribution", rpc_params![id]).await.unwrap();
        let file = format!("{id}.txt");
        std::fs::write(corpus.join(&file), text).unwrap();
        list.push(
            json!({"contribution": id, "contentHash": contribution["contentHash"], "file": file}),
        );
    }
    std::fs::write(corpus.join("contributions.json"), serde_json::to_vec(&list).unwrap()).unwrap();
    let index = dir.path().join("index");
    build_index(&corpus, &index);
    let worker = start_worker(worker_port, &index, &dir.path().join("adapters"));

    // Dave asks on chain, with at most 1 OPEN.
    let who = |k: Sr25519Keyring| k.to_account_id();
    let treasury = TreasuryAccount::get();
    let parties = [who(Dave), who(Alice), who(Bob), who(Charlie), who(Ferdie), treasury.clone()];
    let mut before = Vec::new();
    for p in &parties {
        before.push(free_balance(&c, p, None).await);
    }
    // Ferdie's transaction fees and transfers are summed over every block from here on.
    let scan_from = best_number(&c).await + 1;
    let ask = |prompt: &str| {
        RuntimeCall::Inference(pallet_inference::Call::request_inference {
            model: ModelId(0),
            prompt: prompt.as_bytes().to_vec(),
            max_tokens: 16,
            max_fee: OPEN,
            rag: None,
        })
    };
    let asked = submit_and_wait_in_block(&c, &sign(&c, Dave, ask(QUESTION)).await).await;
    let asked_events = events(&c, asked).await;
    let request_fee = fee_paid(&asked_events, &who(Dave));
    assert!(asked_events.iter().any(|e| matches!(
        e,
        RuntimeEvent::Inference(InferenceEvent::JobRequested { job: 0, operator, .. }) if *operator == who(Ferdie)
    )));

    // The off-chain worker serves it; the job completes with the model's answer.
    let job = wait_for_job(&c, 0, "Completed", Duration::from_secs(120)).await;
    assert_eq!(job["output"], "The capital of France is Paris.", "{job}");
    assert_eq!(job["prompt"], "", "the prompt is dropped once answered: {job}");
    let receipt_id = job["receipt"][0].as_u64().unwrap();
    let fee = amount(&job["receipt"][1]);
    let (input_tokens, output_tokens) =
        (job["tokens"][0].as_u64().unwrap(), job["tokens"][1].as_u64().unwrap());
    assert_eq!(fee, (OPEN * u128::from(input_tokens + output_tokens)).div_ceil(1_000));

    // Its receipt credits the contribution whose text the answer reproduces, and only it.
    let receipt: Value =
        c.request("attribution_getReceipt", rpc_params![receipt_id]).await.unwrap();
    assert_eq!(receipt["attribution"], json!([[0, 1_000_000]]), "{receipt}");
    assert_eq!(account(&receipt["operator"]), who(Ferdie));
    assert_eq!(
        receipt["requestId"],
        format!("{:?}", provena_primitives::inference::job_request_id(0))
    );

    // The worker goes down; the next job is never answered.
    drop(worker);
    let dave_mid = free_balance(&c, &who(Dave), None).await;
    let asked2 = submit_and_wait_in_block(&c, &sign(&c, Dave, ask("And of Spain?")).await).await;
    let request_fee2 = fee_paid(&events(&c, asked2).await, &who(Dave));

    // The OpenAI API path: a worker settling as Ferdie, paid by vouchers only.
    let api = api_path(&c, &node, &index, &dir.path().join("adapters"), &weights).await;

    // The Model Factory: an adapter trained on a private datanet's snapshot, registered with
    // that provenance, served, paid for, its receipt crediting the snapshot's contributors.
    factory::model_factory(&c, &node, dir.path()).await;

    // After both receipts' challenge windows, Eve claims for everyone.
    let claimable_at =
        [&receipt, &api].iter().map(|r| r["claimableAt"].as_u64().unwrap() as u32).max().unwrap();
    wait_for_best(&c, claimable_at, Duration::from_secs(300)).await;
    let claim = RuntimeCall::Attribution(pallet_attribution::Call::claim_rewards {
        payees: vec![
            Payee::Contribution(ContributionId(0)),
            Payee::Agent(who(Ferdie)),
            Payee::Account(who(Charlie)),
            Payee::ModelHolders(ModelId(0)),
            Payee::Account(treasury.clone()),
        ],
    });
    let claimed = submit_and_wait_in_block(&c, &sign(&c, Eve, claim).await).await;
    // What both receipts (the on-chain job's and the API request's) pay a payee.
    let payout = |payee: Payee<AccountId>| -> u128 {
        [&receipt, &api]
            .iter()
            .flat_map(|r| r["payouts"].as_array().unwrap().iter())
            .filter(|p| serde_json::from_value::<Payee<AccountId>>(p[0].clone()).unwrap() == payee)
            .map(|p| amount(&p[1]))
            .sum()
    };
    let mut after = Vec::new();
    for p in &parties {
        after.push(free_balance(&c, p, Some(claimed)).await);
    }
    // Ferdie's transaction fees (its OCW's completion, its worker's settlement) and what it
    // transferred: the first receipt ever submitted on a chain pays the attribution pallet
    // account's existential deposit (see the attribution pallet's docs).
    let (mut ferdie_fees, mut ferdie_sent) = (0, 0);
    let claimed_at = {
        let header: Value = c.request("chain_getHeader", rpc_params![claimed]).await.unwrap();
        header_number(&header)
    };
    for n in scan_from..=claimed_at {
        let evs = events_of(&c, n).await;
        ferdie_fees += fee_paid(&evs, &who(Ferdie));
        ferdie_sent += evs
            .iter()
            .filter_map(|e| match e {
                RuntimeEvent::Balances(polkadot_sdk::pallet_balances::Event::Transfer {
                    from,
                    amount,
                    ..
                }) if *from == who(Ferdie) => Some(*amount),
                _ => None,
            })
            .sum::<u128>();
    }
    // Dave: the request's transaction fee, the job deposit (held until the job is deleted) and
    // exactly the fee; the rest of max_fee came back.
    assert_eq!(dave_mid, before[0] - request_fee - JobDeposit::get() - fee);
    // Alice: her contribution's share; Bob's contribution earned nothing.
    assert_eq!(after[1], before[1] + payout(Payee::Contribution(ContributionId(0))));
    assert!(payout(Payee::Contribution(ContributionId(0))) > 0);
    assert_eq!(after[2], before[2]);
    // Charlie: the developer's share and, with no token holders, the holders' share.
    assert_eq!(
        after[3],
        before[3] + payout(Payee::Account(who(Charlie))) + payout(Payee::ModelHolders(ModelId(0)))
    );
    // Ferdie: what the completion transaction cost (and the pallet account's existential
    // deposit, paid once per chain by the first receipt's operator); the operator's share went
    // to its stakers as an agent, itself alone, and waits there for it to claim.
    assert!(ferdie_sent == 0 || ferdie_sent == provena_runtime::configs::ExistentialDeposit::get());
    assert_eq!(after[4], before[4] - ferdie_fees - ferdie_sent);
    let own: Value = c
        .request(
            "agents_getDelegation",
            rpc_params![who(Ferdie).to_string(), who(Ferdie).to_string()],
        )
        .await
        .unwrap();
    assert!(payout(Payee::Agent(who(Ferdie))) > 0);
    assert_eq!(amount(&own["pendingRewards"]), payout(Payee::Agent(who(Ferdie))), "{own}");
    // The treasury: its share (transaction fees are burned, not sent to it).
    assert_eq!(after[5], before[5] + payout(Payee::Account(treasury.clone())));
    // The parts are the fee, exactly, for each receipt.
    for (r, f) in [(&receipt, fee), (&api, amount(&api["fee"]))] {
        let total: u128 = r["payouts"].as_array().unwrap().iter().map(|p| amount(&p[1])).sum();
        assert_eq!(total, f, "{r}");
    }

    // The unanswered job expires at its deadline and Dave gets all of max_fee back.
    let expired = wait_for_job(&c, 1, "Expired", Duration::from_secs(300)).await;
    assert_eq!(expired["output"], "", "{expired}");
    assert_eq!(
        free_balance(&c, &who(Dave), None).await,
        dave_mid - request_fee2 - JobDeposit::get()
    );

    // Blocks kept their slot throughout: every interval is one 6-second slot (the timestamps are
    // the author's clock, a millisecond either way; a missed slot would show 12 s).
    let stamps = timestamps(&c, first_block).await;
    let intervals: Vec<u64> = stamps.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let slot = provena_primitives::time::MILLISECS_PER_BLOCK;
    println!(
        "blocks #{}..#{}: {} intervals, max {} ms",
        first_block,
        stamps.last().unwrap().0,
        intervals.len(),
        intervals.iter().max().unwrap()
    );
    assert!(
        intervals.iter().all(|i| i.abs_diff(slot) < slot / 2),
        "a slot was missed: {intervals:?}"
    );
}
