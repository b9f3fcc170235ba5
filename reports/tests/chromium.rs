//! Renders a report and loads it in headless Chromium through `scripts/check-report-chromium.sh`:
//! no console errors, every chart present and non-empty, a screenshot saved under
//! `target/report-check/`.
//!
//! Needs a browser (Debian packages `chromium` and `chromium-driver`), so it is `#[ignore]`d in the
//! plain test command; CI asks for it: `cargo test -p rpcbench-reports --test chromium -- --ignored`.
//!
//! By default the report is rendered from a synthetic run (all variants, fixed-rate, closed-loop
//! and sweep points, codec benches, encoded sizes). To check a real run instead:
//! `RPCBENCH_REPORT_RUN_DIR=DIR [RPCBENCH_REPORT_CRITERION_DIR=D] [RPCBENCH_REPORT_EXPECT_KINDS=k1,k2]`
//! (the report is re-rendered into DIR).

use std::path::{Path, PathBuf};
use std::process::Command;

use rpcbench_reports::{render_run, synthetic, write_json_atomic};

/// Chart kinds a complete report has.
const ALL_KINDS: &str = "headline,effects,codec-time,codec-mbps,encoded-size,spectrum,latency-throughput,\
                         throughput,server-cpu,client-cpu,wire-bytes";
/// Chart kinds any run with load results has.
const RUN_KINDS: &str = "headline,spectrum,throughput,server-cpu,wire-bytes";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("reports/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

#[test]
#[ignore = "needs chromium + chromium-driver; CI runs it with --ignored"]
fn report_loads_in_headless_chromium() {
    let check_dir = target_dir().join("report-check");
    let (html, name, kinds) = match std::env::var_os("RPCBENCH_REPORT_RUN_DIR") {
        Some(run_dir) => {
            let criterion = std::env::var_os("RPCBENCH_REPORT_CRITERION_DIR").map(PathBuf::from);
            let out = render_run(Path::new(&run_dir), criterion.as_deref()).expect("renders the run");
            let default_kinds = if criterion.is_some() {
                format!("{RUN_KINDS},codec-time,codec-mbps,encoded-size")
            } else {
                RUN_KINDS.to_string()
            };
            let kinds = std::env::var("RPCBENCH_REPORT_EXPECT_KINDS").unwrap_or(default_kinds);
            println!("verdict: {}", out.sentence);
            (out.index_html, "run", kinds)
        }
        None => {
            let dir = check_dir.join("synthetic");
            let _ = std::fs::remove_dir_all(&dir);
            write_json_atomic(&dir.join("results.json"), &synthetic::run()).unwrap();
            synthetic::write_criterion_dir(
                &dir.join("criterion"),
                &synthetic::codec_benches(),
                Some(&synthetic::encoded_sizes()),
            )
            .unwrap();
            let out = render_run(&dir, None).expect("renders the synthetic run");
            (out.index_html, "synthetic", ALL_KINDS.to_string())
        }
    };
    println!("report: {}", html.display());

    let png = check_dir.join(format!("{name}.png"));
    let script = workspace_root().join("scripts/check-report-chromium.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(&html)
        .arg(&png)
        .arg("--expect-kinds")
        .arg(kinds.replace(' ', ""))
        .output()
        .expect("runs the chromium check script");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "headless Chromium check failed ({})",
        output.status
    );
    assert!(png.is_file(), "screenshot saved at {}", png.display());
}
