//! Read access for the runtime API, the pallet's invariants, and settlement of inference jobs
//! (`InferenceSettlement`).

use crate::*;

impl<T: Config> Pallet<T> {
    // ---- runtime API ----

    /// A receipt for the runtime API.
    pub fn api_receipt(id: u64) -> Option<ReceiptInfo<T::AccountId, BlockNumberFor<T>>> {
        Receipts::<T>::get(id).map(|r| ReceiptInfo {
            id,
            user: r.user,
            operator: r.operator,
            model: r.model,
            request_id: r.request_id,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            fee: r.fee,
            attribution: r.attribution.into_inner(),
            retrieved_from: r.retrieved_from,
            evidence_hash: r.evidence_hash,
            payouts: r.payouts.into_iter().map(|(p, a)| (p, PayoutAmount(a))).collect(),
            epoch: r.epoch,
            submitted_at: r.submitted_at,
            claimable_at: r.claimable_at,
            status: r.status,
        })
    }

    /// A page of a model's receipts.
    pub fn api_receipts_by_model(
        model: ModelId,
        start: u32,
        limit: u32,
    ) -> Vec<ReceiptInfo<T::AccountId, BlockNumberFor<T>>> {
        let end = start.saturating_add(limit.min(MAX_PAGE));
        Self::model_receipt_ids(model, start, end)
            .into_iter()
            .filter_map(Self::api_receipt)
            .collect()
    }

    /// Receipts attributing to a contribution within a bounded id range.
    pub fn api_receipts_by_contribution(
        contribution: ContributionId,
        from: u64,
        scan: u32,
        limit: u32,
    ) -> Vec<ReceiptInfo<T::AccountId, BlockNumberFor<T>>> {
        let end = from.saturating_add(u64::from(scan.min(MAX_SCAN))).min(NextReceiptId::<T>::get());
        (from..end)
            .filter(|id| {
                Receipts::<T>::get(id)
                    .is_some_and(|r| r.attribution.iter().any(|(c, _)| *c == contribution))
            })
            .take(limit.min(MAX_PAGE) as usize)
            .filter_map(Self::api_receipt)
            .collect()
    }

    /// A payee's rewards now.
    pub fn api_rewards(payee: PayeeOf<T>) -> RewardInfo {
        let Some(mut r) = Self::reward_record(&payee) else { return RewardInfo::default() };
        let now = frame_system::Pallet::<T>::block_number();
        if Self::mature(&mut r, now).is_err() {
            return RewardInfo::default();
        }
        RewardInfo {
            earned: r.earned,
            claimed: r.claimed,
            claimable: r.matured,
            pending: r.pending.iter().fold(0u128, |a, (_, b)| a.saturating_add(*b)),
            frozen: r.frozen,
        }
    }

    /// An epoch's commitment (open epochs have no root yet).
    pub fn api_epoch(epoch: EpochIndex) -> Option<EpochInfo<BlockNumberFor<T>>> {
        if let Some(e) = EpochRoots::<T>::get(epoch) {
            return Some(EpochInfo {
                epoch,
                root: Some(e.root),
                receipts: e.receipts,
                closed_at: Some(e.closed_at),
            });
        }
        let n = EpochLeaves::<T>::decode_len(epoch)?;
        Some(EpochInfo {
            epoch,
            root: None,
            receipts: u32::try_from(n).unwrap_or(u32::MAX),
            closed_at: None,
        })
    }

    /// A receipt's inclusion proof in its (closed) epoch.
    pub fn api_receipt_proof(id: u64) -> Option<ReceiptProof> {
        let r = Receipts::<T>::get(id)?;
        EpochRoots::<T>::get(r.epoch)?;
        let leaves = EpochLeaves::<T>::get(r.epoch);
        // The leaf committed at submission: the receipt as it was then (pending, unchallenged).
        let mut original = r.clone();
        original.status = ReceiptStatus::Pending;
        let leaf = Self::leaf(id, &original);
        let index = leaves.iter().position(|l| *l == leaf)?;
        let proof = merkle::proof(
            leaves.iter().map(|l| l.as_bytes().to_vec()).collect(),
            u32::try_from(index).ok()?,
        )?;
        Some(ReceiptProof { epoch: r.epoch, proof })
    }

