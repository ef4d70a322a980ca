//! The worker's HTTP API, end to end: the real binary on the real SmolLM2 GGUF, real HTTP.
//! Acceptance 2 (the official OpenAI Python client) and 4 (bad input, corrupt adapters,
//! concurrent load/unload while serving, overload).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::{net::TcpStream, path::Path, process::Command, time::Duration};

#[test]
fn the_official_openai_python_client_works() {
    let (w, ids) = start(&[], 1);
    let pylib = std::env::var("PROVENA_PYLIB")
        .expect("PROVENA_PYLIB must hold the openai package (.ci/setup installs it)");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}/v1", w.addr))
        .arg("base")
        .arg(&ids[0])
        .env("PYTHONPATH", pylib)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["not_found"], 404);
    assert_eq!(seen["invalid"], 422);
    assert!(seen["stream_chunks"].as_u64().unwrap() > 1);
}

#[test]
fn bad_input_gets_a_named_error_and_loses_nothing() {
    let (w, ids) = start(&[], 1);
    // Malformed JSON.
    let (status, body) =
        http(&w.addr, "POST", "/v1/completions", Some("{\"model\": \"base\", \"prompt\": "));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("malformed JSON"), "{body}");
    // A field of the wrong type is named.
    let (status, body) =
        post(&w, "/v1/completions", json!({"model": "base", "prompt": "x", "max_tokens": "ten"}));
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("max_tokens")), "{body}");
    let (status, body) =
        post(&w, "/v1/chat/completions", json!({"model": "base", "messages": [{"role": "user"}]}));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["param"], "messages[0]", "{body}");
    // Out-of-domain values.
    for (field, value) in [
        ("temperature", json!(3.5)),
        ("top_p", json!(0)),
        ("n", json!(0)),
        ("max_tokens", json!(0)),
        ("logprobs", json!(6)),
        ("logprobs", json!(true)),
        ("presence_penalty", json!(2.5)),
        ("frequency_penalty", json!(-3)),
        ("repetition_penalty", json!(0)),
        ("logit_bias", json!({"1": 101})),
        ("stop_token_ids", json!([99_999_999])),
        // OpenAI parameters not served yet are refused, never silently ignored.
        ("response_format", json!({"type": "json_schema"})),
        ("response_format", json!({"type": "yaml"})),
        ("tools", json!([{"type": "function"}])),
        ("best_of", json!(2)),
        ("echo", json!(true)),
    ] {
        let mut req = json!({"model": "base", "prompt": "x"});
        req[field] = value;
        let (status, body) = post(&w, "/v1/completions", req);
        let param = body["error"]["param"].as_str().unwrap_or_default();
        assert_eq!(status, 422, "{body}");
        assert!(param.starts_with(field), "{field}: {body}");
    }
    // Unknown adapter (well-formed id) and unknown model name.
    let (status, body) = complete(&w, &"ab".repeat(32), "x", 2);
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not found"));
    let (status, _) = complete(&w, "gpt-4", "x", 2);
    assert_eq!(status, 404);
    let (status, _) = admin(&w, "/v1/adapters/zz/load");
    assert_eq!(status, 404);
    // Oversized prompt: over the 8,192-token context.
    let long = "word ".repeat(9000);
    let (status, body) = complete(&w, "base", &long, 2);
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("prompt")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("8192"), "{body}");
    // Prompt fits but prompt + max_tokens does not.
    let (status, body) = complete(&w, "base", &"word ".repeat(8000), 500);
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("max_tokens")), "{body}");
    // Bad mixtures.
    let (status, body) = post(
        &w,
        "/v1/completions",
        json!({"model": "base", "prompt": "x", "adapters": [{"id": ids[0], "weight": f64::MAX}]}),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &w,
        "/v1/completions",
        json!({"model": "base", "prompt": "x", "adapters": [{"id": ids[0], "weight": 1}, {"id": ids[0], "weight": 1}]}),
    );
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("adapters[1].id")), "{body}");
    // Their no-op values are accepted.
    let neutral = json!({"model": "base", "prompt": "x", "max_tokens": 1, "logprobs": false,
        "presence_penalty": 0, "frequency_penalty": 0.0, "repetition_penalty": 1, "logit_bias": {},
        "response_format": {"type": "text"}, "stop_token_ids": [], "tool_choice": "none"});
    let (status, body) = post(&w, "/v1/completions", neutral);
    assert_eq!(status, 200, "{body}");
    // Nothing was lost: the worker still answers, deterministically.
    let (s1, a) = complete(&w, &ids[0], "The sky is", 6);
    let (s2, b) = complete(&w, &ids[0], "The sky is", 6);
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a["choices"][0]["text"], b["choices"][0]["text"]);
    let (status, health) = get(&w, "/health");
    assert_eq!(status, 200, "{health}");
}

