//! The one table of codec micro-benchmark cases: shapes × sizes × encodings × operations.
//!
//! `benches/codec.rs` only fans generic functions out over [`cases`]; everything that decides
//! *what* is measured (ids, sizes, seed, how long) lives here so it can be unit-tested and so
//! the report side can list the ids a run is expected to produce ([`ids`]).
//!
//! Ids are hierarchical and stable: `codec/<op>/<encoding>/<shape>/<size>`, e.g.
//! `codec/encode/json/mesh/16KiB`. The criterion group is everything but the size, so
//! `cargo bench --bench codec -- codec/decode/json/mesh` runs one group.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rpcbench_model::{BenchId, CodecOp, Size};
use rpcbench_proto::catalogue::max_size;
use rpcbench_proto::{Encoding, Shape};

/// Seed of every generated input; changing it changes every result.
pub const SEED: u64 = 42;

/// Environment variable that selects [`Mode::Quick`] when set to `1` (or `true`).
pub const QUICK_ENV: &str = "RPCBENCH_QUICK";

/// Every size the codec suite knows, smallest first.
pub const SIZES: [Size; 5] = [
    Size(128),
    Size(1024),
    Size(16 * 1024),
    Size(256 * 1024),
    Size(1024 * 1024),
];

/// Sizes the catalogue can generate for `shape` (`small` stops at its own limit).
pub fn sizes_for(shape: Shape) -> impl Iterator<Item = Size> {
    SIZES.into_iter().filter(move |s| s.bytes() <= max_size(shape))
}

/// Criterion timing for one case, kept free of criterion types so this module stays a plain
/// library module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub warm_up: Duration,
    pub measurement: Duration,
    pub sample_size: usize,
    /// Bootstrap resamples for the confidence intervals (criterion's default is 100 000).
    pub resamples: usize,
    /// Same iteration count in every sample instead of criterion's linear ramp: a ramp of
    /// `n` samples needs `n(n+1)/2` iterations, too many when one iteration takes milliseconds.
    pub flat_sampling: bool,
}

/// How thorough a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every size, timed long enough for stable figures (the whole suite, 243 cases, takes
    /// ~15 min on 2 cores).
    Full,
    /// CI and smoke runs: 1KiB and 16KiB (plus 128B for `small`), short timings (well under
    /// 3 min on 2 cores).
    Quick,
}

impl Mode {
    /// [`Mode::Quick`] when `RPCBENCH_QUICK` is `1`/`true`, [`Mode::Full`] otherwise.
    pub fn from_env() -> Mode {
        Mode::from_env_value(std::env::var(QUICK_ENV).ok().as_deref())
    }

    fn from_env_value(value: Option<&str>) -> Mode {
        match value.map(str::trim) {
            Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => Mode::Quick,
            _ => Mode::Full,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Quick => "quick",
        }
    }

    /// Sizes benchmarked for `shape` in this mode.
    pub fn sizes(self, shape: Shape) -> Vec<Size> {
        sizes_for(shape)
            .filter(|s| match self {
                Mode::Full => true,
                Mode::Quick => {
                    matches!(s.bytes(), 1024 | 16384) || (shape == Shape::Small && s.bytes() == 128)
                }
            })
            .collect()
    }

    /// Timing for one case. Large payloads take milliseconds per iteration, so they get fewer,
    /// flat samples.
    pub fn timing(self, size: Size) -> Timing {
        let large = size.bytes() >= 256 * 1024;
        match self {
            Mode::Full => Timing {
                warm_up: Duration::from_millis(1000),
                measurement: Duration::from_secs(if large { 3 } else { 2 }),
                sample_size: if large { 20 } else { 50 },
                resamples: 20_000,
                flat_sampling: large,
            },
            Mode::Quick => Timing {
                warm_up: Duration::from_millis(200),
                measurement: Duration::from_millis(600),
                sample_size: 10,
                resamples: 5_000,
                flat_sampling: false,
            },
        }
    }
}

