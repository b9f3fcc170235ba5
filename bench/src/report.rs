//! `rpcbench report`, and the report at the end of `rpcbench run`: thin calls into the
//! `reports` crate, which owns every figure and sentence.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::ReportArgs;

/// Criterion results beside a run's own (`DIR/criterion`, which the report always reads):
/// explicit, else `target/criterion` when present.
fn criterion_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = explicit {
        return Some(d.to_path_buf());
    }
    Some(PathBuf::from("target/criterion")).filter(|d| d.is_dir())
}

fn print_rendered(r: &rpcbench_reports::Rendered) {
    println!("verdict: {:?} — {}", r.status, r.sentence);
    for m in &r.missing {
        println!("missing: {m}");
    }
    println!("report:  {}", r.index_html.display());
    println!(
        "summary: {} , {}",
        r.summary_md.display(),
        r.summary_json.display()
    );
}

/// `rpcbench report DIR`.
pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let criterion = criterion_dir(args.criterion_dir.as_deref());
    let rendered = if args.dir.join("results.json").is_file() {
        rpcbench_reports::render_run(&args.dir, criterion.as_deref())
    } else {
        let own = Some(args.dir.join("criterion")).filter(|d| d.is_dir() && args.criterion_dir.is_none());
        let crit = own.or(criterion).with_context(|| {
            format!(
                "{} has no results.json and no criterion results were found",
                args.dir.display()
            )
        })?;
        rpcbench_reports::render_criterion_only(&crit, &args.dir)
    }
    .with_context(|| format!("cannot render the report of {}", args.dir.display()))?;
    print_rendered(&rendered);
    Ok(0)
}

/// Renders the report of a finished run. A report failure never loses the run: results.json
/// is already written, and `rpcbench report DIR` can retry.
pub fn render_after_run(dir: &Path, explicit_criterion: Option<&Path>) {
    let criterion = criterion_dir(explicit_criterion.filter(|d| d.is_dir()));
    match rpcbench_reports::render_run(dir, criterion.as_deref()) {
        Ok(r) => print_rendered(&r),
        Err(e) => eprintln!("rpcbench run: the report could not be rendered: {e:#} (results are kept)"),
    }
}
