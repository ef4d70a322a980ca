//! Operators, requests, completions, expiry and deletion: the logic behind the calls and the
//! hook, and the runtime API's reads.

use super::*;
use polkadot_sdk::frame_support::{defensive, traits::DefensiveSaturating};

impl<T: Config> Pallet<T> {
    pub(crate) fn do_register(who: T::AccountId, bases: Vec<ModelId>) -> DispatchResult {
        ensure!(!Operators::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
        ensure!(T::Settlement::is_operator(&who), Error::<T>::NotOperator);
        let bases: BoundedVec<ModelId, T::MaxBasesPerOperator> =
            bases.try_into().map_err(|_| Error::<T>::InvalidBases)?;
        ensure!(!bases.is_empty(), Error::<T>::InvalidBases);
        for (i, base) in bases.iter().enumerate() {
            ensure!(!bases.iter().take(i).any(|b| b == base), Error::<T>::DuplicateBase);
            let m = T::Models::model(*base).ok_or(Error::<T>::UnknownModel)?;
            ensure!(m.base.is_none(), Error::<T>::NotABaseModel);
            ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
            ensure!(T::Agents::is_active(&who, Some(*base)), Error::<T>::BaseNotServed);
        }
        let deposit = T::OperatorDeposit::get();
        T::Currency::hold(&HoldReason::OperatorDeposit.into(), &who, deposit)?;
        for base in bases.iter() {
            BaseOperators::<T>::try_mutate(base, |list| list.try_push(who.clone()))
                .map_err(|_| Error::<T>::TooManyOperators)?;
        }
        Operators::<T>::insert(&who, Operator { bases: bases.clone(), deposit, open_jobs: 0 });
        Self::deposit_event(Event::OperatorRegistered {
            operator: who,
            bases: bases.into_inner(),
            deposit,
        });
        Ok(())
    }

    /// The tokens a job's prompt may count at most: its bytes, the template's overhead and,
    /// for a retrieval job, the retrieved passages.
    pub(crate) fn max_input_tokens(prompt_len: u32, rag: bool) -> u32 {
        let mut t = prompt_len.saturating_add(T::PromptOverheadTokens::get());
        if rag {
            t = t.saturating_add(T::RagContextTokens::get());
        }
        t
    }

    /// The operator a new job `job` for `base` is assigned to (see "Assignment" in the docs).
    pub fn assign(base: ModelId, job: JobId) -> Option<T::AccountId> {
        let list = BaseOperators::<T>::get(base);
        let len = list.len();
        if len == 0 {
            return None;
        }
        let start = usize::try_from(job.checked_rem(len as u64).unwrap_or(0)).unwrap_or(0);
        let cap = T::MaxOpenJobsPerOperator::get();
        let mut best: Option<(u32, T::AccountId)> = None;
        for who in list.iter().cycle().skip(start).take(len) {
            let Some(op) = Operators::<T>::get(who) else { continue };
            // Only an active agent that still serves the base (it may have chilled, been
            // chilled by a slash, or changed its models since it registered here).
            if op.open_jobs >= cap || !T::Agents::is_active(who, Some(base)) {
                continue;
            }
            if best.as_ref().is_none_or(|(load, _)| op.open_jobs < *load) {
                best = Some((op.open_jobs, who.clone()));
            }
        }
        best.map(|(_, who)| who)
    }

    pub(crate) fn do_request(
        user: T::AccountId,
        model: ModelId,
        prompt: Vec<u8>,
        max_tokens: u32,
        max_fee: Balance,
        rag: Option<(DatanetId, SnapshotVersion)>,
    ) -> Result<JobId, DispatchError> {
        ensure!(!prompt.is_empty(), Error::<T>::PromptEmpty);
        let prompt: BoundedVec<u8, T::MaxPromptLen> =
            prompt.try_into().map_err(|_| Error::<T>::PromptTooLong)?;
        ensure!((1..=T::MaxTokens::get()).contains(&max_tokens), Error::<T>::InvalidMaxTokens);
        let m = T::Models::model(model).ok_or(Error::<T>::UnknownModel)?;
        ensure!(m.status == ModelStatus::Active, Error::<T>::ModelNotActive);
        let prompt_len = u32::try_from(prompt.len()).map_err(|_| Error::<T>::PromptTooLong)?;
        let worst = u64::from(Self::max_input_tokens(prompt_len, rag.is_some()))
            .saturating_add(u64::from(max_tokens));
        let worst_fee = T::Settlement::fee(model, worst).ok_or(Error::<T>::Overflow)?;
        ensure!(max_fee >= worst_fee, Error::<T>::MaxFeeTooLow);

        let id = NextJobId::<T>::get();
        let operator = Self::assign(m.base.unwrap_or(model), id).ok_or(Error::<T>::NoOperator)?;
        let now = frame_system::Pallet::<T>::block_number();
        let expires_at = now.saturating_add(T::JobTimeout::get());
        Expiries::<T>::try_append(expires_at, id).map_err(|_| Error::<T>::BlockFull)?;
        let deposit = T::JobDeposit::get();
        if max_fee > 0 {
            T::Currency::hold(&HoldReason::JobFee.into(), &user, max_fee)?;
        }
        T::Currency::hold(&HoldReason::JobDeposit.into(), &user, deposit)?;
        Operators::<T>::try_mutate(&operator, |op| -> DispatchResult {
            let op = op.as_mut().ok_or(Error::<T>::NotRegistered)?;
            op.open_jobs = op.open_jobs.checked_add(1).ok_or(Error::<T>::Overflow)?;
            Ok(())
        })?;
        OperatorJobs::<T>::insert(&operator, id, ());
        NextJobId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
        Jobs::<T>::insert(
            id,
            Job {
                user: user.clone(),
                model,
                operator: operator.clone(),
                max_fee,
                deposit,
                max_tokens,
                rag,
                requested_at: now,
                expires_at,
                state: JobState::Open { prompt },
            },
        );
        Self::deposit_event(Event::JobRequested {
            job: id,
            user,
            model,
            operator,
            max_fee,
            expires_at,
        });
        Ok(id)
    }

    pub(crate) fn do_complete(operator: T::AccountId, id: JobId, c: Completion) -> DispatchResult {
        let mut job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
        let prompt_len = match &job.state {
            JobState::Open { prompt } => prompt.len(),
            JobState::Completed { .. } => return Err(Error::<T>::AlreadyCompleted.into()),
            JobState::Expired => return Err(Error::<T>::JobExpired.into()),
        };
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now < job.expires_at, Error::<T>::JobExpired);
        ensure!(job.operator == operator, Error::<T>::NotAssignedOperator);
        let output: BoundedVec<u8, T::MaxOutputLen> =
            c.output.try_into().map_err(|_| Error::<T>::OutputTooLong)?;
        ensure!(
            provena_primitives::content_hash(&output) == c.output_hash,
            Error::<T>::OutputHashMismatch
        );
        let max_in = Self::max_input_tokens(
            u32::try_from(prompt_len).unwrap_or(u32::MAX),
            job.rag.is_some(),
        );
        ensure!(
            c.output_tokens <= job.max_tokens && c.input_tokens <= max_in,
            Error::<T>::TooManyTokens
        );
        ensure!(
            c.attribution.len() <= T::MaxAttribution::get() as usize,
            Error::<T>::TooManyEntries
        );
        if !c.attribution.is_empty() || c.pool.is_some() {
            let weights = || c.attribution.iter().map(|(_, w)| *w).chain(c.pool.map(|(_, w)| w));
            let sum = weights().map(u64::from).fold(0u64, u64::saturating_add);
            ensure!(
                sum == u64::from(PPM) && weights().all(|w| w > 0),
                Error::<T>::WeightsNotNormalized
            );
        }

        if job.max_fee > 0 {
            T::Currency::release(
                &HoldReason::JobFee.into(),
                &job.user,
                job.max_fee,
                Precision::Exact,
            )?;
        }
        let (receipt, fee) = T::Settlement::settle(JobSettlement {
            user: job.user.clone(),
            operator: operator.clone(),
            model: job.model,
            request_id: job_request_id(id),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            max_fee: job.max_fee,
            attribution: c.attribution,
            pool: c.pool,
            retrieved_from: job.rag,
            evidence_hash: c.evidence_hash,
        })?;
        Self::close_open(&operator, id);
        T::Agents::note_work(&operator, Work::JobCompleted);
        job.state = JobState::Completed {
            output,
            output_hash: c.output_hash,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            receipt,
            fee,
        };
        Jobs::<T>::insert(id, job.clone());
        Self::deposit_event(Event::JobCompleted {
            job: id,
            operator,
            receipt,
            fee,
            refunded: job.max_fee.saturating_sub(fee),
            output_hash: c.output_hash,
        });
        Ok(())
    }

