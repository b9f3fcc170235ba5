//! `rpcbench merge`: a thin CLI over `rpcbench_reports::merge`, which owns the arithmetic. Reads
//! the generators' `load --json` files, writes the merged point as a run directory that
//! `rpcbench report` renders.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rpcbench_model::{PointId, Size, UnknownName};
use rpcbench_reports::merge::{MergeError, MergeRecord, merge_loads};
use rpcbench_reports::{
    LoadMode, LoadReport, PointKind, PointResult, RunResults, SchemaError, ServerStats, hgrm, read_json,
    write_atomic, write_json_atomic,
};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Results of `rpcbench load --json`, one per generator
    #[arg(value_name = "FILE", required = true, num_args = 2..)]
    pub inputs: Vec<PathBuf>,

    /// Output directory: results.json (one point) and hgrm/, renderable with `rpcbench report`
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

/// Why `rpcbench merge` stopped.
#[derive(Debug, thiserror::Error)]
enum MergeCmdError {
    #[error(transparent)]
    Read(SchemaError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("the inputs name {0}")]
    Vocabulary(#[from] UnknownName),
    #[error(transparent)]
    Write(SchemaError),
}

/// Runs `rpcbench merge`; returns the exit code.
pub fn run(args: MergeArgs) -> u8 {
    match run_inner(&args) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e @ MergeCmdError::Write(_)) => {
            eprintln!("rpcbench merge: {e}");
            1
        }
        Err(e) => {
            eprintln!("rpcbench merge: cannot merge: {e}");
            crate::exit::UNUSABLE
        }
    }
}

fn run_inner(args: &MergeArgs) -> Result<String, MergeCmdError> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| read_json::<LoadReport>(p).map(|r| (p.clone(), r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(MergeCmdError::Read)?;
    let merged = merge_loads(&inputs)?;
    let record = merged.merge.clone().expect("merge_loads records the merge");
    let w = &merged.config.workload;
    let id = PointId {
        variant: merged.config.variant,
        rpc: w.rpc,
        shape: w.shape,
        size: Size(w.size),
        load: crate::run::load_label(&point_kind(&merged)),
        repetition: 0,
    };
    write_run_dir(&args.output, id, merged.clone(), &record).map_err(MergeCmdError::Write)?;
    Ok(render(&args.output, &merged, &record))
}

fn point_kind(report: &LoadReport) -> PointKind {
    match (&report.config.mode, report.summary.target_rps) {
        (LoadMode::Open { .. }, Some(rate_rps)) => PointKind::FixedRate { rate_rps },
        _ => PointKind::MaxThroughput,
    }
}

/// The sentence the report shows as the "scenario": what was merged, over which window.
fn describe(record: &MergeRecord) -> String {
    let skew = record
        .max_start_skew_ns
        .map(|s| format!(", largest skew from the agreed start {:.3} ms", s as f64 / 1e6))
        .unwrap_or_default();
    format!(
        "merge of {} generators (combined window {:.3} s, start spread {:.3} ms{skew})",
        record.inputs.len(),
        record.window.duration_ns() as f64 / 1e9,
        record.start_spread_ns as f64 / 1e6
    )
}

/// Writes `dir/results.json` (a run with the merged point) and its `.hgrm`.
fn write_run_dir(
    dir: &Path,
    id: PointId,
    merged: LoadReport,
    record: &MergeRecord,
) -> Result<(), SchemaError> {
    let kind = point_kind(&merged);
    let id = id.to_string();
    let w = &merged.config.workload;
    let hgrm_file = format!("hgrm/{}.hgrm", id.replace('/', "_"));
    let latency = merged
        .histograms
        .corrected
        .as_ref()
        .unwrap_or(&merged.histograms.service)
        .decode()?;
    write_atomic(
        &dir.join(&hgrm_file),
        hgrm::percentile_distribution(&latency, 5).as_bytes(),
    )?;
    let results = RunResults {
        schema_version: merged.schema_version,
        scenario_name: describe(record),
        scenario: serde_json::to_value(record).expect("the record serializes"),
        provenance: rpcbench_reports::Provenance {
            command: std::env::args().collect(),
            ..merged.provenance.clone()
        },
        server_settings: serde_json::Value::Null,
        wire_settings: None,
        floor: None,
        network: None,
        complete: merged.summary.complete,
        errors: merged.summary.incomplete_reason.iter().cloned().collect(),
        points: vec![PointResult {
            id,
            variant: merged.config.variant,
            workload: w.clone(),
            condition: merged.config.condition.clone(),
            point: kind,
            repetition: 0,
            // The generators do not see the server's process: its CPU is unknown here.
            server: ServerStats {
                cpu_ns_per_request: None,
                cpu_utilization: None,
                peak_rss_bytes: None,
                cpu_unknown: Some("merged generators do not see the server process".into()),
            },
            hgrm_file: Some(hgrm_file),
            error: merged.summary.incomplete_reason.clone(),
            load: merged,
        }],
    };
    write_json_atomic(&dir.join("results.json"), &results)
}

/// Per-generator lines, then the merged summary in `rpcbench load`'s format.
fn render(dir: &Path, merged: &LoadReport, record: &MergeRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "rpcbench {}", describe(record));
    let _ = writeln!(
        out,
        "  {:<28} {:>10} {:>12} {:>8} {:>14} {:>12}",
        "generator", "ok", "req/s", "errors", "start skew ms", "client busy"
    );
    for i in &record.inputs {
        let skew = i
            .start_skew_ns
            .map_or("-".into(), |s| format!("{:+.3}", s as f64 / 1e6));
        let busy = i
            .client_cpu_utilization
            .map_or("-".into(), |u| format!("{:.0}%", u * 100.0));
        let name = Path::new(&i.file)
            .file_name()
            .map_or(i.file.clone(), |n| n.to_string_lossy().into_owned());
        let _ = writeln!(
            out,
            "  {name:<28} {:>10} {:>12.1} {:>8} {skew:>14} {busy:>12}{}",
            i.ok,
            i.achieved_rps,
            i.errors,
            if i.complete { "" } else { "  INCOMPLETE" }
        );
    }
    out.push_str("merged:\n");
    out.push_str(&crate::loadcmd::render_summary(&merged.config, &merged.summary));
    let _ = writeln!(out, "  results     {}", dir.join("results.json").display());
    let _ = writeln!(out, "  report      rpcbench report {}", dir.display());
    out
}
