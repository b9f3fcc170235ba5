use std::path::Path;

use super::*;
use crate::schema::{PointKind, RunResults};
use crate::synthetic::{self, PointSpec};

fn opts() -> CompareOptions {
    CompareOptions::default()
}

fn sampled(id: &str, better: Better, base: &[f64], current: &[f64]) -> MetricInput {
    MetricInput {
        id: id.into(),
        family: Family::EndToEnd,
        label: id.into(),
        unit: match better {
            Better::Lower => Unit::Nanoseconds,
            Better::Higher => Unit::RequestsPerSecond,
        },
        better,
        base: base.to_vec(),
        current: current.to_vec(),
        notes: vec![],
    }
}

fn exact(id: &str, base: f64, current: f64) -> MetricInput {
    MetricInput {
        id: id.into(),
        family: Family::Instructions,
        label: id.into(),
        unit: Unit::Instructions,
        better: Better::Lower,
        base: vec![base],
        current: vec![current],
        notes: vec![],
    }
}

fn decision_of(out: &[MetricComparison], id: &str) -> Decision {
    out.iter().find(|m| m.id == id).unwrap().decision
}

/// Deterministic noise: `n` values around `centre` with relative spread `cv` (uniform).
fn noisy(centre: f64, cv: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            centre * (1.0 + cv * (2.0 * u - 1.0) * 3f64.sqrt())
        })
        .collect()
}

#[test]
fn clear_regression_is_flagged() {
    let out = decide(
        vec![sampled(
            "p99",
            Better::Lower,
            &[100.0, 101.0, 99.0, 100.0, 102.0],
            &[120.0, 121.0, 119.0, 122.0, 120.0],
        )],
        &opts(),
    );
    let m = &out[0];
    assert_eq!(m.decision, Decision::Regressed, "{m:?}");
    assert!((m.change_pct - 19.9).abs() < 0.5, "{m:?}");
    assert!(m.ci_pct[0] > 5.0 && m.ci_pct[1] > m.ci_pct[0]);
    assert!(m.reason.contains("beyond the 5% threshold"), "{}", m.reason);
}

#[test]
fn clear_improvement_is_flagged_in_the_metric_direction() {
    // Throughput: higher is better, so +20% is an improvement and −20% a regression.
    let base = [1000.0, 1010.0, 990.0, 1005.0, 995.0];
    let up: Vec<f64> = base.iter().map(|v| v * 1.2).collect();
    let down: Vec<f64> = base.iter().map(|v| v * 0.8).collect();
    let out = decide(
        vec![
            sampled("up", Better::Higher, &base, &up),
            sampled("down", Better::Higher, &base, &down),
        ],
        &opts(),
    );
    assert_eq!(decision_of(&out, "up"), Decision::Improved);
    assert_eq!(decision_of(&out, "down"), Decision::Regressed);
    // Regressions are listed first.
    assert_eq!(out[0].id, "down");
}

#[test]
fn noise_only_is_unchanged() {
    let inputs: Vec<MetricInput> = (0..40)
        .map(|i| {
            sampled(
                &format!("m{i}"),
                Better::Lower,
                &noisy(1000.0, 0.15, 4, i),
                &noisy(1000.0, 0.15, 4, 1000 + i),
            )
        })
        .collect();
    let out = decide(inputs, &opts());
    assert!(out.iter().all(|m| m.decision == Decision::Unchanged), "{out:#?}");
    assert!(out.iter().all(|m| m.ci_level == Some(1.0 - 0.05 / 40.0)));
}

