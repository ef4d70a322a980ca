//! The bridge end to end (issue 21, acceptance 1 and 3): a real `provena-node --dev`, a real
//! Ethereum node (anvil, npm `@foundry-rs/anvil`) with `ProvenaBridge.sol` deployed by solc-js,
//! and two `provena-node bridge-relay` processes, each holding one key of a 2-of-3 committee.
//!
//! 1. OPEN goes out: Bob's transfer is closed into a bridge epoch, both members sign the root on
//!    Provena, a relayer settles it on Ethereum and claims the wrapped OPEN for the recipient.
//!    An attribution receipt served on Provena is proven on the contract against its epoch's
//!    settled root (and a tampered one is not).
//! 2. One relayer is killed (SIGKILL) while a burn on Ethereum and a second transfer out are in
//!    flight: with one member's signatures nothing crosses; restarted on its state, it finishes
//!    both, and nothing is paid or minted twice.
//!
//! After each step, OPEN locked on Provena equals wrapped OPEN on Ethereum (once the relayers
//! are idle), and the pallet account holds at least what is locked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use crate::common::*;
use alloy_core::{
    primitives::{Address, B256, U256},
    sol,
    sol_types::SolCall,
};
use codec::{Decode, Encode};
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use polkadot_sdk::{
    pallet_revive::evm::Account,
    pallet_sudo,
    sp_core::{ecdsa, Pair, H160},
    sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Ferdie},
    sp_runtime::Perbill,
};
use provena_primitives::{
    attribution::ReceiptProof, bridge::BridgeStatus, currency::OPEN, ContributionId, ModelId,
};
use provena_runtime::{AccountId, Balance, Runtime, RuntimeCall};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

sol! {
    interface IBridgeTest {
        function token() external view returns (address);
        function claimed(uint64 nonce) external view returns (bool);
        function attributionRoots(uint64 epoch) external view returns (bytes32);
        function verifyReceipt(uint64 attributionEpoch, bytes32 receiptLeaf, bytes32[] proof, uint32 index, uint32 count) external view returns (bool);
        function burn(bytes32 recipient, uint256 amount) external;
        function balanceOf(address who) external view returns (uint256);
        function totalSupply() external view returns (uint256);
    }
}

/// Anvil's funded development keys 2, 3 (relayers' gas) and 4 (the Ethereum user).
const ANVIL_KEYS: [&str; 3] = [
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f78f6aafad3ad4de3f4b9ff5a84ec3b9e8",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];
const DEPLOYER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn solidity_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pallets/bridge/solidity")
}

/// A real anvil node, mining a block a second.
struct Anvil {
    child: Child,
    port: u16,
}

