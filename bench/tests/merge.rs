//! `rpcbench load --start-at` and `rpcbench merge` on real servers and real result files: two
//! generators with one agreed start against one server, merged into one point that `rpcbench
//! report` renders; and the refusals (exit 2, the differing field named).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rpcbench::server_process::ServerProcess;
use rpcbench_reports::{LoadReport, RunResults, read_json};
use rpcbench_servers::Variant;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

fn rpcbench(args: &[&str]) -> Command {
    let mut c = Command::new(exe());
    c.args(args).env("RUST_LOG", "warn");
    c
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An agreed start `ahead` from now, in Unix nanoseconds.
fn start_in(ahead: Duration) -> String {
    (SystemTime::now() + ahead)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .to_string()
}

/// Two generators, one agreed start, one server: writes `dir/load-0.json`, `dir/load-1.json`.
fn two_generators(dir: &Path, variant: Variant, target: &str, rate: &str) -> Vec<PathBuf> {
    let start = start_in(Duration::from_secs(3));
    let files: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("load-{i}.json"))).collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            rpcbench(&["load", "--variant", variant.name(), "--target", target])
                .args(["--rate", rate, "--duration", "1500ms", "--warmup", "300ms"])
                .args(["--start-at", &start, "--json"])
                .arg(f)
                .output_async()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    files
}

trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

fn merge(inputs: &[PathBuf], out: &Path) -> Output {
    rpcbench(&["merge"])
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn two_generators_with_one_start_merge_into_one_point() {
    let dir = tempfile::tempdir().unwrap();
    let variant = Variant::GrpcProtoH2;
    let server = ServerProcess::start(exe(), variant, &[]).unwrap();
    let target = format!("http://{}", server.addr());
    let files = two_generators(dir.path(), variant, &target, "200");
    let loads: Vec<LoadReport> = files.iter().map(|f| read_json(f).unwrap()).collect();
    for l in &loads {
        let skew = l
            .summary
            .start_skew_ns
            .expect("a --start-at load records its skew");
        assert!(
            skew.unsigned_abs() < 1_000_000_000,
            "skew {skew} ns: the agreed start was not kept"
        );
        assert!(l.config.start_at_unix_ns.is_some());
        assert!(l.summary.ok > 0 && l.summary.errors.is_empty(), "{:?}", l.summary);
    }

    let out_dir = dir.path().join("merged");
    let out = merge(&files, &out_dir);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("merge of 2 generators"), "{stdout}");

    let run: RunResults = read_json(&out_dir.join("results.json")).unwrap();
    let point = &run.points[0];
    let merged = &point.load.summary;
    assert_eq!(merged.ok, loads.iter().map(|l| l.summary.ok).sum::<u64>());
    assert_eq!(
        point
            .load
            .histograms
            .corrected
            .as_ref()
            .unwrap()
            .decode()
            .unwrap()
            .len(),
        merged.ok
    );
    assert_eq!(merged.target_rps, Some(400.0));
    let rate_sum: f64 = loads.iter().map(|l| l.summary.achieved_rps).sum();
    assert!((merged.achieved_rps - rate_sum).abs() < 1e-9);
    let window = merged.window.unwrap();
    for l in &loads {
        let w = l.summary.window.unwrap();
        assert!(w.start_unix_ns <= window.start_unix_ns && window.end_unix_ns <= w.end_unix_ns);
    }
    assert!(out_dir.join(point.hgrm_file.as_ref().unwrap()).is_file());

    let report = rpcbench(&["report"]).arg(&out_dir).output().unwrap();
    assert!(report.status.success(), "{}", text(&report));
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(
        html.contains("merge of 2 generators"),
        "the report names the merge"
    );
}

#[test]
fn a_start_time_in_the_past_is_refused_before_measuring() {
    let server = ServerProcess::start(exe(), Variant::RestJsonH1, &[]).unwrap();
    let target = format!("http://{}", server.addr());
    let out = rpcbench(&["load", "--variant", "rest-json-h1", "--target", &target])
        .args(["--start-at", "2020-01-01T00:00:00Z", "--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the agreed start time 2020-01-01T00:00:00"), "{err}");
    let out = rpcbench(&["load", "--variant", "rest-json-h1", "--target", &target])
        .args(["--start-at", "noon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Rewrites fields of a result file (JSON pointers) into a new file.
fn with_fields(src: &Path, fields: &[(&str, serde_json::Value)], dst: &Path) -> PathBuf {
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    for (pointer, value) in fields {
        *doc.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value.clone();
    }
    std::fs::write(dst, serde_json::to_vec(&doc).unwrap()).unwrap();
    dst.to_path_buf()
}

/// The CLI refuses mismatched inputs with exit 2 and names the field; the field-by-field
/// coverage is in the unit tests beside the merge (`reports/src/merge.rs`).
#[test]
fn merge_refuses_mismatched_inputs_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let variant = Variant::RestJsonH1;
    let server = ServerProcess::start(exe(), variant, &[]).unwrap();
    let target = format!("http://{}", server.addr());
    let files = two_generators(dir.path(), variant, &target, "100");
    let d = dir.path();
    let cases = [
        (
            with_fields(
                &files[1],
                &[("/config/variant", "grpc-proto-h2".into())],
                &d.join("v.json"),
            ),
            "config.variant differs",
        ),
        (
            with_fields(
                &files[1],
                &[("/config/workload/shape", "mesh".into())],
                &d.join("w.json"),
            ),
            "config.workload.shape differs",
        ),
        (
            with_fields(
                &files[1],
                &[("/config/rate_rps", 150.0.into())],
                &d.join("r.json"),
            ),
            "config.rate_rps differs",
        ),
        (
            with_fields(&files[1], &[("/schema_version", 99.into())], &d.join("s.json")),
            "schema version 99",
        ),
        (
            with_fields(
                &files[1],
                &[
                    ("/summary/window/start_unix_ns", 0.into()),
                    ("/summary/window/end_unix_ns", 1.into()),
                ],
                &d.join("o.json"),
            ),
            "do not overlap",
        ),
    ];
    for (other, expect) in cases {
        let out = merge(&[files[0].clone(), other.clone()], &d.join("out"));
        assert_eq!(out.status.code(), Some(2), "{expect}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(
            !d.join("out/results.json").exists(),
            "nothing written for a refused merge"
        );
    }
}
