//! # Models
//!
//! A registry of AI models with training provenance, and model tokens on bonding curves
//! (Initial AI Offering) whose holders share the model's revenue.
//!
//! ## Overview
//!
//! A model on Provena is an asset. Its weights — a base model or a LoRA adapter over a
//! registered base — are addressed by content hash; it declares the datanet snapshots it was
//! trained on (checked against the datanets pallet, private datanets included); it has an owner
//! (its developer), a price per 1,000 tokens, and a developer share of its revenue. Its owner
//! may launch a **model token**: a fixed supply sold on a constant-product bonding curve, so
//! that anyone can back a model they believe in and share the revenue it earns.
//!
//! ## Terminology
//!
//! - **Weights hash**: the content hash of the weights file(s). One model per hash: the first
//!   registration wins, so the hash is a stable identity inference workers check against.
//! - **Version**: a model may name a predecessor of the same owner; it is then
//!   `predecessor.version + 1`. The predecessor stays usable until its owner deprecates it.
//! - **Curve**: the pricing of a token, [`provena_primitives::bonding_curve`]: buying `a` tokens
//!   costs `⌈x·a/(y−a)⌉` OPEN with `x = virtual OPEN + reserve`, `y = virtual tokens − sold`.
//! - **Reserve**: the OPEN paid into the curve, held on the token's keyless sub-account under
//!   [`HoldReason::CurveReserve`]. Selling pays out of it.
//! - **Graduation**: when a buy brings the reserve to the curve's graduation reserve, the
//!   virtual reserves go and the curve becomes a constant-product **pool**: the real reserve
//!   against tokens taken from the never-sold supply at the curve's last price
//!   ([`CurveParams::graduated`]). `buy` and `sell` go on against the pool, so a graduated
//!   token always has an exit: holders sell into the reserve their buyers paid in, and no
//!   large buyer can trap them. Nobody owns the pool's liquidity and nobody can withdraw the
//!   reserve; the rest of the supply is never minted. (The holdings stay in this pallet rather
//!   than in `pallet-assets`, whose transfers have no hook: the revenue accumulator must settle
//!   every holding before its balance changes.)
//! - **Revenue share**: the attribution pallet credits a model's holder share of each inference
//!   fee through [`ModelRevenue`]; it is spread over the circulating supply (the sold tokens)
//!   with a reward-per-token accumulator, so crediting and claiming are O(1) whatever the number
//!   of holders.
//!
//! ## Usage
//!
//! 1. `register_model` — kind (base, or adapter with rank, alpha and target modules), weights
//!    and training-config hashes, the snapshots trained on, price, developer share, metadata
//!    URI, optional predecessor. Holds [`Config::ModelDeposit`].
//! 2. `update_price`, `transfer_ownership` (the deposit moves with it), `deprecate` (no new
//!    inference, no token buys; sells and claims still work; the deposit stays held).
//! 3. `launch_token` — owner only, once. The curve's parameters are [`Config::Curve`] at launch
//!    and never change for that token. The owner pays the token account's existential floor.
//! 4. `buy` / `sell` — an exact token amount with a `max_cost` / `min_out` bound (fee included)
//!    and a deadline block; a [`Config::TradingFee`] goes to [`Config::FeeDestination`].
//! 5. `claim_revenue` — a holder takes its share of credited revenue.
//! 6. `transfer_tokens` — move tokens to another account; revenue earned so far stays with the
//!    sender. No trade or transfer leaves a holding below [`Config::MinHolding`] but above zero,
//!    so each stored holding is worth keeping (as an existential deposit does for accounts).
//! 7. `remove_model` — a deprecated model leaves the state and its deposit comes back, once
//!    nothing depends on it: no launched token (holders own it), no adapters over it
//!    ([`AdapterCount`]), no receipts attribution still stores ([`Config::Usage`]). The datanets
//!    it was trained on stop counting it as a user (a datanet in use cannot be destroyed).
//! 8. `register_model_committed` — `register_model` revealing a commitment to the weights hash
//!    made in the datanets pallet (see [`provena_primitives::commit`]): the first committer wins
//!    the weights from a copy registered before the reveal (a mempool watcher's). A copy
//!    nothing depends on yet leaves the state (its deposit goes back) and the revealed model is
//!    registered; a copy with a token, adapters or stored receipts stays (its holders and
//!    users keep it) and passes to the committer with the revealed price, developer share and
//!    metadata, the deposit hold moving with it.
//!
//! Other pallets read models through [`provena_primitives::models::ModelInspect`] and credit
//! holder revenue through [`provena_primitives::models::ModelRevenue`], both implemented by
//! [`Pallet`].
//!
//! ## Design
//!
//! - All money moves are fungible transfers and holds; nothing is minted or burnt. Rounding is
//!   always against the trader (costs up, proceeds and fees in the chain's favour), and every
//!   intermediate is a checked 256-bit product.
//! - The token account holds a free-balance floor of one existential deposit that no call ever
//!   moves, so it can never be reaped whatever the reserve does.
//! - Revenue accounting is exact: with `P` = [`REVENUE_PRECISION`], each credit adds
//!   `⌊(amount·P + carry) / sold⌋` to the per-token accumulator and carries the remainder, so
//!   `received·P = claimed·P + Σ owed + carry` holds to the unit.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every unit test and by `try-runtime`:
//! - the reserve held on each token account equals the curve's reserve, and the holder revenue
//!   held there equals `received − claimed`;
//! - the holdings of a token sum to its sold supply, and `holders` counts them;
//! - `received·P = claimed·P + Σ owed + carry` for each token;
//! - `x·y ≥ virtual OPEN · virtual tokens`, `sold ≤ curve supply ≤ total supply`, a trading
//!   curve is below its graduation reserve and has virtual OPEN, a graduated one has none;
//! - the deposit held from each owner equals the deposits of its models (deprecated ones
//!   included, until removed), and the weights index matches the models;
//! - each base's adapter count equals its registered adapters, and every adapter's base exists.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod events;
mod ledger;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use alloc::{string::String, vec::Vec};
use polkadot_sdk::{
    frame_support::{
        ensure,
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, InspectHold, Mutate, MutateHold},
            tokens::{Fortitude, Precision, Preservation, Restriction},
        },
        PalletId,
    },
    frame_system::{self, pallet_prelude::BlockNumberFor},
    sp_core::U256,
    sp_runtime::{traits::AccountIdConversion, DispatchResult, Permill},
};
use provena_primitives::{
    bonding_curve::{CurveError, CurveParams, CurveState, Trade},
    commit::HashCommitments,
    datanets::{ContributionInspect, SnapshotAccessError, SnapshotUsers},
    models::{
        HoldingInfo, ModelInfo, ModelInspect, ModelKindInfo, ModelRevenue, ModelStatus, ModelUsage,
        ModelView, QuoteError, TokenInfo, TokenPhase, TrainedOn,
    },
    Balance, ContentHash, DatanetId, ModelId,
};

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::models";

