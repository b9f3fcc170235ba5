//! Entry points: load a run directory and/or a criterion directory, render every sink, write
//! the outputs atomically.

use std::path::{Path, PathBuf};

use crate::criterion::read_criterion_dir;
use crate::html::HtmlSink;
use crate::markdown::MarkdownSink;
use crate::model::{Inputs, Report};
use crate::schema::{RunResults, read_json, write_atomic};
use crate::sink::{ReportError, ReportSink, drive};
use crate::summary::JsonSink;
use crate::verdict::ClaimStatus;

/// The run's results file inside a run directory.
pub const RESULTS_FILE: &str = "results.json";
/// Where [`render_run`] looks for criterion output when no directory is given.
pub const DEFAULT_CRITERION_SUBDIR: &str = "criterion";

/// What was written, and the verdict in short.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub index_html: PathBuf,
    pub summary_md: PathBuf,
    pub summary_json: PathBuf,
    pub status: ClaimStatus,
    pub sentence: String,
    /// Gaps in the evidence, as shown in the report; empty for a complete run with criterion.
    pub missing: Vec<String>,
}

/// Renders the report of a run directory into it: `index.html`, `summary.md`, `summary.json`.
///
/// - `run_dir/results.json` is read if present (a file that exists but cannot be parsed is an
///   error); if absent the report says end-to-end was not measured.
/// - Serialization: `run_dir/criterion` (what `rpcbench run`'s serialization phase wrote) when
///   present; `criterion_dir` (criterion's output directory of a fuller `cargo bench`, e.g.
///   `target/criterion`, holding `encoded-sizes.json` too) adds the cases the run lacks, or is
///   the only source for a run without its own. Without either the report says serialization
///   was not measured.
/// - Errors only when there is nothing at all to report, when `results.json` is unreadable,
///   or when an output cannot be written. Corrupt criterion files become notes.
///
/// For `rpcbench report DIR [--criterion-dir D]`: `render_run(DIR, D)`. For `rpcbench run`:
/// call it on the run directory after `results.json` is written, with the criterion directory
/// if the run executed the codec benches.
pub fn render_run(run_dir: &Path, criterion_dir: Option<&Path>) -> Result<Rendered, ReportError> {
    let inputs = load_run_inputs(run_dir, criterion_dir)?;
    render_inputs(&inputs)
}

/// Renders a report from criterion results alone (no run) into `out_dir`, which is created if
/// needed. The report says that end-to-end results are missing.
pub fn render_criterion_only(criterion_dir: &Path, out_dir: &Path) -> Result<Rendered, ReportError> {
    let criterion = read_criterion_dir(criterion_dir)?;
    let inputs = Inputs {
        out_dir: out_dir.into(),
        run: None,
        results_path: None,
        criterion: Some(criterion),
        notes: vec![format!(
            "no {RESULTS_FILE}: end-to-end latency, throughput, CPU and bytes per request were not measured"
        )],
    };
    render_inputs(&inputs)
}

/// Loads what [`render_run`] renders, without rendering it.
pub fn load_run_inputs(run_dir: &Path, criterion_dir: Option<&Path>) -> Result<Inputs, ReportError> {
    if !run_dir.is_dir() {
        return Err(ReportError::NothingToReport {
            dir: run_dir.into(),
            details: "not a directory".into(),
        });
    }
    let mut notes = Vec::new();
    let results_path = run_dir.join(RESULTS_FILE);
    let run = if results_path.exists() {
        Some(read_json::<RunResults>(&results_path)?)
    } else {
        notes.push(format!(
            "no {RESULTS_FILE} in {}: end-to-end latency, throughput, CPU and bytes per request were not measured",
            run_dir.display()
        ));
        None
    };
    // The run's own serialization phase first (same commit, same machine, same hour); a fuller
    // `cargo bench` directory adds the cases the run did not measure.
    let own_dir = run_dir.join(DEFAULT_CRITERION_SUBDIR);
    let own = own_dir.is_dir().then(|| read_criterion_dir(&own_dir));
    let extra = criterion_dir
        .filter(|d| !same_dir(d, &own_dir))
        .map(|d| (d, read_criterion_dir(d)));
    let criterion = match (own, extra) {
        (Some(Ok(mut own)), extra) => {
            if let Some((dir, Ok(extra))) = extra {
                let added = own.add_missing(extra);
                if added > 0 {
                    notes.push(format!(
                        "serialization: {} cases measured in this run; {added} more read from {} (a fuller `cargo bench`, possibly of another commit)",
                        own.benches.len() - added,
                        dir.display()
                    ));
                }
            }
            Some(own)
        }
        (own, Some((_, Ok(extra)))) => {
            if let Some(Err(e)) = own {
                notes.push(format!("{e}"));
            }
            notes.push(format!(
                "serialization: read from {} (`cargo bench`), not measured in this run",
                extra.dir.display()
            ));
            Some(extra)
        }
        (own, extra) => {
            let mut why: Vec<String> = Vec::new();
            if let Some(Err(e)) = own {
                why.push(e.to_string());
            }
            if let Some((_, Err(e))) = extra {
                why.push(e.to_string());
            }
            if why.is_empty() {
                why.push("no criterion directory given and the run has none".into());
            }
            notes.push(format!(
                "{}: serialization (codec benches, encoded sizes) was not measured",
                why.join("; ")
            ));
            None
        }
    };
    if run.is_none() && criterion.is_none() {
        return Err(ReportError::NothingToReport {
            dir: run_dir.into(),
            details: notes.join("; "),
        });
    }
    Ok(Inputs {
        out_dir: run_dir.into(),
        results_path: run.as_ref().map(|_| results_path),
        run,
        criterion,
        notes,
    })
}

/// Whether two paths name the same directory (both canonicalized when they exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Reports are meant to be opened by people and served as CI artifacts; the atomic write's
/// temporary file is private (0600), so widen it to 0644.
fn make_readable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The three sinks every report has.
pub fn default_sinks() -> Vec<Box<dyn ReportSink>> {
    vec![
        Box::new(HtmlSink::new()),
        Box::new(MarkdownSink::new()),
        Box::new(JsonSink::new()),
    ]
}

/// Renders `inputs` with the default sinks and writes the files into `inputs.out_dir`.
pub fn render_inputs(inputs: &Inputs) -> Result<Rendered, ReportError> {
    let report = Report::build(inputs);
    let outputs = drive(&report, default_sinks())?;
    for (name, bytes) in &outputs {
        let path = inputs.out_dir.join(name);
        write_atomic(&path, bytes)?;
        make_readable(&path);
    }
    Ok(Rendered {
        index_html: inputs.out_dir.join("index.html"),
        summary_md: inputs.out_dir.join("summary.md"),
        summary_json: inputs.out_dir.join("summary.json"),
        status: report.verdict.status,
        sentence: report.verdict.sentence.clone(),
        missing: report.missing.clone(),
    })
}
