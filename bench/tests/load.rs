//! `rpcbench load` against real servers: both modes on every variant, the JSON and .hgrm
//! outputs, coordinated-omission correction under a stalled server, and failure handling.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rpcbench::server_process::ServerProcess;
use rpcbench_reports::{LoadReport, Percentile, hgrm, read_json};
use rpcbench_servers::{HttpVersion, Variant};

mod common;
use common::wait_for_bytes_received;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

fn load(args: &[&str]) -> Output {
    Command::new(exe())
        .arg("load")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// `rpcbench load --variant V --target T ARGS...`.
fn load_on(variant: Variant, target: &str, args: &[&str]) -> Output {
    let mut all = vec!["--variant", variant.name(), "--target", target];
    all.extend_from_slice(args);
    load(&all)
}

fn assert_ordered(report: &LoadReport, what: &str) {
    let stats = [
        Some(&report.summary.latency_service),
        report.summary.latency_corrected.as_ref(),
    ];
    for s in stats.into_iter().flatten() {
        let values: Vec<u64> = Percentile::ALL.iter().map(|p| s.percentiles_ns[p]).collect();
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "{what}: percentiles not ordered: {values:?}"
        );
        assert!(s.min_ns <= values[0] && values[0] > 0, "{what}");
    }
}

/// Histograms survive the JSON file exactly and agree with the summary.
fn assert_histograms_round_trip(report: &LoadReport, what: &str) {
    // Requests that timed out are recorded at their elapsed time beside the completed ones.
    let recorded = report.summary.ok + report.summary.timeouts();
    let service = report.histograms.service.decode().unwrap();
    assert_eq!(service.len(), recorded, "{what}");
    assert_eq!(
        service.value_at_quantile(0.99),
        report.summary.latency_service.percentiles_ns[&Percentile::P99]
    );
    if let Some(c) = &report.histograms.corrected {
        let corrected = c.decode().unwrap();
        assert_eq!(corrected.len(), recorded, "{what}");
        assert_eq!(
            corrected.max(),
            report
                .summary
                .latency_corrected
                .as_ref()
                .unwrap()
                .get(Percentile::Max)
                .unwrap()
        );
    }
}

/// The emitted file validates against the published JSON Schema (docs/schema/).
fn assert_valid_json_schema(path: &Path) {
    let (_, schema) = rpcbench_reports::json_schemas()
        .into_iter()
        .find(|(n, _)| n.starts_with("load-report"))
        .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
}

fn workers(variant: Variant) -> &'static str {
    if variant.http() == HttpVersion::Http1 {
        "2"
    } else {
        "4"
    }
}

