//! The Ethereum endpoint's history on a node that prunes state: transactions traced (call and
//! prestate tracers, a reverted call, an access list) while their state exists; receipts, logs,
//! transactions and blocks served from the on-disk Ethereum index after the state of their block
//! is gone, across a restart and after `import-blocks`; a pending transaction found with no
//! block; `--eth-index-rebuild` starts the index again from the state the node has; a
//! connection over `--eth-rpc-rate-limit` is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use polkadot_sdk::sp_core::H256;
use serde_json::{json, Value};

const MINUTE: Duration = Duration::from_secs(60);
/// Blocks of state the node keeps behind the finalized block.
const STATE_KEPT: u32 = 4;
const FLAGS: [&str; 4] = ["--state-pruning", "4", "--eth-index-depth", "1000"];
const ALITH: &str = "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac";
const BALTATHAR: &str = "0x3Cd0A705a2DC65e5b1E1205896BaA2be8A07c6e0";

/// Everything the endpoint answers about the block of `deploy` and `transfer`.
async fn history(eth: &WsClient, deploy: H256, transfer: H256, number: u32) -> Value {
    let get = |method: &'static str, params: jsonrpsee::core::params::ArrayParams| async move {
        eth.request::<Value, _>(method, params).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    };
    let block = format!("{number:#x}");
    serde_json::json!({
        "deployReceipt": get("eth_getTransactionReceipt", rpc_params![deploy]).await,
        "transferReceipt": get("eth_getTransactionReceipt", rpc_params![transfer]).await,
        "deploy": get("eth_getTransactionByHash", rpc_params![deploy]).await,
        "block": get("eth_getBlockByNumber", rpc_params![&block, true]).await,
        "receipts": get("eth_getBlockReceipts", rpc_params![&block]).await,
        "logs": get("eth_getLogs", rpc_params![serde_json::json!({
            "fromBlock": &block, "toBlock": &block })]).await,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_traces_then_history_past_pruned_state_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = DevNode::start_with(dir.path(), &FLAGS);
    let c = node.client().await;
    let eth = eth_client(node.eth_port).await;
    wait_for_best(&c, 1, MINUTE).await;

    // A contract deployed with a log, and a plain transfer.
    let topic = [0x42; 32];
    let deploy = send_eth(&eth, alith_key(), None, 0, log_emitting_init_code(topic)).await;
    let baltathar: [u8; 20] = from_hex(BALTATHAR).try_into().unwrap();
    let transfer = send_eth(&eth, alith_key(), Some(baltathar), 10u128.pow(18), vec![]).await;
    let receipt = eth_receipt(&eth, deploy, MINUTE).await;
    let transfer_receipt = eth_receipt(&eth, transfer, MINUTE).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(transfer_receipt["status"], "0x1", "{transfer_receipt}");
    assert_eq!(receipt["logs"][0]["topics"][0], to_hex(&topic));
    assert!(receipt["contractAddress"].is_string());
    // Both in one block keeps the test short; otherwise look at the later one's block too.
    let number = quantity(&receipt["blockNumber"]) as u32;
    let transfer_number = quantity(&transfer_receipt["blockNumber"]) as u32;
    let newest = number.max(transfer_number);
    let before = history(&eth, deploy, transfer, number).await;
    assert_eq!(before["logs"].as_array().unwrap().len(), 1, "{before}");

    // Traces, while the state is there: the deployment by the call tracer (a CREATE that
    // logged), the transfer by the prestate tracer (both accounts), the whole block.
    let trace: Value = eth
        .request("debug_traceTransaction", rpc_params![deploy, json!({ "tracer": "callTracer" })])
        .await
        .unwrap();
    assert_eq!(trace["type"], "CREATE", "{trace}");
    assert_eq!(trace["logs"][0]["topics"][0], to_hex(&topic), "{trace}");
    let pre: Value = eth
        .request(
            "debug_traceTransaction",
            rpc_params![transfer, json!({ "tracer": "prestateTracer" })],
        )
        .await
        .unwrap();
    let pre_accounts: Vec<String> =
        pre.as_object().unwrap().keys().map(|k| k.to_lowercase()).collect();
    for who in [ALITH, BALTATHAR] {
        assert!(pre_accounts.contains(&who.to_lowercase()), "{who} not in the prestate {pre}");
    }
    let block_trace: Value =
        eth.request("debug_traceBlockByNumber", rpc_params![format!("{number:#x}")]).await.unwrap();
    assert!(
        block_trace.as_array().unwrap().iter().any(|t| t["txHash"] == to_hex(deploy.as_bytes())),
        "{block_trace}"
    );
    // A reverted call traced: a contract that reads slot 5 and reverts.
    let reverter_code = [0x60, 0x05, 0x54, 0x50, 0x60, 0x00, 0x60, 0x00, 0xfd];
    let reverter_tx = send_eth(&eth, alith_key(), None, 0, init_code_for(&reverter_code)).await;
    let reverter = eth_receipt(&eth, reverter_tx, MINUTE).await["contractAddress"].clone();
    let call = json!({ "from": ALITH, "to": reverter });
    let reverted: Value = eth
        .request("debug_traceCall", rpc_params![&call, "latest", json!({ "tracer": "callTracer" })])
        .await
        .unwrap();
    assert_eq!(reverted["error"], "execution reverted", "{reverted}");
    assert_eq!(
        reverted["to"].as_str().unwrap().to_lowercase(),
        reverter.as_str().unwrap().to_lowercase()
    );
    let unsupported = eth
        .request::<Value, _>(
            "debug_traceCall",
            rpc_params![&call, "latest", json!({ "tracer": "4byteTracer" })],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(unsupported.contains("not supported"), "{unsupported}");
    // Its access list: the slot it read, and the error.
    let list: Value = eth.request("eth_createAccessList", rpc_params![&call]).await.unwrap();
    assert_eq!(
        list["accessList"][0]["address"].as_str().unwrap().to_lowercase(),
        reverter.as_str().unwrap().to_lowercase(),
        "{list}"
    );
    assert_eq!(
        list["accessList"][0]["storageKeys"][0],
        to_hex(&H256::from_low_u64_be(5).0),
        "{list}"
    );
    assert_eq!(list["accessList"].as_array().unwrap().len(), 1, "{list}");
    assert!(list["error"].as_str().unwrap().contains("reverted"), "{list}");

    // Once the block is STATE_KEPT blocks behind finality its state is gone (deadline: two
    // minutes)...
    wait_for_finalized(&c, newest + STATE_KEPT + 4, 2 * MINUTE).await;
    let block_hash = receipt["blockHash"].as_str().unwrap().to_string();
    let state = eth.request::<Value, _>("eth_getBalance", rpc_params![ALITH, &block_hash]).await;
    assert!(state.is_err(), "the state of block #{number} is still there: {state:?}");
    let trace = eth.request::<Value, _>("debug_traceTransaction", rpc_params![deploy]).await;
    let message = trace.unwrap_err().to_string();
    assert!(message.contains("archive"), "tracing a pruned block: {message}");
    // ... and the history is still served, unchanged.
    assert_eq!(history(&eth, deploy, transfer, number).await, before);
    assert_eq!(history(&eth, deploy, transfer, transfer_number).await["transferReceipt"], {
        before["transferReceipt"].clone()
    });

    // A transaction waiting in the pool (its nonce one ahead) is found, with no block; it
    // lands once the gap is filled.
    let nonce: Value =
        eth.request("eth_getTransactionCount", rpc_params![ALITH, "pending"]).await.unwrap();
    let nonce = quantity(&nonce);
    let ahead =
        send_eth_with_nonce(&eth, alith_key(), Some(baltathar), 2, vec![], Some(nonce + 1)).await;
    let waiting: Value = eth.request("eth_getTransactionByHash", rpc_params![ahead]).await.unwrap();
    assert_eq!(waiting["hash"], to_hex(ahead.as_bytes()), "{waiting}");
    assert!(waiting["blockHash"].is_null() && waiting["blockNumber"].is_null(), "{waiting}");
    assert_eq!(quantity(&waiting["nonce"]), nonce + 1);
    send_eth_with_nonce(&eth, alith_key(), Some(baltathar), 1, vec![], Some(nonce)).await;
    let landed = eth_receipt(&eth, ahead, MINUTE).await;
    let mined: Value = eth.request("eth_getTransactionByHash", rpc_params![ahead]).await.unwrap();
    assert_eq!(mined["blockHash"], landed["blockHash"]);

    // A restart keeps it: the index is on disk.
    node.stop();
    let node = DevNode::start_with(dir.path(), &FLAGS);
    let eth = eth_client(node.eth_port).await;
    assert_eq!(history(&eth, deploy, transfer, number).await, before);
    drop(eth);
    drop(node);

    // Blocks imported offline are indexed too: the chain exported, imported into a new base
    // path by `import-blocks`, serves the same history.
    let exported = dir.path().join("blocks.json");
    let imported = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(NODE_BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let base = dir.path().to_str().unwrap();
    cli(&[
        "export-blocks",
        "--dev",
        "--base-path",
        base,
        "--to",
        &(newest + 2).to_string(),
        exported.to_str().unwrap(),
    ]);
    cli(&[
        "import-blocks",
        "--dev",
        "--base-path",
        imported.path().to_str().unwrap(),
        "--state-pruning",
        "4",
        exported.to_str().unwrap(),
    ]);
    let node = DevNode::start_with(imported.path(), &FLAGS);
    let eth = eth_client(node.eth_port).await;
    assert_eq!(history(&eth, deploy, transfer, number).await, before);
    drop(eth);
    drop(node);

    // A rebuild starts from the state the node has: the pruned block's history is gone (an
    // archive node, `--state-pruning archive`, would rebuild it), newer blocks are indexed.
    let mut flags = FLAGS.to_vec();
    flags.extend(["--eth-index-rebuild", "--eth-rpc-rate-limit", "120"]);
    let node = DevNode::start_with(dir.path(), &flags);
    let c = node.client().await;
    let eth = eth_client(node.eth_port).await;
    let gone: Value = eth.request("eth_getTransactionReceipt", rpc_params![deploy]).await.unwrap();
    assert!(gone.is_null(), "a rebuilt index of a pruned node holds {gone}");
    let again = send_eth(&eth, alith_key(), Some(baltathar), 1, vec![]).await;
    let r = eth_receipt(&eth, again, MINUTE).await;
    assert_eq!(r["status"], "0x1");
    let best = best_number(&c).await;
    assert!(best > newest, "blocks were produced after the rebuild");

    // A connection over the rate limit (120 calls a minute) is refused at once; another
    // connection is not.
    let flood = eth_client(node.eth_port).await;
    let mut refused = 0;
    for _ in 0..200 {
        if let Err(e) = flood.request::<Value, _>("eth_chainId", rpc_params![]).await {
            assert!(e.to_string().contains("rate limit exceeded"), "{e}");
            refused += 1;
        }
    }
    assert!((40..=80).contains(&refused), "{refused} of 200 calls refused");
    let other = eth_client(node.eth_port).await;
    other.request::<Value, _>("eth_chainId", rpc_params![]).await.unwrap();
}
