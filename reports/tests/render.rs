//! Renders reports from synthetic and partial inputs and checks what a reader relies on: every
//! section present or marked missing, every chart kind drawn, no external resources, escaping.

use std::path::Path;

use rpcbench_reports::criterion::read_criterion_dir;
use rpcbench_reports::html::external_references;
use rpcbench_reports::summary::Summary;
use rpcbench_reports::verdict::ClaimStatus;
use rpcbench_reports::{ReportError, render_criterion_only, render_run, synthetic, write_json_atomic};

fn write_run(dir: &Path, run: &rpcbench_reports::RunResults) {
    write_json_atomic(&dir.join("results.json"), run).unwrap();
}

fn write_criterion(dir: &Path) {
    synthetic::write_criterion_dir(
        dir,
        &synthetic::codec_benches(),
        Some(&synthetic::encoded_sizes()),
    )
    .unwrap();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

const ALL_KINDS: [&str; 11] = [
    "headline",
    "effects",
    "codec-time",
    "codec-mbps",
    "encoded-size",
    "spectrum",
    "latency-throughput",
    "throughput",
    "server-cpu",
    "client-cpu",
    "wire-bytes",
];

#[test]
fn full_synthetic_run_renders_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let crit = dir.path().join("criterion");
    write_run(dir.path(), &synthetic::run());
    write_criterion(&crit);

    let out = render_run(dir.path(), None).unwrap();
    // End to end about 2x on every workload; serialization alone reaches 8x for large meshes.
    assert_eq!(out.status, ClaimStatus::False, "{}", out.sentence);
    assert!(out.missing.is_empty(), "{:?}", out.missing);
    assert!(
        out.sentence
            .starts_with("False: not for echo mesh 16KiB (at best "),
        "{}",
        out.sentence
    );
    assert!(
        out.sentence
            .contains("serialization alone reaches 8x for float-heavy (mesh) payloads of 256KiB and more"),
        "{}",
        out.sentence
    );

    let html = read(&out.index_html);
    for kind in ALL_KINDS {
        assert!(
            html.contains(&format!("data-chart-kind=\"{kind}\"")),
            "chart kind {kind} missing"
        );
    }
    for heading in [
        "1. Verdict",
        "2. Where the difference comes from",
        "3. Serialization",
        "4. Latency",
        "5. Throughput",
        "6. Method",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    assert!(html.contains("99.99%"), "spectrum tick");
    assert!(html.contains("Physical floor"));
    assert!(!html.contains("Missing or partial inputs"));
    assert!(
        html.contains("total 1.") && html.contains("= encoding"),
        "effect chain"
    );

    // One self-contained file: nothing external, not even a namespace URL.
    assert_eq!(external_references(&html), Vec::<String>::new());
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("http:") && !lower.contains("https:"),
        "no http(s) reference at all"
    );

    let summary: Summary = serde_json::from_str(&read(&out.summary_json)).unwrap();
    let verdict = summary.verdict.unwrap();
    assert_eq!(verdict.status, ClaimStatus::False);
    assert_eq!(verdict.workloads.len(), 2);
    assert!(verdict.decode.unwrap().largest.value >= 8.0);
    assert!(!verdict.end_to_end.is_empty());
    assert_eq!(summary.inputs.scenario_name.as_deref(), Some("synthetic"));
    // The total, its three steps, and every other single-factor pair (two of them the JSON
    // library's steps).
    assert_eq!(summary.effects.len(), 10);
    assert!(
        summary
            .effects
            .iter()
            .any(|e| e.name == "JSON library (REST, HTTP/1.1, pbjson → json)")
    );

    let md = read(&out.summary_md);
    assert!(md.contains("— False: not for echo mesh 16KiB"), "{md}");
    assert!(md.contains("| headline | ratio | spread | source point |"));
    assert!(md.contains("95% CI of 3×3 repetitions"), "{md}");
}

#[test]
fn criterion_only_renders_with_missing_note() {
    let dir = tempfile::tempdir().unwrap();
    let crit = dir.path().join("crit");
    write_criterion(&crit);
    let out_dir = dir.path().join("out");
    let out = render_criterion_only(&crit, &out_dir).unwrap();
    assert_eq!(out.status, ClaimStatus::NotDetermined);
    assert!(
        out.sentence.contains("no workload has end-to-end speed ratios"),
        "{}",
        out.sentence
    );
    let html = read(&out.index_html);
    assert!(html.contains("Missing or partial inputs"));
    assert!(html.contains("no results.json"));
    assert!(html.contains("No load results: latency was not measured."));
    assert!(html.contains("data-chart-kind=\"codec-time\""));
    assert!(!html.contains("data-chart-kind=\"spectrum\""));
    assert!(read(&out.summary_md).contains("[!WARNING]"));
}

#[test]
fn run_without_criterion_renders_with_missing_note() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &synthetic::run());
    let out = render_run(dir.path(), None).unwrap();
    assert_eq!(out.status, ClaimStatus::False, "{}", out.sentence);
    assert!(
        out.sentence.starts_with("False: not for ")
            && out.sentence.contains("serialization was not measured"),
        "{}",
        out.sentence
    );
    let html = read(&out.index_html);
    assert!(html.contains("no criterion directory given"));
    assert!(html.contains("No criterion results were given: serialization was not measured."));
    assert!(html.contains("data-chart-kind=\"spectrum\""));
}

