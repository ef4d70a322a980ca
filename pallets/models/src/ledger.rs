//! Registration, the bonding curve's trades, holdings and holder revenue: what the calls do.

use crate::*;

impl<T: Config> Pallet<T> {
    /// The keyless account of a model's token: it holds the reserve and holder revenue.
    pub fn token_account(model: ModelId) -> T::AccountId {
        T::PalletId::get().into_sub_account_truncating(model)
    }

    pub(crate) fn owned(model: ModelId, who: &T::AccountId) -> Result<Model<T>, DispatchError> {
        let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
        ensure!(&m.owner == who, Error::<T>::NotOwner);
        Ok(m)
    }

    pub(crate) fn ensure_deadline(deadline: BlockNumberFor<T>) -> DispatchResult {
        ensure!(frame_system::Pallet::<T>::block_number() <= deadline, Error::<T>::DeadlinePassed);
        Ok(())
    }

    pub(crate) fn curve_error(e: CurveError) -> Error<T> {
        match e {
            CurveError::ZeroAmount => Error::<T>::ZeroAmount,
            CurveError::ExceedsCurveSupply => Error::<T>::ExceedsCurveSupply,
            CurveError::ExceedsSold => Error::<T>::InsufficientTokens,
            CurveError::InvalidParams => Error::<T>::InvalidCurve,
            CurveError::Overflow => Error::<T>::Overflow,
        }
    }

    /// The checks and the quote of a buy, shared by `buy` and the quote API.
    pub(crate) fn prepare_buy(
        model: ModelId,
        tokens: Balance,
    ) -> Result<(Token<T>, Trade, CurveState), DispatchError> {
        let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
        let token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
        ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        let (trade, after) =
            token.params.quote_buy(&token.state, tokens, token.fee).map_err(Self::curve_error)?;
        ensure!(trade.curve_amount >= T::MinTradeValue::get(), Error::<T>::BelowMinimumTrade);
        Ok((token, trade, after))
    }

    /// The checks and the quote of a sell, shared by `sell` and the quote API.
    pub(crate) fn prepare_sell(
        model: ModelId,
        tokens: Balance,
    ) -> Result<(Token<T>, Trade, CurveState), DispatchError> {
        ensure!(Models::<T>::contains_key(model), Error::<T>::UnknownModel);
        let token = Tokens::<T>::get(model).ok_or(Error::<T>::NoToken)?;
        let (trade, after) =
            token.params.quote_sell(&token.state, tokens, token.fee).map_err(Self::curve_error)?;
        ensure!(trade.curve_amount >= T::MinTradeValue::get(), Error::<T>::BelowMinimumTrade);
        Ok((token, trade, after))
    }

    /// Turns a curve that reached its graduation reserve into its pool (`token.state` is the
    /// state after the graduating buy). Launch parameters are validated so that this always
    /// has an answer; should it not, the curve keeps trading as it is (an exit either way).
    pub(crate) fn graduate(model: ModelId, token: &mut Token<T>) {
        match token.params.graduated(&token.state) {
            Ok(pool) => {
                token.params = pool;
                token.phase =
                    TokenPhase::Graduated { at: frame_system::Pallet::<T>::block_number() };
                Self::deposit_event(Event::Graduated {
                    model,
                    reserve: token.state.reserve,
                    sold: token.state.sold,
                    pool_tokens: pool.virtual_tokens.saturating_sub(token.state.sold),
                });
            }
            Err(e) => {
                log::error!(target: LOG_TARGET, "token {model} cannot graduate: {e:?}");
            }
        }
    }

    /// Moves the revenue accrued on `h` since it was last settled into `h.owed`.
    pub(crate) fn settle(pool: &RevenuePool, h: &mut Holding) -> DispatchResult {
        let accrued =
            U256::from(h.balance).checked_mul(pool.per_token).ok_or(Error::<T>::Overflow)?;
        let fresh = accrued.checked_sub(h.debt).ok_or(Error::<T>::Overflow)?;
        h.owed = h.owed.checked_add(fresh).ok_or(Error::<T>::Overflow)?;
        h.debt = accrued;
        Ok(())
    }

    /// Settles `who`'s holding, applies `change` to its balance and stores it.
    pub(crate) fn change_holding(
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
        ensure!(h.balance == 0 || h.balance >= T::MinHolding::get(), Error::<T>::BelowMinHolding);
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
    pub(crate) fn store_holding(
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

    /// Registers a model; the body of `register_model` and `register_model_committed`, also
    /// used at genesis. `priority` is the block of the revealed commitment, if any.
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
        priority: Option<BlockNumberFor<T>>,
    ) -> Result<ModelId, DispatchError> {
        let metadata_uri =
            BoundedVec::try_from(metadata_uri).map_err(|_| Error::<T>::UriTooLong)?;
        let kind = Self::check_kind(kind)?;
        let trained_on = Self::check_trained_on(&who, trained_on)?;
        let now = frame_system::Pallet::<T>::block_number();
        let priority = priority.unwrap_or(now);
        if let Some(existing) = ModelByWeights::<T>::get(weights_hash) {
            let m = Models::<T>::get(existing).ok_or(Error::<T>::UnknownModel)?;
            // Only an older commitment wins the weights from a registration.
            ensure!(priority < m.priority, Error::<T>::WeightsAlreadyRegistered);
            if Self::has_dependents(existing) {
                let terms = (price_per_1k_tokens, developer_share, metadata_uri);
                return Self::take_over(existing, m, who, terms, priority);
            }
            let owner = m.owner.clone();
            Self::remove_unchecked(existing, m)?;
            Self::deposit_event(Event::ModelDisplaced { model: existing, owner, by: who.clone() });
        }
        let version = match predecessor {
            None => 1,
            Some(p) => {
                let pm = Models::<T>::get(p).ok_or(Error::<T>::UnknownPredecessor)?;
                ensure!(pm.owner == who, Error::<T>::NotOwner);
                pm.version.checked_add(1).ok_or(Error::<T>::Overflow)?
            }
        };
        let id = NextModelId::<T>::get();
        let next = id.checked_next().ok_or(Error::<T>::Overflow)?;
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
                registered_at: now,
                deposit,
                priority,
            },
        );
        ModelByWeights::<T>::insert(weights_hash, id);
        NextModelId::<T>::put(next);
        // Its provenance keeps the datanets it was trained on from being destroyed, and an
        // adapter keeps its base.
        for datanet in Self::datanets_of(&trained_on) {
            T::Datanets::use_snapshots(datanet);
        }
        if let Some(base) = base {
            AdapterCount::<T>::mutate(base, |n| *n = n.saturating_add(1));
        }
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

