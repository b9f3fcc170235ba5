//! The payload catalogue: deterministic, seeded generators for the six shapes.
//!
//! The same `(shape, size, seed)` yields a byte-identical message on every machine: the PRNG is
//! a fixed SplitMix64 written here (library RNGs may change their streams between versions), and
//! float values come from integer bits, not from platform maths. `size` is a target for the
//! protobuf-encoded size of the whole `Payload`; the generator adds records while the next one
//! still fits, so the result is at most `size` (plus one record's worth when even one record is
//! larger than the target).

use prost::Message;
use prost::encoding::encoded_len_varint;

use crate::pb::{
    self, Account, Address, Blob, LineItem, LogEntry, Logs, Mesh, Metrics, Nested, Order, Payload, Series,
    Small, Triangle, Vector3, payload::Body,
};
pub use rpcbench_model::Shape;

/// Largest target size the catalogue generates (the servers apply their own, smaller limit).
pub const MAX_SIZE: u64 = 64 * 1024 * 1024;
/// `small` is one flat record; it pads its free-text field up to this size at most.
pub const SMALL_MAX_SIZE: u64 = 4096;

/// Why a payload cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("unknown shape {0:?} (expected one of small, logs, mesh, nested, metrics, blob)")]
    UnknownShape(String),
    #[error("shape must be specified")]
    UnspecifiedShape,
    #[error("size must be greater than 0")]
    ZeroSize,
    #[error("size {size} is over the limit of {limit} bytes for shape {shape}")]
    TooLarge {
        shape: &'static str,
        size: u64,
        limit: u64,
    },
}

/// Largest target size `shape` accepts.
pub fn max_size(shape: Shape) -> u64 {
    match shape {
        Shape::Small => SMALL_MAX_SIZE,
        Shape::Logs | Shape::Mesh | Shape::Nested | Shape::Metrics | Shape::Blob => MAX_SIZE,
    }
}

impl From<Shape> for pb::Shape {
    fn from(shape: Shape) -> pb::Shape {
        match shape {
            Shape::Small => pb::Shape::Small,
            Shape::Logs => pb::Shape::Logs,
            Shape::Mesh => pb::Shape::Mesh,
            Shape::Nested => pb::Shape::Nested,
            Shape::Metrics => pb::Shape::Metrics,
            Shape::Blob => pb::Shape::Blob,
        }
    }
}

impl TryFrom<pb::Shape> for Shape {
    type Error = CatalogueError;
    fn try_from(shape: pb::Shape) -> Result<Shape, CatalogueError> {
        Ok(match shape {
            pb::Shape::Unspecified => return Err(CatalogueError::UnspecifiedShape),
            pb::Shape::Small => Shape::Small,
            pb::Shape::Logs => Shape::Logs,
            pb::Shape::Mesh => Shape::Mesh,
            pb::Shape::Nested => Shape::Nested,
            pb::Shape::Metrics => Shape::Metrics,
            pb::Shape::Blob => Shape::Blob,
        })
    }
}

/// Parses a shape name (`small`, `logs`, ...) into the catalogue's error.
pub fn parse_shape(name: &str) -> Result<Shape, CatalogueError> {
    name.parse()
        .map_err(|_| CatalogueError::UnknownShape(name.to_owned()))
}

/// The shape of a payload (`Unspecified` when its body is empty).
pub fn shape_of(payload: &Payload) -> pb::Shape {
    use pb::Shape;
    match &payload.body {
        None => Shape::Unspecified,
        Some(Body::Small(_)) => Shape::Small,
        Some(Body::Logs(_)) => Shape::Logs,
        Some(Body::Mesh(_)) => Shape::Mesh,
        Some(Body::Nested(_)) => Shape::Nested,
        Some(Body::Metrics(_)) => Shape::Metrics,
        Some(Body::Blob(_)) => Shape::Blob,
    }
}

