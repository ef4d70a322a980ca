//! Checking one receipt of a `submit_receipts` call, without effects.
//!
//! What every receipt of one model (and retrieval) shares in a call is read once per call and
//! kept in a [`CallCache`]: the model (its status, price, developer and share), the snapshots
//! it and its base declare, whether the operator may use the retrieved snapshot, and whether
//! its token has holders; so is the hash of each voucher anchor. Receipts change none of these
//! (they charge users and credit payees), so a receipt checked with the cache is checked
//! exactly as without it. The benchmarks measure a call of receipts of one shape, and
//! `submit_receipts_models` what each further shape costs.

use crate::*;
use provena_primitives::{models::ModelView, DatanetId, SnapshotVersion};

/// A receipt's pieces as checked, before any effect.
pub(crate) struct Checked<T: Config> {
    pub input: Submission<T>,
    /// The held max fee of a prepaid voucher, released at submission.
    pub prepaid: Option<Balance>,
    pub fee: Balance,
    pub payouts: Vec<(PayeeOf<T>, Balance)>,
}

/// What the receipts of one model and retrieval share.
pub(crate) struct Shape<T: Config> {
    model: ModelView<T::AccountId, Balance>,
    /// The snapshots the model (and, for an adapter, its base) declares, and the retrieved one.
    declared: Vec<(DatanetId, SnapshotVersion)>,
    /// Whether the model's token has holders (who then get the holders' part).
    holders: bool,
}

/// A receipt's model and retrieval, which decide its [`Shape`].
type ShapeKey = (ModelId, Option<(DatanetId, SnapshotVersion)>);

/// The shapes and anchor hashes one call has read (see the module docs).
pub(crate) struct CallCache<T: Config> {
    shapes: BTreeMap<ShapeKey, Result<Shape<T>, DispatchError>>,
    anchors: BTreeMap<BlockNumberFor<T>, ContentHash>,
}

impl<T: Config> Default for CallCache<T> {
    fn default() -> Self {
        Self { shapes: BTreeMap::new(), anchors: BTreeMap::new() }
    }
}

