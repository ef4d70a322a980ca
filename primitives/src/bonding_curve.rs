//! The model-token bonding curve: constant product over virtual reserves, in exact integer
//! maths.
//!
//! ## The curve
//!
//! A launched token has a fixed [`CurveParams::total_supply`]; [`CurveParams::curve_supply`]
//! of it is sold on the curve. The curve prices tokens as if it were a constant-product pool
//! holding `x = virtual_native + reserve` OPEN and `y = virtual_tokens - sold` tokens:
//!
//! - buying `a` tokens costs `⌈x·a / (y − a)⌉` OPEN;
//! - selling `a` tokens pays `⌊x·a / (y + a)⌋` OPEN.
//!
//! The virtual amounts set the starting price (`virtual_native / virtual_tokens` OPEN per
//! token) and how steeply it rises; they are never owned by anyone. `virtual_tokens` exceeds
//! `curve_supply`, so `y` never reaches zero and the price stays finite. This is the curve of
//! pump.fun and Virtuals.
//!
//! ## Why it is safe
//!
//! Rounding is always against the trader (costs up, proceeds down), so after every trade
//! `x·y` is at least what it was before, and at least `virtual_native · virtual_tokens`. Two
//! consequences, both checked by property tests:
//!
//! - the reserve always covers selling back every sold token (selling all brings `y` back to
//!   `virtual_tokens`, and `x·y ≥ k` then forces `x ≥ virtual_native`, i.e. `reserve ≥ 0`);
//! - a round trip never gains: selling what one just bought pays at most what it cost.
//!
//! ## Graduation: the curve becomes a pool
//!
//! When the reserve reaches [`CurveParams::graduation_reserve`] the virtual reserves go:
//! [`CurveParams::graduated`] gives the parameters of a plain constant-product pool holding the
//! real reserve `R` against `p = ⌊R·y/x⌋` tokens taken from the supply the curve never sold
//! (capped at it), so the pool opens at the curve's last price (rounded against the trader).
//! The same formulas then run with `virtual_native = 0` and `virtual_tokens = sold + p`: holders
//! can always sell into the reserve and anyone can buy from the pool, whose last token is
//! never for sale. Nobody owns the pool's liquidity, so nobody can withdraw it: the exit a
//! graduated token keeps is the reserve its own buyers paid in. The safety argument above holds
//! with `k = R·p`.
//!
//! Every product is taken in 256 bits, and every step is checked: a trade that would not fit
//! a `u128` is a [`CurveError::Overflow`], never a panic or a silent wrap.

use crate::Balance;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{sp_core::U256, sp_runtime::Permill};
use scale_info::TypeInfo;

/// One whole token (tokens have 18 decimals, like OPEN).
pub const TOKEN_UNIT: Balance = 1_000_000_000_000_000_000;

/// The fixed parameters of one token's curve, copied into the token at launch so that a later
/// runtime upgrade never changes a live curve.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CurveParams {
    /// Every token that will ever exist, in base units (10^-18 token).
    #[serde(with = "crate::serde_helpers::amount")]
    pub total_supply: Balance,
    /// The most tokens in circulation at once. On a launch curve, the part of the supply it
    /// sells; after graduation, the pool's tokens plus those sold, less one (the rest of the
    /// supply is never minted).
    #[serde(with = "crate::serde_helpers::amount")]
    pub curve_supply: Balance,
    /// The virtual OPEN side of the pool, in base units; zero once graduated.
    #[serde(with = "crate::serde_helpers::amount")]
    pub virtual_native: Balance,
    /// The virtual token side of the pool; greater than `curve_supply`.
    #[serde(with = "crate::serde_helpers::amount")]
    pub virtual_tokens: Balance,
    /// The reserve (in OPEN base units) at which the curve graduates into a pool (`u128::MAX`
    /// once it has).
    #[serde(with = "crate::serde_helpers::amount")]
    pub graduation_reserve: Balance,
}

