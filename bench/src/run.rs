//! `rpcbench run`: the main job. Servers as pinned child processes, the workload matrix with
//! interleaved variants, results written after every point, and no process left behind.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rpcbench_model::{LoadLabel, PointId, Size};
use rpcbench_model::{NetworkProfile, NetworkResult};
use rpcbench_proto::catalogue;
use rpcbench_reports::{
    Condition, ConnectionMode, LatencyStats, LoadReport, Percentile, PhysicalFloor, PointKind, PointResult,
    Provenance, RunResults, SCHEMA_VERSION, ServerStats, TlsMode, WireSettings, Workload, write_atomic,
    write_json_atomic,
};
use rpcbench_servers::tls::{CertFiles, ClientTls};
use rpcbench_servers::{ServerSettings, Variant};

use crate::client::{Call, ConnectOptions, health_check_with};
use crate::load::{Bound, LoadSpec, Pacing, StopHandle};
use crate::loadcmd::{hgrm_text, histograms, load_config};
use crate::scenario::{Scenario, WorkloadSpec};
use crate::server_process::ServerProcess;

/// The run was stopped by SIGINT or SIGTERM. It ends the matrix as an error and is recorded once
/// in the results' `errors`, recognised by its type, not by its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted ({signal})")]
pub struct Interrupted {
    pub signal: &'static str,
}

impl Interrupted {
    /// Whether `e`, or any error it wraps, is an interruption.
    pub fn caused(e: &anyhow::Error) -> bool {
        e.chain().any(|c| c.is::<Interrupted>())
    }
}

/// Everything `run` needs, validated.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenario: Scenario,
    pub scenario_name: String,
    pub output_dir: PathBuf,
    pub server_cpus: Option<Vec<usize>>,
    pub client_cpus: Option<Vec<usize>>,
    pub settings: ServerSettings,
    pub quiet: bool,
    /// Where criterion's results are, for the report.
    pub criterion_dir: Option<PathBuf>,
    /// The network between load generator and servers (one run directory per profile).
    pub network: NetworkProfile,
}

/// Where a finished run put its files.
#[derive(Debug)]
pub struct RunOutput {
    pub dir: PathBuf,
    pub results: PathBuf,
    pub complete: bool,
    /// Stopped by Ctrl-C (the remaining network profiles are not run).
    pub interrupted: bool,
}

/// Default CPU sets: the first half of this process's CPUs for servers, the second half for
/// the load generator (2 cores: server on CPU 0, generator on CPU 1). `None` with one CPU.
pub fn default_cpu_sets() -> Option<(Vec<usize>, Vec<usize>)> {
    let cpus = crate::pin::current_cpus();
    if cpus.len() < 2 {
        return None;
    }
    let half = cpus.len() / 2;
    Some((cpus[..half].to_vec(), cpus[half..].to_vec()))
}

/// Loopback TCP round trips of one byte, server thread pinned to `server_cpus`: the physical
/// floor under every RPC measured on this machine.
pub fn measure_floor(server_cpus: Option<&[usize]>, round_trips: u32) -> std::io::Result<PhysicalFloor> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let cpus = server_cpus.map(<[usize]>::to_vec);
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        if let Some(cpus) = cpus {
            let _ = crate::pin::pin_process(&cpus); // this thread only: sched_setaffinity(0)
        }
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read(&mut b)? == 1 {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let mut c = std::net::TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    let mut h = crate::load::new_histogram();
    let mut b = [7u8; 1];
    for i in 0..round_trips + 1000 {
        let t = Instant::now();
        c.write_all(&b)?;
        c.read_exact(&mut b)?;
        if i >= 1000 {
            h.saturating_record(t.elapsed().as_nanos() as u64);
        }
    }
    drop(c);
    let _ = server.join();
    Ok(PhysicalFloor {
        tcp_ping_pong: LatencyStats::from_histogram(&h),
    })
}

