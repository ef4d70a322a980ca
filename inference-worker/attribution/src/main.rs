//! `provena-attribution`: build a snapshot index and query it from the command line.
//!
//! ```text
//! provena-attribution index --corpus <dir> --tokenizer <model.gguf|tokenizer.json> --out <dir> [--append]
//! provena-attribution tokenize --tokenizer <..> --text <..>
//! provena-attribution count --index <dir> [--tokenizer <..>] (--text <..> | --tokens <json>)
//! provena-attribution attribute --index <dir> [--tokenizer <..>] --prompt <..> --output <..>
//! provena-attribution stats --index <dir> [--verify]
//! ```
//! Every command prints one JSON document on standard output; errors go to standard error with
//! a non-zero exit status.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use provena_attribution::{attribute, corpus, Index, ModelTokenizer, Params};
use serde_json::json;
use std::{path::PathBuf, time::Instant};

#[derive(Parser)]
#[command(name = "provena-attribution", version, about = "Provena's attribution engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tokenizes a corpus directory (verifying every content hash) and writes its index.
    Index {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        tokenizer: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Add the corpus's contributions that the index in `--out` does not hold yet, in a new
        /// shard (a new snapshot of the datanet), instead of building from scratch.
        #[arg(long)]
        append: bool,
    },
    /// Prints the token ids of a text as JSON.
    Tokenize {
        #[arg(long)]
        tokenizer: PathBuf,
        #[arg(long)]
        text: String,
    },
    /// Counts the occurrences of a text or token sequence in an index.
    Count {
        #[arg(long)]
        index: PathBuf,
        /// The tokenizer (default: the one the index was built with).
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long, conflicts_with = "tokens")]
        text: Option<String>,
        /// Token ids as a JSON array.
        #[arg(long)]
        tokens: Option<String>,
    },
    /// Attributes a model output to the indexed contributions.
    Attribute {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long)]
        prompt: String,
        #[arg(long)]
        output: String,
        /// The shortest span that counts, in tokens.
        #[arg(long, default_value_t = 6)]
        min_span: usize,
        /// Spans more frequent than this in the corpus earn nothing.
        #[arg(long, default_value_t = 64)]
        max_freq: u64,
        /// Contributions named; the rest goes to the datanet pool.
        #[arg(long, default_value_t = 16)]
        top_k: usize,
        /// Contribution ids to mask (withdrawn or slashed), comma-separated.
        #[arg(long, value_delimiter = ',')]
        mask: Vec<u64>,
    },
    /// Prints an index's size and layout.
    Stats {
        #[arg(long)]
        index: PathBuf,
        /// Check every document and recompute the snapshot hash (not only a sample).
        #[arg(long)]
        verify: bool,
    },
}

fn tokenizer_for(index: &Index, given: Option<PathBuf>) -> Result<ModelTokenizer> {
    let path = given.unwrap_or_else(|| PathBuf::from(&index.manifest.tokenizer));
    ModelTokenizer::load(&path).with_context(|| format!("loading the tokenizer {}", path.display()))
}

fn run(cli: Cli) -> Result<serde_json::Value> {
    provena_attribution::index::ensure_little_endian()?;
    Ok(match cli.command {
        Command::Index { corpus, tokenizer, out, append } => {
            let t = ModelTokenizer::load(&tokenizer)?;
            let started = Instant::now();
            if append {
                // Only the contributions the index lacks are read, verified and tokenized.
                let held: std::collections::HashSet<u64> = {
                    let index = Index::open(&out)?;
                    let refused = index.manifest.duplicates.iter().map(|(c, _)| *c);
                    index.contributions().into_iter().chain(refused).collect()
                };
                let skipped = std::cell::Cell::new(0u64);
                let docs = corpus::load_where(&corpus, &t, |c| {
                    let known = held.contains(&c);
                    skipped.set(skipped.get().saturating_add(u64::from(known)));
                    !known
                })?;
                let (index, mut report) = Index::append(&out, docs, &t.source, Default::default())?;
                report.already_indexed = report.already_indexed.saturating_add(skipped.get());
                return Ok(json!({
                    "appended": report,
                    "shards": index.shards(),
                    "tokens": index.manifest.tokens,
                    "documents": index.manifest.documents,
                    "snapshotHash": format!("0x{}", hex::encode(index.snapshot_hash())),
                    "totalSeconds": started.elapsed().as_secs_f64(),
                }));
            }
            let docs = corpus::load(&corpus, &t)?;
            let bytes: u64 = docs.iter().map(|d| d.tokens.len() as u64).sum();
            let tokenized = started.elapsed();
            let index = Index::build(docs, &t.source)?;
            index.write(&out)?;
            json!({
                "documents": index.manifest.documents,
                "duplicates": index.manifest.duplicates,
                "nearDuplicates": index.manifest.near_duplicates,
                "tokens": index.manifest.tokens,
                "contentTokens": bytes,
                "tokenizeSeconds": tokenized.as_secs_f64(),
                "totalSeconds": started.elapsed().as_secs_f64(),
            })
        }
        Command::Tokenize { tokenizer, text } => {
            json!(ModelTokenizer::load(&tokenizer)?.encode(&text)?)
        }
        Command::Count { index, tokenizer, text, tokens } => {
            let idx = Index::open(&index)?;
            let query: Vec<u32> = match (text, tokens) {
                (Some(text), None) => tokenizer_for(&idx, tokenizer)?.encode(&text)?,
                (None, Some(tokens)) => serde_json::from_str(&tokens)
                    .context("--tokens must be a JSON array of token ids")?,
                _ => bail!("give exactly one of --text and --tokens"),
            };
            json!({ "tokens": query.len(), "count": idx.count(&query)? })
        }
        Command::Attribute {
            index,
            tokenizer,
            prompt,
            output,
            min_span,
            max_freq,
            top_k,
            mask,
        } => {
            let idx = Index::open(&index)?;
            idx.mask(mask);
            let t = tokenizer_for(&idx, tokenizer)?;
            let params = Params { min_span, max_freq, top_k };
            let result = attribute(&idx, &t.encode(&prompt)?, &t.encode(&output)?, &params)?;
            serde_json::to_value(result)?
        }
        Command::Stats { index, verify } => {
            let idx = Index::open(&index)?;
            if verify {
                idx.verify()?;
            }
            let mut bytes = std::fs::metadata(index.join("manifest.json")).map_or(0, |m| m.len());
            for e in &idx.manifest.shards {
                for f in std::fs::read_dir(index.join(&e.name))? {
                    bytes = bytes.saturating_add(f?.metadata()?.len());
                }
            }
            json!({
                "documents": idx.manifest.documents,
                "tokens": idx.manifest.tokens,
                "shards": idx.manifest.shards,
                "bytes": bytes,
                "bytesPerToken": bytes as f64 / (idx.manifest.tokens.max(1)) as f64,
                "tokenizer": idx.manifest.tokenizer,
                "snapshotHash": format!("0x{}", hex::encode(idx.snapshot_hash())),
                "verified": verify,
                "duplicates": idx.manifest.duplicates,
                "nearDuplicates": idx.manifest.near_duplicates,
            })
        }
    })
}

fn main() {
    match run(Cli::parse()) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
