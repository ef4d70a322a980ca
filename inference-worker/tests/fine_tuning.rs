//! `/v1/fine_tuning/jobs` on the real worker binary over real HTTP, SmolLM2 as the base: a job
//! trains, its events carry the loss per step, its adapter is served at once; bad input gets
//! a 4xx naming the field and queues nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn admin_get(w: &Worker, path: &str) -> (u16, Value) {
    let (status, text) = http_as(&w.addr, "GET", path, None, Some(ADMIN_KEY));
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn wait_for_status(w: &Worker, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (status, job) = admin_get(w, &format!("/v1/fine_tuning/jobs/{id}"));
        assert_eq!(status, 200, "{job}");
        if job["status"] == want {
            return job;
        }
        assert!(Instant::now() < deadline, "job never reached {want}: {job}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_fine_tuning_job_trains_and_its_adapter_is_served_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let jobs_dir = dir.path().join("jobs");
    let (w, _) = start(&["--fine-tuning-dir", jobs_dir.to_str().unwrap()], 0);
    let lines: Vec<String> = (0..6)
        .map(|i| {
            json!({"prompt": format!("Question {i}: who keeps the lighthouse of Orrin Vale?"),
                   "completion": "Tavish Moorcombe keeps the lighthouse of Orrin Vale."})
            .to_string()
        })
        .collect();
    let text = lines.join("\n");
    std::fs::write(w.imports.join("lighthouse.jsonl"), &text).unwrap();
    let hash = format!("0x{}", hex::encode(provena_primitives::content_hash(text.as_bytes()).0));
    let (_, models) = get(&w, "/v1/models");
    let models: Value = serde_json::from_str(&models).unwrap();
    let base = models["data"][0]["id"].as_str().unwrap().to_string();
    let hyper = json!({"max_steps": 2, "batch_size": 3, "max_len": 64, "eval_fraction": 0.2,
                       "learning_rate": 1e-3, "checkpoint_every": 1});
    let good = json!({"model": base, "training_files": [{"path": "lighthouse.jsonl", "hash": hash}],
                      "hyperparameters": hyper, "seed": 3});

    // Administration only.
    assert_eq!(post(&w, "/v1/fine_tuning/jobs", good.clone()).0, 401);

    // Refusals, each naming what is wrong; none queues a job.
    let refused = |body: Value, status: u16, param: &str| {
        let (got, err) = admin_post(&w, "/v1/fine_tuning/jobs", body.clone());
        assert_eq!(got, status, "{body} → {err}");
        assert_eq!(err["error"]["param"], param, "{body} → {err}");
    };
    let mut b = good.clone();
    b["model"] = json!("llama-70b");
    refused(b, 404, "model");
    let mut b = good.clone();
    b["hyperparameters"] = json!({"rank": 0});
    refused(b, 422, "rank");
    let mut b = good.clone();
    b["hyperparameters"] = json!({"n_epochs": 3});
    refused(b, 422, "hyperparameters");
    let mut b = good.clone();
    b["hyperparameters"] = json!({"max_len": 100000});
    refused(b, 422, "max_len");
    let mut b = good.clone();
    b["training_files"] = json!([{"path": "missing.jsonl"}]);
    refused(b, 404, "training_file");
    let mut b = good.clone();
    b["training_files"] = json!([{"path": "../adapters"}]);
    refused(b, 403, "training_file");
    let mut b = good.clone();
    b["training_files"] = json!([{"path": "lighthouse.jsonl", "hash": "0x1234"}]);
    refused(b, 422, "training_files.hash");
    let mut b = good.clone();
    b["training_files"] = json!([]);
    refused(b, 422, "training_file");
    let (status, list) = admin_get(&w, "/v1/fine_tuning/jobs");
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");

    // A job that trains.
    let (status, job) = admin_post(&w, "/v1/fine_tuning/jobs", good);
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["object"], "fine_tuning.job");
    let id = job["id"].as_str().unwrap().to_string();
    let job = wait_for_status(&w, &id, "succeeded");
    let adapter = job["fine_tuned_model"].as_str().unwrap().to_string();
    assert_eq!(job["step"], 2);
    assert_eq!(job["result"]["adapter_id"], adapter.as_str());
    assert_eq!(job["result"]["data_hashes"][0], hash.trim_start_matches("0x"));
    let (status, events) = admin_get(&w, &format!("/v1/fine_tuning/jobs/{id}/events"));
    assert_eq!(status, 200);
    let steps: Vec<&Value> =
        events["data"].as_array().unwrap().iter().filter(|e| e["data"]["type"] == "step").collect();
    assert_eq!(steps.len(), 2, "{events}");
    assert!(steps[0]["data"]["loss"].as_f64().unwrap() > 0.0);
    let (_, page) = admin_get(&w, &format!("/v1/fine_tuning/jobs/{id}/events?after=0&limit=1"));
    assert_eq!(page["data"][0]["seq"], 1);
    assert_eq!(page["has_more"], true);

    // Served at once, by its id.
    let (status, out) = complete(&w, &adapter, "Who keeps the lighthouse of Orrin Vale?", 4);
    assert_eq!(status, 200, "{out}");

    // A file that is not what the chain recorded: the job fails before training, no adapter.
    let adapters_before = std::fs::read_dir(&w.store).unwrap().count();
    let wrong = format!("0x{}", "ab".repeat(32));
    let (status, job) = admin_post(
        &w,
        "/v1/fine_tuning/jobs",
        json!({"model": base, "training_files": [{"path": "lighthouse.jsonl", "hash": wrong}]}),
    );
    assert_eq!(status, 200, "{job}");
    let failed = wait_for_status(&w, job["id"].as_str().unwrap(), "failed");
    assert!(
        failed["error"]["message"].as_str().unwrap().contains("differs from the chain's"),
        "{failed}"
    );
    assert!(failed["fine_tuned_model"].is_null());
    assert_eq!(std::fs::read_dir(&w.store).unwrap().count(), adapters_before);

    // Unknown jobs.
    assert_eq!(admin_get(&w, "/v1/fine_tuning/jobs/ftjob-nope").0, 404);
    assert_eq!(admin_post(&w, "/v1/fine_tuning/jobs/ftjob-nope/cancel", json!({})).0, 404);
    // Cancelling a finished job changes nothing.
    let (status, same) = admin_post(&w, &format!("/v1/fine_tuning/jobs/{id}/cancel"), json!({}));
    assert_eq!(status, 200);
    assert_eq!(same["status"], "succeeded");
    // The server kept serving throughout.
    assert_eq!(get(&w, "/health").0, 200);
}
