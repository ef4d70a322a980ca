//! Unit and property tests; each checks the pallet's invariants at its end.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::{mock::*, *};
#[allow(unused_imports)]
use polkadot_sdk::frame_support::{assert_noop, assert_ok};

mod delegation;
mod operators;
mod properties;
mod registry;
mod rewards;
mod slashing;

/// A held balance under a reason of this pallet.
pub fn held(who: AccountId, reason: HoldReason) -> Balance {
    <Balances as InspectHold<_>>::balance_on_hold(&reason.into(), &who)
}

/// `AGENT` registers serving models 1 and 2 with `bond` and a 10% commission.
pub fn register(bond: Balance) {
    register_as(AGENT, bond);
}

/// `who` registers serving models 1 and 2 with `bond` and a 10% commission.
pub fn register_as(who: AccountId, bond: Balance) {
    assert_ok!(AgentsPallet::register_agent(
        RuntimeOrigin::signed(who),
        vec![ModelId(1), ModelId(2)],
        b"https://agent.example".to_vec(),
        b"ipfs://card".to_vec(),
        bond,
        Perbill::from_percent(10),
    ));
}

/// `who` delegates `amount` to `AGENT`.
pub fn delegate(who: AccountId, amount: Balance) {
    assert_ok!(AgentsPallet::delegate(RuntimeOrigin::signed(who), AGENT, amount));
}

/// What `who`'s stake in `agent` is worth now (active points only).
pub fn stake_of(agent: AccountId, who: AccountId) -> Balance {
    let a = agent_of(agent);
    let points = Members::<Test>::get(agent, who).map(|m| m.points).unwrap_or_default();
    AgentsPallet::value_of(&a.active, points)
}

/// `PAYER` rewards `AGENT` with `amount`.
pub fn reward(amount: Balance) {
    use provena_primitives::agents::AgentRewards;
    assert_ok!(<AgentsPallet as AgentRewards<_>>::reward(&AGENT, &PAYER, amount));
}

/// Reports `work` of `who`.
pub fn note(who: AccountId, work: provena_primitives::agents::Work) {
    use provena_primitives::agents::AgentWork;
    <AgentsPallet as AgentWork<_>>::note_work(&who, work);
}

/// The agent's record (panics if there is none).
pub fn agent_of(agent: AccountId) -> Agent<Test> {
    Agents::<Test>::get(agent).expect("an agent")
}
