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

/// Records changes to an account's contribution power.
pub trait ContributionPower<AccountId> {
    /// `who` created value worth `amount` of power (an accepted contribution, a paid reward).
    fn credit(who: &AccountId, amount: Balance);
    /// Value `who` was credited for is taken back (a contribution slashed after acceptance).
    /// Removes at most the power `who` has.
    fn debit(who: &AccountId, amount: Balance);
}

/// No governance: power is not recorded.
impl<AccountId> ContributionPower<AccountId> for () {
    fn credit(_: &AccountId, _: Balance) {}
    fn debit(_: &AccountId, _: Balance) {}
}
