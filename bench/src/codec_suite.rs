//! The codec measurements themselves: one criterion benchmark per [`Case`] of the one case table
//! ([`crate::codec_matrix`]), each checking its answer first (`decode(encode(m)) == m`), and the
//! encoded-size table. `benches/codec.rs` (`cargo bench`) and `rpcbench codec` (the
//! serialization phase of `rpcbench run`) both call [`run_cases`]; they differ only in which
//! cases and how long.
//!
//! Criterion is used as a library: its sampler, its bootstrap confidence intervals and its
//! output directory format, which the report reads the same way whichever command wrote it.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use rpcbench_model::{CodecOp, Size};
use rpcbench_proto::pb::Payload;
use rpcbench_proto::{Codec as _, Encoding, Shape, Wire};
use rpcbench_reports::schema::{EncodedSize, EncodedSizes, SCHEMA_VERSION, SchemaError, write_json_atomic};

use crate::codec_matrix::{self, Case, Timing};

pub const GZIP_LEVEL: u32 = 6;
pub const ZSTD_LEVEL: i32 = 3;

/// Catalogue payloads, generated once per `(shape, size)` and shared by every case.
#[derive(Default)]
pub struct Payloads(HashMap<(Shape, u64), Payload>);

impl Payloads {
    pub fn get(&mut self, shape: Shape, size: Size) -> &Payload {
        self.0.entry((shape, size.bytes())).or_insert_with(|| {
            rpcbench_proto::generate(shape, size.bytes(), codec_matrix::SEED)
                .unwrap_or_else(|e| panic!("cannot generate {shape} {size}: {e}"))
        })
    }
}

/// Runs `cases` (each criterion group's cases contiguous, as [`codec_matrix::cases`] orders
/// them) with the timing `timing` gives each size. Panics when a codec loses data: a benchmark
/// of a codec that does not round-trip would measure the wrong thing.
pub fn run_cases(criterion: &mut Criterion, cases: &[Case], timing: impl Fn(Size) -> Timing) {
    let mut payloads = Payloads::default();
    for group_cases in cases.chunk_by(|a, b| a.group() == b.group()) {
        let mut group = criterion.benchmark_group(group_cases[0].group());
        for case in group_cases {
            let timing = timing(case.size);
            group
                .warm_up_time(timing.warm_up)
                .measurement_time(timing.measurement)
                .sample_size(timing.sample_size)
                .nresamples(timing.resamples)
                .sampling_mode(if timing.flat_sampling {
                    SamplingMode::Flat
                } else {
                    SamplingMode::Auto
                });
            let msg = payloads.get(case.shape, case.size);
            match case.op {
                CodecOp::Encode => bench_encode(&mut group, case, msg),
                CodecOp::Decode => bench_decode(&mut group, case, msg),
                CodecOp::PopulateEncode => bench_populate_encode(&mut group, case, msg),
            }
        }
        group.finish();
    }
}

/// Message → bytes with `Encoding::encode`, as servers and clients call it: the output buffer
/// is allocated (and freed) on every iteration.
fn bench_encode<M: Wire + PartialEq + Debug>(group: &mut BenchmarkGroup<'_, WallTime>, case: &Case, msg: &M) {
    let bytes = check_round_trip(case, msg);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(BenchmarkId::from_parameter(case.size), |b| {
        b.iter(|| case.encoding.encode(black_box(msg)))
    });
}

/// Bytes → owned message with `Encoding::decode`; dropping the decoded message is timed too,
/// since a receiver always frees what it decoded.
fn bench_decode<M: Wire + PartialEq + Debug>(group: &mut BenchmarkGroup<'_, WallTime>, case: &Case, msg: &M) {
    let bytes = check_round_trip(case, msg);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(BenchmarkId::from_parameter(case.size), |b| {
        b.iter(|| {
            case.encoding
                .decode::<M>(black_box(&bytes))
                .expect("decoding checked bytes")
        })
    });
}

/// Protobuf only: build the prost message, then encode it.
///
/// prost generates its own structs, so an application whose data lives in its own domain types
/// must copy it into them before encoding: every string and vec is allocated again. A deep
/// `clone()` does exactly that work (each `String`/`Vec` allocated at its final length, then
/// copied), so `clone + encode` stands in for "populate from application data, then encode".
/// JSON needs no such step because serde serializes the application's own struct. Compare this
/// against `codec/encode/json/...` for the fair JSON-vs-protobuf encode cost.
fn bench_populate_encode<M: Wire + Clone + PartialEq + Debug>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    case: &Case,
    msg: &M,
) {
    assert_eq!(
        case.encoding,
        Encoding::Protobuf,
        "{}: populate_encode is protobuf only",
        case.id()
    );
    let populated = msg.clone();
    assert!(
        populated == *msg,
        "{}: a clone differs from its original",
        case.id()
    );
    let bytes = check_round_trip(case, &populated);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(BenchmarkId::from_parameter(case.size), |b| {
        b.iter(|| {
            let populated = black_box(msg).clone();
            Encoding::Protobuf.encode(&populated)
        })
    });
}

