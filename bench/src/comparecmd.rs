//! `rpcbench compare`: a thin CLI over `rpcbench_reports::compare`, which owns every figure,
//! the decision rule and the outputs.

use std::path::PathBuf;

use rpcbench_reports::compare::{
    CompareError, CompareOptions, Decision, Side, calibrate, compare, load_result_set, signed_pct,
    write_calibration, write_comparison,
};

const AFTER_HELP: &str = "\
A result set (BASE, CURRENT, each --calibrate SET) is one of:
  - a run directory of `rpcbench run` (holds results.json), or a results.json file
  - an instructions.json of `cargo bench -p rpcbench --bench codec_instructions`
  - a criterion directory (target/criterion); DIR#NAME picks the baseline saved with
    `cargo bench -- --save-baseline NAME`
  - a directory holding several of these (run directories, instructions.json, criterion/):
    everything is pooled, and each run or repetition is one replicate

Rule: a metric regressed (improved) only if it is significant after Holm-Bonferroni over all
sampled metrics (Welch's t-test on log values; family-wise alpha) AND its simultaneous
confidence interval lies entirely beyond --threshold in the worse (better) direction.
Instruction counts are exact: identical counts are unchanged, a change beyond the threshold
counts. End-to-end metrics need at least 2 replicates (runs or repetitions) per side.

Exit code: 0 no regression, 1 regression, 2 unusable input (named in the error).
See docs/regression.md.";

#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct CompareArgs {
    /// Baseline result set (see --help for what a result set can be)
    #[arg(value_name = "BASE", required_unless_present = "calibrate")]
    pub base: Option<String>,

    /// Result set judged against BASE
    #[arg(value_name = "CURRENT", required_unless_present = "calibrate")]
    pub current: Option<String>,

    /// A/A calibration: compare every pair of these result sets of the same code and report
    /// how often the gate would have failed (its false-positive rate)
    #[arg(long, num_args = 2.., value_name = "SET", conflicts_with_all = ["base", "current"])]
    pub calibrate: Vec<String>,

    /// Smallest change that counts, in percent
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT")]
    pub threshold: f64,

    /// Family-wise error rate over the sampled metrics (Holm–Bonferroni)
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,

    /// Where compare.md and compare.json (or calibrate.md and calibrate.json) are written
    #[arg(long, default_value = "target/rpcbench-compare", value_name = "DIR")]
    pub output_dir: PathBuf,
}

/// Runs `rpcbench compare`; returns the exit code (never fails: every error is exit 2).
pub fn run(args: CompareArgs) -> u8 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rpcbench compare: unusable input: {e}");
            crate::exit::UNUSABLE
        }
    }
}

fn run_inner(args: &CompareArgs) -> Result<u8, CompareError> {
    let opts = CompareOptions::new(args.threshold, args.alpha)?;
    if !args.calibrate.is_empty() {
        let sets = args
            .calibrate
            .iter()
            .map(|s| load_result_set(Side::Base, s))
            .collect::<Result<Vec<_>, _>>()?;
        let cal = calibrate(&sets, &opts)?;
        let (md, json) = write_calibration(&args.output_dir, &cal)?;
        println!(
            "calibration: the gate failed in {} of {} consecutive pairs (1-2, 3-4, ...) and in {} of {} \
             pairs overall ({:.1}%, Wilson 95% {:.1}-{:.1}%)",
            cal.consecutive_pairs_with_regression,
            cal.consecutive_pairs,
            cal.pairs_with_regression,
            cal.pairs,
            cal.false_positive_rate * 100.0,
            cal.false_positive_ci95[0] * 100.0,
            cal.false_positive_ci95[1] * 100.0,
        );
        println!("report:  {} , {}", md.display(), json.display());
        return Ok(0);
    }
    let (Some(base), Some(current)) = (&args.base, &args.current) else {
        return Err(CompareError::Options(
            "give BASE and CURRENT, or --calibrate".into(),
        ));
    };
    let base = load_result_set(Side::Base, base)?;
    let current = load_result_set(Side::Current, current)?;
    let c = compare(&base, &current, &opts)?;
    let (md, json) = write_comparison(&args.output_dir, &c)?;
    println!(
        "{}: {} regressed, {} improved, {} unchanged of {} metrics (threshold {}%, alpha {})",
        match c.verdict {
            rpcbench_reports::compare::Verdict::Regression => "REGRESSION",
            rpcbench_reports::compare::Verdict::NoRegression => "no regression",
        },
        c.regressed,
        c.improved,
        c.unchanged,
        c.metrics.len(),
        args.threshold,
        args.alpha
    );
    for (d, word) in [
        (Decision::Regressed, "regressed"),
        (Decision::Improved, "improved"),
    ] {
        for m in c.flagged(d) {
            println!("  {word:<9} {} {} — {}", m.id, signed_pct(m.change_pct), m.reason);
        }
    }
    for w in &c.warnings {
        println!("  warning: {w}");
    }
    println!("report:  {} , {}", md.display(), json.display());
    Ok(c.verdict.exit_code())
}
