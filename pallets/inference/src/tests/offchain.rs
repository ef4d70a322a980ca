//! The off-chain worker against Substrate's test off-chain externalities: a keystore with the
//! operator key, an HTTP layer that checks the exact request and returns a worker's answer, and
//! a transaction pool that collects what the worker submits.
use super::*;
use crate::{offchain::WORKER_URL_KEY, Call, JobState, Jobs, KEY_TYPE};
use codec::Decode;
use polkadot_sdk::{
    frame_support::traits::Hooks,
    sp_core::offchain::{
        testing::{PendingRequest, PoolState, TestOffchainExt, TestTransactionPoolExt},
        OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
    },
    sp_io::TestExternalities,
    sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt},
    sp_runtime::offchain::storage::StorageValueRef,
};
use provena_primitives::{attribution::PPM, ContributionId};
use serde_json::json;
use std::sync::Arc;

/// Externalities with the off-chain extensions, the operator key, and its pool.
fn ext() -> (
    TestExternalities,
    Arc<parking_lot::RwLock<polkadot_sdk::sp_core::offchain::testing::OffchainState>>,
    Arc<parking_lot::RwLock<PoolState>>,
) {
    let mut t = ExtBuilder.build();
    let (offchain, state) = TestOffchainExt::new();
    let (pool, pool_state) = TestTransactionPoolExt::new();
    let keystore = MemoryKeystore::new();
    keystore.sr25519_generate_new(KEY_TYPE, Some("//Operator")).unwrap();
    t.register_extension(OffchainWorkerExt::new(offchain.clone()));
    t.register_extension(OffchainDbExt::new(offchain));
    t.register_extension(TransactionPoolExt::new(pool));
    t.register_extension(KeystoreExt(Arc::new(keystore)));
    (t, state, pool_state)
}

/// Both pallets' invariants.
fn check() {
    Inference::do_try_state().expect("inference invariants hold");
    Attribution::do_try_state().expect("attribution invariants hold");
}

/// The request the worker must send for a job of `model` with `prompt`.
fn expected_request(model_hash: H256, prompt: &str, answer: serde_json::Value) -> PendingRequest {
    let body = json!({
        "model": hex::encode(model_hash.as_bytes()),
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 20,
        "temperature": 0,
    });
    PendingRequest {
        method: "POST".into(),
        uri: "http://worker.test/v1/chat/completions".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap(),
        response: Some(serde_json::to_vec(&answer).unwrap()),
        sent: true,
        ..Default::default()
    }
}

/// An answer of the inference worker with its attribution block.
fn answer(text: &str, weights: serde_json::Value, pool_ppm: u32) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 31, "completion_tokens": 7, "total_tokens": 38},
        "provena": {"attribution": {"weights": weights, "pool_ppm": pool_ppm, "evidence_hash": format!("0x{}", "ab".repeat(32)), "spans": 2}},
    })
}

/// The completion calls in the pool, decoded.
fn submitted(pool: &Arc<parking_lot::RwLock<PoolState>>) -> Vec<(AccountId, Call<Test>)> {
    pool.read()
        .transactions
        .iter()
        .map(|tx| {
            let xt = Extrinsic::decode(&mut &tx[..]).unwrap();
            let who = match xt.preamble {
                polkadot_sdk::sp_runtime::generic::Preamble::Signed(who, ..) => who,
                _ => panic!("an unsigned transaction"),
            };
            match xt.function {
                RuntimeCall::Inference(call) => (who, call),
                other => panic!("unexpected call {other:?}"),
            }
        })
        .collect()
}

#[test]
fn the_worker_serves_an_assigned_job_and_submits_a_signed_completion() {
    let (mut t, state, pool) = ext();
    t.execute_with(|| {
        let (model, ids) = served_model(2);
        let job = request(model);
        StorageValueRef::persistent(WORKER_URL_KEY).set(&b"http://worker.test/".to_vec());
        // The worker names contribution 1 at 600,000 and 0 at 200,000, 200,000 to the pool:
        // scaled to a million, 750,000 and 250,000.
        let weights = json!([{"contribution": ids[0], "ppm": 200_000}, {"contribution": ids[1], "ppm": 600_000}]);
        state.write().expect_request(expected_request(
            H256::repeat_byte(0xaa),
            "What is the capital of France?",
            answer("The capital of France is Paris.", weights, 200_000),
        ));

        Inference::offchain_worker(1);

        let txs = submitted(&pool);
        assert_eq!(txs.len(), 1);
        let (who, call) = txs[0].clone();
        assert_eq!(who, operator());
        let output = b"The capital of France is Paris.".to_vec();
        assert_eq!(
            call,
            Call::complete_job {
                job,
                output: output.clone(),
                input_tokens: 31,
                output_tokens: 7,
                attribution: vec![(ids[0], 250_000), (ids[1], 750_000)],
                evidence_hash: H256::repeat_byte(0xab),
                output_hash: content_hash(&output),
                pool: None,
            }
        );
        // Dispatched as the operator, it completes the job.
        let call: RuntimeCall = call.into();
        use polkadot_sdk::sp_runtime::traits::Dispatchable;
        assert_ok!(call.dispatch(RuntimeOrigin::signed(operator())));
        assert!(matches!(Jobs::<Test>::get(job).unwrap().state, JobState::Completed { .. }));
        check();
    });
}