/// Where a curve stands: tokens sold and OPEN held.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CurveState {
    /// Tokens sold and not sold back: the circulating supply.
    #[serde(with = "crate::serde_helpers::amount")]
    pub sold: Balance,
    /// OPEN paid in and not paid out, net of fees.
    #[serde(with = "crate::serde_helpers::amount")]
    pub reserve: Balance,
}

/// Why a curve computation has no answer.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum CurveError {
    /// The amount is zero.
    ZeroAmount,
    /// The parameters are inconsistent (see [`CurveParams::validate`]).
    InvalidParams,
    /// Buying that many would sell more than the curve's supply.
    ExceedsCurveSupply,
    /// Selling that many would sell back more than was sold.
    ExceedsSold,
    /// A result does not fit in 128 bits.
    Overflow,
}

/// The OPEN side of a trade: the curve's amount, the fee on it, and what the trader pays
/// (buy: `amount + fee`) or receives (sell: `amount − fee`).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Trade {
    /// Tokens bought or sold.
    #[serde(with = "crate::serde_helpers::amount")]
    pub tokens: Balance,
    /// OPEN into (buy) or out of (sell) the reserve.
    #[serde(with = "crate::serde_helpers::amount")]
    pub curve_amount: Balance,
    /// The trading fee, rounded up.
    #[serde(with = "crate::serde_helpers::amount")]
    pub fee: Balance,
    /// What the trader pays (buy) or receives (sell), fee included.
    #[serde(with = "crate::serde_helpers::amount")]
    pub trader_amount: Balance,
}

fn to_u128(v: U256) -> Result<Balance, CurveError> {
    Balance::try_from(v).map_err(|_| CurveError::Overflow)
}

fn mul(a: Balance, b: Balance) -> U256 {
    // A product of two u128 always fits in 256 bits: this never saturates.
    U256::from(a).saturating_mul(U256::from(b))
}

fn div(n: U256, d: U256) -> Result<U256, CurveError> {
    n.checked_div(d).ok_or(CurveError::InvalidParams)
}

impl CurveParams {
    /// Checks `0 < curve_supply ≤ total_supply`, `curve_supply < virtual_tokens`,
    /// `virtual_native > 0`, `0 < graduation_reserve` and that the curve reaches the graduation
    /// reserve before its supply runs out.
    pub fn validate(&self) -> Result<(), CurveError> {
        let ok = self.curve_supply > 0
            && self.curve_supply <= self.total_supply
            && self.curve_supply < self.virtual_tokens
            && self.virtual_native > 0
            && self.graduation_reserve > 0;
        if !ok {
            return Err(CurveError::InvalidParams);
        }
        let sold_out = self.buy_cost(&CurveState::default(), self.curve_supply)?;
        if sold_out < self.graduation_reserve {
            return Err(CurveError::InvalidParams);
        }
        Ok(())
    }

    /// `x` and `y` of the pool at `state`.
    fn pool(&self, state: &CurveState) -> Result<(Balance, Balance), CurveError> {
        let x = self.virtual_native.checked_add(state.reserve).ok_or(CurveError::Overflow)?;
        let y = self.virtual_tokens.checked_sub(state.sold).ok_or(CurveError::InvalidParams)?;
        Ok((x, y))
    }

    /// The OPEN that buying `tokens` adds to the reserve: `⌈x·a / (y − a)⌉`.
    pub fn buy_cost(&self, state: &CurveState, tokens: Balance) -> Result<Balance, CurveError> {
        if tokens == 0 {
            return Err(CurveError::ZeroAmount);
        }
        let after = state.sold.checked_add(tokens).ok_or(CurveError::ExceedsCurveSupply)?;
        if after > self.curve_supply {
            return Err(CurveError::ExceedsCurveSupply);
        }
        let (x, y) = self.pool(state)?;
        // y − a > 0 because sold + a ≤ curve_supply < virtual_tokens.
        let denominator =
            y.checked_sub(tokens).filter(|d| *d > 0).ok_or(CurveError::InvalidParams)?;
        let numerator = mul(x, tokens);
        let denominator = U256::from(denominator);
        let q = div(numerator, denominator)?;
        let r = numerator.saturating_sub(q.saturating_mul(denominator));
        let q =
            if r.is_zero() { q } else { q.checked_add(U256::one()).ok_or(CurveError::Overflow)? };
        let cost = to_u128(q)?;
        // The pool after the trade must still be representable, so that it can be sold back.
        x.checked_add(cost).ok_or(CurveError::Overflow)?;
        Ok(cost)
    }