/// One benchmark: an operation on one encoding of one catalogue payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub op: CodecOp,
    pub encoding: Encoding,
    pub shape: Shape,
    pub size: Size,
}

impl Case {
    pub fn bench_id(&self) -> BenchId {
        BenchId::Codec {
            op: self.op,
            encoding: self.encoding,
            shape: self.shape,
            size: self.size,
        }
    }

    /// Criterion group: `codec/<op>/<encoding>/<shape>`.
    pub fn group(&self) -> String {
        self.bench_id().group()
    }

    /// Full id: `codec/<op>/<encoding>/<shape>/<size>` (criterion's `full_id`).
    pub fn id(&self) -> String {
        self.bench_id().to_string()
    }
}

/// Every case of `mode`, ordered so that each criterion group's cases are contiguous.
pub fn cases(mode: Mode) -> Vec<Case> {
    let points: Vec<(Shape, Size)> = Shape::ALL
        .into_iter()
        .flat_map(|shape| mode.sizes(shape).into_iter().map(move |size| (shape, size)))
        .collect();
    cases_for(&points)
}

/// Every operation × encoding for each `(shape, size)` of `points` (what `rpcbench run`
/// measures for its workloads), ordered so that each criterion group's cases are contiguous.
/// Duplicate points are measured once.
pub fn cases_for(points: &[(Shape, Size)]) -> Vec<Case> {
    let points: BTreeSet<(Shape, Size)> = points.iter().copied().collect();
    let mut out = Vec::new();
    for op in CodecOp::ALL {
        for encoding in Encoding::ALL.into_iter().filter(|e| op.applies_to(*e)) {
            for &(shape, size) in &points {
                out.push(Case {
                    op,
                    encoding,
                    shape,
                    size,
                });
            }
        }
    }
    out
}

/// The timing of the serialization phase inside `rpcbench run`: a few tenths of a second per
/// case (enough for criterion's bootstrap interval of the median; a fuller `cargo bench`
/// narrows it), so the phase adds seconds, not minutes, to the run.
pub fn in_run_timing(size: Size) -> Timing {
    Timing {
        warm_up: Duration::from_millis(100),
        measurement: Duration::from_millis(if size.bytes() >= 256 * 1024 { 500 } else { 300 }),
        sample_size: 10,
        resamples: 5_000,
        flat_sampling: size.bytes() >= 256 * 1024,
    }
}

/// Every benchmark id `mode` produces, in run order.
pub fn ids(mode: Mode) -> Vec<String> {
    cases(mode).iter().map(Case::id).collect()
}

/// Every `(shape, size)` the catalogue offers the suite, for the encoded-size table. Sizes are
/// cheap to compute, so this ignores the mode: the table is always complete.
pub fn size_points() -> Vec<(Shape, Size)> {
    Shape::ALL
        .into_iter()
        .flat_map(|shape| sizes_for(shape).map(move |size| (shape, size)))
        .collect()
}

/// Where criterion writes its output, resolved the way criterion does: `$CRITERION_HOME`,
/// else `$CARGO_TARGET_DIR/criterion`, else `<workspace root>/target/criterion`.
pub fn criterion_dir() -> PathBuf {
    // The bench crate sits one level below the workspace root.
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    resolve_criterion_dir(
        std::env::var_os("CRITERION_HOME").map(PathBuf::from),
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
        workspace_root,
    )
}

