//! `rpcbench load`: validate flags, run one load, print and write its results.

use std::io::IsTerminal as _;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use rpcbench_reports::{
    EncodedHistogram, LoadConfig, LoadHistograms, LoadMode, LoadReport, LoadSummary, Percentile,
    SCHEMA_VERSION, Workload, hgrm, write_atomic, write_json_atomic,
};

use crate::cli::LoadArgs;
use crate::client::Call;
use crate::load::{Bound, LoadOutcome, LoadSpec, Pacing, StopHandle, StreamLoad};
use crate::stream_client::{StreamKind, Transport};

/// Parses `http://HOST:PORT`, `https://HOST:PORT` or `HOST:PORT` into a socket address.
pub fn parse_target(target: &str) -> anyhow::Result<SocketAddr> {
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .unwrap_or(target);
    if rest.contains("://") {
        bail!("unsupported target {target:?}: use http:// (cleartext) or https:// (with --tls-ca)");
    }
    let hostport = rest.trim_end_matches('/');
    hostport
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve target {target:?} (expected http://HOST:PORT)"))?
        .next()
        .with_context(|| format!("target {target:?} resolves to no address"))
}

/// The config record of a load.
pub fn load_config(spec: &LoadSpec, target: &str, workload: Workload) -> LoadConfig {
    LoadConfig {
        variant: spec.variant,
        target: target.into(),
        workload,
        mode: match spec.pacing {
            Pacing::Closed => LoadMode::Closed {
                connections: spec.connections,
                concurrency: spec.concurrency,
            },
            Pacing::Open { rate } => LoadMode::Open {
                connections: spec.connections,
                rate_rps: rate,
            },
        },
        duration_ns: match spec.bound {
            Bound::Duration(d) => Some(d.as_nanos() as u64),
            Bound::Requests(_) => None,
        },
        requests: match spec.bound {
            Bound::Requests(n) => Some(n),
            Bound::Duration(_) => None,
        },
        warmup_ns: spec.warmup.as_nanos() as u64,
        timeout_ns: spec.timeout.as_nanos() as u64,
        check_every: spec.check_every,
        start_at_unix_ns: spec.start_at.map(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        }),
        condition: spec.condition(),
    }
}

/// The histograms of an outcome, serialized.
pub fn histograms(outcome: &LoadOutcome) -> anyhow::Result<LoadHistograms> {
    let open = matches!(outcome.pacing, Pacing::Open { .. });
    Ok(LoadHistograms {
        corrected: open
            .then(|| EncodedHistogram::encode(&outcome.recorder.corrected))
            .transpose()?,
        service: EncodedHistogram::encode(&outcome.recorder.service)?,
        pacer_lag: open
            .then(|| EncodedHistogram::encode(&outcome.recorder.pacer_lag))
            .transpose()?,
        handshake: outcome
            .summary
            .handshake
            .as_ref()
            .map(|_| EncodedHistogram::encode(&outcome.recorder.handshake))
            .transpose()?,
    })
}

