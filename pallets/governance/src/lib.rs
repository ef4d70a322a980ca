//! # Governance: contribution-weighted voting for referenda
//!
//! ## Overview
//!
//! The voting side of Provena's governance. polkadot-sdk's `pallet-referenda` runs the
//! referenda (tracks, deposits, decision and confirmation periods, enactment through the
//! scheduler); this pallet supplies what it counts: a [`Tally`] of votes whose weight follows
//! both the OPEN a member locks and the value the member created on the chain.
//!
//! Calls, vote types and locks are those of polkadot-sdk's conviction voting (`vote`,
//! `delegate`, `undelegate`, `unlock`, `remove_vote`, `remove_other_vote`, with
//! `pallet_conviction_voting`'s `AccountVote`), so wallets and explorers that show referenda
//! work unchanged. What differs is the tally: a standard vote also carries the voter's
//! **contribution power**.
//!
//! ## Terminology
//!
//! - **Contribution power**: a number in base units of OPEN that pallets recording value add to
//!   through [`provena_primitives::governance::ContributionPower`] (the runtime's adapter calls
//!   [`Pallet::add_power`] with each kind of value weighed by a governed coefficient): datanets
//!   credit a contribution that stayed accepted through its stake's lock-up, by its stake
//!   weighted by its quality; attribution credits the rewards it pays to those who earned them.
//!   It cannot be transferred or delegated.
//! - **Snapshot**: the start of the [`Config::PowerPeriod`] in which a referendum was
//!   submitted. A vote counts the contribution power its voter had then: power gained or lost
//!   later, during the vote, changes nothing.
//! - **Power history**: per account (and for the total), the power at the end of each period in
//!   which it changed, kept for [`Config::PowerRetentionPeriods`] periods (longer than any
//!   referendum lives) in at most [`Config::MaxCheckpoints`] entries.
//! - **Conviction**: as in conviction voting: a standard vote's locked OPEN counts ×0.1 with no
//!   conviction, ×1..×6 when locked for 1..32 [`Config::VoteLockingPeriod`]s after the
//!   referendum ends (if it ended the way the vote went).
//! - **Timescale**: a genesis setting that divides every governance duration the runtime
//!   derives through [`Pallet::scaled`]: 1 on public networks, large on development networks so
//!   that a referendum passes in minutes.
//!
//! ## Usage
//!
//! 1. A member votes on an ongoing referendum: `vote(index, Standard { vote, balance })`. The
//!    balance is locked (as the lock `pyconvot`, the same identifier as conviction voting);
//!    ayes or nays grow by `conviction(balance) + power_at(voter, snapshot)`, and an aye's
//!    support by `balance + power_at(voter, snapshot)`. `Split` and `SplitAbstain` votes carry
//!    OPEN only.
//! 2. A member may instead delegate OPEN with a conviction per class (track): the delegate's
//!    standard votes carry it.
//! 3. After the referendum, `remove_vote` records how long the lock must stay (none for a losing
//!    vote or no conviction) and `unlock` lowers the lock to what the member's other votes need.
//!
//! ## Design
//!
//! **The formula.** For a referendum with snapshot `s` and a standard vote of `b` OPEN with
//! conviction `c`:
//!
//! ```text
//! votes(voter)   = c·b + P(voter, s)        c ∈ {0.1, 1, 2, 3, 4, 5, 6}
//! support(voter) =   b + P(voter, s)        (aye votes only)
//! support(ref)   = Σ support / (active issuance + Σ_all P(·, s))
//! approval(ref)  = ayes / (ayes + nays)
//! ```
//!
//! Every term is linear in what an account holds or did, with no per-account constant:
//! splitting an account into many divides `b` and `P` between them and never raises their sum
//! (`c·b` rounds down per account, so splitting can only lose). Locked OPEN cannot vote twice in
//! one referendum: it stays locked while the vote stands, and removing the vote removes it from
//! the tally. Contribution power cannot move between accounts, and a referendum reads it as of
//! its snapshot, so new contributions during a vote add nothing.
//!
//! **Why the history is bounded.** A history keeps one entry per period in which the power
//! changed; entries older than [`Config::PowerRetentionPeriods`] periods are dropped once a
//! younger one answers every snapshot within the retention. An account whose history is a
//! single zero entry is removed. The retention is longer than a referendum is prepared, decided
//! and confirmed; one that waited in its track's queue longer than that reads power from a
//! history that may have lost its snapshot: it then counts zero for entries lost, never more
//! than the voter had (a history answers exactly for every snapshot after its first entry).
//! The power a vote counted is stored with it ([`VotePower`]), so removing the vote takes out
//! exactly what it added.
//!
//! ## Invariants
//!
//! Checked by `try_state`:
//! - every history is non-empty and strictly increasing in its period starts;
//! - the total history's latest power is the sum of every account's latest power;
//! - every account's votes are sorted by referendum index, and its `pyconvot` lock needs are
//!   recorded per class;
//! - every [`VotePower`] entry belongs to a standard vote its account still has.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod power;
mod tally;
#[cfg(test)]
mod tests;
mod voting;
pub mod weights;

