//! `rpcbench run` end to end with a tiny scenario: results validate, nothing is left running,
//! and a server killed mid-run costs only its own points.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rpcbench_reports::{PointKind, RunResults, read_json};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

const SCENARIO: &str = r#"
name = "test"
variants = ["rest-json-h1", "grpc-proto-h2"]
repetitions = 1
warmup = "100ms"
duration = "400ms"
timeout = "5s"
connections = 2
check_every = 4
measure_floor = true

[points]
max_throughput = true
common_rate_fractions = [0.5]
fixed_rates = [200.0]

[[workloads]]
rpc = "echo"
shape = "small"
size = 256

[[workloads]]
rpc = "upload"
shape = "logs"
size = 65536
"#;

/// Processes (other than us) whose environment carries `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(env) = std::fs::read(entry.path().join("environ"))
            && env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

fn run_dir(output: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(output)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "one directory per run: {dirs:?}");
    dirs.pop().unwrap()
}

#[test]
fn a_run_writes_valid_results_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let output = dir.path().join("runs");
    let marker = format!("RPCBENCH_TEST_MARK=run-{}", std::process::id());
    let (k, v) = marker.split_once('=').unwrap();
    let out = Command::new(exe())
        .args([
            "run",
            "--scenario",
            scenario.to_str().unwrap(),
            "--output-dir",
            output.to_str().unwrap(),
        ])
        .env(k, v)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(processes_with(&marker).is_empty(), "servers left running");

    let run = run_dir(&output);
    let (_, schema) = rpcbench_reports::json_schemas()
        .into_iter()
        .find(|(n, _)| n.starts_with("run-results"))
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&doc)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "results.json does not match its schema: {errors:?}"
    );
    let results: RunResults = read_json(&run.join("results.json")).unwrap();
    assert!(results.complete, "{:?}", results.errors);
    // 2 variants x 2 workloads x (max + common rate + fixed rate)
    assert_eq!(results.points.len(), 12);
    assert!(results.floor.as_ref().unwrap().tcp_ping_pong.count >= 20_000);
    assert!(results.provenance.finished_at.is_some() && results.provenance.rustc.is_some());
    for p in &results.points {
        assert!(p.error.is_none(), "{}: {:?}", p.id, p.error);
        assert!(p.load.summary.ok > 0, "{}", p.id);
        assert!(p.load.summary.errors.is_empty(), "{}", p.id);
        assert!(p.server.cpu_ns_per_request.unwrap() > 0.0, "{}", p.id);
        assert!(p.server.peak_rss_bytes.unwrap() > 1 << 20, "{}", p.id);
        assert!(p.load.summary.wire.is_some(), "{}", p.id);
        assert!(run.join(p.hgrm_file.as_ref().unwrap()).is_file(), "{}", p.id);
    }
    // The serialization phase measured every codec case of the workloads' payloads, checked,
    // into the run directory, and the report's serialization section comes from it.
    let criterion = rpcbench_reports::criterion::read_criterion_dir(&run.join("criterion")).unwrap();
    assert!(criterion.problems.is_empty(), "{:?}", criterion.problems);
    let payloads = [
        (rpcbench_model::Shape::Small, rpcbench_model::Size(256)),
        (rpcbench_model::Shape::Logs, rpcbench_model::Size(65536)),
    ];
    let expected: Vec<String> = rpcbench::codec_matrix::cases_for(&payloads)
        .iter()
        .map(|c| c.id())
        .collect();
    let measured: Vec<&str> = criterion.benches.iter().map(|b| b.full_id.as_str()).collect();
    for id in &expected {
        assert!(measured.contains(&id.as_str()), "{id} not measured: {measured:?}");
    }
    assert_eq!(criterion.encoded_sizes.as_ref().map(|s| s.rows.len()), Some(2));
    let summary = std::fs::read_to_string(run.join("summary.md")).unwrap();
    assert!(!summary.contains("serialization was not measured"), "{summary}");
    assert!(summary.contains("serialization alone"), "{summary}");

    // Open-loop rates are equal for every variant of a workload.
    for w in ["echo", "upload"] {
        let rates: Vec<f64> = results
            .points
            .iter()
            .filter(|p| p.workload.rpc.name() == w)
            .filter_map(|p| match p.point {
                PointKind::FixedRate { rate_rps } => Some(rate_rps),
                _ => None,
            })
            .collect();
        assert_eq!(rates.len(), 4);
        let mut distinct = rates.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 2, "{w}: {rates:?}");
    }
}

