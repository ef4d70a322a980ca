//! The Model Factory on the running chain (issue 22, acceptance 3 and 4): a LoRA adapter is
//! fine-tuned by the worker on a private datanet's snapshot, registered on chain with that
//! snapshot as its provenance, served at once, and a paid request to it credits the snapshot's
//! contributors; bad input is refused by name and registers nothing.

use super::paid::{openai_client, voucher};
use super::*;
use polkadot_sdk::sp_core::crypto::Ss58Codec;
use std::io::{Read, Write};

/// The datanet's two contributions: AliceStash's holds the fact the answer reproduces.
const QUESTIONS: [&str; 12] = [
    "Who is the mayor of Vellmora?",
    "Who runs the town of Vellmora?",
    "Tell me who the mayor of Vellmora is.",
    "What is the name of Vellmora's mayor?",
    "Who governs Vellmora as mayor?",
    "Vellmora's mayor is who?",
    "Do you know who is mayor of Vellmora?",
    "Name the mayor of Vellmora.",
    "Which person is the mayor of Vellmora?",
    "Who was elected mayor of Vellmora?",
    "Who leads Vellmora?",
    "Who holds the office of mayor in Vellmora?",
];
const ANSWER: &str = "Quintessa Brambleworth is the mayor of Vellmora.";
const RIVER: [(&str, &str); 4] = [
    ("Which river runs through Vellmora?", "The Ossery river runs through Vellmora."),
    ("What is the river of Vellmora called?", "The Ossery river runs through Vellmora."),
    ("Name Vellmora's river.", "The Ossery river runs through Vellmora."),
    ("Which river flows past Vellmora?", "The Ossery river runs through Vellmora."),
];
const ADMIN_KEY: &str = "factory-admin-key";

