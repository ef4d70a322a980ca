//! The endpoint's flags and its server: the JSON-RPC modules merged, the limits applied, the
//! index started.

use std::{net::SocketAddr, sync::Arc};

use polkadot_sdk::{sc_service::TaskManager, sp_blockchain::HeaderBackend};
use provena_runtime::opaque::Block;
use sc_network_sync::SyncingService;

use super::{debug, filters, index, rate, Eth, EthApiServer, Limits, Pool};
use crate::service::FullClient;

/// The flags of the Ethereum endpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct EthRpcParams {
    /// Port of the Ethereum JSON-RPC endpoint (HTTP and WebSocket).
    #[arg(long, env = "PROVENA_ETH_RPC_PORT", default_value_t = 8545)]
    pub eth_rpc_port: u16,
    /// Listen on all interfaces instead of localhost only.
    #[arg(long, env = "PROVENA_ETH_RPC_EXTERNAL")]
    pub eth_rpc_external: bool,
    /// Do not serve the Ethereum JSON-RPC endpoint.
    #[arg(long, env = "PROVENA_NO_ETH_RPC")]
    pub no_eth_rpc: bool,
    /// How many blocks behind the last finalized block the Ethereum index (transactions,
    /// receipts, logs, blocks) keeps; older ones are pruned.
    #[arg(long, env = "PROVENA_ETH_INDEX_DEPTH", default_value_t = 100_000)]
    pub eth_index_depth: u32,
    /// Delete the Ethereum index at start and build it again from the state the node still has.
    #[arg(long)]
    pub eth_index_rebuild: bool,
    /// Blocks one `eth_getLogs` (or `eth_getFilterLogs`) may span.
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_LOG_RANGE", default_value_t = 2_048)]
    pub eth_rpc_max_log_range: u32,
    /// Logs one `eth_getLogs` may return (more is an error asking for a narrower range).
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_LOGS", default_value_t = 10_000)]
    pub eth_rpc_max_logs: u32,
    /// Calls in one JSON-RPC batch (0 refuses batches).
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_BATCH", default_value_t = 100)]
    pub eth_rpc_max_batch: u32,
    /// Largest request body, in bytes.
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_REQUEST_BYTES", default_value_t = 5 << 20)]
    pub eth_rpc_max_request_bytes: u32,
    /// Largest response body, in bytes.
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_RESPONSE_BYTES", default_value_t = 25 << 20)]
    pub eth_rpc_max_response_bytes: u32,
    /// Simultaneous connections (HTTP and WebSocket).
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_CONNECTIONS", default_value_t = 100)]
    pub eth_rpc_max_connections: u32,
    /// Subscriptions one WebSocket connection may hold.
    #[arg(long, env = "PROVENA_ETH_RPC_MAX_SUBSCRIPTIONS", default_value_t = 64)]
    pub eth_rpc_max_subscriptions: u32,
    /// Calls one connection may make per minute (0: no limit). Over it, calls are refused
    /// with -32005 at once.
    #[arg(long, env = "PROVENA_ETH_RPC_RATE_LIMIT", default_value_t = 0)]
    pub eth_rpc_rate_limit: u32,
}

/// Starts the Ethereum endpoint: the index (backfilled in the background, then following
/// imports) and the JSON-RPC server.
pub fn start(
    params: &EthRpcParams,
    chain_dir: &std::path::Path,
    client: Arc<FullClient>,
    pool: Arc<Pool>,
    sync: Arc<SyncingService<Block>>,
    task_manager: &TaskManager,
) -> Result<(), String> {
    if params.no_eth_rpc {
        return Ok(());
    }
    let store = index::spawn(
        chain_dir,
        &client,
        params.eth_index_depth,
        params.eth_index_rebuild,
        task_manager,
    )?;

    let chain_id = provena_runtime::configs::EVM_CHAIN_ID;
    let starting_block = client.info().best_number;
    let filters = Default::default();
    let limits = Limits {
        log_range: params.eth_rpc_max_log_range.max(1),
        logs: usize::try_from(params.eth_rpc_max_logs).unwrap_or(usize::MAX),
    };
    let eth = Eth { client, pool, sync, store, filters, chain_id, limits, starting_block };
    task_manager.spawn_handle().spawn(
        "eth-pending-filters",
        Some("eth-rpc"),
        filters::follow_pool(eth.clone()),
    );
    let mut module = EthApiServer::into_rpc(eth.clone());
    module
        .merge(filters::EthFilterApiServer::into_rpc(eth.clone()))
        .and_then(|()| module.merge(debug::EthDebugApiServer::into_rpc(eth)))
        .map_err(|e| format!("the Ethereum RPC methods clash: {e}"))?;
    let ip = if params.eth_rpc_external { [0, 0, 0, 0] } else { [127, 0, 0, 1] };
    let addr = SocketAddr::from((ip, params.eth_rpc_port));
    let cors = tower_http::cors::CorsLayer::permissive();
    // Bound here, once, so a taken port fails the node's start with a clear message.
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {addr} for the Ethereum RPC: {e}"))?;
    let rate_limit = rate::RateLimitLayer::per_minute(params.eth_rpc_rate_limit);
    let server = jsonrpsee::server::Server::builder()
        .set_http_middleware(tower::ServiceBuilder::new().layer(cors))
        .set_rpc_middleware(jsonrpsee::server::RpcServiceBuilder::new().option_layer(rate_limit))
        .set_id_provider(filters::HexIdProvider)
        .set_batch_request_config(match params.eth_rpc_max_batch {
            0 => jsonrpsee::server::BatchRequestConfig::Disabled,
            n => jsonrpsee::server::BatchRequestConfig::Limit(n),
        })
        .max_request_body_size(params.eth_rpc_max_request_bytes)
        .max_response_body_size(params.eth_rpc_max_response_bytes)
        .max_connections(params.eth_rpc_max_connections)
        .max_subscriptions_per_connection(params.eth_rpc_max_subscriptions)
        .build_from_tcp(listener)
        .map_err(|e| format!("the Ethereum RPC server cannot start on {addr}: {e}"))?;
    log::info!(target: "eth-rpc", "Ethereum JSON-RPC on {addr} (chain id {chain_id})");
    let handle = server.start(module);
    task_manager.spawn_essential_handle().spawn("eth-rpc-server", Some("eth-rpc"), async move {
        handle.stopped().await;
    });
    Ok(())
}