    /// Removes a deprecated model that nothing depends on; the body of `remove_model`.
    pub(crate) fn do_remove(model: ModelId, m: Model<T>) -> DispatchResult {
        ensure!(m.status == ModelStatus::Deprecated, Error::<T>::NotDeprecated);
        ensure!(!Tokens::<T>::contains_key(model), Error::<T>::HasToken);
        ensure!(AdapterCount::<T>::get(model) == 0, Error::<T>::HasAdapters);
        ensure!(!T::Usage::in_use(model), Error::<T>::ModelInUse);
        let (owner, deposit) = (m.owner.clone(), m.deposit);
        Self::remove_unchecked(model, m)?;
        Self::deposit_event(Event::ModelRemoved { model, owner, deposit_released: deposit });
        Ok(())
    }

    /// Whether anything depends on `model`: its token (and holders), adapters over it, or
    /// receipts stored outside this pallet.
    pub(crate) fn has_dependents(model: ModelId) -> bool {
        Tokens::<T>::contains_key(model)
            || AdapterCount::<T>::get(model) > 0
            || T::Usage::in_use(model)
    }

    /// Hands `model` to an earlier committer `to`, with the economic terms `to` revealed
    /// (price, developer share, metadata); the deposit hold moves from the owner to `to`.
    pub(crate) fn take_over(
        model: ModelId,
        mut m: Model<T>,
        to: T::AccountId,
        (price, share, metadata_uri): (Balance, Permill, BoundedVec<u8, T::MaxUriLen>),
        priority: BlockNumberFor<T>,
    ) -> Result<ModelId, DispatchError> {
        let deposit = T::ModelDeposit::get();
        T::Currency::hold(&HoldReason::ModelDeposit.into(), &to, deposit)?;
        if m.deposit > 0 {
            T::Currency::release(
                &HoldReason::ModelDeposit.into(),
                &m.owner,
                m.deposit,
                Precision::Exact,
            )?;
        }
        let from = core::mem::replace(&mut m.owner, to.clone());
        m.deposit = deposit;
        m.price_per_1k_tokens = price;
        m.developer_share = share;
        m.metadata_uri = metadata_uri;
        m.priority = priority;
        Models::<T>::insert(model, m);
        Self::deposit_event(Event::ModelTakenOver { model, from, to });
        Ok(model)
    }

    /// Removes a model's record, its weights index entry and what it counted against (its
    /// training datanets, its base), and releases its deposit. Checks nothing.
    pub(crate) fn remove_unchecked(model: ModelId, m: Model<T>) -> DispatchResult {
        if m.deposit > 0 {
            T::Currency::release(
                &HoldReason::ModelDeposit.into(),
                &m.owner,
                m.deposit,
                Precision::Exact,
            )?;
        }
        if ModelByWeights::<T>::get(m.weights_hash) == Some(model) {
            ModelByWeights::<T>::remove(m.weights_hash);
        }
        for datanet in Self::datanets_of(&m.trained_on) {
            T::Datanets::release_snapshots(datanet);
        }
        if let ModelKind::Adapter { base, .. } = m.kind {
            AdapterCount::<T>::mutate_exists(base, |n| {
                *n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
            });
        }
        Models::<T>::remove(model);
        Ok(())
    }

    /// The distinct datanets of a model's training snapshots, ascending.
    pub(crate) fn datanets_of(trained_on: &[TrainedOn]) -> Vec<DatanetId> {
        let mut datanets: Vec<DatanetId> = trained_on.iter().map(|(d, _)| *d).collect();
        datanets.sort_unstable();
        datanets.dedup();
        datanets
    }

    pub(crate) fn check_kind(kind: ModelKindArg) -> Result<ModelKind<T>, DispatchError> {
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

    pub(crate) fn check_trained_on(
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
    pub(crate) fn do_distribute(
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
    pub(crate) fn pending_revenue(token: &Token<T>, h: &Holding) -> Balance {
        let mut h = h.clone();
        if Self::settle(&token.revenue, &mut h).is_err() {
            return 0;
        }
        h.owed
            .checked_div(U256::from(REVENUE_PRECISION))
            .and_then(|v| Balance::try_from(v).ok())
            .unwrap_or(0)
    }
}
