//! Shared helpers for tests that run the real `provena-node` binary and talk to it over
//! JSON-RPC (jsonrpsee's WebSocket client).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use codec::{Decode, Encode};
use jsonrpsee::{
    core::client::{ClientT, Subscription, SubscriptionClientT},
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use polkadot_sdk::{
    frame_system, pallet_balances, pallet_transaction_payment,
    sp_core::H256,
    sp_crypto_hashing::{keccak_256, twox_128},
    sp_keyring::Sr25519Keyring,
    sp_runtime::{generic::Era, Perbill, Permill},
};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{
    client::SigningContext, AccountId, Balance, Nonce, Runtime, RuntimeCall, RuntimeEvent,
    UncheckedExtrinsic,
};
use serde_json::Value;

pub mod worker;
// Not every test binary runs the worker.
#[allow(unused_imports)]
pub use worker::*;

/// The node binary cargo built for these tests.
pub const NODE_BIN: &str = env!("CARGO_BIN_EXE_provena-node");

/// Picks a TCP port that is free right now on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Connects an RPC client to a local node on `rpc_port`, retrying for two minutes while it
/// starts; the panic shows `log()`.
pub async fn connect(rpc_port: u16, log: impl Fn() -> String) -> WsClient {
    let url = format!("ws://127.0.0.1:{rpc_port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match WsClientBuilder::default().request_timeout(Duration::from_secs(60)).build(&url).await
        {
            Ok(client) => return client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("RPC on {url} never came up: {e}\n{}", log()),
        }
    }
}

/// A running `provena-node --dev`, killed (gracefully first) when dropped.
pub struct DevNode {
    child: Option<Child>,
    pub rpc_port: u16,
    /// The Ethereum JSON-RPC port.
    pub eth_port: u16,
    pub base_path: PathBuf,
    log_path: PathBuf,
}

impl DevNode {
    /// Starts a dev node on free ports with its database under `base_path`.
    pub fn start(base_path: &Path) -> Self {
        Self::start_with(base_path, &[])
    }

    /// Starts a dev node like [`DevNode::start`], with extra command-line flags.
    pub fn start_with(base_path: &Path, extra: &[&str]) -> Self {
        let rpc_port = free_port();
        let eth_port = free_port();
        let log_path = base_path.join(format!("node-{rpc_port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(NODE_BIN)
            .args(["--dev", "--base-path"])
            .arg(base_path)
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--eth-rpc-port", &eth_port.to_string()])
            .args(["--port", &free_port().to_string()])
            .args(["--prometheus-port", &free_port().to_string()])
            .args(["--no-mdns", "--no-telemetry"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the node binary starts");
        DevNode {
            child: Some(child),
            rpc_port,
            eth_port,
            base_path: base_path.to_path_buf(),
            log_path,
        }
    }

    /// The node's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Connects an RPC client, retrying while the node starts.
    pub async fn client(&self) -> WsClient {
        connect(self.rpc_port, || self.log()).await
    }

    /// Stops the node with SIGINT and waits for a clean exit, as an operator would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Parses a `0x`-prefixed hex string.
pub fn from_hex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("valid hex")
}

/// `0x`-prefixed hex of some bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A block hash from its JSON form.
pub fn h256(v: &Value) -> H256 {
    H256::from_slice(&from_hex(v.as_str().expect("a hash string")))
}

/// The best block number.
pub async fn best_number(c: &WsClient) -> u32 {
    let header: Value = c.request("chain_getHeader", rpc_params![]).await.unwrap();
    header_number(&header)
}

/// The number of a header in JSON form.
pub fn header_number(header: &Value) -> u32 {
    u32::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// The finalized block's number and hash.
pub async fn finalized(c: &WsClient) -> (u32, H256) {
    let hash: Value = c.request("chain_getFinalizedHead", rpc_params![]).await.unwrap();
    let header: Value = c.request("chain_getHeader", rpc_params![hash.clone()]).await.unwrap();
    (header_number(&header), h256(&hash))
}

/// Waits until the best block is at least `n`.
pub async fn wait_for_best(c: &WsClient, n: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while best_number(c).await < n {
        assert!(Instant::now() < deadline, "no block #{n} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the finalized block is at least `n`.
pub async fn wait_for_finalized(c: &WsClient, n: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while finalized(c).await.0 < n {
        assert!(Instant::now() < deadline, "block #{n} not finalized within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Reads and decodes a storage value at a block (the best block if `at` is `None`).
pub async fn storage<T: Decode>(c: &WsClient, key: Vec<u8>, at: Option<H256>) -> Option<T> {
    let v: Option<String> = c
        .request("state_getStorage", rpc_params![to_hex(&key), at.map(|h| to_hex(h.as_bytes()))])
        .await
        .unwrap();
    v.map(|hex| T::decode(&mut &from_hex(&hex)[..]).expect("storage decodes"))
}

/// The free balance of an account at a block.
pub async fn free_balance(c: &WsClient, who: &AccountId, at: Option<H256>) -> Balance {
    let key = frame_system::Account::<Runtime>::hashed_key_for(who);
    storage::<frame_system::AccountInfo<Nonce, pallet_balances::AccountData<Balance>>>(c, key, at)
        .await
        .map(|info| info.data.free)
        .unwrap_or(0)
}

/// An account from its SS58 form (the node prints Provena's prefix).
pub fn account(v: &Value) -> AccountId {
    use polkadot_sdk::sp_core::crypto::Ss58Codec;
    AccountId::from_ss58check_with_version(v.as_str().unwrap()).unwrap().0
}

/// An amount from its JSON form (a decimal string).
pub fn amount(v: &Value) -> Balance {
    v.as_str().unwrap_or_else(|| panic!("an amount string: {v}")).parse().unwrap()
}

/// The fee `who` paid for the transactions of a block's events.
pub fn fee_paid(events: &[RuntimeEvent], who: &AccountId) -> Balance {
    events
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::TransactionPayment(
                pallet_transaction_payment::Event::TransactionFeePaid {
                    who: w, actual_fee, ..
                },
            ) if w == who => Some(*actual_fee),
            _ => None,
        })
        .sum()
}

/// The events emitted in a block.
pub async fn events(c: &WsClient, at: H256) -> Vec<RuntimeEvent> {
    // `System::Events` is private to frame-system; its key is the standard storage prefix.
    let key = [twox_128(b"System"), twox_128(b"Events")].concat();
    storage::<Vec<frame_system::EventRecord<RuntimeEvent, H256>>>(c, key, Some(at))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

/// `signer`'s next nonce and the chain's signing context, from the node behind `c`.
async fn signing(c: &WsClient, signer: Sr25519Keyring) -> (Nonce, SigningContext) {
    let who = signer.to_account_id();
    let nonce: Nonce =
        c.request("system_accountNextIndex", rpc_params![who.to_string()]).await.unwrap();
    let version: Value = c.request("state_getRuntimeVersion", rpc_params![]).await.unwrap();
    let genesis: Value = c.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
    let ctx = SigningContext {
        genesis: h256(&genesis),
        spec_version: version["specVersion"].as_u64().unwrap() as u32,
        transaction_version: version["transactionVersion"].as_u64().unwrap() as u32,
    };
    (nonce, ctx)
}

/// Signs `call` as `signer` for the chain behind `c`, with the next nonce and no tip.
pub async fn sign(c: &WsClient, signer: Sr25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
    let (nonce, ctx) = signing(c, signer).await;
    provena_runtime::client::sign(&signer.pair(), call, nonce, Era::Immortal, ctx.genesis, 0, &ctx)
}

/// Signs a call by its encoding as `signer` (for a call of an older runtime on the chain that
/// this build's no longer has); returns the encoded extrinsic.
pub async fn sign_encoded(c: &WsClient, signer: Sr25519Keyring, call: &[u8]) -> Vec<u8> {
    let (nonce, ctx) = signing(c, signer).await;
    let pair = signer.pair();
    provena_runtime::client::sign_encoded(&pair, call, nonce, Era::Immortal, ctx.genesis, 0, &ctx)
}

/// Submits an encoded extrinsic and waits until a block holds it; returns that block's hash.
pub async fn submit_encoded_and_wait_in_block(c: &WsClient, xt: &[u8]) -> H256 {
    submit_bytes_and_watch(c, xt, false).await
}

/// Submits an extrinsic and waits until the block that holds it is finalized; returns that
/// block's hash.
pub async fn submit_and_wait_finalized(c: &WsClient, xt: &UncheckedExtrinsic) -> H256 {
    submit_and_watch(c, xt, true).await
}

/// Submits an extrinsic and waits until a block holds it; returns that block's hash.
pub async fn submit_and_wait_in_block(c: &WsClient, xt: &UncheckedExtrinsic) -> H256 {
    submit_and_watch(c, xt, false).await
}

async fn submit_and_watch(c: &WsClient, xt: &UncheckedExtrinsic, finalized: bool) -> H256 {
    submit_bytes_and_watch(c, &xt.encode(), finalized).await
}

async fn submit_bytes_and_watch(c: &WsClient, xt: &[u8], finalized: bool) -> H256 {
    let mut sub: Subscription<Value> = c
        .subscribe(
            "author_submitAndWatchExtrinsic",
            rpc_params![to_hex(xt)],
            "author_unwatchExtrinsic",
        )
        .await
        .expect("the extrinsic is accepted into the pool");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let status = tokio::time::timeout(left, sub.next())
            .await
            .expect("finalized within two minutes")
            .expect("subscription open")
            .expect("status decodes");
        if let Some(hash) = status.get("finalized") {
            return h256(hash);
        }
        if let (false, Some(hash)) = (finalized, status.get("inBlock")) {
            return h256(hash);
        }
        for bad in ["dropped", "invalid", "usurped", "finalityTimeout"] {
            assert!(status.get(bad).is_none() && status != Value::String(bad.into()), "{status}");
        }
    }
}

/// Verifies a proof from its JSON form with the documented rules (keccak leaves, keccak of
/// concatenated children, odd last node promoted), independently of the runtime's code.
pub fn verify_proof_json(root: H256, proof: &Value) -> bool {
    let leaf = from_hex(proof["leaf"].as_str().unwrap());
    let mut hash = keccak_256(&leaf);
    let mut index = proof["leafIndex"].as_u64().unwrap();
    let mut width = proof["leafCount"].as_u64().unwrap();
    let mut siblings = proof["siblings"].as_array().unwrap().iter().map(h256);
    while width > 1 {
        if !(index.is_multiple_of(2) && index + 1 == width) {
            let Some(s) = siblings.next() else { return false };
            let pair = if index.is_multiple_of(2) {
                [hash.as_slice(), s.as_bytes()].concat()
            } else {
                [s.as_bytes(), hash.as_slice()].concat()
            };
            hash = keccak_256(&pair);
        }
        index /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && H256(hash) == root
}

/// `calls` as one all-or-nothing `Utility::batch_all`.
pub fn batch(calls: Vec<RuntimeCall>) -> RuntimeCall {
    RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all { calls })
}

/// Registers a base model trained on snapshot 1 of datanet 0, at 1 OPEN per 1,000 tokens
/// with a 40% developer share.
pub fn register_base_model() -> RuntimeCall {
    RuntimeCall::Models(pallet_models::Call::register_model {
        kind: pallet_models::ModelKindArg::Base,
        weights_hash: H256::repeat_byte(0xaa),
        training_config_hash: H256::zero(),
        trained_on: vec![(0, 1)],
        price_per_1k_tokens: provena_primitives::currency::OPEN,
        developer_share: Permill::from_percent(40),
        metadata_uri: vec![],
        predecessor: None,
    })
}

/// An agent's registration serving `models` from its endpoint on this machine, with no card.
pub fn register_agent(models: Vec<ModelId>, bond: Balance, commission: Perbill) -> RuntimeCall {
    RuntimeCall::Agents(pallet_agents::Call::register_agent {
        models,
        endpoint: b"http://127.0.0.1:8000".to_vec(),
        metadata: vec![],
        bond,
        commission,
    })
}

/// A receipt of `voucher` for `user`: 600 + 400 tokens of model 0, all attributed to
/// contribution 0; no signature declares a prepaid voucher.
pub fn receipt_input(
    voucher: provena_primitives::attribution::Voucher<AccountId, u32>,
    user: AccountId,
    signature: Option<polkadot_sdk::sp_runtime::MultiSignature>,
) -> pallet_attribution::ReceiptInput<Runtime> {
    pallet_attribution::ReceiptInput::<Runtime> {
        voucher,
        user,
        signature,
        model: ModelId(0),
        input_tokens: 600,
        output_tokens: 400,
        attribution: vec![(ContributionId(0), 1_000_000)],
        pool: None,
        retrieved_from: None,
        evidence_hash: H256::repeat_byte(0xee),
    }
}

/// A receipt of `user`'s signed voucher `request` for model 0, served by Ferdie (an agent
/// serving it): 600 + 400 tokens at 1 OPEN per 1,000, all attributed to contribution 0.
pub async fn served_by_ferdie(
    c: &WsClient,
    user: Sr25519Keyring,
    request: u8,
) -> pallet_attribution::ReceiptInput<Runtime> {
    use polkadot_sdk::sp_core::Pair;
    use provena_primitives::attribution::{voucher_anchor, voucher_payload, Voucher};
    let voucher = Voucher {
        request_id: H256::repeat_byte(request),
        model: ModelId(0),
        max_fee: 2 * provena_primitives::currency::OPEN,
        operator: Sr25519Keyring::Ferdie.to_account_id(),
        expires_at: best_number(c).await + 100,
    };
    let lifetime = <Runtime as pallet_attribution::Config>::MaxVoucherLifetime::get();
    let anchor: Value = c
        .request("chain_getBlockHash", rpc_params![voucher_anchor(voucher.expires_at, lifetime)])
        .await
        .unwrap();
    let genesis: Value = c.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
    let payload = voucher_payload(&h256(&genesis), &h256(&anchor), &voucher);
    let signature = polkadot_sdk::sp_runtime::MultiSignature::Sr25519(user.pair().sign(&payload));
    receipt_input(voucher, user.to_account_id(), Some(signature))
}

/// Asserts that no extrinsic of `block` failed; returns its events.
pub async fn succeeded(c: &WsClient, block: H256) -> Vec<RuntimeEvent> {
    let evs = events(c, block).await;
    assert!(
        !evs.iter().any(|e| matches!(
            e,
            RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. })
        )),
        "an extrinsic failed: {evs:?}"
    );
    evs
}

/// Opens one referendum per `(origin, call)` (each on `origin`'s track, its call inline, its
/// decision deposit placed) as `proposer`; then each of `voters` votes aye with `balance` at ×1
/// on all of them. Returns their indices.
pub async fn open_referenda(
    c: &WsClient,
    proposer: Sr25519Keyring,
    proposals: Vec<(provena_runtime::OriginCaller, RuntimeCall)>,
    voters: &[Sr25519Keyring],
    balance: Balance,
) -> Vec<u32> {
    use polkadot_sdk::{
        frame_support::traits::{schedule::DispatchTime, Bounded},
        pallet_referenda,
    };
    let first: u32 =
        storage(c, pallet_referenda::ReferendumCount::<Runtime>::hashed_key().to_vec(), None)
            .await
            .unwrap_or(0);
    let indices: Vec<u32> = (first..).take(proposals.len()).collect();
    let mut calls = Vec::new();
    for ((origin, call), index) in proposals.into_iter().zip(&indices) {
        let inline = call.encode().try_into().expect("a call of at most 128 bytes");
        calls.push(RuntimeCall::Referenda(pallet_referenda::Call::submit {
            proposal_origin: Box::new(origin),
            proposal: Bounded::Inline(inline),
            enactment_moment: DispatchTime::After(0),
        }));
        calls.push(RuntimeCall::Referenda(pallet_referenda::Call::place_decision_deposit {
            index: *index,
        }));
    }
    succeeded(c, submit_and_wait_in_block(c, &sign(c, proposer, batch(calls)).await).await).await;
    let vote = pallet_governance::AccountVote::Standard {
        vote: pallet_governance::Vote {
            aye: true,
            conviction: pallet_governance::Conviction::Locked1x,
        },
        balance,
    };
    let blocks = futures::future::join_all(voters.iter().map(|voter| {
        let votes = indices
            .iter()
            .map(|i| {
                RuntimeCall::ConvictionVoting(pallet_governance::Call::vote {
                    poll_index: *i,
                    vote,
                })
            })
            .collect();
        async move { submit_and_wait_in_block(c, &sign(c, *voter, batch(votes)).await).await }
    }))
    .await;
    for block in blocks {
        succeeded(c, block).await;
    }
    indices
}

/// Runs the JavaScript test `script` of `node/tests/<dir>` (whose npm packages, `package` among
/// them, `.ci/setup` installs) with `env`; returns the JSON report it prints last.
pub fn run_js(dir: &str, script: &str, package: &str, env: &[(&str, String)]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join(dir);
    assert!(
        dir.join("node_modules").join(package).is_dir(),
        "npm packages missing: run `npm ci --prefix {}` (done by .ci/setup)",
        dir.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("node (JavaScript) runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(out.status.success(), "{script} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a report line")).expect("a JSON report")
}

/// Creates a public datanet named `name` with the minimum contribution stake.
pub fn create_public_datanet(name: &str) -> RuntimeCall {
    create_datanet(name, provena_primitives::datanets::Visibility::Public)
}

/// Creates a datanet named `name` with `visibility`, the minimum contribution stake and files up
/// to 1 MiB.
pub fn create_datanet(
    name: &str,
    visibility: provena_primitives::datanets::Visibility,
) -> RuntimeCall {
    RuntimeCall::Datanets(pallet_datanets::Call::create_datanet {
        name: name.as_bytes().to_vec(),
        description_uri: vec![],
        domain: b"tests".to_vec(),
        license: b"MIT".to_vec(),
        visibility,
        contribution_stake: provena_runtime::configs::MinContributionStake::get(),
        max_contribution_bytes: 1 << 20,
    })
}

/// Contributes the content hash `0xbb…bb` (100 bytes, 25 tokens) to `datanet`.
pub fn contribute(datanet: u32, byte: u8) -> RuntimeCall {
    RuntimeCall::Datanets(pallet_datanets::Call::contribute {
        datanet,
        content_hash: H256::repeat_byte(byte),
        byte_size: 100,
        token_count: 25,
        metadata_uri: vec![],
        license: vec![],
        max_stake: u128::MAX,
    })
}

/// Waits (deadline: `timeout`) for an event that `pick` accepts in a block after `from`;
/// returns what `pick` made of it and the block's number.
pub async fn wait_for_event<T>(
    c: &WsClient,
    from: u32,
    timeout: Duration,
    what: &str,
    pick: impl Fn(&RuntimeEvent) -> Option<T>,
) -> (T, u32) {
    let deadline = Instant::now() + timeout;
    let mut next = from + 1;
    loop {
        while next <= best_number(c).await {
            let hash = block_hash_of(c, next).await;
            if let Some(found) = events(c, hash).await.iter().find_map(&pick) {
                return (found, next);
            }
            next += 1;
        }
        assert!(Instant::now() < deadline, "no {what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn block_hash_of(c: &WsClient, n: u32) -> H256 {
    let hash: Value = c.request("chain_getBlockHash", rpc_params![n]).await.unwrap();
    h256(&hash)
}

/// The secret key of the well-known development account Alith (funded in the `development` and
/// `local_testnet` presets).
pub fn alith_key() -> [u8; 32] {
    from_hex("0x5fb92d6e98884f76de468fa3f6278f8807c48bebc13595d45af5bdc4da702133")
        .try_into()
        .unwrap()
}

/// Connects to an Ethereum endpoint over WebSocket, retrying while the node starts.
pub async fn eth_client(port: u16) -> WsClient {
    connect(port, || format!("(the Ethereum endpoint on port {port})")).await
}

/// A `0x` quantity as a number.
pub fn quantity(v: &Value) -> u128 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Signs a legacy Ethereum transaction with `key` (the chain id, gas price, pending nonce and a
/// gas estimate asked from the endpoint) and sends it; returns its hash.
pub async fn send_eth(
    eth: &WsClient,
    key: [u8; 32],
    to: Option<[u8; 20]>,
    value: u128,
    input: Vec<u8>,
) -> H256 {
    send_eth_with_nonce(eth, key, to, value, input, None).await
}

/// [`send_eth`] with a given nonce (`None`: the pending nonce).
pub async fn send_eth_with_nonce(
    eth: &WsClient,
    key: [u8; 32],
    to: Option<[u8; 20]>,
    value: u128,
    input: Vec<u8>,
    nonce: Option<u128>,
) -> H256 {
    use polkadot_sdk::pallet_revive::evm::{Account, Bytes, TransactionLegacyUnsigned, H160, U256};
    let account = Account::from_secret_key(key);
    let from = to_hex(account.address().as_bytes());
    let chain_id = quantity(&eth.request("eth_chainId", rpc_params![]).await.unwrap());
    let gas_price = quantity(&eth.request("eth_gasPrice", rpc_params![]).await.unwrap());
    let nonce = match nonce {
        Some(n) => n,
        None => quantity(
            &eth.request("eth_getTransactionCount", rpc_params![&from, "pending"]).await.unwrap(),
        ),
    };
    let mut call = serde_json::json!({ "from": from, "value": format!("{value:#x}"),
        "input": to_hex(&input) });
    if let Some(to) = to {
        call["to"] = to_hex(&to).into();
    }
    let gas: Value = eth
        .request("eth_estimateGas", rpc_params![call])
        .await
        .unwrap_or_else(|e| panic!("eth_estimateGas: {e}"));
    let tx = TransactionLegacyUnsigned {
        chain_id: Some(U256::from(chain_id)),
        gas: U256::from(quantity(&gas)),
        gas_price: U256::from(gas_price),
        input: Bytes(input),
        nonce: U256::from(nonce),
        to: to.map(H160::from),
        value: U256::from(value),
        ..Default::default()
    };
    let raw = account.sign_transaction(tx.into()).signed_payload();
    let hash: Value = eth
        .request("eth_sendRawTransaction", rpc_params![to_hex(&raw)])
        .await
        .unwrap_or_else(|e| panic!("eth_sendRawTransaction: {e}"));
    assert_eq!(h256(&hash), H256(keccak_256(&raw)));
    h256(&hash)
}

/// Waits (deadline: `timeout`) for the receipt of Ethereum transaction `tx`.
pub async fn eth_receipt(eth: &WsClient, tx: H256, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let receipt: Value =
            eth.request("eth_getTransactionReceipt", rpc_params![tx]).await.unwrap();
        if !receipt.is_null() {
            return receipt;
        }
        assert!(Instant::now() < deadline, "no receipt for {tx:?} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// EVM init code that emits one log (topic `topic`, data `0xaa`) while it runs and deploys a
/// contract whose code is a single `STOP`.
pub fn log_emitting_init_code(topic: [u8; 32]) -> Vec<u8> {
    let mut code = vec![0x60, 0xaa, 0x60, 0x00, 0x53, 0x7f]; // mem[0] = 0xaa; PUSH32
    code.extend(topic);
    code.extend([0x60, 0x01, 0x60, 0x00, 0xa1]); // LOG1(offset 0, size 1, topic)
    code.extend([0x60, 0x00, 0x60, 0x00, 0x53]); // mem[0] = 0x00 (STOP)
    code.extend([0x60, 0x01, 0x60, 0x00, 0xf3]); // RETURN(offset 0, size 1)
    code
}

/// EVM init code that deploys `runtime` (at most 32 bytes) as a contract's code.
pub fn init_code_for(runtime: &[u8]) -> Vec<u8> {
    let n = u8::try_from(runtime.len()).unwrap();
    assert!((1..=32).contains(&n));
    let mut code = vec![0x5f + n]; // PUSHn runtime
    code.extend(runtime);
    code.extend([0x60, 0x00, 0x52]); // MSTORE at 0: the code is in the word's last n bytes
    code.extend([0x60, n, 0x60, 32 - n, 0xf3]); // RETURN(32 - n, n)
    code
}
