//! Typed ingestion of criterion's output directory.
//!
//! Criterion writes one directory per benchmark with `new/benchmark.json` (the id and the
//! throughput) and `new/estimates.json` (mean, median, ... with bootstrap confidence
//! intervals, in nanoseconds). This module walks the directory for those pairs, parses the ids
//! rpcbench's benches use (`codec/<op>/<encoding>/<shape>/<size>`,
//! `rtt/<variant>/<rpc>/<shape>/<size>`) and ignores everything else. A corrupt or half-written
//! benchmark becomes a [`CriterionData::problems`] entry, never a failure of the whole report.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use rpcbench_model::BenchId;

use crate::schema::{EncodedSizes, read_json};

/// Name of the encoded-size table the codec benches write into the criterion directory.
pub const ENCODED_SIZES_FILE: &str = "encoded-sizes.json";

/// How deep to look for `new/benchmark.json` below the criterion directory. Criterion nests
/// `<group>/<function>/<value>/new`, so 6 is plenty and bounds a walk over a wrong directory.
const MAX_DEPTH: usize = 6;

/// Errors that prevent reading a criterion directory at all.
#[derive(Debug, thiserror::Error)]
pub enum CriterionError {
    #[error("criterion directory {path} cannot be read: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
}

/// Criterion's confidence interval of one estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    pub confidence_level: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

/// One statistic of `estimates.json`, in nanoseconds per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub confidence_interval: ConfidenceInterval,
    pub point_estimate: f64,
    #[serde(default)]
    pub standard_error: Option<f64>,
}

impl Estimate {
    fn is_valid(&self) -> bool {
        let ci = &self.confidence_interval;
        [self.point_estimate, ci.lower_bound, ci.upper_bound]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }
}

/// The parts of `estimates.json` the report uses; other statistics are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    pub mean: Estimate,
    pub median: Estimate,
}

/// `benchmark.json`: criterion's id of one benchmark.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct BenchmarkMeta {
    full_id: String,
    #[serde(default)]
    throughput: Option<serde_json::Value>,
}

/// One benchmark's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bench {
    pub full_id: String,
    pub id: BenchId,
    /// Bytes processed per iteration, when the bench declared a byte throughput.
    pub throughput_bytes: Option<u64>,
    pub estimates: Estimates,
    /// The benchmark's directory, relative to the criterion directory.
    pub dir: PathBuf,
}

impl Bench {
    /// The statistic the report uses: the median, with its bootstrap confidence interval.
    /// The median is robust to the scheduling outliers of a small shared machine.
    pub fn typical(&self) -> &Estimate {
        &self.estimates.median
    }
}

/// Everything read from one criterion directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CriterionData {
    pub dir: PathBuf,
    /// Sorted by `full_id`.
    pub benches: Vec<Bench>,
    /// Files that could not be used, each with its path and reason.
    pub problems: Vec<String>,
    /// `encoded-sizes.json` when present and valid.
    pub encoded_sizes: Option<EncodedSizes>,
    /// Criterion's own HTML report, when it wrote one.
    pub report_index: Option<PathBuf>,
    /// The sub-directory each benchmark was read from: `new` (the latest results), or the name
    /// of a baseline saved with `--save-baseline NAME`.
    pub baseline: String,
}

impl CriterionData {
    pub fn codec(&self) -> impl Iterator<Item = &Bench> {
        self.benches
            .iter()
            .filter(|b| matches!(b.id, BenchId::Codec { .. }))
    }

    /// Adds `other`'s benchmarks whose ids `self` lacks (and its encoded sizes when `self` has
    /// none); returns how many were added. Their `dir` becomes absolute, so [`read_sample`]
    /// still finds their samples.
    pub fn add_missing(&mut self, other: CriterionData) -> usize {
        let have: std::collections::BTreeSet<String> =
            self.benches.iter().map(|b| b.full_id.clone()).collect();
        let root = std::fs::canonicalize(&other.dir).unwrap_or(other.dir);
        let before = self.benches.len();
        for mut b in other.benches {
            if !have.contains(&b.full_id) {
                b.dir = root.join(&b.dir);
                self.benches.push(b);
            }
        }
        self.benches.sort_by(|a, b| a.full_id.cmp(&b.full_id));
        self.problems.extend(other.problems);
        if self.encoded_sizes.is_none() {
            self.encoded_sizes = other.encoded_sizes;
        }
        self.benches.len() - before
    }

    pub fn round_trips(&self) -> impl Iterator<Item = &Bench> {
        self.benches
            .iter()
            .filter(|b| matches!(b.id, BenchId::RoundTrip { .. }))
    }
}

/// Reads every `new/benchmark.json` + `new/estimates.json` pair below `dir`, and
/// `encoded-sizes.json` at its top. Only an unreadable `dir` is an error; bad files are
/// recorded in [`CriterionData::problems`].
pub fn read_criterion_dir(dir: &Path) -> Result<CriterionData, CriterionError> {
    read_criterion_baseline(dir, "new")
}