#[test]
fn simulated_a_a_comparisons_stay_under_alpha() {
    // 300 A/A comparisons of 30 metrics each, 3 replicates per side with 10% noise: the
    // family-wise rule must fail fewer than α of them (Holm controls the family-wise error).
    let mut failed = 0;
    for k in 0..300u64 {
        let inputs: Vec<MetricInput> = (0..30u64)
            .map(|i| {
                sampled(
                    &format!("m{i}"),
                    if i % 2 == 0 { Better::Lower } else { Better::Higher },
                    &noisy(500.0, 0.10, 3, k * 1000 + i),
                    &noisy(500.0, 0.10, 3, k * 1000 + 500 + i),
                )
            })
            .collect();
        if decide(inputs, &opts())
            .iter()
            .any(|m| m.decision == Decision::Regressed)
        {
            failed += 1;
        }
    }
    assert!(failed <= 15, "{failed} of 300 A/A comparisons failed");
}

#[test]
fn significant_change_below_threshold_is_unchanged() {
    let base = [100.0, 100.1, 99.9, 100.05, 99.95];
    let current: Vec<f64> = base.iter().map(|v| v * 1.03).collect();
    let out = decide(vec![sampled("p50", Better::Lower, &base, &current)], &opts());
    let m = &out[0];
    assert!(m.p_holm.unwrap() < 1e-6, "{m:?}");
    assert_eq!(m.decision, Decision::Unchanged);
    assert!(
        m.reason.contains("reaches within the 5% threshold"),
        "{}",
        m.reason
    );
    // With a 2% threshold the same data is a regression.
    let two = CompareOptions::new(2.0, 0.05).unwrap();
    let out = decide(vec![sampled("p50", Better::Lower, &base, &current)], &two);
    assert_eq!(out[0].decision, Decision::Regressed);
}

#[test]
fn multiple_comparison_correction_matters() {
    // Alone, a +30% change with p ≈ 0.001 is a regression; among 100 unchanged metrics the
    // Holm correction (p × 101 > α) makes it insignificant.
    let base = [100.0, 110.0, 90.0, 105.0, 95.0];
    let current: Vec<f64> = base.iter().map(|v| v * 1.3).collect();
    let suspect = sampled("suspect", Better::Lower, &base, &current);
    let alone = decide(vec![suspect.clone()], &opts());
    assert_eq!(alone[0].decision, Decision::Regressed, "{:?}", alone[0]);
    let raw_p = alone[0].p_value.unwrap();
    assert!(raw_p < 0.05 / 2.0 && raw_p * 101.0 > 0.05, "p = {raw_p}");

    let mut many = vec![suspect];
    for i in 0..100 {
        let same = noisy(100.0, 0.05, 5, i);
        many.push(sampled(&format!("null{i}"), Better::Lower, &same, &same));
    }
    let out = decide(many, &opts());
    let m = out.iter().find(|m| m.id == "suspect").unwrap();
    assert_eq!(m.decision, Decision::Unchanged, "{m:?}");
    assert!(m.p_holm.unwrap() > 0.05);
    assert!(m.reason.contains("not significant"), "{}", m.reason);
    // Its simultaneous interval is wider than the lone one.
    assert!(m.ci_pct[0] < alone[0].ci_pct[0]);
}

#[test]
fn instruction_counts_are_exact_and_thresholded() {
    let out = decide(
        vec![
            exact("same", 1_000_000.0, 1_000_000.0),
            exact("slower", 1_000_000.0, 1_100_000.0),
            exact("slightly", 1_000_000.0, 1_030_000.0),
            exact("faster", 1_000_000.0, 900_000.0),
        ],
        &opts(),
    );
    assert_eq!(decision_of(&out, "same"), Decision::Unchanged);
    assert_eq!(decision_of(&out, "slower"), Decision::Regressed);
    assert_eq!(decision_of(&out, "slightly"), Decision::Unchanged);
    assert_eq!(decision_of(&out, "faster"), Decision::Improved);
    let same = out.iter().find(|m| m.id == "same").unwrap();
    assert_eq!(same.reason, "identical instruction counts");
    assert!(same.p_holm.is_none() && same.ci_level.is_none());
    // Exact metrics do not enlarge the Holm family of sampled ones.
    let mixed = decide(
        vec![
            exact("a", 1.0, 1.0),
            sampled("b", Better::Lower, &[1.0, 1.1], &[1.0, 1.1]),
        ],
        &opts(),
    );
    assert_eq!(mixed.iter().find(|m| m.id == "b").unwrap().ci_level, Some(0.95));
}