    /// Takes an open job off its operator's list.
    fn close_open(operator: &T::AccountId, id: JobId) {
        OperatorJobs::<T>::remove(operator, id);
        Operators::<T>::mutate(operator, |op| match op {
            Some(op) => op.open_jobs.defensive_saturating_dec(),
            // An operator with open jobs cannot deregister.
            None => {
                defensive!("an open job's operator is gone");
            }
        });
    }

    /// Expires the open jobs whose deadline is `n` (refunding them) and queues all of them for
    /// deletion; deletes the jobs whose time has come (releasing their deposits).
    pub(crate) fn expire_and_prune(n: BlockNumberFor<T>) {
        let expiring = Expiries::<T>::take(n);
        for id in expiring.iter() {
            let Some(mut job) = Jobs::<T>::get(id) else { continue };
            if !matches!(job.state, JobState::Open { .. }) {
                continue;
            }
            if job.max_fee > 0 {
                let released = T::Currency::release(
                    &HoldReason::JobFee.into(),
                    &job.user,
                    job.max_fee,
                    Precision::BestEffort,
                );
                if released != Ok(job.max_fee) {
                    log::error!(target: LOG_TARGET, "job {id}: fee hold was {released:?}");
                }
            }
            Self::close_open(&job.operator, *id);
            T::Agents::note_work(&job.operator, Work::JobExpired);
            job.state = JobState::Expired;
            Self::deposit_event(Event::JobExpired {
                job: *id,
                user: job.user.clone(),
                operator: job.operator.clone(),
                refunded: job.max_fee,
            });
            Jobs::<T>::insert(id, job);
        }
        if !expiring.is_empty() {
            // The prune queue of n + Retention takes exactly the jobs of this expiry queue.
            Prunes::<T>::insert(n.saturating_add(T::Retention::get()), expiring);
        }
        for id in Prunes::<T>::take(n) {
            let Some(job) = Jobs::<T>::take(id) else { continue };
            let released = T::Currency::release(
                &HoldReason::JobDeposit.into(),
                &job.user,
                job.deposit,
                Precision::BestEffort,
            );
            if released != Ok(job.deposit) {
                log::error!(target: LOG_TARGET, "job {id}: deposit hold was {released:?}");
            }
            Self::deposit_event(Event::JobPruned { job: id, deposit: job.deposit });
        }
    }

    /// When a job expiring at `expires_at` is deleted.
    pub fn prune_at(expires_at: BlockNumberFor<T>) -> BlockNumberFor<T> {
        expires_at.saturating_add(T::Retention::get())
    }

    // ---- runtime API ----

    /// A job for the runtime API.
    pub fn api_job(
        id: JobId,
    ) -> Option<provena_primitives::inference::JobInfo<T::AccountId, BlockNumberFor<T>>> {
        Jobs::<T>::get(id).map(|j| j.info(id))
    }

    /// Open jobs of an operator for the runtime API.
    pub fn api_operator_jobs(operator: T::AccountId, limit: u32) -> Vec<JobId> {
        OperatorJobs::<T>::iter_key_prefix(operator).take(limit.min(MAX_PAGE) as usize).collect()
    }

    // ---- invariants ----

    /// Checks the invariants listed in the module docs.
    #[cfg(any(test, feature = "try-runtime"))]
    pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
        types::try_state::<T>()
    }
}
