use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// The kernel equals the same quantized arithmetic done in scalar f64, for every row-block
/// and tile-block shape the driver picks (1–9 rows, 1–7 tiles), and stays within 8-bit
/// quantization error of the f32 product.
#[test]
fn kernel_matches_scalar_arithmetic() {
    if !available() {
        eprintln!("no AVX-512 VNNI on this CPU: the engine uses candle's kernels instead");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (rows, out_dim, in_dim) in [
        (1, 64, 576),
        (1, 112, 64),
        (2, 48, 96),
        (3, 16, 32),
        (4, 32, 1536),
        (5, 80, 128),
        (9, 112, 576),
        (16, 96, 64),
    ] {
        let w = random(&mut rng, out_dim * in_dim);
        let x = random(&mut rng, rows * in_dim);
        let m = QMatrix::quantize(&w, out_dim, in_dim).unwrap();
        let a = QActs::quantize(&x, rows, in_dim).unwrap();
        let got = m.matmul(&a).unwrap();
        let wq = m.dequantize();
        let blocks = in_dim / BLOCK;
        let Tiles::Q8(tiles) = &m.tiles else { panic!("8-bit tiles expected") };
        for r in 0..rows {
            for o in 0..out_dim {
                let mut exact = 0f64;
                let mut float = 0f64;
                for b in 0..blocks {
                    let mut isum = 0i64;
                    for kk in 0..BLOCK {
                        let idx = b * BLOCK + kk;
                        let wq_i = (wq[o * in_dim + idx]
                            / tiles[(o / TILE) * blocks + b].scale[o % TILE])
                            .round() as i64;
                        isum += wq_i * i64::from(a.qs[r * in_dim + idx]);
                    }
                    exact += isum as f64
                        * f64::from(tiles[(o / TILE) * blocks + b].scale[o % TILE])
                        * f64::from(a.scale[r * blocks + b]);
                }
                for idx in 0..in_dim {
                    float += f64::from(w[o * in_dim + idx]) * f64::from(x[r * in_dim + idx]);
                }
                let g = f64::from(got[r * out_dim + o]);
                assert!(
                    (g - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                    "{rows}x{out_dim}x{in_dim} [{r},{o}]: {g} vs {exact}"
                );
                // 8-bit blocks: a few per mille of the row's magnitude.
                assert!(
                    (g - float).abs() <= 0.02 * (in_dim as f64).sqrt(),
                    "[{r},{o}]: {g} vs f32 {float}"
                );
            }
        }
        // A row's result does not depend on the other rows.
        let alone = QActs::quantize(&x[(rows - 1) * in_dim..], 1, in_dim).unwrap();
        assert_eq!(m.matmul(&alone).unwrap(), got[(rows - 1) * out_dim..].to_vec());
    }
}

#[test]
fn bad_shapes_are_refused() {
    assert!(QMatrix::quantize(&[0.0; 16 * 33], 16, 33).is_err());
    assert!(QMatrix::quantize(&[0.0; 15 * 32], 15, 32).is_err());
    assert!(QActs::quantize(&[0.0; 40], 1, 40).is_err());
    if available() {
        let m = QMatrix::quantize(&[0.5; 16 * 64], 16, 64).unwrap();
        let a = QActs::quantize(&[0.5; 32], 1, 32).unwrap();
        assert!(m.matmul(&a).is_err());
        // All-zero blocks quantize to zero with scale 0 and give exact zeros.
        let z = QMatrix::quantize(&[0.0; 16 * 64], 16, 64).unwrap();
        let a = QActs::quantize(&[1.0; 64], 1, 64).unwrap();
        assert_eq!(z.matmul(&a).unwrap(), vec![0.0; 16]);
    }
}

/// A GGUF Q4_0/Q4_1 matrix of random blocks: its raw bytes and its values as GGUF dequantizes
/// them (`q · d + m` in f32, element `j + 16` of a block in the high nibble of byte `j`).
fn random_q4(
    rng: &mut ChaCha8Rng,
    q4_1: bool,
    out_dim: usize,
    in_dim: usize,
) -> (Vec<u8>, Vec<f32>) {
    let mut data = Vec::new();
    let mut values = Vec::new();
    for _ in 0..out_dim * in_dim / BLOCK {
        let d = half::f16::from_f32(rng.random_range(0.001f32..0.05));
        let m = half::f16::from_f32(rng.random_range(-0.4f32..0.0));
        let qs: Vec<u8> = (0..16).map(|_| rng.random()).collect();
        data.extend_from_slice(&d.to_bits().to_le_bytes());
        if q4_1 {
            data.extend_from_slice(&m.to_bits().to_le_bytes());
        }
        data.extend_from_slice(&qs);
        let (d, m) = (d.to_f32(), if q4_1 { m.to_f32() } else { -8.0 * d.to_f32() });
        let mut block = [0f32; BLOCK];
        for j in 0..16 {
            block[j] = f32::from(qs[j] & 0x0F) * d + m;
            block[j + 16] = f32::from(qs[j] >> 4) * d + m;
        }
        values.extend_from_slice(&block);
    }
    (data, values)
}

/// 4-bit tiles hold a GGUF Q4_0/Q4_1 matrix exactly (dequantized, the same values GGUF
/// gives), and the kernel computes `Σ_b s_a · (d · Σ q·a + m · Σ a)` over the 8-bit
/// activations, for every register-block shape; rows do not depend on one another.
#[test]
fn four_bit_tiles_hold_gguf_blocks_exactly() {
    if !available() {
        eprintln!("no AVX-512 VNNI on this CPU: the engine uses candle's kernels instead");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for q4_1 in [true, false] {
        for (rows, out_dim, in_dim) in
            [(1, 64, 576), (1, 112, 64), (2, 48, 96), (3, 16, 32), (4, 32, 1536), (9, 112, 576)]
        {
            let (data, values) = random_q4(&mut rng, q4_1, out_dim, in_dim);
            let m = QMatrix::from_gguf_q4(q4_1, &data, out_dim, in_dim).unwrap();
            assert!(m.is_4bit());
            assert_eq!(m.dequantize(), values, "q4_1 {q4_1}: {out_dim}x{in_dim}");
            assert_eq!(m.bytes(), out_dim * in_dim / BLOCK * 20);
            let x = random(&mut rng, rows * in_dim);
            let a = QActs::quantize(&x, rows, in_dim).unwrap();
            let got = m.matmul(&a).unwrap();
            let blocks = in_dim / BLOCK;
            for r in 0..rows {
                for o in 0..out_dim {
                    let mut exact = 0f64;
                    for b in 0..blocks {
                        let mut dot = 0f64;
                        for kk in 0..BLOCK {
                            let idx = b * BLOCK + kk;
                            dot += f64::from(values[o * in_dim + idx])
                                * f64::from(a.qs[r * in_dim + idx]);
                        }
                        exact += dot * f64::from(a.scale[r * blocks + b]);
                    }
                    let g = f64::from(got[r * out_dim + o]);
                    assert!(
                        (g - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                        "q4_1 {q4_1} {rows}x{out_dim}x{in_dim} [{r},{o}]: {g} vs {exact}"
                    );
                }
            }
            let alone = QActs::quantize(&x[(rows - 1) * in_dim..], 1, in_dim).unwrap();
            assert_eq!(m.matmul(&alone).unwrap(), got[(rows - 1) * out_dim..].to_vec());
        }
    }
    // Bytes that are not whole blocks of the shape are refused.
    assert!(QMatrix::from_gguf_q4(true, &[0; 20 * 15], 16, 32).is_err());
    assert!(QMatrix::from_gguf_q4(false, &[0; 20 * 16], 16, 32).is_err());
}

/// The AVX-512 activation quantizer gives the portable one's bytes, scales and block sums
/// exactly: ordinary values, an all-zero block, a block with one huge and many tiny values,
/// ties that round to even, and values far outside [-1, 1].
#[test]
fn avx512_activation_quantizer_equals_the_portable_one() {
    if !avx512_quantize() {
        eprintln!("no AVX-512 on this CPU: only the portable quantizer runs");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut x = random(&mut rng, 64 * BLOCK);
    x[BLOCK..2 * BLOCK].fill(0.0);
    x[2 * BLOCK] = 1e30;
    x[2 * BLOCK + 1..3 * BLOCK].fill(1e-30);
    // With amax = 127 the scale is 1: k − 15.5 is a tie, rounded to the even neighbour.
    for k in 0..BLOCK {
        x[3 * BLOCK + k] = k as f32 - 15.5;
    }
    x[3 * BLOCK + 31] = 127.0;
    for v in &mut x[4 * BLOCK..5 * BLOCK] {
        *v *= 3.0e4;
    }
    let n = x.len() / BLOCK;
    let (mut qa, mut sa, mut ca) = (vec![0i8; x.len()], vec![0f32; n], vec![0i32; n]);
    let (mut qb, mut sb, mut cb) = (vec![0i8; x.len()], vec![0f32; n], vec![0i32; n]);
    quantize_scalar(&x, &mut qa, &mut sa, &mut ca);
    #[allow(unsafe_code)]
    // SAFETY: AVX-512 F/BW checked above; the buffers are sized as the contract asks.
    unsafe {
        avx512::quantize(&x, &mut qb, &mut sb, &mut cb)
    };
    assert_eq!(qa, qb);
    assert_eq!(sa, sb);
    assert_eq!(ca, cb);
    assert!(qa[3 * BLOCK..4 * BLOCK - 1].iter().all(|&q| q % 2 == 0), "ties round to even");
}

/// Integers held as unit-scale tiles (`from_i8`, whole blocks and a half block) come back
/// unchanged, and their products equal the integer arithmetic exactly (in f64), for every
/// register-block shape; rows gathered from shared activations give the same results as
/// those rows quantized alone, on the calling thread.
#[test]
fn unit_scale_tiles_are_exact() {
    if !available() {
        eprintln!("no AVX-512 VNNI on this CPU: adapters use the f32 products instead");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut held = Vec::new();
    for (rows, out_dim, in_dim) in
        [(1, 64, 576), (3, 16, 64), (4, 48, 16), (6, 112, 8), (9, 32, 96), (2, 576, 16)]
    {
        let q: Vec<i8> = (0..out_dim * in_dim).map(|_| rng.random_range(-127i8..=127)).collect();
        let m = QMatrix::from_i8(&q, out_dim, in_dim).unwrap();
        let width = in_dim.next_multiple_of(BLOCK);
        assert_eq!(m.in_dim, width);
        // A half block stores half the bytes.
        assert_eq!(m.bytes(), out_dim * if in_dim <= TILE { 16 } else { in_dim });
        let back = m.to_i8().unwrap();
        for o in 0..out_dim {
            assert_eq!(back[o * width..o * width + in_dim], q[o * in_dim..(o + 1) * in_dim]);
            assert!(back[o * width + in_dim..(o + 1) * width].iter().all(|&v| v == 0));
        }
        // Activations are zero past `in_dim` (as the adapters' intermediate values are).
        let mut x = random(&mut rng, rows * width);
        for row in x.chunks_exact_mut(width) {
            row[in_dim..].fill(0.0);
        }
        let a = QActs::quantize_here(&x, rows, width).unwrap();
        let got = m.matmul_here(&a).unwrap();
        assert_eq!(got, m.matmul(&a).unwrap());
        let blocks = width / BLOCK;
        for r in 0..rows {
            for o in 0..out_dim {
                let mut exact = 0f64;
                for b in 0..blocks {
                    let isum: i64 = (b * BLOCK..((b + 1) * BLOCK).min(in_dim))
                        .map(|k| i64::from(q[o * in_dim + k]) * i64::from(a.qs[r * width + k]))
                        .sum();
                    exact += isum as f64 * f64::from(a.scale[r * blocks + b]);
                }
                let g = f64::from(got[r * out_dim + o]);
                assert!(
                    (g - exact).abs() <= 1e-5 * (1.0 + exact.abs()),
                    "[{r},{o}] {g} vs {exact}"
                );
            }
        }
        let picked = [rows - 1, 0];
        let sub = a.gather(&picked).unwrap();
        let alone = m.matmul_here(&sub).unwrap();
        assert_eq!(alone[..out_dim], got[(rows - 1) * out_dim..rows * out_dim]);
        assert_eq!(alone[out_dim..], got[..out_dim]);
        assert!(a.gather(&[rows]).is_err());
        held.push((m, a, got, back));
    }
    // Packed into one buffer (as an adapter's matrices are): the same integers and the same
    // products, each matrix starting on a cache line of the one shared buffer.
    let mut packed: Vec<QMatrix> = held.iter().map(|h| h.0.clone()).collect();
    QMatrix::pack(&mut packed.iter_mut().collect::<Vec<_>>());
    let Tiles::Raw { qs: first, .. } = &packed[0].tiles else { panic!("not raw tiles") };
    for (m, (own, a, got, back)) in packed.iter().zip(&held) {
        let Tiles::Raw { qs, .. } = &m.tiles else { panic!("not raw tiles") };
        assert!(std::sync::Arc::ptr_eq(&qs.buf, &first.buf));
        assert_eq!(qs.get().as_ptr() as usize % 64, 0);
        assert_eq!(m.bytes(), own.bytes());
        assert_eq!(m.to_i8().unwrap(), *back);
        assert_eq!(m.matmul_here(a).unwrap(), *got);
    }
    assert!(QMatrix::from_i8(&[0; 16 * 17], 16, 17).is_err());
    assert!(QMatrix::from_i8(&[0; 16 * 8], 16, 9).is_err());
}