#[test]
fn constant_values_compare_exactly() {
    // Bytes per request are the same in every replicate: a difference is exact, not noise.
    let out = decide(
        vec![
            sampled(
                "bytes",
                Better::Lower,
                &[500.0, 500.0, 500.0],
                &[560.0, 560.0, 560.0],
            ),
            sampled("same", Better::Lower, &[500.0, 500.0], &[500.0, 500.0]),
        ],
        &opts(),
    );
    assert_eq!(decision_of(&out, "bytes"), Decision::Regressed);
    assert_eq!(decision_of(&out, "same"), Decision::Unchanged);
}

// ---------------------------------------------------------------------------------------------
// Result sets on disk.

/// A run of two variants × one workload × (max, fixed rate) × `reps`, with every latency and
/// CPU figure scaled by `scale` (throughput by 1/scale) and a little per-repetition noise.
fn small_run(reps: u32, scale: f64, seed: u64) -> RunResults {
    let mut points = Vec::new();
    for rep in 0..reps {
        for (vi, variant) in ["rest-json-h1", "grpc-proto-h2"].into_iter().enumerate() {
            let jitter = noisy(1.0, 0.01, 1, seed * 100 + rep as u64 * 10 + vi as u64)[0];
            for kind in [
                PointKind::MaxThroughput,
                PointKind::FixedRate { rate_rps: 2000.0 },
            ] {
                let p50 = 50_000.0 * scale * jitter;
                let mut spec = PointSpec::new(variant, "small", 256, kind, p50);
                spec.repetition = rep;
                spec.achieved_rps = 20_000.0 / (scale * jitter);
                spec.request_bytes = 400.0;
                spec.response_bytes = 380.0;
                points.push(synthetic::point(&spec));
            }
        }
    }
    let mut r = synthetic::run();
    r.points = points;
    r
}

fn write_run(dir: &Path, run: &RunResults) {
    crate::schema::write_json_atomic(&dir.join("results.json"), run).unwrap();
}

fn instructions(scale_json_encode: f64) -> InstructionCounts {
    let mut c = InstructionCounts::new("valgrind-3.19.0".into(), false);
    for (id, n) in [
        ("codec/encode/json/mesh/16KiB", 1_234_567u64),
        ("codec/encode/protobuf/mesh/16KiB", 287_416),
        ("codec/decode/json/mesh/16KiB", 11_008_550),
    ] {
        let scale = if id.starts_with("codec/encode/json") {
            scale_json_encode
        } else {
            1.0
        };
        c.cases.push(InstructionCase {
            id: id.into(),
            iterations: 10,
            instructions: (n as f64 * 10.0 * scale).round() as u64,
            encoded_bytes: 16_000,
        });
    }
    c
}

fn load(side: Side, p: &Path) -> Result<ResultSet, CompareError> {
    load_result_set(side, p.to_str().unwrap())
}

