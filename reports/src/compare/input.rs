//! Loading one side of a comparison: a result set made of run directories, instruction-count
//! files and criterion output, recognised by content.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{INSTRUCTIONS_FILE, InstructionCounts};
use crate::criterion::{read_criterion_baseline, read_sample};
use crate::render::RESULTS_FILE;
use crate::schema::{RunResults, SchemaError, read_json};

/// Which side of a comparison a result set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Base,
    Current,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Base => "BASE",
            Side::Current => "CURRENT",
        })
    }
}

/// Why a comparison cannot be made. Every variant names the side and the file or metric, and
/// maps to exit code 2 ("unusable input").
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{side} {path}: no such file or directory")]
    Missing { side: String, path: PathBuf },
    #[error("{side}: {source}")]
    Schema { side: String, source: SchemaError },
    #[error("{side} {path}: {message}")]
    Unusable {
        side: String,
        path: PathBuf,
        message: String,
    },
    #[error("mismatched workloads: {0}")]
    Mismatch(String),
    #[error("not enough data: {0}")]
    Insufficient(String),
    #[error("bad option: {0}")]
    Options(String),
    #[error("cannot write the comparison: {0}")]
    Write(SchemaError),
}

/// A loaded `results.json`.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub path: PathBuf,
    pub results: RunResults,
}

/// A loaded `instructions.json`.
#[derive(Debug, Clone)]
pub struct LoadedInstructions {
    pub path: PathBuf,
    pub counts: InstructionCounts,
}

/// Criterion benchmarks with their raw samples (per-iteration nanoseconds).
#[derive(Debug, Clone)]
pub struct LoadedCriterion {
    pub dir: PathBuf,
    /// `new` or a `--save-baseline` name.
    pub baseline: String,
    /// `(full_id, per-iteration times in ns)`, sorted by id.
    pub samples: Vec<(String, Vec<f64>)>,
}

/// Everything on one side of a comparison.
#[derive(Debug, Clone)]
pub struct ResultSet {
    /// The argument as given.
    pub spec: String,
    pub runs: Vec<LoadedRun>,
    pub instructions: Vec<LoadedInstructions>,
    pub criterion: Vec<LoadedCriterion>,
}