/// The `.hgrm` text of an outcome: corrected latency in open loop, service time in closed loop.
pub fn hgrm_text(outcome: &LoadOutcome) -> String {
    match outcome.pacing {
        Pacing::Open { .. } => hgrm::percentile_distribution(&outcome.recorder.corrected, 5),
        Pacing::Closed => hgrm::percentile_distribution(&outcome.recorder.service, 5),
    }
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// The human summary printed on stdout.
pub fn render_summary(config: &LoadConfig, s: &LoadSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let w = &config.workload;
    let _ = writeln!(
        out,
        "rpcbench load: {} {} {} {} B (seed {})",
        config.variant,
        w.rpc.name(),
        w.shape,
        w.size,
        w.seed
    );
    match &config.mode {
        LoadMode::Closed {
            connections,
            concurrency,
        } => {
            let _ = writeln!(
                out,
                "  mode        closed loop, {connections} connection(s), {concurrency} in flight"
            );
        }
        LoadMode::Open {
            connections,
            rate_rps,
        } => {
            let _ = writeln!(
                out,
                "  mode        open loop at {rate_rps} req/s, {connections} connection(s)"
            );
        }
    }
    let _ = writeln!(
        out,
        "  throughput  {:.1} req/s achieved{}  ({} ok in {:.2} s)",
        s.achieved_rps,
        s.target_rps
            .map(|t| format!(" of {t} offered"))
            .unwrap_or_default(),
        s.ok,
        s.elapsed_ns as f64 / 1e9
    );
    let errors: u64 = s.errors.values().sum();
    let detail: Vec<String> = s.error_statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "  errors      {errors}{}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", detail.join(", "))
        }
    );
    let _ = writeln!(out, "  checked     {} responses verified", s.checked);
    if let Some(skew) = s.start_skew_ns {
        let _ = writeln!(
            out,
            "  start       measured phase began {:+.3} ms from the agreed --start-at",
            skew as f64 / 1e6
        );
    }
    let c = &config.condition;
    if !c.is_plain() {
        let _ = writeln!(
            out,
            "  condition   {} (TLS {:?}, compression {:?}, {:?} connections{})",
            c.label(),
            c.tls,
            c.compression,
            c.connection,
            s.connections_opened
                .map(|n| format!(", {n} opened while measuring"))
                .unwrap_or_default()
        );
    }
    if let Some(late) = s.late_sends {
        let _ = writeln!(
            out,
            "  late sends  {late} (sent more than 1 ms after their intended time)"
        );
    }
    if let Some(missed) = s.missed_slots {
        let _ = writeln!(
            out,
            "  missed      {missed} scheduled slot(s) not sent, or (stream receivers) not received, by the end of the window"
        );
    }
    if let Some(w) = s.warmup {
        let _ = writeln!(
            out,
            "  warm-up     {} ok, {} failed ({} timed out); not in the figures below",
            w.ok, w.failed, w.timed_out
        );
    }
    let _ = writeln!(
        out,
        "  latency (µs)     {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "p50", "p90", "p99", "p99.9", "p99.99", "max"
    );
    let mut row = |name: &str, stats: &rpcbench_reports::LatencyStats| {
        let cols: Vec<String> = Percentile::ALL
            .iter()
            .map(|p| format!("{:>10}", stats.get(*p).map(us).unwrap_or_default()))
            .collect();
        let _ = writeln!(out, "  {name:<16} {}", cols.join(" "));
    };
    if let Some(c) = &s.latency_corrected {
        row("corrected", c);
    }
    row(
        if s.latency_corrected.is_some() {
            "uncorrected"
        } else {
            "service time"
        },
        &s.latency_service,
    );
    if let Some(l) = &s.pacer_lag {
        row("pacer lag", l);
    }
    if let Some(l) = &s.pacer_release_late {
        row("timer floor", l);
    }
    if let Some(h) = &s.handshake {
        row("handshake", h);
    }
    if let Some(cpu) = s.client_cpu_ns_per_request {
        let util = s.client_cpu_utilization.map_or(String::new(), |u| {
            format!(" ({:.0}% of its CPUs busy)", u * 100.0)
        });
        let _ = writeln!(out, "  client CPU  {:.1} µs/request{util}", cpu / 1000.0);
    }
    if let Some(wire) = &s.wire {
        let _ = writeln!(
            out,
            "  wire        {:.0} B/request sent, {:.0} B/request received",
            wire.request_bytes_per_request, wire.response_bytes_per_request
        );
    }
    if let Some(st) = &s.stream {
        let _ = writeln!(
            out,
            "  stream      {} over {}, {} {} — every figure above is per message (throughput = messages/s)",
            st.kind,
            st.transport,
            st.streams,
            if st.kind == "broadcast" {
                "subscriber(s)"
            } else {
                "stream(s)"
            }
        );
        if let Some(n) = st.published {
            let _ = writeln!(out, "  published   {n} messages, {} deliveries", s.ok);
        }
        if let Some(slow) = &st.slowest_subscriber {
            let _ = writeln!(
                out,
                "  slowest subscriber  p50 {} µs, p99 {} µs (publish→deliver, corrected)",
                slow.get(Percentile::P50).map(us).unwrap_or_default(),
                slow.get(Percentile::P99).map(us).unwrap_or_default()
            );
        }
        if let Some(p) = &st.publish_latency {
            let _ = writeln!(
                out,
                "  publish call p50 {} µs, p99 {} µs",
                p.get(Percentile::P50).map(us).unwrap_or_default(),
                p.get(Percentile::P99).map(us).unwrap_or_default()
            );
        }
    }
    if !s.complete {
        let _ = writeln!(
            out,
            "  INCOMPLETE  {}",
            s.incomplete_reason.as_deref().unwrap_or("stopped early")
        );
    }
    if let Some(reason) = &s.invalid {
        let _ = writeln!(out, "  INVALID     {reason}");
    }
    out
}

