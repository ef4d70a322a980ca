//! The off-chain worker: serves the open jobs assigned to this node's operator keys through the
//! inference worker at the URL the node was started with, and sends each answer back as a
//! `complete_job` transaction signed by the operator key.
//!
//! ## What it reads
//!
//! - [`WORKER_URL_KEY`] in persistent off-chain storage: the inference worker's base URL, e.g.
//!   `http://127.0.0.1:8000`, written there by the node from `--inference-worker-url` (and
//!   cleared when the flag is absent). Without it the worker does nothing.
//! - The keystore's [`crate::KEY_TYPE`] keys whose accounts are registered operators.
//!
//! ## What it does per block
//!
//! For each such operator it claims up to [`Config::OcwJobsPerBlock`] of its open jobs that no
//! earlier run claimed in the last [`RETRY_AFTER`] blocks (the claims live in off-chain storage,
//! updated by compare-and-set, so overlapping runs never serve the same job twice), sends all
//! their requests at once, and waits for them together until [`Config::OcwHttpTimeoutMs`]. Each
//! answer becomes one signed `complete_job`. A job whose answer did not come in time, or whose
//! transaction did not land, is tried again after [`RETRY_AFTER`] blocks until it expires.
//!
//! ## The request and the answer
//!
//! `POST {url}/v1/chat/completions` with the prompt as the user's message, the model named by
//! its weights hash (hex; the worker serves a base under its hash and each adapter under its
//! own), `max_tokens`, greedy sampling, and `rag: {datanet}` for a retrieval job. From the
//! answer: the message text (cut to [`Config::MaxOutputLen`] bytes at a character boundary),
//! the usage's token counts (capped at what the job allows), and `provena.receipt` (or, from a
//! worker without it, `provena.attribution`): the contributions' weights and the datanet pool's
//! part (`pool: {datanet, ppm}`), the largest [`Config::MaxAttribution`] contributions and the
//! pool scaled to sum to exactly 1,000,000 by largest remainders (the worker merges span and
//! RAG credit), and the evidence hash.

use crate::{Call, Completion, Config, JobState, Jobs, OperatorJobs, Operators, LOG_TARGET};
use alloc::{
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};
use polkadot_sdk::{
    frame_support::traits::Get,
    frame_system::{
        offchain::{Account, SendSignedTransaction, Signer},
        pallet_prelude::BlockNumberFor,
    },
    sp_core::H256,
    sp_io::offchain::timestamp,
    sp_runtime::{
        offchain::{http, storage::StorageValueRef, Duration},
        traits::UniqueSaturatedInto,
    },
};
use provena_primitives::{
    attribution::normalize_with_pool, inference::JobId, models::ModelInspect, ContributionId,
};
use serde_json::{json, Value};

/// Where the node puts the inference worker's URL (persistent off-chain storage).
pub const WORKER_URL_KEY: &[u8] = b"provena::inference::worker-url";

/// The prefix of each operator's claims record (persistent off-chain storage).
const CLAIMS_PREFIX: &[u8] = b"provena::inference::claims::";

/// Blocks after which a claimed job that is still open is tried again.
pub const RETRY_AFTER: u32 = 5;

/// Serves this node's operators' jobs (see the module docs).
pub fn run<T: Config>(n: BlockNumberFor<T>) {
    let url = match StorageValueRef::persistent(WORKER_URL_KEY).get::<Vec<u8>>() {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(url) => url,
            Err(_) => {
                log::warn!(target: LOG_TARGET, "the inference worker URL is not UTF-8");
                return;
            }
        },
        _ => return,
    };
    let now: u32 = n.unique_saturated_into();
    for account in Signer::<T, T::AuthorityId>::keystore_accounts() {
        if Operators::<T>::contains_key(&account.id) {
            serve::<T>(&account, url.trim_end_matches('/'), now);
        }
    }
}

