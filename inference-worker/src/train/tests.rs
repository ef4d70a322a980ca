//! The trainer on a tiny random model: gradients against finite differences, the zero-`B`
//! start, determinism, resumption, accumulation, refusals.

use super::{data::Example, net, *};
use crate::model::DenseLayer;
use rand::{Rng, SeedableRng};

fn tiny_config() -> Config {
    Config {
        hidden: 8,
        intermediate: 12,
        layers: 2,
        heads: 2,
        kv_heads: 1,
        head_dim: 4,
        vocab: 16,
        rope_theta: 10_000.0,
        rms_eps: 1e-5,
        context: 32,
        eos: vec![1],
        kv_f32: false,
    }
}

fn tiny_weights(cfg: &Config, seed: u64) -> DenseWeights {
    let dev = Device::Cpu;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut mat = |rows: usize, cols: usize, scale: f32| {
        let v: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(-scale..scale)).collect();
        Tensor::from_vec(v, (rows, cols), &dev).unwrap()
    };
    let layers = (0..cfg.layers)
        .map(|_| DenseLayer {
            attn_norm: mat(1, cfg.hidden, 1.0).affine(0.2, 1.0).unwrap().flatten_all().unwrap(),
            ffn_norm: mat(1, cfg.hidden, 1.0).affine(0.2, 1.0).unwrap().flatten_all().unwrap(),
            linears_t: Target::ALL
                .iter()
                .map(|&t| {
                    let (i, o) = cfg.dims(t);
                    mat(i, o, 0.6)
                })
                .collect(),
        })
        .collect();
    let half = cfg.head_dim / 2;
    let mut cos = Vec::new();
    let mut sin = Vec::new();
    for pos in 0..cfg.context {
        for i in 0..half {
            let angle = pos as f32 / cfg.rope_theta.powf((2 * i) as f32 / cfg.head_dim as f32);
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    DenseWeights {
        embed: mat(cfg.vocab, cfg.hidden, 1.0),
        norm: mat(1, cfg.hidden, 1.0).affine(0.2, 1.0).unwrap().flatten_all().unwrap(),
        head_t: mat(cfg.hidden, cfg.vocab, 0.5),
        layers,
        rope_cos: Tensor::from_vec(cos, (cfg.context, half), &dev).unwrap(),
        rope_sin: Tensor::from_vec(sin, (cfg.context, half), &dev).unwrap(),
    }
}

/// Sequences following a rule the random model does not know: token `i+1` follows `i`.
fn counting_examples(n: usize, seed: u64) -> Vec<Example> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let start = rng.random_range(2u32..8);
            let len = rng.random_range(5usize..9);
            let tokens: Vec<u32> = (0..len as u32).map(|i| (start + i) % 16).collect();
            // The first two tokens are "prompt": not trained on.
            let trained = (0..len).map(|i| i >= 2).collect();
            Example { tokens, trained }
        })
        .collect()
}

fn hyper(steps: u64) -> Hyper {
    Hyper {
        rank: 4,
        alpha: 8.0,
        target_modules: Target::ALL.iter().map(|t| t.peft_name().to_string()).collect(),
        learning_rate: 1e-2,
        max_steps: Some(steps),
        batch_size: 3,
        grad_accum: 2,
        max_len: 16,
        warmup_steps: 2,
        weight_decay: 0.01,
        ..Hyper::default()
    }
}

fn trainer(h: Hyper) -> Trainer {
    let cfg = tiny_config();
    let weights = tiny_weights(&cfg, 7);
    let (train, eval) = data::split(counting_examples(20, 3), 0.2, h.seed);
    Trainer::new(cfg, weights, h, train, eval, [9; 32]).unwrap()
}