/// Number of top-level records in a payload (1 for `small` and `blob`).
pub fn records_of(payload: &Payload) -> u64 {
    let n = match &payload.body {
        None => 0,
        Some(Body::Small(_)) | Some(Body::Blob(_)) => 1,
        Some(Body::Logs(l)) => l.entries.len(),
        Some(Body::Mesh(m)) => m.triangles.len(),
        Some(Body::Nested(n)) => n.accounts.len(),
        Some(Body::Metrics(m)) => m.series.len(),
    };
    n as u64
}

/// Checks a `(shape, size)` request against the catalogue's limits.
pub fn validate(shape: Shape, size: u64) -> Result<(), CatalogueError> {
    if size == 0 {
        return Err(CatalogueError::ZeroSize);
    }
    if size > max_size(shape) {
        return Err(CatalogueError::TooLarge {
            shape: shape.name(),
            size,
            limit: max_size(shape),
        });
    }
    Ok(())
}

/// Generates the catalogue payload for `(shape, size, seed)`.
pub fn generate(shape: Shape, size: u64, seed: u64) -> Result<Payload, CatalogueError> {
    validate(shape, size)?;
    // The protobuf enum number seeds the stream, so results stay byte-identical across versions.
    let number = pb::Shape::from(shape) as u64;
    let mut rng = SplitMix64::new(seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // Bytes of the Payload wrapper around the shape message: field key + length prefix.
    let budget = |inner: usize| 1 + encoded_len_varint(inner as u64) + inner;
    let target = size as usize;
    let body = match shape {
        Shape::Small => Body::Small(small(&mut rng, target, budget)),
        Shape::Logs => Body::Logs(Logs {
            entries: fill(target, budget, || log_entry(&mut rng)),
        }),
        Shape::Mesh => Body::Mesh(Mesh {
            triangles: fill(target, budget, || triangle(&mut rng)),
        }),
        Shape::Nested => Body::Nested(Nested {
            accounts: fill(target, budget, || account(&mut rng)),
        }),
        Shape::Metrics => Body::Metrics(Metrics {
            series: fill(target, budget, || series(&mut rng)),
        }),
        Shape::Blob => Body::Blob(blob(&mut rng, target, budget)),
    };
    Ok(Payload { body: Some(body) })
}

/// Adds records while the encoded payload stays within `target` (always at least one).
fn fill<M: Message>(target: usize, budget: impl Fn(usize) -> usize, mut next: impl FnMut() -> M) -> Vec<M> {
    let mut records = Vec::new();
    let mut inner = 0usize;
    loop {
        let record = next();
        let len = record.encoded_len();
        let grown = inner + 1 + encoded_len_varint(len as u64) + len;
        if !records.is_empty() && budget(grown) > target {
            return records;
        }
        inner = grown;
        records.push(record);
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and its stream is fixed forever.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant for test data.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform f32 in `[lo, hi)`, built from 24 random bits.
    pub fn f32_in(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + unit * (hi - lo)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn word(&mut self, min: usize, max: usize) -> String {
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        let len = min + self.below((max - min + 1) as u64) as usize;
        (0..len).map(|_| ALPHA[self.below(26) as usize] as char).collect()
    }
}

const COUNTRIES: &[&str] = &["DE", "US", "FR", "JP", "BR", "IN", "NG", "CA", "SE", "AU"];
const CITIES: &[&str] = &[
    "Berlin", "Austin", "Lyon", "Osaka", "Recife", "Pune", "Lagos", "Quebec",
];

fn small(rng: &mut SplitMix64, target: usize, budget: impl Fn(usize) -> usize) -> Small {
    let name = format!("{} {}", rng.word(4, 8), rng.word(5, 10));
    let mut record = Small {
        id: rng.next_u64() >> 12,
        email: format!("{}@{}.example", rng.word(5, 10), rng.word(4, 8)),
        name,
        active: rng.chance(80),
        age: 18 + rng.below(70) as i32,
        score: (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1000.0,
        created_at_unix_ms: 1_600_000_000_000 + rng.below(200_000_000_000) as i64,
        country: rng.pick(COUNTRIES).to_owned(),
        flags: rng.next_u64() as u32 & 0xFF,
        ratio: rng.f32_in(0.0, 1.0),
        note: String::new(),
    };
    // Pad the free-text note so the record approaches the target size.
    let base = budget(record.encoded_len());
    if target > base + 2 {
        let room = target - base - 2;
        let mut len = room;
        while len > 0 && 1 + encoded_len_varint(len as u64) + len > room + 1 {
            len -= 1;
        }
        record.note = rng.word(len, len);
    }
    record
}

fn log_entry(rng: &mut SplitMix64) -> LogEntry {
    const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
    const MONTHS: &[&str] = &[
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const CODES: &[u32] = &[200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 500, 503];
    let ip = rng.next_u64();
    LogEntry {
        address: format!(
            "{}.{}.{}.{}",
            ip & 0xFF,
            (ip >> 8) & 0xFF,
            (ip >> 16) & 0xFF,
            (ip >> 24) & 0xFF
        ),
        identity: "-".to_owned(),
        userid: if rng.chance(30) {
            "-".to_owned()
        } else {
            rng.word(3, 10)
        },
        date: format!(
            "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
            1 + rng.below(28),
            rng.pick(MONTHS),
            2000 + rng.below(26),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        ),
        request: format!(
            "{} /api/v1/{}/{} HTTP/1.1",
            rng.pick(METHODS),
            rng.word(3, 9),
            rng.below(1_000_000)
        ),
        code: CODES[rng.below(CODES.len() as u64) as usize],
        size: rng.below(100_000_000),
    }
}

fn vector(rng: &mut SplitMix64) -> Vector3 {
    Vector3 {
        x: rng.f32_in(-100.0, 100.0),
        y: rng.f32_in(-100.0, 100.0),
        z: rng.f32_in(-100.0, 100.0),
    }
}

fn triangle(rng: &mut SplitMix64) -> Triangle {
    let (a, b, c) = (vector(rng), vector(rng), vector(rng));
    let (u, v) = (
        [b.x - a.x, b.y - a.y, b.z - a.z],
        [c.x - a.x, c.y - a.y, c.z - a.z],
    );
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
        .sqrt()
        .max(f32::MIN_POSITIVE);
    Triangle {
        v0: Some(a),
        v1: Some(b),
        v2: Some(c),
        normal: Some(Vector3 {
            x: n[0] / len,
            y: n[1] / len,
            z: n[2] / len,
        }),
    }
}

fn account(rng: &mut SplitMix64) -> Account {
    const LABEL_KEYS: &[&str] = &["region", "team", "env", "plan", "owner"];
    let mut labels = std::collections::BTreeMap::new();
    for _ in 0..rng.below(4) {
        labels.insert(rng.pick(LABEL_KEYS).to_owned(), rng.word(3, 8));
    }
    let orders = (0..rng.below(5))
        .map(|_| Order {
            order_id: rng.next_u64() >> 16,
            status: 1 + rng.below(4) as i32,
            items: (0..1 + rng.below(4))
                .map(|_| LineItem {
                    sku: format!("SKU-{:06}", rng.below(1_000_000)),
                    quantity: 1 + rng.below(20) as u32,
                    unit_price_micros: rng.below(500_000_000) as i64,
                })
                .collect(),
            coupon: rng.chance(25).then(|| rng.word(6, 10).to_uppercase()),
        })
        .collect();
    Account {
        id: format!("acct-{:016x}", rng.next_u64()),
        tier: 1 + rng.below(3) as i32,
        nickname: rng.chance(50).then(|| rng.word(4, 12)),
        labels,
        address: Some(Address {
            street: format!("{} {} Street", 1 + rng.below(999), rng.word(4, 10)),
            city: rng.pick(CITIES).to_owned(),
            postcode: format!("{:05}", rng.below(100_000)),
            country: rng.pick(COUNTRIES).to_owned(),
        }),
        orders,
        closed_at_unix_ms: rng
            .chance(20)
            .then(|| 1_600_000_000_000 + rng.below(200_000_000_000) as i64),
    }
}

fn series(rng: &mut SplitMix64) -> Series {
    const NAMES: &[&str] = &[
        "http_requests_total",
        "rpc_latency_us",
        "bytes_sent_total",
        "queue_depth",
    ];
    const POINTS: usize = 32;
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(
        "instance".to_owned(),
        format!("10.0.{}.{}:9100", rng.below(256), rng.below(256)),
    );
    labels.insert("job".to_owned(), rng.word(4, 8));
    let mut value = rng.below(10_000_000) as i64;
    let values = (0..POINTS)
        .map(|_| {
            value += rng.below(5_000) as i64 - 500;
            value
        })
        .collect();
    Series {
        name: rng.pick(NAMES).to_owned(),
        labels,
        start_unix_ms: 1_700_000_000_000 + rng.below(100_000_000_000) as i64,
        step_ms: 15_000,
        values,
        counts: (0..POINTS).map(|_| rng.below(2_000) as u32).collect(),
    }
}

fn blob(rng: &mut SplitMix64, target: usize, budget: impl Fn(usize) -> usize) -> Blob {
    let content_type = "application/octet-stream".to_owned();
    let fixed = 1 + encoded_len_varint(content_type.len() as u64) + content_type.len();
    // Largest data length whose encoded payload still fits the target.
    let mut len = target.saturating_sub(fixed + 8);
    while len > 0 && budget(fixed + 1 + encoded_len_varint(len as u64) + len) > target {
        len -= 1;
    }
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    data.truncate(len);
    Blob { content_type, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Codec as _, Encoding};

    const SIZES: [u64; 4] = [128, 1024, 16 * 1024, 256 * 1024];

    #[test]
    fn sizes_are_near_target() {
        for shape in Shape::ALL {
            for size in SIZES {
                let size = size.min(max_size(shape));
                let p = generate(shape, size, 7).unwrap();
                let len = p.encoded_len() as u64;
                // Within the target, and not far below it once a few records fit.
                let slack = if size >= 16 * 1024 { size / 20 } else { size };
                let overshoot_ok = records_of(&p) == 1;
                assert!(len <= size || overshoot_ok, "{} {size}: {len}", shape.name());
                assert!(len + slack >= size, "{} {size}: only {len}", shape.name());
            }
        }
        let mib = generate(Shape::Mesh, 1 << 20, 1).unwrap();
        assert!(mib.encoded_len() > 1_000_000);
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        for shape in Shape::ALL {
            let a = generate(shape, 4096, 1).unwrap();
            assert_eq!(a, generate(shape, 4096, 1).unwrap());
            assert_ne!(a, generate(shape, 4096, 2).unwrap(), "{}", shape.name());
        }
    }

    /// Golden digests: the same `(shape, size, seed)` must give the same bytes on every machine
    /// and in every future version; changing a generator is a breaking change to results.
    #[test]
    fn golden_digests() {
        let got: Vec<(&str, u64)> = Shape::ALL
            .into_iter()
            .map(|s| {
                let bytes = Encoding::Protobuf
                    .encode(&generate(s, 1000, 42).unwrap())
                    .unwrap();
                (s.name(), xxhash_rust::xxh3::xxh3_64(&bytes))
            })
            .collect();
        let want: Vec<(&str, u64)> = vec![
            ("small", 2722561432589445467),
            ("logs", 11522785564940267635),
            ("mesh", 7871410274779117767),
            ("nested", 8254477698880879173),
            ("metrics", 7632595459993846042),
            ("blob", 11816102265005005424),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn bad_requests() {
        assert_eq!(generate(Shape::Logs, 0, 1), Err(CatalogueError::ZeroSize));
        assert_eq!(
            Shape::try_from(pb::Shape::Unspecified),
            Err(CatalogueError::UnspecifiedShape)
        );
        assert!(matches!(
            generate(Shape::Small, 5000, 1),
            Err(CatalogueError::TooLarge { .. })
        ));
        assert!(matches!(
            generate(Shape::Blob, MAX_SIZE + 1, 1),
            Err(CatalogueError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_shape("huge"),
            Err(CatalogueError::UnknownShape(_))
        ));
    }
}
