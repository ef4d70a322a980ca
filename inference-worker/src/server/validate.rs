//! Parsing and validating requests: malformed JSON → 400, a field out of its domain → 422 naming
//! the field; the engine only ever sees a [`Valid`] request.

use super::{
    types::{ApiError, Common, OneOrMany},
    AppState,
};
use crate::{engine::Sampling, error::Error, model::KvCache};
use axum::{body::Bytes, http::StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses a JSON body: 400 for bad JSON, 422 naming the field for a wrong shape.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    parse_value(&parse_json(body)?)
}

pub(crate) fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", None, format!("malformed JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Deserializes `value` (unknown fields ignored), naming the field that does not fit.
pub(crate) fn parse_value<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let param = (path != ".").then(|| path.clone());
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            param,
            format!("{path}: {}", e.inner()),
        )
    })
}

/// A request after validation: what the engine and the response need.
pub(crate) struct Valid {
    pub(crate) prompt: Vec<u32>,
    pub(crate) max_tokens: usize,
    pub(crate) sampling: Sampling,
    pub(crate) stop: Vec<String>,
    pub(crate) stop_tokens: Vec<u32>,
    pub(crate) logprobs: Option<usize>,
    pub(crate) stream: bool,
    /// `stream_options.include_usage`.
    pub(crate) include_usage: bool,
    /// Choices to generate.
    pub(crate) n: usize,
    /// `response_format`, members in the client's order (set from the raw body).
    pub(crate) format: Option<crate::engine::Ordered>,
    pub(crate) model: String,
}

/// Refuses an OpenAI parameter the worker does not serve yet, unless it has its no-op value
/// (`false`, `0`, `1` for `best_of`, `{}`/`[]`/`null`).
fn refuse_unserved(common: &Common) -> Result<(), ApiError> {
    use serde_json::Value;
    let noop = |v: &Value, neutral: f64| match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(neutral),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    let checks: [(&str, &Option<Value>, bool); 5] = [
        ("tools", &common.tools, false),
        ("tool_choice", &common.tool_choice, false),
        ("best_of", &common.best_of, true),
        ("echo", &common.echo, false),
        ("suffix", &common.suffix, false),
    ];
    if let Some(salt) = &common.cache_salt {
        if salt.is_empty() || salt.chars().count() > 256 {
            return Err(Error::invalid("cache_salt", "must be 1 to 256 characters").into());
        }
    }
    for (param, value, neutral_is_one) in checks {
        let Some(v) = value else { continue };
        let served = match param {
            "tool_choice" => noop(v, 0.0) || v.as_str() == Some("none"),
            "suffix" => noop(v, 0.0) || v.as_str() == Some(""),
            _ => noop(v, if neutral_is_one { 1.0 } else { 0.0 }),
        };
        if !served {
            return Err(Error::invalid(param, "not supported by this worker yet").into());
        }
    }
    Ok(())
}

