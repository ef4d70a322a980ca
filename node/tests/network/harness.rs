//! The multi-node harness: real `provena-node` processes on one machine, started by the README's
//! own network recipe (extracted from `README.md` and run with bash), plus nodes the scenarios
//! add, each killable and restartable with its exact command line.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use codec::Decode;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use polkadot_sdk::{pallet_session, pallet_staking, sp_core::H256};
use provena_runtime::{AccountId, Balance, Runtime};
use serde_json::Value;

use crate::common::{self, NODE_BIN};

/// The marker after which `README.md` holds the one-machine network recipe.
const RECIPE_MARKER: &str = "<!-- network-recipe: one machine -->";

/// The chain spec the recipe runs.
pub const SPEC: &str = "chain-specs/local_testnet.raw.json";

/// The repository root (the recipe's working directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shell commands of the README's one-machine recipe: the first fenced block after
/// [`RECIPE_MARKER`].
pub fn recipe() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = &readme[readme.find(RECIPE_MARKER).expect("README has the network recipe")..];
    let start = after.find("```sh\n").expect("a sh block follows the marker") + "```sh\n".len();
    let end = after[start..].find("```").expect("the block ends");
    after[start..start + end].to_string()
}

/// A node of the network: a process (started by the recipe or by a scenario), its RPC port and
/// its log.
pub struct NetNode {
    pub name: String,
    pub rpc_port: u16,
    pub pid: u32,
    /// The command line it was started with (for a restart), without the program.
    pub args: Vec<String>,
    pub log: PathBuf,
}

