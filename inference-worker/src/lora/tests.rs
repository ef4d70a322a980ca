//! Unit tests of the adapter module.

use super::{pair::Stored, *};
use crate::qgemm::{self, QActs};

#[test]
fn gguf_permutation_interleaves_the_halves() {
    // head_dim 4: HF rows [a0 a1 | b0 b1] sit at GGUF rows [a0 b0 a1 b1].
    let rows: Vec<usize> = (0..8).map(|o| gguf_row(o, 4)).collect();
    assert_eq!(rows, vec![0, 2, 1, 3, 4, 6, 5, 7]);
}

#[test]
fn peft_names_parse() {
    assert_eq!(
        parse_key("base_model.model.model.layers.12.mlp.down_proj.lora_B.weight"),
        Some((12, Target::Down, false))
    );
    assert_eq!(
        parse_key("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"),
        Some((0, Target::Q, true))
    );
    assert_eq!(parse_key("base_model.model.model.layers.0.self_attn.q_proj.weight"), None);
}

/// `B` is prepared in one pass to exactly what scaling and transposing it in f32, then
/// quantizing the rows, gives; and refused for the same values.
#[test]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
fn b_is_quantized_as_its_scaled_transpose() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for (rank, out_dim, scale) in [(16, 64, 2.0f32), (8, 48, 0.25), (5, 24, -3.0)] {
        let mut b: Vec<f32> = (0..rank * out_dim).map(|_| rng.random_range(-0.02..0.02)).collect();
        b[3] = -0.0;
        for o in 0..out_dim {
            b[o * rank] = 0.0; // a slice of zeros has scale 0
        }
        let row_of = |o: usize| gguf_row(o, 8);
        let got = scaled_transposed_b(&b, rank, out_dim, scale, row_of).unwrap();
        let mut bt = vec![0f32; rank * out_dim];
        for (o, row) in b.chunks_exact(rank).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                bt[j * out_dim + row_of(o)] = v * scale;
            }
        }
        let (qs, scales) = quantize_rows(&bt, out_dim);
        assert_eq!(got, (qs.clone(), scales.clone()));
        assert_eq!(scales[0], 0.0);
        // quantize_rows: the largest magnitude of each row maps to ±127.
        for (row, (q, s)) in bt.chunks_exact(out_dim).zip(qs.chunks_exact(out_dim).zip(&scales)) {
            let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(*s, amax / 127.0);
            for (&v, &q) in row.iter().zip(q) {
                let back = f32::from(q) * s;
                assert!((back - v).abs() <= amax / 254.0 * 1.0001, "{back} vs {v}");
            }
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut b = b.clone();
            b[7] = bad;
            assert_eq!(
                scaled_transposed_b(&b, rank, out_dim, scale, row_of),
                Err("has a non-finite value")
            );
        }
        let mut b = b.clone();
        b[9] = f32::MAX / 2.0;
        assert_eq!(
            scaled_transposed_b(&b, rank, out_dim, scale * 1e3, row_of),
            Err("times the LoRA scale overflows")
        );
    }
}

/// The id hashed as a stream equals the chain's content hash of the framed concatenation
/// (what a developer registers as `weights_hash`).
#[test]
fn adapter_id_is_the_content_hash_of_the_framed_files() {
    let (config, weights) = (b"{\"r\": 8}".as_slice(), vec![7u8; 100_003]);
    let mut buf = b"provena:adapter:v1".to_vec();
    buf.extend_from_slice(&(config.len() as u64).to_le_bytes());
    buf.extend_from_slice(config);
    buf.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    buf.extend_from_slice(&weights);
    let expected = hex::encode(provena_primitives::content_hash(&buf));
    assert_eq!(adapter_id(config, &weights), expected);
    assert_ne!(adapter_id(config, &weights[1..]), expected);
}

