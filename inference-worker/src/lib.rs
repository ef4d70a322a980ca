//! Provena's inference worker: one base model, any number of LoRA adapters, an
//! OpenAI-compatible API. See `README.md` for the design and the measured figures.

pub mod chain;
pub mod engine;
pub mod error;
pub mod lora;
pub mod metrics;
pub mod model;
pub mod os;
pub mod qgemm;
pub mod server;
pub mod store;
pub mod train;

/// Process-wide settings for the CPU engine; call before the first tensor operation.
///
/// Every parallel part of a step (the 8-bit matmuls, attention, LoRA) runs on candle's
/// barrier pool, whose workers spin for `CANDLE_BARRIER_POOL_SPIN_LIMIT` `pause`s after each
/// region before parking. A step has about a hundred regions separated by short serial
/// host loops, and waking a parked worker costs tens of microseconds on a VM, so the workers
/// are kept spinning through a step (100,000 pauses, a few milliseconds, then they park when
/// the engine is idle). An explicit `CANDLE_BARRIER_POOL_SPIN_LIMIT` is left alone.
///
/// It also caps glibc's malloc arenas (see [`os::limit_malloc_arenas`]), and creates the
/// compute thread pools (candle's barrier pool, rayon's global pool) from the calling thread:
/// a thread inherits its creator's scheduling priority, and a pool first used from a
/// background thread ([`os::background_priority`]) would compute at background priority.
pub fn tune_cpu_threads() {
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "100000");
    }
    os::limit_malloc_arenas();
    let _ = candle_core::utils::barrier_pool();
    let _ = rayon::current_num_threads();
}