#[test]
fn incomplete_run_with_failed_points_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = synthetic::run();
    run.complete = false;
    run.errors.push("server grpc-json-h2 exited with status 1".into());
    run.points
        .retain(|p| p.variant != rpcbench_model::Variant::GrpcJsonH2);
    run.points[0].error = Some("connection refused".into());
    let failed_id = run.points[0].id.clone();
    write_run(dir.path(), &run);
    let out = render_run(dir.path(), None).unwrap();
    let html = read(&out.index_html);
    assert!(html.contains("the run is incomplete"));
    assert!(html.contains(&failed_id.replace('/', "&#x2f;")), "{failed_id}");
    assert!(html.contains("no usable load points for grpc-json-h2"));
    assert!(html.contains("failed: connection refused"));
}

#[test]
fn strings_from_data_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = synthetic::run();
    run.scenario_name = "<script>alert(1)</script>".into();
    run.provenance.hostname = Some("\"><img src=x onerror=alert(1)>".into());
    write_run(dir.path(), &run);
    let out = render_run(dir.path(), None).unwrap();
    let html = read(&out.index_html);
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the report's own inline script"
    );
}

#[test]
fn nothing_to_report_is_an_error_and_corrupt_results_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        render_run(dir.path(), None),
        Err(ReportError::NothingToReport { .. })
    ));
    std::fs::write(
        dir.path().join("results.json"),
        "{ \"schema_version\": 1, \"points\": [",
    )
    .unwrap();
    let err = render_run(dir.path(), None).unwrap_err().to_string();
    assert!(err.contains("results.json"), "{err}");
}

#[test]
fn real_criterion_files_are_read_and_bad_ones_reported() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion");
    let data = read_criterion_dir(&fixtures).unwrap();
    let ids: Vec<&str> = data.benches.iter().map(|b| b.full_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "codec/decode/json/mesh/1KiB",
            "codec/decode/protobuf/mesh/1KiB",
            "codec/encode/json/mesh/1KiB",
            "codec/encode/protobuf/mesh/1KiB",
            "rtt/grpc-proto-h2/echo/small/128B",
        ]
    );
    assert_eq!(data.benches[0].throughput_bytes, Some(1024));
    assert_eq!(
        data.benches[0]
            .estimates
            .median
            .confidence_interval
            .confidence_level,
        0.95
    );
    assert_eq!(data.problems.len(), 1, "{:?}", data.problems);
    assert!(
        data.problems[0].contains("codec/decode/json/small/128B"),
        "{:?}",
        data.problems
    );

    // And they render: ratios from real files, the corrupt one listed as unusable.
    let out_dir = tempfile::tempdir().unwrap();
    let out = render_criterion_only(&fixtures, out_dir.path()).unwrap();
    assert!(out.sentence.contains("serialization alone"), "{}", out.sentence);
    assert!(
        out.missing.iter().any(|m| m.contains("unusable criterion file")),
        "{:?}",
        out.missing
    );
}

#[test]
fn summary_json_reads_back_through_the_schema_reader() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &synthetic::run());
    let out = render_run(dir.path(), None).unwrap();
    let summary: Summary = rpcbench_reports::read_json(&out.summary_json).unwrap();
    assert_eq!(summary.verdict.unwrap().status, out.status);
    let md = read(&out.summary_md);
    assert!(
        md.contains("### Where the difference comes from (echo small 1KiB)"),
        "{md}"
    );
    assert!(md.contains("| p50 latency at 2000 req/s |"), "{md}");
}

/// The run's own serialization phase (`DIR/criterion`) is read first; a fuller `cargo bench`
/// directory adds only the cases the run did not measure, and the report says so.
#[test]
fn the_runs_own_codec_results_come_first_and_a_fuller_bench_adds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &synthetic::run());
    let all = synthetic::codec_benches();
    let (own, _) = all.split_at(all.len() / 3);
    // The run measured a third of the cases, with a different time than the fuller bench.
    let mut own = own.to_vec();
    for b in &mut own {
        b.estimates.median.point_estimate *= 1.5;
    }
    synthetic::write_criterion_dir(&dir.path().join("criterion"), &own, None).unwrap();
    let fuller = dir.path().join("fuller");
    synthetic::write_criterion_dir(&fuller, &all, Some(&synthetic::encoded_sizes())).unwrap();

    let inputs = rpcbench_reports::render::load_run_inputs(dir.path(), Some(&fuller)).unwrap();
    let c = inputs.criterion.as_ref().unwrap();
    assert_eq!(c.benches.len(), all.len());
    for b in &own {
        let read = c.benches.iter().find(|x| x.full_id == b.full_id).unwrap();
        let (got, want) = (
            read.estimates.median.point_estimate,
            b.estimates.median.point_estimate,
        );
        assert!((got - want).abs() < 1e-9 * want, "{}: {got} vs {want}", b.full_id);
    }
    assert!(c.encoded_sizes.is_some(), "sizes come from the fuller bench");
    let note = format!(
        "serialization: {} cases measured in this run; {} more read from {}",
        own.len(),
        all.len() - own.len(),
        fuller.display()
    );
    assert!(
        inputs.notes.iter().any(|n| n.starts_with(&note)),
        "{:?}",
        inputs.notes
    );

    // Without the run's own, the fuller bench alone, said so.
    std::fs::remove_dir_all(dir.path().join("criterion")).unwrap();
    let inputs = rpcbench_reports::render::load_run_inputs(dir.path(), Some(&fuller)).unwrap();
    assert_eq!(inputs.criterion.as_ref().unwrap().benches.len(), all.len());
    assert!(
        inputs
            .notes
            .iter()
            .any(|n| n.contains("not measured in this run")),
        "{:?}",
        inputs.notes
    );
}
