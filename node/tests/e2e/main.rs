//! End-to-end tests against real `provena-node --dev` nodes, one test binary for the scenarios
//! that fit side by side on one machine: each test starts its own node on free ports and its own
//! base path, so libtest runs them in parallel (`--test-threads`, by default one per core).
//! Most of a scenario's time is spent waiting for six-second blocks, so running them together
//! costs little CPU and saves minutes; one binary also links the runtime once, not seven times.
//!
//! The multi-validator network (`tests/network.rs`) and the paid-inference run with a real model
//! (`tests/inference.rs`) load the machine and keep their own binaries, which cargo runs one
//! after another.

#[path = "../common/mod.rs"]
mod common;

mod agents;
mod attribution;
mod bridge;
mod chain_specs;
mod datanets;
mod dev_chain;
mod eth_history;
mod evm;
mod governance;
mod models;
mod upgrade;