/// The scale of the revenue-per-token accumulator.
pub const REVENUE_PRECISION: u128 = 1_000_000_000_000_000_000;

// FRAME's macro expansion of this module uses `expect` (on can't-fail metadata lookups) and
// generates functions with one argument per call parameter; the lints are for hand-written code.
#[allow(clippy::expect_used, clippy::too_many_arguments, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet_macros::import_section(events::events_and_errors)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::{self, pallet_prelude::*};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An owner's deposit for a registered model, held until it is removed.
        ModelDeposit,
        /// A token's curve reserve, held on the token account.
        CurveReserve,
        /// Revenue credited to a token's holders and not yet claimed, held on the token account.
        HolderRevenue,
    }

    /// Datanet snapshots and commitments for benchmarks: the runtime makes real ones.
    #[cfg(feature = "runtime-benchmarks")]
    pub trait BenchmarkHelper<AccountId> {
        /// `n` distinct snapshots that `who` may train on.
        fn usable_snapshots(who: &AccountId, n: u32) -> Vec<TrainedOn>;
        /// Makes `who`'s commitment to `hash` with `salt` (revealable from the next block).
        fn commit(who: &AccountId, hash: ContentHash, salt: ContentHash);
    }

    #[pallet::config]
    pub trait Config: polkadot_sdk::frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>>
            + IsType<<Self as polkadot_sdk::frame_system::Config>::RuntimeEvent>;

        /// The currency (OPEN) deposits, trades and revenue are paid in.
        type Currency: Mutate<Self::AccountId, Balance = Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + InspectHold<Self::AccountId>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// Datanets, to check the snapshots a model declares.
        type Datanets: ContributionInspect<Self::AccountId> + SnapshotUsers;

        /// The pallet's id; token accounts are its sub-accounts.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// What an owner holds per registered model.
        #[pallet::constant]
        type ModelDeposit: Get<Balance>;

        /// The curve of tokens launched from now on.
        #[pallet::constant]
        type Curve: Get<CurveParams>;

        /// The trading fee of tokens launched from now on.
        #[pallet::constant]
        type TradingFee: Get<Permill>;

        /// Where trading fees go (the treasury).
        type FeeDestination: Get<Self::AccountId>;

        /// The smallest trade, in OPEN moved by the curve. At least the existential deposit.
        #[pallet::constant]
        type MinTradeValue: Get<Balance>;

        /// The most snapshots a model may declare.
        #[pallet::constant]
        type MaxTrainedOn: Get<u32>;

        /// The most modules an adapter may target.
        #[pallet::constant]
        type MaxTargetModules: Get<u32>;

        /// The longest module name, in bytes.
        #[pallet::constant]
        type MaxModuleNameLen: Get<u32>;

        /// The highest adapter rank.
        #[pallet::constant]
        type MaxAdapterRank: Get<u16>;

        /// The longest URI, in bytes.
        #[pallet::constant]
        type MaxUriLen: Get<u32>;

        /// The smallest non-empty holding of a model token, in token base units (as an
        /// existential deposit for holdings: no trade or transfer leaves one below it, so each
        /// stored holding is worth keeping).
        #[pallet::constant]
        type MinHolding: Get<Balance>;

        /// What still depends on a model outside this pallet (attribution's stored receipts);
        /// a model in use cannot be removed.
        type Usage: ModelUsage;

        /// Where commitments to weights hashes are made and revealed (the datanets pallet).
        type Commitments: HashCommitments<Self::AccountId, BlockNumberFor<Self>>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Creates datanet snapshots for benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// The id the next model gets.
    #[pallet::storage]
    pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

    /// Registered models.
    #[pallet::storage]
    pub type Models<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, Model<T>>;

    /// The model registered with a weights hash.
    #[pallet::storage]
    pub type ModelByWeights<T: Config> = StorageMap<_, Identity, ContentHash, ModelId>;

    /// Launched model tokens.
    #[pallet::storage]
    pub type Tokens<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, Token<T>>;

    /// Positions in model tokens.
    #[pallet::storage]
    pub type Holdings<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, ModelId, Blake2_128Concat, T::AccountId, Holding>;

    /// How many registered adapters adapt each base model (a base with adapters stays stored).
    #[pallet::storage]
    pub type AdapterCount<T> = StorageMap<_, Blake2_128Concat, ModelId, u32, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Base models to register: owner, weights hash, price per 1,000 tokens, metadata URI.
        /// Each owner's deposit is held as for `register_model`.
        pub base_models: Vec<(T::AccountId, ContentHash, Balance, Vec<u8>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            for (owner, weights_hash, price, uri) in &self.base_models {
                let result = Pallet::<T>::do_register(
                    owner.clone(),
                    ModelKindArg::Base,
                    *weights_hash,
                    ContentHash::zero(),
                    Vec::new(),
                    *price,
                    Permill::one(),
                    uri.clone(),
                    None,
                    None,
                );
                assert!(result.is_ok(), "genesis model {weights_hash:?} is invalid: {result:?}");
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(T::Curve::get().validate().is_ok(), "Config::Curve must be a valid curve");
            assert!(
                T::MinTradeValue::get() >= T::Currency::minimum_balance(),
                "MinTradeValue must be at least the existential deposit"
            );
            assert!(T::MaxAdapterRank::get() > 0, "MaxAdapterRank must be positive");
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(
            _n: BlockNumberFor<T>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers a model. `trained_on` lists the datanet snapshots it was trained on; each
        /// must exist and, for a private datanet, the caller must own it or hold an access
        /// grant. Holds [`Config::ModelDeposit`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_model(trained_on.len().try_into().unwrap_or(u32::MAX)))]
        pub fn register_model(
            origin: OriginFor<T>,
            kind: ModelKindArg,
            weights_hash: ContentHash,
            training_config_hash: ContentHash,
            trained_on: Vec<TrainedOn>,
            price_per_1k_tokens: Balance,
            developer_share: Permill,
            metadata_uri: Vec<u8>,
            predecessor: Option<ModelId>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_register(
                who,
                kind,
                weights_hash,
                training_config_hash,
                trained_on,
                price_per_1k_tokens,
                developer_share,
                metadata_uri,
                predecessor,
                None,
            )
            .map(|_| ())
        }

        /// Sets a model's price per 1,000 tokens. Owner only; the model must be active.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::update_price())]
        pub fn update_price(
            origin: OriginFor<T>,
            model: ModelId,
            price_per_1k_tokens: Balance,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut m = Self::owned(model, &who)?;
            ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
            m.price_per_1k_tokens = price_per_1k_tokens;
            Models::<T>::insert(model, m);
            Self::deposit_event(Event::PriceUpdated { model, price_per_1k_tokens });
            Ok(())
        }

        /// Hands a model (and its deposit) to another account. Owner only.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::transfer_ownership())]
        pub fn transfer_ownership(
            origin: OriginFor<T>,
            model: ModelId,
            new_owner: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut m = Self::owned(model, &who)?;
            ensure!(new_owner != who, Error::<T>::AlreadyOwner);
            if m.deposit > 0 {
                T::Currency::transfer_on_hold(
                    &HoldReason::ModelDeposit.into(),
                    &who,
                    &new_owner,
                    m.deposit,
                    Precision::Exact,
                    Restriction::OnHold,
                    Fortitude::Polite,
                )?;
            }
            m.owner = new_owner.clone();
            Models::<T>::insert(model, m);
            Self::deposit_event(Event::OwnershipTransferred { model, from: who, to: new_owner });
            Ok(())
        }

        /// Retires a model for good: no new inference receipts, no token buys (sells and
        /// revenue claims still work). Owner only. The model stays stored, and so does its
        /// deposit, until it is removed ([`Pallet::remove_model`]).
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::deprecate())]
        pub fn deprecate(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut m = Self::owned(model, &who)?;
            ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
            m.status = ModelStatus::Deprecated;
            Models::<T>::insert(model, m);
            Self::deposit_event(Event::ModelDeprecated { model });
            Ok(())
        }

        /// Launches the model's token on the curve [`Config::Curve`]. Owner only, once, while
        /// the model is active. The owner pays the token account's floor (one existential
        /// deposit), which stays there for good.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::launch_token())]
        pub fn launch_token(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let m = Self::owned(model, &who)?;
            ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
            ensure!(!Tokens::<T>::contains_key(model), Error::<T>::AlreadyLaunched);
            let params = T::Curve::get();
            params.validate().map_err(|_| Error::<T>::InvalidCurve)?;
            let account = Self::token_account(model);
            let floor = T::Currency::minimum_balance();
            T::Currency::transfer(&who, &account, floor, Preservation::Preserve)?;
            let fee = T::TradingFee::get();
            Tokens::<T>::insert(
                model,
                Token {
                    params,
                    state: CurveState::default(),
                    phase: TokenPhase::Trading,
                    fee,
                    holders: 0,
                    revenue: RevenuePool::default(),
                    floor,
                    launched_at: frame_system::Pallet::<T>::block_number(),
                },
            );
            Self::deposit_event(Event::TokenLaunched { model, account, params, fee });
            Ok(())
        }

        /// Buys exactly `tokens` on the curve, paying at most `max_cost` OPEN (fee included),
        /// in a block no later than `deadline`. The model must be active and its curve trading.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::buy())]
        pub fn buy(
            origin: OriginFor<T>,
            model: ModelId,
            tokens: Balance,
            max_cost: Balance,
            deadline: BlockNumberFor<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(tokens > 0, Error::<T>::ZeroAmount);
            Self::ensure_deadline(deadline)?;
            let (mut token, trade, after) = Self::prepare_buy(model, tokens)?;
            ensure!(trade.trader_amount <= max_cost, Error::<T>::SlippageExceeded);
            let account = Self::token_account(model);
            T::Currency::transfer_and_hold(
                &HoldReason::CurveReserve.into(),
                &who,
                &account,
                trade.curve_amount,
                Precision::Exact,
                Preservation::Preserve,
                Fortitude::Polite,
            )?;
            if trade.fee > 0 {
                T::Currency::transfer(
                    &who,
                    &T::FeeDestination::get(),
                    trade.fee,
                    Preservation::Preserve,
                )?;
            }
            Self::change_holding(model, &mut token, &who, |b| b.checked_add(tokens))?;
            token.state = after;
            Self::deposit_event(Event::Bought {
                model,
                who,
                tokens,
                cost: trade.curve_amount,
                fee: trade.fee,
                sold: after.sold,
                reserve: after.reserve,
            });
            if token.params.graduates_at(&after) {
                Self::graduate(model, &mut token);
            }
            Tokens::<T>::insert(model, token);
            Ok(())
        }

        /// Sells exactly `tokens` back to the curve, receiving at least `min_out` OPEN (fee
        /// deducted), in a block no later than `deadline`. Works for deprecated models too.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::sell())]
        pub fn sell(
            origin: OriginFor<T>,
            model: ModelId,
            tokens: Balance,
            min_out: Balance,
            deadline: BlockNumberFor<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(tokens > 0, Error::<T>::ZeroAmount);
            Self::ensure_deadline(deadline)?;
            let (mut token, trade, after) = Self::prepare_sell(model, tokens)?;
            let held = Holdings::<T>::get(model, &who).map(|h| h.balance).unwrap_or_default();
            ensure!(held >= tokens, Error::<T>::InsufficientTokens);
            ensure!(trade.trader_amount >= min_out, Error::<T>::SlippageExceeded);
            let account = Self::token_account(model);
            let reason = HoldReason::CurveReserve.into();
            if trade.trader_amount > 0 {
                T::Currency::transfer_on_hold(
                    &reason,
                    &account,
                    &who,
                    trade.trader_amount,
                    Precision::Exact,
                    Restriction::Free,
                    Fortitude::Polite,
                )?;
            }
            if trade.fee > 0 {
                T::Currency::transfer_on_hold(
                    &reason,
                    &account,
                    &T::FeeDestination::get(),
                    trade.fee,
                    Precision::Exact,
                    Restriction::Free,
                    Fortitude::Polite,
                )?;
            }
            Self::change_holding(model, &mut token, &who, |b| b.checked_sub(tokens))?;
            token.state = after;
            Tokens::<T>::insert(model, token);
            Self::deposit_event(Event::Sold {
                model,
                who,
                tokens,
                proceeds: trade.trader_amount,
                fee: trade.fee,
                sold: after.sold,
                reserve: after.reserve,
            });
            Ok(())
        }

        /// Pays the caller its share of the revenue credited to a model's holders.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::claim_revenue())]
        pub fn claim_revenue(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(Models::<T>::contains_key(model), Error::<T>::UnknownModel);
            let mut token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
            let mut h = Holdings::<T>::get(model, &who).ok_or(Error::<T>::NothingToClaim)?;
            Self::settle(&token.revenue, &mut h)?;
            let precision = U256::from(REVENUE_PRECISION);
            let amount = h.owed.checked_div(precision).ok_or(Error::<T>::Overflow)?;
            let amount = Balance::try_from(amount).map_err(|_| Error::<T>::Overflow)?;
            ensure!(amount > 0, Error::<T>::NothingToClaim);
            T::Currency::transfer_on_hold(
                &HoldReason::HolderRevenue.into(),
                &Self::token_account(model),
                &who,
                amount,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Polite,
            )?;
            let paid = U256::from(amount).checked_mul(precision).ok_or(Error::<T>::Overflow)?;
            h.owed = h.owed.checked_sub(paid).ok_or(Error::<T>::Overflow)?;
            token.revenue.claimed =
                token.revenue.claimed.checked_add(amount).ok_or(Error::<T>::Overflow)?;
            Self::store_holding(model, &mut token, &who, h)?;
            Tokens::<T>::insert(model, token);
            Self::deposit_event(Event::RevenueClaimed { model, who, amount });
            Ok(())
        }

        /// Sends `amount` tokens of a model to `dest`. Revenue earned so far stays with the
        /// sender; from now on it accrues to whoever holds the tokens.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::transfer_tokens())]
        pub fn transfer_tokens(
            origin: OriginFor<T>,
            model: ModelId,
            dest: T::AccountId,
            amount: Balance,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(amount > 0, Error::<T>::ZeroAmount);
            ensure!(dest != who, Error::<T>::SelfTransfer);
            ensure!(Models::<T>::contains_key(model), Error::<T>::UnknownModel);
            let mut token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
            let held = Holdings::<T>::get(model, &who).map(|h| h.balance).unwrap_or_default();
            ensure!(held >= amount, Error::<T>::InsufficientTokens);
            Self::change_holding(model, &mut token, &who, |b| b.checked_sub(amount))?;
            Self::change_holding(model, &mut token, &dest, |b| b.checked_add(amount))?;
            Tokens::<T>::insert(model, token);
            Self::deposit_event(Event::TokensTransferred { model, from: who, to: dest, amount });
            Ok(())
        }

        /// Removes a deprecated model and returns its deposit. Owner only. A model stays while
        /// anything depends on it: a launched token (its holders), adapters over it, or receipts
        /// attribution still stores. Its weights hash is free to be registered again, and the
        /// datanets it was trained on no longer count it as a user.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::remove_model())]
        pub fn remove_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let m = Self::owned(model, &who)?;
            Self::do_remove(model, m)
        }

        /// `register_model`, revealing the caller's commitment to `weights_hash` with `salt`
        /// (made in the datanets pallet at least a block ago, within its lifetime; see
        /// [`provena_primitives::commit`]). The model's priority is the commitment's block. If a
        /// model with the same weights has a later priority (a front-runner's), the first
        /// committer wins it: a model nothing depends on yet is removed (its deposit goes back)
        /// and this one registered; one with a token, adapters or stored receipts stays, and
        /// passes to the caller with the price, developer share and metadata revealed here
        /// (the caller's deposit is held, the previous owner's released).
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::register_model_committed(trained_on.len().try_into().unwrap_or(u32::MAX)))]
        pub fn register_model_committed(
            origin: OriginFor<T>,
            kind: ModelKindArg,
            weights_hash: ContentHash,
            training_config_hash: ContentHash,
            trained_on: Vec<TrainedOn>,
            price_per_1k_tokens: Balance,
            developer_share: Permill,
            metadata_uri: Vec<u8>,
            predecessor: Option<ModelId>,
            salt: ContentHash,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let priority = T::Commitments::reveal(&who, &weights_hash, &salt)?;
            Self::do_register(
                who,
                kind,
                weights_hash,
                training_config_hash,
                trained_on,
                price_per_1k_tokens,
                developer_share,
                metadata_uri,
                predecessor,
                Some(priority),
            )
            .map(|_| ())
        }
    }
}
