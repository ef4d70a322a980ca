//! A runtime upgrade of a dev chain created with an earlier runtime (spec 104, read from the
//! chain spec committed with it): the chain holds, under the old storage layouts, a prepaid
//! voucher, a private datanet with contributions, a snapshot, an access request and a grant, and
//! a model trained on the snapshot. Root sets the code of this checkout, and at the next block
//! every migration has run: attribution v1 → v2 (request ids hashed into the voucher maps' keys:
//! the voucher is found under its new key) and on to v6 (the operator added under the old
//! runtime is an agent with the minimum own bond, and redeems the voucher), datanets v0 → v1 (every item records
//! its deposit, zero for these, and its index positions) and on to v3 (a reward record in each
//! contribution), models v0 → v1 (the datanet counts the model as
//! a user) and v1 → v2 (the token graduated under the old runtime, which refused to sell it,
//! becomes a pool and sells); the migrated items work with the new calls, and the chain goes on authoring and
//! finalizing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::{process::Command, time::Duration};

use codec::Encode;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::{
    frame_system, pallet_sudo,
    sp_core::H256,
    sp_crypto_hashing::twox_128,
    sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie},
    sp_runtime::Permill,
    sp_runtime::Weight,
};
use provena_primitives::{attribution::Voucher, models::TokenPhase};
use provena_primitives::{ContributionId, ModelId};
use provena_runtime::{currency::OPEN, AccountId, BlockNumber, Runtime, RuntimeCall, RuntimeEvent};
use serde_json::Value;

/// The commit whose committed chain specs hold the previous runtime (spec 104, attribution
/// storage version 1).
const PREVIOUS: &str = "e06304b";

/// The repository root (this crate is `node/`).
fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The previous runtime's code (`0x` hex), from the local testnet spec committed with it.
fn previous_code() -> String {
    let out = Command::new("git")
        .args(["show", &format!("{PREVIOUS}:chain-specs/local_testnet.raw.json")])
        .current_dir(repo_root())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "this test reads the previous runtime from commit {PREVIOUS} of this repository's \
         history, which this checkout lacks (a shallow clone?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: Value = serde_json::from_slice(&out.stdout).unwrap();
    spec["genesis"]["raw"]["top"]["0x3a636f6465"].as_str().unwrap().to_string()
}

/// A dev chain spec whose genesis the previous runtime builds: this binary's dev spec (the
/// development preset, as a patch) with the previous code.
fn previous_dev_spec(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("dev-spec104.json");
    let status = Command::new(NODE_BIN)
        .args(["export-chain-spec", "--chain", "dev", "--output"])
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "export-chain-spec --chain dev");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let genesis = &mut spec["genesis"]["runtimeGenesis"];
    assert!(
        genesis.get("patch").is_some(),
        "the dev spec carries its preset as a patch: {genesis}"
    );
    genesis["code"] = Value::String(previous_code());
    // Pallets the previous runtime did not have (governance) have no genesis there.
    genesis["patch"].as_object_mut().unwrap().remove("convictionVoting");
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    path
}

/// A pallet's on-chain storage version.
async fn storage_version(c: &jsonrpsee::ws_client::WsClient, pallet: &str) -> u16 {
    let key = [twox_128(pallet.as_bytes()), twox_128(b":__STORAGE_VERSION__:")].concat();
    storage::<u16>(c, key, None).await.unwrap_or(0)
}

/// The attribution pallet's on-chain storage version.
async fn attribution_version(c: &jsonrpsee::ws_client::WsClient) -> u16 {
    storage_version(c, "Attribution").await
}

async fn spec_version(c: &jsonrpsee::ws_client::WsClient) -> u64 {
    let v: Value = c.request("state_getRuntimeVersion", rpc_params![]).await.unwrap();
    v["specVersion"].as_u64().unwrap()
}

