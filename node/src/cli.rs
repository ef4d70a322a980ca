//! Command-line interface: `provena-node [run flags]` or `provena-node <subcommand>`.

#[cfg(feature = "runtime-benchmarks")]
use polkadot_sdk::frame_benchmarking_cli::BenchmarkCmd;
use polkadot_sdk::sc_cli;

/// The subcommands besides running the node.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
    /// Key management: generate, inspect and insert keys, generate node keys.
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),

    /// Build a chain specification (deprecated upstream in favour of `export-chain-spec`,
    /// kept because operators' scripts use it).
    BuildSpec(sc_cli::BuildSpecCmd),

    /// Export the chain specification, optionally in raw form.
    ExportChainSpec(sc_cli::ExportChainSpecCmd),

    /// Validate blocks.
    CheckBlock(sc_cli::CheckBlockCmd),

    /// Export blocks to a file.
    ExportBlocks(sc_cli::ExportBlocksCmd),

    /// Export the state of a given block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),

    /// Import blocks from a file.
    ImportBlocks(sc_cli::ImportBlocksCmd),

    /// Remove the whole chain database.
    PurgeChain(sc_cli::PurgeChainCmd),

    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),

    /// Runtime benchmarks (`benchmark pallet`, `storage`, `block`, `machine`, ...): only in the
    /// benchmarking build (`--features runtime-benchmarks`), which generates the weights; the
    /// node that runs a chain carries neither the benchmarking CLI nor a benchmarking runtime.
    #[cfg(feature = "runtime-benchmarks")]
    #[command(subcommand)]
    Benchmark(BenchmarkCmd),

    /// Database and chain information.
    ChainInfo(sc_cli::ChainInfoCmd),

    /// The bridge relayer: follows finalized Provena blocks and the Ethereum bridge contract
    /// and relays both ways (see the README, "Bridge to Ethereum").
    BridgeRelay(crate::bridge::RelayCmd),
}

/// The Provena node's command line.
#[derive(Debug, clap::Parser)]
#[command(
    propagate_version = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// A subcommand; without one the node runs.
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    /// Flags of a running node.
    #[clap(flatten)]
    pub run: sc_cli::RunCmd,

    /// The Ethereum JSON-RPC endpoint.
    #[clap(flatten)]
    pub eth: crate::eth::EthRpcParams,

    /// The inference worker this node's off-chain worker serves on-chain jobs with.
    #[clap(flatten)]
    pub inference: InferenceParams,
}

/// How this node serves on-chain inference jobs (`pallet-inference`'s off-chain worker).
#[derive(Debug, Clone, clap::Args)]
pub struct InferenceParams {
    /// Base URL of the inference worker (e.g. `http://127.0.0.1:8000`) that serves the jobs
    /// assigned to this node's operator keys. The off-chain worker POSTs each job to its
    /// `/v1/chat/completions` and submits the answer signed by the operator key (key type
    /// `infr`, inserted with `key insert`). Without it this node serves no jobs.
    #[arg(long, env = "PROVENA_INFERENCE_WORKER_URL", value_name = "URL")]
    pub inference_worker_url: Option<String>,

    /// Puts the operator key of this secret URI (key type `infr`) in the keystore at start,
    /// e.g. `//Ferdie` on a development chain. A production operator inserts its key once with
    /// `provena-node key insert --key-type infr` instead of passing a secret on the command
    /// line. On `--dev` chains the development operator key `//Ferdie` is inserted by default.
    #[arg(long, env = "PROVENA_INFERENCE_OPERATOR_SURI", value_name = "SURI")]
    pub inference_operator_suri: Option<String>,
}
