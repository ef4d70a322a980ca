//! Dispatches the command line to the node service or to a subcommand.

#[cfg(feature = "runtime-benchmarks")]
use polkadot_sdk::{
    frame_benchmarking_cli::{BenchmarkCmd, SUBSTRATE_REFERENCE_HARDWARE},
    sp_runtime::traits::HashingFor,
};
use polkadot_sdk::{
    sc_cli::{self, SubstrateCli},
    sc_network::{config::NetworkBackendType, Litep2pNetworkBackend, NetworkWorker},
    sc_service::PartialComponents,
    sp_runtime::traits::Block as BlockT,
};
use provena_runtime::opaque::Block;

use crate::{
    chain_spec,
    cli::{Cli, Subcommand},
    service,
};

impl SubstrateCli for Cli {
    fn impl_name() -> String {
        "Provena Node".into()
    }

    fn impl_version() -> String {
        env!("SUBSTRATE_CLI_IMPL_VERSION").into()
    }

    fn description() -> String {
        env!("CARGO_PKG_DESCRIPTION").into()
    }

    fn author() -> String {
        env!("CARGO_PKG_AUTHORS").into()
    }

    fn support_url() -> String {
        "https://provena.invalid/provena/issues".into()
    }

    fn copyright_start_year() -> i32 {
        2026
    }

    fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
        Ok(match id {
            "dev" => Box::new(chain_spec::development_chain_spec()?),
            "" | "local" => Box::new(chain_spec::local_chain_spec()?),
            "testnet" => Box::new(chain_spec::testnet_chain_spec()?),
            path => {
                Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
            }
        })
    }
}

use polkadot_sdk::sc_service;

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
    let cli = Cli::from_args();

    match &cli.subcommand {
        Some(Subcommand::Key(cmd)) => cmd.run(&cli),
        Some(Subcommand::BuildSpec(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
        }
        Some(Subcommand::ExportChainSpec(cmd)) => {
            let spec = cli.load_spec(&cmd.chain)?;
            cmd.run(spec)
        }
        Some(Subcommand::CheckBlock(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents { client, task_manager, import_queue, .. } =
                    service::new_partial(&config)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::ExportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.database), task_manager))
            })
        }
        Some(Subcommand::ExportState(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.chain_spec), task_manager))
            })
        }
        Some(Subcommand::ImportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents { client, task_manager, import_queue, .. } =
                    service::new_partial(&config)?;
                // Imported blocks are indexed for the Ethereum endpoint while their state exists.
                if !cli.eth.no_eth_rpc {
                    crate::eth::spawn_index(
                        &config.base_path.config_dir(config.chain_spec.id()),
                        &client,
                        cli.eth.eth_index_depth,
                        false,
                        &task_manager,
                    )
                    .map_err(|e| sc_cli::Error::Application(e.into()))?;
                }
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::PurgeChain(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| {
                let chain_dir = config.base_path.config_dir(config.chain_spec.id());
                let db = config.database.path().map(|p| p.to_path_buf());
                cmd.run(config.database)?;
                // The Ethereum index goes with the chain's database (unless the purge was declined).
                let index = crate::eth::index_path(&chain_dir);
                if db.is_some_and(|db| !db.exists()) && index.exists() {
                    std::fs::remove_dir_all(&index)?;
                    println!("{:?} removed.", index);
                }
                Ok(())
            })
        }
        Some(Subcommand::Revert(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents { client, task_manager, backend, .. } =
                    service::new_partial(&config)?;
                // Reverting finalized blocks must also rewind GRANDPA's authority-set state.
                let aux_revert = Box::new(|client, _, blocks| {
                    polkadot_sdk::sc_consensus_grandpa::revert(client, blocks)?;
                    Ok(())
                });
                Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
            })
        }
        #[cfg(feature = "runtime-benchmarks")]
        Some(Subcommand::Benchmark(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| run_benchmark(cmd, config))
        }
        Some(Subcommand::BridgeRelay(cmd)) => {
            let directives = std::env::var("RUST_LOG")
                .unwrap_or_else(|_| format!("{}=info", crate::bridge::LOG));
            sc_cli::LoggerBuilder::new(directives)
                .init()
                .map_err(|e| sc_cli::Error::Input(format!("cannot start logging: {e}")))?;
            cmd.run().map_err(|e| sc_cli::Error::Input(format!("bridge-relay: {e}")))
        }
        Some(Subcommand::ChainInfo(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run::<Block>(&config))
        }
        None => {
            let runner = cli.create_runner(&cli.run)?;
            let eth = cli.eth.clone();
            let inference = cli.inference.clone();
            runner.run_node_until_exit(|config| async move {
                match config.network.network_backend {
                    NetworkBackendType::Libp2p => service::new_full::<
                        NetworkWorker<Block, <Block as BlockT>::Hash>,
                    >(config, &eth, &inference)
                    .map_err(sc_cli::Error::Service),
                    NetworkBackendType::Litep2p => {
                        service::new_full::<Litep2pNetworkBackend>(config, &eth, &inference)
                            .map_err(sc_cli::Error::Service)
                    }
                }
            })
        }
    }
}

/// Runs a `benchmark` subcommand against this node's runtime and database.
#[cfg(feature = "runtime-benchmarks")]
fn run_benchmark(cmd: &BenchmarkCmd, config: sc_service::Configuration) -> sc_cli::Result<()> {
    match cmd {
        BenchmarkCmd::Pallet(cmd) => {
            // The benchmark CLI brings the standard and benchmarking host functions itself.
            cmd.run_with_spec::<HashingFor<Block>, ()>(Some(config.chain_spec))
        }
        BenchmarkCmd::Block(cmd) => {
            let PartialComponents { client, .. } = service::new_partial(&config)?;
            cmd.run(client)
        }
        BenchmarkCmd::Storage(cmd) => {
            let PartialComponents { client, backend, .. } = service::new_partial(&config)?;
            let db = backend.expose_db();
            let storage = backend.expose_storage();
            let shared_trie_cache = backend.expose_shared_trie_cache();
            cmd.run(config, client, db, storage, shared_trie_cache)
        }
        BenchmarkCmd::Machine(cmd) => cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone()),
        BenchmarkCmd::Overhead(_) | BenchmarkCmd::Extrinsic(_) => Err(
            "`benchmark overhead` and `benchmark extrinsic` are not supported by this node; use \
			 `benchmark pallet` for call weights."
                .into(),
        ),
    }
}
