//! `provena-inference-worker`: `serve` the OpenAI API, or write synthetic adapters.

use anyhow::{anyhow, Context, Result};
use candle_core::Device;
use clap::{Parser, Subcommand, ValueEnum};
use provena_attribution::ModelTokenizer;
use provena_inference_worker::{
    chain::{mask, rpc::Node, voucher, SettleConfig, Settlement},
    engine::{self, EngineConfig},
    lora::{write_synthetic, SynthSpec},
    metrics::Metrics,
    model::{KvCache, Model, Precision, Target},
    server::{router, Access, AppState, ChatTemplate, RagSource, TemplateMeta},
    store::{AdapterStore, StoreLimits},
};
use std::{path::PathBuf, sync::Arc, time::Instant};

#[derive(Parser)]
#[command(name = "provena-inference-worker", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    /// Weights as stored where the worker computes on the stored blocks (Q4_0/Q4_1), otherwise
    /// re-quantized to its 8-bit tiles.
    Native,
    /// Every quantized projection re-quantized to the worker's 8-bit tiles.
    Int8,
    /// Everything dequantized to f32 (a reference; 4x the memory).
    Dense,
}

/// The base model and how its text is read (`serve` and `train` take the same).
#[derive(clap::Args)]
struct BaseArgs {
    /// The base model: a GGUF file or an HF directory (config.json, *.safetensors, tokenizer.json).
    #[arg(long, env = "PROVENA_MODEL")]
    model: PathBuf,
    /// Where the tokenizer is, when not inside the GGUF or the HF directory.
    #[arg(long, env = "PROVENA_TOKENIZER")]
    tokenizer: Option<PathBuf>,
    /// A Jinja chat template file to use instead of the model's own (which is used when
    /// present; ChatML otherwise).
    #[arg(long, env = "PROVENA_CHAT_TEMPLATE")]
    chat_template: Option<PathBuf>,
}

/// The text of the `--chat-template` file, if one is given.
fn read_chat_template(path: Option<PathBuf>) -> Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(&p)
            .with_context(|| format!("reading the chat template {}", p.display()))
    })
    .transpose()
}