#[test]
fn a_corrupt_adapter_is_refused_and_the_worker_keeps_serving() {
    let (w, ids) = start(&[], 2);
    let weights = w.store.join(&ids[0]).join("adapter_model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&weights, &bytes).unwrap();
    let (status, body) = complete(&w, &ids[0], "Hello", 4);
    assert_eq!(status, 422, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&ids[0]) && msg.contains("corrupt"), "{msg}");
    // The other adapter and the base still serve.
    assert_eq!(complete(&w, &ids[1], "Hello", 4).0, 200);
    assert_eq!(complete(&w, "base", "Hello", 4).0, 200);
    // Importing a directory whose files are not an adapter is refused with the reason.
    let bad = tempfile::tempdir_in(&w.imports).unwrap();
    std::fs::write(
        bad.path().join("adapter_config.json"),
        r#"{"r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}"#,
    )
    .unwrap();
    std::fs::write(bad.path().join("adapter_model.safetensors"), b"not safetensors").unwrap();
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": bad.path()}));
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("safetensors"), "{body}");
    // A rank that does not match the base's shapes is refused too.
    std::fs::copy(
        w.store.join(&ids[1]).join("adapter_model.safetensors"),
        bad.path().join("adapter_model.safetensors"),
    )
    .unwrap();
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": bad.path()}));
    assert_eq!(status, 422, "{body}");
    // A good import lands under its content hash.
    let good = tempfile::tempdir_in(&w.imports).unwrap();
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(w.store.join(&ids[1]).join(f), good.path().join(f)).unwrap();
    }
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": good.path()}));
    assert_eq!((status, body["id"].as_str()), (201, Some(ids[1].as_str())), "{body}");
}