#[test]
fn run_directories_compare_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, slow) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("slow"),
    );
    write_run(&a, &small_run(3, 1.0, 1));
    write_run(&b, &small_run(3, 1.0, 2));
    write_run(&slow, &small_run(3, 1.5, 3));
    let base = load(Side::Base, &a).unwrap();
    let same = compare(&base, &load(Side::Current, &b).unwrap(), &opts()).unwrap();
    assert_eq!(
        same.verdict,
        Verdict::NoRegression,
        "{}",
        comparison_markdown(&same)
    );
    // 2 variants × (max: throughput, cpu, bytes + rate: p50, p99, cpu)
    assert_eq!(same.metrics.len(), 12);
    assert_eq!(same.tested, 12);
    let worse = compare(&base, &load(Side::Current, &slow).unwrap(), &opts()).unwrap();
    assert_eq!(worse.verdict, Verdict::Regression);
    let ids: Vec<&str> = worse
        .flagged(Decision::Regressed)
        .map(|m| m.id.as_str())
        .collect();
    assert!(
        ids.contains(&"e2e/rest-json-h1/echo/small/256B/max/max_throughput"),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"e2e/grpc-proto-h2/echo/small/256B/rate/server_cpu"),
        "{ids:?}"
    );
    // Bytes did not change.
    assert!(!ids.iter().any(|i| i.ends_with("/wire_bytes")));

    let out = dir.path().join("out");
    let (md, json) = write_comparison(&out, &worse).unwrap();
    let text = std::fs::read_to_string(md).unwrap();
    assert!(text.contains("❌ regression") && text.contains("Holm"), "{text}");
    let back: Comparison = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!((back.verdict, back.regressed), (worse.verdict, worse.regressed));
    let same_bytes = worse
        .metrics
        .iter()
        .find(|m| m.id.ends_with("max/wire_bytes"))
        .unwrap();
    assert_eq!(same_bytes.reason, "identical values in every replicate");
}

#[test]
fn a_directory_of_runs_pools_them_as_replicates() {
    let dir = tempfile::tempdir().unwrap();
    for (side, scale) in [("base", 1.0), ("head", 1.0)] {
        for i in 0..3 {
            write_run(
                &dir.path().join(side).join(format!("run-{i}")),
                &small_run(1, scale, i + if side == "base" { 0 } else { 10 }),
            );
        }
        crate::schema::write_json_atomic(
            &dir.path().join(side).join(INSTRUCTIONS_FILE),
            &instructions(if side == "base" { 1.0 } else { 1.1 }),
        )
        .unwrap();
    }
    let base = load(Side::Base, &dir.path().join("base")).unwrap();
    assert_eq!((base.runs.len(), base.instructions.len()), (3, 1));
    let c = compare(
        &base,
        &load(Side::Current, &dir.path().join("head")).unwrap(),
        &opts(),
    )
    .unwrap();
    assert!(
        c.metrics
            .iter()
            .all(|m| m.family != Family::EndToEnd || m.base.n == 3)
    );
    let regressed: Vec<&str> = c.flagged(Decision::Regressed).map(|m| m.id.as_str()).collect();
    assert_eq!(regressed, vec!["instructions/codec/encode/json/mesh/16KiB"]);
    assert_eq!(c.verdict.exit_code(), 1);
}

#[test]
fn missing_input_is_unusable() {
    let err = load(Side::Base, Path::new("/nonexistent/run")).unwrap_err();
    assert!(matches!(err, CompareError::Missing { .. }));
    assert!(err.to_string().contains("BASE /nonexistent/run"), "{err}");
}

#[test]
fn corrupt_json_is_unusable_and_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.json"), "{ \"points\": [").unwrap();
    let err = load(Side::Current, dir.path()).unwrap_err();
    assert!(matches!(err, CompareError::Schema { .. }), "{err}");
    assert!(err.to_string().contains("results.json"), "{err}");
    assert!(err.to_string().starts_with("CURRENT"), "{err}");
    // Valid JSON of the wrong shape.
    std::fs::write(
        dir.path().join("results.json"),
        format!(r#"{{"schema_version": {SCHEMA_VERSION}, "points": 3}}"#),
    )
    .unwrap();
    let err = load(Side::Current, dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a valid results file"), "{err}");
    // JSON that is neither kind.
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"hello": 1}"#).unwrap();
    let err = load(Side::Base, &other).unwrap_err();
    assert!(err.to_string().contains("neither"), "{err}");
}

#[test]
fn wrong_schema_version_is_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = small_run(2, 1.0, 1);
    run.schema_version = 99;
    write_run(dir.path(), &run);
    let err = load(Side::Base, dir.path()).unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
    let mut counts = instructions(1.0);
    counts.schema_version = 0;
    let file = dir.path().join("i.json");
    crate::schema::write_json_atomic(&file, &counts).unwrap();
    let err = load(Side::Base, &file).unwrap_err();
    assert!(err.to_string().contains("schema version 0"), "{err}");
}

