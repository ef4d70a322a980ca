//! EVM compatibility end to end on a real `provena-node --dev`: ethers and viem (npm) and solc-js
//! drive the node's Ethereum JSON-RPC endpoint (`tests/evm/evm.mjs`: an ERC-20 deployed and used,
//! an EIP-1559 raw transaction, the Provena precompile called from a contract that prepays an
//! inference voucher, and the bad inputs a wallet can send); this test prepares the chain over
//! the native RPC, checks the Ethereum answers against the runtime's own RPC, redeems the
//! contract's voucher with an operator's receipt, and checks that native and EVM balances agree
//! in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use codec::Encode;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClientBuilder};
use pallet_attribution::Event as AttributionEvent;
use polkadot_sdk::{
    frame_support::traits::{schedule::DispatchTime, Bounded},
    frame_system, pallet_balances, pallet_referenda,
    sp_core::H256,
    sp_keyring::Sr25519Keyring,
};
use provena_primitives::{attribution::Voucher, currency::OPEN, datanets::Visibility};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{
    configs::{origins::Origin, ExistentialDeposit, MinContributionStake},
    genesis_config_presets::{eth_account, DEV_ETH_ACCOUNTS},
    AccountId, Runtime, RuntimeCall, RuntimeEvent,
};
use serde_json::Value;

fn dev_eth(name: &str) -> [u8; 20] {
    DEV_ETH_ACCOUNTS.iter().find(|(n, _)| *n == name).unwrap().1
}

/// An account id as 0x-prefixed hex of its 32 bytes.
fn raw(who: &AccountId) -> String {
    let bytes: &[u8; 32] = who.as_ref();
    to_hex(bytes)
}

