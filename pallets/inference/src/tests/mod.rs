//! Unit tests, by topic. Each runs in `ExtBuilder::build_and_execute`, which checks this pallet's
//! and attribution's invariants afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod completion;
mod expiry;
mod offchain;
mod operators;
mod requests;

use crate::mock::*;
use polkadot_sdk::{frame_support::assert_ok, sp_core::H256};
use provena_primitives::{content_hash, inference::JobId, ContributionId, ModelId};

/// The events of this pallet emitted so far, in order.
pub fn events() -> Vec<crate::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Inference(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// A fee that covers any request of these tests (price 1,000 per 1,000 tokens).
pub const MAX_FEE: u128 = 1_000;

/// `user()` asks `model` a short question with `max_tokens` 20 and [`MAX_FEE`].
pub fn request(model: ModelId) -> JobId {
    let id = crate::NextJobId::<Test>::get();
    assert_ok!(Inference::request_inference(
        RuntimeOrigin::signed(user()),
        model,
        b"What is the capital of France?".to_vec(),
        20,
        MAX_FEE,
        None,
    ));
    id
}

/// `operator()` completes `job` with `output`, 30 prompt and 10 output tokens and `attribution`.
pub fn complete(
    job: JobId,
    output: &[u8],
    attribution: Vec<(ContributionId, u32)>,
) -> polkadot_sdk::sp_runtime::DispatchResult {
    Inference::complete_job(
        RuntimeOrigin::signed(operator()),
        job,
        output.to_vec(),
        30,
        10,
        attribution,
        H256::repeat_byte(7),
        content_hash(output),
        None,
    )
}
