//! `provena-node bridge-relay`: the bridge relayer. It follows finalized Provena blocks and the
//! Ethereum contract's events and relays both ways:
//!
//! - as a committee member (with `--committee-key-file`), it signs every closed epoch root and
//!   every handover its committee owes, and approves every burn on Ethereum (once it has
//!   `--eth-confirmations`), recording each signature on Provena;
//! - with an Ethereum key (`--eth-key-file`), it carries handovers and signed roots to the
//!   contract, claims every transfer out for its recipient and settles attribution roots;
//! - it releases burns on Provena once they have the threshold of approvals.
//!
//! It decides everything from the two chains' state (finalized on Provena; on Ethereum, burns
//! with enough confirmations and the contract's latest state), and both chains refuse what was
//! already done (nonces in order and once, roots and claims once), so a relayer killed at any
//! point and restarted loses nothing and doubles nothing; several relayers may run at once. Its
//! state file only keeps cursors, so that a restart does not rescan from the beginning.

mod ethereum;
mod provena;
mod relay;

use polkadot_sdk::sp_core::{ecdsa, sr25519, Pair, H160};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// The relayer's log target.
pub const LOG: &str = "bridge-relay";

/// What the relayer can fail with.
#[derive(Debug)]
pub enum Error {
    Provena(String),
    Ethereum(String),
    Rpc(jsonrpsee::core::ClientError),
    Config(String),
    NoEthereumKey,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Provena(e) => write!(f, "Provena: {e}"),
            Error::Ethereum(e) => write!(f, "Ethereum: {e}"),
            Error::Rpc(e) => write!(f, "RPC: {e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::NoEthereumKey => write!(f, "no Ethereum key (--eth-key-file)"),
        }
    }
}

impl From<jsonrpsee::core::ClientError> for Error {
    fn from(e: jsonrpsee::core::ClientError) -> Self {
        Error::Rpc(e)
    }
}

/// `provena-node bridge-relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayCmd {
    /// A Provena node's WebSocket RPC endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    pub provena_rpc: String,

    /// An Ethereum node's WebSocket RPC endpoint.
    #[arg(long)]
    pub eth_rpc: String,

    /// The bridge contract (`ProvenaBridge`) on Ethereum; Provena's bridge must target it.
    #[arg(long)]
    pub contract: String,

    /// A file holding the secret of the Provena account that pays the relayer's transactions
    /// (a secret URI: a seed phrase, a `0x` seed, or a development URI such as `//Alice`).
    #[arg(long)]
    pub provena_key_file: PathBuf,

    /// A file holding this committee member's secp256k1 secret key (hex). Without it the
    /// relayer signs nothing and only carries what others signed.
    #[arg(long)]
    pub committee_key_file: Option<PathBuf>,

    /// A file holding the secret key (hex) of the Ethereum account that pays gas. Without it
    /// nothing is sent to Ethereum.
    #[arg(long)]
    pub eth_key_file: Option<PathBuf>,

    /// Where the relayer keeps its cursors (created if missing).
    #[arg(long)]
    pub state_dir: PathBuf,

    /// Ethereum blocks a burn must be under before it is approved.
    #[arg(long, default_value_t = 2)]
    pub eth_confirmations: u64,

    /// Milliseconds between rounds.
    #[arg(long, default_value_t = 2_000)]
    pub poll_ms: u64,
}

fn read_secret(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

fn read_key32(path: &Path) -> Result<[u8; 32], Error> {
    let s = read_secret(path)?;
    let bytes = hex::decode(s.trim_start_matches("0x"))
        .map_err(|e| Error::Config(format!("{}: not hex: {e}", path.display())))?;
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| Error::Config(format!("{}: not a 32-byte key", path.display())))
}

/// Parses a `0x` Ethereum address.
pub fn parse_address(s: &str) -> Result<H160, Error> {
    let bytes = hex::decode(s.trim_start_matches("0x"))
        .map_err(|e| Error::Config(format!("not an address: {s}: {e}")))?;
    if bytes.len() != 20 {
        return Err(Error::Config(format!("not a 20-byte address: {s}")));
    }
    Ok(H160::from_slice(&bytes))
}

impl RelayCmd {
    /// Runs the relayer until it is killed (or a configuration error stops it).
    pub fn run(&self) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(self.run_async())
    }

    async fn run_async(&self) -> Result<(), Error> {
        let contract = parse_address(&self.contract)?;
        let provena_key = sr25519::Pair::from_string(&read_secret(&self.provena_key_file)?, None)
            .map_err(|e| Error::Config(format!("the Provena key: {e:?}")))?;
        let committee_key = match &self.committee_key_file {
            Some(p) => Some(
                ecdsa::Pair::from_seed_slice(&read_key32(p)?)
                    .map_err(|e| Error::Config(format!("the committee key: {e:?}")))?,
            ),
            None => None,
        };
        let eth_key = self.eth_key_file.as_deref().map(read_key32).transpose()?;
        std::fs::create_dir_all(&self.state_dir).map_err(|e| {
            Error::Config(format!("cannot create {}: {e}", self.state_dir.display()))
        })?;
        let mut relayer = relay::Relayer::new(
            provena::Provena::connect(&self.provena_rpc, provena_key).await?,
            ethereum::Ethereum::connect(&self.eth_rpc, contract, eth_key).await?,
            committee_key,
            self.state_dir.join("relayer.json"),
            self.eth_confirmations,
        )?;
        log::info!(
            target: LOG,
            "relaying between {} and contract {contract:?} on Ethereum chain {}",
            self.provena_rpc,
            relayer.eth_chain_id()
        );
        loop {
            match relayer.round().await {
                Ok(()) => {}
                // A configuration mismatch does not heal by retrying.
                Err(e @ Error::Config(_)) => return Err(e),
                Err(e) => log::warn!(target: LOG, "round failed (retrying): {e}"),
            }
            tokio::time::sleep(Duration::from_millis(self.poll_ms)).await;
        }
    }
}