#[test]
fn adapters_load_and_unload_concurrently_while_serving() {
    let (w, ids) = start(&["--device-slots", "2", "--max-batch", "8"], 3);
    let reference: Vec<String> = ids
        .iter()
        .map(|id| {
            complete(&w, id, "A short poem about the sea:", 16).1["choices"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(reference.windows(2).any(|p| p[0] != p[1]), "adapters should answer differently");
    std::thread::scope(|s| {
        let w = &w;
        let ids = &ids;
        let reference = &reference;
        // Management churn on the same adapters the requests use.
        let churn = s.spawn(move || {
            for round in 0..40 {
                for id in ids {
                    let action = ["load", "unload", "pin", "unpin", "unload"][round % 5];
                    let (status, body) = admin(w, &format!("/v1/adapters/{id}/{action}"));
                    // Two device slots: one adapter may be pinned, the next pin is refused.
                    let refused_pin = action == "pin" && status == 422;
                    assert!(status == 200 || refused_pin, "{action}: {status} {body}");
                }
            }
        });
        let clients: Vec<_> = (0..6)
            .map(|c| {
                s.spawn(move || {
                    for i in 0..3 {
                        let k = (c + i) % ids.len();
                        let (status, body) =
                            complete(w, &ids[k], "A short poem about the sea:", 16);
                        assert_eq!(status, 200, "{body}");
                        assert_eq!(
                            body["choices"][0]["text"].as_str().unwrap(),
                            reference[k],
                            "adapter {k} changed under churn"
                        );
                    }
                })
            })
            .collect();
        churn.join().unwrap();
        for c in clients {
            c.join().unwrap();
        }
    });
    let (_, list) = http_as(&w.addr, "GET", "/v1/adapters", None, Some(ADMIN_KEY));
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
}

#[test]
fn overload_answers_429_and_metrics_report_the_work() {
    let (w, ids) = start(&["--max-batch", "1", "--max-queue", "1"], 1);
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| complete(&w, &ids[0], "Count to fifty: 1, 2,", 48)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let completion_tokens: u64 =
        answers.iter().filter_map(|a| a.1["usage"]["completion_tokens"].as_u64()).sum();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    let (status, text) = get(&w, "/metrics");
    assert_eq!(status, 200);
    let ok = statuses.iter().filter(|s| **s == 200).count();
    for needle in [
        format!("provena_worker_requests_total{{model=\"{}\"}} {ok}", ids[0]),
        "provena_worker_rejected_total{reason=\"overloaded\"}".to_string(),
        "provena_worker_time_to_first_token_seconds_count".to_string(),
        "provena_worker_inter_token_latency_seconds_count".to_string(),
        "provena_worker_adapter_load_seconds_count 1".to_string(),
        "provena_worker_adapter_cache_total{result=\"miss\"} 1".to_string(),
        "provena_worker_queue_depth".to_string(),
        format!("provena_worker_time_to_first_token_seconds_count {ok}"),
        format!("provena_worker_request_duration_seconds_count{{endpoint=\"completion\"}} {ok}"),
        format!("provena_worker_http_responses_total{{class=\"4xx\"}} {}", statuses.len() - ok),
        "provena_worker_finished_total{reason=".to_string(),
        "provena_worker_step_seconds_count{phase=\"prefill\"}".to_string(),
        "provena_worker_step_seconds_count{phase=\"decode\"}".to_string(),
        "provena_worker_kv_cache_bytes".to_string(),
        format!(
            "provena_worker_tokens_total{{kind=\"completion\",model=\"{}\"}} {}",
            ids[0], completion_tokens
        ),
    ] {
        assert!(text.contains(&needle), "missing {needle} in\n{text}");
    }
    // No histogram has a series per adapter (their number is unbounded).
    for line in text.lines().filter(|l| l.contains("_bucket{")) {
        assert!(!line.contains(ids[0].as_str()), "a per-adapter histogram series: {line}");
    }
    let (status, models) = get(&w, "/v1/models");
    assert_eq!(status, 200);
    assert!(models.contains(&ids[0]) && models.contains("context_length"), "{models}");
}

#[test]
fn responses_carry_the_attribution_of_the_answer() {
    // A two-contribution snapshot indexed with the serving model's tokenizer.
    let tok = provena_attribution::ModelTokenizer::load(&model_path()).unwrap();
    let texts = [
        (
            7u64,
            "The capital of France is Paris. It lies on the Seine and is known for its museums.",
        ),
        (9u64, "Bread needs flour, water, salt and yeast; knead it and let it rise for an hour."),
    ];
    let docs = texts
        .iter()
        .map(|(c, t)| provena_attribution::Document {
            contribution: *c,
            content_hash: provena_attribution::corpus::hash_hex(t.as_bytes()),
            tokens: tok.encode(t).unwrap(),
        })
        .collect();
    let index_dir = tempfile::tempdir().unwrap();
    provena_attribution::Index::build(docs, &tok.source).unwrap().write(index_dir.path()).unwrap();
    let index_arg = index_dir.path().to_str().unwrap().to_string();
    let (w, _) = start(&["--attribution-index", &index_arg], 0);
    let (status, body) = post(
        &w,
        "/v1/chat/completions",
        json!({"model": "base", "messages": [{"role": "user", "content": "Tell me the capital of France."}], "max_tokens": 16, "temperature": 0}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "The capital of France is Paris.");
    let att = &body["provena"]["attribution"];
    assert_eq!(att["weights"], json!([{"contribution": 7, "ppm": 1_000_000}]), "{att}");
    assert_eq!(att["pool_ppm"], 0);
    let hash = att["evidence_hash"].as_str().unwrap();
    assert!(hash.starts_with("0x") && hash.len() == 66, "{hash}");
    // An answer that copies nothing from the snapshot credits no one.
    let (status, body) = post(
        &w,
        "/v1/completions",
        json!({"model": "base", "prompt": "1, 2, 3, 4,", "max_tokens": 8, "temperature": 0}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provena"]["attribution"]["weights"], json!([]), "{body}");
}

#[test]
fn rag_retrieves_cites_and_credits_the_passages_used() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path();
    let texts = [
        (3u64, "Bread is made of flour, water and yeast. The dough is left to rise for an hour."),
        (5, "The capital of Zorbia is Quellport, a port on the river Vand. Quellport has a population of two million people."),
        (8, "Quellport is also the name of a brand of tea sold in the north."),
    ];
    let mut list = Vec::new();
    for (c, t) in texts {
        std::fs::write(corpus.join(format!("{c}.txt")), t).unwrap();
        list.push(json!({"contribution": c, "contentHash": provena_attribution::corpus::hash_hex(t.as_bytes()), "file": format!("{c}.txt")}));
    }
    std::fs::write(corpus.join("contributions.json"), serde_json::to_vec(&list).unwrap()).unwrap();
    let corpus_arg = corpus.to_str().unwrap().to_string();
    let (w, _) = start(&["--rag-corpus", &corpus_arg, "--rag-datanet", "42"], 0);
    let ask = |rag: Value| {
        let mut req = json!({"model": "base", "messages": [{"role": "user", "content": "What is the capital of Zorbia?"}], "max_tokens": 24, "temperature": 0});
        if !rag.is_null() {
            req["rag"] = rag;
        }
        post(&w, "/v1/chat/completions", req)
    };
    let (status, body) = ask(json!({"datanet": 42, "top_k": 2}));
    assert_eq!(status, 200, "{body}");
    let answer = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(answer.contains("Quellport"), "{answer}");
    let cites = body["provena"]["citations"].as_array().unwrap();
    assert_eq!(cites.len(), 2, "{body}");
    assert_eq!(
        (cites[0]["contribution"].as_u64(), cites[0]["used"].as_bool()),
        (Some(5), Some(true)),
        "{body}"
    );
    assert_eq!(cites[1]["used"], false, "{body}");
    assert_eq!(
        body["provena"]["rag_credit"],
        json!([{"contribution": 5, "ppm": 1_000_000}]),
        "{body}"
    );
    // Without retrieval the model does not know the answer, and nothing is cited.
    let (status, body) = ask(Value::Null);
    assert_eq!(status, 200);
    assert!(
        !body["choices"][0]["message"]["content"].as_str().unwrap().contains("Quellport"),
        "{body}"
    );
    assert!(body["provena"].get("citations").is_none(), "{body}");
    // Bad requests.
    let (status, body) = ask(json!({"datanet": 7}));
    assert_eq!((status, body["error"]["param"].as_str()), (404, Some("rag.datanet")), "{body}");
    let (status, body) = ask(json!({"datanet": "42", "top_k": 0}));
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("rag.top_k")), "{body}");
    let (status, body) = post(
        &w,
        "/v1/completions",
        json!({"model": "base", "prompt": "x", "rag": {"datanet": 42}}),
    );
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("rag")), "{body}");
}

#[test]
fn keys_guard_the_api_and_the_administration_and_imports_stay_under_the_root() {
    let (w, ids) = start(&["--api-key", "test-api-key"], 1);
    let body = json!({"model": "base", "prompt": "Hi", "max_tokens": 2, "temperature": 0});
    let call = |path: &str, key: Option<&str>| {
        http_as(&w.addr, "POST", path, Some(&body.to_string()), key)
    };
    // The inference API needs its key; a wrong or missing one gets 401 and no work.
    for key in [None, Some("wrong"), Some(ADMIN_KEY)] {
        let (status, text) = call("/v1/completions", key);
        assert_eq!(status, 401, "{key:?}: {text}");
        assert!(text.contains("invalid_api_key") && !text.contains("test-api-key"), "{text}");
    }
    assert_eq!(call("/v1/completions", Some("test-api-key")).0, 200);
    assert_eq!(http_as(&w.addr, "GET", "/v1/models", None, None).0, 401);
    // Health and metrics stay open.
    assert_eq!(get(&w, "/health").0, 200);
    // Administration needs the admin key, not the API key.
    let load = format!("/v1/adapters/{}/load", ids[0]);
    assert_eq!(http_as(&w.addr, "POST", &load, Some("{}"), None).0, 401);
    assert_eq!(http_as(&w.addr, "POST", &load, Some("{}"), Some("test-api-key")).0, 401);
    assert_eq!(admin(&w, &load).0, 200);
    // Imports read only under the import root, and errors name no server path.
    let outside = tempfile::tempdir().unwrap();
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(w.store.join(&ids[0]).join(f), outside.path().join(f)).unwrap();
    }
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": outside.path()}));
    assert_eq!(status, 403, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains(outside.path().to_str().unwrap()), "{message}");
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": "../adapters"}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = admin_post(&w, "/v1/adapters", json!({"path": "/etc"}));
    assert_eq!(status, 403, "{body}");
    // The worker kept serving.
    assert_eq!(call("/v1/completions", Some("test-api-key")).0, 200);

    // Without an admin key, administration is disabled.
    let (bare, _) = start_as(&[], 0, None);
    let (status, text) = http_as(&bare.addr, "GET", "/v1/adapters", None, Some(ADMIN_KEY));
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("admin_disabled"), "{text}");
}

