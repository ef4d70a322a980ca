//! Unit tests, one file per topic. Every test runs in `ExtBuilder::build_and_execute`, which
//! checks the pallet's invariants afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod capacity;
mod challenges;
mod holders;
mod index;
mod operators;
mod prepaid;
mod pruning;
mod receipts;
mod rewards;

use crate::mock::Balance;
use crate::{mock::*, *};
use polkadot_sdk::{
    frame_support::{assert_ok, traits::fungible::Inspect},
    sp_core::{sr25519, Pair as _, H256},
};
use provena_primitives::{attribution::Voucher, datanets::Visibility, DatanetId};

/// A datanet with two accepted contributions in snapshot 1 — `c0` by the data owner, `c1` by
/// the contributor — and a model of `dev()` trained on it.
pub struct Fixture {
    pub datanet: DatanetId,
    pub c0: ContributionId,
    pub c1: ContributionId,
    pub model: ModelId,
}

pub fn fixture() -> Fixture {
    let owner = || RuntimeOrigin::signed(data_owner());
    let datanet = pallet_datanets::NextDatanetId::<Test>::get();
    assert_ok!(Datanets::create_datanet(
        owner(),
        b"code".to_vec(),
        vec![],
        b"code".to_vec(),
        b"MIT".to_vec(),
        Visibility::Public,
        10,
        1_000,
    ));
    let c0 = pallet_datanets::NextContributionId::<Test>::get();
    assert_ok!(Datanets::contribute(
        owner(),
        datanet,
        H256::repeat_byte(1),
        10,
        10,
        vec![],
        vec![],
        u128::MAX
    ));
    let c1 = ContributionId(c0.0 + 1);
    assert_ok!(Datanets::contribute(
        RuntimeOrigin::signed(contributor()),
        datanet,
        H256::repeat_byte(2),
        10,
        10,
        vec![],
        vec![],
        u128::MAX
    ));
    for c in [c0, c1] {
        assert_ok!(Datanets::review(owner(), c, pallet_datanets::Verdict::Accept { quality: 90 }));
    }
    assert_ok!(Datanets::publish_snapshot(owner(), datanet));
    let model = model_on(&dev(), datanet, 1);
    Fixture { datanet, c0, c1, model }
}

/// A receipt of `user()` for `model`, 600 + 400 tokens (fee 1,000 at the fixture's price),
/// request `request`, max fee 1,000, expiring at block 100, with `attribution`.
pub fn receipt(
    model: ModelId,
    request: u8,
    attribution: Vec<(ContributionId, u32)>,
) -> ReceiptInput<Test> {
    receipt_by(&pair("User"), model, request, attribution, |_| {})
}

/// Like [`receipt`], signed by `p`, with the voucher adjusted by `f` before signing.
pub fn receipt_by(
    p: &sr25519::Pair,
    model: ModelId,
    request: u8,
    attribution: Vec<(ContributionId, u32)>,
    f: impl FnOnce(&mut Voucher<AccountId, u64>),
) -> ReceiptInput<Test> {
    let mut voucher = Voucher {
        request_id: H256::repeat_byte(request),
        model,
        max_fee: 1_000,
        operator: operator(),
        expires_at: 100,
    };
    f(&mut voucher);
    let signature = sign(p, &voucher);
    ReceiptInput {
        voucher,
        user: polkadot_sdk::sp_runtime::MultiSigner::from(p.public()).into_account(),
        signature: Some(signature),
        model,
        input_tokens: 600,
        output_tokens: 400,
        attribution,
        pool: None,
        retrieved_from: None,
        evidence_hash: H256::repeat_byte(0xee),
    }
}

use polkadot_sdk::sp_runtime::traits::IdentifyAccount;

/// The operator submits `receipts`.
pub fn submit(receipts: Vec<ReceiptInput<Test>>) {
    assert_ok!(Attribution::submit_receipts(RuntimeOrigin::signed(operator()), receipts));
}

/// Free balance.
pub fn free(who: &AccountId) -> Balance {
    Balances::balance(who)
}

/// Makes `who` an agent serving any model with the minimum own bond.
pub fn make_agent(who: &AccountId) {
    use provena_primitives::agents::AgentBonds;
    assert_ok!(<Agents as AgentBonds<_>>::enroll(who, true));
}

/// What `who`'s own bond as an agent is worth.
pub fn own_bond(who: &AccountId) -> Balance {
    use provena_primitives::agents::AgentBonds;
    <Agents as AgentBonds<_>>::own_bond(who)
}

/// Every payee of a fixture receipt.
pub fn all_payees(f: &Fixture) -> Vec<PayeeOf<Test>> {
    vec![
        Payee::Contribution(f.c0),
        Payee::Contribution(f.c1),
        Payee::Agent(operator()),
        Payee::Account(dev()),
        Payee::ModelHolders(f.model),
        Payee::Account(TreasuryAccount::get()),
    ]
}

/// Anyone claims for `payees`.
pub fn claim(payees: Vec<PayeeOf<Test>>) {
    assert_ok!(Attribution::claim_rewards(RuntimeOrigin::signed(holder()), payees));
}