/// The serialization phase's output (criterion's and the encoded-size table), inside the run
/// directory; the report reads it as this run's serialization results.
pub const CODEC_SUBDIR: &str = rpcbench_reports::render::DEFAULT_CRITERION_SUBDIR;
/// What the serialization phase printed.
pub const CODEC_LOG: &str = "codec.log";

/// The serialization phase: `rpcbench codec` for the scenario's `(shape, size)` pairs, as a
/// child process on the servers' CPUs (nothing else runs then), its output in `DIR/codec.log`.
/// Returns the number of cases measured.
fn measure_serialization(opts: &RunOptions, dir: &Path) -> anyhow::Result<usize> {
    let mut points = Vec::new();
    for w in &opts.scenario.workloads {
        let shape = catalogue::parse_shape(&w.shape).map_err(anyhow::Error::msg)?;
        points.push((shape, Size(w.size)));
    }
    let cases = crate::codec_matrix::cases_for(&points).len();
    let exe = std::env::current_exe().context("cannot find the rpcbench executable")?;
    let log_path = dir.join(CODEC_LOG);
    let log =
        std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("codec").arg("--output").arg(dir.join(CODEC_SUBDIR));
    for (shape, size) in &points {
        cmd.arg("--payload").arg(format!("{shape}/{}", size.bytes()));
    }
    if let Some(cpus) = &opts.server_cpus {
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        cmd.arg("--cpus").arg(list.join(","));
    }
    let status = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot start `rpcbench codec`")?;
    if !status.success() {
        bail!("`rpcbench codec` failed ({status}); see {}", log_path.display());
    }
    Ok(cases)
}

/// The load part of a point id: `max`, `rate-1000`, `sweep-50pct`.
pub fn load_label(kind: &PointKind) -> LoadLabel {
    match kind {
        PointKind::MaxThroughput => LoadLabel::Max,
        PointKind::FixedRate { rate_rps } => LoadLabel::rate(*rate_rps),
        PointKind::Sweep { fraction, .. } => LoadLabel::sweep(*fraction),
    }
}

struct Servers {
    procs: BTreeMap<(Variant, TlsMode), ServerProcess>,
    /// Servers elsewhere (`--target`), instead of processes.
    remote: BTreeMap<Variant, Remote>,
    /// Client TLS settings per variant (ALPN differs by HTTP version), when TLS is measured.
    tls: BTreeMap<Variant, ClientTls>,
}

/// A remote target, resolved.
struct Remote {
    addr: std::net::SocketAddr,
    url: String,
    stats: Option<crate::server_stats::StatsUrl>,
}

