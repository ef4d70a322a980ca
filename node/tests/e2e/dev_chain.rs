//! End-to-end tests against a real `provena-node --dev`: transfers finalize, state survives a
//! restart, and bad input is refused with an error while the chain keeps going.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use polkadot_sdk::{
    pallet_balances, pallet_transaction_payment,
    sp_keyring::Sr25519Keyring,
    sp_runtime::{DispatchError, TokenError},
};
use provena_runtime::{currency::OPEN, RuntimeCall, RuntimeEvent};
use serde_json::Value;

const BLOCK: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_is_finalized_and_the_chain_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = DevNode::start(dir.path());
    let c = node.client().await;

    // Given a dev chain that authors and finalizes blocks,
    wait_for_finalized(&c, 1, BLOCK * 10).await;
    let alice = Sr25519Keyring::Alice.to_account_id();
    let bob = Sr25519Keyring::Bob.to_account_id();
    let (_, before) = finalized(&c).await;
    let alice_before = free_balance(&c, &alice, Some(before)).await;
    let bob_before = free_balance(&c, &bob, Some(before)).await;
    assert_eq!(bob_before, 1_000_000 * OPEN, "dev accounts are funded at genesis");

    // when Alice sends Bob 12.5 OPEN,
    let amount = 12 * OPEN + OPEN / 2;
    let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: bob.clone().into(),
        value: amount,
    });
    let xt = sign(&c, Sr25519Keyring::Alice, call).await;
    let block = submit_and_wait_finalized(&c, &xt).await;

    // then the finalized block holds the transfer event and the fee payment,
    let events = events(&c, block).await;
    let transfer =
        pallet_balances::Event::Transfer { from: alice.clone(), to: bob.clone(), amount };
    assert!(events.contains(&RuntimeEvent::Balances(transfer)), "{events:?}");
    let fee = events
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::TransactionPayment(
                pallet_transaction_payment::Event::TransactionFeePaid { who, actual_fee, tip },
            ) if *who == alice => {
                assert_eq!(*tip, 0);
                Some(*actual_fee)
            }
            _ => None,
        })
        .expect("Alice paid a fee");
    assert!(fee > 0 && fee < OPEN / 100, "a transfer costs a small, non-zero fee: {fee}");

    // and both balances moved by exactly the amount (and the fee, for Alice).
    assert_eq!(free_balance(&c, &bob, Some(block)).await, bob_before + amount);
    assert_eq!(free_balance(&c, &alice, Some(block)).await, alice_before - amount - fee);

    // When the node is stopped and started again on the same base path,
    let best_before = best_number(&c).await;
    let (fin_before, fin_hash_before) = finalized(&c).await;
    drop(c);
    node.stop();
    let node = DevNode::start(dir.path());
    let c = node.client().await;

    // then it resumes from the height it had, with the same blocks and state,
    let best_after_restart = best_number(&c).await;
    assert!(best_after_restart >= best_before, "{best_after_restart} < {best_before}");
    let hash_at: Value = c.request("chain_getBlockHash", rpc_params![fin_before]).await.unwrap();
    assert_eq!(h256(&hash_at), fin_hash_before, "finalized block kept across the restart");
    assert_eq!(free_balance(&c, &bob, None).await, bob_before + amount);

    // and keeps producing and finalizing blocks on top of it.
    wait_for_best(&c, best_after_restart + 2, BLOCK * 10).await;
    wait_for_finalized(&c, best_after_restart + 1, BLOCK * 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_and_the_chain_keeps_producing_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, BLOCK * 10).await;

    // A malformed extrinsic is refused by `author_submitExtrinsic` with an RPC error.
    for garbage in ["0xdeadbeef", "0x", "0x00"] {
        let result: Result<Value, _> =
            c.request("author_submitExtrinsic", rpc_params![garbage]).await;
        let err = result.expect_err("garbage must be refused").to_string().to_lowercase();
        // Undecodable bytes are refused by the node ("invalid"/"decode"); bytes that frame an
        // empty extrinsic reach the runtime's decoder and come back as a verification error.
        assert!(
            ["invalid", "decode", "verification error"].iter().any(|m| err.contains(m)),
            "{garbage}: {err}"
        );
    }
    // Not even hex.
    let result: Result<Value, _> =
        c.request("author_submitExtrinsic", rpc_params!["not hex"]).await;
    assert!(result.is_err());

    // A transfer above the sender's balance is included (the fee is payable) but fails with
    // pallet-balances' error and moves nothing.
    let dave = Sr25519Keyring::Dave.to_account_id();
    let eve = Sr25519Keyring::Eve.to_account_id();
    let eve_before = free_balance(&c, &eve, None).await;
    let call = RuntimeCall::Balances(pallet_balances::Call::transfer_allow_death {
        dest: eve.clone().into(),
        value: 2_000_000 * OPEN,
    });
    let xt = sign(&c, Sr25519Keyring::Dave, call).await;
    let block = submit_and_wait_finalized(&c, &xt).await;
    let events = events(&c, block).await;
    let failure = events
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::System(polkadot_sdk::frame_system::Event::ExtrinsicFailed {
                dispatch_error,
                ..
            }) => Some(*dispatch_error),
            _ => None,
        })
        .expect("the over-balance transfer failed");
    // pallet-balances reports a withdrawal the account can't cover as `FundsUnavailable`.
    assert_eq!(failure, DispatchError::Token(TokenError::FundsUnavailable));
    assert!(!events
        .iter()
        .any(|e| matches!(e, RuntimeEvent::Balances(pallet_balances::Event::Transfer { .. }))));
    assert_eq!(free_balance(&c, &eve, Some(block)).await, eve_before);
    assert!(free_balance(&c, &dave, Some(block)).await < 1_000_000 * OPEN, "only the fee left");

    // The node is still healthy and producing blocks.
    let now = best_number(&c).await;
    wait_for_best(&c, now + 2, BLOCK * 10).await;
    let health: Value = c.request("system_health", rpc_params![]).await.unwrap();
    assert_eq!(health["isSyncing"], Value::Bool(false));
}