    /// The OPEN that selling `tokens` takes out of the reserve: `⌊x·a / (y + a)⌋`.
    pub fn sell_proceeds(
        &self,
        state: &CurveState,
        tokens: Balance,
    ) -> Result<Balance, CurveError> {
        if tokens == 0 {
            return Err(CurveError::ZeroAmount);
        }
        if tokens > state.sold {
            return Err(CurveError::ExceedsSold);
        }
        let (x, y) = self.pool(state)?;
        let denominator =
            U256::from(y).checked_add(U256::from(tokens)).ok_or(CurveError::Overflow)?;
        let proceeds = to_u128(div(mul(x, tokens), denominator)?)?;
        // Never more than the reserve, even for states no trade sequence can reach.
        Ok(proceeds.min(state.reserve))
    }

    /// The most tokens that `budget` OPEN (curve amount, before fees) buys at `state`, and their
    /// exact cost (at most `budget`). Capped at the curve's remaining supply.
    pub fn tokens_for(
        &self,
        state: &CurveState,
        budget: Balance,
    ) -> Result<(Balance, Balance), CurveError> {
        if budget == 0 {
            return Err(CurveError::ZeroAmount);
        }
        let (x, y) = self.pool(state)?;
        let remaining =
            self.curve_supply.checked_sub(state.sold).ok_or(CurveError::InvalidParams)?;
        // The exact curve gives a = y·c / (x + c); cost rounds up, so step down until it fits.
        let denominator =
            U256::from(x).checked_add(U256::from(budget)).ok_or(CurveError::Overflow)?;
        let mut tokens = to_u128(div(mul(y, budget), denominator)?)?.min(remaining);
        // Rounding moves the answer by at most a couple of units; the bound keeps this finite.
        for _ in 0..4 {
            if tokens == 0 {
                return Ok((0, 0));
            }
            let cost = self.buy_cost(state, tokens)?;
            if cost <= budget {
                return Ok((tokens, cost));
            }
            tokens = tokens.saturating_sub(1);
        }
        Err(CurveError::Overflow)
    }

    /// The price of one whole token ([`TOKEN_UNIT`] base units) at the margin, in OPEN base
    /// units: `x · 10^18 / y`, rounded down.
    pub fn spot_price(&self, state: &CurveState) -> Result<Balance, CurveError> {
        let (x, y) = self.pool(state)?;
        if y == 0 {
            return Err(CurveError::InvalidParams);
        }
        to_u128(div(mul(x, TOKEN_UNIT), U256::from(y))?)
    }

    /// The parameters of the pool the curve becomes when it graduates at `state` (see the
    /// module docs): no virtual reserves, the reserve against `p = ⌊reserve·y/x⌋` tokens from
    /// the never-sold supply, and no further graduation. Refused when fewer than two tokens
    /// would be left for the pool.
    pub fn graduated(&self, state: &CurveState) -> Result<CurveParams, CurveError> {
        let (x, y) = self.pool(state)?;
        let unsold = self.total_supply.checked_sub(state.sold).ok_or(CurveError::InvalidParams)?;
        let pool_tokens = to_u128(div(mul(state.reserve, y), U256::from(x))?)?.min(unsold);
        if pool_tokens < 2 || state.reserve == 0 {
            return Err(CurveError::InvalidParams);
        }
        let virtual_tokens = state.sold.checked_add(pool_tokens).ok_or(CurveError::Overflow)?;
        Ok(CurveParams {
            total_supply: self.total_supply,
            // `y − a` stays positive: the pool's last token is never for sale.
            curve_supply: virtual_tokens.saturating_sub(1),
            virtual_native: 0,
            virtual_tokens,
            graduation_reserve: Balance::MAX,
        })
    }

    /// Whether these are the parameters of a graduated pool (no virtual OPEN).
    pub fn is_pool(&self) -> bool {
        self.virtual_native == 0
    }

