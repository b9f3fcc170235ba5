//! `rpcbench run --target`: servers started by hand on another host (a lab's server namespace),
//! measured by a run on the client host. Needs root (CI runs as root); without it, it says so
//! and skips.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rpcbench::netns::{Lab, LinkProfile, SERVER_ADDR};
use rpcbench::server_process::ServerProcess;
use rpcbench_reports::RunResults;
use rpcbench_servers::Variant;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rpcbench"))
}

fn scenario(dir: &Path) -> PathBuf {
    let path = dir.join("remote.toml");
    std::fs::write(
        &path,
        r#"name = "remote"
repetitions = 1
warmup = "200ms"
duration = "1s"
timeout = "5s"
connections = 1
check_every = 1

[points]
max_throughput = true
common_rate_fractions = []

[[workloads]]
rpc = "upload"
shape = "mesh"
size = 16384
"#,
    )
    .unwrap();
    path
}

/// Starts `rpcbench serve` inside the lab's server host, as a user would by hand.
fn serve_in(lab: &Lab, variant: Variant, extra: &[String]) -> ServerProcess {
    ServerProcess::start_with(
        &exe(),
        variant,
        SocketAddr::from((SERVER_ADDR, 0)),
        extra,
        |cmd| lab.server().spawn(cmd).map_err(std::io::Error::other),
    )
    .unwrap()
}

/// A gRPC server with a stats endpoint and a REST server without one, both started by hand in
/// another namespace: the run reaches both, records the first one's server CPU from its
/// endpoint and marks the second one's as unknown.
#[test]
fn run_against_remote_targets_records_their_server_cpu() {
    if !rpcbench::netns::is_root() {
        eprintln!("SKIPPED: needs root (network namespaces); CI runs this as root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::create(
        &LinkProfile::parse("remote:rate=200mbit,rtt=2ms").unwrap(),
        &exe(),
    )
    .unwrap();
    let stats_flag = ["--stats-addr".to_string(), format!("{SERVER_ADDR}:0")];
    let grpc = serve_in(&lab, Variant::GrpcProtoH2, &stats_flag);
    let rest = serve_in(&lab, Variant::RestJsonH1, &[]);
    let stats = grpc
        .stats_addr()
        .expect("the ready line names the stats endpoint");
    assert_eq!(stats.ip(), std::net::IpAddr::V4(SERVER_ADDR));
    assert!(rest.stats_addr().is_none());

    let grpc_url = format!("http://{}", grpc.addr());
    let rest_url = format!("http://{}", rest.addr());
    let mut run = std::process::Command::new(exe());
    run.args(["run", "--no-pin", "--quiet", "--scenario"])
        .arg(scenario(dir.path()))
        .arg("--output-dir")
        .arg(dir.path().join("runs"))
        .args(["--target", &format!("grpc-proto-h2={grpc_url}")])
        .args(["--target-stats", &format!("grpc-proto-h2=http://{stats}")])
        .args(["--target", &format!("rest-json-h1={rest_url}")])
        .env_remove("CI");
    let out = lab.client().run(|| run.output()).unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run failed: {stderr}");

    let run_dir = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .next()
        .expect("a run directory")
        .unwrap()
        .path();
    let results: RunResults =
        serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).unwrap()).unwrap();
    assert!(results.complete, "{:?}", results.errors);
    assert!(
        results.floor.is_none(),
        "a remote run does not measure this machine's loopback floor"
    );
    assert_eq!(results.scenario["targets"].as_array().map(Vec::len), Some(2));
    assert_eq!(results.points.len(), 2);
    for p in &results.points {
        assert!(p.load.summary.ok > 0, "{}: nothing completed", p.id);
        match p.variant {
            Variant::GrpcProtoH2 => {
                assert_eq!(p.load.config.target, grpc_url);
                let cpu = p
                    .server
                    .cpu_ns_per_request
                    .expect("server CPU from the stats endpoint");
                // Decoding a 16 KiB mesh upload costs the server real CPU: more than 1 µs and
                // less than the whole measured phase per request.
                assert!(cpu > 1_000.0 && cpu < 1e9, "{}: {cpu} ns/request", p.id);
                assert!(p.server.cpu_unknown.is_none(), "{:?}", p.server.cpu_unknown);
                assert!(p.server.peak_rss_bytes.is_some_and(|b| b > 0));
            }
            Variant::RestJsonH1 => {
                assert_eq!(p.load.config.target, rest_url);
                assert_eq!(p.server.cpu_ns_per_request, None);
                let why = p.server.cpu_unknown.as_deref().unwrap_or_default();
                assert!(why.contains("stats endpoint"), "{why}");
            }
            other => panic!("unexpected variant {other}"),
        }
    }
    drop((grpc, rest));
    drop(lab);
}
