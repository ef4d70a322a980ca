//! Read access for the runtime API, the pallet's invariants, and what other pallets see of
//! models (`ModelInspect`, `ModelRevenue`).

use crate::*;

impl<T: Config> Pallet<T> {
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

    pub(crate) fn quote_error(e: DispatchError) -> QuoteError {
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
        let mut adapters: BTreeMap<ModelId, u32> = BTreeMap::new();
        let next = NextModelId::<T>::get();
        for (id, m) in Models::<T>::iter() {
            ensure!(id < next, "a model id is at or above NextModelId");
            ensure!(ModelByWeights::<T>::get(m.weights_hash) == Some(id), "weights index mismatch");
            let d = deposits.entry(m.owner.clone()).or_default();
            *d = d.checked_add(m.deposit).ok_or("deposit overflow")?;
            if let ModelKind::Adapter { base, .. } = m.kind {
                ensure!(Models::<T>::contains_key(base), "an adapter's base is gone");
                let n = adapters.entry(base).or_default();
                *n = n.saturating_add(1);
            }
        }
        ensure!(
            AdapterCount::<T>::iter().collect::<BTreeMap<_, _>>() == adapters,
            "adapter counts differ from the adapters"
        );
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
            ensure!(t.params.curve_supply <= t.params.total_supply, "curve above the supply");
            if t.phase == TokenPhase::Trading {
                ensure!(
                    !t.params.graduates_at(&t.state),
                    "a trading curve is at its graduation reserve"
                );
                ensure!(!t.params.is_pool(), "a trading curve without virtual reserves");
            } else {
                ensure!(t.params.is_pool(), "a graduated token still on its launch curve");
                ensure!(t.state.reserve > 0, "a graduated pool's reserve emptied");
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
