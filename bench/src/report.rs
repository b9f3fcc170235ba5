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

/// `rpcbench report DIR [DIR...]`.
pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let criterion = criterion_dir(args.criterion_dir.as_deref());
    for dir in &args.dirs {
        let rendered = if dir.join("results.json").is_file() {
            rpcbench_reports::render_run(dir, criterion.as_deref())
        } else {
            let own = Some(dir.join("criterion")).filter(|d| d.is_dir() && args.criterion_dir.is_none());
            let crit = own.or_else(|| criterion.clone()).with_context(|| {
                format!(
                    "{} has no results.json and no criterion results were found",
                    dir.display()
                )
            })?;
            rpcbench_reports::render_criterion_only(&crit, dir)
        }
        .with_context(|| format!("cannot render the report of {}", dir.display()))?;
        print_rendered(&rendered);
    }
    if args.dirs.len() > 1 {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| default_networks_dir(&args.dirs[0]));
        let html = rpcbench_reports::networks::render(&args.dirs, &out)
            .context("cannot render the network comparison")?;
        println!("networks: {}", html.display());
    }
    Ok(0)
}

/// `<first>-networks/` beside the first run directory.
pub fn default_networks_dir(first: &Path) -> PathBuf {
    let name = first
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    first
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{name}-networks"))
}

/// The network comparison at the end of a multi-profile run (never fails the run).
pub fn render_networks_after_run(dirs: &[PathBuf]) {
    let Some(first) = dirs.first() else { return };
    match rpcbench_reports::networks::render(dirs, &default_networks_dir(first)) {
        Ok(html) => println!("networks: {}", html.display()),
        Err(e) => eprintln!("rpcbench run: the network comparison could not be rendered: {e:#}"),
    }
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