/// Every rate, count and duration of the flags against the load's caps ([`crate::caps`], the
/// same a scenario file is checked against).
fn validate_caps(args: &LoadArgs) -> Result<(), crate::caps::CapError> {
    use crate::caps;
    if let Some(rate) = args.rate {
        caps::rate("--rate", rate)?;
    }
    if let Some(n) = args.requests {
        caps::count("--requests", n, caps::MAX_REQUESTS)?;
    } else {
        caps::duration("--duration", *args.duration, true)?;
    }
    caps::duration("--warmup", *args.warmup, false)?;
    caps::timeout("--timeout", *args.timeout)?;
    caps::count(
        "--connections",
        u64::from(args.connections.get()),
        caps::MAX_CONNECTIONS,
    )?;
    if let Some(c) = args.concurrency {
        caps::count("--concurrency", u64::from(c.get()), caps::MAX_CONCURRENCY)?;
    }
    caps::count("--streams", u64::from(args.streams.get()), caps::MAX_CONCURRENCY)?;
    if let Some(n) = args.cold_every {
        caps::count("--cold-every", n.get(), caps::MAX_REQUESTS)?;
    }
    Ok(())
}

/// Runs `rpcbench load`. Returns the process exit code.
pub fn run(args: LoadArgs) -> anyhow::Result<u8> {
    let client_cpus = match &args.cpus {
        Some(list) => {
            let cpus = crate::pin::parse_flag("--cpus", list)?;
            crate::pin::pin_or_warn(&cpus, "running");
            Some(cpus)
        }
        None => None,
    };
    let addr = parse_target(&args.target)?;
    let (shape, rpc) = (args.shape, args.rpc);
    validate_caps(&args)?;
    let call = Call::new(args.variant, rpc, shape, args.size, args.seed).context("--shape/--size")?;
    let connections = args.connections.get();
    let stream = match args.stream {
        None => None,
        Some(kind) => {
            let transport = args.transport.unwrap_or(match args.variant.stack() {
                rpcbench_servers::Stack::Grpc => Transport::Grpc,
                rpcbench_servers::Stack::Rest => Transport::Ws,
            });
            transport.check(args.variant, kind).map_err(anyhow::Error::msg)?;
            if kind == StreamKind::Broadcast && args.rate.is_none() {
                bail!("--stream broadcast needs --rate (the publisher's messages per second)");
            }
            let payload = rpcbench_proto::generate(shape, args.size, args.seed).context("--shape/--size")?;
            Some(StreamLoad {
                kind,
                transport,
                streams: args.streams.get(),
                shape,
                size: args.size,
                seed: args.seed,
                payload: Arc::new(payload),
                // Unique per load, so two loads on one server never share a room.
                room: format!(
                    "load-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos())
                ),
            })
        }
    };
    let tls = match (&args.tls_ca, args.target.starts_with("https://")) {
        (None, true) => bail!("an https:// target needs --tls-ca PEM (the root certificate to trust)"),
        (Some(_), false) if args.target.starts_with("http://") => {
            bail!("--tls-ca connects with TLS: use an https:// target")
        }
        (None, false) => None,
        (Some(ca), _) => Some(
            rpcbench_servers::tls::ClientTls::new(ca, &args.tls_server_name, args.variant.http())
                .context("--tls-ca")?,
        ),
    };
    let spec = LoadSpec {
        variant: args.variant,
        addr,
        call: Arc::new(call),
        connections,
        concurrency: args.concurrency.map_or(connections, |c| c.get()),
        pacing: args.rate.map_or(Pacing::Closed, |rate| Pacing::Open { rate }),
        bound: args
            .requests
            .map_or(Bound::Duration(*args.duration), Bound::Requests),
        warmup: *args.warmup,
        timeout: *args.timeout,
        check_every: args.check_every.get(),
        settings: args.settings.clone(),
        connect: crate::client::ConnectOptions {
            tls,
            compression: args.compression.into(),
        },
        cold_every: args.cold_every,
        server_pid: args.server_pid,
        server_stats: args
            .server_stats
            .as_deref()
            .map(crate::server_stats::StatsUrl::parse)
            .transpose()?,
        start_at: args.start_at.map(|t| t.0),
        stream,
    };
    let workload = Workload {
        rpc,
        shape: args.shape,
        size: args.size,
        seed: args.seed,
    };
    let config = load_config(&spec, &args.target, workload);
    let mut provenance = crate::provenance::collect(None, client_cpus);

    let runtime = crate::load::client_runtime(args.settings.effective_worker_threads())?;
    let stop = StopHandle::default();
    let outcome = runtime.block_on(async {
        let signals = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let signal = crate::serve::shutdown_signal().await;
                stop.stop(&crate::run::Interrupted { signal }.to_string());
            })
        };
        let progress = show_progress().then(|| -> crate::load::ProgressFn {
            Box::new(|t, rate, p99| {
                let p99 = p99
                    .map(|v| format!("{:.1} µs", v as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into());
                eprint!("\r  {t:6.1} s  {rate:>8} req/s  p99 {p99:<12}");
            })
        });
        let r = crate::load::run(&spec, &stop, progress).await;
        signals.abort();
        r
    });
    if show_progress() {
        eprintln!();
    }
    let outcome = outcome
        .with_context(|| format!("cannot start the load against {} ({})", args.target, args.variant))?;
    provenance.finished_at = Some(crate::provenance::now_rfc3339());

    print!("{}", render_summary(&config, &outcome.summary));
    if let Some(cpu) = outcome.server_cpu_ns.filter(|_| outcome.summary.ok > 0) {
        println!(
            "  server CPU  {:.1} µs/{} ({:.0}% of one CPU)",
            cpu as f64 / outcome.summary.ok as f64 / 1000.0,
            if outcome.summary.stream.is_some() {
                "message"
            } else {
                "request"
            },
            cpu as f64 / outcome.summary.elapsed_ns.max(1) as f64 * 100.0
        );
    }
    if let Some(path) = &args.json {
        let report = LoadReport {
            schema_version: SCHEMA_VERSION,
            config: config.clone(),
            provenance,
            summary: outcome.summary.clone(),
            histograms: histograms(&outcome)?,
            merge: None,
        };
        write_json_atomic(path, &report)?;
        println!("  results     {}", path.display());
    }
    if let Some(path) = &args.hgrm {
        write_atomic(Path::new(path), hgrm_text(&outcome).as_bytes())?;
        println!("  histogram   {}", path.display());
    }
    if !outcome.summary.complete {
        return Ok(crate::exit::INCOMPLETE);
    }
    if let Some(reason) = &outcome.summary.invalid {
        eprintln!(
            "rpcbench: error: the load against {} ({}) measured nothing usable: {reason}",
            args.target, args.variant
        );
        return Ok(crate::exit::INVALID);
    }
    Ok(0)
}

/// A progress line only for humans: stderr is a terminal and this is not CI.
fn show_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
