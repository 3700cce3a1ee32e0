//! Single-core throughput of the codec's hot paths on 4 MiB chunks, as a plain table.
//!
//! Run with `cargo bench -p floe-codec`. Each row processes about 1 GiB of chunk bytes. Inputs are
//! prepared in untimed batches (the functions take ownership of their buffers), so the numbers are
//! the cost of the codec call alone. Throughput is always chunk bytes (not shard bytes) per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use floe_codec::{
    CodecParams, EncodedChunk, ShardHash, decode_chunk, encode_chunk, reconstruct_data,
};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

const CHUNK: usize = 4 * 1024 * 1024;
const TOTAL: usize = 1 << 30;
/// Inputs prepared per untimed batch: enough to amortise timer reads, few enough to stay at
/// a few tens of MiB of memory.
const BATCH: usize = 8;

/// Runs `run` on inputs from `setup` until about `TOTAL` bytes went through; returns GiB/s.
/// Outputs are dropped inside the timed loop, as a pipeline would drop each chunk once sent, so
/// the allocator settles into reusing the same buffers (steady state, not first-touch faults).
fn measure<T, R>(mut setup: impl FnMut() -> T, mut run: impl FnMut(T) -> R) -> f64 {
    let iterations = TOTAL / CHUNK;
    // One untimed warm-up so allocator and CPU-frequency effects settle.
    drop(run(setup()));
    let mut elapsed = Duration::ZERO;
    let mut done = 0;
    while done < iterations {
        let inputs: Vec<T> = (0..BATCH.min(iterations - done)).map(|_| setup()).collect();
        done += inputs.len();
        let start = Instant::now();
        for input in inputs {
            drop(black_box(run(input)));
        }
        elapsed += start.elapsed();
    }
    (done * CHUNK) as f64 / elapsed.as_secs_f64() / (1u64 << 30) as f64
}

fn sample_data() -> Vec<u8> {
    // Incompressible-looking bytes; RS and blake3 do not care, but it keeps the data honest.
    let mut out = Vec::with_capacity(CHUNK);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while out.len() < CHUNK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Slots with the first `lost` data shards missing and everything else present.
fn slots(enc: &EncodedChunk, lost: usize) -> Vec<Option<Vec<u8>>> {
    (0..enc.chunk.params.total())
        .map(|i| (i >= lost).then(|| enc.shard(i).to_vec()))
        .collect()
}

/// One table line; also shows the time per 4 MiB chunk, which reads better than GiB/s for the
/// near-free rows (the systematic fast path only checks lengths).
fn row(name: &str, gib_s: f64) {
    let micros = CHUNK as f64 / (gib_s * (1u64 << 30) as f64) * 1e6;
    println!("| {name:<44} | {gib_s:>9.2} | {micros:>10.1} |");
}

fn bench_params(k: u16, m: u16, data: &[u8]) {
    let params = CodecParams::new(k, m).expect("valid bench params");
    let (k, m) = (params.k(), params.m());
    let enc = encode_chunk(params, data.to_vec()).expect("encode");
    let shard_len = enc.chunk.shard_len();

    row(
        &format!("{params} encode_chunk (RS + {} blake3)", k + m),
        measure(
            || data.to_vec(),
            |d| encode_chunk(params, d).expect("encode"),
        ),
    );
    row(
        &format!("{params} RS encode only"),
        measure(
            || (),
            |()| {
                let mut e = ReedSolomonEncoder::new(k, m, shard_len).expect("encoder");
                for s in enc.data.chunks_exact(shard_len) {
                    e.add_original_shard(s).expect("add");
                }
                e.encode().expect("encode").recovery(0).map(<[u8]>::len)
            },
        ),
    );
    row(
        &format!("{params} decode_chunk, 2 lost (plan + 2 blake3)"),
        measure(
            || slots(&enc, 2),
            |s| decode_chunk(&enc.chunk, s).expect("decode"),
        ),
    );
    row(
        &format!("{params} library RS decode, 2 lost (reference)"),
        measure(
            || (),
            |()| {
                let mut d = ReedSolomonDecoder::new(k, m, shard_len).expect("decoder");
                for i in 2..k + 2 {
                    let shard = enc.shard(i);
                    if i < k {
                        d.add_original_shard(i, shard).expect("add");
                    } else {
                        d.add_recovery_shard(i - k, shard).expect("add");
                    }
                }
                d.decode()
                    .expect("decode")
                    .restored_original(0)
                    .map(<[u8]>::len)
            },
        ),
    );
    let mut reused = ReedSolomonDecoder::new(k, m, shard_len).expect("decoder");
    row(
        &format!("{params} library RS decode, reused decoder"),
        measure(
            || (),
            |()| {
                reused.reset(k, m, shard_len).expect("reset");
                for i in 2..k + 2 {
                    let shard = enc.shard(i);
                    if i < k {
                        reused.add_original_shard(i, shard).expect("add");
                    } else {
                        reused.add_recovery_shard(i - k, shard).expect("add");
                    }
                }
                reused
                    .decode()
                    .expect("decode")
                    .restored_original(0)
                    .map(<[u8]>::len)
            },
        ),
    );
    row(
        &format!("{params} reconstruct_data, all data present"),
        measure(
            || slots(&enc, 0),
            |mut s| {
                reconstruct_data(&enc.chunk, &mut s).expect("reconstruct");
                s
            },
        ),
    );
    row(
        &format!("{params} decode_chunk, all data present"),
        measure(
            || slots(&enc, 0),
            |s| decode_chunk(&enc.chunk, s).expect("decode"),
        ),
    );
}

fn main() {
    // `cargo test --benches` runs this too; keep that quick.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let data = sample_data();
    println!("floe-codec, 4 MiB chunks, single core, ~1 GiB per row");
    println!(
        "| {:<44} | {:>9} | {:>10} |",
        "operation", "GiB/s", "µs/chunk"
    );
    println!("|{:-<46}|{:->11}|{:->12}|", "", "", "");
    row(
        "blake3 (one 4 MiB buffer)",
        measure(|| (), |()| ShardHash::of(&data)),
    );
    bench_params(4, 2, &data);
    bench_params(8, 4, &data);
}