#[test]
fn pins_cannot_grow_the_device_tier_past_its_bound() {
    // Two device slots: one adapter may be pinned, one slot stays for the others.
    let (w, ids) = start(&["--device-slots", "2"], 3);
    let act = |id: &str, action: &str| admin(&w, &format!("/v1/adapters/{id}/{action}"));
    assert_eq!(act(&ids[0], "pin").0, 200);
    let (status, body) = act(&ids[1], "pin");
    assert_eq!((status, body["error"]["param"].as_str()), (422, Some("pin")), "{body}");
    // Pinning the pinned one again changes nothing; the others still serve.
    assert_eq!(act(&ids[0], "pin").0, 200);
    for id in &ids {
        assert_eq!(complete(&w, id, "Hello", 2).0, 200);
    }
    let (status, body) = act(&ids[2], "status");
    assert_eq!(status, 404, "{body}");
    let resident =
        http_as(&w.addr, "GET", &format!("/v1/adapters/{}", ids[0]), None, Some(ADMIN_KEY));
    assert!(resident.1.contains("\"pinned\":true"), "{}", resident.1);
    assert_eq!(act(&ids[0], "unpin").0, 200);
    assert_eq!(act(&ids[1], "pin").0, 200);
}

#[test]
fn a_queued_stream_gets_keep_alive_comments_until_its_tokens_come() {
    let (w, _) = start(&["--max-batch", "1", "--sse-keep-alive-ms", "100"], 0);
    std::thread::scope(|s| {
        // A long generation takes the only slot.
        let long = s.spawn(|| {
            post(
                &w,
                "/v1/completions",
                json!({"model": "base", "prompt": "Count:", "max_tokens": 160, "ignore_eos": true, "temperature": 0}),
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        let body = json!({"model": "base", "prompt": "Hi", "max_tokens": 2, "stream": true});
        let (status, text) = http(&w.addr, "POST", "/v1/completions", Some(&body.to_string()));
        assert_eq!(status, 200, "{text}");
        let first_data = text.find("data:").unwrap_or(text.len());
        assert!(text[..first_data].contains(": keep-alive"), "no keep-alive while queued: {text}");
        assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        assert_eq!(long.join().unwrap().0, 200);
    });
}

#[test]
fn sigterm_drains_the_requests_in_flight_then_exits() {
    let (mut w, _) = start(&[], 0);
    std::thread::scope(|s| {
        let addr = w.addr.clone();
        let long = s.spawn(move || {
            let body = json!({"model": "base", "prompt": "Count:", "max_tokens": 96, "ignore_eos": true, "temperature": 0});
            http(&addr, "POST", "/v1/completions", Some(&body.to_string()))
        });
        std::thread::sleep(Duration::from_millis(300));
        let killed = Command::new("kill").args(["-TERM", &w.child.id().to_string()]).status();
        assert!(killed.unwrap().success());
        // The request in flight is answered in full.
        let (status, text) = long.join().unwrap();
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["usage"]["completion_tokens"], 96, "{v}");
    });
    // Then the worker exits cleanly and takes no more connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(code) = w.child.try_wait().unwrap() {
            break code;
        }
        assert!(std::time::Instant::now() < deadline, "the worker did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(code.success(), "{code:?}");
    assert!(TcpStream::connect(&w.addr).is_err());
}