impl ResultSet {
    /// Git commits the results were produced from (short, deduplicated).
    pub fn commits(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .runs
            .iter()
            .filter_map(|r| r.results.provenance.git_commit.clone())
            .chain(
                self.instructions
                    .iter()
                    .filter_map(|i| i.counts.provenance.as_ref().and_then(|p| p.git_commit.clone())),
            )
            .map(|c| c.chars().take(12).collect())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// One line saying what the set holds.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.runs.is_empty() {
            let reps: usize = self.runs.iter().map(|r| repetitions(&r.results)).sum();
            parts.push(format!(
                "{} run{} ({} repetition{} in all)",
                self.runs.len(),
                plural(self.runs.len()),
                reps,
                plural(reps)
            ));
        }
        if !self.instructions.is_empty() {
            let tool = &self.instructions[0].counts.tool;
            parts.push(format!(
                "{} instruction-count file{} ({tool})",
                self.instructions.len(),
                plural(self.instructions.len())
            ));
        }
        for c in &self.criterion {
            parts.push(format!(
                "criterion {} baseline `{}` ({} benchmarks)",
                c.dir.display(),
                c.baseline,
                c.samples.len()
            ));
        }
        let commits = self.commits();
        if !commits.is_empty() {
            parts.push(format!("commit {}", commits.join(", ")));
        }
        parts.join("; ")
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Distinct repetitions present in a run's points.
fn repetitions(results: &RunResults) -> usize {
    let mut reps: Vec<u32> = results.points.iter().map(|p| p.repetition).collect();
    reps.sort();
    reps.dedup();
    reps.len()
}

/// Loads one side. `spec` is a path, optionally `DIR#NAME` for criterion's named baseline
/// `NAME` (`cargo bench -- --save-baseline NAME`). What a path holds is decided by content:
///
/// - a file: `results.json` of `rpcbench run`, or `instructions.json` of the
///   `codec_instructions` bench (any file name; recognised by its fields);
/// - a run directory (holds `results.json`);
/// - a criterion directory (`target/criterion`, or a copy of it);
/// - a result-set directory: any mix of `instructions.json`, run directories (sub-directories
///   with `results.json`, e.g. several interleaved runs), sub-directories with
///   `instructions.json`, and `criterion/`. Everything found is pooled: runs and repetitions are
///   the replicates of the end-to-end metrics.
pub fn load_result_set(side: Side, spec: &str) -> Result<ResultSet, CompareError> {
    let side_s = side.to_string();
    let (path, baseline) = split_baseline(spec);
    if !path.exists() {
        return Err(CompareError::Missing {
            side: side_s,
            path: path.clone(),
        });
    }
    let mut set = ResultSet {
        spec: spec.into(),
        runs: Vec::new(),
        instructions: Vec::new(),
        criterion: Vec::new(),
    };
    if let Some(name) = baseline {
        set.criterion.push(load_criterion(&side_s, &path, &name)?);
        return Ok(set);
    }
    if path.is_file() {
        load_file(&side_s, &path, &mut set)?;
        return Ok(set);
    }
    if path.join(RESULTS_FILE).is_file() {
        load_file(&side_s, &path.join(RESULTS_FILE), &mut set)?;
        return Ok(set);
    }
    let top_instructions = path.join(INSTRUCTIONS_FILE);
    if top_instructions.is_file() {
        load_file(&side_s, &top_instructions, &mut set)?;
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(&path)
        .map_err(|e| CompareError::Unusable {
            side: side_s.clone(),
            path: path.clone(),
            message: e.to_string(),
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in &subdirs {
        for file in [RESULTS_FILE, INSTRUCTIONS_FILE] {
            if sub.join(file).is_file() {
                load_file(&side_s, &sub.join(file), &mut set)?;
            }
        }
    }
    let criterion_sub = path.join("criterion");
    if criterion_sub.is_dir() {
        set.criterion
            .push(load_criterion(&side_s, &criterion_sub, "new")?);
    } else if set.runs.is_empty() && set.instructions.is_empty() {
        // Perhaps the directory is criterion's own output.
        let c = load_criterion(&side_s, &path, "new").map_err(|e| match e {
            CompareError::Unusable { .. } => CompareError::Unusable {
                side: side_s.clone(),
                path: path.clone(),
                message: format!(
                    "holds no {RESULTS_FILE}, no {INSTRUCTIONS_FILE}, no run directories and no \
                     criterion results"
                ),
            },
            other => other,
        })?;
        set.criterion.push(c);
    }
    Ok(set)
}

/// `DIR#NAME` → (DIR, Some(NAME)), unless the whole spec is an existing path.
fn split_baseline(spec: &str) -> (PathBuf, Option<String>) {
    if !Path::new(spec).exists()
        && let Some((dir, name)) = spec.rsplit_once('#')
        && !name.is_empty()
        && !name.contains('/')
    {
        return (PathBuf::from(dir), Some(name.to_owned()));
    }
    (PathBuf::from(spec), None)
}

fn load_file(side: &str, path: &Path, set: &mut ResultSet) -> Result<(), CompareError> {
    let unusable = |message: String| CompareError::Unusable {
        side: side.into(),
        path: path.into(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
    // Sniff the document kind first, so the error of a corrupt file names what it should be.
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|source| CompareError::Schema {
        side: side.into(),
        source: SchemaError::Parse {
            path: path.into(),
            source,
        },
    })?;
    let schema_err = |source| CompareError::Schema {
        side: side.into(),
        source,
    };
    if value.get("points").is_some() {
        let results: RunResults = read_json(path).map_err(schema_err)?;
        set.runs.push(LoadedRun {
            path: path.into(),
            results,
        });
    } else if value.get("cases").is_some() {
        let counts: InstructionCounts = read_json(path).map_err(schema_err)?;
        set.instructions.push(LoadedInstructions {
            path: path.into(),
            counts,
        });
    } else {
        return Err(unusable(format!(
            "is neither a {RESULTS_FILE} of `rpcbench run` nor an {INSTRUCTIONS_FILE} of the \
             codec_instructions bench"
        )));
    }
    Ok(())
}

fn load_criterion(side: &str, dir: &Path, baseline: &str) -> Result<LoadedCriterion, CompareError> {
    let unusable = |message: String| CompareError::Unusable {
        side: side.into(),
        path: dir.into(),
        message,
    };
    let data = read_criterion_baseline(dir, baseline).map_err(|e| unusable(e.to_string()))?;
    if let Some(problem) = data.problems.first() {
        return Err(unusable(format!("corrupt criterion results: {problem}")));
    }
    if data.benches.is_empty() {
        return Err(unusable(format!(
            "no criterion benchmarks (codec/… or rtt/…) with baseline `{baseline}`"
        )));
    }
    let mut samples = Vec::new();
    for b in &data.benches {
        let s = read_sample(&data, b).map_err(|e| unusable(format!("corrupt criterion sample: {e}")))?;
        samples.push((b.full_id.clone(), s));
    }
    Ok(LoadedCriterion {
        dir: dir.into(),
        baseline: baseline.into(),
        samples,
    })
}