#[test]
fn a_server_killed_mid_run_keeps_measured_points_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    // Longer points, so there is time to kill the second variant's server.
    std::fs::write(
        &scenario,
        SCENARIO
            .replace("duration = \"400ms\"", "duration = \"1500ms\"")
            .replace(
                "measure_floor = true",
                "measure_floor = true\nserialization = false",
            ),
    )
    .unwrap();
    let output = dir.path().join("runs");
    let marker = format!("RPCBENCH_TEST_MARK=kill-{}", std::process::id());
    let (k, v) = marker.split_once('=').unwrap();
    let mut child = Command::new(exe())
        .args([
            "run",
            "--scenario",
            scenario.to_str().unwrap(),
            "--output-dir",
            output.to_str().unwrap(),
            "--quiet",
        ])
        .env(k, v)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first point (rest-json-h1) to land, then kill the gRPC server.
    // Generous: the run first measures the loopback floor and starts its servers, and the
    // test binaries run in parallel on 2 cores.
    let deadline = Instant::now() + Duration::from_secs(120);
    let results_path = loop {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no point was written within 120 s");
        }
        if let Ok(entries) = std::fs::read_dir(&output)
            && let Some(run) = entries.flatten().next()
        {
            let path = run.path().join("results.json");
            if let Ok(r) = read_json::<RunResults>(&path)
                && !r.points.is_empty()
            {
                break path;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let grpc: Vec<u32> = processes_with(&marker)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("grpc-proto-h2"))
        })
        .collect();
    assert_eq!(grpc.len(), 1, "the grpc-proto-h2 server process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(grpc[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(processes_with(&marker).is_empty(), "servers left running");
    let results: RunResults = read_json(&results_path).unwrap();
    assert!(!results.complete);
    let rest_ok = results
        .points
        .iter()
        .filter(|p| p.variant == rpcbench_servers::Variant::RestJsonH1 && p.error.is_none())
        .count();
    assert_eq!(
        rest_ok, 6,
        "every rest-json-h1 point is kept: {:?}",
        results.errors
    );
    let grpc_failed = results
        .points
        .iter()
        .any(|p| p.variant == rpcbench_servers::Variant::GrpcProtoH2 && p.error.is_some());
    let grpc_skipped = results.errors.iter().any(|e| e.contains("grpc-proto-h2"));
    assert!(
        grpc_failed || grpc_skipped,
        "the failure is recorded: {:?}",
        results.errors
    );
}

/// Starts `rpcbench run` on the test scenario with longer points, marked with `marker`, and
/// waits until its first point is in results.json; returns the child (the caller waits for it)
/// and that file.
#[allow(clippy::zombie_processes)]
fn run_until_first_point(dir: &Path, marker: &str) -> (std::process::Child, PathBuf) {
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        SCENARIO.replace("duration = \"400ms\"", "duration = \"1500ms\""),
    )
    .unwrap();
    let output = dir.join("runs");
    let (k, v) = marker.split_once('=').unwrap();
    let mut child = Command::new(exe())
        .args([
            "run",
            "--scenario",
            scenario.to_str().unwrap(),
            "--output-dir",
            output.to_str().unwrap(),
            "--quiet",
        ])
        .env(k, v)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no point was written");
        }
        if let Ok(entries) = std::fs::read_dir(&output)
            && let Some(run) = entries.flatten().next()
        {
            let path = run.path().join("results.json");
            if let Ok(r) = read_json::<RunResults>(&path)
                && !r.points.is_empty()
            {
                return (child, path);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM (how CI systems and Kubernetes stop a job) and SIGINT (Ctrl-C) stop a run alike:
/// servers stopped, the points measured so far kept in a valid results.json marked incomplete
/// with the signal named, the report rendered, exit code 3.
#[test]
fn sigterm_and_sigint_stop_a_run_alike() {
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let marker = format!("RPCBENCH_TEST_MARK=sig-{signal}-{}", std::process::id());
        let (mut child, results_path) = run_until_first_point(dir.path(), &marker);
        assert!(
            !processes_with(&marker).is_empty(),
            "{signal}: servers are running"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(3), "{signal}: {stderr}");
        assert!(
            processes_with(&marker).is_empty(),
            "{signal}: servers left running"
        );
        let results: RunResults = read_json(&results_path).unwrap();
        assert!(!results.complete, "{signal}");
        assert!(!results.points.is_empty(), "{signal}: measured points are kept");
        assert_eq!(
            results
                .errors
                .iter()
                .filter(|e| e.contains(&format!("interrupted ({signal})")))
                .count(),
            1,
            "{signal}: the interruption is recorded, once: {:?}",
            results.errors
        );
        let run = results_path.parent().unwrap();
        assert!(run.join("index.html").is_file(), "{signal}: report rendered");
        assert!(run.join("summary.md").is_file(), "{signal}: summary rendered");
    }
}

/// SIGKILL runs no handler: the servers notice their parent is gone (their stdin, a pipe from
/// the run, reaches end of file) and exit by themselves.
#[test]
fn sigkill_of_a_run_leaves_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("RPCBENCH_TEST_MARK=sigkill-{}", std::process::id());
    let (mut child, _) = run_until_first_point(dir.path(), &marker);
    assert!(!processes_with(&marker).is_empty(), "servers are running");
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    // Generous: the point is that they exit by themselves, not how fast a busy CI box is.
    while !processes_with(&marker).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "servers still running {:?} after the run was killed",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("servers gone {:?} after SIGKILL of the run", killed.elapsed());
}