#[test]
fn closed_loop_on_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    for variant in Variant::ALL {
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let json = dir.path().join(format!("{variant}.json"));
        let hgrm_path = dir.path().join(format!("{variant}.hgrm"));
        let target = format!("http://{}", server.addr());
        let out = load_on(
            variant,
            &target,
            &[
                "--rpc",
                "upload",
                "--shape",
                "nested",
                "--size",
                "2048",
                "--connections",
                "2",
                "--concurrency",
                workers(variant),
                "--requests",
                "300",
                "--warmup",
                "200ms",
                "--check-every",
                "1",
                "--json",
                json.to_str().unwrap(),
                "--hgrm",
                hgrm_path.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{variant}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_valid_json_schema(&json);
        let report: LoadReport = read_json(&json).unwrap();
        assert_eq!(report.summary.ok, 300, "{variant}: exactly the requested count");
        assert_eq!(report.summary.checked, 300, "{variant}: every response checked");
        assert!(
            report.summary.errors.is_empty(),
            "{variant}: {:?}",
            report.summary.errors
        );
        assert!(report.summary.complete);
        assert!(
            report.summary.latency_corrected.is_none(),
            "closed loop has no schedule"
        );
        assert!(report.summary.wire.as_ref().unwrap().request_bytes_per_request > 1000.0);
        assert!(report.summary.client_cpu_ns_per_request.unwrap() > 0.0);
        assert_eq!(report.config.variant, variant);
        assert_ordered(&report, variant.name());
        assert_histograms_round_trip(&report, variant.name());
        let rows = hgrm::parse_rows(&std::fs::read_to_string(&hgrm_path).unwrap());
        assert_eq!(
            rows.iter().map(|r| r.2).sum::<u64>(),
            300,
            "{variant}: .hgrm counts"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("p99.99") && stdout.contains("service time"),
            "{stdout}"
        );
    }
}

#[test]
fn open_loop_on_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    for variant in Variant::ALL {
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let json = dir.path().join(format!("{variant}.json"));
        let target = format!("http://{}", server.addr());
        let out = load_on(
            variant,
            &target,
            &[
                "--rpc",
                "fetch",
                "--shape",
                "mesh",
                "--size",
                "4096",
                "--connections",
                "2",
                "--concurrency",
                workers(variant),
                "--rate",
                "100",
                "--duration",
                "1s",
                "--warmup",
                "250ms",
                "--json",
                json.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{variant}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_valid_json_schema(&json);
        let report: LoadReport = read_json(&json).unwrap();
        let s = &report.summary;
        // The schedule has exactly rate × duration slots in the measured phase: each one sent
        // (ok or failed) or, when no connection was free before the window's end, missed.
        let missed = s.missed_slots.unwrap();
        assert!(
            (99..=101).contains(&(s.ok + s.errors.values().sum::<u64>() + missed)),
            "{variant}: ok {}, missed {missed}, late {:?}",
            s.ok,
            s.late_sends
        );
        assert!(s.errors.is_empty(), "{variant}: {:?}", s.errors);
        assert_eq!(s.target_rps, Some(100.0));
        assert!(s.late_sends.is_some() && s.pacer_lag.is_some());
        // Every 16th response of a worker is checked. A generator starved by a loaded machine
        // misses slots instead of sending them after the window, so only a load that sent a few
        // dozen must have checked one.
        assert!(
            s.checked >= s.ok / 32 && (s.checked > 0 || s.ok < 32),
            "{variant}: {} checked of {} ok ({missed} missed)",
            s.checked,
            s.ok
        );
        assert_ordered(&report, variant.name());
        assert_histograms_round_trip(&report, variant.name());
        // Corrected latency includes everything the uncorrected one does, plus the lag.
        let corrected = s.latency_corrected.as_ref().unwrap();
        assert!(corrected.get(Percentile::Max) >= s.latency_service.get(Percentile::Max));
    }
}

/// Coordinated omission: a server frozen for a second during an open-loop run. The corrected
/// p99 must show the stall; the uncorrected service time hides it (one slow request per
/// connection, then a burst of fast ones).
#[test]
fn stalled_server_shows_in_corrected_latency_only() {
    for variant in [Variant::RestJsonH1, Variant::GrpcProtoH2] {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let json = dir.path().join("stall.json");
        let target = format!("http://{}", server.addr());
        let json_arg = json.to_str().unwrap().to_owned();
        let child = std::thread::spawn(move || {
            load_on(
                variant,
                &target,
                &[
                    "--rate",
                    "500",
                    "--duration",
                    "4s",
                    "--warmup",
                    "0s",
                    "--timeout",
                    "10s",
                    "--json",
                    &json_arg,
                ],
            )
        });
        // Freeze the server one second into the run, for one second.
        std::thread::sleep(Duration::from_secs(1));
        server.signal(Signal::SIGSTOP).unwrap();
        let stalled = Instant::now();
        std::thread::sleep(Duration::from_secs(1));
        server.signal(Signal::SIGCONT).unwrap();
        let frozen_for = stalled.elapsed();
        let out = child.join().unwrap();
        assert!(
            out.status.success(),
            "{variant}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: LoadReport = read_json(&json).unwrap();
        let s = &report.summary;
        let corrected_p99 = s.latency_corrected.as_ref().unwrap().percentiles_ns[&Percentile::P99];
        let service_p99 = s.latency_service.percentiles_ns[&Percentile::P99];
        // About a quarter of the schedule fell in the stall, so the corrected p99 is close to the
        // stall length; the service-time p99 sees only the one request that was in flight.
        assert!(
            corrected_p99 as f64 >= 0.5 * frozen_for.as_nanos() as f64,
            "{variant}: corrected p99 {corrected_p99} ns does not show a {frozen_for:?} stall"
        );
        assert!(
            service_p99 * 4 < corrected_p99,
            "{variant}: uncorrected p99 {service_p99} ns vs corrected {corrected_p99} ns"
        );
        assert!(
            s.late_sends.unwrap() > 100,
            "{variant}: the stall made sends late"
        );
    }
}

#[test]
fn server_dying_mid_run_keeps_partial_results() {
    let dir = tempfile::tempdir().unwrap();
    for variant in [Variant::RestProtoH1, Variant::RestJsonH2, Variant::GrpcJsonH2] {
        let mut server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let json = dir.path().join(format!("{variant}.json"));
        let target = format!("http://{}", server.addr());
        let json_arg = json.to_str().unwrap().to_owned();
        let child = std::thread::spawn(move || {
            load_on(
                variant,
                &target,
                &[
                    "--rate",
                    "300",
                    "--duration",
                    "120s",
                    "--warmup",
                    "0s",
                    "--json",
                    &json_arg,
                ],
            )
        });
        // Wait on work done, not on time: the server must have received 150 KiB, more than 150
        // requests even for the largest request here (JSON over HTTP/2 with its headers), before it
        // dies, however slow the machine.
        wait_for_bytes_received(&server, 150 * 1024, Duration::from_secs(60));
        server.signal(Signal::SIGKILL).unwrap();
        server.stop();
        let started = Instant::now();
        let out = child.join().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{variant}: load did not stop promptly"
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "{variant}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: LoadReport = read_json(&json).unwrap();
        assert!(!report.summary.complete);
        let reason = report.summary.incomplete_reason.as_deref().unwrap();
        assert!(reason.contains("unreachable"), "{variant}: {reason}");
        assert!(
            report.summary.ok > 100,
            "{variant}: requests before the crash are kept"
        );
        assert!(
            !report.summary.errors.is_empty(),
            "{variant}: the failure is counted"
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"));
    }
}

#[test]
fn target_not_listening_fails_fast() {
    let server = ServerProcess::start(exe(), Variant::RestJsonH1, &[]).unwrap();
    let target = format!("http://{}", server.addr());
    drop(server);
    for variant in Variant::ALL {
        let started = Instant::now();
        // A load that kept trying would run for the whole minute; a generous bound for a
        // debug binary starting on a loaded machine still tells the two apart.
        let out = load_on(variant, &target, &["--duration", "60s"]);
        assert!(started.elapsed() < Duration::from_secs(20), "{variant}");
        assert_eq!(out.status.code(), Some(1), "{variant}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot connect") && stderr.contains(server_addr(&target)),
            "{variant}: {stderr}"
        );
    }
}

fn server_addr(target: &str) -> &str {
    target.trim_start_matches("http://")
}

#[test]
fn invalid_flag_combinations_name_the_flags() {
    let out = load(&[
        "--variant",
        "rest-json-h1",
        "--target",
        "127.0.0.1:1",
        "--duration",
        "1s",
        "--requests",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--duration") && stderr.contains("--requests"),
        "{stderr}"
    );

    let server = ServerProcess::start(exe(), Variant::RestJsonH1, &[]).unwrap();
    let target = format!("http://{}", server.addr());
    let out = load(&[
        "--variant",
        "rest-json-h1",
        "--target",
        &target,
        "--connections",
        "1",
        "--concurrency",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--concurrency") && stderr.contains("--connections"),
        "{stderr}"
    );

    // Caps: the same definition as scenario files, the error naming the flag, value and cap.
    for (bad, want) in [
        (["--rate", "2e9"], "--rate = 2e9 is above the cap 1e7 req/s"),
        (
            ["--duration", "30days"],
            "--duration = 30days is above the cap 1day",
        ),
        (["--timeout", "0s"], "--timeout = 0s must be longer than 0"),
        (
            ["--connections", "5000"],
            "--connections = 5000 is above the cap 1024",
        ),
    ] {
        let mut args = vec!["--variant", "rest-json-h1", "--target", &target];
        args.extend(bad);
        let started = Instant::now();
        let out = load(&args);
        assert!(started.elapsed() < Duration::from_secs(30), "{bad:?}");
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{bad:?}: {stderr}");
    }

    for bad in [
        vec!["--rate", "0"],
        vec!["--rate=-5"],
        vec!["--size", "0"],
        vec!["--target", "https://x:1"],
    ] {
        let mut args = vec!["--variant", "rest-json-h1", "--duration", "1s"];
        if bad[0] != "--target" {
            args.extend(["--target", &target]);
        }
        args.extend(bad.iter().copied());
        let out = load(&args);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{bad:?}"
        );
    }
}

/// Refused requests are counted by kind and exact status, and the load goes on.
#[test]
fn refused_requests_are_counted_by_status() {
    let dir = tempfile::tempdir().unwrap();
    for (variant, want) in [
        (Variant::RestProtoH1, rpcbench_reports::ErrorStatus::Http(413)),
        (
            Variant::GrpcProtoH2,
            rpcbench_reports::ErrorStatus::Grpc(rpcbench_reports::GrpcCode::OutOfRange),
        ),
    ] {
        let server =
            ServerProcess::start(exe(), variant, &["--max-body-bytes".into(), "4096".into()]).unwrap();
        let json = dir.path().join(format!("{variant}.json"));
        let target = format!("http://{}", server.addr());
        let out = load_on(
            variant,
            &target,
            &[
                "--rpc",
                "echo",
                "--shape",
                "blob",
                "--size",
                "8192",
                "--requests",
                "50",
                "--warmup",
                "0s",
                "--json",
                json.to_str().unwrap(),
            ],
        );
        // Nothing completed: the load is invalid, says why, and still counts every refusal.
        assert_eq!(
            out.status.code(),
            Some(4),
            "{variant}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("no request completed"));
        let report: LoadReport = read_json(&json).unwrap();
        assert_eq!(report.summary.ok, 0, "{variant}");
        assert_eq!(
            report.summary.error_statuses.get(&want),
            Some(&50),
            "{variant}: {:?}",
            report.summary.error_statuses
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&want.to_string()));
    }
}

/// A "black hole": a real listener that accepts connections and never answers. It holds every
/// accepted socket until dropped.
struct BlackHole {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlackHole {
    fn start() -> BlackHole {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => held.push(socket),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        BlackHole {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Issue 19/17: a server that accepts and never answers. The point ends by its deadline (warm-up
/// plus duration plus one timeout, never one timeout per scheduled slot), `load` exits non-zero
/// with the reason, and the JSON counts the timeouts and the slots that were never sent.
#[test]
fn black_hole_ends_on_time_and_fails() {
    let hole = BlackHole::start();
    let dir = tempfile::tempdir().unwrap();
    for (mode, extra) in [
        ("open", &["--rate", "4"][..]),
        ("closed", &["--connections", "2"][..]),
    ] {
        let json = dir.path().join(format!("{mode}.json"));
        let mut args = vec![
            "--duration",
            "2s",
            "--timeout",
            "2s",
            "--warmup",
            "0s",
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let started = Instant::now();
        let out = load_on(Variant::RestJsonH1, &format!("http://{}", hole.addr), &args);
        let took = started.elapsed();
        // Generous: duration + timeout + 20 s of slack for a loaded machine (it was ~8 × the
        // timeout before the deadline).
        assert!(took < Duration::from_secs(24), "{mode}: took {took:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{mode}: {stdout}\n{stderr}");
        assert!(
            stderr.contains("measured nothing usable") && stderr.contains("no request completed"),
            "{mode}: {stderr}"
        );
        assert!(stdout.contains("INVALID"), "{mode}: {stdout}");
        let report: LoadReport = read_json(&json).unwrap();
        assert_valid_json_schema(&json);
        let s = &report.summary;
        assert_eq!(s.ok, 0, "{mode}");
        assert!(s.timeouts() >= 1, "{mode}: {s:?}");
        assert!(s.invalid.as_deref().unwrap().contains("no request completed"));
        assert_histograms_round_trip(&report, mode);
        // Timed-out requests are in the tail at no less than the timeout (less the histogram's
        // 3-significant-digit bucket width).
        let at_least_timeout = |ns: u64| ns >= 1_995_000_000;
        assert!(
            at_least_timeout(s.latency_service.min_ns),
            "{mode}: {:?}",
            s.latency_service
        );
        if mode == "open" {
            // 8 slots in the window; one connection, blocked for 2 s per request: most missed.
            let missed = s.missed_slots.unwrap();
            assert!(
                missed >= 4 && missed + s.timeouts() <= 8,
                "{mode}: missed {missed}, {s:?}"
            );
            assert!(stdout.contains("missed"), "{stdout}");
            let corrected = s.latency_corrected.as_ref().unwrap();
            assert!(at_least_timeout(corrected.min_ns), "{corrected:?}");
        } else {
            assert_eq!(s.missed_slots, None);
        }
    }
}

/// Issue 19/17: a count-bounded load (`--requests`) against a server that never answers ends by
/// its deadline (every request timing out in turn, plus one timeout) and fails; the warm-up's
/// timed-out requests are counted apart, not in the measured figures.
#[test]
fn black_hole_count_bounded_ends_and_counts_the_warm_up() {
    let hole = BlackHole::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("count.json");
    let started = Instant::now();
    let out = load_on(
        Variant::RestJsonH1,
        &format!("http://{}", hole.addr),
        &[
            "--requests",
            "3",
            "--timeout",
            "1s",
            "--warmup",
            "1s",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let took = started.elapsed();
    // Deadline: warm-up 1 s + (3 + 1) timeouts of 1 s, plus one timeout in flight; 20 s of
    // slack for a loaded machine.
    assert!(took < Duration::from_secs(26), "took {took:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: LoadReport = read_json(&json).unwrap();
    assert_valid_json_schema(&json);
    let s = &report.summary;
    assert_eq!(s.ok, 0, "{s:?}");
    assert!(s.timeouts() >= 1 && s.timeouts() <= 3, "{s:?}");
    // The warm-up's one request (closed loop, 1 s timeout, 1 s warm-up) timed out; it is
    // counted there and not among the measured timeouts.
    let warmup = s.warmup.expect("a warm-up ran");
    assert_eq!(warmup.ok, 0, "{warmup:?}");
    assert!(
        warmup.timed_out >= 1 && warmup.failed >= warmup.timed_out,
        "{warmup:?}"
    );
    assert!(
        stdout.contains("warm-up") && stdout.contains("timed out"),
        "{stdout}"
    );
}

/// Issue 17: a server frozen over the last second of the window and past its end. The requests
/// in flight when the window ends are waited for (up to the timeout) and counted; the corrected
/// tail shows the stall instead of losing it with them.
#[test]
fn stall_at_the_end_of_the_window_shows_in_the_tail() {
    let server = ServerProcess::start(exe(), Variant::RestJsonH1, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("end-stall.json");
    let target = format!("http://{}", server.addr());
    let json_arg = json.to_str().unwrap().to_owned();
    let child = std::thread::spawn(move || {
        load_on(
            Variant::RestJsonH1,
            &target,
            &[
                "--rate",
                "200",
                "--connections",
                "2",
                "--duration",
                "3s",
                "--warmup",
                "0s",
                "--timeout",
                "20s",
                "--json",
                &json_arg,
            ],
        )
    });
    // The window starts once the load sends; from then, freeze the server 2 s in (the last
    // second of the 3 s window) until 1.5 s after the window's end.
    wait_for_bytes_received(&server, 1, Duration::from_secs(60));
    let sending = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    server.signal(Signal::SIGSTOP).unwrap();
    let stalled = Instant::now();
    std::thread::sleep((sending + Duration::from_millis(4500)).saturating_duration_since(Instant::now()));
    server.signal(Signal::SIGCONT).unwrap();
    let frozen_for = stalled.elapsed();
    let out = child.join().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: LoadReport = read_json(&json).unwrap();
    let s = &report.summary;
    let corrected_max = s
        .latency_corrected
        .as_ref()
        .unwrap()
        .get(Percentile::Max)
        .unwrap();
    println!(
        "stall {frozen_for:?}: corrected max {:.3} s, p99 {:?} ns, ok {}, missed {:?}, late {:?}",
        corrected_max as f64 / 1e9,
        s.latency_corrected.as_ref().unwrap().get(Percentile::P99),
        s.ok,
        s.missed_slots,
        s.late_sends
    );
    // The requests in flight when the server froze finished only when it thawed, after the
    // window: their whole wait is in the corrected tail.
    assert!(
        corrected_max as f64 >= 0.9 * frozen_for.as_nanos() as f64,
        "corrected max {corrected_max} ns does not show a {frozen_for:?} stall"
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    // Slots due during the frozen part of the window found no free connection before its end.
    assert!(s.missed_slots.unwrap() > 0, "{s:?}");
    assert_histograms_round_trip(&report, "end stall");
}
