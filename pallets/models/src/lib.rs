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
//! - **Graduation**: when a buy brings the reserve to the curve's graduation reserve, the curve
//!   closes for good. The reserve stays held on the token account and nobody can withdraw it:
//!   it is the token's permanent backing, to seed an on-chain liquidity pool if a later runtime
//!   upgrade adds one. The unsold part of the supply is never minted. Tokens stay transferable
//!   with [`Pallet::transfer_tokens`] and keep earning revenue.
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
//! 2. `update_price`, `transfer_ownership` (the deposit moves with it), `deprecate` (releases
//!    the deposit; no new inference, no token buys, sells and claims still work).
//! 3. `launch_token` — owner only, once. The curve's parameters are [`Config::Curve`] at launch
//!    and never change for that token. The owner pays the token account's existential floor.
//! 4. `buy` / `sell` — an exact token amount with a `max_cost` / `min_out` bound (fee included)
//!    and a deadline block; a [`Config::TradingFee`] goes to [`Config::FeeDestination`].
//! 5. `claim_revenue` — a holder takes its share of credited revenue.
//! 6. `transfer_tokens` — move tokens to another account; revenue earned so far stays with the
//!    sender.
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
//! - `x·y ≥ virtual OPEN · virtual tokens`, `sold ≤ curve supply`, and a trading curve is below
//!   its graduation reserve;
//! - the deposit held from each owner equals the deposits of its models, and the weights index
//!   matches the models.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
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
    datanets::{ContributionInspect, SnapshotAccessError},
    models::{
        HoldingInfo, ModelInfo, ModelInspect, ModelKindInfo, ModelRevenue, ModelStatus, ModelView,
        QuoteError, TokenInfo, TokenPhase, TrainedOn,
    },
    Balance, ContentHash, ModelId,
};

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::models";

/// The scale of the revenue-per-token accumulator.
pub const REVENUE_PRECISION: u128 = 1_000_000_000_000_000_000;