// Parsed once at start: the size of the largest subcommand's flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the OpenAI-compatible API.
    Serve {
        #[command(flatten)]
        base: BaseArgs,
        /// Address to listen on.
        #[arg(long, env = "PROVENA_WORKER_HOST", default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0 picks a free one; the chosen address is printed).
        #[arg(long, env = "PROVENA_WORKER_PORT", default_value_t = 8000)]
        port: u16,
        /// The content-addressed adapter store.
        #[arg(long, env = "PROVENA_ADAPTERS_DIR", default_value = "adapters")]
        adapters_dir: PathBuf,
        /// The bearer key the inference API (completions, chat, models) requires; without
        /// one it is open (paid requests carry vouchers).
        #[arg(long, env = "PROVENA_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// The bearer key adapter administration (`/v1/adapters…`) requires; without one
        /// administration is disabled (403).
        #[arg(long, env = "PROVENA_ADMIN_KEY", hide_env_values = true)]
        admin_key: Option<String>,
        /// The only directory adapters are imported from (`POST /v1/adapters {"path"}` names a
        /// folder under it); without one imports are disabled.
        #[arg(long, env = "PROVENA_IMPORT_ROOT")]
        import_root: Option<PathBuf>,
        /// The largest adapter file an import reads, in MiB.
        #[arg(long, env = "PROVENA_MAX_ADAPTER_MB", default_value_t = 1024)]
        max_adapter_mb: u64,
        /// Where fine-tuning jobs (`/v1/fine_tuning/jobs`, administration key required) keep
        /// their records and checkpoints; without one fine-tuning is disabled. Training files
        /// are read from under `--import-root`; adapters land in `--adapters-dir`.
        #[arg(long, env = "PROVENA_FINE_TUNING_DIR")]
        fine_tuning_dir: Option<PathBuf>,
        /// The built web app (Provena Studio: `inference-worker/web/dist`, `npm run build`),
        /// served at `/`; without it only the API is served.
        #[arg(long, env = "PROVENA_WEB_ROOT")]
        web_root: Option<PathBuf>,
        /// Milliseconds a stream may be idle (queued, a long prefill) before an SSE keep-alive
        /// comment is sent.
        #[arg(long, env = "PROVENA_SSE_KEEP_ALIVE_MS", default_value_t = 15_000)]
        sse_keep_alive_ms: u64,
        /// Host-memory tier for adapter files, in MiB.
        #[arg(long, env = "PROVENA_HOST_CACHE_MB", default_value_t = 2048)]
        host_cache_mb: usize,
        /// Prepared adapters kept ready for the engine.
        #[arg(long, env = "PROVENA_DEVICE_SLOTS", default_value_t = 128)]
        device_slots: usize,
        /// Sequences decoded together. 32 measured ~10% more tokens/s than 16 on 2 cores
        /// (`lora-bench`), and a quarter of the queueing delay before the first token.
        #[arg(long, env = "PROVENA_MAX_BATCH", default_value_t = 32)]
        max_batch: usize,
        /// Requests allowed to wait for a slot before answering 429.
        #[arg(long, env = "PROVENA_MAX_QUEUE", default_value_t = 256)]
        max_queue: usize,
        /// Tokens per engine step: one per decoding sequence, the rest prompt chunks (a longer
        /// prompt is prefilled over several steps, so decodes never stall behind it).
        #[arg(long, env = "PROVENA_PREFILL_BUDGET", default_value_t = 512)]
        prefill_budget: usize,
        /// Bytes of K/V cache all running sequences may hold together (default: a quarter of
        /// the machine's memory). A request that alone would need more is refused (422); one
        /// that does not fit now waits; running sequences past it are preempted and recomputed.
        #[arg(long, env = "PROVENA_KV_CACHE_BYTES")]
        kv_cache_bytes: Option<usize>,
        /// Bytes of K/V kept from finished requests for later prompts that start the same way
        /// (a shared system prompt, earlier turns of a conversation), apart from the budget
        /// above (default: a quarter of it; 0 disables prefix caching).
        #[arg(long, env = "PROVENA_PREFIX_CACHE_BYTES")]
        prefix_cache_bytes: Option<usize>,
        /// The longest sequence (prompt + completion) served, below the model's context.
        #[arg(long, env = "PROVENA_MAX_MODEL_LEN")]
        max_model_len: Option<usize>,
        /// Adapters loaded at start.
        #[arg(long, env = "PROVENA_PRELOAD", value_delimiter = ',')]
        preload: Vec<String>,
        /// Adapters loaded at start and never evicted.
        #[arg(long, env = "PROVENA_PIN", value_delimiter = ',')]
        pin: Vec<String>,
        /// How weights are held.
        #[arg(long, env = "PROVENA_PRECISION", value_enum, default_value = "native")]
        precision: PrecisionArg,
        /// A datanet snapshot's attribution index (`provena-attribution index`, built with this
        /// model's tokenizer): every response then carries contribution weights and the
        /// evidence hash for its receipt.
        #[arg(long, env = "PROVENA_ATTRIBUTION_INDEX")]
        attribution_index: Option<PathBuf>,
        /// The on-chain id of the datanet the attribution index covers: receipts pay the
        /// datanet pool's part of each attribution to its reward pool.
        #[arg(long, env = "PROVENA_ATTRIBUTION_DATANET", requires = "attribution_index")]
        attribution_datanet: Option<u32>,
        /// A datanet snapshot's contributions (a corpus directory with `contributions.json`,
        /// hashes verified) to retrieve passages from for chat requests with `rag`.
        #[arg(long, env = "PROVENA_RAG_CORPUS", requires = "rag_datanet")]
        rag_corpus: Option<PathBuf>,
        /// The datanet id `rag.datanet` must name to use `--rag-corpus`.
        #[arg(long, env = "PROVENA_RAG_DATANET", requires = "rag_corpus")]
        rag_datanet: Option<String>,
        /// The snapshot version `--rag-corpus` holds: a paid answer that used retrieved
        /// passages names it in its receipt (`retrieved_from`), as the chain requires to credit
        /// them.
        #[arg(long, env = "PROVENA_RAG_SNAPSHOT", requires = "rag_corpus")]
        rag_snapshot: Option<u32>,
        /// The node to check vouchers against, settle receipts through and read contribution
        /// statuses from (`ws://…`). With it alone the worker masks non-earning contributions.
        #[arg(long, env = "PROVENA_CHAIN_RPC")]
        chain_rpc: Option<String>,
        /// The operator key (a secret URI: a mnemonic, a hex seed, or `//Dev` forms) whose
        /// account vouchers name and that signs `submit_receipts`. Prefer the environment
        /// variable, which `ps` does not show.
        #[arg(long, env = "PROVENA_OPERATOR_KEY", requires_all = ["chain_rpc", "settle_dir"], hide_env_values = true)]
        operator_key: Option<String>,
        /// Where receipts wait to be settled (kept across restarts; see the ledger's docs).
        #[arg(long, env = "PROVENA_SETTLE_DIR", requires = "operator_key")]
        settle_dir: Option<PathBuf>,
        /// Refuse requests without a voucher (402): a public paid endpoint.
        #[arg(long, env = "PROVENA_REQUIRE_VOUCHER", requires = "operator_key")]
        require_voucher: bool,
        /// Seconds between refreshes of the attribution mask from the chain.
        #[arg(long, env = "PROVENA_MASK_REFRESH", default_value_t = 30.0)]
        mask_refresh: f64,
        /// Seconds between settlement rounds (a full batch starts one at once).
        #[arg(long, env = "PROVENA_SETTLE_INTERVAL", default_value_t = 6.0)]
        settle_interval: f64,
        /// Receipts per settlement transaction (1 to 64, the runtime's limit).
        #[arg(long, env = "PROVENA_SETTLE_BATCH", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=64))]
        settle_batch: u16,
        /// Blocks a voucher must stay valid after the best block to be accepted: time for the
        /// answer and its settlement (10 blocks, one minute, covers a settle interval of 6 s,
        /// inclusion and a retry).
        #[arg(long, env = "PROVENA_VOUCHER_MARGIN", default_value_t = 10)]
        voucher_margin: u32,
    },
    /// Sign a voucher for a paid request and print it as a request carries it (the value of
    /// the `X-Provena-Voucher` header or of `provena.voucher`).
    Voucher {
        /// The node to read the chain's genesis hash and best block from.
        #[arg(long, env = "PROVENA_CHAIN_RPC", default_value = "ws://127.0.0.1:9944")]
        chain_rpc: String,
        /// The paying user's secret URI (e.g. `//Dave` on a dev chain).
        #[arg(long, env = "PROVENA_USER_KEY", hide_env_values = true)]
        user_key: String,
        /// The operator who may redeem it (SS58 address).
        #[arg(long)]
        operator: String,
        /// The model's on-chain id.
        #[arg(long)]
        model: u64,
        /// The most the user pays, in OPEN base units (10^18 per OPEN).
        #[arg(long)]
        max_fee: u128,
        /// Blocks from the best block until it expires: at most the chain's `MaxVoucherLifetime`
        /// (600, an hour), so that its anchor block (`expiry − MaxVoucherLifetime − 1`, whose
        /// hash it signs) is one the node already has.
        #[arg(long, default_value_t = 100)]
        valid_for: u32,
        /// The request id (`0x` + 64 hex digits); random by default.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Fine-tune a LoRA adapter on data files (see `train::data` for the formats) and write it
    /// into the adapter store; resumes from the work directory's checkpoint when there is one.
    /// Prints the outcome (adapter id, configuration hash, held-out losses) as JSON.
    Train {
        /// Give `train` the server's `--chat-template`, if it has one: conversations are
        /// rendered for training exactly as the server renders requests.
        #[command(flatten)]
        base: BaseArgs,
        /// A data file (`.txt`, `.md`, `.jsonl`), optionally `PATH=0x<hash>` with the content
        /// hash the chain recorded for it (a file that differs is refused). Repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<String>,
        /// Hyper-parameters as JSON (`{"rank": 8, "learning_rate": 2e-4, …}`; unnamed fields
        /// keep their defaults).
        #[arg(long, default_value = "{}")]
        hyper: String,
        /// Checkpoints go here; a run started again in it resumes.
        #[arg(long)]
        work_dir: PathBuf,
        /// The adapter store the adapter is written into (`<store>/<id>/`).
        #[arg(long, env = "PROVENA_ADAPTERS_DIR", default_value = "adapters")]
        store: PathBuf,
    },
    /// Write seeded synthetic PEFT adapters for a base model (tests and benchmarks).
    SynthAdapter {
        /// The base model the adapters are shaped for.
        #[arg(long, env = "PROVENA_MODEL")]
        model: PathBuf,
        /// A store directory: each adapter lands in `<store>/<id>/`.
        #[arg(long)]
        store: PathBuf,
        /// How many adapters (seeds `seed .. seed + count`).
        #[arg(long, default_value_t = 1)]
        count: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = 16)]
        rank: usize,
        #[arg(long, default_value_t = 32.0)]
        alpha: f32,
        /// Target modules (PEFT names).
        #[arg(long, value_delimiter = ',', default_value = "q_proj,k_proj,v_proj,o_proj")]
        targets: Vec<String>,
        /// Standard deviation of B (0 writes adapters that change nothing).
        #[arg(long, default_value_t = 0.01)]
        b_std: f32,
    },
}

