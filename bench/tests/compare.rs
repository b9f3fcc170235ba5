//! `rpcbench compare` as a process: exit codes 0/1/2, outputs, calibration; and the guard that
//! a default build never carries the test-only injected slowdown.

use std::path::Path;
use std::process::{Command, Output};

use rpcbench_reports::compare::{InstructionCase, InstructionCounts};
use rpcbench_reports::schema::{PointKind, RunResults, write_json_atomic};
use rpcbench_reports::synthetic::{self, PointSpec};

/// A default build (this test's) must not have the `inject-slowdown` feature: it is switched on
/// only by `--features inject-slowdown` to measure the gate's sensitivity. If a dependency ever
/// enabled it by default, every user of rpcbench would measure a slowed codec.
#[test]
#[expect(
    clippy::assertions_on_constants,
    reason = "the constant is the build's feature set, which is what this test checks"
)]
fn default_build_has_no_injected_slowdown() {
    assert!(
        !rpcbench_proto::codec::SLOWDOWN_INJECTED,
        "rpcbench-proto was built with the test-only `inject-slowdown` feature"
    );
}

fn rpcbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rpcbench"))
        .args(args)
        .output()
        .expect("run rpcbench")
}

fn run_with(reps: u32, scale: f64) -> RunResults {
    let mut points = Vec::new();
    for rep in 0..reps {
        let jitter = 1.0 + 0.01 * (rep as f64 - 1.0);
        for kind in [
            PointKind::MaxThroughput,
            PointKind::FixedRate { rate_rps: 1000.0 },
        ] {
            let mut spec = PointSpec::new("rest-json-h1", "small", 256, kind, 40_000.0 * scale * jitter);
            spec.repetition = rep;
            spec.achieved_rps = 25_000.0 / (scale * jitter);
            points.push(synthetic::point(&spec));
        }
    }
    let mut r = synthetic::run();
    r.points = points;
    r
}

fn counts(json_encode: u64) -> InstructionCounts {
    let mut c = InstructionCounts::new("valgrind-3.19.0".into(), false);
    c.cases.push(InstructionCase {
        id: "codec/encode/json/mesh/16KiB".into(),
        iterations: 10,
        instructions: json_encode,
        encoded_bytes: 30_000,
    });
    c
}

fn write_set(dir: &Path, scale: f64, instructions: u64) {
    write_json_atomic(&dir.join("run-1").join("results.json"), &run_with(3, scale)).unwrap();
    write_json_atomic(&dir.join("instructions.json"), &counts(instructions)).unwrap();
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn exit_codes_say_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    write_set(&dir.path().join("base"), 1.0, 12_000_000);
    write_set(&dir.path().join("same"), 1.0, 12_000_000);
    write_set(&dir.path().join("slow"), 1.0, 13_200_000);
    let out = d("out");

    let o = rpcbench(&["compare", &d("base"), &d("same"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no regression"), "{}", text(&o));
    assert!(dir.path().join("out/compare.md").is_file());
    assert!(dir.path().join("out/compare.json").is_file());

    let o = rpcbench(&["compare", &d("base"), &d("slow"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("regressed instructions/codec/encode/json/mesh/16KiB +10.0%"),
        "{}",
        text(&o)
    );
    let md = std::fs::read_to_string(dir.path().join("out/compare.md")).unwrap();
    assert!(md.contains("instructions/codec/encode/json/mesh/16KiB"), "{md}");

    // A larger threshold lets the same change pass.
    let o = rpcbench(&[
        "compare",
        &d("base"),
        &d("slow"),
        "--threshold",
        "15",
        "--output-dir",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn unusable_input_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    write_set(&dir.path().join("base"), 1.0, 12_000_000);
    let out = d("out");

    let o = rpcbench(&["compare", &d("base"), &d("nope"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("CURRENT") && text(&o).contains("nope"),
        "{}",
        text(&o)
    );

    std::fs::create_dir_all(dir.path().join("corrupt")).unwrap();
    std::fs::write(dir.path().join("corrupt/results.json"), "{\"points\": [1,").unwrap();
    let o = rpcbench(&["compare", &d("base"), &d("corrupt"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("corrupt/results.json"), "{}", text(&o));

    let mut old = run_with(3, 1.0);
    old.schema_version = 0;
    write_json_atomic(&dir.path().join("old/results.json"), &old).unwrap();
    let o = rpcbench(&["compare", &d("old"), &d("base"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("schema version 0"), "{}", text(&o));

    let mut other = run_with(3, 1.0);
    for p in &mut other.points {
        p.workload.size = 1024;
    }
    write_json_atomic(&dir.path().join("other/run-1/results.json"), &other).unwrap();
    write_json_atomic(&dir.path().join("other/instructions.json"), &counts(1)).unwrap();
    let o = rpcbench(&["compare", &d("base"), &d("other"), "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("mismatched workloads"), "{}", text(&o));
    assert!(
        text(&o).contains("e2e/rest-json-h1/echo/small/1KiB/max"),
        "{}",
        text(&o)
    );

    let o = rpcbench(&["compare", &d("base"), &d("base"), "--threshold", "-3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = rpcbench(&["compare", &d("base")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn calibration_reports_the_false_positive_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets = Vec::new();
    for i in 0..3 {
        let p = dir.path().join(format!("aa{i}"));
        write_set(&p, 1.0, 12_000_000);
        sets.push(p.to_str().unwrap().to_owned());
    }
    let out = dir.path().join("cal");
    let mut args = vec!["compare", "--output-dir", out.to_str().unwrap(), "--calibrate"];
    args.extend(sets.iter().map(String::as_str));
    let o = rpcbench(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("the gate failed in 0 of 1 consecutive pairs (1-2, 3-4, ...) and in 0 of 3 pairs"),
        "{}",
        text(&o)
    );
    assert!(out.join("calibrate.md").is_file() && out.join("calibrate.json").is_file());
}