// FRAME's macro expansion of this module uses `expect` (on can't-fail metadata lookups) and
// generates functions with one argument per call parameter; the lints are for hand-written code.
#[allow(clippy::expect_used, clippy::too_many_arguments, clippy::type_complexity)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
    use super::*;
    use polkadot_sdk::frame_system::{self, pallet_prelude::*};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// An owner's deposit for a registered, non-deprecated model.
        ModelDeposit,
        /// A token's curve reserve, held on the token account.
        CurveReserve,
        /// Revenue credited to a token's holders and not yet claimed, held on the token account.
        HolderRevenue,
    }

    /// Datanet snapshots for benchmarks: the runtime creates real ones.
    #[cfg(feature = "runtime-benchmarks")]
    pub trait BenchmarkHelper<AccountId> {
        /// `n` distinct snapshots that `who` may train on.
        fn usable_snapshots(who: &AccountId, n: u32) -> Vec<TrainedOn>;
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
        type Datanets: ContributionInspect<Self::AccountId>;

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
                );
                assert!(result.is_ok(), "genesis model {weights_hash:?} is invalid: {result:?}");
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A model was registered.
        ModelRegistered {
            model: ModelId,
            owner: T::AccountId,
            base: Option<ModelId>,
            weights_hash: ContentHash,
            trained_on: Vec<TrainedOn>,
            predecessor: Option<ModelId>,
            version: u32,
        },
        /// A model's price changed.
        PriceUpdated { model: ModelId, price_per_1k_tokens: Balance },
        /// A model changed hands.
        OwnershipTransferred { model: ModelId, from: T::AccountId, to: T::AccountId },
        /// A model was deprecated; its deposit was released.
        ModelDeprecated { model: ModelId, deposit_released: Balance },
        /// A model's token was launched.
        TokenLaunched { model: ModelId, account: T::AccountId, params: CurveParams, fee: Permill },
        /// Tokens were bought on the curve.
        Bought {
            model: ModelId,
            who: T::AccountId,
            tokens: Balance,
            cost: Balance,
            fee: Balance,
            sold: Balance,
            reserve: Balance,
        },
        /// Tokens were sold back to the curve.
        Sold {
            model: ModelId,
            who: T::AccountId,
            tokens: Balance,
            proceeds: Balance,
            fee: Balance,
            sold: Balance,
            reserve: Balance,
        },
        /// A curve reached its graduation reserve and closed.
        Graduated { model: ModelId, reserve: Balance, sold: Balance },
        /// Revenue was credited to a token's holders.
        RevenueDistributed {
            model: ModelId,
            from: T::AccountId,
            amount: Balance,
            circulating: Balance,
        },
        /// A holder claimed revenue.
        RevenueClaimed { model: ModelId, who: T::AccountId, amount: Balance },
        /// Tokens moved between accounts.
        TokensTransferred { model: ModelId, from: T::AccountId, to: T::AccountId, amount: Balance },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No model with that id.
        UnknownModel,
        /// Only the model's owner may do that.
        NotOwner,
        /// The model is deprecated.
        ModelNotActive,
        /// The adapter's base model does not exist.
        UnknownBase,
        /// An adapter's base must be a base model, not another adapter.
        BaseIsAdapter,
        /// The adapter's base model is deprecated.
        BaseNotActive,
        /// The adapter rank is zero or above `MaxAdapterRank`.
        InvalidRank,
        /// The adapter alpha is zero.
        InvalidAlpha,
        /// An adapter must target at least one module.
        NoTargetModules,
        /// More target modules than `MaxTargetModules`.
        TooManyTargetModules,
        /// A target module name is empty or longer than `MaxModuleNameLen`.
        InvalidModuleName,
        /// A target module is listed twice.
        DuplicateTargetModule,
        /// More snapshots than `MaxTrainedOn`.
        TooManySnapshots,
        /// A snapshot is listed twice.
        DuplicateSnapshot,
        /// A declared datanet does not exist.
        UnknownDatanet,
        /// A declared datanet has no snapshot with that version.
        SnapshotNotFound,
        /// A declared snapshot is of a private datanet the caller has no access to.
        NoSnapshotAccess,
        /// The metadata URI is longer than `MaxUriLen`.
        UriTooLong,
        /// A model with these weights is already registered.
        WeightsAlreadyRegistered,
        /// The predecessor does not exist.
        UnknownPredecessor,
        /// The account already owns the model.
        AlreadyOwner,
        /// The model's token was already launched.
        AlreadyLaunched,
        /// The model has no token.
        NoToken,
        /// The curve graduated and no longer trades.
        CurveGraduated,
        /// The amount is zero.
        ZeroAmount,
        /// The trade moves less OPEN than `MinTradeValue`.
        BelowMinimumTrade,
        /// The trade costs more than `max_cost` or pays less than `min_out`.
        SlippageExceeded,
        /// The deadline block has passed.
        DeadlinePassed,
        /// Buying that many would exceed the curve's supply.
        ExceedsCurveSupply,
        /// The account holds fewer tokens than that.
        InsufficientTokens,
        /// Nothing to claim.
        NothingToClaim,
        /// Tokens cannot be sent to their sender.
        SelfTransfer,
        /// The curve parameters are invalid (a runtime configuration error).
        InvalidCurve,
        /// A computation overflowed.
        Overflow,
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
        /// revenue claims still work). Releases the deposit. Owner only.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::deprecate())]
        pub fn deprecate(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut m = Self::owned(model, &who)?;
            ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
            let released = m.deposit;
            if released > 0 {
                T::Currency::release(
                    &HoldReason::ModelDeposit.into(),
                    &who,
                    released,
                    Precision::Exact,
                )?;
            }
            m.deposit = 0;
            m.status = ModelStatus::Deprecated;
            Models::<T>::insert(model, m);
            Self::deposit_event(Event::ModelDeprecated { model, deposit_released: released });
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
                token.phase =
                    TokenPhase::Graduated { at: frame_system::Pallet::<T>::block_number() };
                Self::deposit_event(Event::Graduated {
                    model,
                    reserve: after.reserve,
                    sold: after.sold,
                });
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
    }
}

impl<T: Config> Pallet<T> {
    /// The keyless account of a model's token: it holds the reserve and holder revenue.
    pub fn token_account(model: ModelId) -> T::AccountId {
        T::PalletId::get().into_sub_account_truncating(model)
    }

    fn owned(model: ModelId, who: &T::AccountId) -> Result<Model<T>, DispatchError> {
        let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
        ensure!(&m.owner == who, Error::<T>::NotOwner);
        Ok(m)
    }

