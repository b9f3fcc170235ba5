//! Network labs for real: namespaces, a shaped link, teardown. These tests need root (CI runs as
//! root); without it they print why and skip.

use std::time::Duration;

use rpcbench::netns::{Emulation, Lab, LinkProfile, live_namespace_ids};

fn exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_rpcbench"))
}

/// The tests of this file run one at a time: the shaping test measures bandwidth through the
/// userspace delay line, which shares the CPUs with whatever else runs, and the other tests start
/// whole `rpcbench run`s. Run side by side they measured each other, not the link.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn root() -> bool {
    if rpcbench::netns::is_root() {
        true
    } else {
        eprintln!("SKIPPED: needs root (network namespaces, TUN, tc); CI runs these as root");
        false
    }
}

/// A shaped profile really shapes: bulk bandwidth within ±15% of the rate and the RTT floor
/// within ±20% of the configured RTT; every namespace is gone after the lab is dropped.
#[test]
fn shaped_link_has_the_configured_rate_and_rtt() {
    let _serial = serial();
    if !root() {
        return;
    }
    let profile = LinkProfile::parse("t:rate=20mbit,rtt=20ms").unwrap();
    let lab = Lab::create(&profile, &exe()).unwrap();
    let ids = [lab.client().id().to_owned(), lab.server().id().to_owned()];
    assert!(live_namespace_ids().contains(&ids[0]));
    let (cq, sq) = lab.qdiscs().unwrap();
    assert!(cq.contains("tbf") && sq.contains("tbf"), "{cq}\n{sq}");
    if lab.emulation() == Emulation::Netem {
        assert!(cq.contains("netem") && sq.contains("netem"), "{cq}\n{sq}");
    }
    let rtt = lab.measure_rtt(Duration::from_millis(500)).unwrap();
    let bw = lab.measure_bandwidth(true, Duration::from_millis(2000)).unwrap();
    let bw_down = lab.measure_bandwidth(false, Duration::from_millis(2000)).unwrap();
    eprintln!(
        "configured 20 Mbit/s, 20 ms; measured up {:.1} Mbit/s, down {:.1} Mbit/s, RTT min {:.2} ms p50 {:.2} ms ({} samples), {:?}",
        bw / 1e6,
        bw_down / 1e6,
        rtt.min_ns as f64 / 1e6,
        rtt.p50_ns as f64 / 1e6,
        rtt.samples,
        lab.emulation()
    );
    let mut lab = lab;
    let stats = lab.finish().unwrap();
    eprintln!("delay line: {stats:?}");
    drop(lab);
    assert!(
        (17e6..=23e6).contains(&bw),
        "up {bw} bit/s not within 15% of 20 Mbit/s"
    );
    assert!(
        (17e6..=23e6).contains(&bw_down),
        "down {bw_down} bit/s not within 15% of 20 Mbit/s"
    );
    let rtt_ms = rtt.min_ns as f64 / 1e6;
    assert!(
        (16.0..=24.0).contains(&rtt_ms),
        "RTT floor {rtt_ms} ms not within 20% of 20 ms"
    );
    let live = live_namespace_ids();
    assert!(
        !live.contains(&ids[0]) && !live.contains(&ids[1]),
        "a lab namespace outlived the lab"
    );
}

/// A tiny shaped scenario: two variants, one small workload, short points.
fn tiny_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("tiny.toml");
    std::fs::write(
        &path,
        r#"name = "tiny-net"
variants = ["rest-json-h1", "grpc-proto-h2"]
repetitions = 1
warmup = "100ms"
duration = "1s"
timeout = "5s"
connections = 1
check_every = 1
# The codec phase does not depend on the network; tests/run.rs covers it.
serialization = false
networks = ["t:rate=20mbit,rtt=10ms"]

[points]
max_throughput = true
common_rate_fractions = []

[[workloads]]
rpc = "echo"
shape = "small"
size = 256
"#,
    )
    .unwrap();
    path
}

/// Starts `rpcbench run` on the tiny scenario and waits for the line naming its namespaces.
fn start_run(dir: &std::path::Path) -> (std::process::Child, Vec<String>, std::thread::JoinHandle<String>) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(exe())
        .args(["run", "--no-pin", "--scenario"])
        .arg(tiny_scenario(dir))
        .arg("--output-dir")
        .arg(dir.join("runs"))
        .env_remove("CI")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut ids = Vec::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if line.contains("client host net:[") {
            ids = line
                .split_whitespace()
                .filter(|w| w.starts_with("net:["))
                .map(|w| w.trim_end_matches(',').to_owned())
                .collect();
        }
        // The first measured point: servers, delay line and load generator all exist.
        if line.contains("/rep0:") {
            break;
        }
        line.clear();
    }
    assert_eq!(ids.len(), 2, "no namespace line before the first point: {line}");
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    (child, ids, rest)
}