/// A weights file in F32, F16, BF16 (read in place) or F64 (through candle) gives the same
/// prepared adapter for values every type holds exactly; a matrix whose shape is not 2-D,
/// or a file that is not safetensors, is refused with its name.
#[test]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
fn weights_files_of_every_float_type_prepare_alike() {
    let cfg = Config::small_for_tests(64);
    let (rank, targets) = (4, [Target::Q, Target::V]);
    let config = AdapterConfig::plain(rank, 8.0, &targets, "base");
    let config_bytes = serde_json::to_vec(&config).unwrap();
    // Multiples of 1/8 in [-4, 4): exact in every type below.
    let values = |n: usize, seed: usize| -> Vec<f32> {
        (0..n).map(|i| ((i * 7 + seed * 13) % 64) as f32 / 8.0 - 4.0).collect()
    };
    let file = |dtype: candle_core::DType| -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let mut tensors = Vec::new();
        for layer in 0..cfg.layers {
            for (k, &t) in targets.iter().enumerate() {
                let (i, o) = cfg.dims(t);
                let a = Tensor::from_vec(values(rank * i, layer + k), (rank, i), &Device::Cpu);
                let b = Tensor::from_vec(values(o * rank, layer * 3 + k), (o, rank), &Device::Cpu);
                tensors.push((peft_key(layer, t, true), a.unwrap().to_dtype(dtype).unwrap()));
                tensors.push((peft_key(layer, t, false), b.unwrap().to_dtype(dtype).unwrap()));
            }
        }
        write_peft(dir.path(), &config, tensors).unwrap();
        std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap()
    };
    let prepared = |bytes: &[u8]| {
        let w = LoraWeights::from_peft(&config_bytes, bytes, &cfg, Layout::Gguf).unwrap();
        let mut out = Vec::new();
        for layer in w.layers() {
            for pair in layer.iter().flatten() {
                let (a, bt) = pair.slices();
                out.push((
                    a.into_owned(),
                    bt.into_owned(),
                    pair.a_scale.clone(),
                    pair.bt_scale.clone(),
                ));
            }
        }
        out
    };
    let f32_file = file(candle_core::DType::F32);
    let reference = prepared(&f32_file);
    assert_eq!(reference.len(), cfg.layers * targets.len());
    for dtype in [candle_core::DType::F16, candle_core::DType::BF16, candle_core::DType::F64] {
        assert_eq!(prepared(&file(dtype)), reference, "{dtype:?}");
    }
    let not_safetensors = LoraWeights::from_peft(&config_bytes, b"garbage", &cfg, Layout::Gguf);
    assert!(not_safetensors.unwrap_err().contains("not a readable safetensors file"));
    // A vector where lora_A should be a matrix.
    let dir = tempfile::tempdir().unwrap();
    let flat = Tensor::from_vec(values(rank * 64, 0), rank * 64, &Device::Cpu).unwrap();
    let b = Tensor::from_vec(values(64 * rank, 1), (64, rank), &Device::Cpu).unwrap();
    let one = AdapterConfig::plain(rank, 8.0, &[Target::Q], "base");
    write_peft(
        dir.path(),
        &one,
        vec![(peft_key(0, Target::Q, true), flat), (peft_key(0, Target::Q, false), b)],
    )
    .unwrap();
    let bytes = std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap();
    let err =
        LoraWeights::from_peft(&serde_json::to_vec(&one).unwrap(), &bytes, &cfg, Layout::Gguf)
            .unwrap_err();
    assert!(err.contains("lora_A is not a matrix"), "{err}");
}

/// 8-bit slices: each value within half a step (`amax / 254`) of the f32 one, zero slices
/// exactly zero; `apply_rows` equals the product of the stored values (what `delta`
/// merges) to f32 rounding, and stays within a percent of the unrounded product. Shapes
/// with whole blocks of slices and lanes, and with a short last block and a tail; those
/// the CPU holds as tiles also take the 8-bit path and a mixture.
#[test]
fn eight_bit_slices_round_to_half_a_step() {
    eight_bit_slices(4, 96, 48, 3);
    eight_bit_slices(6, 100, 37, 5);
    eight_bit_slices(1, 7, 3, 1);
    eight_bit_slices(20, 64, 32, 6);
}