impl<T: Config> Pallet<T> {
    /// The shape of receipts for `model` retrieving from `retrieved_from`, served by `operator`.
    fn shape(
        operator: &T::AccountId,
        model_id: ModelId,
        retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    ) -> Result<Shape<T>, DispatchError> {
        let model = T::Models::model(model_id).ok_or(Error::<T>::UnknownModel)?;
        ensure!(model.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        ensure!(T::Agents::is_active(operator, Some(model_id)), Error::<T>::ModelNotServed);
        let mut declared = model.trained_on.clone();
        if let Some(base) = model.base {
            declared.extend(T::Models::trained_on(base));
        }
        if let Some((d, v)) = retrieved_from {
            T::Datanets::can_use_snapshot(operator, d, v)
                .map_err(|_| Error::<T>::RetrievalNotAllowed)?;
            declared.push((d, v));
        }
        Ok(Shape { model, declared, holders: T::Models::has_holders(model_id) })
    }

    /// Checks one receipt of `batch` without effects, reading what its shape shares through
    /// `cache`.
    pub(crate) fn check(
        batch: &ledger::Batch<T>,
        cache: &mut CallCache<T>,
        input: Submission<T>,
    ) -> Result<Checked<T>, DispatchError> {
        ensure!(
            input.attribution.len() <= T::MaxEntries::get() as usize,
            Error::<T>::TooManyEntries
        );
        let v = &input.voucher;
        ensure!(v.operator == batch.operator, Error::<T>::WrongOperator);
        ensure!(v.model == input.model, Error::<T>::ModelMismatch);
        ensure!(batch.now <= v.expires_at, Error::<T>::VoucherExpired);
        // A spent voucher is remembered (and its receipt kept) until it expires: a bounded time.
        ensure!(
            v.expires_at <= batch.now.saturating_add(T::MaxVoucherLifetime::get()),
            Error::<T>::VoucherTooLong
        );
        let prepaid = match &input.auth {
            Authorization::Job => None,
            Authorization::Signed(signature) => {
                ensure!(
                    !UsedVouchers::<T>::contains_key(&input.user, v.request_id),
                    Error::<T>::VoucherAlreadyUsed
                );
                // Checked above: the anchor is before `now`.
                let anchor = Self::known_anchor(v, batch.now).ok_or(Error::<T>::VoucherTooLong)?;
                let hash = *cache.anchors.entry(anchor).or_insert_with(|| Self::hash_of(anchor));
                let payload = voucher_payload(&batch.genesis, &hash, v);
                ensure!(signature.verify(&payload[..], &input.user), Error::<T>::BadSignature);
                None
            }
            Authorization::Prepaid => {
                // Redeeming removes a prepaid voucher, but a signed receipt may have spent the
                // same request id while it was held (the hold then waits for its expiry).
                ensure!(
                    !UsedVouchers::<T>::contains_key(&input.user, v.request_id),
                    Error::<T>::VoucherAlreadyUsed
                );
                let p = PrepaidVouchers::<T>::get(&input.user, v.request_id)
                    .ok_or(Error::<T>::NotPrepaid)?;
                ensure!(&p == v, Error::<T>::PrepaidMismatch);
                Some(p.max_fee)
            }
        };
        let shape = cache
            .shapes
            .entry((input.model, input.retrieved_from))
            .or_insert_with(|| Self::shape(&batch.operator, input.model, input.retrieved_from))
            .as_ref()
            .map_err(|e| *e)?;
        let model = &shape.model;
        let tokens = u128::from(input.input_tokens).saturating_add(u128::from(input.output_tokens));
        let fee = provena_primitives::attribution::fee_for(model.price_per_1k_tokens, tokens)
            .ok_or(Error::<T>::Overflow)?;
        ensure!(fee <= v.max_fee, Error::<T>::FeeAboveMax);
        // A free receipt would take epoch capacity and state for nothing.
        ensure!(fee > 0, Error::<T>::ZeroFee);

        let mut weights = Vec::with_capacity(input.attribution.len().saturating_add(1));
        let mut seen = alloc::collections::BTreeSet::new();
        let mut earning = Vec::with_capacity(input.attribution.len());
        for (contribution, weight) in &input.attribution {
            ensure!(seen.insert(*contribution), Error::<T>::DuplicateContribution);
            let view =
                T::Datanets::contribution(*contribution).ok_or(Error::<T>::UnknownContribution)?;
            // The contribution knows the snapshots that hold it: no member list is read.
            let found = view.snapshots.is_some_and(|span| {
                shape.declared.iter().any(|(d, v)| *d == view.datanet && span.contains(*v))
            });
            ensure!(found, Error::<T>::ContributionNotInModelSnapshots);
            weights.push(*weight);
            earning.push(view.status.is_earning());
        }
        // The pool's part is one more weight after the contributions'.
        if let Some((datanet, weight)) = input.pool {
            ensure!(shape.declared.iter().any(|(d, _)| *d == datanet), Error::<T>::PoolNotDeclared);
            weights.push(weight);
        }
        let split = split_fee(fee, &T::Shares::get(), model.developer_share, &weights)
            .map_err(|_| Error::<T>::WeightsNotNormalized)?;
        let mut payouts: Vec<(PayeeOf<T>, Balance)> =
            Vec::with_capacity(input.attribution.len().saturating_add(5));
        let mut to_treasury = split.treasury;
        for (((contribution, _), part), earns) in
            input.attribution.iter().zip(&split.contributors).zip(&earning)
        {
            if *earns {
                payouts.push((Payee::Contribution(*contribution), *part));
            } else {
                to_treasury = to_treasury.checked_add(*part).ok_or(Error::<T>::Overflow)?;
            }
        }
        if let (Some((datanet, _)), Some(part)) =
            (input.pool, split.contributors.get(input.attribution.len()))
        {
            payouts.push((Payee::DatanetPool(datanet), *part));
        }
        payouts.push((Payee::Account(T::Treasury::get()), to_treasury));
        // The operator is an agent: its share is paid to it and its stakers.
        payouts.push((Payee::Agent(batch.operator.clone()), split.operator));
        // The holders' part belongs to whoever holds the token now: it is distributed to them
        // when credited (see `credit`). With nobody holding the token, it is the developer's.
        let holders = if shape.holders {
            Payee::ModelHolders(input.model)
        } else {
            Payee::Account(model.developer.clone())
        };
        payouts.push((Payee::Account(model.developer.clone()), split.developer));
        payouts.push((holders, split.holders));
        payouts.retain(|(_, amount)| *amount > 0);
        Ok(Checked { input, prepaid, fee, payouts })
    }
}
