//! Provena's inference worker: one base model, any number of LoRA adapters, an
//! OpenAI-compatible API. See `README.md` for the design and the measured figures.

pub mod engine;
pub mod error;
pub mod lora;
pub mod metrics;
pub mod model;
pub mod server;
pub mod store;