#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
fn eight_bit_slices(rank: usize, in_dim: usize, out_dim: usize, rows: usize) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut gen = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (a, mut bt, x) = (gen(rank * in_dim), gen(rank * out_dim), gen(rows * in_dim));
    bt[..out_dim].fill(0.0);
    let (qa, sa) = quantize_rows(&a, in_dim);
    let (qb, sb) = quantize_rows(&bt, out_dim);
    assert_eq!(sb[0], 0.0);
    assert!(qb[..out_dim].iter().all(|&q| q == 0));
    for (j, row) in a.chunks_exact(in_dim).enumerate() {
        let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (k, v) in row.iter().enumerate() {
            let back = f32::from(qa[j * in_dim + k]) * sa[j];
            assert!((back - v).abs() <= amax / 254.0 * 1.0001, "{back} vs {v}");
        }
    }
    let pair = LoraPair::new((rank, in_dim, out_dim), (qa, sa), (qb, sb), vec![1.0; rank]);
    // Held as tiles exactly where the CPU and the shapes allow, with the same integers.
    let tiled = qgemm::supported(rank.next_multiple_of(16), in_dim)
        && qgemm::supported(out_dim, rank.next_multiple_of(32));
    assert_eq!(matches!(pair.stored, Stored::Tiles { .. }), tiled);
    let mut got = vec![0f32; rows * out_dim];
    let all: Vec<usize> = (0..rows).collect();
    pair.apply_rows(&x, &all, &mut got);
    // A row's result does not depend on the rows it is computed with.
    let mut alone = vec![0f32; out_dim];
    pair.apply_rows(&x, &[rows - 1], &mut alone);
    assert_eq!(alone, got[(rows - 1) * out_dim..]);
    let delta = pair.delta().unwrap().to_vec2::<f32>().unwrap();
    let mut worst_stored = 0f32;
    let mut worst_exact = 0f32;
    let mut largest = 0f32;
    for r in 0..rows {
        for o in 0..out_dim {
            let xr = &x[r * in_dim..(r + 1) * in_dim];
            let stored: f32 = delta[o].iter().zip(xr).map(|(d, x)| d * x).sum();
            let exact: f32 = (0..rank)
                .map(|j| {
                    let xa: f32 =
                        a[j * in_dim..(j + 1) * in_dim].iter().zip(xr).map(|(a, x)| a * x).sum();
                    xa * bt[j * out_dim + o]
                })
                .sum();
            let g = got[r * out_dim + o];
            worst_stored = worst_stored.max((g - stored).abs());
            worst_exact = worst_exact.max((g - exact).abs());
            largest = largest.max(exact.abs());
        }
    }
    assert!(worst_stored <= 1e-4 * largest, "{worst_stored} vs {largest}");
    assert!(worst_exact <= 0.01 * largest, "{worst_exact} vs {largest}");
    if !tiled {
        return;
    }
    // On 8-bit activations (as the base quantized them): within 8-bit rounding of the
    // activations and of the `rank` intermediate values, and a row's result does not
    // depend on the rows it is computed with.
    let acts = QActs::quantize(&x, rows, in_dim).unwrap();
    let mut q8 = vec![0f32; rows * out_dim];
    pair.apply(&x, Some(&acts), &all, &mut q8);
    let mut q8_alone = vec![0f32; out_dim];
    pair.apply(&x, Some(&acts), &[rows - 1], &mut q8_alone);
    assert_eq!(q8_alone, q8[(rows - 1) * out_dim..]);
    let worst = q8.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 0.02 * largest, "8-bit path {worst} vs {largest}");
    assert!(worst > 0.0, "the 8-bit path must have run");
    // A mixture reuses its parts' integers exactly (and their scales, times the weights).
    let w = LoraWeights { layers: vec![vec![Some(pair.clone())]], rank, instance: 0 };
    let mixed = LoraWeights::mix(&[(&w, 0.5), (&w, -2.0)]).unwrap();
    let m = mixed.layers[0][0].as_ref().unwrap();
    let (ma, mbt) = m.slices();
    let (pa, pbt) = pair.slices();
    assert_eq!(ma.len(), 2 * pa.len());
    assert_eq!((&ma[..pa.len()], &ma[pa.len()..]), (&pa[..], &pa[..]));
    assert_eq!((&mbt[..pbt.len()], &mbt[pbt.len()..]), (&pbt[..], &pbt[..]));
    let mut y = vec![0f32; rows * out_dim];
    m.apply_rows(&x, &all, &mut y);
    let worst = y.iter().zip(&got).map(|(a, b)| (a + 1.5 * b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-4 * largest, "mixture {worst} vs {largest}");
}