    fn ensure_deadline(deadline: BlockNumberFor<T>) -> DispatchResult {
        ensure!(frame_system::Pallet::<T>::block_number() <= deadline, Error::<T>::DeadlinePassed);
        Ok(())
    }

    fn curve_error(e: CurveError) -> Error<T> {
        match e {
            CurveError::ZeroAmount => Error::<T>::ZeroAmount,
            CurveError::ExceedsCurveSupply => Error::<T>::ExceedsCurveSupply,
            CurveError::ExceedsSold => Error::<T>::InsufficientTokens,
            CurveError::InvalidParams => Error::<T>::InvalidCurve,
            CurveError::Overflow => Error::<T>::Overflow,
        }
    }

    /// The checks and the quote of a buy, shared by `buy` and the quote API.
    fn prepare_buy(
        model: ModelId,
        tokens: Balance,
    ) -> Result<(Token<T>, Trade, CurveState), DispatchError> {
        let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
        let token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
        ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        ensure!(token.phase == TokenPhase::Trading, Error::<T>::CurveGraduated);
        let (trade, after) =
            token.params.quote_buy(&token.state, tokens, token.fee).map_err(Self::curve_error)?;
        ensure!(trade.curve_amount >= T::MinTradeValue::get(), Error::<T>::BelowMinimumTrade);
        Ok((token, trade, after))
    }

    /// The checks and the quote of a sell, shared by `sell` and the quote API.
    fn prepare_sell(
        model: ModelId,
        tokens: Balance,
    ) -> Result<(Token<T>, Trade, CurveState), DispatchError> {
        ensure!(Models::<T>::contains_key(model), Error::<T>::UnknownModel);
        let token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
        ensure!(token.phase == TokenPhase::Trading, Error::<T>::CurveGraduated);
        let (trade, after) =
            token.params.quote_sell(&token.state, tokens, token.fee).map_err(Self::curve_error)?;
        ensure!(trade.curve_amount >= T::MinTradeValue::get(), Error::<T>::BelowMinimumTrade);
        Ok((token, trade, after))
    }

    /// Moves the revenue accrued on `h` since it was last settled into `h.owed`.
    fn settle(pool: &RevenuePool, h: &mut Holding) -> DispatchResult {
        let accrued =
            U256::from(h.balance).checked_mul(pool.per_token).ok_or(Error::<T>::Overflow)?;
        let fresh = accrued.checked_sub(h.debt).ok_or(Error::<T>::Overflow)?;
        h.owed = h.owed.checked_add(fresh).ok_or(Error::<T>::Overflow)?;
        h.debt = accrued;
        Ok(())
    }

    /// Settles `who`'s holding, applies `change` to its balance and stores it.
    fn change_holding(
        model: ModelId,
        token: &mut Token<T>,
        who: &T::AccountId,
        change: impl FnOnce(Balance) -> Option<Balance>,
    ) -> DispatchResult {
        let existing = Holdings::<T>::get(model, who);
        let is_new = existing.is_none();
        let mut h = existing.unwrap_or_default();
        Self::settle(&token.revenue, &mut h)?;
        h.balance = change(h.balance).ok_or(Error::<T>::InsufficientTokens)?;
        h.debt = U256::from(h.balance)
            .checked_mul(token.revenue.per_token)
            .ok_or(Error::<T>::Overflow)?;
        if is_new {
            token.holders = token.holders.checked_add(1).ok_or(Error::<T>::Overflow)?;
        }
        Self::store_holding(model, token, who, h)
    }

    /// Stores a holding, or removes it when it holds nothing and is owed less than a unit;
    /// such a remainder returns to the pool's carry, so no revenue is lost.
    fn store_holding(
        model: ModelId,
        token: &mut Token<T>,
        who: &T::AccountId,
        h: Holding,
    ) -> DispatchResult {
        if h.balance == 0 && h.owed < U256::from(REVENUE_PRECISION) {
            token.revenue.carry =
                token.revenue.carry.checked_add(h.owed).ok_or(Error::<T>::Overflow)?;
            if Holdings::<T>::contains_key(model, who) {
                Holdings::<T>::remove(model, who);
                token.holders = token.holders.checked_sub(1).ok_or(Error::<T>::Overflow)?;
            }
        } else {
            Holdings::<T>::insert(model, who, h);
        }
        Ok(())
    }