impl Anvil {
    fn start() -> Self {
        let dir = solidity_dir();
        let bin = dir.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
        assert!(bin.exists(), "anvil missing: run `npm ci --prefix {}` (.ci/setup)", dir.display());
        let port = free_port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--chain-id", "31337", "--block-time", "1"])
            .arg("--silent")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        Anvil { child, port }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `provena-node bridge-relay` process.
struct Relayer {
    child: Option<Child>,
    args: Vec<String>,
    log: PathBuf,
}

impl Relayer {
    fn start(args: Vec<String>, log: PathBuf) -> Self {
        let mut r = Relayer { child: None, args, log };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        self.child = Some(
            Command::new(NODE_BIN)
                .arg("bridge-relay")
                .args(&self.args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("the relayer starts"),
        );
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Relayer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn write_secret(dir: &Path, name: &str, secret: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, secret).unwrap();
    path.display().to_string()
}

async fn eth_view<C: SolCall>(eth: &WsClient, to: H160, call: C) -> C::Return {
    let tx = serde_json::json!({ "to": format!("{to:?}"), "input": to_hex(&call.abi_encode()) });
    let out: String = eth.request("eth_call", rpc_params![tx, "latest"]).await.unwrap();
    C::abi_decode_returns(&from_hex(&out)).unwrap()
}

async fn bridge_status(c: &WsClient) -> BridgeStatus<Balance> {
    let out: String = c.request("state_call", rpc_params!["BridgeApi_status", "0x"]).await.unwrap();
    Decode::decode(&mut &from_hex(&out)[..]).unwrap()
}

async fn receipt_proof(c: &WsClient, id: u64) -> Option<ReceiptProof> {
    let arg = to_hex(&id.encode());
    let out: String =
        c.request("state_call", rpc_params!["AttributionApi_receipt_proof", arg]).await.unwrap();
    Decode::decode(&mut &from_hex(&out)[..]).unwrap()
}

/// Waits (deadline `timeout`) until `check` holds, with the relayers' logs on failure.
async fn until<F, Fut>(what: &str, timeout: Duration, logs: impl Fn() -> String, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}\n{}", logs());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Locked on Provena == wrapped OPEN on Ethereum, and the pallet account holds what is locked.
async fn conserved(c: &WsClient, eth: &WsClient, token: H160) -> Balance {
    let status = bridge_status(c).await;
    let supply = eth_view(eth, token, IBridgeTest::totalSupplyCall {}).await;
    assert_eq!(U256::from(status.total_locked), supply, "locked on Provena != minted − burnt");
    let account = pallet_bridge::Pallet::<Runtime>::account_id();
    assert!(free_balance(c, &account, None).await >= status.total_locked);
    status.total_locked
}

async fn run(c: &WsClient, who: Sr25519Keyring, call: RuntimeCall) {
    succeeded(c, submit_and_wait_in_block(c, &sign(c, who, call).await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_and_attribution_roots_cross_and_a_killed_relayer_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let client = node.client().await;
    let c = &client;
    let anvil = Anvil::start();
    let eth_ws = eth_client(anvil.port).await;
    let eth = &eth_ws;
    wait_for_best(c, 1, Duration::from_secs(60)).await;

    // The committee: three secp256k1 keys, two must sign.
    let keys: Vec<ecdsa::Pair> = (1..=3u8).map(|i| ecdsa::Pair::from_seed(&[i; 32])).collect();
    let members: Vec<H160> =
        keys.iter().map(|k| Account::from_secret_key(k.seed()).address()).collect();
    let member_list = members.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(",");
    let provena_chain_id = provena_runtime::configs::EVM_CHAIN_ID;

    // Deploy the contract (solc-js compiles it) for committee 0.
    let out = Command::new("node")
        .arg(solidity_dir().join("deploy.mjs"))
        .env("ETH_RPC", format!("http://127.0.0.1:{}", anvil.port))
        .env("DEPLOYER_KEY", DEPLOYER_KEY)
        .env("PROVENA_CHAIN_ID", provena_chain_id.to_string())
        .env("MIN_BURN", OPEN.to_string())
        .env("GUARDIAN", "0x00000000000000000000000000000000000000aa")
        .env("COMMITTEE_ID", "0")
        .env("MEMBERS", &member_list)
        .env("THRESHOLD", "2")
        .output()
        .expect("node runs deploy.mjs");
    assert!(out.status.success(), "deploy: {}", String::from_utf8_lossy(&out.stderr));
    let deployed: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let contract = H160::from_slice(&from_hex(deployed["bridge"].as_str().unwrap()));
    let token = H160::from_slice(&from_hex(deployed["token"].as_str().unwrap()));

    // Root configures the bridge: the target, the same committee, rate limits.
    let big = 1_000_000 * OPEN;
    let configure = batch(vec![
        RuntimeCall::Bridge(pallet_bridge::Call::set_target { chain_id: 31_337, contract }),
        RuntimeCall::Bridge(pallet_bridge::Call::set_committee {
            members: members.clone().try_into().unwrap(),
            threshold: 2,
        }),
        RuntimeCall::Bridge(pallet_bridge::Call::set_rate_limits {
            limits: pallet_bridge::RateLimits {
                out_capacity: big,
                out_per_block: big,
                in_capacity: big,
                in_per_block: big,
            },
        }),
    ]);
    run(c, Alice, RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(configure) })).await;

    // Two relayers: members 0 and 1, paying with Dave and Eve on Provena and anvil keys 2, 3.
    let relayer = |i: usize, who: &str| {
        let d = dir.path().join(format!("relayer{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let args = vec![
            "--provena-rpc".into(),
            format!("ws://127.0.0.1:{}", node.rpc_port),
            "--eth-rpc".into(),
            format!("ws://127.0.0.1:{}", anvil.port),
            "--contract".into(),
            format!("{contract:?}"),
            "--provena-key-file".into(),
            write_secret(&d, "provena", who),
            "--committee-key-file".into(),
            write_secret(&d, "committee", &to_hex(keys[i].seed().as_ref())),
            "--eth-key-file".into(),
            write_secret(&d, "eth", ANVIL_KEYS[i]),
            "--state-dir".into(),
            d.join("state").display().to_string(),
            "--eth-confirmations".into(),
            "1".into(),
            "--poll-ms".into(),
            "1000".into(),
        ];
        Relayer::start(args, d.join("relayer.log"))
    };
    let mut r0 = relayer(0, "//Dave");
    let r1 = relayer(1, "//Eve");
    let (log0, log1) = (r0.log.clone(), r1.log.clone());
    let logs = || {
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        format!("relayer 0:\n{}\nrelayer 1:\n{}", read(&log0), read(&log1))
    };

    // An attribution receipt: model 0 on datanet 0's snapshot, Ferdie an agent serving it.
    let setup = batch(vec![
        create_public_datanet("Bridge"),
        contribute(0, 1),
        RuntimeCall::Datanets(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 90 },
        }),
        RuntimeCall::Datanets(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ]);
    run(c, Alice, setup).await;
    run(c, Charlie, register_base_model()).await;
    run(c, Ferdie, register_agent(vec![ModelId(0)], 2_000 * OPEN, Perbill::from_percent(10))).await;
    let receipts = vec![served_by_ferdie(c, Bob, 1).await];
    run(
        c,
        Ferdie,
        RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts { receipts }),
    )
    .await;

    // 1. Out: Bob locks 100 OPEN for the Ethereum user.
    let user = Account::from_secret_key(from_hex(ANVIL_KEYS[2]).try_into().unwrap());
    let user_address = user.address();
    let out = |amount| {
        RuntimeCall::Bridge(pallet_bridge::Call::bridge_out { recipient: user_address, amount })
    };
    run(c, Bob, out(100 * OPEN)).await;
    let who = Address::from(user_address.0);
    until("the transfer out is claimed on Ethereum", Duration::from_secs(240), &logs, || async {
        eth_view(eth, token, IBridgeTest::balanceOfCall { who }).await == U256::from(100 * OPEN)
    })
    .await;
    assert_eq!(conserved(c, eth, token).await, 100 * OPEN);

    // The receipt's epoch closes, is carried in a bridge epoch and settled on Ethereum; the
    // receipt proves against it.
    let proof = {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(p) = receipt_proof(c, 0).await {
                break p;
            }
            assert!(Instant::now() < deadline, "receipt 0's epoch did not close");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let epoch = u64::from(proof.epoch);
    until(
        "the attribution root is settled on Ethereum",
        Duration::from_secs(240),
        &logs,
        || async {
            !eth_view(eth, contract, IBridgeTest::attributionRootsCall { epoch }).await.is_zero()
        },
    )
    .await;
    let verify = |leaf: B256| IBridgeTest::verifyReceiptCall {
        attributionEpoch: epoch,
        receiptLeaf: leaf,
        proof: proof.proof.siblings.iter().map(|s| B256::from(s.0)).collect(),
        index: proof.proof.leaf_index,
        count: proof.proof.leaf_count,
    };
    let leaf = B256::from_slice(&proof.proof.leaf);
    assert!(eth_view(eth, contract, verify(leaf)).await, "the receipt proves on Ethereum");
    let mut tampered = leaf;
    tampered.0[0] ^= 1;
    assert!(!eth_view(eth, contract, verify(tampered)).await);

    // 2. Relayer 0 is killed with a burn and a transfer out in flight.
    r0.kill();
    let recipient = AccountId::new([0x77; 32]);
    let burn = IBridgeTest::burnCall {
        recipient: B256::from(<[u8; 32]>::from(recipient.clone())),
        amount: U256::from(40 * OPEN),
    };
    let tx = send_eth(
        eth,
        from_hex(ANVIL_KEYS[2]).try_into().unwrap(),
        Some(contract.0),
        0,
        burn.abi_encode(),
    )
    .await;
    assert_eq!(quantity(&eth_receipt(eth, tx, Duration::from_secs(30)).await["status"]), 1);
    run(c, Bob, out(10 * OPEN)).await;
    // One member alone moves nothing: past a whole bridge epoch, neither has crossed.
    // A bridge epoch on a dev chain (the runtime test `bridge_epochs_carry_every_attribution_epoch`).
    let epoch_blocks = 10;
    let from = best_number(c).await;
    wait_for_finalized(c, from + epoch_blocks + 4, Duration::from_secs(180)).await;
    assert_eq!(free_balance(c, &recipient, None).await, 0, "{}", logs());
    assert!(!eth_view(eth, contract, IBridgeTest::claimedCall { nonce: 1 }).await);
    assert_eq!(bridge_status(c).await.next_inbound_nonce, 0);

    // Restarted on its state, it finishes both, once.
    r0.spawn();
    let to = &recipient;
    until(
        "the burn is released and the transfer claimed",
        Duration::from_secs(240),
        &logs,
        || async {
            free_balance(c, to, None).await == 40 * OPEN
                && eth_view(eth, contract, IBridgeTest::claimedCall { nonce: 1 }).await
        },
    )
    .await;
    // Another bridge epoch later: nothing more paid, minted or released.
    let from = best_number(c).await;
    wait_for_finalized(c, from + epoch_blocks + 4, Duration::from_secs(180)).await;
    assert_eq!(free_balance(c, &recipient, None).await, 40 * OPEN);
    assert_eq!(
        eth_view(eth, token, IBridgeTest::balanceOfCall { who }).await,
        U256::from(70 * OPEN)
    );
    let status = bridge_status(c).await;
    assert_eq!((status.next_inbound_nonce, status.next_outbound_nonce), (1, 2));
    assert_eq!(conserved(c, eth, token).await, 70 * OPEN);
    let state: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("relayer0/state/relayer.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["nextClaimNonce"], 2, "{state}");
    drop(r1);
}
