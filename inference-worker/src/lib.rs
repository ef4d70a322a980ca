//! Provena's inference worker: one base model, any number of LoRA adapters, an
//! OpenAI-compatible API. See `README.md` for the design and the measured figures.

pub mod engine;
pub mod error;
pub mod lora;
pub mod metrics;
pub mod model;
pub mod server;
pub mod store;

/// Process-wide settings for the CPU engine; call before the first tensor operation.
///
/// candle's matmul thread pool spins for 25,000 `pause`s after each matmul before parking,
/// which steals a core from the host loops that run between matmuls (attention, LoRA) on a
/// small machine. A short spin (1,000) measured 15–20% more tokens/s on 2 cores with
/// `lora-bench`. An explicit `CANDLE_BARRIER_POOL_SPIN_LIMIT` is left alone.
pub fn tune_cpu_threads() {
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "1000");
    }
}