fn u256(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_tooling_works_against_the_dev_chain() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;
    use Sr25519Keyring::{Alice, Bob, Charlie, Ferdie};

    // A datanet with an accepted contribution in snapshot 1, a model trained on it (1 OPEN
    // per 1,000 tokens) and Ferdie as an operator.
    let dn = |call| RuntimeCall::Datanets(call);
    let create = batch(vec![
        dn(pallet_datanets::Call::create_datanet {
            name: b"Solidity snippets".to_vec(),
            description_uri: vec![],
            domain: b"solidity".to_vec(),
            license: b"MIT".to_vec(),
            visibility: Visibility::Public,
            contribution_stake: MinContributionStake::get(),
            max_contribution_bytes: 1 << 20,
        }),
        dn(pallet_datanets::Call::contribute {
            datanet: 0,
            content_hash: H256::repeat_byte(1),
            byte_size: 100,
            token_count: 25,
            metadata_uri: vec![],
            license: vec![],
            max_stake: u128::MAX,
        }),
        dn(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 77 },
        }),
        dn(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
        // Referendum 0, on the disputes track, for the IGovernance vote: without a decision
        // deposit it stays open to votes until it times out (14 blocks on a dev chain).
        RuntimeCall::Referenda(pallet_referenda::Call::submit {
            proposal_origin: Box::new(Origin::DisputeResolver.into()),
            proposal: Bounded::Inline(
                RuntimeCall::System(frame_system::Call::remark { remark: b"evm".to_vec() })
                    .encode()
                    .try_into()
                    .unwrap(),
            ),
            enactment_moment: DispatchTime::After(0),
        }),
    ]);
    submit_and_wait_in_block(&c, &sign(&c, Alice, create).await).await;
    submit_and_wait_in_block(&c, &sign(&c, Charlie, register_base_model()).await).await;
    // Ferdie is also an agent (for the IAgents delegation), serving model 0.
    let register = register_agent(
        vec![ModelId(0)],
        2_000 * OPEN,
        polkadot_sdk::sp_runtime::Perbill::from_percent(10),
    );
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, register).await).await).await;

    // Native → EVM: Bob sends 5 OPEN to Dorothy's Ethereum address (as its native account).
    let dorothy = eth_account(dev_eth("dorothy"));
    let to_dorothy = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: dorothy.clone().into(),
        value: 5 * OPEN,
    });
    let dorothy_before = free_balance(&c, &dorothy, None).await;
    let block = submit_and_wait_in_block(&c, &sign(&c, Bob, to_dorothy).await).await;
    let dorothy_free = free_balance(&c, &dorothy, Some(block)).await;
    assert_eq!(dorothy_free - dorothy_before, 5 * OPEN);

    // The Ethereum side.
    let bob = Bob.to_account_id();
    let bob_before = free_balance(&c, &bob, None).await;
    let report = run_js(
        "evm",
        "evm.mjs",
        "ethers",
        &[
            ("ETH_URL", format!("http://127.0.0.1:{}", node.eth_port)),
            ("MODEL", "0".into()),
            ("DATANET", "0".into()),
            ("CONTRIBUTION", "0".into()),
            ("OPERATOR", raw(&Ferdie.to_account_id())),
            ("BOB_ACCOUNT", raw(&bob)),
            ("DOROTHY_FREE", dorothy_free.to_string()),
            ("ED", ExistentialDeposit::get().to_string()),
            ("REFERENDUM", "0".into()),
            ("AGENT", raw(&Ferdie.to_account_id())),
        ],
    );
    eprintln!("report: {report:#}");
    let eth = WsClientBuilder::default()
        .build(format!("ws://127.0.0.1:{}", node.eth_port))
        .await
        .unwrap();

    // The precompile's answers equal the runtime's own RPC.
    let model: Value = c.request("models_getModel", rpc_params![0]).await.unwrap();
    let p = &report["precompile"];
    assert_eq!(p["model"]["pricePer1kTokens"].as_str().unwrap(), model["pricePer1kTokens"]);
    assert_eq!(p["model"]["exists"], true);
    assert_eq!(p["model"]["active"], model["status"] == "Active");
    let datanet: Value = c.request("datanets_getDatanet", rpc_params![0]).await.unwrap();
    assert_eq!(p["datanet"]["name"], datanet["name"]);
    assert_eq!(p["datanet"]["accepted"], datanet["acceptedCount"]);
    assert_eq!(p["datanet"]["stake"], datanet["contributionStake"]);
    assert_eq!(p["datanet"]["owner"], raw(&account(&datanet["owner"])));
    let contribution: Value = c.request("datanets_getContribution", rpc_params![0]).await.unwrap();
    assert_eq!(contribution["status"], serde_json::json!({ "Accepted": { "quality": 77 } }));
    assert_eq!(p["contribution"]["status"], 2);
    assert_eq!(p["contribution"]["quality"], 77);
    assert_eq!(p["contribution"]["contributor"], raw(&account(&contribution["contributor"])));

    // Block hashes are the chain's own.
    let erc20_block = report["erc20"]["block"].as_str().unwrap();
    let header: Value = c.request("chain_getHeader", rpc_params![erc20_block]).await.unwrap();
    assert!(header["number"].is_string(), "the Ethereum block hash names a chain block");

    // EVM → native: Ethan's payment to Bob's mapped address arrived in Bob's native balance.
    let to_bob: u128 = report["toBob"]["value"].as_str().unwrap().parse().unwrap();
    let at = h256(&report["toBob"]["block"]);
    assert_eq!(free_balance(&c, &bob, Some(at)).await - bob_before, to_bob);
    let bob_eth: Value = eth
        .request("eth_getBalance", rpc_params![report["toBob"]["address"].clone(), erc20_block])
        .await
        .unwrap();
    let bob_then = free_balance(&c, &bob, Some(h256(&report["erc20"]["block"]))).await;
    assert_eq!(u256(&bob_eth), bob_then - ExistentialDeposit::get());

    // Ferdie serves the contract's prepaid request and redeems its voucher: 600 + 400 tokens
    // cost 1 OPEN, taken from the contract; the rest of the 2 OPEN hold is released.
    // Baltathar's IGovernance vote is a conviction vote of his mapped account: 100 OPEN at ×1
    // in the referendum's tally, recorded in `VotingFor` and locked.
    let baltathar = eth_account(dev_eth("baltathar"));
    let at = h256(&report["governance"]["block"]);
    let info: Option<pallet_referenda::ReferendumInfoOf<Runtime, ()>> =
        storage(&c, pallet_referenda::ReferendumInfoFor::<Runtime>::hashed_key_for(0), Some(at))
            .await;
    match info {
        Some(pallet_referenda::ReferendumInfo::Ongoing(status)) => {
            assert_eq!((status.tally.ayes, status.tally.support), (100 * OPEN, 100 * OPEN));
        }
        other => panic!("referendum 0 is not ongoing: {other:?}"),
    }
    let voting: pallet_governance::VotingOf<Runtime> = storage(
        &c,
        pallet_governance::VotingFor::<Runtime>::hashed_key_for(&baltathar, 4u16),
        Some(at),
    )
    .await
    .unwrap();
    assert!(
        matches!(&voting, polkadot_sdk::pallet_conviction_voting::Voting::Casting(c) if c.votes.len() == 1),
        "{voting:?}"
    );
    assert_eq!(report["governance"]["power"], "0");

    // Ethan's IAgents delegation is a delegation of his mapped account: 20 OPEN of points in
    // Ferdie's pool, which now holds 2,020 OPEN.
    let ethan = eth_account(dev_eth("ethan"));
    let at = h256(&report["agents"]["block"]);
    let member: Option<pallet_agents::Membership<Runtime>> = storage(
        &c,
        pallet_agents::Members::<Runtime>::hashed_key_for(Ferdie.to_account_id(), &ethan),
        Some(at),
    )
    .await;
    assert_eq!(member.map(|m| m.points), Some(20 * OPEN));
    assert_eq!(report["agents"]["totalStake"], (2_020 * OPEN).to_string());

    let v = &report["voucher"];
    let contract_address: [u8; 20] = from_hex(v["contract"].as_str().unwrap()).try_into().unwrap();
    let contract = eth_account(contract_address);
    let voucher = Voucher::<AccountId, u32> {
        request_id: h256(&v["requestId"]),
        model: ModelId(0),
        max_fee: v["maxFee"].as_str().unwrap().parse().unwrap(),
        operator: Ferdie.to_account_id(),
        expires_at: v["expiresAt"].as_u64().unwrap() as u32,
    };
    // No signature: the receipt declares the prepaid voucher, whose hold is the authorization.
    let receipt = receipt_input(voucher, contract.clone(), None);
    let submit = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts {
        receipts: vec![receipt],
    });
    let block = submit_and_wait_in_block(&c, &sign(&c, Ferdie, submit).await).await;
    let evs = events(&c, block).await;
    assert!(
        evs.iter().any(|e| matches!(e,
            RuntimeEvent::Attribution(AttributionEvent::ReceiptSubmitted { user, fee, .. })
                if *user == contract && *fee == OPEN)),
        "no receipt charged to the contract in {evs:?}"
    );
    let block_hex = to_hex(block.as_bytes());
    let after: Value =
        eth.request("eth_getBalance", rpc_params![v["contract"].clone(), block_hex]).await.unwrap();
    let before: u128 = v["contractBalance"].as_str().unwrap().parse().unwrap();
    assert_eq!(u256(&after), before + (2 * OPEN - OPEN), "the unspent hold is released");
    let r: Value = c.request("attribution_getReceipt", rpc_params![0]).await.unwrap();
    assert_eq!(account(&r["user"]), contract);
    assert_eq!(r["fee"], OPEN.to_string());

    // The EVM and native views agree for a dev account at the same block.
    let alith = eth_account(dev_eth("alith"));
    let alith_eth: Value = eth
        .request("eth_getBalance", rpc_params![to_hex(&dev_eth("alith")), to_hex(block.as_bytes())])
        .await
        .unwrap();
    assert_eq!(
        u256(&alith_eth),
        free_balance(&c, &alith, Some(block)).await - ExistentialDeposit::get()
    );

    // A second client library: viem deploys, writes, reads events and watches (HTTP filters,
    // WebSocket subscriptions). Its token's code is on chain, as the native RPC sees it.
    let viem = run_js(
        "evm",
        "viem.mjs",
        "viem",
        &[("ETH_URL", format!("http://127.0.0.1:{}", node.eth_port))],
    );
    eprintln!("viem: {viem:#}");
    let code: Value = eth
        .request(
            "eth_getCode",
            rpc_params![viem["deployed"]["address"].as_str().unwrap(), "latest"],
        )
        .await
        .unwrap();
    assert!(code.as_str().unwrap().len() > 2, "viem's token has no code");
    let write_block = viem["write"]["block"].as_u64().unwrap();
    assert!(write_block > viem["deployed"]["block"].as_u64().unwrap());
    assert!(u64::from(best_number(&c).await) >= write_block);

    // The node kept producing blocks through everything.
    let n = best_number(&c).await;
    wait_for_best(&c, n + 1, Duration::from_secs(60)).await;
    eprintln!(
        "gas: plain transfer {} (fee {} wei), ERC-20 transfer {} (fee {} wei), ERC-20 deploy {}",
        report["plainTransfer"]["gasUsed"],
        report["plainTransfer"]["fee"],
        report["erc20"]["transferGasUsed"],
        report["erc20"]["transferFee"],
        report["erc20"]["deployGasUsed"],
    );
}
