//! Governance end to end on a real `provena-node --dev`, whose governance timescale makes a
//! documented day one block: every privileged step is a referendum decided by the development
//! accounts' votes, none is Sudo.
//!
//! 1. The admission track makes Ferdie an inference operator.
//! 2. Ferdie settles two prepaid receipts; Eve challenges both.
//! 3. Four referenda at once: the disputes track upholds the first challenge, the treasurer
//!    track spends 5,000 OPEN to Eve (paid out by `payout`) and pays a datanet's reward pool
//!    (a slashed stake) to a grantee, the parameters track sets the trading fee to 2%.
//! 4. Nobody resolves the second challenge: past its deadline anyone ends it with the
//!    documented default (the receipt stands, the challenger's bond comes back).
//! 5. polkadot.js (npm `@polkadot/api`) reads the tracks, submits a referendum, votes with
//!    conviction through `convictionVoting.vote` and reads the tally, the vote and the locks back
//!    with the standard types, as a wallet's referenda page does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use crate::common::*;
use jsonrpsee::ws_client::WsClient;
use pallet_attribution::{Event as AttributionEvent, ReceiptInput};
use polkadot_sdk::{
    pallet_parameters, pallet_referenda, pallet_treasury,
    sp_core::H256,
    sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Eve, Ferdie},
    sp_runtime::Permill,
};
use provena_primitives::{attribution::Voucher, currency::OPEN, ContributionId, ModelId};
use provena_runtime::{
    configs::{dynamic_params::models, origins::Origin},
    AccountId, OriginCaller, Runtime, RuntimeCall, RuntimeEvent, RuntimeParameters,
    RuntimeParametersKey,
};
use serde_json::Value;

/// The development accounts that vote: 900,000 OPEN each, about a quarter of the OPEN that can
/// vote on a dev chain, enough for every track but root at the start of its decision.
const VOTERS: [Sr25519Keyring; 5] = [Alice, Bob, Charlie, Dave, Eve];

/// Opens the referenda, with every voter voting aye.
async fn referenda(c: &WsClient, proposals: Vec<(OriginCaller, RuntimeCall)>) -> Vec<u32> {
    open_referenda(c, Alice, proposals, &VOTERS, 900_000 * OPEN).await
}

/// Waits until referendum `index` was approved and its call dispatched.
async fn wait_enacted(c: &WsClient, index: u32, from: u32) -> u32 {
    let (_, at) = wait_for_event(c, from, Duration::from_secs(120), "approval", |e| match e {
        RuntimeEvent::Referenda(pallet_referenda::Event::Confirmed { index: i, .. })
            if *i == index =>
        {
            Some(())
        }
        RuntimeEvent::Referenda(pallet_referenda::Event::Rejected { index: i, .. })
        | RuntimeEvent::Referenda(pallet_referenda::Event::TimedOut { index: i, .. })
            if *i == index =>
        {
            panic!("referendum {index} failed: {e:?}")
        }
        _ => None,
    })
    .await;
    // Referenda schedule the enactment under this name.
    let name = codec::Encode::using_encoded(&(*b"assembly", "enactment", index), |b| {
        polkadot_sdk::sp_crypto_hashing::blake2_256(b)
    });
    let (_, at) = wait_for_event(c, at - 1, Duration::from_secs(60), "enactment", |e| match e {
        RuntimeEvent::Scheduler(polkadot_sdk::pallet_scheduler::Event::Dispatched {
            id: Some(id),
            result,
            ..
        }) if *id == name => {
            assert!(result.is_ok(), "referendum {index}'s call failed: {result:?}");
            Some(())
        }
        _ => None,
    })
    .await;
    at
}

