//! Many generators, one server, separate hosts — the Kubernetes topology on one machine. The
//! server runs in its own network namespace, two generators in two others, all on one bridge
//! (the namespace machinery of `rpcbench::netns`); the generators share one `--start-at`, and
//! `rpcbench merge` yields one point whose total count is the sum of theirs.
//!
//! **Needs root** (CAP_SYS_ADMIN + CAP_NET_ADMIN, to create network namespaces and links); CI
//! runs as root. Without the privilege it fails naming what is missing, it does not skip.
//! Every namespace is anonymous and held by this process, so nothing outlives the test.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rpcbench::netns::{NetNs, live_namespace_ids};
use rpcbench::server_process::ServerProcess;
use rpcbench_reports::{LoadReport, Percentile, RunResults, read_json};
use rpcbench_servers::Variant;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);

/// The server's namespace holds a bridge with the server's address; each generator namespace is
/// joined to it by a veth pair (`eth0` inside the generator) with an address of its own.
struct Hosts {
    server: NetNs,
    generators: Vec<NetNs>,
}

fn hosts(generators: usize) -> Hosts {
    let made = |what| NetNs::create(what).unwrap_or_else(|e| panic!("this test needs root: {e}"));
    let server = made("multi-host test");
    let generators: Vec<NetNs> = (0..generators).map(|_| made("multi-host test")).collect();
    let ip = |ns: &NetNs, args: &[&str]| ns.ip(args).unwrap_or_else(|e| panic!("{e}"));
    ip(&server, &["link", "add", "br0", "type", "bridge"]);
    ip(&server, &["addr", "add", &format!("{SERVER}/24"), "dev", "br0"]);
    ip(&server, &["link", "set", "br0", "up"]);
    for (i, g) in generators.iter().enumerate() {
        let port = format!("gen{i}");
        let path = g.path();
        let path = path.to_str().unwrap();
        ip(
            &server,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", path,
            ],
        );
        ip(&server, &["link", "set", &port, "master", "br0", "up"]);
        ip(
            g,
            &["addr", "add", &format!("10.78.0.{}/24", 11 + i), "dev", "eth0"],
        );
        ip(g, &["link", "set", "eth0", "up"]);
    }
    Hosts { server, generators }
}

#[test]
fn two_generators_in_two_namespaces_drive_one_server_in_a_third() {
    let dir = tempfile::tempdir().unwrap();
    let variant = Variant::GrpcProtoH2;
    let hosts = hosts(2);
    let server = ServerProcess::start_with(exe(), variant, SocketAddr::from((SERVER, 0)), &[], |cmd| {
        hosts.server.spawn(cmd).map_err(std::io::Error::other)
    })
    .unwrap();
    assert_eq!(server.addr().ip(), SERVER);
    let target = format!("http://{}", server.addr());

    let start = (SystemTime::now() + Duration::from_secs(3))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .to_string();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("load-{i}.json")))
        .collect();
    let children: Vec<_> = hosts
        .generators
        .iter()
        .zip(&files)
        .map(|(ns, file)| {
            let mut cmd = Command::new(exe());
            cmd.args(["load", "--variant", variant.name(), "--target", &target])
                .args(["--rate", "300", "--duration", "2s", "--warmup", "300ms"])
                .args(["--start-at", &start, "--json"])
                .arg(file)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            ns.spawn(&mut cmd).unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let loads: Vec<LoadReport> = files.iter().map(|f| read_json(f).unwrap()).collect();
    for (i, l) in loads.iter().enumerate() {
        assert!(
            l.summary.ok > 0 && l.summary.errors.is_empty(),
            "generator {i}: {:?}",
            l.summary
        );
        // Each generator really ran on its own host: its own address, not loopback.
        assert_eq!(l.config.target, target);
    }

    let merged_dir = dir.path().join("merged");
    let out = Command::new(exe())
        .arg("merge")
        .args(&files)
        .arg("-o")
        .arg(&merged_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run: RunResults = read_json(&merged_dir.join("results.json")).unwrap();
    let merged = &run.points[0].load;
    let total: u64 = loads.iter().map(|l| l.summary.ok).sum();
    assert_eq!(
        merged.summary.ok, total,
        "the merged count is the sum of the generators'"
    );
    let corrected = merged.histograms.corrected.as_ref().unwrap().decode().unwrap();
    assert_eq!(corrected.len(), total, "the merged histogram holds every request");
    assert_eq!(merged.merge.as_ref().unwrap().inputs.len(), 2);
    for (i, l) in loads.iter().enumerate() {
        eprintln!(
            "generator {i}: {} ok, {:.1} req/s, skew {:?} ns",
            l.summary.ok, l.summary.achieved_rps, l.summary.start_skew_ns
        );
    }
    let c = merged.summary.latency_corrected.as_ref().unwrap();
    eprintln!(
        "merged: {} ok, {:.1} req/s over {:.3} s, p50 {} ns, p99 {} ns",
        merged.summary.ok,
        merged.summary.achieved_rps,
        merged.summary.elapsed_ns as f64 / 1e9,
        c.percentiles_ns[&Percentile::P50],
        c.percentiles_ns[&Percentile::P99]
    );

    // Nothing left behind: the server is stopped, and with it gone the namespaces (and the
    // bridge and links in them) are freed.
    let ids: Vec<String> = std::iter::once(&hosts.server)
        .chain(&hosts.generators)
        .map(|ns| ns.id().to_owned())
        .collect();
    drop(server);
    drop(hosts);
    let live = live_namespace_ids();
    assert!(
        ids.iter().all(|id| !live.contains(id)),
        "namespaces left behind: {ids:?}"
    );
}