    /// Registers a model; the body of `register_model`, also used at genesis.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn do_register(
        who: T::AccountId,
        kind: ModelKindArg,
        weights_hash: ContentHash,
        training_config_hash: ContentHash,
        trained_on: Vec<TrainedOn>,
        price_per_1k_tokens: Balance,
        developer_share: Permill,
        metadata_uri: Vec<u8>,
        predecessor: Option<ModelId>,
    ) -> Result<ModelId, DispatchError> {
        let metadata_uri =
            BoundedVec::try_from(metadata_uri).map_err(|_| Error::<T>::UriTooLong)?;
        let kind = Self::check_kind(kind)?;
        let trained_on = Self::check_trained_on(&who, trained_on)?;
        ensure!(
            !ModelByWeights::<T>::contains_key(weights_hash),
            Error::<T>::WeightsAlreadyRegistered
        );
        let version = match predecessor {
            None => 1,
            Some(p) => {
                let pm = Models::<T>::get(p).ok_or(Error::<T>::UnknownPredecessor)?;
                ensure!(pm.owner == who, Error::<T>::NotOwner);
                pm.version.checked_add(1).ok_or(Error::<T>::Overflow)?
            }
        };
        let id = NextModelId::<T>::get();
        let next = id.checked_add(1).ok_or(Error::<T>::Overflow)?;
        let deposit = T::ModelDeposit::get();
        T::Currency::hold(&HoldReason::ModelDeposit.into(), &who, deposit)?;
        let base = kind.base();
        Models::<T>::insert(
            id,
            Model {
                owner: who.clone(),
                kind,
                weights_hash,
                training_config_hash,
                trained_on: trained_on.clone(),
                price_per_1k_tokens,
                developer_share,
                metadata_uri,
                predecessor,
                version,
                status: ModelStatus::Active,
                registered_at: frame_system::Pallet::<T>::block_number(),
                deposit,
            },
        );
        ModelByWeights::<T>::insert(weights_hash, id);
        NextModelId::<T>::put(next);
        Self::deposit_event(Event::ModelRegistered {
            model: id,
            owner: who,
            base,
            weights_hash,
            trained_on: trained_on.into_inner(),
            predecessor,
            version,
        });
        Ok(id)
    }

    fn check_kind(kind: ModelKindArg) -> Result<ModelKind<T>, DispatchError> {
        match kind {
            ModelKindArg::Base => Ok(ModelKind::Base),
            ModelKindArg::Adapter { base, rank, alpha, target_modules } => {
                ensure!(rank > 0 && rank <= T::MaxAdapterRank::get(), Error::<T>::InvalidRank);
                ensure!(alpha > 0, Error::<T>::InvalidAlpha);
                ensure!(!target_modules.is_empty(), Error::<T>::NoTargetModules);
                ensure!(
                    target_modules.len() <= T::MaxTargetModules::get() as usize,
                    Error::<T>::TooManyTargetModules
                );
                let mut modules = BoundedVec::new();
                for name in target_modules {
                    ensure!(!name.is_empty(), Error::<T>::InvalidModuleName);
                    let name: BoundedVec<u8, T::MaxModuleNameLen> =
                        name.try_into().map_err(|_| Error::<T>::InvalidModuleName)?;
                    ensure!(!modules.contains(&name), Error::<T>::DuplicateTargetModule);
                    modules.try_push(name).map_err(|_| Error::<T>::TooManyTargetModules)?;
                }
                let b = Models::<T>::get(base).ok_or(Error::<T>::UnknownBase)?;
                ensure!(b.kind == ModelKind::Base, Error::<T>::BaseIsAdapter);
                ensure!(b.status == ModelStatus::Active, Error::<T>::BaseNotActive);
                Ok(ModelKind::Adapter { base, rank, alpha, target_modules: modules })
            }
        }
    }

    fn check_trained_on(
        who: &T::AccountId,
        trained_on: Vec<TrainedOn>,
    ) -> Result<BoundedVec<TrainedOn, T::MaxTrainedOn>, DispatchError> {
        let mut checked: BoundedVec<TrainedOn, T::MaxTrainedOn> = BoundedVec::new();
        for (datanet, version) in trained_on {
            ensure!(!checked.contains(&(datanet, version)), Error::<T>::DuplicateSnapshot);
            T::Datanets::can_use_snapshot(who, datanet, version).map_err(|e| match e {
                SnapshotAccessError::UnknownDatanet => Error::<T>::UnknownDatanet,
                SnapshotAccessError::UnknownSnapshot => Error::<T>::SnapshotNotFound,
                SnapshotAccessError::NoAccess => Error::<T>::NoSnapshotAccess,
            })?;
            checked.try_push((datanet, version)).map_err(|_| Error::<T>::TooManySnapshots)?;
        }
        Ok(checked)
    }

    /// Credits `amount` from `payer` to `model`'s holders; the body of
    /// [`ModelRevenue::distribute_to_holders`].
    fn do_distribute(
        model: ModelId,
        payer: &T::AccountId,
        amount: Balance,
    ) -> Result<Balance, DispatchError> {
        let Some(mut token) = Tokens::<T>::get(model) else { return Ok(0) };
        let circulating = token.state.sold;
        if amount == 0 || circulating == 0 {
            return Ok(0);
        }
        let pool = &mut token.revenue;
        let scaled = U256::from(amount)
            .checked_mul(U256::from(REVENUE_PRECISION))
            .and_then(|s| s.checked_add(pool.carry))
            .ok_or(Error::<T>::Overflow)?;
        let circ = U256::from(circulating);
        let delta = scaled.checked_div(circ).ok_or(Error::<T>::Overflow)?;
        let spread = delta.checked_mul(circ).ok_or(Error::<T>::Overflow)?;
        pool.carry = scaled.checked_sub(spread).ok_or(Error::<T>::Overflow)?;
        pool.per_token = pool.per_token.checked_add(delta).ok_or(Error::<T>::Overflow)?;
        // Every holding's `balance × per_token` must stay representable.
        U256::from(circulating).checked_mul(pool.per_token).ok_or(Error::<T>::Overflow)?;
        pool.received = pool.received.checked_add(amount).ok_or(Error::<T>::Overflow)?;
        T::Currency::transfer_and_hold(
            &HoldReason::HolderRevenue.into(),
            payer,
            &Self::token_account(model),
            amount,
            Precision::Exact,
            Preservation::Preserve,
            Fortitude::Polite,
        )?;
        Tokens::<T>::insert(model, token);
        Self::deposit_event(Event::RevenueDistributed {
            model,
            from: payer.clone(),
            amount,
            circulating,
        });
        Ok(amount)
    }

    /// A holder's claimable revenue now, in OPEN base units.
    fn pending_revenue(token: &Token<T>, h: &Holding) -> Balance {
        let mut h = h.clone();
        if Self::settle(&token.revenue, &mut h).is_err() {
            return 0;
        }
        h.owed
            .checked_div(U256::from(REVENUE_PRECISION))
            .and_then(|v| Balance::try_from(v).ok())
            .unwrap_or(0)
    }

    // ---- runtime API ----

    /// A model, for the runtime API.
    pub fn api_model(id: ModelId) -> Option<ModelInfo<T::AccountId, Balance, BlockNumberFor<T>>> {
        let m = Models::<T>::get(id)?;
        let kind = match &m.kind {
            ModelKind::Base => ModelKindInfo::Base,
            ModelKind::Adapter { base, rank, alpha, target_modules } => ModelKindInfo::Adapter {
                base: *base,
                rank: *rank,
                alpha: *alpha,
                target_modules: target_modules
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect(),
            },
        };
        Some(ModelInfo {
            id,
            owner: m.owner,
            kind,
            weights_hash: m.weights_hash,
            training_config_hash: m.training_config_hash,
            trained_on: m.trained_on.into_inner(),
            price_per_1k_tokens: m.price_per_1k_tokens,
            developer_share_ppm: m.developer_share.deconstruct(),
            metadata_uri: m.metadata_uri.into_inner(),
            predecessor: m.predecessor,
            version: m.version,
            status: m.status,
            registered_at: m.registered_at,
            has_token: Tokens::<T>::contains_key(id),
        })
    }

    /// The model registered with `weights_hash`.
    pub fn api_model_by_weights(weights_hash: ContentHash) -> Option<ModelId> {
        ModelByWeights::<T>::get(weights_hash)
    }

    /// A token, for the runtime API.
    pub fn api_token(
        model: ModelId,
    ) -> Option<TokenInfo<T::AccountId, Balance, BlockNumberFor<T>>> {
        let t = Tokens::<T>::get(model)?;
        Some(TokenInfo {
            model,
            account: Self::token_account(model),
            params: t.params,
            state: t.state,
            phase: t.phase,
            spot_price: t.params.spot_price(&t.state).unwrap_or(0),
            fee_ppm: t.fee.deconstruct(),
            holders: t.holders,
            revenue_received: t.revenue.received,
            revenue_claimed: t.revenue.claimed,
            launched_at: t.launched_at,
        })
    }

    fn quote_error(e: DispatchError) -> QuoteError {
        let is = |err: Error<T>| e == DispatchError::from(err);
        if is(Error::<T>::UnknownModel) || is(Error::<T>::NoToken) {
            QuoteError::NoToken
        } else if is(Error::<T>::CurveGraduated) {
            QuoteError::Graduated
        } else if is(Error::<T>::ModelNotActive) {
            QuoteError::ModelNotActive
        } else if is(Error::<T>::ExceedsCurveSupply) {
            QuoteError::Curve(CurveError::ExceedsCurveSupply)
        } else if is(Error::<T>::InsufficientTokens) {
            QuoteError::Curve(CurveError::ExceedsSold)
        } else if is(Error::<T>::ZeroAmount) || is(Error::<T>::BelowMinimumTrade) {
            QuoteError::Curve(CurveError::ZeroAmount)
        } else {
            QuoteError::Curve(CurveError::Overflow)
        }
    }

    /// What buying `tokens` costs now.
    pub fn api_quote_buy(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError> {
        Self::prepare_buy(model, tokens).map(|(_, t, _)| t).map_err(Self::quote_error)
    }

    /// What selling `tokens` pays now.
    pub fn api_quote_sell(model: ModelId, tokens: Balance) -> Result<Trade, QuoteError> {
        Self::prepare_sell(model, tokens).map(|(_, t, _)| t).map_err(Self::quote_error)
    }

    /// The most tokens `budget` OPEN (fee included) buys now.
    pub fn api_quote_spend(model: ModelId, budget: Balance) -> Result<Trade, QuoteError> {
        let m = Models::<T>::get(model).ok_or(QuoteError::NoToken)?;
        let t = Tokens::<T>::get(model).ok_or(QuoteError::NoToken)?;
        ensure!(m.status == ModelStatus::Active, QuoteError::ModelNotActive);
        ensure!(t.phase == TokenPhase::Trading, QuoteError::Graduated);
        // The curve amount c must satisfy c + ⌈c·fee⌉ ≤ budget: c = ⌊budget / (1 + fee)⌋.
        let one = U256::from(Permill::one().deconstruct());
        let curve_budget = U256::from(budget)
            .checked_mul(one)
            .and_then(|n| n.checked_div(one.checked_add(U256::from(t.fee.deconstruct()))?))
            .and_then(|c| Balance::try_from(c).ok())
            .ok_or(QuoteError::Curve(CurveError::Overflow))?;
        let (tokens, _) = t.params.tokens_for(&t.state, curve_budget).map_err(QuoteError::Curve)?;
        if tokens == 0 {
            return Err(QuoteError::Curve(CurveError::ZeroAmount));
        }
        Self::api_quote_buy(model, tokens)
    }

    /// `who`'s position in a model's token.
    pub fn api_holding(model: ModelId, who: T::AccountId) -> HoldingInfo<Balance> {
        match (Tokens::<T>::get(model), Holdings::<T>::get(model, &who)) {
            (Some(t), Some(h)) => {
                HoldingInfo { balance: h.balance, pending_revenue: Self::pending_revenue(&t, &h) }
            }
            _ => HoldingInfo { balance: 0, pending_revenue: 0 },
        }
    }

    /// Checks every invariant listed in the crate docs.
    #[cfg(any(test, feature = "try-runtime"))]
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        let mut deposits: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
        let next = NextModelId::<T>::get();
        for (id, m) in Models::<T>::iter() {
            ensure!(id < next, "a model id is at or above NextModelId");
            ensure!(ModelByWeights::<T>::get(m.weights_hash) == Some(id), "weights index mismatch");
            if m.status == ModelStatus::Deprecated {
                ensure!(m.deposit == 0, "a deprecated model still holds a deposit");
            }
            let d = deposits.entry(m.owner.clone()).or_default();
            *d = d.checked_add(m.deposit).ok_or("deposit overflow")?;
        }
        ensure!(
            ModelByWeights::<T>::iter().count() == Models::<T>::iter().count(),
            "weights index has stale entries"
        );
        for (owner, total) in deposits {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &owner) == total,
                "an owner's held deposit differs from its models' deposits"
            );
        }
        let p = U256::from(REVENUE_PRECISION);
        for (model, t) in Tokens::<T>::iter() {
            ensure!(Models::<T>::contains_key(model), "a token without a model");
            let account = Self::token_account(model);
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::CurveReserve.into(), &account)
                    == t.state.reserve,
                "held reserve differs from the curve's reserve"
            );
            let unclaimed =
                t.revenue.received.checked_sub(t.revenue.claimed).ok_or("claimed > received")?;
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::HolderRevenue.into(), &account)
                    == unclaimed,
                "held revenue differs from received − claimed"
            );
            ensure!(T::Currency::balance(&account) >= t.floor, "token account below its floor");
            let mut supply: Balance = 0;
            let mut owed = U256::zero();
            let mut holders: u32 = 0;
            for (_, h) in Holdings::<T>::iter_prefix(model) {
                supply = supply.checked_add(h.balance).ok_or("supply overflow")?;
                let mut h = h;
                Self::settle(&t.revenue, &mut h).map_err(|_| "settle overflow")?;
                owed = owed.checked_add(h.owed).ok_or("owed overflow")?;
                holders = holders.checked_add(1).ok_or("holders overflow")?;
            }
            ensure!(supply == t.state.sold, "holdings do not sum to the sold supply");
            ensure!(holders == t.holders, "holder count mismatch");
            let lhs = U256::from(t.revenue.received).checked_mul(p).ok_or("overflow")?;
            let rhs = U256::from(t.revenue.claimed)
                .checked_mul(p)
                .and_then(|c| c.checked_add(owed))
                .and_then(|c| c.checked_add(t.revenue.carry))
                .ok_or("overflow")?;
            ensure!(lhs == rhs, "revenue: received ≠ claimed + owed + carry");
            ensure!(t.state.sold <= t.params.curve_supply, "sold above the curve supply");
            let x = U256::from(t.params.virtual_native)
                .checked_add(U256::from(t.state.reserve))
                .ok_or("overflow")?;
            let y = t
                .params
                .virtual_tokens
                .checked_sub(t.state.sold)
                .ok_or("sold above virtual tokens")?;
            ensure!(
                x.full_mul(U256::from(y))
                    >= U256::from(t.params.virtual_native)
                        .full_mul(U256::from(t.params.virtual_tokens)),
                "x·y fell below k"
            );
            if t.phase == TokenPhase::Trading {
                ensure!(
                    !t.params.graduates_at(&t.state),
                    "a trading curve is at its graduation reserve"
                );
            }
        }
        for (model, _, _) in Holdings::<T>::iter() {
            ensure!(Tokens::<T>::contains_key(model), "a holding of a token that does not exist");
        }
        Ok(())
    }
}

impl<T: Config> ModelInspect<T::AccountId, Balance> for Pallet<T> {
    fn model(id: ModelId) -> Option<ModelView<T::AccountId, Balance>> {
        let m = Models::<T>::get(id)?;
        Some(ModelView {
            developer: m.owner,
            status: m.status,
            base: m.kind.base(),
            weights_hash: m.weights_hash,
            price_per_1k_tokens: m.price_per_1k_tokens,
            developer_share: m.developer_share,
            trained_on: m.trained_on.into_inner(),
        })
    }
}

impl<T: Config> ModelRevenue<T::AccountId, Balance> for Pallet<T> {
    fn has_holders(model: ModelId) -> bool {
        Tokens::<T>::get(model).is_some_and(|t| t.state.sold > 0)
    }

    fn distribute_to_holders(
        model: ModelId,
        payer: &T::AccountId,
        amount: Balance,
    ) -> Result<Balance, DispatchError> {
        Self::do_distribute(model, payer, amount)
    }
}
