//! The Provena node: a Substrate full node with Aura block production, GRANDPA finality,
//! ParityDb storage, JSON-RPC and off-chain workers.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> polkadot_sdk::sc_cli::Result<()> {
    command::run()
}