/// Claims up to `OcwJobsPerBlock` jobs of `account` that are due; returns their ids.
fn claim<T: Config>(account: &Account<T>, now: u32) -> Vec<JobId> {
    let key = [CLAIMS_PREFIX, &codec::Encode::encode(&account.id)].concat();
    let budget = T::OcwJobsPerBlock::get() as usize;
    let record = StorageValueRef::persistent(&key);
    let mut fresh = Vec::new();
    let stored = record.mutate(|old: Result<Option<Vec<(JobId, u32)>>, _>| {
        let mut claims = old.ok().flatten().unwrap_or_default();
        // Forget jobs that are no longer open, so the record stays as small as the open list.
        claims.retain(|(id, _)| OperatorJobs::<T>::contains_key(&account.id, id));
        for id in OperatorJobs::<T>::iter_key_prefix(&account.id) {
            if fresh.len() >= budget {
                break;
            }
            match claims.iter_mut().find(|(c, _)| *c == id) {
                Some((_, at)) if now < at.saturating_add(RETRY_AFTER) => continue,
                Some((_, at)) => *at = now,
                None => claims.push((id, now)),
            }
            fresh.push(id);
        }
        if fresh.is_empty() {
            return Err(());
        }
        Ok::<_, ()>(claims)
    });
    // Another run changed the record meanwhile: it serves these jobs, this one none.
    if stored.is_ok() {
        fresh
    } else {
        Vec::new()
    }
}

/// Serves `account`'s due jobs.
fn serve<T: Config>(account: &Account<T>, url: &str, now: u32) {
    let ids = claim::<T>(account, now);
    if ids.is_empty() {
        return;
    }
    let deadline = timestamp().add(Duration::from_millis(T::OcwHttpTimeoutMs::get()));
    let endpoint = format!("{url}/v1/chat/completions");
    let mut pending = Vec::new();
    for id in ids {
        let Some(job) = Jobs::<T>::get(id) else { continue };
        let JobState::Open { prompt } = &job.state else { continue };
        let Some(model) = T::Models::model(job.model) else { continue };
        let mut body = json!({
            "model": hex(model.weights_hash.as_bytes()),
            "messages": [{"role": "user", "content": String::from_utf8_lossy(prompt)}],
            "max_tokens": job.max_tokens,
            "temperature": 0,
        });
        if let (Some((datanet, _)), Some(map)) = (job.rag, body.as_object_mut()) {
            map.insert("rag".into(), json!({ "datanet": datanet.to_string() }));
        }
        let Ok(bytes) = serde_json::to_vec(&body) else { continue };
        match http::Request::post(&endpoint, vec![bytes])
            .add_header("Content-Type", "application/json")
            .deadline(deadline)
            .send()
        {
            Ok(p) => pending.push((id, job, p)),
            Err(e) => log::warn!(target: LOG_TARGET, "job {id}: request not sent: {e:?}"),
        }
    }
    let (jobs, handles): (Vec<_>, Vec<_>) =
        pending.into_iter().map(|(id, job, p)| ((id, job), p)).unzip();
    let answers = http::PendingRequest::try_wait_all(handles, deadline);
    let signer =
        Signer::<T, T::AuthorityId>::all_accounts().with_filter(vec![account.public.clone()]);
    for ((id, job), answer) in jobs.into_iter().zip(answers) {
        let response = match answer {
            Ok(Ok(r)) if r.code == 200 => r,
            Ok(Ok(r)) => {
                log::warn!(target: LOG_TARGET, "job {id}: the inference worker answered {}", r.code);
                continue;
            }
            Ok(Err(e)) => {
                log::warn!(target: LOG_TARGET, "job {id}: inference worker error {e:?}");
                continue;
            }
            Err(_) => {
                log::warn!(target: LOG_TARGET, "job {id}: no answer before the deadline");
                continue;
            }
        };
        // The answer is bounded (at most `MaxOutputLen` bytes of text, escaped, plus the usage
        // and attribution): more is not a well-formed answer and is not read into memory.
        let limit = (T::MaxOutputLen::get() as usize).saturating_mul(6).saturating_add(64 * 1024);
        let body = response.body().take(limit.saturating_add(1)).collect::<Vec<u8>>();
        if body.len() > limit {
            log::warn!(target: LOG_TARGET, "job {id}: the worker's answer exceeds {limit} bytes");
            continue;
        }
        let JobState::Open { prompt } = &job.state else { continue };
        let max_in = crate::Pallet::<T>::max_input_tokens(
            u32::try_from(prompt.len()).unwrap_or(u32::MAX),
            job.rag.is_some(),
        );
        let Some(c) = completion::<T>(&body, job.max_tokens, max_in) else {
            log::warn!(target: LOG_TARGET, "job {id}: the worker's answer is not understood");
            continue;
        };
        let call = Call::complete_job {
            job: id,
            output: c.output,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            attribution: c.attribution,
            evidence_hash: c.evidence_hash,
            output_hash: c.output_hash,
            pool: c.pool,
        };
        match signer.send_single_signed_transaction(account, call) {
            Some(Ok(())) => log::info!(target: LOG_TARGET, "job {id}: completion sent"),
            other => log::warn!(target: LOG_TARGET, "job {id}: completion not sent: {other:?}"),
        }
    }
}

