//! The ledger: checking receipts, charging and splitting fees, crediting payees, epochs and
//! payouts.

use crate::*;

/// A receipt's pieces as checked, before any effect.
struct Checked<T: Config> {
    input: Submission<T>,
    /// The held max fee of a prepaid voucher, released at submission.
    prepaid: Option<Balance>,
    fee: Balance,
    payouts: Vec<(PayeeOf<T>, Balance)>,
}

impl<T: Config> Pallet<T> {
    /// The account that holds fees until they are paid out.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    pub(crate) fn epoch_of(n: BlockNumberFor<T>) -> EpochIndex {
        let n: u64 = n.unique_saturated_into();
        let length: u64 = T::EpochLength::get().unique_saturated_into();
        n.checked_div(length).unwrap_or(0).unique_saturated_into()
    }

    /// Whether block `n` starts a new epoch (and so closes the previous one).
    pub(crate) fn starts_epoch(n: BlockNumberFor<T>) -> bool {
        let n: u64 = n.unique_saturated_into();
        let length: u64 = T::EpochLength::get().unique_saturated_into();
        n >= length && n.checked_rem(length) == Some(0)
    }

    /// This chain's genesis hash, which vouchers commit to.
    pub(crate) fn genesis_hash() -> ContentHash {
        let h = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
        <[u8; 32]>::try_from(h.as_ref()).map(H256).unwrap_or_default()
    }

    /// The weight of `submit_receipts` for these arguments: the receipts and their largest
    /// attribution, plus crediting every distinct payee (contributions, each model's developer
    /// and holders, the operator and the treasury), plus redeeming a prepaid voucher for every
    /// receipt (whether a voucher is prepaid is only known from storage, so every receipt is
    /// charged for it up front; `submit_receipts` refunds the part of signed vouchers).
    pub fn submit_weight(receipts: &[ReceiptInput<T>]) -> Weight {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let n = receipts.len();
        // A pool's part costs what one more entry does.
        let e = receipts
            .iter()
            .map(|r| r.attribution.len().saturating_add(usize::from(r.pool.is_some())))
            .max()
            .unwrap_or(0);
        let contributions = receipts
            .iter()
            .flat_map(|r| r.attribution.iter().map(|(c, _)| *c))
            .collect::<alloc::collections::BTreeSet<_>>()
            .len();
        let pools = receipts
            .iter()
            .filter_map(|r| r.pool.map(|(d, _)| d))
            .collect::<alloc::collections::BTreeSet<_>>()
            .len();
        let contributions = contributions.saturating_add(pools);
        let models =
            receipts.iter().map(|r| r.model).collect::<alloc::collections::BTreeSet<_>>().len();
        let payees = contributions.saturating_add(models.saturating_mul(2)).saturating_add(2);
        T::WeightInfo::submit_receipts(clamp(n), clamp(e))
            .saturating_add(T::WeightInfo::credit_payees(clamp(payees)))
            .saturating_add(T::WeightInfo::redeem_prepaid().saturating_mul(n as u64))
    }

    pub(crate) fn do_add_operator(operator: T::AccountId) -> DispatchResult {
        ensure!(!Operators::<T>::contains_key(&operator), Error::<T>::AlreadyOperator);
        let bond = T::OperatorBond::get();
        T::Currency::hold(&HoldReason::OperatorBond.into(), &operator, bond)?;
        Operators::<T>::insert(
            &operator,
            Operator { bond, busy_until: Zero::zero(), open_challenges: 0 },
        );
        Self::deposit_event(Event::OperatorAdded { operator, bond });
        Ok(())
    }

    /// Prepays `voucher` for `user` (see [`Pallet::prepay_voucher`]). Also used by the runtime's
    /// EVM precompile, with the calling contract's account as `user`.
    pub fn do_prepay_voucher(user: T::AccountId, voucher: VoucherOf<T>) -> DispatchResult {
        ensure!(voucher.max_fee > 0, Error::<T>::ZeroMaxFee);
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now <= voucher.expires_at, Error::<T>::VoucherExpired);
        ensure!(Operators::<T>::contains_key(&voucher.operator), Error::<T>::NotOperator);
        let model = T::Models::model(voucher.model).ok_or(Error::<T>::UnknownModel)?;
        ensure!(model.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        ensure!(
            !UsedVouchers::<T>::contains_key(&user, voucher.request_id),
            Error::<T>::VoucherAlreadyUsed
        );
        ensure!(
            !PrepaidVouchers::<T>::contains_key(&user, voucher.request_id),
            Error::<T>::AlreadyPrepaid
        );
        T::Currency::hold(&HoldReason::PrepaidVoucher.into(), &user, voucher.max_fee)?;
        PrepaidVouchers::<T>::insert(&user, voucher.request_id, voucher.clone());
        Self::deposit_event(Event::VoucherPrepaid {
            user,
            request_id: voucher.request_id,
            model: voucher.model,
            operator: voucher.operator,
            max_fee: voucher.max_fee,
            expires_at: voucher.expires_at,
        });
        Ok(())
    }

    /// A receipt redeems a prepaid voucher: its hold is released (the fee is then charged from
    /// the free balance like any other) and the voucher removed.
    pub(crate) fn redeem_prepaid(
        user: &T::AccountId,
        request_id: ContentHash,
        held: Balance,
    ) -> DispatchResult {
        T::Currency::release(&HoldReason::PrepaidVoucher.into(), user, held, Precision::Exact)?;
        PrepaidVouchers::<T>::remove(user, request_id);
        Ok(())
    }

    /// Releases `user`'s expired prepaid voucher `request_id` (see
    /// [`Pallet::release_voucher`]). Also used by the runtime's EVM precompile.
    pub fn do_release_voucher(user: T::AccountId, request_id: ContentHash) -> DispatchResult {
        let v = PrepaidVouchers::<T>::get(&user, request_id).ok_or(Error::<T>::NotPrepaid)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now > v.expires_at, Error::<T>::VoucherNotExpired);
        T::Currency::release(
            &HoldReason::PrepaidVoucher.into(),
            &user,
            v.max_fee,
            Precision::Exact,
        )?;
        PrepaidVouchers::<T>::remove(&user, request_id);
        Self::deposit_event(Event::VoucherReleased { user, request_id, amount: v.max_fee });
        Ok(())
    }

    /// Checks one receipt without effects; `snapshots` caches snapshot members for the batch.
    fn check(
        operator: &T::AccountId,
        now: BlockNumberFor<T>,
        genesis: &ContentHash,
        input: Submission<T>,
        snapshots: &mut BTreeMap<(u32, u32), Vec<ContributionId>>,
    ) -> Result<Checked<T>, DispatchError> {
        ensure!(
            input.attribution.len() <= T::MaxEntries::get() as usize,
            Error::<T>::TooManyEntries
        );
        let v = &input.voucher;
        ensure!(&v.operator == operator, Error::<T>::WrongOperator);
        ensure!(v.model == input.model, Error::<T>::ModelMismatch);
        ensure!(now <= v.expires_at, Error::<T>::VoucherExpired);
        let prepaid = match &input.auth {
            Authorization::Job => None,
            Authorization::Voucher(signature) => {
                ensure!(
                    !UsedVouchers::<T>::contains_key(&input.user, v.request_id),
                    Error::<T>::VoucherAlreadyUsed
                );
                // A prepaid voucher is authorized by its hold; any other by the signature.
                match PrepaidVouchers::<T>::get(&input.user, v.request_id) {
                    Some(p) => {
                        ensure!(&p == v, Error::<T>::PrepaidMismatch);
                        Some(p.max_fee)
                    }
                    None => {
                        let payload = voucher_payload(genesis, v);
                        ensure!(
                            signature.verify(&payload[..], &input.user),
                            Error::<T>::BadSignature
                        );
                        None
                    }
                }
            }
        };
        let model = T::Models::model(input.model).ok_or(Error::<T>::UnknownModel)?;
        ensure!(model.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        let tokens = u128::from(input.input_tokens).saturating_add(u128::from(input.output_tokens));
        let fee = provena_primitives::attribution::fee_for(model.price_per_1k_tokens, tokens)
            .ok_or(Error::<T>::Overflow)?;
        ensure!(fee <= v.max_fee, Error::<T>::FeeAboveMax);

        // The snapshots the model (and, for an adapter, its base) declares, and the retrieved one.
        let mut declared = model.trained_on.clone();
        if let Some(base) = model.base {
            declared.extend(T::Models::trained_on(base));
        }
        if let Some((d, v)) = input.retrieved_from {
            T::Datanets::can_use_snapshot(operator, d, v)
                .map_err(|_| Error::<T>::RetrievalNotAllowed)?;
            declared.push((d, v));
        }
        let mut weights = Vec::with_capacity(input.attribution.len());
        let mut seen = alloc::collections::BTreeSet::new();
        let mut earning = Vec::with_capacity(input.attribution.len());
        for (contribution, weight) in &input.attribution {
            ensure!(seen.insert(*contribution), Error::<T>::DuplicateContribution);
            let view =
                T::Datanets::contribution(*contribution).ok_or(Error::<T>::UnknownContribution)?;
            let mut found = false;
            for (d, ver) in declared.iter().filter(|(d, _)| *d == view.datanet) {
                let members = snapshots
                    .entry((*d, *ver))
                    .or_insert_with(|| T::Datanets::snapshot_members(*d, *ver));
                if members.binary_search(contribution).is_ok() {
                    found = true;
                    break;
                }
            }
            ensure!(found, Error::<T>::ContributionNotInModelSnapshots);
            weights.push(*weight);
            earning.push(view.status.is_earning());
        }
        // The pool's part is one more weight after the contributions'.
        if let Some((datanet, weight)) = input.pool {
            ensure!(declared.iter().any(|(d, _)| *d == datanet), Error::<T>::PoolNotDeclared);
            weights.push(weight);
        }
        let split = split_fee(fee, &T::Shares::get(), model.developer_share, &weights)
            .map_err(|_| Error::<T>::WeightsNotNormalized)?;
        let treasury = T::Treasury::get();
        let mut payouts: Vec<(PayeeOf<T>, Balance)> = Vec::new();
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
        payouts.push((Payee::Account(treasury), to_treasury));
        payouts.push((Payee::Account(operator.clone()), split.operator));
        payouts.push((Payee::Account(model.developer), split.developer));
        payouts.push((Payee::ModelHolders(input.model), split.holders));
        payouts.retain(|(_, amount)| *amount > 0);
        Ok(Checked { input, prepaid, fee, payouts })
    }

    /// Submits `receipts` (see [`Pallet::submit_receipts`]); returns how many redeemed a
    /// prepaid voucher.
    pub(crate) fn do_submit(
        operator: T::AccountId,
        receipts: Vec<Submission<T>>,
    ) -> Result<usize, DispatchError> {
        let mut op = Operators::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
        ensure!(!receipts.is_empty(), Error::<T>::NoReceipts);
        ensure!(
            receipts.len() <= T::MaxReceiptsPerCall::get() as usize,
            Error::<T>::TooManyReceipts
        );
        let now = frame_system::Pallet::<T>::block_number();
        let genesis = Self::genesis_hash();
        let epoch = Self::epoch_of(now);
        let claimable_at = T::EpochLength::get()
            .saturating_mul(BlockNumberFor::<T>::from(epoch.saturating_add(1)))
            .saturating_add(ChallengeWindow::<T>::get());

        // Check everything first: a bad receipt fails the batch before any effect.
        let mut snapshots = BTreeMap::new();
        let mut spent = alloc::collections::BTreeSet::new();
        let mut checked = Vec::with_capacity(receipts.len());
        for input in receipts {
            ensure!(
                spent.insert((input.user.clone(), input.voucher.request_id)),
                Error::<T>::VoucherAlreadyUsed
            );
            checked.push(Self::check(&operator, now, &genesis, input, &mut snapshots)?);
        }

        let account = Self::account_id();
        // The pallet account keeps one existential deposit of free balance for good, so it
        // exists to hold fees; the first operator to submit pays it, once per chain.
        let floor = T::Currency::minimum_balance();
        if T::Currency::balance(&account) < floor {
            T::Currency::transfer(&operator, &account, floor, Preservation::Preserve)?;
        }
        let mut credits: BTreeMap<PayeeOf<T>, Balance> = BTreeMap::new();
        let mut charged: Balance = 0;
        let mut next = NextReceiptId::<T>::get();
        let mut redeemed = 0usize;
        for Checked { input, prepaid, fee, payouts } in checked {
            if let Some(held) = prepaid {
                Self::redeem_prepaid(&input.user, input.voucher.request_id, held)?;
                redeemed = redeemed.saturating_add(1);
            }
            if fee > 0 {
                T::Currency::transfer_and_hold(
                    &HoldReason::Fees.into(),
                    &input.user,
                    &account,
                    fee,
                    Precision::Exact,
                    Preservation::Preserve,
                    Fortitude::Polite,
                )?;
            }
            charged = charged.checked_add(fee).ok_or(Error::<T>::Overflow)?;
            for (payee, amount) in &payouts {
                let c = credits.entry(payee.clone()).or_default();
                *c = c.checked_add(*amount).ok_or(Error::<T>::Overflow)?;
            }
            let id = next;
            next = next.checked_add(1).ok_or(Error::<T>::Overflow)?;
            let receipt = Receipt::<T> {
                user: input.user.clone(),
                operator: operator.clone(),
                model: input.model,
                request_id: input.voucher.request_id,
                input_tokens: input.input_tokens,
                output_tokens: input.output_tokens,
                fee,
                attribution: BoundedVec::try_from(input.attribution)
                    .map_err(|_| Error::<T>::TooManyEntries)?,
                retrieved_from: input.retrieved_from,
                evidence_hash: input.evidence_hash,
                payouts: BoundedVec::try_from(payouts).map_err(|_| Error::<T>::TooManyEntries)?,
                epoch,
                submitted_at: now,
                claimable_at,
                status: ReceiptStatus::Pending,
            };
            let leaf = Self::leaf(id, &receipt);
            EpochLeaves::<T>::try_append(epoch, leaf).map_err(|_| Error::<T>::EpochFull)?;
            if let Authorization::Voucher(_) = input.auth {
                UsedVouchers::<T>::insert(
                    &input.user,
                    input.voucher.request_id,
                    input.voucher.expires_at,
                );
            }
            let index = ModelReceiptCount::<T>::get(input.model);
            ModelReceipts::<T>::insert(input.model, index, id);
            ModelReceiptCount::<T>::insert(input.model, index.saturating_add(1));
            Self::deposit_event(Event::ReceiptSubmitted {
                receipt: id,
                model: input.model,
                user: input.user,
                operator: operator.clone(),
                fee,
                epoch,
            });
            Receipts::<T>::insert(id, receipt);
        }
        NextReceiptId::<T>::put(next);
        Self::credit(credits, claimable_at, now)?;
        op.busy_until = op.busy_until.max(claimable_at);
        Operators::<T>::insert(&operator, op);
        FeeTotals::<T>::try_mutate(|t| -> DispatchResult {
            t.charged = t.charged.checked_add(charged).ok_or(Error::<T>::Overflow)?;
            Ok(())
        })?;
        Ok(redeemed)
    }

    /// Credits each payee its amount, claimable from `claimable_at`.
    pub(crate) fn credit(
        credits: BTreeMap<PayeeOf<T>, Balance>,
        claimable_at: BlockNumberFor<T>,
        now: BlockNumberFor<T>,
    ) -> DispatchResult {
        for (payee, amount) in credits {
            let mut record = Rewards::<T>::get(&payee).unwrap_or_default();
            Self::mature(&mut record, now)?;
            Self::add_pending(&mut record, claimable_at, amount)?;
            record.earned = record.earned.checked_add(amount).ok_or(Error::<T>::Overflow)?;
            Rewards::<T>::insert(&payee, record);
        }
        Ok(())
    }

    /// A receipt's leaf in its epoch's Merkle tree: `keccak256(SCALE(id, receipt))`.
    pub fn leaf(id: u64, receipt: &Receipt<T>) -> H256 {
        H256(polkadot_sdk::sp_io::hashing::keccak_256(&(id, receipt).encode()))
    }

    pub(crate) fn close_epoch(epoch: EpochIndex, now: BlockNumberFor<T>) {
        let leaves = EpochLeaves::<T>::get(epoch);
        if leaves.is_empty() {
            return;
        }
        let root = merkle::root(leaves.iter().map(|l| l.as_bytes()));
        let receipts = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        EpochRoots::<T>::insert(epoch, EpochRoot { root, receipts, closed_at: now });
        Self::deposit_event(Event::EpochClosed { epoch, root, receipts });
    }

    /// Moves every pending bucket whose time has come into `matured`.
    pub(crate) fn mature(record: &mut RewardRecord<T>, now: BlockNumberFor<T>) -> DispatchResult {
        let mut matured = record.matured;
        for (_, amount) in record.pending.iter().filter(|(at, _)| *at <= now) {
            matured = matured.checked_add(*amount).ok_or(Error::<T>::Overflow)?;
        }
        record.pending.retain(|(at, _)| *at > now);
        record.matured = matured;
        Ok(())
    }

    /// Adds `amount` claimable from `at`. Buckets stay sorted; when they are full the amount
    /// merges into the last bucket, which then unlocks at the later of the two times.
    pub(crate) fn add_pending(
        record: &mut RewardRecord<T>,
        at: BlockNumberFor<T>,
        amount: Balance,
    ) -> DispatchResult {
        if let Some(b) = record.pending.iter_mut().find(|(t, _)| *t == at) {
            b.1 = b.1.checked_add(amount).ok_or(Error::<T>::Overflow)?;
            return Ok(());
        }
        let pos = record.pending.iter().position(|(t, _)| *t > at).unwrap_or(record.pending.len());
        if record.pending.try_insert(pos, (at, amount)).is_err() {
            // Full: merge into the last bucket at the later time (never earlier than `at`).
            let last = record.pending.last_mut().ok_or(Error::<T>::Overflow)?;
            last.0 = last.0.max(at);
            last.1 = last.1.checked_add(amount).ok_or(Error::<T>::Overflow)?;
        }
        Ok(())
    }

    /// Takes `amount` out of the buckets claimable from `at` or later (where a credit made for
    /// `at` is, merged or not).
    pub(crate) fn take_pending(
        record: &mut RewardRecord<T>,
        at: BlockNumberFor<T>,
        amount: Balance,
    ) -> DispatchResult {
        let mut left = amount;
        for b in record.pending.iter_mut().filter(|(t, _)| *t >= at) {
            let take = left.min(b.1);
            b.1 = b.1.saturating_sub(take);
            left = left.saturating_sub(take);
            if left == 0 {
                break;
            }
        }
        ensure!(left == 0, Error::<T>::Overflow);
        record.pending.retain(|(_, a)| *a > 0);
        Ok(())
    }

    /// Pays `amount` of held fees from the pallet account to the payee's owner.
    pub(crate) fn pay(payee: &PayeeOf<T>, amount: Balance) -> DispatchResult {
        let from = Self::account_id();
        let reason = HoldReason::Fees.into();
        let send = |to: &T::AccountId| {
            T::Currency::transfer_on_hold(
                &reason,
                &from,
                to,
                amount,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Polite,
            )
            .map(|_| ())
        };
        match payee {
            Payee::Account(who) => send(who),
            Payee::Contribution(id) => {
                let view = T::Datanets::contribution(*id).ok_or(Error::<T>::UnknownContribution)?;
                send(&view.contributor)
            }
            Payee::DatanetPool(datanet) => {
                T::Currency::release(&reason, &from, amount, Precision::Exact)?;
                T::Datanets::fund_reward_pool(*datanet, &from, amount)
            }
            Payee::ModelHolders(model) => {
                let developer = T::Models::developer(*model).ok_or(Error::<T>::UnknownModel)?;
                T::Currency::release(&reason, &from, amount, Precision::Exact)?;
                let taken = T::Models::distribute_to_holders(*model, &from, amount)?;
                let rest = amount.saturating_sub(taken);
                if rest > 0 {
                    T::Currency::transfer(&from, &developer, rest, Preservation::Preserve)?;
                }
                Ok(())
            }
        }
    }
}
