//! The Provena node: a Substrate full node with Aura block production, GRANDPA finality,
//! ParityDb storage, JSON-RPC and off-chain workers.

// `sc_cli::Error` and `sc_service::Error` are upstream types, large by design; every function
// here returns them to the CLI runner.
#![allow(clippy::result_large_err)]

mod bridge;
mod chain_spec;
mod cli;
mod command;
mod eth;
mod rpc;
mod service;

/// jemalloc, not glibc's malloc: with one arena per thread, glibc kept a full node's resident
/// memory above 300 MB; jemalloc returns freed pages to the system.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> polkadot_sdk::sc_cli::Result<()> {
    command::run()
}