fn resolve_criterion_dir(
    criterion_home: Option<PathBuf>,
    target_dir: Option<PathBuf>,
    root: &Path,
) -> PathBuf {
    match (criterion_home, target_dir) {
        (Some(home), _) if !home.as_os_str().is_empty() => home,
        (_, Some(target)) if !target.as_os_str().is_empty() => target.join("criterion"),
        _ => root.join("target").join("criterion"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;

    const MODES: [Mode; 2] = [Mode::Full, Mode::Quick];

    #[test]
    fn covers_every_shape_encoding_and_op() {
        for mode in MODES {
            let cases = cases(mode);
            for shape in Shape::ALL {
                for encoding in Encoding::ALL {
                    for op in CodecOp::ALL {
                        let n = cases
                            .iter()
                            .filter(|c| (c.shape, c.encoding, c.op) == (shape, encoding, op))
                            .count();
                        let want = if op.applies_to(encoding) {
                            mode.sizes(shape).len()
                        } else {
                            0
                        };
                        assert!(
                            want > 0 || op == CodecOp::PopulateEncode,
                            "{mode:?} has no sizes for {}",
                            shape.name()
                        );
                        assert_eq!(n, want, "{mode:?} {op} {encoding} {}", shape.name());
                    }
                }
            }
            assert!(
                cases
                    .iter()
                    .all(|c| c.op != CodecOp::PopulateEncode || c.encoding == Encoding::Protobuf)
            );
        }
    }

    #[test]
    fn ids_are_unique() {
        for mode in MODES {
            let ids = ids(mode);
            let unique: HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "{mode:?}");
        }
    }

    #[test]
    fn ids_follow_the_format() {
        for mode in MODES {
            for case in cases(mode) {
                let id: BenchId = case.id().parse().unwrap();
                assert_eq!(id, case.bench_id());
                assert!(SIZES.contains(&id.size()), "{id}");
            }
        }
        let mesh = Case {
            op: CodecOp::Encode,
            encoding: Encoding::Json,
            shape: Shape::Mesh,
            size: SIZES[2],
        };
        assert_eq!(mesh.id(), "codec/encode/json/mesh/16KiB");
        assert_eq!(mesh.group(), "codec/encode/json/mesh");
    }

    #[test]
    fn groups_are_contiguous() {
        // criterion needs each group's benches run together, under one `benchmark_group`.
        let cases = cases(Mode::Full);
        let mut seen = BTreeSet::new();
        let mut current = String::new();
        for case in &cases {
            let group = case.group();
            if group != current {
                assert!(seen.insert(group.clone()), "group {group} is split");
                current = group;
            }
        }
    }

    #[test]
    fn sizes_per_mode() {
        let labels = |mode: Mode, shape| mode.sizes(shape).iter().map(Size::to_string).collect::<Vec<_>>();
        assert_eq!(
            labels(Mode::Full, Shape::Mesh),
            ["128B", "1KiB", "16KiB", "256KiB", "1MiB"]
        );
        assert_eq!(labels(Mode::Full, Shape::Small), ["128B", "1KiB"]);
        assert_eq!(labels(Mode::Quick, Shape::Blob), ["1KiB", "16KiB"]);
        assert_eq!(labels(Mode::Quick, Shape::Small), ["128B", "1KiB"]);
        for (shape, size) in size_points() {
            assert!(size.bytes() <= max_size(shape));
        }
        assert_eq!(size_points().len(), 2 + 5 * 5);
        // 27 (shape, size) points × (encode + decode for 4 encodings + populate_encode).
        assert_eq!(ids(Mode::Full).len(), 243);
        assert_eq!(ids(Mode::Quick).len(), 108);
    }

    #[test]
    fn mode_from_env_value() {
        assert_eq!(Mode::from_env_value(None), Mode::Full);
        assert_eq!(Mode::from_env_value(Some("")), Mode::Full);
        assert_eq!(Mode::from_env_value(Some("0")), Mode::Full);
        assert_eq!(Mode::from_env_value(Some("1")), Mode::Quick);
        assert_eq!(Mode::from_env_value(Some("true")), Mode::Quick);
    }

    #[test]
    fn criterion_dir_precedence() {
        let root = Path::new("/ws");
        let home = Some(PathBuf::from("/home/c"));
        let target = Some(PathBuf::from("/t"));
        assert_eq!(
            resolve_criterion_dir(home, target.clone(), root),
            Path::new("/home/c")
        );
        assert_eq!(
            resolve_criterion_dir(None, target, root),
            Path::new("/t/criterion")
        );
        assert_eq!(
            resolve_criterion_dir(None, None, root),
            Path::new("/ws/target/criterion")
        );
    }
}