    /// The bytes a user signs for a voucher on this chain ([`Pallet::signing_payload`]); empty
    /// for a voucher anchored at or after this block (one expiring more than
    /// [`Config::MaxVoucherLifetime`] blocks after it), which this block cannot sign for.
    pub fn api_voucher_payload(voucher: VoucherOf<T>) -> Vec<u8> {
        Self::signing_payload(&Self::genesis_hash(), &voucher).unwrap_or_default()
    }

    /// Checks every invariant listed in the crate docs. Always compiled (not only for tests and
    /// `try-runtime`), so that the tests of pallets built on attribution check it too.
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        let mut owed: Balance = 0;
        let contributions =
            T::Datanets::rewards().into_iter().map(|(id, r)| (Payee::Contribution(id), r));
        for (payee, r) in Rewards::<T>::iter().chain(contributions) {
            if Self::paid_when_credited(&payee) {
                ensure!(
                    r.matured == 0 && r.frozen == 0 && r.pending.is_empty(),
                    "token holders' revenue is paid when credited, never pending"
                );
            }
            let pending = r
                .pending
                .iter()
                .try_fold(0u128, |a, (_, b)| a.checked_add(*b))
                .ok_or("overflow")?;
            let sum = [r.claimed, r.matured, r.frozen, pending]
                .iter()
                .try_fold(0u128, |a, b| a.checked_add(*b))
                .ok_or("overflow")?;
            ensure!(r.earned == sum, "a payee's earned ≠ claimed + matured + frozen + pending");
            owed = owed
                .checked_add(r.matured)
                .and_then(|o| o.checked_add(r.frozen))
                .and_then(|o| o.checked_add(pending))
                .ok_or("overflow")?;
        }
        let account = Self::account_id();
        ensure!(
            T::Currency::balance_on_hold(&HoldReason::Fees.into(), &account) == owed,
            "fees held on the pallet account differ from what is owed"
        );
        if owed > 0 {
            ensure!(
                T::Currency::balance(&account) >= T::Currency::minimum_balance(),
                "the pallet account lost its floor"
            );
        }
        let t = FeeTotals::<T>::get();
        ensure!(
            t.charged.checked_sub(t.refunded) == t.paid.checked_add(owed),
            "charged − refunded ≠ paid + owed"
        );
        let mut bonds: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
        for (_, c) in Challenges::<T>::iter() {
            let b = bonds.entry(c.challenger).or_default();
            *b = b.saturating_add(c.bond);
        }
        for (who, bond) in bonds {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &who) == bond,
                "challenger holds differ from open challenge bonds"
            );
        }
        let epoch = Self::epoch_of(frame_system::Pallet::<T>::block_number());
        for (who, (e, count)) in OperatorEpochUsage::<T>::iter() {
            ensure!(Operators::<T>::contains_key(&who), "epoch usage of a removed operator");
            ensure!(e <= epoch, "epoch usage in a future epoch");
            ensure!(count <= Self::operator_epoch_cap(), "an operator above its epoch share");
        }
        // Each operator's open challenges are those against its receipts; no operator bond is
        // held here since v6.
        let mut open: BTreeMap<T::AccountId, u32> = BTreeMap::new();
        for (receipt, _) in Challenges::<T>::iter() {
            let r = Receipts::<T>::get(receipt).ok_or("a challenge of a missing receipt")?;
            let n = open.entry(r.operator).or_default();
            *n = n.saturating_add(1);
        }
        for (who, op) in Operators::<T>::iter() {
            ensure!(
                op.open_challenges == open.remove(&who).unwrap_or_default(),
                "an operator's open challenges differ from the challenges of its receipts"
            );
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::OperatorBond.into(), &who).is_zero(),
                "an operator bond still held"
            );
        }
        ensure!(open.is_empty(), "challenges against an operator with no record");
        let mut prepaid: BTreeMap<T::AccountId, Balance> = BTreeMap::new();
        for (who, request_id, v) in PrepaidVouchers::<T>::iter() {
            ensure!(v.max_fee > 0, "a prepaid voucher without a max fee");
            ensure!(
                !UsedVouchers::<T>::contains_key(&who, request_id),
                "a prepaid voucher that was already used"
            );
            let p = prepaid.entry(who).or_default();
            *p = p.checked_add(v.max_fee).ok_or("overflow")?;
        }
        for (who, amount) in prepaid {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::PrepaidVoucher.into(), &who) == amount,
                "prepaid-voucher holds differ from the open prepaid vouchers"
            );
        }
        for (id, r) in Receipts::<T>::iter() {
            let sum = r
                .payouts
                .iter()
                .try_fold(0u128, |a, (_, b)| a.checked_add(*b))
                .ok_or("overflow")?;
            ensure!(sum == r.fee, "a receipt's payouts do not sum to its fee");
            ensure!(id < NextReceiptId::<T>::get(), "a receipt id at or above NextReceiptId");
            ensure!(
                (r.status == ReceiptStatus::Challenged) == Challenges::<T>::contains_key(id),
                "challenge status mismatch"
            );
        }
        Self::try_state_pruning()
    }
}