fn snapshot(t: &Trainer) -> Vec<Vec<f32>> {
    t.lora
        .named_vars()
        .into_iter()
        .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

fn mean_loss(cfg: &Config, w: &DenseWeights, lora: &net::LoraParams, batch: &net::Batch) -> f64 {
    let sum = net::nll_sum(cfg, w, Some(lora), batch).unwrap().to_scalar::<f32>().unwrap();
    f64::from(sum) / batch.count as f64
}

#[test]
fn gradients_match_finite_differences() {
    let cfg = tiny_config();
    let w = tiny_weights(&cfg, 1);
    let lora = net::LoraParams::init(&cfg, &Target::ALL, 2, 4.0, 5, &Device::Cpu).unwrap();
    // A non-zero B, so that A's gradients are not all zero either.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for (name, var) in lora.named_vars() {
        if name.contains("lora_B") {
            let n = var.elem_count();
            let v: Vec<f32> = (0..n).map(|_| rng.random_range(-0.3..0.3)).collect();
            var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
        }
    }
    let examples = counting_examples(3, 4);
    let seqs: Vec<(&[u32], &[bool])> =
        examples.iter().map(|e| (e.tokens.as_slice(), e.trained.as_slice())).collect();
    let batch = net::Batch::new(&seqs, &Device::Cpu).unwrap();
    let loss = net::nll_sum(&cfg, &w, Some(&lora), &batch)
        .unwrap()
        .affine(1.0 / batch.count as f64, 0.0)
        .unwrap();
    let grads = loss.backward().unwrap();
    let mut checked = 0;
    let mut largest = 0f64;
    for (name, var) in lora.named_vars() {
        let analytic =
            grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // A few entries of every matrix.
        for k in [0, original.len() / 3, original.len() - 1] {
            let eps = 1e-2f32;
            let at = |delta: f32| {
                let mut v = original.clone();
                v[k] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
                mean_loss(&cfg, &w, &lora, &batch)
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
            var.set(&Tensor::from_vec(original.clone(), var.shape(), &Device::Cpu).unwrap())
                .unwrap();
            let a = f64::from(analytic[k]);
            assert!(
                (a - numeric).abs() <= 2e-3 + 2e-2 * a.abs(),
                "{name}[{k}]: autograd {a}, finite differences {numeric}"
            );
            largest = largest.max(a.abs());
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 2 * 7 * 3);
    assert!(largest > 1e-2, "the gradients checked are not all negligible ({largest})");
}

#[test]
fn a_fresh_adapter_leaves_the_base_outputs_unchanged() {
    let cfg = tiny_config();
    let w = tiny_weights(&cfg, 2);
    let lora = net::LoraParams::init(&cfg, &Target::ALL, 4, 8.0, 3, &Device::Cpu).unwrap();
    let tokens = [3u32, 9, 4, 15, 0, 7];
    let base = net::logits(&cfg, &w, None, &tokens)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let adapted = net::logits(&cfg, &w, Some(&lora), &tokens)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(base, adapted, "B = 0 must give the base's outputs bit for bit");
    // A's values are not zero (the adapter is live: one step of training changes outputs).
    let (_, a) = &lora.named_vars()[0];
    assert!(a.as_tensor().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0);
}

#[test]
fn training_lowers_the_loss_and_is_deterministic() {
    let mut a = trainer(hyper(40));
    let before = a.evaluate().unwrap().unwrap();
    let base = a.evaluate_base().unwrap().unwrap();
    assert_eq!(before, base, "the untrained adapter is the base");
    let mut first = None;
    let mut last = None;
    while !a.done() {
        let r = a.step().unwrap();
        first.get_or_insert(r.loss);
        last = Some(r.loss);
    }
    let after = a.evaluate().unwrap().unwrap();
    assert!(after.loss < 0.5 * before.loss, "held-out loss {} → {}", before.loss, after.loss);
    assert!(last.unwrap() < 0.5 * first.unwrap());

    let mut b = trainer(hyper(40));
    while !b.done() {
        b.step().unwrap();
    }
    assert_eq!(snapshot(&a), snapshot(&b), "same seed, same adapter");
    let dir = tempfile::tempdir().unwrap();
    let id_a = a.lora.save_peft(&dir.path().join("a"), "tiny").unwrap();
    let id_b = b.lora.save_peft(&dir.path().join("b"), "tiny").unwrap();
    assert_eq!(id_a, id_b);

    let mut c = trainer(Hyper { seed: 1, ..hyper(40) });
    c.step().unwrap();
    let mut a1 = trainer(hyper(40));
    a1.step().unwrap();
    assert_ne!(snapshot(&a1), snapshot(&c), "another seed, another run");
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let mut whole = trainer(hyper(8));
    while !whole.done() {
        whole.step().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = trainer(hyper(8));
    for _ in 0..3 {
        first.step().unwrap();
    }
    checkpoint::save(dir.path(), &first).unwrap();
    first.step().unwrap();
    checkpoint::save(dir.path(), &first).unwrap();
    drop(first);
    let mut resumed = trainer(hyper(8));
    assert!(checkpoint::resume(dir.path(), &mut resumed).unwrap());
    assert_eq!(resumed.step, 4);
    // Only the newest checkpoint is kept.
    let kept: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    while !resumed.done() {
        resumed.step().unwrap();
    }
    assert_eq!(snapshot(&whole), snapshot(&resumed));

    let mut other = trainer(hyper(8));
    other.fingerprint = [1; 32];
    let err = checkpoint::resume(dir.path(), &mut other).unwrap_err().to_string();
    assert!(err.contains("another run"), "{err}");
    assert_eq!(other.step, 0);
    assert!(!checkpoint::resume(&dir.path().join("none"), &mut other).unwrap());
}

#[test]
fn accumulated_micro_batches_give_the_big_batch_gradient() {
    let big = Hyper { batch_size: 6, grad_accum: 1, weight_decay: 0.0, ..hyper(3) };
    let small = Hyper { batch_size: 2, grad_accum: 3, ..big.clone() };
    let mut a = trainer(big);
    let mut b = trainer(small);
    for _ in 0..3 {
        let ra = a.step().unwrap();
        let rb = b.step().unwrap();
        assert_eq!(ra.tokens, rb.tokens);
        assert!((ra.loss - rb.loss).abs() < 1e-5, "{} vs {}", ra.loss, rb.loss);
        assert!((ra.grad_norm - rb.grad_norm).abs() < 1e-4 * ra.grad_norm.max(1.0));
    }
    for (x, y) in snapshot(&a).iter().flatten().zip(snapshot(&b).iter().flatten()) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
}

#[test]
fn bad_hyper_parameters_are_refused_by_name() {
    let cfg = tiny_config();
    let cases: Vec<(Hyper, &str)> = vec![
        (Hyper { rank: 0, ..Hyper::default() }, "rank"),
        (Hyper { rank: 257, ..Hyper::default() }, "rank"),
        (Hyper { alpha: f32::NAN, ..Hyper::default() }, "alpha"),
        (Hyper { learning_rate: 0.0, ..Hyper::default() }, "learning_rate"),
        (Hyper { learning_rate: f64::INFINITY, ..Hyper::default() }, "learning_rate"),
        (Hyper { target_modules: vec![], ..Hyper::default() }, "target_modules"),
        (Hyper { target_modules: vec!["lm_head".into()], ..Hyper::default() }, "target_modules"),
        (
            Hyper { target_modules: vec!["q_proj".into(), "q_proj".into()], ..Hyper::default() },
            "target_modules",
        ),
        (Hyper { batch_size: 0, ..Hyper::default() }, "batch_size"),
        (Hyper { grad_accum: 0, ..Hyper::default() }, "grad_accum"),
        (Hyper { max_len: 33, ..Hyper::default() }, "max_len"),
        (Hyper { max_steps: Some(0), ..Hyper::default() }, "max_steps"),
        (Hyper { epochs: 0, ..Hyper::default() }, "epochs"),
        (Hyper { weight_decay: -1.0, ..Hyper::default() }, "weight_decay"),
        (Hyper { max_grad_norm: f64::NAN, ..Hyper::default() }, "max_grad_norm"),
        (Hyper { eval_fraction: 0.9, ..Hyper::default() }, "eval_fraction"),
    ];
    for (h, field) in cases {
        let h = Hyper { max_len: if field == "max_len" { h.max_len } else { 16 }, ..h };
        match h.validate(&cfg) {
            Err(Error::Invalid { param, .. }) => assert_eq!(param, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(Hyper { max_len: 16, ..Hyper::default() }.validate(&cfg).is_ok());
    let long = Config { context: 100_000, ..tiny_config() };
    let big = Hyper { batch_size: 17, max_len: 512, ..Hyper::default() };
    match big.validate(&long) {
        Err(Error::Invalid { param, message }) => {
            assert_eq!(param, "batch_size");
            assert!(message.contains("grad_accum"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(Hyper { batch_size: 16, max_len: 512, ..Hyper::default() }.validate(&long).is_ok());
    // Unknown fields in a job's JSON are refused too.
    let err = serde_json::from_str::<Hyper>(r#"{"rank": 4, "lr": 0.1}"#).unwrap_err().to_string();
    assert!(err.contains("unknown field `lr`"), "{err}");
}

#[test]
fn the_split_and_epoch_orders_follow_the_seed() {
    let ex = counting_examples(10, 1);
    let (t1, e1) = data::split(ex.clone(), 0.2, 5);
    let (t2, e2) = data::split(ex.clone(), 0.2, 5);
    assert_eq!((t1.len(), e1.len()), (8, 2));
    assert_eq!((&t1, &e1), (&t2, &e2));
    assert_eq!(data::split(ex.clone(), 0.0, 5).1.len(), 0);
    assert_eq!(data::split(ex[..1].to_vec(), 0.5, 5).1.len(), 0, "never everything held out");
    let o = data::epoch_order(10, 3, 0);
    let mut sorted = o.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_ne!(o, data::epoch_order(10, 3, 1));
}