    /// Whether the curve has reached its graduation reserve at `state`.
    pub fn graduates_at(&self, state: &CurveState) -> bool {
        state.reserve >= self.graduation_reserve
    }

    /// A buy of `tokens` with `fee`: what the trader pays and the state after.
    pub fn quote_buy(
        &self,
        state: &CurveState,
        tokens: Balance,
        fee: Permill,
    ) -> Result<(Trade, CurveState), CurveError> {
        let cost = self.buy_cost(state, tokens)?;
        let fee = fee_on(cost, fee);
        let trader_amount = cost.checked_add(fee).ok_or(CurveError::Overflow)?;
        let after = CurveState {
            sold: state.sold.checked_add(tokens).ok_or(CurveError::Overflow)?,
            reserve: state.reserve.checked_add(cost).ok_or(CurveError::Overflow)?,
        };
        Ok((Trade { tokens, curve_amount: cost, fee, trader_amount }, after))
    }

    /// A sell of `tokens` with `fee`: what the trader receives and the state after.
    pub fn quote_sell(
        &self,
        state: &CurveState,
        tokens: Balance,
        fee: Permill,
    ) -> Result<(Trade, CurveState), CurveError> {
        let proceeds = self.sell_proceeds(state, tokens)?;
        let fee = fee_on(proceeds, fee);
        // fee ≤ proceeds because a Permill is at most one.
        let trader_amount = proceeds.saturating_sub(fee);
        let after = CurveState {
            sold: state.sold.checked_sub(tokens).ok_or(CurveError::ExceedsSold)?,
            reserve: state.reserve.checked_sub(proceeds).ok_or(CurveError::Overflow)?,
        };
        Ok((Trade { tokens, curve_amount: proceeds, fee, trader_amount }, after))
    }
}