#[test]
fn mismatched_workloads_are_unusable_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    write_run(&a, &small_run(2, 1.0, 1));
    let mut other = small_run(2, 1.0, 2);
    for p in &mut other.points {
        if p.variant == rpcbench_model::Variant::GrpcProtoH2 {
            p.workload.shape = rpcbench_model::Shape::Mesh;
        }
    }
    write_run(&b, &other);
    let err = compare(
        &load(Side::Base, &a).unwrap(),
        &load(Side::Current, &b).unwrap(),
        &opts(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CompareError::Mismatch(_)), "{text}");
    assert!(
        text.contains("only in BASE: e2e/grpc-proto-h2/echo/small/256B/max"),
        "{text}"
    );
    assert!(
        text.contains("only in CURRENT: e2e/grpc-proto-h2/echo/mesh/256B/max"),
        "{text}"
    );

    // Same workloads, different load settings.
    let mut conns = small_run(2, 1.0, 2);
    for p in &mut conns.points {
        if let crate::schema::LoadMode::Closed { connections, .. } = &mut p.load.config.mode {
            *connections = 64;
        }
    }
    write_run(&b, &conns);
    let err = compare(
        &load(Side::Base, &a).unwrap(),
        &load(Side::Current, &b).unwrap(),
        &opts(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("measured differently"), "{err}");

    // Different kinds of evidence.
    let i = dir.path().join("i.json");
    crate::schema::write_json_atomic(&i, &instructions(1.0)).unwrap();
    let err = compare(
        &load(Side::Base, &a).unwrap(),
        &load(Side::Current, &i).unwrap(),
        &opts(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("CURRENT has instruction counts but BASE has none"),
        "{err}"
    );

    // Different instruction cases.
    let mut fewer = instructions(1.0);
    fewer.cases.pop();
    let j = dir.path().join("j.json");
    crate::schema::write_json_atomic(&j, &fewer).unwrap();
    let err = compare(
        &load(Side::Base, &i).unwrap(),
        &load(Side::Current, &j).unwrap(),
        &opts(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("codec/decode/json/mesh/16KiB"), "{err}");
}

#[test]
fn one_replicate_per_side_is_not_enough() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_run(&a, &small_run(1, 1.0, 1));
    write_run(&b, &small_run(1, 1.0, 2));
    let err = compare(
        &load(Side::Base, &a).unwrap(),
        &load(Side::Current, &b).unwrap(),
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(err, CompareError::Insufficient(_)), "{err}");
    assert!(err.to_string().contains("at least 2 replicates"), "{err}");

    // A failed point leaves one usable replicate: named, with why.
    let mut failed = small_run(2, 1.0, 1);
    failed.points[0].error = Some("server died".into());
    write_run(&a, &failed);
    write_run(&b, &small_run(2, 1.0, 2));
    let err = compare(
        &load(Side::Base, &a).unwrap(),
        &load(Side::Current, &b).unwrap(),
        &opts(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("server died"), "{err}");
}

#[test]
fn empty_directory_is_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(Side::Base, dir.path()).unwrap_err();
    assert!(err.to_string().contains("holds no results.json"), "{err}");
}

/// Writes a criterion benchmark as `--save-baseline NAME` leaves it (`<id>/NAME/…`).
fn write_criterion_bench(root: &Path, full_id: &str, baseline: &str, per_iter_ns: &[f64]) {
    let d = root.join(full_id).join(baseline);
    let meta = serde_json::json!({"full_id": full_id, "directory_name": full_id});
    let e = |v: f64| {
        serde_json::json!({"confidence_interval": {"confidence_level": 0.95, "lower_bound": v * 0.99,
        "upper_bound": v * 1.01}, "point_estimate": v, "standard_error": v * 0.005})
    };
    let m = crate::stats::mean(per_iter_ns);
    let est = serde_json::json!({"mean": e(m), "median": e(m)});
    let iters: Vec<f64> = (1..=per_iter_ns.len()).map(|i| i as f64).collect();
    let times: Vec<f64> = per_iter_ns.iter().zip(&iters).map(|(t, n)| t * n).collect();
    let sample = serde_json::json!({"sampling_mode": "Linear", "iters": iters, "times": times});
    crate::schema::write_json_atomic(&d.join("benchmark.json"), &meta).unwrap();
    crate::schema::write_json_atomic(&d.join("estimates.json"), &est).unwrap();
    crate::schema::write_json_atomic(&d.join("sample.json"), &sample).unwrap();
}

#[test]
fn criterion_named_baselines_compare_raw_samples() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("criterion");
    let fast = noisy(10_000.0, 0.02, 50, 1);
    let also_fast = noisy(10_000.0, 0.02, 50, 2);
    let slow = noisy(11_500.0, 0.02, 50, 3);
    write_criterion_bench(&root, "codec/encode/json/mesh/16KiB", "main", &fast);
    write_criterion_bench(&root, "codec/encode/json/mesh/16KiB", "pr", &slow);
    write_criterion_bench(&root, "codec/decode/json/mesh/16KiB", "main", &fast);
    write_criterion_bench(&root, "codec/decode/json/mesh/16KiB", "pr", &also_fast);
    let spec = |name: &str| format!("{}#{name}", root.display());
    let base = load_result_set(Side::Base, &spec("main")).unwrap();
    let current = load_result_set(Side::Current, &spec("pr")).unwrap();
    let c = compare(&base, &current, &opts()).unwrap();
    let regressed: Vec<&str> = c.flagged(Decision::Regressed).map(|m| m.id.as_str()).collect();
    assert_eq!(regressed, vec!["time/codec/encode/json/mesh/16KiB"]);
    assert_eq!(
        c.metrics
            .iter()
            .find(|m| m.decision == Decision::Unchanged)
            .unwrap()
            .base
            .n,
        50
    );

    // A corrupt sample names its file.
    std::fs::write(root.join("codec/decode/json/mesh/16KiB/pr/sample.json"), "{").unwrap();
    let err = load_result_set(Side::Current, &spec("pr")).unwrap_err();
    assert!(err.to_string().contains("sample.json"), "{err}");
    // An unknown baseline name.
    let err = load_result_set(Side::Current, &spec("nope")).unwrap_err();
    assert!(err.to_string().contains("baseline `nope`"), "{err}");
}