impl NetNode {
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Whether its process still runs (an exited orphan may linger as a zombie).
    pub fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
            .unwrap_or(false)
    }

    /// Kills it without warning (SIGKILL), as a crash or a pulled plug would.
    pub fn kill(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.alive() {
            assert!(Instant::now() < deadline, "{} survived SIGKILL", self.name);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again with the same command line (same keys, database, ports), logging to a
    /// new file.
    pub fn restart(&mut self) {
        assert!(!self.alive(), "{} is still running", self.name);
        let log = self.log.with_extension("restarted.log");
        self.pid = spawn(&self.args, &log);
        self.log = log;
    }

    /// Its Ethereum JSON-RPC port (from its command line).
    pub fn eth_port(&self) -> u16 {
        let at = self.args.iter().position(|a| a == "--eth-rpc-port").expect("an --eth-rpc-port");
        self.args[at + 1].parse().unwrap()
    }

    /// An RPC client, retried while the node starts.
    pub async fn client(&self) -> WsClient {
        common::connect(self.rpc_port, || format!("{}:\n{}", self.name, self.log_tail())).await
    }
}

/// The arguments (without the program) of the node the recipe started as `pid`. The recipe's
/// `provena-node … &` forks a shell that only then executes the node: until it has, the pid's
/// command line is still the recipe's shell (a loaded machine shows that window), so this waits,
/// up to a deadline, for the node's own command line.
fn node_args(pid: u32, name: &str, log: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let mut words = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned());
        if words.next().is_some_and(|program| program.ends_with("provena-node")) {
            return words.collect();
        }
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "{name} (pid {pid}) did not become provena-node within 30 s; its log:\n{tail}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `provena-node <args>` detached, in the repository root, logging to `log`.
fn spawn(args: &[String], log: &Path) -> u32 {
    let file = std::fs::File::create(log).unwrap();
    Command::new(NODE_BIN)
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("the node starts")
        .id()
}

/// The first of each port range the recipe gives its nodes (`$((base + i))` for node `i`): p2p,
/// RPC, Ethereum RPC, Prometheus.
const RECIPE_PORT_BASES: [u16; 4] = [30433, 9954, 8555, 9625];

/// Fails at once, naming the port, when a recipe port is taken (by a node of an earlier run, say:
/// a stale node with the same genesis would also join and confuse the new network).
fn refuse_taken_ports(nodes: usize) {
    let recipe = recipe();
    for base in RECIPE_PORT_BASES {
        assert!(
            recipe.contains(&format!("$(({base} + i))")),
            "the README recipe no longer numbers ports from {base}: update RECIPE_PORT_BASES"
        );
        for port in (base..).take(nodes) {
            if let Err(e) = std::net::TcpListener::bind(("0.0.0.0", port)) {
                panic!(
                    "port {port} of the README network recipe is taken ({e}); stop whatever holds it \
                     (e.g. `pkill provena-node`) and run again"
                );
            }
        }
    }
}

/// A network on one machine. Every node is killed when it is dropped.
pub struct Network {
    pub dir: tempfile::TempDir,
    pub nodes: BTreeMap<String, NetNode>,
    /// The bootnode address the recipe uses (Alice's).
    pub bootnode: String,
}

impl Network {
    /// Runs the README recipe with `NET` set to a fresh directory and `provena-node` on `PATH`;
    /// `nodes` are the names and RPC ports the recipe documents.
    pub fn from_readme(nodes: &[(&str, u16)]) -> Self {
        refuse_taken_ports(nodes.len());
        let dir = tempfile::tempdir().unwrap();
        let bin_dir = Path::new(NODE_BIN).parent().unwrap();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &recipe()])
            .current_dir(repo_root())
            .env("NET", dir.path())
            .env("PATH", path)
            .output()
            .expect("bash runs the recipe");
        assert!(
            out.status.success(),
            "the README's network recipe failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut network = Network { dir, nodes: BTreeMap::new(), bootnode: String::new() };
        for (name, rpc_port) in nodes {
            let pid: u32 = std::fs::read_to_string(network.dir.path().join(format!("{name}.pid")))
                .unwrap_or_else(|e| panic!("the recipe writes {name}.pid: {e}"))
                .trim()
                .parse()
                .unwrap();
            let log = network.dir.path().join(format!("{name}.log"));
            let args = node_args(pid, name, &log);
            if *name == "alice" {
                let at = args.iter().position(|a| a == "--bootnodes").unwrap();
                network.bootnode = args[at + 1].clone();
            }
            let node = NetNode { name: name.to_string(), rpc_port: *rpc_port, pid, args, log };
            network.nodes.insert(name.to_string(), node);
        }
        network
    }

    /// Starts another node on free ports, bootstrapping from Alice, with its own node key.
    pub fn add_node(&mut self, name: &str, extra: &[&str]) -> &mut NetNode {
        let base = self.dir.path().join(name);
        let status = Command::new(NODE_BIN)
            .args(["key", "generate-node-key", "--chain", SPEC, "--base-path"])
            .arg(&base)
            .current_dir(repo_root())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "generate-node-key for {name}");
        let rpc_port = common::free_port();
        let mut args: Vec<String> = vec![
            "--chain".into(),
            SPEC.into(),
            "--base-path".into(),
            base.display().to_string(),
            "--name".into(),
            name.into(),
            "--port".into(),
            common::free_port().to_string(),
            "--rpc-port".into(),
            rpc_port.to_string(),
            "--eth-rpc-port".into(),
            common::free_port().to_string(),
            "--prometheus-port".into(),
            common::free_port().to_string(),
            "--bootnodes".into(),
            self.bootnode.clone(),
            "--no-mdns".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = self.dir.path().join(format!("{name}.log"));
        let pid = spawn(&args, &log);
        let node = NetNode { name: name.into(), rpc_port, pid, args, log };
        self.nodes.insert(name.into(), node);
        self.nodes.get_mut(name).unwrap()
    }

    pub fn node(&mut self, name: &str) -> &mut NetNode {
        self.nodes.get_mut(name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// The last lines of every node's log, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .values()
            .map(|n| format!("==== {} (pid {}) ====\n{}", n.name, n.pid, n.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if node.alive() {
                node.kill();
            }
        }
    }
}

/// Waits for `check` to return `Some` before `timeout`, polling every second; the panic names
/// `what` and shows the network's logs.
pub async fn within<T, F, Fut>(net: &Network, what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("{what}: not within {timeout:?}\n{}", net.logs());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The validators of the current session.
pub async fn session_validators(c: &WsClient, at: Option<H256>) -> Vec<AccountId> {
    let key = pallet_session::Validators::<Runtime>::hashed_key().to_vec();
    common::storage(c, key, at).await.unwrap_or_default()
}

/// The active era's index.
pub async fn active_era(c: &WsClient, at: Option<H256>) -> u32 {
    let key = pallet_staking::ActiveEra::<Runtime>::hashed_key().to_vec();
    common::storage::<pallet_staking::ActiveEraInfo>(c, key, at).await.map_or(0, |e| e.index)
}

/// Reward points (20 per authored block) of each validator in `era`.
pub async fn era_points(c: &WsClient, era: u32, at: Option<H256>) -> BTreeMap<AccountId, u32> {
    let key = pallet_staking::ErasRewardPoints::<Runtime>::hashed_key_for(era);
    common::storage::<pallet_staking::EraRewardPoints<AccountId>>(c, key, at)
        .await
        .map(|p| p.individual.into_iter().collect())
        .unwrap_or_default()
}

/// The block hash at `number` on the node behind `c`, if it has it.
pub async fn block_hash(c: &WsClient, number: u32) -> Option<H256> {
    let v: Value = c.request("chain_getBlockHash", rpc_params![number]).await.ok()?;
    v.as_str().map(|_| common::h256(&v))
}

/// The state root of block `hash`.
pub async fn state_root(c: &WsClient, hash: H256) -> H256 {
    let header: Value =
        c.request("chain_getHeader", rpc_params![common::to_hex(hash.as_bytes())]).await.unwrap();
    common::h256(&header["stateRoot"])
}

/// `author_rotateKeysWithOwner`: new session keys in the node's keystore and the proof that
/// `owner` holds them.
pub async fn rotate_keys(
    c: &WsClient,
    owner: &AccountId,
) -> (provena_runtime::opaque::SessionKeys, Vec<u8>) {
    let owner_hex = common::to_hex(&codec::Encode::encode(owner));
    let v: Value = c.request("author_rotateKeysWithOwner", rpc_params![owner_hex]).await.unwrap();
    let keys = common::from_hex(v["keys"].as_str().expect("keys"));
    let proof = common::from_hex(v["proof"].as_str().expect("proof"));
    (provena_runtime::opaque::SessionKeys::decode(&mut &keys[..]).expect("session keys"), proof)
}

/// Scans the finalized blocks from `cursor` on (and moves it past them) for the first event
/// `pick` selects; returns the block and what was picked.
pub async fn scan_finalized<T>(
    c: &WsClient,
    cursor: &std::cell::Cell<u32>,
    pick: impl Fn(&provena_runtime::RuntimeEvent) -> Option<T>,
) -> Option<(H256, T)> {
    let (head, _) = common::finalized(c).await;
    while cursor.get() <= head {
        let hash = block_hash(c, cursor.get()).await?;
        for event in common::events(c, hash).await {
            if let Some(found) = pick(&event) {
                return Some((hash, found));
            }
        }
        cursor.set(cursor.get() + 1);
    }
    None
}

/// A stash's staking ledger.
pub async fn ledger(
    c: &WsClient,
    stash: &AccountId,
    at: Option<H256>,
) -> Option<pallet_staking::StakingLedger<Runtime>> {
    common::storage(c, pallet_staking::Ledger::<Runtime>::hashed_key_for(stash), at).await
}

/// Page `page` of a validator's exposure in `era` (its nominators and their stake).
pub async fn exposure_page(
    c: &WsClient,
    era: u32,
    validator: &AccountId,
    page: u32,
    at: Option<H256>,
) -> Option<polkadot_sdk::sp_staking::ExposurePage<AccountId, u128>> {
    let key =
        pallet_staking::ErasStakersPaged::<Runtime>::hashed_key_for((era, validator.clone(), page));
    common::storage(c, key, at).await
}

/// A validator's total and own stake in `era`.
pub async fn exposure_overview(
    c: &WsClient,
    era: u32,
    validator: &AccountId,
    at: Option<H256>,
) -> Option<polkadot_sdk::sp_staking::PagedExposureMetadata<u128>> {
    let key = pallet_staking::ErasStakersOverview::<Runtime>::hashed_key_for(era, validator);
    common::storage(c, key, at).await
}

/// The parent of block `hash`.
pub async fn parent_of(c: &WsClient, hash: H256) -> H256 {
    let header: Value =
        c.request("chain_getHeader", rpc_params![common::to_hex(hash.as_bytes())]).await.unwrap();
    common::h256(&header["parentHash"])
}

/// Every storage key under `prefix` at `at`.
pub async fn keys(c: &WsClient, prefix: &[u8], at: H256) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page: Vec<String> = c
            .request(
                "state_getKeysPaged",
                rpc_params![
                    common::to_hex(prefix),
                    1000,
                    start.clone(),
                    common::to_hex(at.as_bytes())
                ],
            )
            .await
            .unwrap();
        let done = page.len() < 1000;
        start = page.last().cloned();
        all.extend(page.iter().map(|k| common::from_hex(k)));
        if done {
            return all;
        }
    }
}

/// The account at the end of a `Twox64Concat`-keyed map's key.
fn twox64_concat_account(key: &[u8]) -> AccountId {
    AccountId::decode(&mut &key[key.len() - 32..]).unwrap()
}

/// The staking pallets' invariants, checked from storage at `at` (what `do_try_state` of
/// `pallet-staking`, `pallet-session` and the balances holds would assert, for the parts a
/// network run exercises), plus the supply: staking rewards and slashes move OPEN, never mint
/// or burn it. `burnt_beyond_events` is what was burnt beyond the fee events (the rounding of
/// Ethereum transactions' fees to whole gas).
pub async fn check_staking_invariants(c: &WsClient, at: H256, burnt_beyond_events: Balance) {
    use polkadot_sdk::{
        frame_support::{storage::StoragePrefixedMap, traits::tokens::IdAmount},
        pallet_balances,
    };
    use provena_runtime::RuntimeHoldReason;

    let issuance: Balance = common::storage(
        c,
        pallet_balances::TotalIssuance::<Runtime>::hashed_key().to_vec(),
        Some(at),
    )
    .await
    .unwrap();
    // Transaction fees are burnt (documented); nothing else changes the supply: staking rewards
    // and slashes only move OPEN. So issuance + every fee paid since genesis = 10^27.
    let head = header_number_of(c, at).await;
    let mut fees: Balance = 0;
    for n in 1..=head {
        let hash = block_hash(c, n).await.expect("a finalized block");
        for event in common::events(c, hash).await {
            if let provena_runtime::RuntimeEvent::TransactionPayment(
                polkadot_sdk::pallet_transaction_payment::Event::TransactionFeePaid {
                    actual_fee,
                    ..
                },
            ) = event
            {
                // `actual_fee` includes the tip.
                fees += actual_fee;
            }
        }
    }
    assert_eq!(
        issuance + fees + burnt_beyond_events,
        provena_primitives::currency::GENESIS_SUPPLY,
        "total issuance plus burnt fees ({fees}) at block #{head}"
    );

    let bonded_prefix = pallet_staking::Bonded::<Runtime>::final_prefix();
    let stashes: Vec<AccountId> =
        keys(c, &bonded_prefix, at).await.iter().map(|k| twox64_concat_account(k)).collect();
    assert!(!stashes.is_empty());
    for stash in &stashes {
        let ledger = ledger(c, stash, Some(at)).await.expect("a bonded stash has a ledger");
        let unlocking: Balance = ledger.unlocking.iter().map(|chunk| chunk.value).sum();
        assert_eq!(ledger.total, ledger.active + unlocking, "ledger of {stash}");
        let holds: Vec<IdAmount<RuntimeHoldReason, Balance>> =
            common::storage(c, pallet_balances::Holds::<Runtime>::hashed_key_for(stash), Some(at))
                .await
                .unwrap_or_default();
        let staked: Balance = holds
            .iter()
            .filter(|h| matches!(h.id, RuntimeHoldReason::Staking(_)))
            .map(|h| h.amount)
            .sum();
        assert_eq!(staked, ledger.total, "the staking hold of {stash} equals its ledger");
    }

    let validators_prefix = pallet_staking::Validators::<Runtime>::map_storage_final_prefix();
    let candidates = keys(c, &validators_prefix, at).await.len() as u32;
    let counted: u32 = common::storage(
        c,
        pallet_staking::Validators::<Runtime>::counter_storage_final_key().to_vec(),
        Some(at),
    )
    .await
    .unwrap_or(0);
    assert_eq!(candidates, counted, "validator counter");
    let max: Option<u32> = common::storage(
        c,
        pallet_staking::MaxValidatorsCount::<Runtime>::hashed_key().to_vec(),
        Some(at),
    )
    .await;
    assert!(candidates <= max.expect("bounded candidates"), "candidates within the bound");

    // Every session validator is bonded and was elected with an exposure in the active era.
    let era = active_era(c, Some(at)).await;
    for v in session_validators(c, Some(at)).await {
        assert!(stashes.contains(&v), "session validator {v} is bonded");
        let key = pallet_staking::ErasStakersOverview::<Runtime>::hashed_key_for(era, &v);
        let raw: Option<Vec<u8>> = c
            .request::<Option<String>, _>(
                "state_getStorage",
                rpc_params![common::to_hex(&key), common::to_hex(at.as_bytes())],
            )
            .await
            .unwrap()
            .map(|h| common::from_hex(&h));
        assert!(raw.is_some(), "session validator {v} has an exposure in era {era}");
    }
}

/// Starts a validator node `name` with a file keystore, rotates its session keys over RPC
/// (`author_rotateKeysWithOwner`) and sends, as `who`, one batch that bonds twice the genesis
/// validator bond, sets the keys with their ownership proof and declares the intent to validate
/// (5% commission); returns once the batch is in a block. Election follows at the next era.
pub async fn join_as_validator(
    net: &mut Network,
    name: &str,
    who: polkadot_sdk::sp_keyring::Sr25519Keyring,
    chain: &WsClient,
) {
    use provena_runtime::{genesis_config_presets::VALIDATOR_BOND, RuntimeCall};
    net.add_node(name, &["--validator"]);
    let node = net.node(name).client().await;
    let (keys, proof) = rotate_keys(&node, &who.to_account_id()).await;
    let join = RuntimeCall::Utility(polkadot_sdk::pallet_utility::Call::batch_all {
        calls: vec![
            RuntimeCall::Staking(pallet_staking::Call::bond {
                value: 2 * VALIDATOR_BOND,
                payee: pallet_staking::RewardDestination::Staked,
            }),
            RuntimeCall::Session(pallet_session::Call::set_keys { keys, proof }),
            RuntimeCall::Staking(pallet_staking::Call::validate {
                prefs: pallet_staking::ValidatorPrefs {
                    commission: polkadot_sdk::sp_runtime::Perbill::from_percent(5),
                    blocked: false,
                },
            }),
        ],
    });
    let xt = common::sign(chain, who, join).await;
    common::submit_and_wait_in_block(chain, &xt).await;
}

/// The number of block `hash`.
pub async fn header_number_of(c: &WsClient, hash: H256) -> u32 {
    let header: Value =
        c.request("chain_getHeader", rpc_params![common::to_hex(hash.as_bytes())]).await.unwrap();
    common::header_number(&header)
}