pub use pallet::*;
pub use pallet_conviction_voting::{AccountVote, Conviction, Vote};
pub use power::Checkpoint;
pub use tally::{Electorate, Tally};
pub use weights::WeightInfo;

use pallet_conviction_voting::{Casting, Delegating, Voting};
use polkadot_sdk::{
    frame_support::{
        self,
        traits::{LockIdentifier, Polling},
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    pallet_conviction_voting,
    sp_runtime::traits::{CheckedDiv, StaticLookup},
};
use provena_primitives::Balance;

/// The lock under which votes hold OPEN: conviction voting's identifier, so wallets name it.
pub const VOTING_LOCK_ID: LockIdentifier = *b"pyconvot";

/// The log target of this pallet.
pub const LOG_TARGET: &str = "runtime::governance";

type AccountIdLookupOf<T> = <<T as frame_system::Config>::Lookup as StaticLookup>::Source;
/// The tally referenda keep for this pallet.
pub type TallyOf<T> = Tally<BlockNumberFor<T>, Pallet<T>>;
/// A referendum's index.
pub type PollIndexOf<T> = <<T as Config>::Polls as Polling<TallyOf<T>>>::Index;
/// A referendum's class (its track).
pub type ClassOf<T> = <<T as Config>::Polls as Polling<TallyOf<T>>>::Class;
/// All of an account's voting in one class.
pub type VotingOf<T> = Voting<
    Balance,
    <T as frame_system::Config>::AccountId,
    BlockNumberFor<T>,
    PollIndexOf<T>,
    <T as Config>::MaxVotes,
>;

// The pallet macros expand to `expect`s on values they construct.
#[allow(clippy::expect_used, clippy::type_complexity)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{fungible, ClassCountOf, LockableCurrency, ReservableCurrency},
    };
    use frame_system::pallet_prelude::*;
    use pallet_conviction_voting::UnvoteScope;

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// The currency votes lock.
        type Currency: ReservableCurrency<Self::AccountId, Balance = Balance>
            + LockableCurrency<Self::AccountId, Moment = BlockNumberFor<Self>>
            + fungible::Inspect<Self::AccountId, Balance = Balance>;
        /// The referenda this pallet tallies.
        type Polls: Polling<TallyOf<Self>, Votes = Balance, Moment = BlockNumberFor<Self>>;
        /// The OPEN that can vote (the active issuance): with the total contribution power at a
        /// referendum's snapshot, the denominator of its support.
        type MaxTurnout: Get<Balance>;
        /// The most referenda one account may vote on at once in one class.
        #[pallet::constant]
        type MaxVotes: Get<u32>;
        /// How long a winning vote with conviction ×1 stays locked after its referendum ends
        /// (×2: twice, ×3: four times, ... ×6: 32 times). At least the enactment delay, so a
        /// vote's backers live with what they voted for.
        #[pallet::constant]
        type VoteLockingPeriod: Get<BlockNumberFor<Self>>;
        /// The length of a power period in blocks: snapshots are period starts, and a history
        /// keeps at most one entry per period.
        #[pallet::constant]
        type PowerPeriod: Get<BlockNumberFor<Self>>;
        /// How many periods of history are kept: more than any referendum lives.
        #[pallet::constant]
        type PowerRetentionPeriods: Get<u32>;
        /// The most entries a power history holds: at least `PowerRetentionPeriods + 2`.
        #[pallet::constant]
        type MaxCheckpoints: Get<u32>;
    }

    /// What each account votes, and what is delegated to it, per class. Keys are account ids
    /// (public keys) and classes: blake2 keeps the trie balanced against chosen ids.
    #[pallet::storage]
    pub type VotingFor<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        ClassOf<T>,
        VotingOf<T>,
        ValueQuery,
    >;

    /// The lock each class needs of an account; the `pyconvot` lock is their maximum. Bounded by
    /// the number of classes.
    #[pallet::storage]
    pub type ClassLocksFor<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<(ClassOf<T>, Balance), ClassCountOf<T::Polls, TallyOf<T>>>,
        ValueQuery,
    >;

    /// The contribution power each standard vote counted, so removing it takes out exactly
    /// that (whatever the history holds by then). Removed with the vote.
    #[pallet::storage]
    pub type VotePower<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        PollIndexOf<T>,
        Balance,
        OptionQuery,
    >;

    /// Each account's contribution power history (see the pallet docs). Removed when it is a
    /// single zero entry.
    #[pallet::storage]
    pub type PowerHistory<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<Checkpoint<BlockNumberFor<T>>, T::MaxCheckpoints>,
        ValueQuery,
    >;

    /// The history of the sum of every account's contribution power.
    #[pallet::storage]
    pub type TotalPowerHistory<T: Config> =
        StorageValue<_, BoundedVec<Checkpoint<BlockNumberFor<T>>, T::MaxCheckpoints>, ValueQuery>;

    /// The default timescale: durations as documented.
    #[pallet::type_value]
    pub fn DefaultTimescale() -> u32 {
        1
    }

    /// What every governance duration is divided by (see [`Pallet::scaled`]). Set at genesis.
    #[pallet::storage]
    pub type Timescale<T: Config> = StorageValue<_, u32, ValueQuery, DefaultTimescale>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// What governance durations are divided by; 0 or 1 keeps them as documented.
        pub timescale: u32,
        /// Contribution power accounts start with (e.g. a genesis community's record).
        pub power: alloc::vec::Vec<(T::AccountId, Balance)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            Timescale::<T>::put(self.timescale.max(1));
            for (who, power) in &self.power {
                Pallet::<T>::add_power(who, *power);
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `who` voted on referendum `poll_index`, with `power` contribution power counted.
        Voted {
            who: T::AccountId,
            poll_index: PollIndexOf<T>,
            vote: AccountVote<Balance>,
            power: Balance,
        },
        /// `who` removed their vote on referendum `poll_index`.
        VoteRemoved { who: T::AccountId, poll_index: PollIndexOf<T>, vote: AccountVote<Balance> },
        /// `who` delegated their votes in `class` to `target`.
        Delegated { who: T::AccountId, target: T::AccountId, class: ClassOf<T> },
        /// `who` took back their delegation in `class`.
        Undelegated { who: T::AccountId, class: ClassOf<T> },
        /// `who`'s lock for `class` was recomputed; the `pyconvot` lock is now `locked`.
        VoteUnlocked { who: T::AccountId, class: ClassOf<T>, locked: Balance },
        /// `who`'s contribution power is now `power`.
        PowerChanged { who: T::AccountId, power: Balance },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The referendum is not ongoing.
        NotOngoing,
        /// The account has no vote on this referendum.
        NotVoter,
        /// Only the voter may remove a vote from an ongoing referendum.
        NoPermission,
        /// Only the voter may remove a vote that is still locked.
        NoPermissionYet,
        /// The account delegates its votes in this class, so it cannot vote in it.
        AlreadyDelegating,
        /// The account votes in this class, so it cannot delegate in it.
        AlreadyVoting,
        /// The account's balance is less than what it votes or delegates with.
        InsufficientFunds,
        /// The account does not delegate in this class.
        NotDelegating,
        /// An account cannot delegate to itself.
        Nonsense,
        /// The account already votes on [`Config::MaxVotes`] referenda of this class.
        MaxVotesReached,
        /// The referendum is not ongoing, so its class must be named.
        ClassNeeded,
        /// No such class (track).
        BadClass,
        /// The account has no lock in this class.
        NothingToUnlock,
        /// The tally would overflow or underflow.
        TallyOverflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                T::MaxCheckpoints::get() >= T::PowerRetentionPeriods::get().saturating_add(2),
                "a history must hold the retained periods, the current one and one before them"
            );
            assert!(T::MaxVotes::get() > 0, "an account must be able to vote");
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Votes on an ongoing referendum, or changes the vote. The vote's balance is locked;
        /// a standard vote also counts the caller's contribution power at the referendum's
        /// snapshot.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::vote_new().max(T::WeightInfo::vote_existing()))]
        pub fn vote(
            origin: OriginFor<T>,
            #[pallet::compact] poll_index: PollIndexOf<T>,
            vote: AccountVote<Balance>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::try_vote(&who, poll_index, vote)
        }

        /// Delegates `balance` with `conviction` in `class` to `to`, whose standard votes in the
        /// class then carry it (contribution power is not delegated). The caller must have no
        /// votes in the class.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::delegate(T::MaxVotes::get()))]
        pub fn delegate(
            origin: OriginFor<T>,
            class: ClassOf<T>,
            to: AccountIdLookupOf<T>,
            conviction: Conviction,
            balance: Balance,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let to = T::Lookup::lookup(to)?;
            let votes = Self::try_delegate(who, class, to, conviction, balance)?;
            Ok(Some(T::WeightInfo::delegate(votes)).into())
        }

        /// Ends the caller's delegation in `class`; the delegated balance stays locked for the
        /// conviction's lock period from now.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::undelegate(T::MaxVotes::get()))]
        pub fn undelegate(origin: OriginFor<T>, class: ClassOf<T>) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let votes = Self::try_undelegate(who, class)?;
            Ok(Some(T::WeightInfo::undelegate(votes)).into())
        }

        /// Lowers `target`'s lock for `class` to what its votes and expired-lock records still
        /// need.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::unlock())]
        pub fn unlock(
            origin: OriginFor<T>,
            class: ClassOf<T>,
            target: AccountIdLookupOf<T>,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            let target = T::Lookup::lookup(target)?;
            let locked = Self::update_lock(&class, &target)?;
            Self::deposit_event(Event::VoteUnlocked { who: target, class, locked });
            Ok(())
        }

        /// Removes the caller's vote on referendum `index`: from its tally while it is ongoing;
        /// afterwards, recording how long the vote's balance must stay locked. `class` is needed
        /// once the referendum is over.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::remove_vote())]
        pub fn remove_vote(
            origin: OriginFor<T>,
            class: Option<ClassOf<T>>,
            index: PollIndexOf<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::try_remove_vote(&who, index, class, UnvoteScope::Any)
        }

        /// Removes `target`'s vote on a referendum that is over and whose lock has expired (or
        /// any of the caller's own votes).
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::remove_other_vote())]
        pub fn remove_other_vote(
            origin: OriginFor<T>,
            target: AccountIdLookupOf<T>,
            class: ClassOf<T>,
            index: PollIndexOf<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let target = T::Lookup::lookup(target)?;
            let scope = if target == who { UnvoteScope::Any } else { UnvoteScope::OnlyExpired };
            Self::try_remove_vote(&target, index, Some(class), scope)
        }
    }
}

