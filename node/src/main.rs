//! The Provena node: a Substrate full node with Aura block production, GRANDPA finality,
//! ParityDb storage, JSON-RPC and off-chain workers.

// `sc_cli::Error` and `sc_service::Error` are upstream types, large by design; every function
// here returns them to the CLI runner.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod eth;
mod rpc;
mod service;

fn main() -> polkadot_sdk::sc_cli::Result<()> {
    command::run()
}