/// `share` of `amount`, rounded up (a fee is never rounded in the trader's favour).
pub fn fee_on(amount: Balance, share: Permill) -> Balance {
    share.mul_ceil(amount)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The runtime's parameters: 1B tokens, 800M on the curve, 10,000 OPEN virtual reserve.
    fn params() -> CurveParams {
        CurveParams {
            total_supply: 1_000_000_000 * TOKEN_UNIT,
            curve_supply: 800_000_000 * TOKEN_UNIT,
            virtual_native: 10_000 * TOKEN_UNIT,
            virtual_tokens: 1_073_000_000 * TOKEN_UNIT,
            graduation_reserve: 25_000 * TOKEN_UNIT,
        }
    }

    /// Valid-looking parameters: half drawn over the whole u128 range (where most trades
    /// overflow and must fail cleanly), half at realistic magnitudes (where they succeed).
    fn any_params() -> impl Strategy<Value = CurveParams> {
        let full = (1..=u128::MAX, 1..=u128::MAX, 1..=u128::MAX, 1..=u128::MAX);
        let realistic =
            (1..=10u128.pow(30), 1..=10u128.pow(30), 1..=10u128.pow(30), 1..=10u128.pow(30));
        prop_oneof![full, realistic].prop_map(|(a, b, v, g)| {
            let curve_supply = a.min(b);
            let virtual_tokens = a.max(b).max(curve_supply.saturating_add(1));
            let curve_supply = curve_supply.min(virtual_tokens - 1);
            CurveParams {
                total_supply: curve_supply,
                curve_supply,
                virtual_native: v,
                virtual_tokens,
                graduation_reserve: g,
            }
        })
    }

    /// The state reached from empty by buying `sold` tokens (or `None` if that overflows).
    fn reached(p: &CurveParams, sold: Balance) -> Option<CurveState> {
        if sold == 0 {
            return Some(CurveState::default());
        }
        let cost = p.buy_cost(&CurveState::default(), sold).ok()?;
        Some(CurveState { sold, reserve: cost })
    }

    #[test]
    fn runtime_parameters_are_valid_and_graduate_before_selling_out() {
        let p = params();
        p.validate().unwrap();
        let start = p.spot_price(&CurveState::default()).unwrap();
        // 10,000 / 1.073B OPEN per token, about 9.3 µOPEN.
        assert_eq!(start, 10_000 * TOKEN_UNIT / 1_073_000_000);
        let all = p.buy_cost(&CurveState::default(), p.curve_supply).unwrap();
        assert!(all > p.graduation_reserve);
    }

    #[test]
    fn hand_computed_trade() {
        // x = 100, y = 1_000: buying 100 costs ⌈100·100/900⌉ = 12; selling them back pays
        // ⌊112·100/1000⌋ = 11.
        let p = CurveParams {
            total_supply: 500,
            curve_supply: 500,
            virtual_native: 100,
            virtual_tokens: 1_000,
            graduation_reserve: 50,
        };
        let s = CurveState::default();
        assert_eq!(p.buy_cost(&s, 100), Ok(12));
        let s = CurveState { sold: 100, reserve: 12 };
        assert_eq!(p.sell_proceeds(&s, 100), Ok(11));
        assert_eq!(p.buy_cost(&s, 401), Err(CurveError::ExceedsCurveSupply));
        assert_eq!(p.sell_proceeds(&s, 101), Err(CurveError::ExceedsSold));
        assert_eq!(p.buy_cost(&s, 0), Err(CurveError::ZeroAmount));
        let (trade, after) = p.quote_buy(&s, 100, Permill::from_percent(1)).unwrap();
        // ⌈112·100/800⌉ = 14, fee ⌈0.14⌉ = 1.
        assert_eq!(trade, Trade { tokens: 100, curve_amount: 14, fee: 1, trader_amount: 15 });
        assert_eq!(after, CurveState { sold: 200, reserve: 26 });
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let mut p = params();
        p.curve_supply = p.virtual_tokens;
        assert_eq!(p.validate(), Err(CurveError::InvalidParams));
        let mut p = params();
        p.graduation_reserve = u128::MAX;
        assert_eq!(p.validate(), Err(CurveError::InvalidParams));
        let mut p = params();
        p.virtual_native = 0;
        assert_eq!(p.validate(), Err(CurveError::InvalidParams));
    }

    /// The runtime curve bought up to graduation, and the pool it becomes.
    fn graduated_runtime_curve() -> (CurveParams, CurveParams, CurveState) {
        let p = params();
        let (sold, _) = p.tokens_for(&CurveState::default(), p.graduation_reserve).unwrap();
        let s = reached(&p, sold + 1).unwrap();
        assert!(p.graduates_at(&s));
        (p, p.graduated(&s).unwrap(), s)
    }

    #[test]
    fn a_graduated_curve_becomes_a_pool_at_its_last_price_and_keeps_an_exit() {
        let (curve, pool, s) = graduated_runtime_curve();
        assert!(pool.is_pool() && !curve.is_pool());
        assert!(!pool.graduates_at(&s), "a pool never graduates again");
        // It opens at the curve's last price, rounded against the trader by at most 1e-9.
        let (last, first) = (curve.spot_price(&s).unwrap(), pool.spot_price(&s).unwrap());
        assert!(first >= last && first - last <= last / 1_000_000_000, "{last} → {first}");
        // Its tokens come from the supply the curve never sold: nothing is minted beyond it.
        let pool_tokens = pool.virtual_tokens - s.sold;
        assert!(pool.virtual_tokens <= curve.total_supply);
        // About 219M of the 234M never sold (25,000 OPEN at about 1.14e-4 OPEN per token).
        assert_eq!(pool_tokens / TOKEN_UNIT / 1_000_000, 218);
        // Every holder together can sell everything into the reserve, for most of it.
        let all = pool.sell_proceeds(&s, s.sold).unwrap();
        assert!(all < s.reserve && all > s.reserve / 2, "{all} of {}", s.reserve);
        // Anyone can buy, but never the pool's last token.
        assert!(pool.buy_cost(&s, pool_tokens / 2).is_ok());
        assert_eq!(pool.buy_cost(&s, pool_tokens), Err(CurveError::ExceedsCurveSupply));
        // Buying 99% of it costs 99 times the reserve: the price runs away as the pool empties.
        let most = pool_tokens / 100 * 99;
        assert!(pool.buy_cost(&s, most).unwrap() / s.reserve == 98);
    }

    #[test]
    fn graduating_an_empty_or_sold_out_curve_is_refused() {
        let p = params();
        assert_eq!(p.graduated(&CurveState::default()), Err(CurveError::InvalidParams));
        let sold_out = CurveState { sold: p.total_supply, reserve: p.graduation_reserve };
        assert_eq!(p.graduated(&sold_out), Err(CurveError::InvalidParams));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// After graduation, any sequence of trades keeps `x·y ≥ R·p`, the reserve covers
        /// selling every token in circulation, and a round trip never gains.
        #[test]
        fn a_graduated_pool_stays_solvent(
            extra in 0..30_000_000u128,
            trades in proptest::collection::vec((any::<bool>(), 1..=u128::MAX), 1..20),
        ) {
            let (curve, pool, graduated_at) = graduated_runtime_curve();
            // Graduation may happen anywhere past the threshold (the last buy overshoots).
            let s0 = reached(&curve, graduated_at.sold + extra * TOKEN_UNIT).unwrap();
            let pool = if extra == 0 { pool } else { curve.graduated(&s0).unwrap() };
            let (x0, y0) = pool.pool(&s0).unwrap();
            let k = U256::from(x0).full_mul(U256::from(y0));
            let mut s = s0;
            for (is_buy, a) in trades {
                let a = if is_buy { a % (pool.curve_supply - s.sold + 1) } else { a % (s.sold + 1) };
                let next = if is_buy {
                    pool.quote_buy(&s, a, Permill::zero())
                } else {
                    pool.quote_sell(&s, a, Permill::zero())
                };
                if let Ok((trade, n)) = next {
                    if is_buy {
                        let back = pool.sell_proceeds(&n, a).unwrap();
                        prop_assert!(back <= trade.curve_amount);
                    }
                    s = n;
                }
                let (x, y) = pool.pool(&s).unwrap();
                prop_assert!(U256::from(x).full_mul(U256::from(y)) >= k);
                prop_assert!(s.sold <= curve.total_supply);
                if s.sold > 0 {
                    prop_assert!(pool.sell_proceeds(&s, s.sold).unwrap() < s.reserve);
                }
            }
        }

        /// Buying then selling the same amount never pays back more than it cost.
        #[test]
        fn round_trip_never_gains(p in any_params(), sold in any::<u128>(), a in 1..=u128::MAX) {
            let sold = sold % p.curve_supply;
            let Some(s) = reached(&p, sold) else { return Ok(()) };
            let a = 1 + a % (p.curve_supply - sold);
            if let Ok(cost) = p.buy_cost(&s, a) {
                let after = CurveState { sold: s.sold + a, reserve: s.reserve + cost };
                let back = p.sell_proceeds(&after, a).unwrap();
                prop_assert!(back <= cost, "paid {cost}, got back {back}");
            }
        }

        /// Spending x OPEN on tokens and selling them returns at most x, fees or not.
        #[test]
        fn spend_then_sell_returns_at_most_the_budget(
            sold in 0..800_000_000u128,
            budget in 1..=1_000_000u128,
            fee in 0..=100_000u32,
        ) {
            let p = params();
            let s = reached(&p, sold * TOKEN_UNIT).unwrap();
            let budget = budget * TOKEN_UNIT / 1_000;
            let fee = Permill::from_parts(fee);
            let (tokens, cost) = p.tokens_for(&s, budget).unwrap();
            prop_assert!(cost <= budget);
            if tokens > 0 {
                let (buy, after) = p.quote_buy(&s, tokens, fee).unwrap();
                prop_assert_eq!(buy.curve_amount, cost);
                let (sell, _) = p.quote_sell(&after, tokens, fee).unwrap();
                prop_assert!(sell.trader_amount <= buy.trader_amount);
                // One more token would not have fitted the budget.
                if s.sold + tokens < p.curve_supply {
                    prop_assert!(p.buy_cost(&s, tokens + 1).unwrap() > budget);
                }
            }
        }

        /// After any sequence of trades the reserve covers selling every sold token, and the
        /// product x·y never falls below k.
        #[test]
        fn reserve_covers_selling_everything(
            p in any_params(),
            trades in proptest::collection::vec((any::<bool>(), 1..=u128::MAX), 1..20),
        ) {
            let k = U256::from(p.virtual_native).full_mul(U256::from(p.virtual_tokens));
            let mut s = CurveState::default();
            for (is_buy, a) in trades {
                let next = if is_buy {
                    let a = a % (p.curve_supply - s.sold + 1);
                    p.quote_buy(&s, a, Permill::zero()).map(|(_, n)| n)
                } else {
                    let a = a % (s.sold + 1);
                    p.quote_sell(&s, a, Permill::zero()).map(|(_, n)| n)
                };
                if let Ok(n) = next {
                    s = n;
                }
                let (x, y) = p.pool(&s).unwrap();
                prop_assert!(U256::from(x).full_mul(U256::from(y)) >= k);
                if s.sold > 0 {
                    let all = p.sell_proceeds(&s, s.sold).unwrap();
                    prop_assert!(all <= s.reserve);
                    // And it is the clamp-free answer: the invariant, not the clamp, holds it.
                    let exact = U256::from(x).full_mul(U256::from(s.sold))
                        / (U256::from(y) + U256::from(s.sold)).full_mul(U256::one());
                    prop_assert!(exact <= U256::from(s.reserve).full_mul(U256::one()));
                }
            }
        }

        /// No input panics: every computation returns a value or an error, over all of u128.
        #[test]
        fn no_panics_anywhere(
            p in (any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>(), any::<u128>()),
            s in (any::<u128>(), any::<u128>()),
            a in any::<u128>(),
            fee in any::<u32>(),
        ) {
            let p = CurveParams {
                total_supply: p.0,
                curve_supply: p.1,
                virtual_native: p.2,
                virtual_tokens: p.3,
                graduation_reserve: p.4,
            };
            let s = CurveState { sold: s.0, reserve: s.1 };
            let fee = Permill::from_parts(fee);
            let _ = p.validate();
            let _ = p.buy_cost(&s, a);
            let _ = p.sell_proceeds(&s, a);
            let _ = p.tokens_for(&s, a);
            let _ = p.spot_price(&s);
            let _ = p.quote_buy(&s, a, fee);
            let _ = p.quote_sell(&s, a, fee);
        }

        /// Near the top of the range, trades that do not fit are errors, not wraps.
        #[test]
        fn huge_trades_overflow_cleanly(a in (u128::MAX / 2 + 2)..=u128::MAX) {
            let p = CurveParams {
                total_supply: u128::MAX,
                curve_supply: u128::MAX - 1,
                virtual_native: u128::MAX,
                virtual_tokens: u128::MAX,
                graduation_reserve: 1,
            };
            let r = p.buy_cost(&CurveState::default(), a.min(u128::MAX - 1));
            prop_assert_eq!(r, Err(CurveError::Overflow));
        }

        /// The price rises with supply: the spot price, and the cost of the same purchase.
        #[test]
        fn prices_rise_with_supply(
            p in any_params(),
            s1 in any::<u128>(),
            s2 in any::<u128>(),
            a in 1..=u128::MAX,
        ) {
            let (lo, hi) = (s1.min(s2) % p.curve_supply, s1.max(s2) % p.curve_supply);
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            let (Some(a_state), Some(b_state)) = (reached(&p, lo), reached(&p, hi)) else {
                return Ok(());
            };
            if let (Ok(p1), Ok(p2)) = (p.spot_price(&a_state), p.spot_price(&b_state)) {
                prop_assert!(p1 <= p2);
            }
            let a = a % (p.curve_supply - hi).max(1);
            if a > 0 {
                if let (Ok(c1), Ok(c2)) = (p.buy_cost(&a_state, a), p.buy_cost(&b_state, a)) {
                    prop_assert!(c1 <= c2, "cost {c1} at {lo} but {c2} at {hi}");
                }
            }
        }
    }
}
