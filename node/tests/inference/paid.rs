//! The OpenAI API path of the Payable-AI loop: the inference worker as an operator, paid by
//! user-signed vouchers and settling receipts on chain itself (issue 15, acceptance 3).

use super::*;
use polkadot_sdk::sp_core::{sr25519, Pair};
use provena_primitives::attribution::{voucher_anchor, voucher_payload, Voucher};
use provena_runtime::Runtime;

/// A worker serving paid requests as Ferdie, settling through the node at `rpc`.
pub struct PaidWorker {
    pub settle_dir: PathBuf,
    worker: Worker,
}

impl PaidWorker {
    /// Starts it; `interval` is the settle interval in seconds.
    pub fn start(
        port: u16,
        index: &Path,
        adapters: &Path,
        rpc: &str,
        settle_dir: &Path,
        interval: &str,
    ) -> Self {
        let worker = spawn_worker(
            port,
            index,
            adapters,
            &[
                "--chain-rpc",
                rpc,
                "--settle-dir",
                settle_dir.to_str().unwrap(),
                "--require-voucher",
                "--settle-interval",
                interval,
            ],
            &[("PROVENA_OPERATOR_KEY", "//Ferdie")],
        );
        PaidWorker { settle_dir: settle_dir.to_path_buf(), worker }
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub fn kill(self) {
        drop(self.worker);
    }

    /// The files in a subdirectory of the ledger of the chain with `genesis`.
    pub fn files(&self, genesis: H256, sub: &str) -> Vec<String> {
        std::fs::read_dir(self.settle_dir.join(hex::encode(genesis)).join(sub))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

/// `user`'s voucher for Ferdie (or `operator`) as a request carries it, signed over the
/// payload with the hash of its anchor block as the node has it (zero for an anchor the node
/// has not reached: such a voucher verifies nowhere, and is refused as too long first).
pub async fn voucher(
    c: &WsClient,
    user: &sr25519::Pair,
    request_id: H256,
    model: ModelId,
    max_fee: u128,
    expires_at: u32,
    operator: AccountId,
) -> Value {
    let v = Voucher { request_id, model, max_fee, operator, expires_at };
    let genesis = h256(&c.request::<Value, _>("chain_getBlockHash", rpc_params![0]).await.unwrap());
    let lifetime = <Runtime as pallet_attribution::Config>::MaxVoucherLifetime::get();
    let anchor: Value = c
        .request("chain_getBlockHash", rpc_params![voucher_anchor(expires_at, lifetime)])
        .await
        .unwrap();
    let anchor = if anchor.is_null() { H256::zero() } else { h256(&anchor) };
    let signature = user.sign(&voucher_payload(&genesis, &anchor, &v));
    json!({
        "voucher": v,
        "user": AccountId::from(user.public()).to_string(),
        "signature": to_hex(&signature.0),
    })
}

/// Runs the plan's cases through the official OpenAI client; returns what each got.
pub fn openai_client(port: u16, model: &str, cases: Vec<Value>) -> Value {
    let pylib = std::env::var("PROVENA_PYLIB")
        .expect("PROVENA_PYLIB must hold the openai package (.ci/setup installs it)");
    let plan = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(plan.path(), json!({"model": model, "cases": cases}).to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/paid_openai_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(plan.path())
        .env("PYTHONPATH", pylib)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the OpenAI client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether `user` spent the voucher `request_id` on chain.
pub async fn voucher_used(c: &WsClient, user: &AccountId, request_id: H256) -> bool {
    let key = pallet_attribution::UsedVouchers::<Runtime>::hashed_key_for(user, request_id);
    storage::<u32>(c, key, None).await.is_some()
}

/// Every receipt of model 0 with the request id `request_id`.
pub async fn receipts_for(c: &WsClient, request_id: H256) -> Vec<Value> {
    let all: Vec<Value> =
        c.request("attribution_getReceiptsByModel", rpc_params![0, 0, 1000]).await.unwrap();
    all.into_iter().filter(|r| r["requestId"] == format!("{request_id:?}")).collect()
}

/// The API path, end to end, on the running node (model 0 is SmolLM2, Ferdie an operator,
/// contribution 0 the PARIS text; the node's own OCW worker is down by now):
///
/// 1. A worker settling as Ferdie with a settle interval of an hour (it will not settle on its
///    own) answers DaveStash's paid question through the OpenAI client, and refuses, with 402
///    and before any inference, the same voucher again (in use), a forged one, an expired one,
///    one expiring too soon, one valid for longer than the chain allows (an hour), one whose max
///    fee is below the worst case, one of an account without funds, one naming another operator,
///    and a request without a voucher.
/// 2. It is killed (SIGKILL) with the receipt recorded and not settled; a new one on the same
///    settle directory settles it. The receipt lands exactly once, charges DaveStash exactly its
///    fee and credits the contribution the answer reproduces; the spent voucher is then refused.
///
/// Returns the receipt (as `attribution_getReceipt` shows it).
pub async fn api_path(
    c: &WsClient,
    node: &DevNode,
    index: &Path,
    adapters: &Path,
    weights: &H256,
) -> Value {
    use Sr25519Keyring::{DaveStash, Eve, Ferdie, One};
    let rpc = format!("ws://127.0.0.1:{}", node.rpc_port);
    let settle_dir = node.base_path.join("settle");
    let model = hex::encode(weights);
    let genesis = h256(&c.request::<Value, _>("chain_getBlockHash", rpc_params![0]).await.unwrap());
    let payer = DaveStash.pair();
    let expires = best_number(c).await + 200;
    let paid_rid = H256::repeat_byte(0xa1);
    let paid =
        voucher(c, &payer, paid_rid, ModelId(0), OPEN, expires, Ferdie.to_account_id()).await;
    let mut forged = voucher(
        c,
        &payer,
        H256::repeat_byte(0xa2),
        ModelId(0),
        OPEN,
        expires,
        Ferdie.to_account_id(),
    )
    .await;
    forged["voucher"]["maxFee"] = json!((10 * OPEN).to_string());
    let case = |name: &str, v: Option<&Value>, via: &str, expect: u16, reason: &str| {
        json!({"name": name, "voucher": v, "via": via, "question": QUESTION, "max_tokens": 16,
               "expect": expect, "reason": reason})
    };
    let soon = voucher(
        c,
        &payer,
        H256::repeat_byte(0xa3),
        ModelId(0),
        OPEN,
        best_number(c).await + 2,
        Ferdie.to_account_id(),
    )
    .await;
    let expired =
        voucher(c, &payer, H256::repeat_byte(0xa7), ModelId(0), OPEN, 1, Ferdie.to_account_id())
            .await;
    // Valid for longer than the chain lets a voucher live (an hour).
    let too_long = voucher(
        c,
        &payer,
        H256::repeat_byte(0xa8),
        ModelId(0),
        OPEN,
        best_number(c).await + 2 * 600,
        Ferdie.to_account_id(),
    )
    .await;
    let cheap = voucher(
        c,
        &payer,
        H256::repeat_byte(0xa4),
        ModelId(0),
        1_000,
        expires,
        Ferdie.to_account_id(),
    )
    .await;
    let broke = voucher(
        c,
        &One.pair(),
        H256::repeat_byte(0xa5),
        ModelId(0),
        OPEN,
        expires,
        Ferdie.to_account_id(),
    )
    .await;
    let elsewhere =
        voucher(c, &payer, H256::repeat_byte(0xa6), ModelId(0), OPEN, expires, Eve.to_account_id())
            .await;

    let port = free_port();
    let w = PaidWorker::start(port, index, adapters, &rpc, &settle_dir, "3600");
    let payer_before = free_balance(c, &DaveStash.to_account_id(), None).await;
    let seen = openai_client(
        port,
        &model,
        vec![
            case("paid", Some(&paid), "body", 200, ""),
            case("in-use", Some(&paid), "header", 402, "voucher_in_use"),
            case("forged", Some(&forged), "header", 402, "voucher_bad_signature"),
            case("expired", Some(&expired), "header", 402, "voucher_expired"),
            case("expiring", Some(&soon), "body", 402, "voucher_expired"),
            case("too-long", Some(&too_long), "header", 402, "voucher_too_long"),
            case("max-fee-too-low", Some(&cheap), "body", 402, "voucher_max_fee_too_low"),
            case("unfunded", Some(&broke), "header", 402, "insufficient_funds"),
            case("other-operator", Some(&elsewhere), "body", 402, "voucher_wrong_operator"),
            case("unpaid", None, "body", 402, "voucher_required"),
        ],
    );
    let answer = &seen["paid"];
    assert_eq!(answer["content"], "The capital of France is Paris.", "{answer}");
    let tokens = answer["usage"]["prompt_tokens"].as_u64().unwrap()
        + answer["usage"]["completion_tokens"].as_u64().unwrap();
    let fee = amount(&answer["provena"]["settlement"]["fee"]);
    assert_eq!(fee, (OPEN * u128::from(tokens)).div_ceil(1_000), "{answer}");
    assert_eq!(answer["provena"]["settlement"]["requestId"], format!("{paid_rid:?}"));

    // Killed before settling: the receipt is on disk, not on chain.
    assert_eq!(w.files(genesis, "pending").len(), 1, "{:?}", w.files(genesis, "pending"));
    w.kill();
    assert!(!voucher_used(c, &DaveStash.to_account_id(), paid_rid).await);

    // Restarted: the receipt settles, once.
    let w = PaidWorker::start(port, index, adapters, &rpc, &settle_dir, "1");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !w.files(genesis, "pending").is_empty()
        || w.files(genesis, ".").contains(&"inflight.tx".to_string())
    {
        assert!(Instant::now() < deadline, "not settled: {:?}", w.files(genesis, "pending"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(voucher_used(c, &DaveStash.to_account_id(), paid_rid).await);
    assert!(w.files(genesis, "rejected").is_empty(), "{:?}", w.files(genesis, "rejected"));
    // A few more rounds: nothing is sent again.
    let settled_at = best_number(c).await;
    wait_for_best(c, settled_at + 3, Duration::from_secs(60)).await;
    let receipts = receipts_for(c, paid_rid).await;
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    let receipt = receipts.into_iter().next().unwrap();
    assert_eq!(amount(&receipt["fee"]), fee);
    assert_eq!(account(&receipt["user"]), DaveStash.to_account_id());
    assert_eq!(account(&receipt["operator"]), Ferdie.to_account_id());
    assert_eq!(receipt["attribution"], json!([[0, 1_000_000]]), "{receipt}");
    assert_eq!(
        free_balance(c, &DaveStash.to_account_id(), None).await,
        payer_before - fee,
        "the payer is charged exactly the fee"
    );

    // The spent voucher is refused.
    let again = openai_client(
        port,
        &model,
        vec![case("spent", Some(&paid), "header", 402, "voucher_used")],
    );
    println!("API path: {} tokens, fee {fee}; refusals {again}", tokens);
    w.kill();
    receipt
}