/// Checks `decode(encode(msg)) == msg` for the case's encoding and returns the encoded bytes.
pub fn check_round_trip<M: Wire + PartialEq + Debug>(case: &Case, msg: &M) -> Vec<u8> {
    let bytes = case
        .encoding
        .encode(msg)
        .unwrap_or_else(|e| panic!("{}: cannot encode: {e}", case.id()));
    match case.encoding.decode::<M>(&bytes) {
        Ok(back) if back == *msg => bytes,
        Ok(_) => panic!(
            "{}: round trip changed the message: decode(encode(m)) != m ({} encoded bytes)",
            case.id(),
            bytes.len()
        ),
        Err(e) => panic!(
            "{}: cannot decode its own encoding ({} bytes): {e}",
            case.id(),
            bytes.len()
        ),
    }
}

/// Raw, gzip and zstd sizes of pbjson, JSON (= sonic) and protobuf for every `(shape, size)` of `points`, written
/// to `<dir>/encoded-sizes.json` (what the report reads next to criterion's results).
pub fn write_encoded_sizes(points: &[(Shape, Size)], dir: &Path) -> Result<EncodedSizes, SchemaError> {
    let mut payloads = Payloads::default();
    let rows: Vec<EncodedSize> = points
        .iter()
        .map(|&(shape, size)| {
            let msg = payloads.get(shape, size);
            let json = Encoding::Json
                .encode(msg)
                .expect("catalogue payloads encode as JSON");
            let protobuf = Encoding::Protobuf
                .encode(msg)
                .expect("protobuf encoding cannot fail");
            let pbjson = Encoding::Pbjson
                .encode(msg)
                .expect("catalogue payloads encode as proto3 JSON");
            // sonic writes exactly the json bytes (a test checks it), so it needs no columns.
            EncodedSize {
                shape: shape.name().to_owned(),
                size_label: size.to_string(),
                target_size: size.bytes(),
                json_bytes: json.len() as u64,
                protobuf_bytes: protobuf.len() as u64,
                json_gzip_bytes: gzip_len(&json),
                protobuf_gzip_bytes: gzip_len(&protobuf),
                json_zstd_bytes: zstd_len(&json),
                protobuf_zstd_bytes: zstd_len(&protobuf),
                pbjson_bytes: Some(pbjson.len() as u64),
                pbjson_gzip_bytes: Some(gzip_len(&pbjson)),
                pbjson_zstd_bytes: Some(zstd_len(&pbjson)),
            }
        })
        .collect();
    let doc = EncodedSizes {
        schema_version: SCHEMA_VERSION,
        gzip_level: GZIP_LEVEL,
        zstd_level: ZSTD_LEVEL,
        rows,
    };
    write_json_atomic(&dir.join(rpcbench_reports::criterion::ENCODED_SIZES_FILE), &doc)?;
    Ok(doc)
}

fn gzip_len(data: &[u8]) -> u64 {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    encoder.write_all(data).expect("gzip into memory");
    encoder.finish().expect("gzip into memory").len() as u64
}

fn zstd_len(data: &[u8]) -> u64 {
    zstd::bulk::compress(data, ZSTD_LEVEL)
        .expect("zstd into memory")
        .len() as u64
}

/// Prints the encoded-size table.
pub fn print_sizes(doc: &EncodedSizes) {
    let ratio = |json: u64, protobuf: u64| json as f64 / protobuf.max(1) as f64;
    println!(
        "encoded sizes (bytes; ratio = JSON ÷ protobuf; gzip level {}, zstd level {})",
        doc.gzip_level, doc.zstd_level
    );
    println!(
        "{:<8} {:>6} | {:>9} {:>9} {:>9} {:>5} | {:>9} {:>9} {:>5} | {:>9} {:>9} {:>5}",
        "shape",
        "size",
        "pbjson",
        "json",
        "protobuf",
        "ratio",
        "json.gz",
        "pb.gz",
        "ratio",
        "json.zst",
        "pb.zst",
        "ratio"
    );
    for r in &doc.rows {
        println!(
            "{:<8} {:>6} | {:>9} {:>9} {:>9} {:>5.2} | {:>9} {:>9} {:>5.2} | {:>9} {:>9} {:>5.2}",
            r.shape,
            r.size_label,
            r.pbjson_bytes.map_or("-".into(), |b| b.to_string()),
            r.json_bytes,
            r.protobuf_bytes,
            ratio(r.json_bytes, r.protobuf_bytes),
            r.json_gzip_bytes,
            r.protobuf_gzip_bytes,
            ratio(r.json_gzip_bytes, r.protobuf_gzip_bytes),
            r.json_zstd_bytes,
            r.protobuf_zstd_bytes,
            ratio(r.json_zstd_bytes, r.protobuf_zstd_bytes),
        );
    }
}