pub(crate) fn validate(
    state: &AppState,
    common: &Common,
    tokens: Vec<u32>,
    prompt_param: &str,
) -> Result<Valid, ApiError> {
    refuse_unserved(common)?;
    let n = common.n.unwrap_or(1) as usize;
    if !(1..=16).contains(&n) || n > state.engine.max_batch() {
        let most = state.engine.max_batch().min(16);
        return Err(Error::invalid("n", format!("must be between 1 and {most}")).into());
    }
    let temperature = common.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(Error::invalid("temperature", "must be between 0 and 2").into());
    }
    let top_p = common.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(Error::invalid("top_p", "must be in (0, 1]").into());
    }
    let stop = common.stop.clone().map(OneOrMany::into_vec).unwrap_or_default();
    if stop.len() > 4 || stop.iter().any(|s| s.is_empty() || s.len() > 64) {
        return Err(
            Error::invalid("stop", "at most 4 non-empty stop sequences of ≤ 64 bytes").into()
        );
    }
    let vocab = state.model.config.vocab;
    let in_range = |name: &str, v: Option<f32>, lo: f32, hi: f32, neutral: f32| {
        let v = v.unwrap_or(neutral);
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(ApiError::from(Error::invalid(name, format!("must be between {lo} and {hi}"))))
        }
    };
    let presence_penalty = in_range("presence_penalty", common.presence_penalty, -2.0, 2.0, 0.0)?;
    let frequency_penalty =
        in_range("frequency_penalty", common.frequency_penalty, -2.0, 2.0, 0.0)?;
    let repetition_penalty =
        in_range("repetition_penalty", common.repetition_penalty, 0.01, 10.0, 1.0)?;
    let mut logit_bias = Vec::new();
    for (key, &bias) in common.logit_bias.iter().flatten() {
        let param = format!("logit_bias.{key}");
        let id = key.parse::<u32>().ok().filter(|&id| (id as usize) < vocab).ok_or_else(|| {
            Error::invalid(&param, format!("not a token id of this model (0..{vocab})"))
        })?;
        logit_bias.push((id, in_range(&param, Some(bias), -100.0, 100.0, 0.0)?));
    }
    if logit_bias.len() > 300 {
        return Err(Error::invalid("logit_bias", "at most 300 tokens").into());
    }
    let stop_tokens = common.stop_token_ids.clone().unwrap_or_default();
    if stop_tokens.len() > 16 || stop_tokens.iter().any(|&t| t as usize >= vocab) {
        return Err(Error::invalid(
            "stop_token_ids",
            format!("at most 16 token ids of this model (0..{vocab})"),
        )
        .into());
    }
    // Chat: `logprobs: true` and `top_logprobs` (0–20); completions: `logprobs: k` (0–5).
    let chat = prompt_param == "messages";
    let logprobs = match (&common.logprobs, chat) {
        (None | Some(Value::Null) | Some(Value::Bool(false)), _) => {
            if chat && common.top_logprobs.is_some_and(|k| k > 0) {
                return Err(Error::invalid("top_logprobs", "needs logprobs: true").into());
            }
            None
        }
        (Some(Value::Bool(true)), true) => {
            let k = common.top_logprobs.unwrap_or(0);
            if k > 20 {
                return Err(Error::invalid("top_logprobs", "must be between 0 and 20").into());
            }
            Some(k as usize)
        }
        (Some(Value::Number(n)), false) => match n.as_u64() {
            Some(k) if k <= 5 => Some(k as usize),
            _ => return Err(Error::invalid("logprobs", "must be between 0 and 5").into()),
        },
        _ => {
            let want = if chat { "a boolean" } else { "an integer between 0 and 5" };
            return Err(Error::invalid("logprobs", format!("must be {want}")).into());
        }
    };
    if tokens.is_empty() {
        return Err(Error::invalid(prompt_param, "the prompt is empty").into());
    }
    // The K/V budget bounds a sequence as the context does: a request that could not run even
    // alone is refused, not queued forever.
    let context = state.model.config.context;
    let budget = state.engine.kv_budget();
    let within_budget = KvCache::positions_within(&state.model.config, budget);
    let (limit, bound) = if within_budget < context {
        (within_budget, format!("the worker's K/V budget of {} MiB", budget >> 20))
    } else {
        (context, format!("the model's context of {context}"))
    };
    if tokens.len() >= limit {
        return Err(Error::invalid(
            prompt_param,
            format!("the prompt is {} tokens; {bound} holds {limit}", tokens.len()),
        )
        .into());
    }
    let room = limit.saturating_sub(tokens.len());
    let max_tokens =
        common.max_completion_tokens.or(common.max_tokens).unwrap_or(256.min(room as u64));
    let max_tokens = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    if max_tokens == 0 {
        return Err(Error::invalid("max_tokens", "must be at least 1").into());
    }
    if max_tokens > room {
        return Err(Error::invalid(
            "max_tokens",
            format!(
                "{} prompt tokens + {max_tokens} exceed {bound} ({limit} tokens)",
                tokens.len()
            ),
        )
        .into());
    }
    Ok(Valid {
        prompt: tokens,
        max_tokens,
        sampling: Sampling {
            temperature,
            top_p,
            seed: common.seed,
            logit_bias,
            presence_penalty,
            frequency_penalty,
            repetition_penalty,
        },
        stop_tokens,
        logprobs,
        include_usage: common.stream_options.as_ref().is_some_and(|o| o.include_usage),
        format: None,
        n,
        stop,
        stream: common.stream,
        model: common.model.clone(),
    })
}