#[test]
fn calibration_counts_false_positives_over_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let sets: Vec<ResultSet> = (0..4)
        .map(|i| {
            let d = dir.path().join(format!("s{i}"));
            write_run(&d, &small_run(3, 1.0, i));
            load(Side::Base, &d).unwrap()
        })
        .collect();
    let cal = calibrate(&sets, &opts()).unwrap();
    assert_eq!((cal.pairs, cal.consecutive_pairs), (6, 2));
    assert_eq!(cal.pairs_with_regression, 0, "{}", calibration_markdown(&cal));
    assert_eq!(cal.metrics.len(), 12);
    assert!(cal.metrics.iter().all(|m| m.median_detectable_pct.is_some()));
    let md = calibration_markdown(&cal);
    assert!(
        md.contains("the gate failed in 0 of 2.**") && md.contains("failed in 0 of 6"),
        "{md}"
    );
    assert!(calibrate(&sets[..1], &opts()).is_err());
}

#[test]
fn options_are_validated() {
    assert!(CompareOptions::new(5.0, 0.05).is_ok());
    assert!(CompareOptions::new(-1.0, 0.05).is_err());
    assert!(CompareOptions::new(5.0, 0.0).is_err());
    assert!(CompareOptions::new(f64::NAN, 0.05).is_err());
}
