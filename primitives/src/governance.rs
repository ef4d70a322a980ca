//! Contribution power: the part of a member's voting power that follows the value they created.
//!
//! Pallets that record value (datanets' accepted contributions, attribution's paid-out
//! earnings) report it through [`ContributionPower`]; the governance pallet keeps each
//! account's power with its history, so that a referendum counts the power its voters had when
//! it was submitted.
//!
//! Power is measured in base units of OPEN and is **additive per action**: an action credits
//! the same amount whichever account performs it, and an account's power is the sum of its
//! credits minus its debits. So splitting one member's activity over many accounts never raises
//! their total power.

use crate::Balance;
use polkadot_sdk::sp_runtime::Weight;

/// What kind of value a credit of contribution power is for; the runtime weighs each kind by
/// a governed coefficient.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PowerSource {
    /// A contribution that stayed accepted through its stake's lock-up: the value is its stake
    /// weighted by its quality score.
    AcceptedContribution,
    /// A reward attribution paid to the account that earned it (a contributor, a model's
    /// developer, an operator): the value is the amount paid.
    Earnings,
}

/// Records contribution power.
pub trait ContributionPower<AccountId> {
    /// `who` created `value` (in base units of OPEN) of the given kind.
    fn credit(who: &AccountId, source: PowerSource, value: Balance);
    /// The most one [`ContributionPower::credit`] costs, for the weights of the calls that
    /// credit.
    fn credit_weight() -> Weight;
}

/// No governance: power is not recorded.
impl<AccountId> ContributionPower<AccountId> for () {
    fn credit(_: &AccountId, _: PowerSource, _: Balance) {}
    fn credit_weight() -> Weight {
        Weight::zero()
    }
}