/// Fails with the block's events if an extrinsic in it failed (or a sudo call's inner call);
/// returns them.
async fn succeeded(c: &jsonrpsee::ws_client::WsClient, block: H256) -> Vec<RuntimeEvent> {
    let evs = events(c, block).await;
    let failed = evs.iter().any(|e| {
        matches!(
            e,
            RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. })
                | RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result: Err(_) })
        )
    });
    assert!(!failed, "a call failed: {evs:?}");
    evs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_runtime_upgrades_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let spec = previous_dev_spec(dir.path());
    let node = DevNode::start_with(dir.path(), &["--chain", spec.to_str().unwrap()]);
    let c = node.client().await;
    wait_for_finalized(&c, 1, Duration::from_secs(60)).await;
    assert_eq!(spec_version(&c).await, 104, "the chain starts on the previous runtime");
    assert_eq!(attribution_version(&c).await, 1);

    assert_eq!(storage_version(&c, "Datanets").await, 0);
    assert_eq!(storage_version(&c, "Models").await, 0);

    // On the previous runtime: Charlie creates a private datanet with two accepted
    // contributions in snapshot 1, grants Bob access, and Eve asks for access.
    let dn = |call| RuntimeCall::Datanets(call);
    let contribute = |byte| {
        dn(pallet_datanets::Call::contribute {
            datanet: 0,
            content_hash: H256::repeat_byte(byte),
            byte_size: 1_024,
            token_count: 100,
            metadata_uri: vec![],
            license: vec![],
            max_stake: u128::MAX,
        })
    };
    let accept = |id| {
        dn(pallet_datanets::Call::review {
            contribution: id,
            verdict: pallet_datanets::Verdict::Accept { quality: 80 },
        })
    };
    let datanet = RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all {
        calls: vec![
            dn(pallet_datanets::Call::create_datanet {
                name: b"Legacy".to_vec(),
                description_uri: vec![],
                domain: b"legal".to_vec(),
                license: b"MIT".to_vec(),
                visibility: provena_primitives::datanets::Visibility::Private,
                contribution_stake: provena_runtime::configs::MinContributionStake::get(),
                max_contribution_bytes: 1 << 20,
            }),
            contribute(1),
            contribute(2),
            accept(ContributionId(0)),
            accept(ContributionId(1)),
            dn(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
            dn(pallet_datanets::Call::grant_access { datanet: 0, who: Bob.to_account_id() }),
        ],
    });
    let request =
        dn(pallet_datanets::Call::request_access { datanet: 0, purpose_uri: b"why".to_vec() });
    let (datanet, request) = (sign(&c, Charlie, datanet).await, sign(&c, Eve, request).await);
    succeeded(&c, submit_and_wait_in_block(&c, &datanet).await).await;
    succeeded(&c, submit_and_wait_in_block(&c, &request).await).await;

    // Ferdie becomes an operator (`Attribution::add_operator` under sudo: a call this build's
    // runtime no longer has, so it is signed by its encoding), Bob registers a model trained on
    // the snapshot, and Dave prepays a voucher (stored under v1's key: the request id as is).
    let sudo = RuntimeCall::Sudo(pallet_sudo::Call::sudo {
        call: Box::new(RuntimeCall::System(frame_system::Call::remark { remark: vec![] })),
    })
    .encode();
    let attribution =
        <provena_runtime::Attribution as polkadot_sdk::frame_support::traits::PalletInfoAccess>::index();
    let mut add = sudo[..2].to_vec();
    add.extend([u8::try_from(attribution).unwrap(), 0]);
    add.extend(Ferdie.to_account_id().encode());
    let register = RuntimeCall::Models(pallet_models::Call::register_model {
        kind: pallet_models::ModelKindArg::Base,
        weights_hash: H256::repeat_byte(0x0b),
        training_config_hash: H256::repeat_byte(0x0c),
        trained_on: vec![(0, 1)],
        price_per_1k_tokens: OPEN / 1_000,
        developer_share: Permill::from_percent(40),
        metadata_uri: b"ipfs://card".to_vec(),
        predecessor: None,
    });
    let (add, register) = (sign_encoded(&c, Alice, &add).await, sign(&c, Bob, register).await);
    succeeded(&c, submit_encoded_and_wait_in_block(&c, &add).await).await;
    succeeded(&c, submit_and_wait_in_block(&c, &register).await).await;

    // Bob launches the model's token and Charlie buys 770M tokens (about 25,400 OPEN), which
    // graduates the curve: under the old runtime that closed it, and selling fails.
    let launch = RuntimeCall::Models(pallet_models::Call::launch_token { model: ModelId(0) });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Bob, launch).await).await).await;
    let token_unit = provena_primitives::bonding_curve::TOKEN_UNIT;
    let buy = RuntimeCall::Models(pallet_models::Call::buy {
        model: ModelId(0),
        tokens: 770_000_000 * token_unit,
        max_cost: 30_000 * OPEN,
        deadline: 1_000_000,
    });
    // (Its events have the old runtime's `Graduated` layout: the token is read from storage.)
    submit_and_wait_in_block(&c, &sign(&c, Charlie, buy).await).await;
    let token_key = pallet_models::Tokens::<Runtime>::hashed_key_for(ModelId(0));
    let token =
        storage::<pallet_models::Token<Runtime>>(&c, token_key.clone(), None).await.unwrap();
    assert!(matches!(token.phase, TokenPhase::Graduated { .. }) && !token.params.is_pool());
    assert_eq!(token.state.sold, 770_000_000 * token_unit);
    let sell = || {
        RuntimeCall::Models(pallet_models::Call::sell {
            model: ModelId(0),
            tokens: 1_000_000 * token_unit,
            min_out: 0,
            deadline: 1_000_000,
        })
    };
    let at = submit_and_wait_in_block(&c, &sign(&c, Charlie, sell()).await).await;
    assert!(
        events(&c, at).await.iter().any(|e| matches!(
            e,
            RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. })
        )),
        "the old runtime refuses to sell a graduated token"
    );
    let request_id = H256::repeat_byte(0x77);
    let voucher = Voucher::<AccountId, BlockNumber> {
        request_id,
        model: ModelId(0),
        max_fee: OPEN,
        operator: Ferdie.to_account_id(),
        expires_at: best_number(&c).await + 500,
    };
    let prepay = RuntimeCall::Attribution(pallet_attribution::Call::prepay_voucher {
        voucher: voucher.clone(),
    });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Dave, prepay).await).await).await;
    let old_key =
        pallet_attribution::migrations::v2::old::PrepaidVouchers::<Runtime>::hashed_key_for(
            Dave.to_account_id(),
            request_id,
        );
    let new_key = pallet_attribution::PrepaidVouchers::<Runtime>::hashed_key_for(
        Dave.to_account_id(),
        request_id,
    );
    assert_eq!(
        storage::<Voucher<AccountId, BlockNumber>>(&c, old_key.clone(), None).await,
        Some(voucher.clone())
    );

    // Root sets this checkout's runtime.
    let code = provena_runtime::WASM_BINARY.expect("the runtime's WASM was built").to_vec();
    let upgrade = RuntimeCall::Sudo(pallet_sudo::Call::sudo_unchecked_weight {
        call: Box::new(RuntimeCall::System(frame_system::Call::set_code { code })),
        weight: Weight::from_parts(1, 0),
    });
    let at = submit_and_wait_in_block(&c, &sign(&c, Alice, upgrade).await).await;
    let header: Value = c.request("chain_getHeader", rpc_params![at]).await.unwrap();
    let upgraded =
        u32::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();

    // The next block runs the migration with the new code.
    wait_for_finalized(&c, upgraded + 2, Duration::from_secs(90)).await;
    assert_eq!(spec_version(&c).await, u64::from(provena_runtime::VERSION.spec_version));
    assert_eq!(attribution_version(&c).await, 6, "the v2 to v6 migrations ran");
    assert_eq!(
        storage::<Voucher<AccountId, BlockNumber>>(&c, new_key, None).await,
        Some(voucher.clone())
    );
    assert_eq!(storage::<Voucher<AccountId, BlockNumber>>(&c, old_key, None).await, None);

    // Datanets v1: the items decode with a zero deposit and their index positions; v2: each
    // contribution knows the snapshots that hold it (both are in snapshot 1, and later ones);
    // v3: each carries an (empty) reward record.
    assert_eq!(storage_version(&c, "Datanets").await, 3, "the datanets v1 to v3 migrations ran");
    assert_eq!(storage_version(&c, "Models").await, 2, "the models v1 and v2 migrations ran");
    for id in [0u64, 1] {
        let key = pallet_datanets::Contributions::<Runtime>::hashed_key_for(ContributionId(id));
        let x = storage::<pallet_datanets::Contribution<Runtime>>(&c, key, None).await.unwrap();
        assert_eq!((x.deposit, x.datanet_index, x.contributor_index), (0, id as u32, id as u32));
        let span = provena_primitives::datanets::SnapshotSpan { after: 0, until: None };
        assert_eq!(x.snapshots, Some(span));
        assert_eq!(x.reward, Default::default());
    }
    let key = pallet_datanets::Snapshots::<Runtime>::hashed_key_for(0, 1);
    let snapshot = storage::<pallet_datanets::Snapshot<Runtime>>(&c, key, None).await.unwrap();
    assert_eq!((snapshot.contribution_count, snapshot.deposit), (2, 0));
    let key = pallet_datanets::AccessGrants::<Runtime>::hashed_key_for(0, Bob.to_account_id());
    let grant = storage::<pallet_datanets::AccessGrant<Runtime>>(&c, key, None).await.unwrap();
    assert_eq!((grant.depositor, grant.deposit), (Charlie.to_account_id(), 0));
    // Models v1: the datanet counts Bob's model as a user of its snapshots.
    let key = pallet_datanets::SnapshotUsage::<Runtime>::hashed_key_for(0);
    assert_eq!(storage::<u32>(&c, key, None).await, Some(1));
    // The migrated items work with the new calls: Eve withdraws her request (no deposit to
    // return), and the datanet in use cannot be destroyed.
    let cancel = dn(pallet_datanets::Call::cancel_access_request { datanet: 0 });
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Eve, cancel).await).await).await;
    let destroy = dn(pallet_datanets::Call::start_destroy { datanet: 0 });
    let at = submit_and_wait_in_block(&c, &sign(&c, Charlie, destroy).await).await;
    assert!(
        events(&c, at).await.iter().any(|e| matches!(
            e,
            RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. })
        )),
        "a datanet a model was trained on cannot be destroyed"
    );
    // Attribution v6: Ferdie, an operator, is an agent serving any model with the minimum own
    // bond (its old bond released), and redeems Dave's prepaid voucher.
    let agent: Value = c
        .request("agents_getAgent", rpc_params![Ferdie.to_account_id().to_string()])
        .await
        .unwrap();
    assert_eq!(agent["status"], "active", "{agent}");
    assert_eq!(
        amount(&agent["ownStake"]),
        <Runtime as pallet_agents::Config>::MinAgentBond::get(),
        "{agent}"
    );
    assert_eq!(agent["models"], serde_json::json!([]), "{agent}");
    let receipt = receipt_input(voucher, Dave.to_account_id(), None);
    let submit = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts {
        receipts: vec![receipt],
    });
    let evs =
        succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, submit).await).await).await;
    assert!(
        evs.iter().any(|e| matches!(
            e,
            RuntimeEvent::Attribution(pallet_attribution::Event::ReceiptSubmitted { .. })
        )),
        "{evs:?}"
    );
    // Models v2: the graduated curve is a pool of its reserve, and Charlie can sell.
    let token = storage::<pallet_models::Token<Runtime>>(&c, token_key, None).await.unwrap();
    assert!(matches!(token.phase, TokenPhase::Graduated { .. }) && token.params.is_pool());
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Charlie, sell()).await).await).await;
    // And the chain goes on.
    wait_for_finalized(&c, upgraded + 4, Duration::from_secs(60)).await;
}