#[test]
fn a_claimed_job_is_not_served_again_until_the_retry_delay() {
    let (mut t, state, pool) = ext();
    t.execute_with(|| {
        let (model, _) = served_model(1);
        request(model);
        StorageValueRef::persistent(WORKER_URL_KEY).set(&b"http://worker.test".to_vec());
        // The worker fails the first time.
        let mut failing = expected_request(
            H256::repeat_byte(0xaa),
            "What is the capital of France?",
            json!({"error": "overloaded"}),
        );
        failing.response = Some(b"{\"error\":{\"message\":\"overloaded\"}}".to_vec());
        failing.response_headers = vec![];
        state.write().expect_request(failing);
        Inference::offchain_worker(1);
        // The testing HTTP layer answers 200 with any body: an answer without choices is not
        // understood, so nothing is submitted.
        assert!(submitted(&pool).is_empty());
        // The next blocks do not ask again (no request is expected: one would panic)...
        for n in 2..1 + crate::offchain::RETRY_AFTER as u64 {
            Inference::offchain_worker(n);
        }
        assert!(submitted(&pool).is_empty());
        // ...until the retry delay has passed.
        state.write().expect_request(expected_request(
            H256::repeat_byte(0xaa),
            "What is the capital of France?",
            answer("Paris.", json!([]), 0),
        ));
        Inference::offchain_worker(1 + crate::offchain::RETRY_AFTER as u64);
        let txs = submitted(&pool);
        assert_eq!(txs.len(), 1);
        assert!(
            matches!(&txs[0].1, Call::complete_job { attribution, .. } if attribution.is_empty())
        );
        check();
    });
}

#[test]
fn an_oversized_answer_is_not_read() {
    let (mut t, state, pool) = ext();
    t.execute_with(|| {
        let (model, _) = served_model(1);
        request(model);
        StorageValueRef::persistent(WORKER_URL_KEY).set(&b"http://worker.test".to_vec());
        // A well-formed answer padded past the bound (64-byte outputs: 384 + 64 KiB).
        let mut huge = answer("Paris.", json!([]), 0);
        huge["padding"] = json!("x".repeat(70_000));
        state.write().expect_request(expected_request(
            H256::repeat_byte(0xaa),
            "What is the capital of France?",
            huge,
        ));
        Inference::offchain_worker(1);
        assert!(submitted(&pool).is_empty());
        check();
    });
}

#[test]
fn without_a_worker_url_or_an_operator_key_nothing_is_sent() {
    let (mut t, _state, pool) = ext();
    t.execute_with(|| {
        let (model, _) = served_model(1);
        request(model);
        // No URL: no request (an unexpected one would panic) and no transaction.
        Inference::offchain_worker(1);
        assert!(submitted(&pool).is_empty());
        check();
    });
    // A URL but a keystore without an operator key of a registered operator.
    let mut t = ExtBuilder.build();
    let (offchain, _state) = TestOffchainExt::new();
    let (pool, pool_state) = TestTransactionPoolExt::new();
    let keystore = MemoryKeystore::new();
    keystore.sr25519_generate_new(KEY_TYPE, Some("//Operator3")).unwrap();
    t.register_extension(OffchainWorkerExt::new(offchain.clone()));
    t.register_extension(OffchainDbExt::new(offchain));
    t.register_extension(TransactionPoolExt::new(pool));
    t.register_extension(KeystoreExt(Arc::new(keystore)));
    t.execute_with(|| {
        let (model, _) = served_model(1);
        request(model);
        StorageValueRef::persistent(WORKER_URL_KEY).set(&b"http://worker.test".to_vec());
        Inference::offchain_worker(1);
        assert!(submitted(&pool_state).is_empty());
        check();
    });
}

#[test]
fn answers_are_cut_and_weights_normalized_as_documented() {
    ExtBuilder.build_and_execute(|| {
        // Output longer than MaxOutputLen (64) is cut at a character boundary: 63 ASCII bytes
        // and a 2-byte character that would straddle byte 64.
        let text = format!("{}é and more", "a".repeat(63));
        let body = serde_json::to_vec(&answer(&text, json!([]), 0)).unwrap();
        let c = crate::offchain::completion::<Test>(&body, 5, 20).unwrap();
        assert_eq!(c.output, "a".repeat(63).into_bytes());
        assert_eq!(c.output_hash, content_hash(&c.output));
        // Token counts are capped at what the job allows.
        assert_eq!((c.input_tokens, c.output_tokens), (20, 5));
        // Weights: the largest MaxAttribution (4) kept, scaled to exactly a million.
        let ids = |v: Vec<(u64, u128)>| -> Vec<(ContributionId, u128)> {
            v.into_iter().map(|(c, w)| (ContributionId(c), w)).collect()
        };
        let mut w = ids(vec![(1, 10), (2, 20), (3, 30), (4, 40), (5, 5)]);
        let n = provena_primitives::attribution::normalize_weights(&mut w, 4);
        let expected = [(1, 100_000), (2, 200_000), (3, 300_000), (4, 400_000)];
        assert_eq!(n, expected.map(|(c, p)| (ContributionId(c), p)));
        let mut thirds = ids(vec![(7, 1), (8, 1), (9, 1)]);
        let n = provena_primitives::attribution::normalize_weights(&mut thirds, 4);
        assert_eq!(n.iter().map(|(_, p)| p).sum::<u32>(), PPM);
        assert!(provena_primitives::attribution::normalize_weights(&mut vec![], 4).is_empty());
        // Entries of one contribution are merged before ranking.
        let mut dup = ids(vec![(1, 10), (2, 15), (1, 10)]);
        assert_eq!(
            provena_primitives::attribution::normalize_weights(&mut dup, 4),
            vec![(ContributionId(1), 571_429), (ContributionId(2), 428_571)]
        );
        // Not an answer.
        assert!(crate::offchain::completion::<Test>(b"not json", 5, 20).is_none());
    });
}
