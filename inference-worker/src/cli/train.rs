//! `provena-inference-worker train`: a fine-tuning job in the foreground.

use anyhow::{anyhow, Context, Result};
use std::{path::PathBuf, sync::Arc, time::Instant};

/// `train`: runs a job in the foreground with a progress bar; Ctrl-C checkpoints and stops.
pub(crate) fn train_command(
    model: PathBuf,
    tokenizer: Option<PathBuf>,
    chat_template: Option<String>,
    data: &[String],
    hyper: &str,
    work_dir: PathBuf,
    store: PathBuf,
) -> Result<()> {
    use provena_inference_worker::train::{job, Hyper};
    let hyper: Hyper = serde_json::from_str(hyper).context("--hyper")?;
    let data = data
        .iter()
        .map(|d| {
            let (path, hash) = match d.rsplit_once('=') {
                Some((p, h)) => {
                    let bytes = hex::decode(h.trim_start_matches("0x"))
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| anyhow!("--data {d}: the hash is not 0x + 64 hex digits"))?;
                    (p, Some(bytes))
                }
                None => (d.as_str(), None),
            };
            Ok(job::DataFile { path: PathBuf::from(path), expected_hash: hash, label: None })
        })
        .collect::<Result<Vec<_>>>()?;
    let spec = job::JobSpec { model, tokenizer, chat_template, data, hyper, work_dir, store };
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    ctrlc_flag(flag);
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] step {pos}/{len} {msg} (eta {eta})",
        )
        .map_err(|e| anyhow!("{e}"))?
        .progress_chars("=> "),
    );
    // Without a terminal (a log file, CI) the bar is hidden: each line goes to stderr.
    let started = Instant::now();
    let say = |line: String| {
        if bar.is_hidden() {
            eprintln!("[{:>7.1}s] {line}", started.elapsed().as_secs_f64());
        } else {
            bar.println(line);
        }
    };
    let ended = job::run(&spec, &cancel, &|| true, |p| match p {
        job::Progress::Started {
            total_steps, resumed_at, train_examples, eval_examples, ..
        } => {
            bar.set_length(total_steps);
            bar.set_position(resumed_at);
            say(format!(
                "{train_examples} training and {eval_examples} held-out examples, {total_steps} steps"
            ));
        }
        job::Progress::Step(r) => {
            bar.set_position(r.step);
            let msg = format!("loss {:.4} lr {:.2e}", r.loss, r.learning_rate);
            if bar.is_hidden() {
                say(format!(
                    "step {}/{}: {msg}, {} tokens",
                    r.step,
                    bar.length().unwrap_or(0),
                    r.tokens
                ));
            }
            bar.set_message(msg);
        }
        job::Progress::Eval { step, eval } => {
            say(format!(
                "step {step}: held-out loss {:.4} (perplexity {:.2})",
                eval.loss, eval.perplexity
            ));
        }
        job::Progress::Checkpoint { .. } => {}
    })?;
    bar.finish_and_clear();
    match ended {
        job::Ended::Done(outcome) => {
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            Ok(())
        }
        job::Ended::Cancelled { step } => {
            Err(anyhow!("cancelled at step {step}; run again with the same --work-dir to resume"))
        }
    }
}

/// Sets `flag` on Ctrl-C / SIGTERM (the run checkpoints at the next step and stops).
fn ctrlc_flag(flag: Arc<std::sync::atomic::AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}