/// Lowercase hex without prefix.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The completion an answer of the inference worker makes (see the module docs).
pub fn completion<T: Config>(body: &[u8], max_tokens: u32, max_in: u32) -> Option<Completion> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = v.get("choices")?.get(0)?.get("message")?.get("content")?.as_str()?;
    let mut cut = text.len().min(T::MaxOutputLen::get() as usize);
    while !text.is_char_boundary(cut) {
        cut = cut.saturating_sub(1);
    }
    let output = text.as_bytes().get(..cut)?.to_vec();
    let usage = v.get("usage")?;
    let tokens = |k: &str| {
        usage.get(k).and_then(Value::as_u64).map(|t| u32::try_from(t).unwrap_or(u32::MAX))
    };
    let input_tokens = tokens("prompt_tokens")?.min(max_in);
    let output_tokens = tokens("completion_tokens")?.min(max_tokens);
    // The worker's receipt weights (span and RAG credit merged by its documented rule); an
    // older worker's span attribution otherwise.
    let provena = v.get("provena");
    let attribution = provena
        .and_then(|p| p.get("receipt"))
        .or_else(|| provena.and_then(|p| p.get("attribution")));
    let mut weights: Vec<(ContributionId, u128)> = attribution
        .and_then(|a| a.get("weights"))
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(|w| {
                    Some((
                        ContributionId(w.get("contribution")?.as_u64()?),
                        u128::from(w.get("ppm")?.as_u64()?),
                    ))
                })
                .filter(|(_, ppm)| *ppm > 0)
                .collect()
        })
        .unwrap_or_default();
    let evidence_hash = attribution
        .and_then(|a| a.get("evidence_hash"))
        .and_then(Value::as_str)
        .and_then(parse_h256)
        .unwrap_or_default();
    let pool = attribution.and_then(|a| a.get("pool")).and_then(|p| {
        let datanet = u32::try_from(p.get("datanet")?.as_u64()?).ok()?;
        Some((datanet, u128::from(p.get("ppm")?.as_u64()?)))
    });
    let (attribution, pool) =
        normalize_with_pool(&mut weights, pool, T::MaxAttribution::get() as usize);
    Some(Completion {
        output_hash: provena_primitives::content_hash(&output),
        output,
        input_tokens,
        output_tokens,
        attribution,
        pool,
        evidence_hash,
    })
}

/// A `0x`-hex 32-byte hash.
fn parse_h256(s: &str) -> Option<H256> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = digits.get(i.saturating_mul(2)..i.saturating_mul(2).saturating_add(2))?;
        *o = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(H256(out))
}