/// Completed on-chain inference jobs become receipts here (see
/// [`provena_primitives::inference::InferenceSettlement`]): the job's operator must be a
/// registered operator, the voucher is the job itself (request id, model, max fee, operator,
/// expiring now), and everything else is checked, charged and split as for a signed voucher.
impl<T: Config> InferenceSettlement<T::AccountId> for Pallet<T> {
    fn is_operator(who: &T::AccountId) -> bool {
        Self::is_active_operator(who)
    }

    fn fee(model: ModelId, tokens: u64) -> Option<Balance> {
        let price = T::Models::price_per_1k_tokens(model)?;
        provena_primitives::attribution::fee_for(price, u128::from(tokens))
    }

    fn settle(job: JobSettlement<T::AccountId>) -> Result<(u64, Balance), DispatchError> {
        polkadot_sdk::frame_support::storage::with_storage_layer(|| {
            let id = NextReceiptId::<T>::get();
            let submission = Submission {
                voucher: VoucherOf::<T> {
                    request_id: job.request_id,
                    model: job.model,
                    max_fee: job.max_fee,
                    operator: job.operator.clone(),
                    expires_at: frame_system::Pallet::<T>::block_number(),
                },
                user: job.user,
                model: job.model,
                input_tokens: job.input_tokens,
                output_tokens: job.output_tokens,
                attribution: job.attribution,
                pool: job.pool,
                retrieved_from: job.retrieved_from,
                evidence_hash: job.evidence_hash,
                auth: Authorization::Job,
            };
            Self::do_submit(job.operator, alloc::vec![submission])?;
            let fee = Receipts::<T>::get(id).map(|r| r.fee).ok_or(Error::<T>::UnknownReceipt)?;
            Ok((id, fee))
        })
    }
}

/// Closed epochs' receipt roots, for the bridge to settle on Ethereum. A closed epoch's root is
/// kept forever (pruning removes its receipts, never its root), so the bridge can always catch
/// up.
impl<T: Config> provena_primitives::attribution::SettledEpochs for Pallet<T> {
    fn settled_root(epoch: EpochIndex) -> Option<(H256, u32)> {
        EpochRoots::<T>::get(epoch).map(|e| (e.root, e.receipts))
    }
    fn first_open() -> EpochIndex {
        // This block's `on_initialize` closed the epoch before it, if one ended.
        Self::epoch_of(polkadot_sdk::frame_system::Pallet::<T>::block_number())
    }
}

/// What the datanets pallet asks before a reward pool's storage goes: any credit not yet paid
/// (pending, matured or frozen under a challenge) keeps it. (A contribution's record carries its
/// own reward record, which the datanets pallet asks directly.)
impl<T: Config> provena_primitives::datanets::CreditOwed for Pallet<T> {
    fn owed_to_pool(datanet: provena_primitives::DatanetId) -> bool {
        Self::is_owed(&Payee::DatanetPool(datanet))
    }
}

impl<T: Config> Pallet<T> {
    /// Whether `payee` is owed anything not yet paid.
    pub(crate) fn is_owed(payee: &PayeeOf<T>) -> bool {
        Self::reward_record(payee).is_some_and(|r| r.is_owed())
    }
}

/// A model stays stored while attribution still stores any of its receipts (they may be
/// challenged, and resolving a challenge pays the model's parties).
impl<T: Config> provena_primitives::models::ModelUsage for Pallet<T> {
    fn in_use(model: ModelId) -> bool {
        let info = ModelIndex::<T>::get(model);
        info.receipts > info.pruned_receipts
    }
}