impl Servers {
    fn stop_all(&mut self) {
        for p in self.procs.values_mut() {
            p.stop();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

struct Ctx<'a> {
    opts: &'a RunOptions,
    dir: &'a Path,
    results: RunResults,
    stop: StopHandle,
    started: Instant,
    done: usize,
    total: usize,
    /// The signal that stopped the run (SIGINT or SIGTERM), once one arrived.
    interrupted: Arc<std::sync::OnceLock<&'static str>>,
}

impl Ctx<'_> {
    fn save(&self) -> anyhow::Result<()> {
        write_json_atomic(&self.dir.join("results.json"), &self.results)?;
        Ok(())
    }

    fn progress(&self, line: &str) {
        if self.opts.quiet {
            return;
        }
        let elapsed = self.started.elapsed();
        let eta = if self.done > 0 {
            let per = elapsed / self.done as u32;
            humantime::format_duration(Duration::from_secs(
                (per * (self.total - self.done) as u32).as_secs(),
            ))
            .to_string()
        } else {
            "?".into()
        };
        eprintln!("[{:>3}/{}] {line}  (ETA {eta})", self.done, self.total);
    }
}

/// Runs the scenario. Results are written after every point, so an interrupted or failed run
/// keeps everything measured before.
pub fn run(opts: &RunOptions) -> anyhow::Result<RunOutput> {
    let provenance = crate::provenance::collect(opts.server_cpus.clone(), opts.client_cpus.clone());
    let stamp = provenance.started_at.replace(['-', ':'], "");
    let short = provenance
        .git_commit
        .as_deref()
        .map(|c| &c[..c.len().min(8)])
        .unwrap_or("nocommit");
    let dir = match &opts.network {
        NetworkProfile::Loopback => opts.output_dir.join(format!("{stamp}-{short}")),
        NetworkProfile::Shaped(p) => opts.output_dir.join(format!("{stamp}-{short}-{}", p.name)),
    };
    // A shaped profile first builds its lab: without privilege this is the clear error, before
    // any directory is written.
    let mut lab = match &opts.network {
        NetworkProfile::Loopback => None,
        NetworkProfile::Shaped(p) => {
            let exe = std::env::current_exe().context("cannot find the rpcbench executable")?;
            let lab = crate::netns::Lab::create(p, &exe)?;
            if !opts.quiet {
                eprintln!(
                    "rpcbench run: network {p}: client host {}, server host {} ({:?})",
                    lab.client().id(),
                    lab.server().id(),
                    lab.emulation()
                );
            }
            Some(lab)
        }
    };
    std::fs::create_dir_all(dir.join("hgrm")).with_context(|| format!("cannot create {}", dir.display()))?;

    let threads = opts
        .client_cpus
        .as_ref()
        .map_or_else(|| opts.settings.effective_worker_threads(), Vec::len);
    let mut ctx = Ctx {
        opts,
        dir: &dir,
        results: RunResults {
            schema_version: SCHEMA_VERSION,
            scenario_name: opts.scenario_name.clone(),
            scenario: serde_json::to_value(&opts.scenario)?,
            provenance,
            server_settings: serde_json::to_value(&opts.settings)?,
            wire_settings: Some(wire_settings(&opts.scenario)),
            floor: None,
            network: lab.as_ref().map(|lab| NetworkResult {
                configured: lab.profile().clone(),
                emulation: lab.emulation(),
                measured: None,
                delay_line: None,
                namespaces: vec![lab.client().id().to_owned(), lab.server().id().to_owned()],
            }),
            points: Vec::new(),
            complete: false,
            errors: Vec::new(),
        },
        stop: StopHandle::default(),
        started: Instant::now(),
        done: 0,
        total: opts.scenario.total_points(),
        interrupted: Arc::default(),
    };
    // From here on SIGTERM/SIGINT stop the run cleanly (also while the floor is measured or the
    // lab is set up, before any load runs): the listener has its own thread and runtime.
    let (cancel_signals, signals_cancelled) = tokio::sync::oneshot::channel::<()>();
    {
        let interrupted = Arc::clone(&ctx.interrupted);
        let stop = ctx.stop.clone();
        std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                tracing::warn!("cannot listen for SIGTERM/SIGINT: no runtime");
                return;
            };
            runtime.block_on(async move {
                tokio::select! {
                    signal = crate::serve::shutdown_signal() => {
                        let _ = interrupted.set(signal);
                        stop.stop(&Interrupted { signal }.to_string());
                    }
                    _ = signals_cancelled => {}
                }
            });
        });
    }
    ctx.save()?;
    if !opts.quiet {
        eprintln!(
            "rpcbench run: scenario {} — {} points, at least {} (servers on CPUs {:?}, load generator on {:?})",
            opts.scenario_name,
            ctx.total,
            humantime::format_duration(opts.scenario.estimated_duration()),
            opts.server_cpus,
            opts.client_cpus
        );
    }
    if let (Some(lab), Some(net)) = (&lab, ctx.results.network.as_mut()) {
        // Verify the link before measuring anything over it.
        match lab.verify() {
            Ok(m) => {
                if !opts.quiet {
                    eprintln!(
                        "rpcbench run: network {} verified: RTT min {:.3} ms, p50 {:.3} ms (configured {:.3} ms); bulk up {}, down {} (configured {})",
                        net.configured.name,
                        m.rtt.min_ns as f64 / 1e6,
                        m.rtt.p50_ns as f64 / 1e6,
                        net.configured.rtt_ns as f64 / 1e6,
                        rpcbench_model::network::format_rate(m.bandwidth_up_bps),
                        rpcbench_model::network::format_rate(m.bandwidth_down_bps),
                        net.configured.rate_bps.map_or("unshaped".into(), |r| {
                            rpcbench_model::network::format_rate(r as f64)
                        }),
                    );
                }
                net.measured = Some(m);
            }
            Err(e) => ctx
                .results
                .errors
                .push(format!("network verification failed: {e}")),
        }
        ctx.save()?;
    }
    if opts.scenario.serialization {
        let started = Instant::now();
        match measure_serialization(opts, &dir) {
            Ok(cases) => {
                if !opts.quiet {
                    eprintln!(
                        "rpcbench run: serialization: {cases} codec cases measured in {:.0} s (log: {})",
                        started.elapsed().as_secs_f64(),
                        dir.join(CODEC_LOG).display()
                    );
                }
            }
            Err(e) => ctx.results.errors.push(format!("serialization: {e:#}")),
        }
        ctx.save()?;
    }
    if lab.is_none() && opts.scenario.measure_floor && opts.scenario.targets.is_empty() {
        // (A remote target's floor is the network's between here and there; this one would be
        // this machine's loopback, so it is not measured.)
        match measure_floor(opts.server_cpus.as_deref(), 20_000) {
            Ok(floor) => ctx.results.floor = Some(floor),
            Err(e) => ctx
                .results
                .errors
                .push(format!("loopback floor not measured: {e}")),
        }
    }

    let matrix = |ctx: &mut Ctx<'_>, runtime: &tokio::runtime::Runtime| {
        runtime.block_on(run_matrix(ctx, lab.as_ref()))
    };
    let outcome = match &lab {
        None => matrix(&mut ctx, &crate::load::client_runtime(threads.max(1))?),
        // The load generator's runtime is built on a thread inside the client host, so every
        // thread and socket it makes belongs to that namespace.
        Some(l) => std::thread::scope(|s| {
            s.spawn(|| -> anyhow::Result<()> {
                l.client().enter_current_thread()?;
                matrix(&mut ctx, &crate::load::client_runtime(threads.max(1))?)
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the load generator thread panicked")))
        }),
    };
    if let Err(e) = outcome
        && !Interrupted::caused(&e)
    {
        ctx.results.errors.push(format!("{e:#}"));
    }
    if let Some(lab) = lab.as_mut() {
        match lab.finish() {
            Ok(stats) => {
                if let Some(net) = ctx.results.network.as_mut() {
                    net.delay_line = stats;
                }
            }
            Err(e) => ctx.results.errors.push(format!("{e}")),
        }
    }
    drop(cancel_signals);
    ctx.results.provenance.finished_at = Some(crate::provenance::now_rfc3339());
    // Once, whether the matrix ended on the interruption or it came between its steps.
    if let Some(&signal) = ctx.interrupted.get() {
        ctx.results.errors.push(Interrupted { signal }.to_string());
    }
    ctx.results.complete = ctx.results.errors.is_empty()
        && ctx.results.points.iter().all(|p| p.error.is_none())
        && ctx.results.points.len() == ctx.total;
    ctx.save()?;
    Ok(RunOutput {
        results: dir.join("results.json"),
        dir: dir.clone(),
        complete: ctx.results.complete,
        interrupted: ctx.interrupted.get().is_some(),
    })
}

/// TLS version, cipher suite, ALPN and compression levels of every variant in this run.
fn wire_settings(scenario: &Scenario) -> WireSettings {
    use rpcbench_servers::tls;
    WireSettings {
        tls_version: tls::TLS_VERSION.into(),
        cipher_suite: tls::CIPHER_SUITE.into(),
        key_exchange: tls::KEY_EXCHANGE.into(),
        alpn: [("HTTP/1.1", "http/1.1"), ("HTTP/2", "h2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        root_certificate: scenario.tls.contains(&TlsMode::On).then(|| "tls/ca.pem".into()),
        session_resumption: false,
        gzip_level: crate::client::GZIP_LEVEL,
        zstd_level: crate::client::ZSTD_LEVEL,
    }
}

async fn start_servers(
    opts: &RunOptions,
    dir: &Path,
    variants: &[Variant],
    lab: Option<&crate::netns::Lab>,
) -> anyhow::Result<Servers> {
    let exe = std::env::current_exe().context("cannot find the rpcbench executable")?;
    let mut extra = opts.settings.to_args();
    if let Some(cpus) = &opts.server_cpus {
        extra.push("--cpus".into());
        extra.push(cpus.iter().map(usize::to_string).collect::<Vec<_>>().join(","));
    }
    let mut servers = Servers {
        procs: BTreeMap::new(),
        remote: BTreeMap::new(),
        tls: BTreeMap::new(),
    };
    if !opts.scenario.targets.is_empty() {
        connect_targets(opts, &mut servers).await?;
        return Ok(servers);
    }
    // The lab's server address is a name of the certificate too, so outside clients in the
    // lab can check it by address.
    let extra_names: Vec<String> = lab
        .map(|_| vec![crate::netns::SERVER_ADDR.to_string()])
        .unwrap_or_default();
    // One certificate for the run, kept in its directory so outside clients can trust it.
    let certs: Option<CertFiles> = if opts.scenario.tls.contains(&TlsMode::On) {
        let files = rpcbench_servers::tls::generate_run_certificate(&dir.join("tls"), &extra_names)
            .context("cannot create the run's TLS certificate")?;
        for &variant in variants {
            let client = ClientTls::new(&files.ca, rpcbench_servers::tls::SERVER_NAME, variant.http())?;
            servers.tls.insert(variant, client);
        }
        Some(files)
    } else {
        None
    };
    for &tls in &opts.scenario.tls {
        for &variant in variants {
            let mut args = extra.clone();
            if let (TlsMode::On, Some(files)) = (tls, &certs) {
                args.extend([
                    "--tls-cert".into(),
                    files.cert.display().to_string(),
                    "--tls-key".into(),
                    files.key.display().to_string(),
                ]);
            }
            let process = match lab {
                Some(lab) => ServerProcess::start_in(&exe, variant, &args, lab.server())?,
                None => ServerProcess::start(&exe, variant, &args)?,
            };
            let addr = process.addr();
            servers.procs.insert((variant, tls), process);
            let client_tls = match tls {
                TlsMode::On => servers.tls.get(&variant),
                TlsMode::Off => None,
            };
            tokio::time::timeout(
                Duration::from_secs(10),
                health_check_with(variant, addr, &opts.settings, client_tls),
            )
            .await
            .map_err(|_| {
                anyhow::anyhow!("server {variant} at {addr} did not pass its health check within 10 s")
            })?
            .with_context(|| format!("server {variant} at {addr} failed its health check"))?;
        }
    }
    Ok(servers)
}

/// Resolves the scenario's remote targets and checks that each answers its health check.
async fn connect_targets(opts: &RunOptions, servers: &mut Servers) -> anyhow::Result<()> {
    for t in &opts.scenario.targets {
        let variant: Variant = t
            .variant
            .parse()
            .map_err(|_| anyhow::anyhow!("target {:?}: unknown variant", t.variant))?;
        let addr = crate::loadcmd::parse_target(&t.url)?;
        let stats = t
            .stats
            .as_deref()
            .map(crate::server_stats::StatsUrl::parse)
            .transpose()?;
        tokio::time::timeout(
            Duration::from_secs(10),
            health_check_with(variant, addr, &opts.settings, None),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "target {variant} at {} did not pass its health check within 10 s",
                t.url
            )
        })?
        .with_context(|| format!("target {variant} at {} failed its health check", t.url))?;
        servers.remote.insert(
            variant,
            Remote {
                addr,
                url: t.url.clone(),
                stats,
            },
        );
    }
    Ok(())
}

async fn run_matrix(ctx: &mut Ctx<'_>, lab: Option<&crate::netns::Lab>) -> anyhow::Result<()> {
    let scenario = ctx.opts.scenario.clone();
    let variants = scenario.variant_list();
    let conditions = scenario.conditions();
    let mut servers = start_servers(ctx.opts, ctx.dir, &variants, lab).await?;
    // Maximum throughput of the first repetition, per workload, condition and variant: the
    // basis of the common and sweep rates, so every repetition offers the same rates.
    let mut max_rps: BTreeMap<(usize, usize, Variant), f64> = BTreeMap::new();
    for rep in 0..scenario.repetitions {
        if scenario.points.max_throughput {
            for (ci, cond) in conditions.iter().enumerate() {
                for (wi, w) in scenario.workloads.iter().enumerate() {
                    for &variant in &variants {
                        let p = measure(ctx, &mut servers, variant, w, cond, PointKind::MaxThroughput, rep)
                            .await?;
                        if rep == 0
                            && let Some(p) = p
                            && rpcbench_reports::evidence::is_usable(&p)
                        {
                            max_rps.insert((wi, ci, variant), p.load.summary.achieved_rps);
                        }
                    }
                }
            }
        }
        for (ci, cond) in conditions.iter().enumerate() {
            for (wi, w) in scenario.workloads.iter().enumerate() {
                // Equal offered load across variants *and* TLS/compression levels (so their
                // latencies compare at the same rate); cold and warm connections differ too much
                // in capacity to share one rate, so each connection mode has its own.
                let slowest = max_rps
                    .iter()
                    .filter(|((w2, c2, _), _)| *w2 == wi && conditions[*c2].connection == cond.connection)
                    .map(|(_, v)| *v)
                    .fold(f64::INFINITY, f64::min);
                let mut kinds: Vec<(Option<Variant>, PointKind)> = Vec::new();
                for f in &scenario.points.common_rate_fractions {
                    if slowest.is_finite() && slowest > 0.0 {
                        kinds.push((
                            None,
                            PointKind::FixedRate {
                                rate_rps: (slowest * f).round().max(1.0),
                            },
                        ));
                    }
                }
                for r in &scenario.points.fixed_rates {
                    kinds.push((None, PointKind::FixedRate { rate_rps: *r }));
                }
                for f in &scenario.points.sweep_fractions {
                    for &v in &variants {
                        if let Some(max) = max_rps.get(&(wi, ci, v)) {
                            let rate_rps = (max * f).round().max(1.0);
                            kinds.push((
                                Some(v),
                                PointKind::Sweep {
                                    fraction: *f,
                                    rate_rps,
                                },
                            ));
                        }
                    }
                }
                for (only, kind) in kinds {
                    for &variant in &variants {
                        if only.is_none_or(|o| o == variant) {
                            measure(ctx, &mut servers, variant, w, cond, kind.clone(), rep).await?;
                        }
                    }
                }
            }
        }
    }
    servers.stop_all();
    Ok(())
}

/// Measures one point and appends it to the results (also when it failed).
async fn measure(
    ctx: &mut Ctx<'_>,
    servers: &mut Servers,
    variant: Variant,
    w: &WorkloadSpec,
    cond: &Condition,
    kind: PointKind,
    rep: u32,
) -> anyhow::Result<Option<PointResult>> {
    if let Some(&signal) = ctx.interrupted.get() {
        return Err(Interrupted { signal }.into());
    }
    let s = &ctx.opts.scenario;
    let shape = catalogue::parse_shape(&w.shape)?;
    let id = PointId {
        variant,
        rpc: w.rpc,
        shape,
        size: Size(w.size),
        load: load_label(&kind),
        repetition: rep,
    }
    .to_string();
    // The plain condition keeps the ids of earlier runs; others carry their label.
    let id = if cond.is_plain() {
        id
    } else {
        format!("{id}+{}", cond.label())
    };
    ctx.done += 1;
    let client_tls = match cond.tls {
        TlsMode::On => servers.tls.get(&variant).cloned(),
        TlsMode::Off => None,
    };
    let (addr, server_pid, server_stats) = match servers.remote.get(&variant) {
        Some(r) => (r.addr, None, r.stats.clone()),
        None => {
            let server = servers
                .procs
                .get_mut(&(variant, cond.tls))
                .expect("every variant has a server per TLS level");
            (server.addr(), server.pid(), None)
        }
    };
    if let Some(server) = servers.procs.get_mut(&(variant, cond.tls))
        && !server.is_running()
    {
        let msg = format!("{id}: skipped, the {variant} server is no longer running");
        ctx.progress(&msg);
        ctx.results.errors.push(msg);
        ctx.save()?;
        return Ok(None);
    }
    let call = Call::new(variant, w.rpc, shape, w.size, w.seed)?;
    let spec = LoadSpec {
        variant,
        addr,
        call: Arc::new(call),
        connections: s.connections,
        concurrency: s.connections,
        pacing: match &kind {
            PointKind::MaxThroughput => Pacing::Closed,
            PointKind::FixedRate { rate_rps } | PointKind::Sweep { rate_rps, .. } => {
                Pacing::Open { rate: *rate_rps }
            }
        },
        bound: Bound::Duration(s.duration),
        warmup: s.warmup,
        timeout: s.timeout,
        check_every: s.check_every,
        settings: ctx.opts.settings.clone(),
        connect: ConnectOptions {
            tls: client_tls,
            compression: cond.compression,
        },
        cold_every: match cond.connection {
            ConnectionMode::Warm => None,
            ConnectionMode::Cold => std::num::NonZeroU64::new(cond.requests_per_connection.unwrap_or(1)),
        },
        server_pid,
        server_stats: server_stats.clone(),
        stream: None,
        start_at: None,
    };
    let workload = Workload {
        rpc: w.rpc,
        shape,
        size: w.size,
        seed: w.seed,
    };
    let scheme = if cond.tls == TlsMode::On { "https" } else { "http" };
    let target = match servers.remote.get(&variant) {
        Some(r) => r.url.clone(),
        None => format!("{scheme}://{addr}"),
    };
    let config = load_config(&spec, &target, workload.clone());
    let outcome = crate::load::run(&spec, &ctx.stop, None).await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let msg = format!("{id}: {e}");
            ctx.progress(&msg);
            ctx.results.errors.push(msg);
            ctx.save()?;
            return Ok(None);
        }
    };
    let ok = outcome.summary.ok;
    // A remote target's memory and, when its CPU is missing, why: marked, never guessed.
    let (peak_rss_bytes, cpu_unknown) = match (server_pid, &server_stats) {
        (Some(pid), _) => (crate::procfs::peak_rss(pid), None),
        (None, Some(url)) => match url.fetch().await {
            Ok(doc) => (
                doc.peak_rss_bytes,
                outcome.server_cpu_ns.is_none().then(|| {
                    format!(
                        "stats endpoint {} did not answer at the start or end of the measured phase",
                        url.url
                    )
                }),
            ),
            Err(e) => (None, Some(e.to_string())),
        },
        (None, None) => (
            None,
            Some("remote target without a stats endpoint (--target-stats): server CPU unknown".into()),
        ),
    };
    let server_cpu = outcome
        .server_cpu_ns
        .filter(|_| ok > 0)
        .map(|ns| ns as f64 / ok as f64);
    let server_cpus = ctx.opts.server_cpus.as_ref().map_or(1, Vec::len).max(1);
    let elapsed_ns = outcome.summary.elapsed_ns as f64;
    let server_util = outcome
        .server_cpu_ns
        .filter(|_| elapsed_ns > 0.0)
        .map(|ns| ns as f64 / (elapsed_ns * server_cpus as f64));
    let hgrm_file = format!("hgrm/{}.hgrm", id.replace('/', "_"));
    write_atomic(&ctx.dir.join(&hgrm_file), hgrm_text(&outcome).as_bytes())?;
    let error = (!outcome.summary.complete).then(|| {
        outcome
            .summary
            .incomplete_reason
            .clone()
            .unwrap_or_else(|| "stopped early".into())
    });
    let point = PointResult {
        id: id.clone(),
        variant,
        workload,
        condition: cond.clone(),
        point: kind,
        repetition: rep,
        load: LoadReport {
            schema_version: SCHEMA_VERSION,
            config,
            provenance: Provenance {
                command: Vec::new(),
                ..ctx.results.provenance.clone()
            },
            summary: outcome.summary.clone(),
            histograms: histograms(&outcome)?,
            merge: None,
        },
        server: ServerStats {
            cpu_ns_per_request: server_cpu,
            cpu_utilization: server_util,
            peak_rss_bytes,
            cpu_unknown,
        },
        hgrm_file: Some(hgrm_file),
        error: error.clone(),
    };
    let sum = &outcome.summary;
    let lat = sum.latency_corrected.as_ref().unwrap_or(&sum.latency_service);
    let us = |p: Percentile| {
        lat.get(p)
            .map_or("-".into(), |v| format!("{:.0}", v as f64 / 1000.0))
    };
    let handshake = sum
        .handshake
        .as_ref()
        .and_then(|h| h.get(Percentile::P50))
        .map(|v| format!(", handshake p50 {:.0} µs", v as f64 / 1000.0))
        .unwrap_or_default();
    ctx.progress(&format!(
        "{id}: {:.0} req/s, p50 {} µs, p99 {} µs, server CPU {} µs/req ({} busy), client {} busy{handshake}{}",
        sum.achieved_rps,
        us(Percentile::P50),
        us(Percentile::P99),
        server_cpu.map_or("-".into(), |c| format!("{:.1}", c / 1000.0)),
        server_util.map_or("-".into(), |u| format!("{:.0}%", u * 100.0)),
        sum.client_cpu_utilization
            .map_or("-".into(), |u| format!("{:.0}%", u * 100.0)),
        match (&error, &sum.invalid) {
            (Some(e), _) => format!(" — FAILED: {e}"),
            (None, Some(reason)) => format!(" — INVALID (left out of every ratio): {reason}"),
            (None, None) => String::new(),
        }
    ));
    ctx.results.points.push(point.clone());
    ctx.save()?;
    if let Some(&signal) = ctx.interrupted.get() {
        return Err(Interrupted { signal }.into());
    }
    Ok(Some(point))
}

/// Whether progress lines should be quiet by default (CI, or stderr not a terminal is fine:
/// one line per point is log-friendly; only `CI` silences them unless asked).
pub fn quiet_by_default() -> bool {
    std::env::var_os("CI").is_some() && !std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_is_recognised_by_type_through_context() {
        let e: anyhow::Error = Interrupted { signal: "SIGTERM" }.into();
        assert!(Interrupted::caused(&e));
        assert_eq!(e.to_string(), "interrupted (SIGTERM)");
        let wrapped = Err::<(), _>(e).context("point rest-json-h1/unary").unwrap_err();
        assert!(Interrupted::caused(&wrapped));
        // A message that merely mentions it is not one.
        assert!(!Interrupted::caused(&anyhow::anyhow!("interrupted (SIGTERM)")));
    }
}