#[path = "cli/train.rs"]
mod train_cli;

fn main() -> Result<()> {
    // `RUST_LOG` filters (default `info`); `log` records of dependencies are forwarded.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain `key=value` fields.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    provena_inference_worker::tune_cpu_threads();
    match Cli::parse().command {
        Command::Serve {
            base: BaseArgs { model, tokenizer, chat_template },
            host,
            port,
            adapters_dir,
            api_key,
            admin_key,
            import_root,
            max_adapter_mb,
            sse_keep_alive_ms,
            web_root,
            fine_tuning_dir,
            host_cache_mb,
            device_slots,
            max_batch,
            max_queue,
            prefill_budget,
            kv_cache_bytes,
            prefix_cache_bytes,
            max_model_len,
            preload,
            pin,
            precision,
            attribution_index,
            attribution_datanet,
            rag_corpus,
            rag_datanet,
            rag_snapshot,
            operator_key,
            chain_rpc,
            settle_dir,
            require_voucher,
            settle_interval,
            settle_batch,
            voucher_margin,
            mask_refresh,
        } => {
            let started = Instant::now();
            let precision = match precision {
                PrecisionArg::Native => Precision::Native,
                PrecisionArg::Int8 => Precision::Int8,
                PrecisionArg::Dense => Precision::Dense,
            };
            let device = device()?;
            let mut base = Model::load(&model, precision, &device)?;
            let tok_path = tokenizer.clone().unwrap_or_else(|| {
                if model.is_dir() {
                    model.join("tokenizer.json")
                } else {
                    model.clone()
                }
            });
            let tok = Arc::new(ModelTokenizer::load(&tok_path)?);
            let meta = TemplateMeta::read(&model, &tok)?;
            let template_source = read_chat_template(chat_template)?;
            let template = ChatTemplate::new(&meta, template_source.clone(), &tok)?;
            let mut eos = ChatTemplate::end_of_generation(&meta, &tok);
            eos.extend(base.config.eos.iter().copied());
            eos.sort_unstable();
            eos.dedup();
            base.config.eos = eos;
            if !template.from_model {
                log::warn!("the model ships no chat template: chats are rendered as ChatML");
            }
            if let Some(n) = max_model_len {
                if n < 2 {
                    anyhow::bail!("--max-model-len must be at least 2");
                }
                base.config.context = base.config.context.min(n);
            }
            let kv_budget = kv_cache_bytes.unwrap_or_else(default_kv_budget);
            let longest = KvCache::bytes_for(&base.config, base.config.context);
            log::info!(
                "K/V budget {} MiB: {} full-context sequences of {} tokens",
                kv_budget >> 20,
                kv_budget.checked_div(longest).unwrap_or(0),
                base.config.context
            );
            let base = Arc::new(base);
            let grammars = Arc::new(engine::Grammars::new(&tok));
            let metrics = Arc::new(Metrics::new()?);
            let store = Arc::new(AdapterStore::open(
                &adapters_dir,
                base.config.clone(),
                base.layout,
                StoreLimits { host_bytes: host_cache_mb.saturating_mul(1 << 20), device_slots },
                metrics.clone(),
            )?);
            for id in &preload {
                store.load(id, false).with_context(|| format!("preloading {id}"))?;
            }
            for id in &pin {
                store.load(id, true).with_context(|| format!("pinning {id}"))?;
            }
            let handle = engine::start(
                base.clone(),
                tok.clone(),
                EngineConfig {
                    max_batch,
                    max_queue,
                    prefill_budget,
                    kv_budget,
                    prefix_cache_bytes: prefix_cache_bytes.unwrap_or(kv_budget / 4),
                },
                metrics.clone(),
            )?;
            let fine_tuning = match fine_tuning_dir {
                Some(dir) => {
                    let jobs = provena_inference_worker::train::jobs::Jobs::open(
                        provena_inference_worker::train::jobs::Setup {
                            dir,
                            model: model.clone(),
                            tokenizer: tokenizer.clone(),
                            chat_template: template_source,
                            store: adapters_dir.clone(),
                        },
                    )?;
                    let runner = jobs.clone();
                    let (engine, gauges) = (handle.clone(), metrics.clone());
                    std::thread::Builder::new().name("fine-tuning".into()).spawn(move || {
                        provena_inference_worker::os::background_priority();
                        // A step only while no request waits or runs.
                        runner
                            .run_forever(move || engine.queued() == 0 && gauges.running.get() == 0)
                    })?;
                    Some(jobs)
                }
                None => None,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let seconds = |flag: &str, s: f64| {
                std::time::Duration::try_from_secs_f64(s)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| anyhow!("--{flag} must be a positive number of seconds"))
            };
            let node = match &chain_rpc {
                // The node may be starting with the worker (`.ci/dev`): wait up to two minutes.
                Some(rpc) => Some(Arc::new(
                    rt.block_on(Node::connect_within(rpc, std::time::Duration::from_secs(120)))
                        .with_context(|| format!("connecting to {rpc}"))?,
                )),
                None => None,
            };
            let settlement = match (&node, operator_key, settle_dir) {
                (Some(node), Some(key), Some(dir)) => {
                    let config = SettleConfig {
                        require_voucher,
                        margin: voucher_margin,
                        batch: usize::from(settle_batch),
                    };
                    let s = rt
                        .block_on(Settlement::open(node.clone(), &key, &dir, config))
                        .context("opening the settlement")?;
                    println!(
                        "provena-inference-worker: settling as {}, {} receipts waiting",
                        s.account(),
                        s.unsettled()
                    );
                    let interval = seconds("settle-interval", settle_interval)?;
                    rt.spawn(provena_inference_worker::chain::settle::run(s.clone(), interval));
                    Some(s)
                }
                _ => None,
            };
            let attribution = match &attribution_index {
                Some(dir) => {
                    Some(Arc::new(provena_attribution::Index::open(dir).with_context(|| {
                        format!("opening the attribution index {}", dir.display())
                    })?))
                }
                None => None,
            };
            if let (Some(node), Some(index)) = (&node, &attribution) {
                let interval = seconds("mask-refresh", mask_refresh)?;
                // The first mask is in place before the first request.
                let masked = rt.block_on(mask::not_earning(node, index))?;
                index.set_mask(masked);
                rt.spawn(mask::run(node.clone(), index.clone(), interval));
            }
            let state = Arc::new(AppState {
                model: base.clone(),
                tokenizer: tok,
                store,
                engine: handle,
                metrics,
                template,
                grammars,
                cpu: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
                )),
                started: Instant::now(),
                counter: Default::default(),
                attribution,
                attribution_datanet,
                rag: match (&rag_corpus, rag_datanet) {
                    (Some(dir), Some(datanet)) => {
                        let texts = provena_attribution::corpus::load_texts(dir)?;
                        let retriever = provena_attribution::rag::Retriever::build(
                            texts.iter().map(|(c, _, t)| (*c, t.as_str())),
                        )?;
                        let snapshot = match (datanet.parse::<u32>(), rag_snapshot) {
                            (Ok(d), Some(v)) => Some((d, v)),
                            _ => None,
                        };
                        Some(RagSource { datanet, retriever, snapshot })
                    }
                    _ => None,
                },
                settlement,
                access: Access {
                    api_key,
                    admin_key,
                    import_root,
                    max_adapter_bytes: max_adapter_mb.saturating_mul(1 << 20),
                },
                sse_keep_alive: std::time::Duration::from_millis(sse_keep_alive_ms.max(1)),
                fine_tuning,
                chain: node,
            });
            if let Some(root) = &web_root {
                if !root.join("index.html").is_file() {
                    return Err(anyhow!(
                        "--web-root {}: no index.html there (build the app: npm ci && npm run build in inference-worker/web)",
                        root.display()
                    ));
                }
            }
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
                let addr = listener.local_addr()?;
                println!(
                    "provena-inference-worker: {} ({}, {} layers, base {}) on http://{addr}/v1, ready in {:.1}s",
                    base.source.name,
                    model.display(),
                    base.config.layers,
                    base.source.hash,
                    started.elapsed().as_secs_f64()
                );
                // SIGTERM (a service manager's stop) or Ctrl-C: stop accepting connections and
                // drain the requests in flight, then exit.
                let mut terminate =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                axum::serve(listener, router(state, web_root.as_deref()))
                    .with_graceful_shutdown(async move {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = terminate.recv() => {}
                        }
                        eprintln!("provena-inference-worker: stopping; draining requests in flight");
                    })
                    .await?;
                Ok::<(), anyhow::Error>(())
            })
        }
        Command::Voucher {
            chain_rpc,
            user_key,
            operator,
            model,
            max_fee,
            valid_for,
            request_id,
        } => {
            let lifetime = provena_inference_worker::chain::max_voucher_lifetime();
            if valid_for > lifetime {
                return Err(anyhow!(
                    "--valid-for {valid_for}: the chain lets a voucher live at most {lifetime} blocks"
                ));
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let node = rt.block_on(Node::connect(&chain_rpc))?;
            let best = rt.block_on(node.best())?;
            let request_id = match request_id {
                Some(hex) => hex.parse().map_err(|e| anyhow!("--request-id: {e:?}"))?,
                // Unique per user in practice: the clock in nanoseconds, the process and the
                // best block's hash.
                None => {
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or(0);
                    let seed = format!("{nanos}:{}:{:?}", std::process::id(), best.hash);
                    provena_primitives::content_hash(seed.as_bytes())
                }
            };
            let operator = operator.parse().map_err(|e| anyhow!("--operator: {e:?}"))?;
            let voucher = provena_primitives::attribution::Voucher {
                request_id,
                model: provena_primitives::ModelId(model),
                max_fee,
                operator,
                expires_at: best.number.saturating_add(valid_for),
            };
            // Before the best block, as `valid_for` is at most the lifetime.
            let anchor =
                provena_primitives::attribution::voucher_anchor(voucher.expires_at, lifetime);
            let anchor = rt.block_on(node.block_hash(anchor))?;
            let signed = voucher::sign(&user_key, voucher, &node.genesis, &anchor)?;
            println!("{signed}");
            Ok(())
        }
        Command::Train {
            base: BaseArgs { model, tokenizer, chat_template },
            data,
            hyper,
            work_dir,
            store,
        } => {
            let chat_template = read_chat_template(chat_template)?;
            train_cli::train_command(
                model,
                tokenizer,
                chat_template,
                &data,
                &hyper,
                work_dir,
                store,
            )
        }
        Command::SynthAdapter { model, store, count, seed, rank, alpha, targets, b_std } => {
            let base = Model::load(&model, Precision::Native, &Device::Cpu)?;
            let targets = targets
                .iter()
                .map(|t| {
                    Target::from_peft_name(t).ok_or_else(|| anyhow!("unknown target module {t}"))
                })
                .collect::<Result<Vec<_>>>()?;
            std::fs::create_dir_all(&store)?;
            for s in seed..seed.saturating_add(count) {
                let tmp = store.join(format!(".synth-{s}"));
                let spec = SynthSpec { rank, alpha, targets: targets.clone(), seed: s, b_std };
                let id = write_synthetic(&tmp, &base.config, &base.source.name, &spec)?;
                let dst = store.join(&id);
                if dst.exists() {
                    std::fs::remove_dir_all(&tmp)?;
                } else {
                    std::fs::rename(&tmp, &dst)?;
                }
                println!("{id}");
            }
            Ok(())
        }
    }
}

fn device() -> Result<Device> {
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = Device::new_cuda(0) {
            return Ok(d);
        }
    }
    Ok(Device::Cpu)
}

/// A quarter of the machine's memory (`MemTotal`), or 4 GiB where it cannot be read.
fn default_kv_budget() -> usize {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<usize>().ok()
    });
    total_kib.and_then(|k| k.saturating_mul(1024).checked_div(4)).unwrap_or(4 << 30)
}