/// The prepared form reads back to the same integers and scales, so every product is
/// bit-for-bit the same (f32 and 8-bit paths), and writes back to the same bytes; bytes of
/// another base, of another format, with a part missing or a scale not finite are refused.
#[test]
#[allow(clippy::arithmetic_side_effects)]
fn prepared_form_reads_back_exactly() {
    let cfg = Config::small_for_tests(64);
    let dir = tempfile::tempdir().unwrap();
    let targets = vec![Target::Q, Target::K, Target::V, Target::O, Target::Down];
    let spec = SynthSpec { rank: 8, alpha: 16.0, targets, seed: 3, b_std: 0.05 };
    write_synthetic(dir.path(), &cfg, "base", &spec).unwrap();
    let c = std::fs::read(dir.path().join(CONFIG_FILE)).unwrap();
    let w = std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap();
    let original = LoraWeights::from_peft(&c, &w, &cfg, Layout::Gguf).unwrap();
    let bytes = original.to_prepared().unwrap();
    let back = LoraWeights::from_prepared(&bytes, &cfg).unwrap();
    assert_eq!(back.rank, original.rank);
    assert_ne!(back.instance(), original.instance(), "a new preparation");
    assert_eq!(back.to_prepared().unwrap(), bytes);
    let rows = 3;
    let x: Vec<f32> =
        (0..rows * cfg.intermediate).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let mut pairs = 0;
    for (l0, l1) in original.layers().iter().zip(back.layers()) {
        assert_eq!(l0.len(), l1.len());
        for (p0, p1) in l0.iter().zip(l1) {
            let (Some(p0), Some(p1)) = (p0, p1) else {
                assert!(p0.is_none() && p1.is_none());
                continue;
            };
            pairs += 1;
            assert_eq!(p0.slices(), p1.slices());
            assert_eq!(
                (&p0.a_scale, &p0.bt_scale, &p0.weight),
                (&p1.a_scale, &p1.bt_scale, &p1.weight)
            );
            let x = &x[..rows * p0.in_dim];
            let acts = QActs::quantize(x, rows, p0.in_dim).unwrap();
            for acts in [None, Some(&acts)] {
                let (mut y0, mut y1) =
                    (vec![0f32; rows * p0.out_dim], vec![0f32; rows * p0.out_dim]);
                p0.apply(x, acts, &[0, 1, 2], &mut y0);
                p1.apply(x, acts, &[0, 1, 2], &mut y1);
                assert_eq!(y0, y1);
                assert!(y0.iter().any(|&v| v != 0.0));
            }
        }
    }
    assert_eq!(pairs, cfg.layers * 5);

    // Another base: other shapes, fewer layers.
    let wider = Config { hidden: 96, ..cfg.clone() };
    assert!(LoraWeights::from_prepared(&bytes, &wider).unwrap_err().contains("do not fit"));
    let shallower = Config { layers: 1, ..cfg.clone() };
    assert!(LoraWeights::from_prepared(&bytes, &shallower).unwrap_err().contains("no such layer"));
    assert_ne!(prepared_key(&cfg, Layout::Gguf), prepared_key(&cfg, Layout::Hf));
    assert_ne!(prepared_key(&cfg, Layout::Gguf), prepared_key(&wider, Layout::Gguf));
    // Hand-made files: one q_proj pair of rank 1.
    let file = |format: &str, scales: [f32; 3], with_bt: bool| -> Vec<u8> {
        let a = vec![1u8; 64];
        let bt = vec![2u8; 64];
        let s: Vec<u8> = scales.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut views = vec![
            (
                "0.q_proj.a",
                safetensors::tensor::TensorView::new(safetensors::Dtype::I8, vec![1, 64], &a)
                    .unwrap(),
            ),
            (
                "0.q_proj.scales",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 1], &s)
                    .unwrap(),
            ),
        ];
        if with_bt {
            views.push((
                "0.q_proj.bt",
                safetensors::tensor::TensorView::new(safetensors::Dtype::I8, vec![1, 64], &bt)
                    .unwrap(),
            ));
        }
        let meta = HashMap::from([("format".to_string(), format.to_string())]);
        safetensors::serialize(views, Some(meta)).unwrap()
    };
    let good = LoraWeights::from_prepared(&file(PREPARED_FORMAT, [0.5, 0.25, 1.0], true), &cfg);
    assert_eq!(good.unwrap().rank, 1);
    let err = |bytes: Vec<u8>| LoraWeights::from_prepared(&bytes, &cfg).unwrap_err();
    assert!(err(file("provena-lora-prepared-0", [0.5, 0.25, 1.0], true))
        .contains("not a prepared adapter"));
    assert!(err(file(PREPARED_FORMAT, [0.5, 0.25, 1.0], false)).contains("a part is missing"));
    for bad in [f32::NAN, f32::INFINITY] {
        assert!(err(file(PREPARED_FORMAT, [0.5, bad, 1.0], true)).contains("not finite"));
    }
    assert!(LoraWeights::from_prepared(b"garbage", &cfg).is_err());
}
