//! The ledger: checking receipts, charging and splitting fees, crediting payees, epochs and
//! payouts.

use crate::*;
use polkadot_sdk::frame_support::storage::with_storage_layer;

/// What every receipt of one `submit_receipts` call shares.
pub(crate) struct Batch<T: Config> {
    pub operator: T::AccountId,
    pub now: BlockNumberFor<T>,
    pub genesis: ContentHash,
    pub epoch: EpochIndex,
    pub claimable_at: BlockNumberFor<T>,
    /// The pallet account, which holds the fees.
    pub account: T::AccountId,
}

/// What a `submit_receipts` call did.
#[derive(Default)]
pub(crate) struct Outcome {
    /// Receipts settled.
    pub settled: u32,
    /// Receipts skipped.
    pub skipped: u32,
    /// Why the first skipped receipt was.
    pub first_error: Option<DispatchError>,
}

/// A receipt as applied: its fee, its payouts, its leaf.
type Applied<T> = (Balance, Vec<(PayeeOf<T>, Balance)>, H256);

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
        Self::hash_of(BlockNumberFor::<T>::zero())
    }

    pub(crate) fn hash_of(n: BlockNumberFor<T>) -> ContentHash {
        let h = frame_system::Pallet::<T>::block_hash(n);
        <[u8; 32]>::try_from(h.as_ref()).map(H256).unwrap_or_default()
    }

    /// The bytes the user signs for `voucher` on this chain ([`voucher_payload`]): with the hash
    /// of its anchor block ([`voucher_anchor`]), which must be before the current block (so
    /// that its hash is known here). `None` for a voucher anchored at or after the current
    /// block, that is one expiring more than [`Config::MaxVoucherLifetime`] blocks from now.
    pub fn signing_payload(genesis: &ContentHash, voucher: &VoucherOf<T>) -> Option<Vec<u8>> {
        let anchor = Self::known_anchor(voucher, frame_system::Pallet::<T>::block_number())?;
        Some(voucher_payload(genesis, &Self::hash_of(anchor), voucher))
    }

    /// `voucher`'s anchor block ([`voucher_anchor`]) if it is before block `now`, so that its
    /// hash is known there.
    pub(crate) fn known_anchor(
        voucher: &VoucherOf<T>,
        now: BlockNumberFor<T>,
    ) -> Option<BlockNumberFor<T>> {
        let anchor = voucher_anchor(voucher.expires_at, T::MaxVoucherLifetime::get());
        (anchor < now).then_some(anchor)
    }

    /// The weight of reading one entry of the storage item `S` the way the generated weights
    /// estimate a map read: a database read and, as proof size, the item's largest entry (key
    /// and value) plus what the trie adds at the benchmarks' worst-case map size.
    pub fn read_weight<S: StorageInfoTrait>() -> Weight {
        let largest = S::storage_info().iter().filter_map(|i| i.max_size).max();
        provena_primitives::map_read_weight(T::DbWeight::get().reads(1), largest)
    }

    /// The weight of `submit_receipts` for these arguments, from its benchmarks:
    /// - [`WeightInfo::submit_receipts`]`(n, e)`: `n` receipts for one LoRA adapter (so its base
    ///   model is read too) that retrieve from one private snapshot (the RAG path's access
    ///   check), all attributing to the same `e` contributions (the largest attribution here),
    ///   so it credits `e + 3` payees (those contributions, the developer, the operator, the
    ///   treasury);
    /// - for each further distinct (model, retrieval) pair, what
    ///   [`WeightInfo::submit_receipts_models`] measures a receipt with its own adapter, base
    ///   and retrieval to cost over one of the shared ones;
    /// - reading and crediting every other distinct contribution
    ///   ([`WeightInfo::credit_contributions`]: one read and one write each, its reward record
    ///   being part of its record) and crediting every other distinct payee (each model's
    ///   developer and holders, the operator and the treasury: [`WeightInfo::credit_payees`]),
    ///   paying holders once per model (priced as [`WeightInfo::claim_rewards`]);
    /// - reading and redeeming a prepaid voucher ([`WeightInfo::redeem_prepaid`]) for each
    ///   receipt that declares one (no signature);
    /// - reading the hash of each distinct anchor block of the signed vouchers.
    pub fn submit_weight(receipts: &[ReceiptInput<T>]) -> Weight {
        use alloc::collections::BTreeSet;
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let n = receipts.len();
        // A pool's part costs what one more entry does.
        let e = receipts
            .iter()
            .map(|r| r.attribution.len().saturating_add(usize::from(r.pool.is_some())))
            .max()
            .unwrap_or(0);
        let shapes = receipts.iter().map(|r| (r.model, r.retrieved_from)).collect::<BTreeSet<_>>();
        let contributions = receipts
            .iter()
            .flat_map(|r| r.attribution.iter().map(|(c, _)| *c))
            .collect::<BTreeSet<_>>()
            .len();
        let pools =
            receipts.iter().filter_map(|r| r.pool.map(|(d, _)| d)).collect::<BTreeSet<_>>().len();
        let models = receipts.iter().map(|r| r.model).collect::<BTreeSet<_>>().len();
        // The model index keeps receipts of one model with consecutive ids in one run: a call
        // starts at most one run per switch between models. The benchmarks write one run per
        // model; each further run costs a write (and a read of the model's last run).
        let runs = receipts.iter().zip(receipts.iter().skip(1)).filter(|(a, b)| a.model != b.model);
        let runs = runs.count();
        let runs = runs.saturating_add(1).min(n);
        let further_runs = runs.saturating_sub(models) as u64;
        // Each model's last run is read to see whether the receipt grows it; the benchmarks'
        // models are new (no run yet), so that read is charged here.
        let last_runs = models as u64;
        // A voucher's anchor block follows from its expiry.
        let anchors = receipts
            .iter()
            .filter(|r| r.signature.is_some())
            .map(|r| r.voucher.expires_at)
            .collect::<BTreeSet<_>>()
            .len();
        let prepaid = receipts.iter().filter(|r| r.signature.is_none()).count() as u64;
        // The benchmark of `submit_receipts(n, e)` read and credited `e` contributions and
        // credited 3 other payees; only the others are added. (A receipt's entries are distinct
        // contributions, so there are at least `e` of them when some receipt has `e` entries
        // without a pool.) A further contribution is read once and credited with one write (its
        // reward record is in its own record).
        let shared = e.saturating_sub(usize::from(receipts.iter().any(|r| r.pool.is_some())));
        let further =
            T::WeightInfo::credit_contributions(clamp(contributions.saturating_sub(shared)));
        let payees =
            pools.saturating_add(models.saturating_mul(2)).saturating_add(2).saturating_sub(3);
        let own_shapes = T::WeightInfo::submit_receipts_models(clamp(shapes.len()))
            .saturating_sub(T::WeightInfo::submit_receipts(clamp(shapes.len()), 0));
        T::WeightInfo::submit_receipts(clamp(n), clamp(e))
            .saturating_add(own_shapes)
            .saturating_add(T::WeightInfo::credit_payees(clamp(payees)))
            .saturating_add(further)
            // Paying a model's holders at credit time does what claiming for one of them does
            // (release the fees, distribute into the models pallet's accumulator).
            .saturating_add(T::WeightInfo::claim_rewards(clamp(models)))
            // The operator's epoch usage.
            .saturating_add(T::DbWeight::get().reads_writes(1, 1))
            // The operator as an agent: whether it is active and whether its own bond answers
            // for a slash (checked once a call), whether it serves each shape's model (its
            // record and the model's base, once a shape) and its work counted there.
            .saturating_add(T::Agents::own_bond_weight())
            .saturating_add(T::DbWeight::get().reads(2).saturating_mul(shapes.len() as u64))
            .saturating_add(T::Agents::note_work_weight())
            .saturating_add(T::DbWeight::get().reads_writes(further_runs, further_runs))
            .saturating_add(T::DbWeight::get().reads(last_runs))
            // A prepaid voucher is read and redeemed (its signature, measured in the benchmark,
            // is not checked: charged all the same).
            .saturating_add(
                T::WeightInfo::redeem_prepaid()
                    .saturating_add(Self::read_weight::<PrepaidVouchers<T>>())
                    .saturating_mul(prepaid),
            )
            // Signed vouchers read their anchor block's hash, once for each distinct anchor (the
            // call keeps it). The benchmark's vouchers are anchored at the genesis block, whose
            // hash every call reads anyway.
            .saturating_add(
                Self::read_weight::<frame_system::BlockHash<T>>().saturating_mul(anchors as u64),
            )
    }

    /// The most receipts one operator may submit in an epoch.
    pub fn operator_epoch_cap() -> u32 {
        T::OperatorEpochShare::get().mul_floor(T::MaxReceiptsPerEpoch::get())
    }

    /// Fails unless `operator` is an active agent serving `model`.
    pub(crate) fn ensure_serves(operator: &T::AccountId, model: ModelId) -> DispatchResult {
        ensure!(Self::is_active_operator(operator), Error::<T>::NotOperator);
        ensure!(T::Agents::is_active(operator, Some(model)), Error::<T>::ModelNotServed);
        Ok(())
    }

    /// Prepays `voucher` for `user` (see [`Pallet::prepay_voucher`]). Also used by the runtime's
    /// EVM precompile, with the calling contract's account as `user`.
    pub fn do_prepay_voucher(user: T::AccountId, voucher: VoucherOf<T>) -> DispatchResult {
        ensure!(voucher.max_fee > 0, Error::<T>::ZeroMaxFee);
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now <= voucher.expires_at, Error::<T>::VoucherExpired);
        ensure!(
            voucher.expires_at <= now.saturating_add(T::MaxVoucherLifetime::get()),
            Error::<T>::VoucherTooLong
        );
        Self::ensure_serves(&voucher.operator, voucher.model)?;
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

    /// Submits `receipts` (see [`Pallet::submit_receipts`]). Errors of the batch (not an
    /// operator, no receipts, too many) fail it; a receipt that fails its checks or its charge
    /// is skipped with [`Event::ReceiptSkipped`] (its effects undone) and the rest settle. When
    /// every receipt is skipped the call fails with the first one's error.
    pub(crate) fn do_submit(
        operator: T::AccountId,
        receipts: Vec<Submission<T>>,
    ) -> Result<Outcome, DispatchError> {
        ensure!(Self::is_active_operator(&operator), Error::<T>::NotOperator);
        // Every receipt must be answerable by a full slash.
        ensure!(Self::answerable(&operator), Error::<T>::BondTooLow);
        let mut op = Operators::<T>::get(&operator).unwrap_or_default();
        ensure!(!receipts.is_empty(), Error::<T>::NoReceipts);
        ensure!(
            receipts.len() <= T::MaxReceiptsPerCall::get() as usize,
            Error::<T>::TooManyReceipts
        );
        let now = frame_system::Pallet::<T>::block_number();
        let epoch = Self::epoch_of(now);
        let batch = Batch {
            operator: operator.clone(),
            now,
            genesis: Self::genesis_hash(),
            epoch,
            claimable_at: T::EpochLength::get()
                .saturating_mul(BlockNumberFor::<T>::from(epoch.saturating_add(1)))
                .saturating_add(ChallengeWindow::<T>::get()),
            account: Self::account_id(),
        };
        // The operator's share of the epoch.
        let mut used = match OperatorEpochUsage::<T>::get(&operator) {
            Some((e, count)) if e == epoch => count,
            _ => 0,
        };
        let cap = Self::operator_epoch_cap();

        // The pallet account keeps one existential deposit of free balance for good, so it
        // exists to hold fees; the first operator to submit pays it, once per chain.
        let floor = T::Currency::minimum_balance();
        if T::Currency::balance(&batch.account) < floor {
            T::Currency::transfer(&operator, &batch.account, floor, Preservation::Preserve)?;
        }
        let mut cache = CallCache::default();
        // The settled receipts' models, in id order, indexed once the batch is settled.
        let mut indexed: Vec<(ModelId, u32)> = Vec::new();
        let mut spent = alloc::collections::BTreeSet::new();
        let mut credits: BTreeMap<PayeeOf<T>, Balance> = BTreeMap::new();
        let mut charged: Balance = 0;
        let mut next = NextReceiptId::<T>::get();
        let first = next;
        let mut outcome = Outcome::default();
        // The epoch's leaves are appended once the batch is settled (appending one by one
        // would copy the epoch's whole list each time).
        let stored = EpochLeaves::<T>::decode_len(epoch).unwrap_or(0);
        let room = (T::MaxReceiptsPerEpoch::get() as usize).saturating_sub(stored);
        let mut leaves: Vec<H256> = Vec::new();
        for (index, input) in receipts.into_iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let key = (input.user.clone(), input.voucher.request_id);
            let model = input.model;
            // Each receipt in its own storage layer: a failure undoes only its own effects.
            let result = with_storage_layer(|| {
                ensure!(used < cap, Error::<T>::OperatorEpochFull);
                ensure!(leaves.len() < room, Error::<T>::EpochFull);
                ensure!(!spent.contains(&key), Error::<T>::VoucherAlreadyUsed);
                let checked = Self::check(&batch, &mut cache, input)?;
                Self::apply(&batch, next, checked)
            });
            match result {
                Ok((fee, payouts, leaf)) => {
                    leaves.push(leaf);
                    match indexed.last_mut() {
                        Some((m, len)) if *m == model => *len = len.saturating_add(1),
                        _ => indexed.push((model, 1)),
                    }
                    for (payee, amount) in payouts {
                        let c = credits.entry(payee).or_default();
                        *c = c.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                    }
                    charged = charged.checked_add(fee).ok_or(Error::<T>::Overflow)?;
                    next = next.checked_add(1).ok_or(Error::<T>::Overflow)?;
                    used = used.saturating_add(1);
                    spent.insert(key);
                    outcome.settled = outcome.settled.saturating_add(1);
                }
                Err(error) => {
                    Self::deposit_event(Event::ReceiptSkipped {
                        operator: operator.clone(),
                        index,
                        user: key.0,
                        request_id: key.1,
                        error,
                    });
                    outcome.skipped = outcome.skipped.saturating_add(1);
                    outcome.first_error.get_or_insert(error);
                }
            }
        }
        if outcome.settled == 0 {
            return Err(outcome.first_error.unwrap_or(Error::<T>::NoReceipts.into()));
        }
        let mut id = first;
        for (model, len) in indexed {
            Self::index_receipts(model, id, len);
            id = id.saturating_add(u64::from(len));
        }
        NextReceiptId::<T>::put(next);
        Self::append_leaves(epoch, &leaves);
        T::Currency::hold(&HoldReason::Fees.into(), &batch.account, charged)?;
        let paid = Self::credit(credits, batch.claimable_at, now)?;
        op.busy_until = op.busy_until.max(batch.claimable_at);
        OperatorEpochUsage::<T>::insert(&operator, (epoch, used));
        Operators::<T>::insert(&operator, op);
        FeeTotals::<T>::try_mutate(|t| -> DispatchResult {
            t.charged = t.charged.checked_add(charged).ok_or(Error::<T>::Overflow)?;
            t.paid = t.paid.checked_add(paid).ok_or(Error::<T>::Overflow)?;
            Ok(())
        })?;
        T::Agents::note_work(
            &operator,
            Work::ReceiptsSettled { count: outcome.settled, fees: charged },
        );
        Ok(outcome)
    }

    /// Charges and stores one checked receipt as receipt `id`; returns its fee, its payouts
    /// (credited with the batch's) and its leaf.
    fn apply(
        batch: &Batch<T>,
        id: u64,
        checked: check::Checked<T>,
    ) -> Result<Applied<T>, DispatchError> {
        let check::Checked { input, prepaid, fee, payouts } = checked;
        if let Some(held) = prepaid {
            Self::redeem_prepaid(&input.user, input.voucher.request_id, held)?;
        }
        // Moved to the pallet account now and held there with the rest of the call's fees
        // once the call has settled its receipts (one hold instead of one per receipt).
        T::Currency::transfer(&input.user, &batch.account, fee, Preservation::Preserve)?;
        let receipt = Receipt::<T> {
            user: input.user.clone(),
            operator: batch.operator.clone(),
            model: input.model,
            request_id: input.voucher.request_id,
            input_tokens: input.input_tokens,
            output_tokens: input.output_tokens,
            fee,
            attribution: BoundedVec::try_from(input.attribution)
                .map_err(|_| Error::<T>::TooManyEntries)?,
            retrieved_from: input.retrieved_from,
            evidence_hash: input.evidence_hash,
            payouts: BoundedVec::try_from(payouts.clone())
                .map_err(|_| Error::<T>::TooManyEntries)?,
            epoch: batch.epoch,
            submitted_at: batch.now,
            claimable_at: batch.claimable_at,
            status: ReceiptStatus::Pending,
        };
        let leaf = Self::leaf(id, &receipt);
        if !matches!(input.auth, Authorization::Job) {
            UsedVouchers::<T>::insert(
                &input.user,
                input.voucher.request_id,
                input.voucher.expires_at,
            );
        }
        Self::deposit_event(Event::ReceiptSubmitted {
            receipt: id,
            model: input.model,
            user: input.user,
            operator: batch.operator.clone(),
            fee,
            epoch: batch.epoch,
            leaf,
        });
        Receipts::<T>::insert(id, receipt);
        Ok((fee, payouts, leaf))
    }

    /// Appends `leaves` to `epoch`'s list, which has room for them (checked by the caller
    /// against [`Config::MaxReceiptsPerEpoch`]). A bounded list's `try_append` reads the stored
    /// length first, which copies the whole stored value in the overlay: for a full epoch
    /// (16,000 leaves, 512 kB) that costs more than the receipt itself. The host's append adds
    /// the items to the SCALE list in place; the bound is kept by the caller's check (and
    /// `do_try_state`).
    fn append_leaves(epoch: EpochIndex, leaves: &[H256]) {
        let key = EpochLeaves::<T>::hashed_key_for(epoch);
        for leaf in leaves {
            polkadot_sdk::sp_io::storage::append(&key, leaf.encode());
        }
    }

    /// Credits each payee its amount, claimable from `claimable_at`, except a model's token
    /// holders: their part is distributed at once into the models pallet's revenue
    /// accumulator, so it belongs to those who hold the token while it is earned (a buyer who
    /// comes later gets none of it). Returns what was so paid.
    pub(crate) fn credit(
        credits: BTreeMap<PayeeOf<T>, Balance>,
        claimable_at: BlockNumberFor<T>,
        now: BlockNumberFor<T>,
    ) -> Result<Balance, DispatchError> {
        let mut paid: Balance = 0;
        for (payee, amount) in credits {
            Self::mutate_reward(&payee, |record| {
                Self::mature(record, now)?;
                record.earned = record.earned.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                if Self::paid_when_credited(&payee) {
                    record.claimed =
                        record.claimed.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                    Ok(())
                } else {
                    Self::add_pending(record, claimable_at, amount)
                }
            })?;
            if let Payee::ModelHolders(model) = payee {
                Self::distribute_to_holders(model, amount)?;
                paid = paid.checked_add(amount).ok_or(Error::<T>::Overflow)?;
                Self::deposit_event(Event::HoldersPaid { model, amount });
            }
        }
        Ok(paid)
    }

    /// A payee's reward record: a contribution's from its datanet record (`None` once the
    /// contribution is gone), any other's from [`Rewards`].
    pub(crate) fn reward_record(payee: &PayeeOf<T>) -> Option<RewardRecord<T>> {
        match payee {
            Payee::Contribution(id) => T::Datanets::reward(*id),
            _ => Rewards::<T>::get(payee),
        }
    }

    /// Runs `f` on a payee's reward record (a new one if it has none) and stores it if `f`
    /// succeeds: a contribution's in its datanet record (which must exist), any other's in
    /// [`Rewards`].
    pub(crate) fn mutate_reward<R>(
        payee: &PayeeOf<T>,
        f: impl FnOnce(&mut RewardRecord<T>) -> Result<R, DispatchError>,
    ) -> Result<R, DispatchError> {
        match payee {
            Payee::Contribution(id) => T::Datanets::mutate_reward(*id, f),
            _ => Rewards::<T>::try_mutate(payee, |slot| {
                let mut record = slot.take().unwrap_or_default();
                let out = f(&mut record)?;
                *slot = Some(record);
                Ok(out)
            }),
        }
    }

    /// Whether a payee is paid when credited (a model's holders) rather than after the window.
    pub(crate) fn paid_when_credited(payee: &PayeeOf<T>) -> bool {
        matches!(payee, Payee::ModelHolders(_))
    }

    /// Moves `amount` of held fees to `model`'s token holders, in full.
    fn distribute_to_holders(model: ModelId, amount: Balance) -> DispatchResult {
        let account = Self::account_id();
        T::Currency::release(&HoldReason::Fees.into(), &account, amount, Precision::Exact)?;
        let taken = T::Models::distribute_to_holders(model, &account, amount)?;
        // The receipt was checked against holders in this same call; none can have left.
        ensure!(taken == amount, Error::<T>::NoHolders);
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
        // What an earner is paid counts as contribution power (the treasury's share and
        // token holders' returns do not).
        let earned = |who: &T::AccountId, value: Balance| {
            T::Power::credit(who, PowerSource::Earnings, value);
        };
        match payee {
            Payee::Account(who) => {
                send(who)?;
                if *who != T::Treasury::get() {
                    earned(who, amount);
                }
                Ok(())
            }
            Payee::Contribution(id) => {
                let view = T::Datanets::contribution(*id).ok_or(Error::<T>::UnknownContribution)?;
                send(&view.contributor)?;
                earned(&view.contributor, amount);
                Ok(())
            }
            Payee::DatanetPool(datanet) => {
                T::Currency::release(&reason, &from, amount, Precision::Exact)?;
                T::Datanets::fund_reward_pool(*datanet, &from, amount)
            }
            // Its stakers share it; an operator no longer an agent is paid itself.
            Payee::Agent(who) if T::Agents::is_agent(who) => {
                T::Currency::release(&reason, &from, amount, Precision::Exact)?;
                T::Agents::reward(who, &from, amount)?;
                earned(who, amount);
                Ok(())
            }
            Payee::Agent(who) => {
                send(who)?;
                earned(who, amount);
                Ok(())
            }
            Payee::ModelHolders(model) => {
                let developer = T::Models::developer(*model).ok_or(Error::<T>::UnknownModel)?;
                T::Currency::release(&reason, &from, amount, Precision::Exact)?;
                let taken = T::Models::distribute_to_holders(*model, &from, amount)?;
                let rest = amount.saturating_sub(taken);
                if rest > 0 {
                    // No holders to take it: the developer is paid, and earned it.
                    T::Currency::transfer(&from, &developer, rest, Preservation::Preserve)?;
                    earned(&developer, rest);
                }
                Ok(())
            }
        }
    }
}
