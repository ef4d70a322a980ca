//! Prometheus metrics served at `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the worker exports.
pub struct Metrics {
    pub registry: Registry,
    /// Requests admitted, by model (`base` or the adapter id).
    pub requests: IntCounterVec,
    /// Tokens, by model and kind (`prompt` / `completion`).
    pub tokens: IntCounterVec,
    /// Requests refused before running, by reason.
    pub rejected: IntCounterVec,
    /// Adapter lookups by result (`device_hit`, `host_hit`, `miss`).
    pub adapter_cache: IntCounterVec,
    /// Adapter evictions by tier.
    pub adapter_evictions: IntCounterVec,
    /// Time to bring an adapter into the device tier.
    pub adapter_load_seconds: Histogram,
    /// Adapters resident in the device tier.
    pub adapters_resident: IntGauge,
    /// Requests waiting for a batch slot.
    pub queue_depth: IntGauge,
    /// Sequences in the running batch.
    pub running: IntGauge,
    /// Time from arrival to the first generated token (no per-model series: adapters are
    /// unbounded in number, a histogram per adapter would be too).
    pub ttft_seconds: Histogram,
    /// Time from arrival to the last token, by endpoint (`chat`, `completion`).
    pub request_seconds: HistogramVec,
    /// Generations ended, by reason (`stop`, `length`, `error`, `cancelled`).
    pub finished: IntCounterVec,
    /// Engine step time, by phase (`prefill`: a step with prompt rows; `decode`: one token
    /// per sequence).
    pub step_seconds: HistogramVec,
    /// Bytes of K/V held by running sequences.
    pub kv_cache_bytes: IntGauge,
    /// The K/V budget (`--kv-cache-bytes`).
    pub kv_cache_budget_bytes: IntGauge,
    /// Sequences preempted (their K/V freed, recomputed later) to keep within the budget.
    pub preemptions: prometheus::IntCounter,
    /// New prompts looked up in the prefix cache.
    pub prefix_cache_lookups: prometheus::IntCounter,
    /// Lookups that reused at least one block.
    pub prefix_cache_hits: prometheus::IntCounter,
    /// Prompt tokens of the prompts looked up.
    pub prefix_cache_prompt_tokens: prometheus::IntCounter,
    /// Prompt tokens whose K/V came from the prefix cache (not prefilled): over
    /// `prefix_cache_prompt_tokens_total`, the token hit rate.
    pub prefix_cache_hit_tokens: prometheus::IntCounter,
    /// Bytes of K/V the prefix cache holds.
    pub prefix_cache_bytes: IntGauge,
    /// Entries the prefix cache holds.
    pub prefix_cache_entries: IntGauge,
    /// HTTP responses, by status class (`2xx`, `4xx`, `5xx`).
    pub responses: IntCounterVec,
    /// Time between consecutive tokens of a sequence.
    pub itl_seconds: Histogram,
    /// Rows per engine step.
    pub batch_rows: Histogram,
}

fn latency_buckets() -> Vec<f64> {
    vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("provena_worker".into()), None)?;
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let requests = counter("requests_total", "Requests admitted, by model.", &["model"])?;
        let tokens =
            counter("tokens_total", "Tokens processed, by model and kind.", &["model", "kind"])?;
        let rejected = counter("rejected_total", "Requests refused, by reason.", &["reason"])?;
        let adapter_cache =
            counter("adapter_cache_total", "Adapter lookups, by result.", &["result"])?;
        let adapter_evictions =
            counter("adapter_evictions_total", "Adapters evicted, by tier.", &["tier"])?;
        // Latency histograms: labels only from small fixed sets, never adapter ids.
        let latency = |name: &str, help: &str| -> prometheus::Result<Histogram> {
            let h =
                Histogram::with_opts(HistogramOpts::new(name, help).buckets(latency_buckets()))?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let latency_by =
            |name: &str, help: &str, label: &str| -> prometheus::Result<HistogramVec> {
                let opts = HistogramOpts::new(name, help).buckets(latency_buckets());
                let h = HistogramVec::new(opts, &[label])?;
                registry.register(Box::new(h.clone()))?;
                Ok(h)
            };
        let adapter_load_seconds =
            latency("adapter_load_seconds", "Time to load an adapter into the device tier.")?;
        let adapters_resident = gauge("adapters_resident", "Adapters in the device tier.")?;
        let queue_depth = gauge("queue_depth", "Requests waiting for a batch slot.")?;
        let running = gauge("running_sequences", "Sequences in the running batch.")?;
        let ttft_seconds = latency("time_to_first_token_seconds", "Arrival to first token.")?;
        let request_seconds = latency_by(
            "request_duration_seconds",
            "Arrival to last token, by endpoint.",
            "endpoint",
        )?;
        let finished =
            counter("finished_total", "Generations ended, by finish reason.", &["reason"])?;
        let step_seconds = latency_by("step_seconds", "Engine step time, by phase.", "phase")?;
        let kv_cache_bytes = gauge("kv_cache_bytes", "K/V bytes held by running sequences.")?;
        let kv_cache_budget_bytes = gauge("kv_cache_budget_bytes", "The K/V budget in bytes.")?;
        let preemptions = prometheus::IntCounter::new(
            "preemptions_total",
            "Sequences preempted to keep the K/V within its budget.",
        )?;
        registry.register(Box::new(preemptions.clone()))?;
        let plain = |name: &str, help: &str| -> prometheus::Result<prometheus::IntCounter> {
            let c = prometheus::IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let prefix_cache_lookups =
            plain("prefix_cache_lookups_total", "New prompts looked up in the prefix cache.")?;
        let prefix_cache_hits =
            plain("prefix_cache_hits_total", "Prefix-cache lookups that reused K/V.")?;
        let prefix_cache_prompt_tokens = plain(
            "prefix_cache_prompt_tokens_total",
            "Prompt tokens of the prompts looked up in the prefix cache.",
        )?;
        let prefix_cache_hit_tokens = plain(
            "prefix_cache_hit_tokens_total",
            "Prompt tokens served from the prefix cache (the token hit rate's numerator).",
        )?;
        let prefix_cache_bytes = gauge("prefix_cache_bytes", "K/V bytes in the prefix cache.")?;
        let prefix_cache_entries = gauge("prefix_cache_entries", "Entries in the prefix cache.")?;
        let responses =
            counter("http_responses_total", "HTTP responses, by status class.", &["class"])?;
        let itl_seconds =
            latency("inter_token_latency_seconds", "Time between tokens of a sequence.")?;
        let batch_rows = Histogram::with_opts(
            HistogramOpts::new("batch_rows", "Token rows per engine step.")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
        )?;
        registry.register(Box::new(batch_rows.clone()))?;
        Ok(Self {
            registry,
            requests,
            tokens,
            rejected,
            adapter_cache,
            adapter_evictions,
            adapter_load_seconds,
            adapters_resident,
            queue_depth,
            running,
            ttft_seconds,
            request_seconds,
            finished,
            step_seconds,
            kv_cache_bytes,
            kv_cache_budget_bytes,
            preemptions,
            prefix_cache_lookups,
            prefix_cache_hits,
            prefix_cache_prompt_tokens,
            prefix_cache_hit_tokens,
            prefix_cache_bytes,
            prefix_cache_entries,
            responses,
            itl_seconds,
            batch_rows,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