/// Polls (bounded) until none of `ids` is referenced anywhere on the machine.
fn assert_namespaces_gone(ids: &[String], when: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let live = live_namespace_ids();
        let left: Vec<_> = ids.iter().filter(|i| live.contains(*i)).collect();
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{when}: namespaces {left:?} still exist"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn root_links() -> String {
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// After a complete run, after Ctrl-C (SIGINT) and after SIGKILL of `rpcbench run` (plus the
/// documented `rpcbench netns-clean`), no namespace, link or qdisc of the run is left, and the
/// caller's own namespace never had a link added.
#[test]
fn nothing_is_left_after_a_run_sigint_or_sigkill() {
    let _serial = serial();
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let links_before = root_links();

    // SIGINT: the run stops, keeps its points, exits 3.
    let (child, ids, rest) = start_run(dir.path());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = rest.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_namespaces_gone(&ids, "after SIGINT");

    // SIGKILL: no handler runs; the helpers exit when their stdin closes.
    let (mut child, ids, _rest) = start_run(dir.path());
    child.kill().unwrap();
    let _ = child.wait();
    let clean = std::process::Command::new(exe())
        .arg("netns-clean")
        .output()
        .unwrap();
    assert!(clean.status.success());
    assert_namespaces_gone(&ids, "after SIGKILL and netns-clean");
    let leftovers = rpcbench::netns::clean_leftovers();
    assert!(leftovers.is_empty(), "helpers still running: {leftovers:?}");

    // A complete run.
    let (child, ids, rest) = start_run(dir.path());
    let out = child.wait_with_output().unwrap();
    let stderr = rest.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_namespaces_gone(&ids, "after a complete run");

    assert_eq!(
        root_links(),
        links_before,
        "links in the caller's namespace changed"
    );
}

/// Without privilege a shaped profile fails with the error naming what is missing — never a
/// silent loopback run.
#[test]
fn unprivileged_shaped_run_fails_clearly() {
    let _serial = serial();
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(exe())
        .args([
            "run",
            "--preset",
            "smoke",
            "--no-pin",
            "--network",
            "wan",
            "--output-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("needs its own network namespaces") && stderr.contains("root"),
        "{stderr}"
    );
    assert!(!stderr.contains("/rep0:"), "it measured something: {stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "it wrote a run directory"
    );
}

/// TLS and compression work through the lab as on loopback: a shaped run with TLS on and gzip
/// (cold connections, so handshakes cross the link too) completes with every answer checked,
/// and the run's certificate names the lab's server address for outside clients.
#[test]
fn tls_and_compression_cross_the_lab() {
    let _serial = serial();
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tls.toml");
    let tiny = std::fs::read_to_string(tiny_scenario(dir.path())).unwrap();
    let tiny = tiny.replace(
        "networks = [",
        "tls = [\"on\"]\ncompression = [\"gzip\"]\nconnection = [\"warm\", \"cold\"]\ncold_requests_per_connection = 4\nnetworks = [",
    );
    std::fs::write(&scenario, tiny).unwrap();
    let out = std::process::Command::new(exe())
        .args(["run", "--no-pin", "--scenario"])
        .arg(&scenario)
        .arg("--output-dir")
        .arg(dir.path().join("runs"))
        .env_remove("CI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let run = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .next()
        .unwrap();
    let results: rpcbench_reports::RunResults =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert!(results.complete, "{:?}", results.errors);
    assert!(results.network.is_some(), "not a lab run");
    // 2 variants x (warm, cold), one maximum-throughput point each.
    assert_eq!(results.points.len(), 4);
    for p in &results.points {
        assert!(p.error.is_none(), "{}: {:?}", p.id, p.error);
        assert_eq!(p.condition.tls, rpcbench_reports::TlsMode::On, "{}", p.id);
        assert_eq!(
            p.condition.compression,
            rpcbench_reports::Compression::Gzip,
            "{}",
            p.id
        );
        assert!(p.load.summary.ok > 0, "{}", p.id);
        let cold = p.condition.connection == rpcbench_reports::ConnectionMode::Cold;
        assert_eq!(p.load.summary.handshake.is_some(), cold, "{}: handshakes", p.id);
    }
    let cert = std::fs::read_to_string(run.join("tls/server.pem")).unwrap();
    assert!(cert.contains("BEGIN CERTIFICATE"));
    assert!(run.join("tls/ca.pem").exists());
    // The lab's server address is one of the certificate's names (checked with openssl where
    // it is installed).
    if let Ok(out) = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(run.join("tls/server.pem"))
        .output()
    {
        let names = String::from_utf8_lossy(&out.stdout);
        let lab_addr = rpcbench::netns::SERVER_ADDR.to_string();
        assert!(names.contains(&lab_addr), "{lab_addr} not in {names}");
    }
}