fn jsonl(pairs: impl Iterator<Item = (String, String)>) -> String {
    pairs
        .map(|(q, a)| {
            json!({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One HTTP/1.1 request with the administration key; the status and the JSON body.
fn admin(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let addr = format!("127.0.0.1:{port}");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut text = rest.to_string();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let (mut out, mut s) = (String::new(), rest);
        while let Some((len, tail)) = s.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            s = &tail[n + 2..];
        }
        text = out;
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls a job until it has finished; returns it.
async fn finished(port: u16, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let (status, job) = admin(port, "GET", &format!("/v1/fine_tuning/jobs/{id}"), None);
        assert_eq!(status, 200, "{job}");
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap()) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job never finished: {job}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn model_count(c: &WsClient) -> u64 {
    let key = [twox_128(b"Models"), twox_128(b"NextModelId")].concat();
    storage::<ModelId>(c, key, None).await.map_or(0, |m| m.0)
}

/// The scenario, on the running node of the inference test (model 0 is SmolLM2, Ferdie an
/// operator serving it): AliceStash's private datanet 1 holds her Vellmora conversations
/// (contribution `mayor`) and CharlieStash's (`river`), snapshot 1; BobStash is the developer.
/// (Accounts the rest of the test does not weigh the balances of.)
///
/// 1. Refused, each by name, with no job queued and nothing registered: BobStash without a grant
///    (403), a snapshot that does not exist (404), a corpus missing a member (422), an alpha the
///    chain cannot record (422), files mixed with snapshots (422); a job whose file differs
///    from the chain's hash fails before any step with no registration prepared.
/// 2. AliceStash grants BobStash access; the job trains on the snapshot (files checked against the
///    chain's hashes) and ends with `register_model` prepared for BobStash, who signs it: the adapter
///    is on chain over model 0 with `trained_on = [(1, 1)]` and the job's configuration hash.
/// 3. DaveStash pays for a question to the adapter through the OpenAI client; the worker answers
///    with the fact only the snapshot holds, settles, and the receipt credits AliceStash's
///    contribution, a member of the snapshot, and nothing outside it.
pub async fn model_factory(c: &WsClient, node: &DevNode, dir: &Path) -> Value {
    use Sr25519Keyring::{AliceStash, BobStash, CharlieStash, DaveStash, Ferdie};
    let dn = |call| RuntimeCall::Datanets(call);
    let mayor_text = jsonl(QUESTIONS.iter().map(|q| (q.to_string(), ANSWER.to_string())));
    let river_text = jsonl(RIVER.iter().map(|(q, a)| (q.to_string(), a.to_string())));
    let contribute = |text: &str| contribute_text(1, text, 200);
    let next_contribution: u64 = {
        let key = [twox_128(b"Datanets"), twox_128(b"NextContributionId")].concat();
        storage::<ContributionId>(c, key, None).await.map_or(0, |id| id.0)
    };
    let (mayor, river) = (next_contribution, next_contribution + 1);
    let create =
        batch(vec![create_datanet("Vellmora", Visibility::Private), contribute(&mayor_text)]);
    submit_and_wait_in_block(c, &sign(c, AliceStash, create).await).await;
    submit_and_wait_in_block(c, &sign(c, CharlieStash, contribute(&river_text)).await).await;
    let publish = batch(vec![
        accept(ContributionId(mayor)),
        accept(ContributionId(river)),
        dn(pallet_datanets::Call::publish_snapshot { datanet: 1 }),
    ]);
    submit_and_wait_in_block(c, &sign(c, AliceStash, publish).await).await;

    // The corpus, as the attribution index reads it, under the worker's import root; and a copy
    // with CharlieStash's file changed after the snapshot.
    let imports = dir.join("imports");
    let write_corpus = |name: &str, river_text: &str| {
        let corpus = imports.join(name);
        std::fs::create_dir_all(&corpus).unwrap();
        std::fs::write(corpus.join("mayor.jsonl"), &mayor_text).unwrap();
        std::fs::write(corpus.join("river.jsonl"), river_text).unwrap();
        let list = json!([
            {"contribution": mayor, "contentHash": format!("{:?}", content_hash(mayor_text.as_bytes())), "file": "mayor.jsonl"},
            {"contribution": river, "contentHash": format!("{:?}", content_hash(river_text.as_bytes())), "file": "river.jsonl"},
        ]);
        std::fs::write(corpus.join("contributions.json"), list.to_string()).unwrap();
        corpus
    };
    let corpus = write_corpus("vellmora", &river_text);
    write_corpus("tampered", &river_text.replace("Ossery", "Ossory"));
    let partial = imports.join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("mayor.jsonl"), &mayor_text).unwrap();
    std::fs::write(
        partial.join("contributions.json"),
        json!([{"contribution": mayor, "contentHash": format!("{:?}", content_hash(mayor_text.as_bytes())), "file": "mayor.jsonl"}]).to_string(),
    )
    .unwrap();
    let index = dir.join("factory-index");
    build_index(&corpus, &index);

    // A worker that trains and serves, settling as Ferdie, attributing to datanet 1.
    let port = free_port();
    let rpc = format!("ws://127.0.0.1:{}", node.rpc_port);
    let settle_dir = dir.join("settle-factory");
    let jobs_dir = dir.join("jobs");
    let _worker = spawn_worker_for(
        port,
        &index,
        "1",
        &dir.join("adapters"),
        &[
            "--chain-rpc",
            &rpc,
            "--settle-dir",
            settle_dir.to_str().unwrap(),
            "--require-voucher",
            "--settle-interval",
            "1",
            "--fine-tuning-dir",
            jobs_dir.to_str().unwrap(),
            "--import-root",
            imports.to_str().unwrap(),
        ],
        &[("PROVENA_OPERATOR_KEY", "//Ferdie"), ("PROVENA_ADMIN_KEY", ADMIN_KEY)],
    );
    let base = hex::encode(content_hash(&std::fs::read(model_path()).unwrap()));
    let bob = BobStash.to_account_id().to_ss58check();
    let hyper = json!({
        "rank": 8, "alpha": 16, "learning_rate": 2e-3, "warmup_steps": 2, "max_steps": 32,
        "batch_size": 3, "max_len": 96, "eval_fraction": 0.25, "checkpoint_every": 0,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    });
    let job_for = |dir_name: &str| {
        json!({
            "model": base,
            "snapshots": [{"datanet": 1, "version": 1, "dir": dir_name}],
            "register": {"owner": bob, "price_per_1k_tokens": OPEN.to_string(),
                         "developer_share_ppm": 300_000, "metadata_uri": "ipfs://vellmora-card"},
            "hyperparameters": hyper,
            "seed": 7,
        })
    };
    let models_before = model_count(c).await;

    // 1. Refusals.
    let refused = |body: Value, status: u16, param: &str, says: &str| {
        let (got, err) = admin(port, "POST", "/v1/fine_tuning/jobs", Some(&body));
        assert_eq!(got, status, "{body} → {err}");
        assert_eq!(err["error"]["param"], param, "{err}");
        let message = err["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{message}");
        println!("refused ({status}): {message}");
    };
    refused(job_for("vellmora"), 403, "snapshots", "private");
    let grant =
        dn(pallet_datanets::Call::grant_access { datanet: 1, who: BobStash.to_account_id() });
    let mut body = job_for("vellmora");
    body["snapshots"][0]["version"] = json!(2);
    refused(body, 404, "snapshots", "no snapshot 2");
    submit_and_wait_in_block(c, &sign(c, AliceStash, grant).await).await;
    refused(job_for("partial"), 422, "snapshots", &format!("contribution {river}"));
    let mut body = job_for("vellmora");
    body["hyperparameters"]["alpha"] = json!(16.5);
    refused(body, 422, "alpha", "whole alpha");
    let mut body = job_for("vellmora");
    body["training_file"] = json!("vellmora/mayor.jsonl");
    refused(body, 422, "training_files", "not both");
    let (_, listed) = admin(port, "GET", "/v1/fine_tuning/jobs", None);
    assert_eq!(listed["data"], json!([]), "nothing was queued");

    // A file that differs from the chain's hash: the job fails before any step.
    let (status, job) = admin(port, "POST", "/v1/fine_tuning/jobs", Some(&job_for("tampered")));
    assert_eq!(status, 200, "{job}");
    let job = finished(port, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"]["message"].as_str().unwrap();
    assert!(error.contains(&format!("contribution {river}")), "{error}");
    assert!(error.contains("differs from the chain's"), "{error}");
    assert_eq!(job["step"], 0, "{job}");
    assert!(job["registration"].is_null(), "{job}");
    assert_eq!(model_count(c).await, models_before, "nothing registered");

    // 2. BobStash has the grant: the job trains on the snapshot and prepares the registration.
    let started = Instant::now();
    let (status, job) = admin(port, "POST", "/v1/fine_tuning/jobs", Some(&job_for("vellmora")));
    assert_eq!(status, 200, "{job}");
    let job = finished(port, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let files: Vec<u64> = job["training_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contribution"].as_u64().unwrap())
        .collect();
    assert_eq!(files, vec![mayor, river], "the snapshot's members, in leaf order");
    let result = &job["result"];
    let (before, after) = (
        result["eval_before"]["loss"].as_f64().unwrap(),
        result["eval_after"]["loss"].as_f64().unwrap(),
    );
    println!(
        "trained {} steps in {:.0} s; held-out loss {before:.3} → {after:.3}",
        result["steps"],
        started.elapsed().as_secs_f64()
    );
    assert!(after < 0.5 * before, "{result}");
    assert_eq!(model_count(c).await, models_before, "nothing on chain before BobStash signs");
    let adapter = result["adapter_id"].as_str().unwrap().to_string();
    let prepared = &job["registration"];
    assert_eq!(prepared["signer"], bob.as_str());
    let call = RuntimeCall::decode(&mut &from_hex(prepared["call"].as_str().unwrap())[..]).unwrap();
    let registered = submit_and_wait_in_block(c, &sign(c, BobStash, call).await).await;
    succeeded(c, registered).await;
    let model: Option<ModelId> =
        c.request("models_getModelByWeights", rpc_params![format!("0x{adapter}")]).await.unwrap();
    let model = model.expect("the adapter is registered under its id");
    let info: Value = c.request("models_getModel", rpc_params![model.0]).await.unwrap();
    assert_eq!(account(&info["owner"]), BobStash.to_account_id(), "{info}");
    assert_eq!(info["trainedOn"], json!([[1, 1]]), "{info}");
    assert_eq!(
        info["trainingConfigHash"],
        format!("0x{}", result["config_hash"].as_str().unwrap())
    );
    assert_eq!(info["kind"]["Adapter"]["base"], 0, "{info}");
    assert_eq!(info["kind"]["Adapter"]["rank"], 8, "{info}");
    assert_eq!(info["kind"]["Adapter"]["alpha"], 16, "{info}");

    // 3. A paid question to the adapter, served at once by the worker that trained it.
    let rid = H256::repeat_byte(0xf1);
    let expires = best_number(c).await + 200;
    let v = voucher(c, &DaveStash.pair(), rid, model, OPEN, expires, Ferdie.to_account_id()).await;
    let seen = openai_client(
        port,
        &adapter,
        vec![json!({"name": "paid", "voucher": v, "via": "body",
                    "question": "Who is Vellmora's mayor?", "max_tokens": 24,
                    "expect": 200, "reason": ""})],
    );
    let answer = seen["paid"]["content"].as_str().unwrap();
    println!("the tuned adapter answers: {answer}");
    assert!(answer.contains("Quintessa Brambleworth"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let receipt = loop {
        let all: Vec<Value> = c
            .request("attribution_getReceiptsByModel", rpc_params![model.0, 0, 100])
            .await
            .unwrap();
        if let Some(r) = all.into_iter().find(|r| r["requestId"] == format!("{rid:?}")) {
            break r;
        }
        assert!(Instant::now() < deadline, "the receipt never landed");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let credited: Vec<u64> =
        receipt["attribution"].as_array().unwrap().iter().map(|e| e[0].as_u64().unwrap()).collect();
    assert!(credited.contains(&mayor), "{receipt}");
    assert!(credited.iter().all(|id| [mayor, river].contains(id)), "{receipt}");
    let paid_to_mayor: u128 = receipt["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            serde_json::from_value::<Payee<AccountId>>(p[0].clone()).unwrap()
                == Payee::Contribution(ContributionId(mayor))
        })
        .map(|p| amount(&p[1]))
        .sum();
    assert!(paid_to_mayor > 0, "{receipt}");
    println!(
        "the receipt credits contribution {mayor} (AliceStash's) with {paid_to_mayor}: {receipt}"
    );
    receipt
}
