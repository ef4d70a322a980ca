//! The tally referenda keep: conviction-weighted OPEN plus contribution power, with the
//! snapshot the power is read at.

use core::{fmt::Debug, marker::PhantomData};

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_conviction_voting::{AccountVote, Conviction, Delegations};
use polkadot_sdk::{
    frame_support::{traits::VoteTally, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound},
    pallet_conviction_voting,
    sp_runtime::Perbill,
};
use provena_primitives::Balance;
use scale_info::TypeInfo;

/// Where a tally reads the chain: the snapshot for a new referendum and the electorate at a
/// snapshot. Implemented by [`crate::Pallet`].
pub trait Electorate<BlockNumber> {
    /// The snapshot of a referendum submitted now: the start of the current power period.
    fn snapshot_now() -> BlockNumber;
    /// Everything that could vote at `snapshot`: the active issuance plus the total
    /// contribution power at `snapshot`.
    fn electorate(snapshot: BlockNumber) -> Balance;
}

/// A referendum's tally.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    TypeInfo,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(E))]
#[codec(mel_bound(BlockNumber: MaxEncodedLen))]
// The derives restate the bounds in their own where clauses.
#[allow(clippy::multiple_bound_locations)]
pub struct Tally<BlockNumber: Clone + PartialEq + Eq + Debug + TypeInfo + Encode + Decode, E> {
    /// Aye votes: conviction-weighted OPEN plus contribution power.
    pub ayes: Balance,
    /// Nay votes: conviction-weighted OPEN plus contribution power.
    pub nays: Balance,
    /// Aye (and abstain) OPEN without conviction plus aye contribution power.
    pub support: Balance,
    /// The block contribution power is read at (a power period's start).
    pub snapshot: BlockNumber,
    _electorate: PhantomData<E>,
}

impl<BlockNumber, E> Tally<BlockNumber, E>
where
    BlockNumber: Clone + PartialEq + Eq + Debug + TypeInfo + Encode + Decode,
{
    /// A tally with the given counts.
    pub fn from_parts(
        ayes: Balance,
        nays: Balance,
        support: Balance,
        snapshot: BlockNumber,
    ) -> Self {
        Self { ayes, nays, support, snapshot, _electorate: PhantomData }
    }

    /// Adds a vote whose voter had `power` at the snapshot. Only a standard vote carries power.
    /// `None` on overflow, changing nothing.
    pub fn add(&mut self, vote: AccountVote<Balance>, power: Balance) -> Option<()> {
        self.apply(vote, power, Balance::checked_add)
    }

    /// Removes a vote added with [`Tally::add`] and the same `power`. `None` on underflow,
    /// changing nothing.
    pub fn remove(&mut self, vote: AccountVote<Balance>, power: Balance) -> Option<()> {
        self.apply(vote, power, Balance::checked_sub)
    }

    /// Moves the counts by what `vote` (with `power`) counts, each with `op`.
    fn apply(
        &mut self,
        vote: AccountVote<Balance>,
        power: Balance,
        op: fn(Balance, Balance) -> Option<Balance>,
    ) -> Option<()> {
        let (mut ayes, mut nays, mut support) = (self.ayes, self.nays, self.support);
        match vote {
            AccountVote::Standard { vote, balance } => {
                let Delegations { votes, capital } = vote.conviction.votes(balance);
                let votes = votes.checked_add(power)?;
                if vote.aye {
                    ayes = op(ayes, votes)?;
                    support = op(op(support, capital)?, power)?;
                } else {
                    nays = op(nays, votes)?;
                }
            }
            AccountVote::Split { aye, nay } => {
                let (aye, nay) = (Conviction::None.votes(aye), Conviction::None.votes(nay));
                ayes = op(ayes, aye.votes)?;
                nays = op(nays, nay.votes)?;
                support = op(support, aye.capital)?;
            }
            AccountVote::SplitAbstain { aye, nay, abstain } => {
                let (aye, nay) = (Conviction::None.votes(aye), Conviction::None.votes(nay));
                ayes = op(ayes, aye.votes)?;
                nays = op(nays, nay.votes)?;
                support = op(op(support, aye.capital)?, abstain)?;
            }
        }
        (self.ayes, self.nays, self.support) = (ayes, nays, support);
        Some(())
    }

    /// Adds votes delegated to a standard voter on side `aye`.
    pub fn increase(&mut self, aye: bool, d: Delegations<Balance>) {
        // Delegated amounts are bounded by balances already counted once: saturation is
        // unreachable, and a tally is a count, not money.
        if aye {
            self.ayes = self.ayes.saturating_add(d.votes);
            self.support = self.support.saturating_add(d.capital);
        } else {
            self.nays = self.nays.saturating_add(d.votes);
        }
    }

    /// Removes votes added with [`Tally::increase`].
    pub fn reduce(&mut self, aye: bool, d: Delegations<Balance>) {
        if aye {
            self.ayes = self.ayes.saturating_sub(d.votes);
            self.support = self.support.saturating_sub(d.capital);
        } else {
            self.nays = self.nays.saturating_sub(d.votes);
        }
    }
}

impl<BlockNumber, E, Class> VoteTally<Balance, Class> for Tally<BlockNumber, E>
where
    BlockNumber: Clone + Copy + PartialEq + Eq + Debug + TypeInfo + Encode + Decode,
    E: Electorate<BlockNumber>,
{
    fn new(_: Class) -> Self {
        Self::from_parts(0, 0, 0, E::snapshot_now())
    }

    fn ayes(&self, _: Class) -> Balance {
        self.ayes
    }

    fn support(&self, _: Class) -> Perbill {
        Perbill::from_rational(self.support, E::electorate(self.snapshot))
    }

    fn approval(&self, _: Class) -> Perbill {
        match self.ayes.checked_add(self.nays) {
            Some(0) => Perbill::zero(),
            Some(total) => Perbill::from_rational(self.ayes, total),
            // Unreachable (each half is at most the issuance plus the total power); if the sum
            // overflowed, halves compare the same.
            None => {
                let (ayes, nays) = (self.ayes.div_euclid(2), self.nays.div_euclid(2));
                Perbill::from_rational(ayes, ayes.saturating_add(nays))
            }
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn unanimity(_: Class) -> Self {
        let snapshot = E::snapshot_now();
        let all = E::electorate(snapshot);
        Self::from_parts(all, 0, all, snapshot)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn rejection(_: Class) -> Self {
        let snapshot = E::snapshot_now();
        let all = E::electorate(snapshot);
        Self::from_parts(0, all, all, snapshot)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn from_requirements(support: Perbill, approval: Perbill, _: Class) -> Self {
        let snapshot = E::snapshot_now();
        let support = support.mul_ceil(E::electorate(snapshot));
        let ayes = approval.mul_ceil(support);
        Self::from_parts(ayes, support.saturating_sub(ayes), support, snapshot)
    }

    #[cfg(feature = "runtime-benchmarks")]
    fn setup(_: Class, _: Perbill) {}
}