impl<T: Config> Pallet<T> {
    /// `blocks` divided by the chain's [`Timescale`], at least one block: how the runtime turns
    /// the documented governance durations into this chain's.
    pub fn scaled(blocks: BlockNumberFor<T>) -> BlockNumberFor<T> {
        let scale = BlockNumberFor::<T>::from(Timescale::<T>::get().max(1));
        blocks.checked_div(&scale).unwrap_or(blocks).max(1u32.into())
    }

    /// Checks the invariants listed in the pallet docs.
    #[cfg(any(test, feature = "try-runtime"))]
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        use frame_support::ensure;
        let sorted = |h: &[Checkpoint<BlockNumberFor<T>>]| {
            h.windows(2).all(|w| matches!(w, [a, b] if a.from < b.from))
        };
        let mut sum: Balance = 0;
        for (_, history) in PowerHistory::<T>::iter() {
            ensure!(!history.is_empty(), "an empty power history is stored");
            ensure!(sorted(&history), "a power history is not sorted");
            let latest = history.last().map(|c| c.power).unwrap_or_default();
            sum = sum.checked_add(latest).ok_or("total power overflows")?;
        }
        let total = TotalPowerHistory::<T>::get();
        ensure!(sorted(&total), "the total power history is not sorted");
        ensure!(
            total.last().map(|c| c.power).unwrap_or_default() == sum,
            "the total power is not the sum of the accounts' power"
        );
        for (who, poll, _) in VotePower::<T>::iter() {
            let voted = VotingFor::<T>::iter_prefix(&who).any(|(_, voting)| {
                matches!(voting, Voting::Casting(Casting { votes, .. })
                    if votes.iter().any(|(p, v)| *p == poll && v.as_standard().is_some()))
            });
            ensure!(voted, "vote power is stored for a vote that is gone");
        }
        for (who, class, voting) in VotingFor::<T>::iter() {
            if let Voting::Casting(Casting { votes, .. }) = &voting {
                ensure!(
                    votes.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)),
                    "votes are not sorted by referendum"
                );
            }
            let needed = voting.locked_balance();
            if needed > 0 {
                let recorded = ClassLocksFor::<T>::get(&who)
                    .iter()
                    .find(|(c, _)| *c == class)
                    .map(|(_, l)| *l)
                    .unwrap_or_default();
                ensure!(recorded >= needed, "a class lock is below what its votes need");
            }
        }
        Ok(())
    }
}