/// As [`read_criterion_dir`], but reads the baseline saved with `--save-baseline NAME`
/// (`<benchmark>/NAME/`) instead of the latest results (`NAME` = `new`).
pub fn read_criterion_baseline(dir: &Path, baseline: &str) -> Result<CriterionData, CriterionError> {
    std::fs::read_dir(dir).map_err(|source| CriterionError::Dir {
        path: dir.into(),
        source,
    })?;
    let mut data = CriterionData {
        dir: dir.into(),
        baseline: baseline.into(),
        ..Default::default()
    };
    walk(dir, dir, 0, &mut data);
    data.benches.sort_by(|a, b| a.full_id.cmp(&b.full_id));

    let sizes = dir.join(ENCODED_SIZES_FILE);
    if sizes.exists() {
        match read_json::<EncodedSizes>(&sizes) {
            Ok(s) => data.encoded_sizes = Some(s),
            Err(e) => data.problems.push(e.to_string()),
        }
    }
    let index = dir.join("report").join("index.html");
    if index.is_file() {
        data.report_index = Some(index);
    }
    Ok(data)
}

fn walk(root: &Path, dir: &Path, depth: usize, data: &mut CriterionData) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            data.problems.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        let name = sub.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match name {
            _ if name == data.baseline && sub.join("benchmark.json").is_file() => {
                let bench_dir = sub.parent().unwrap_or(root);
                match read_bench(&sub) {
                    Ok(Some(mut b)) => {
                        b.dir = bench_dir.strip_prefix(root).unwrap_or(bench_dir).to_path_buf();
                        data.benches.push(b);
                    }
                    Ok(None) => {}
                    Err(e) => data.problems.push(e),
                }
            }
            // criterion's previous baseline, its change analysis and its plots.
            _ if name == data.baseline => {}
            "new" | "base" | "change" | "report" => {}
            _ if depth < MAX_DEPTH => walk(root, &sub, depth + 1, data),
            _ => {}
        }
    }
}

/// Reads one `new/` directory. `Ok(None)` for a valid benchmark whose id rpcbench does not use.
fn read_bench(new_dir: &Path) -> Result<Option<Bench>, String> {
    let meta_path = new_dir.join("benchmark.json");
    let est_path = new_dir.join("estimates.json");
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let meta: BenchmarkMeta =
        serde_json::from_slice(&read(&meta_path)?).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    let Ok(id) = meta.full_id.parse::<BenchId>() else {
        return Ok(None);
    };
    let estimates: Estimates = serde_json::from_slice(&read(&est_path)?)
        .map_err(|e| format!("{} ({}): {e}", est_path.display(), meta.full_id))?;
    if !estimates.median.is_valid() || !estimates.mean.is_valid() {
        return Err(format!(
            "{} ({}): non-positive or non-finite estimate",
            est_path.display(),
            meta.full_id
        ));
    }
    Ok(Some(Bench {
        full_id: meta.full_id,
        id,
        throughput_bytes: meta.throughput.as_ref().and_then(throughput_bytes),
        estimates,
        dir: PathBuf::new(),
    }))
}

/// Criterion's raw sample (`sample.json`): `times[i]` nanoseconds for `iters[i]` iterations.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RawSample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// The raw per-iteration times (ns) of one benchmark of `data` — criterion's `sample.json`
/// next to the estimates it was read from. An error names the file.
pub fn read_sample(data: &CriterionData, bench: &Bench) -> Result<Vec<f64>, String> {
    let path = data.dir.join(&bench.dir).join(&data.baseline).join("sample.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: RawSample = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let per_iter: Vec<f64> = raw.iters.iter().zip(&raw.times).map(|(n, t)| t / n).collect();
    if raw.iters.len() != raw.times.len()
        || per_iter.is_empty()
        || per_iter.iter().any(|v| !v.is_finite() || *v <= 0.0)
    {
        return Err(format!(
            "{}: iters and times must be equally long, non-empty and positive",
            path.display()
        ));
    }
    Ok(per_iter)
}

/// Bytes per iteration from criterion's `Throughput` enum as serialized by serde:
/// `{"Bytes": n}`, `{"BytesDecimal": n}`, `{"Bits": n}`, `{"ElementsAndBytes": {..., "bytes": n}}`.
fn throughput_bytes(v: &serde_json::Value) -> Option<u64> {
    let obj = v.as_object()?;
    if let Some(n) = obj
        .get("Bytes")
        .or_else(|| obj.get("BytesDecimal"))
        .and_then(|n| n.as_u64())
    {
        return Some(n);
    }
    if let Some(n) = obj.get("Bits").and_then(|n| n.as_u64()) {
        return Some(n / 8);
    }
    obj.get("ElementsAndBytes")
        .and_then(|e| e.get("bytes"))
        .and_then(|n| n.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_variants() {
        let j = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(throughput_bytes(&j(r#"{"Bytes":1024}"#)), Some(1024));
        assert_eq!(throughput_bytes(&j(r#"{"BytesDecimal":1000}"#)), Some(1000));
        assert_eq!(throughput_bytes(&j(r#"{"Bits":64}"#)), Some(8));
        assert_eq!(
            throughput_bytes(&j(r#"{"ElementsAndBytes":{"elements":3,"bytes":9}}"#)),
            Some(9)
        );
        assert_eq!(throughput_bytes(&j(r#"{"Elements":3}"#)), None);
    }

    #[test]
    fn missing_dir_is_an_error() {
        assert!(read_criterion_dir(Path::new("/nonexistent/criterion")).is_err());
    }
}
