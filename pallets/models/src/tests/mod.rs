//! Unit tests, one file per topic. Every test runs in `ExtBuilder::build_and_execute`, which
//! checks the pallet's invariants afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod registry;
mod revenue;
mod token;

use crate::mock::Balance;
use crate::{mock::*, *};
use polkadot_sdk::{
    frame_support::{assert_ok, traits::fungible::InspectHold},
    sp_core::H256,
};
use provena_primitives::datanets::Visibility;

/// A content hash derived from a small number.
pub fn hash(n: u8) -> H256 {
    H256::repeat_byte(n)
}

/// `who` registers a base model with weights `hash(n)`, price 1,000 and a 50% developer share,
/// trained on `trained_on`; returns its id.
pub fn register_base(who: AccountId, n: u8, trained_on: Vec<TrainedOn>) -> ModelId {
    let id = NextModelId::<Test>::get();
    assert_ok!(ModelsPallet::register_model(
        RuntimeOrigin::signed(who),
        ModelKindArg::Base,
        hash(n),
        hash(200),
        trained_on,
        1_000,
        Permill::from_percent(50),
        b"ipfs://card".to_vec(),
        None,
    ));
    id
}

/// A LoRA adapter kind over `base` with rank 8 on `q_proj` and `v_proj`.
pub fn adapter_of(base: ModelId) -> ModelKindArg {
    ModelKindArg::Adapter {
        base,
        rank: 8,
        alpha: 16,
        target_modules: vec![b"q_proj".to_vec(), b"v_proj".to_vec()],
    }
}

/// `DEV` registers a model trained on a fresh public snapshot and launches its token.
pub fn launched() -> ModelId {
    let datanet = snapshot_of(DATA_OWNER, Visibility::Public, 1);
    let model = register_base(DEV, 1, vec![(datanet, 1)]);
    assert_ok!(ModelsPallet::launch_token(RuntimeOrigin::signed(DEV), model));
    model
}

/// `who` buys `tokens` with no slippage bound; returns what it paid.
pub fn buy(who: AccountId, model: ModelId, tokens: Balance) -> Balance {
    let before = Balances::free_balance(who);
    assert_ok!(ModelsPallet::buy(RuntimeOrigin::signed(who), model, tokens, Balance::MAX, 100));
    before - Balances::free_balance(who)
}

/// The deposit held from `who`.
pub fn deposit_held(who: AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &who)
}

/// `who`'s token balance.
pub fn tokens_of(model: ModelId, who: AccountId) -> Balance {
    ModelsPallet::api_holding(model, who).balance
}