fn receipt(request: u8, user: AccountId) -> ReceiptInput<Runtime> {
    let voucher = Voucher {
        request_id: H256::repeat_byte(request),
        model: ModelId(0),
        max_fee: 2 * OPEN,
        operator: Ferdie.to_account_id(),
        expires_at: 400,
    };
    // Prepaid on chain: no signature.
    receipt_input(voucher, user, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referenda_admit_resolve_spend_and_set_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let c = node.client().await;
    wait_for_best(&c, 1, Duration::from_secs(60)).await;

    // A datanet with Alice's accepted contribution in snapshot 1 and Charlie's model on it.
    let dn = |call| RuntimeCall::Datanets(call);
    // Alice's second contribution is slashed: its stake funds the datanet's reward pool.
    let setup = batch(vec![create_public_datanet("Governed"), contribute(0, 1), contribute(0, 2)]);
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, setup).await).await).await;
    let publish = batch(vec![
        dn(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 90 },
        }),
        dn(pallet_datanets::Call::review {
            contribution: ContributionId(1),
            verdict: pallet_datanets::Verdict::Slash,
        }),
        dn(pallet_datanets::Call::publish_snapshot { datanet: 0 }),
    ]);
    succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Alice, publish).await).await).await;
    succeeded(
        &c,
        submit_and_wait_in_block(&c, &sign(&c, Charlie, register_base_model()).await).await,
    )
    .await;

    // 1. Ferdie and Bob become operators: agents serving model 0. The admission track stops
    // Bob serving at once.
    let register = register_agent(vec![ModelId(0)], 1_000 * OPEN, Default::default());
    for who in [Ferdie, Bob] {
        let xt = sign(&c, who, register.clone()).await;
        succeeded(&c, submit_and_wait_in_block(&c, &xt).await).await;
    }
    let start = best_number(&c).await;
    let chill =
        RuntimeCall::Agents(pallet_agents::Call::force_chill { agent: Bob.to_account_id() });
    let [r_chill] = referenda(&c, vec![(Origin::AdmissionAdmin.into(), chill)]).await[..] else {
        unreachable!()
    };
    wait_enacted(&c, r_chill, start).await;
    let bob: Option<pallet_agents::Agent<Runtime>> =
        storage(&c, pallet_agents::Agents::<Runtime>::hashed_key_for(Bob.to_account_id()), None)
            .await;
    assert!(
        matches!(
            bob.expect("Bob is an agent").status,
            provena_primitives::agents::AgentStatus::Chilled { fault: true, .. }
        ),
        "the admission track chilled Bob"
    );

    // 2. Dave prepays two requests; Ferdie settles them; Eve challenges both.
    let prepay = |request| {
        RuntimeCall::Attribution(pallet_attribution::Call::prepay_voucher {
            voucher: receipt(request, Dave.to_account_id()).voucher,
        })
    };
    succeeded(
        &c,
        submit_and_wait_in_block(&c, &sign(&c, Dave, batch(vec![prepay(1), prepay(2)])).await)
            .await,
    )
    .await;
    let submit = RuntimeCall::Attribution(pallet_attribution::Call::submit_receipts {
        receipts: vec![receipt(1, Dave.to_account_id()), receipt(2, Dave.to_account_id())],
    });
    let evs =
        succeeded(&c, submit_and_wait_in_block(&c, &sign(&c, Ferdie, submit).await).await).await;
    let ids: Vec<u64> = evs
        .iter()
        .filter_map(|e| match e {
            RuntimeEvent::Attribution(AttributionEvent::ReceiptSubmitted { receipt, .. }) => {
                Some(*receipt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "{evs:?}");
    let challenge =
        |receipt| RuntimeCall::Attribution(pallet_attribution::Call::challenge_receipt { receipt });
    let challenged = submit_and_wait_in_block(
        &c,
        &sign(&c, Eve, batch(ids.iter().map(|r| challenge(*r)).collect())).await,
    )
    .await;
    succeeded(&c, challenged).await;
    let challenged_at = header_number_at(&c, challenged).await;

    // 3. Three tracks at once: uphold the first challenge, spend from the treasury and from the
    // reward pool, set the trading fee.
    let start = best_number(&c).await;
    let resolve = RuntimeCall::Attribution(pallet_attribution::Call::resolve_challenge {
        receipt: ids[0],
        upheld: true,
    });
    let spend = RuntimeCall::Treasury(pallet_treasury::Call::spend {
        asset_kind: Box::new(()),
        amount: 5_000 * OPEN,
        beneficiary: Box::new(Eve.to_account_id()),
        valid_from: None,
    });
    let pool = provena_runtime::configs::MinContributionStake::get();
    let grantee = AccountId::new([0x77; 32]);
    let spend_pool = dn(pallet_datanets::Call::spend_pool {
        datanet: 0,
        beneficiary: grantee.clone(),
        amount: pool,
    });
    let fee = RuntimeCall::Parameters(pallet_parameters::Call::set_parameter {
        key_value: RuntimeParameters::Models(models::Parameters::TradingFee(
            models::TradingFee,
            Some(Permill::from_percent(2)),
        )),
    });
    let indices = referenda(
        &c,
        vec![
            (Origin::DisputeResolver.into(), resolve),
            (Origin::Treasurer.into(), spend),
            (Origin::Treasurer.into(), spend_pool),
            (Origin::ParameterAdmin.into(), fee),
        ],
    )
    .await;
    for index in &indices {
        wait_enacted(&c, *index, start).await;
    }
    let (upheld, _) =
        wait_for_event(&c, start, Duration::from_secs(30), "the resolution", |e| match e {
            RuntimeEvent::Attribution(AttributionEvent::ChallengeResolved {
                receipt,
                upheld,
                ..
            }) if *receipt == ids[0] => Some(*upheld),
            _ => None,
        })
        .await;
    assert!(upheld);
    let before = free_balance(&c, &Eve.to_account_id(), None).await;
    let payout = RuntimeCall::Treasury(pallet_treasury::Call::payout { index: 0 });
    let block = submit_and_wait_in_block(&c, &sign(&c, Eve, payout).await).await;
    let evs = succeeded(&c, block).await;
    let paid = free_balance(&c, &Eve.to_account_id(), Some(block)).await
        + fee_paid(&evs, &Eve.to_account_id())
        - before;
    assert_eq!(paid, 5_000 * OPEN);
    // The slashed stake left the reward pool for the grantee, by the treasurer track only.
    assert_eq!(free_balance(&c, &grantee, None).await, pool);
    let left: Option<u128> =
        storage(&c, pallet_datanets::RewardPools::<Runtime>::hashed_key_for(0u32), None).await;
    assert_eq!(left, None, "the emptied pool left the state");
    let key = RuntimeParametersKey::Models(models::ParametersKey::TradingFee(models::TradingFee));
    let value: Option<provena_runtime::configs::governance::parameters::RuntimeParametersValue> =
        storage(&c, pallet_parameters::Parameters::<Runtime>::hashed_key_for(key), None).await;
    assert_eq!(
        value,
        Some(provena_runtime::configs::governance::parameters::RuntimeParametersValue::Models(
            models::ParametersValue::TradingFee(Permill::from_percent(2))
        ))
    );

    // 4. The second challenge, unresolved, ends past its deadline (seven documented days: seven
    // blocks) by the default: the receipt stands and Eve's bond comes back.
    let deadline = challenged_at + 7;
    wait_for_best(&c, deadline + 1, Duration::from_secs(120)).await;
    let before = free_balance(&c, &Eve.to_account_id(), None).await;
    let expire =
        RuntimeCall::Attribution(pallet_attribution::Call::expire_challenge { receipt: ids[1] });
    let block = submit_and_wait_in_block(&c, &sign(&c, Eve, expire).await).await;
    let evs = succeeded(&c, block).await;
    assert!(
        evs.iter().any(|e| matches!(
            e,
            RuntimeEvent::Attribution(AttributionEvent::ChallengeExpired { receipt, challenger })
                if *receipt == ids[1] && *challenger == Eve.to_account_id()
        )),
        "{evs:?}"
    );
    let back = free_balance(&c, &Eve.to_account_id(), Some(block)).await
        + fee_paid(&evs, &Eve.to_account_id())
        - before;
    assert_eq!(back, provena_runtime::configs::ChallengeBond::get());

    // 5. A wallet's referenda page, with polkadot.js.
    let ws = format!("ws://127.0.0.1:{}", node.rpc_port);
    let report = run_js("polkadotjs", "referenda.mjs", "@polkadot/api", &[("PROVENA_WS", ws)]);
    assert_eq!(report["track"], 4, "{report}");
    assert_eq!(report["ayes"], (2_000 * OPEN).to_string(), "{report}");
}

async fn header_number_at(c: &WsClient, hash: H256) -> u32 {
    use jsonrpsee::{core::client::ClientT, rpc_params};
    let header: Value = c.request("chain_getHeader", rpc_params![hash]).await.unwrap();
    header_number(&header)
}
