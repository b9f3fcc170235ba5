//! The load generator: one loop for every variant and both modes.
//!
//! Each worker owns one client handle (its own HTTP/1.1 connection, or a stream handle on a
//! shared HTTP/2 / gRPC connection) and runs [`worker`]: take the next slot of the schedule,
//! wait for its intended time, send, fully decode, record. The *pacing* is the only difference
//! between the modes:
//!
//! - closed loop: a slot's intended time is "now" — the next request goes out as soon as the
//!   previous one on this worker completed;
//! - open loop: slot `n` of the whole run is due at `start + n / rate`; whichever worker is free
//!   takes the next released slot (a busy connection never delays a slot another one could
//!   send). Latency is measured from the intended time (coordinated-omission corrected); the service time (from the actual send) and
//!   the pacer's lag (actual − intended send) are recorded too.
//!
//! tokio's timer ticks in milliseconds and loopback RPCs take tens of microseconds, so open-loop
//! slots are released by a [`Pacer`]: a dedicated thread that sleeps with `clock_nanosleep` on
//! absolute `CLOCK_MONOTONIC` deadlines (timer slack 1 ns) and hands each slot, [`PACER_LEAD`]
//! before it is due, to whichever worker of its schedule is free; that worker yields for the last
//! few tens of microseconds (the lead absorbs the thread wake-up), then sends. Nothing spins for
//! longer than the lead, so the client's CPU is spent on requests, not on waiting; the lag
//! (actual − intended send) is recorded, not hidden. Workers whose schedule the server or a
//! publisher keeps (stream receivers) are not paced; they count their slots.
//!
//! Every histogram is a constant-memory HdrHistogram per worker, merged at the end, reset after
//! the warm-up (requests due before the measured phase are not recorded).
//!
//! Cold connections ([`LoadSpec::cold_every`]): a worker opens a new connection (TCP, with TLS
//! a full handshake, HTTP/2 preface) before every N-th request. Opening it is timed into its own
//! histogram; the service time starts once the connection is up, and the corrected latency (open
//! loop) is still measured from the intended send time, so it includes the handshake.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use rpcbench_reports::{
    Condition, ConnectionMode, ErrorKind, ErrorStatus, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG,
    LATE_SEND_THRESHOLD_NS, LatencyStats, LoadSummary, MeasuredWindow, TlsMode, WarmupCounts, WireStats,
};
use rpcbench_servers::{HttpVersion, ServerSettings, Variant};

use rpcbench_proto::Shape;
use rpcbench_proto::pb::Payload;
use rpcbench_reports::StreamSummary;

use crate::client::{Call, Client, ClientError, ConnectOptions, WireCounters};
use crate::exchange::{Exchanged, PublishTimes, SentClock, Worker};
use crate::stream_client::{
    MessageStream, Publisher, StreamKind, Target, Transport, feed_request, room_request,
};

/// The pacer releases a slot this long before it is due, and the worker that takes it yields
/// until it is due: enough to absorb the timer and cross-thread wake-ups, small enough that the
/// waiting costs at most ~4% of a core at 1,000 req/s.
pub const PACER_LEAD: Duration = Duration::from_micros(40);
/// The pacer never sleeps longer than this at once, so a stop is noticed promptly.
const PACER_MAX_SLEEP: Duration = Duration::from_millis(20);

/// How the schedule is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Next request when the previous one on the worker completed.
    Closed,
    /// Fixed schedule at `rate` requests per second across all workers.
    Open { rate: f64 },
}

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Duration(Duration),
    Requests(u64),
}

/// A fully validated load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub variant: Variant,
    pub addr: SocketAddr,
    pub call: Arc<Call>,
    pub connections: u32,
    /// Workers: requests in flight at most (closed loop: exactly).
    pub concurrency: u32,
    pub pacing: Pacing,
    pub bound: Bound,
    pub warmup: Duration,
    pub timeout: Duration,
    /// Check the content of every n-th response (and the first).
    pub check_every: u64,
    /// Client-side fairness settings (TCP_NODELAY, HTTP/2 windows, body limit).
    pub settings: ServerSettings,
    /// TLS and compression.
    pub connect: ConnectOptions,
    /// Cold connections: a new connection before every N-th request of a worker.
    pub cold_every: Option<NonZeroU64>,
    /// The server's process, when known: its CPU time over the measured phase is recorded.
    pub server_pid: Option<u32>,
    /// A server elsewhere: its stats endpoint, read at the start and end of the measured phase
    /// (used when `server_pid` is `None`).
    pub server_stats: Option<crate::server_stats::StatsUrl>,
    /// Agreed wall-clock start of the measured phase (`--start-at`), shared by generators.
    pub start_at: Option<SystemTime>,
    /// A streaming load instead of unary calls (`call` is then unused).
    pub stream: Option<StreamLoad>,
}

/// A streaming load. The schedule is per message: `Pacing::Open { rate }` is messages per
/// second over all feed or chat streams, or the broadcast publisher's rate.
#[derive(Debug, Clone)]
pub struct StreamLoad {
    pub kind: StreamKind,
    pub transport: Transport,
    /// Feed and chat: streams, spread over the connections (one per connection unless the
    /// transport multiplexes). Broadcast: subscribers, one connection each.
    pub streams: u32,
    /// The catalogue payload every message carries.
    pub shape: Shape,
    pub size: u64,
    pub seed: u64,
    pub payload: Arc<Payload>,
    /// Broadcast room.
    pub room: String,
}

/// Why a load could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "HTTP/1.1 carries one request per connection at a time: --concurrency ({concurrency}) must equal --connections ({connections}) for {variant}"
    )]
    H1Concurrency {
        variant: Variant,
        connections: u32,
        concurrency: u32,
    },
    #[error(
        "cold connections need one connection per worker: --concurrency ({concurrency}) must equal --connections ({connections})"
    )]
    ColdShared { connections: u32, concurrency: u32 },
    #[error("--concurrency ({concurrency}) must be at least --connections ({connections})")]
    TooFewWorkers { connections: u32, concurrency: u32 },
    #[error(
        "the agreed start time {} passed {:.3} s ago: give the generators a time far enough ahead to connect",
        humantime::format_rfc3339_nanos(*at),
        passed.as_secs_f64()
    )]
    StartPassed { at: SystemTime, passed: Duration },
    #[error(transparent)]
    Connect(#[from] ClientError),
    #[error(transparent)]
    Cap(#[from] crate::caps::CapError),
    #[error("{0}")]
    Stream(String),
}

/// Counters and histograms of one worker (and, merged, of the whole load).
#[derive(Debug, Clone)]
pub struct Recorder {
    pub ok: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub error_statuses: BTreeMap<ErrorStatus, u64>,
    pub checked: u64,
    pub late_sends: u64,
    /// Open loop: slots of the measured phase taken after its end, so not sent; stream
    /// receivers: slots of the window whose message never came.
    pub missed: u64,
    pub corrected: Histogram<u64>,
    pub service: Histogram<u64>,
    pub pacer_lag: Histogram<u64>,
    /// Connection set-up times (cold connections).
    pub handshake: Histogram<u64>,
    pub connections_opened: u64,
    /// Requests due during the warm-up: counted apart, never in the histograms above.
    pub warmup: WarmupCounts,
}

/// A new empty latency histogram with the schema's bounds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).expect("constant bounds are valid")
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            ok: 0,
            errors: BTreeMap::new(),
            error_statuses: BTreeMap::new(),
            checked: 0,
            late_sends: 0,
            missed: 0,
            corrected: new_histogram(),
            service: new_histogram(),
            pacer_lag: new_histogram(),
            handshake: new_histogram(),
            connections_opened: 0,
            warmup: WarmupCounts::default(),
        }
    }
}

impl Recorder {
    fn merge(&mut self, other: &Recorder) {
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        for (k, v) in &other.error_statuses {
            *self.error_statuses.entry(*k).or_default() += v;
        }
        self.checked += other.checked;
        self.late_sends += other.late_sends;
        self.missed += other.missed;
        // Same bounds everywhere, so adding cannot fail.
        let _ = self.corrected.add(&other.corrected);
        let _ = self.service.add(&other.service);
        let _ = self.pacer_lag.add(&other.pacer_lag);
        let _ = self.handshake.add(&other.handshake);
        self.connections_opened += other.connections_opened;
        self.warmup.add(&other.warmup);
    }

    fn error(&mut self, e: &ClientError) {
        *self.errors.entry(e.kind()).or_default() += 1;
        *self.error_statuses.entry(e.status_key()).or_default() += 1;
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The result of a load: summary plus the merged histograms.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    pub summary: LoadSummary,
    /// CPU time the server process used during the measured phase (when `server_pid` is set).
    pub server_cpu_ns: Option<u64>,
    pub recorder: Recorder,
    pub pacing: Pacing,
    /// Broadcast: the publisher's own counters and histograms (not part of `recorder`).
    pub publisher: Option<Recorder>,
}

/// State shared by the workers of one load.
struct Shared {
    start: Instant,
    measure_start: Instant,
    /// The measured phase's end (duration-bounded) or the deadline of a count-bounded load.
    end: Instant,
    request_limit: Option<u64>,
    claimed: AtomicU64,
    stop: AtomicBool,
    abort: Mutex<Option<String>>,
    completed: AtomicU64,
}

impl Shared {
    /// Whether the load was stopped from outside or by a failure (before the workers ended).
    fn stop_requested(&self) -> bool {
        self.abort.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn abort(&self, reason: String) {
        let mut slot = self.abort.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(reason);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Handle to stop a running load from outside (Ctrl-C).
#[derive(Clone, Default)]
pub struct StopHandle(Arc<Mutex<Option<Arc<Shared>>>>);

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopHandle")
    }
}

impl StopHandle {
    /// Stops the load; its results are marked incomplete with `reason`.
    pub fn stop(&self, reason: &str) {
        if let Some(shared) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            shared.abort(reason.to_owned());
        }
    }
}

/// Live numbers for a progress display.
pub type ProgressFn = Box<dyn Fn(f64, u64, Option<u64>) + Send + Sync>;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Connects `spec.connections` connections and hands out `spec.concurrency` worker handles.
async fn connect_all(spec: &LoadSpec, counters: &Arc<WireCounters>) -> Result<Vec<Client>, LoadError> {
    let http1 = spec.variant.http() == HttpVersion::Http1;
    if http1 && spec.concurrency != spec.connections {
        return Err(LoadError::H1Concurrency {
            variant: spec.variant,
            connections: spec.connections,
            concurrency: spec.concurrency,
        });
    }
    if spec.cold_every.is_some() && spec.concurrency != spec.connections {
        return Err(LoadError::ColdShared {
            connections: spec.connections,
            concurrency: spec.concurrency,
        });
    }
    if spec.concurrency < spec.connections {
        return Err(LoadError::TooFewWorkers {
            connections: spec.connections,
            concurrency: spec.concurrency,
        });
    }
    let mut conns = Vec::new();
    for _ in 0..spec.connections {
        conns.push(spec.open(Arc::clone(counters)).await?);
    }
    // Worker i uses connection i % C; HTTP/2 and gRPC handles multiplex streams on it.
    let mut handles: Vec<Option<Client>> = conns.into_iter().map(Some).collect();
    let mut workers: Vec<Client> = Vec::new();
    for i in 0..spec.concurrency as usize {
        let c = i % handles.len();
        let client = if i < handles.len() {
            handles[c].take().expect("each connection is taken once")
        } else {
            workers[c].stream().ok_or(LoadError::H1Concurrency {
                variant: spec.variant,
                connections: spec.connections,
                concurrency: spec.concurrency,
            })?
        };
        workers.push(client);
    }
    Ok(workers)
}

impl LoadSpec {
    /// The TLS, compression and connection condition of this load.
    pub fn condition(&self) -> Condition {
        Condition {
            tls: if self.connect.tls.is_some() {
                TlsMode::On
            } else {
                TlsMode::Off
            },
            compression: self.connect.compression,
            connection: match self.cold_every {
                Some(_) => ConnectionMode::Cold,
                None => ConnectionMode::Warm,
            },
            requests_per_connection: self.cold_every.map(NonZeroU64::get),
        }
    }

    /// Opens one connection of this load (TLS and compression as configured).
    pub async fn open(&self, counters: Arc<WireCounters>) -> Result<Client, ClientError> {
        Client::connect_with(self.variant, self.addr, &self.settings, &self.connect, counters).await
    }
}

/// Runs one load to the end (or until stopped), returning what was measured.
pub async fn run(
    spec: &LoadSpec,
    stop: &StopHandle,
    progress: Option<ProgressFn>,
) -> Result<LoadOutcome, LoadError> {
    // Rates derived during a run (common rates, sweeps) meet the same cap as the flags and
    // scenario files: a slot interval that rounds towards 0 ns would never end a point.
    if let Pacing::Open { rate } = spec.pacing {
        crate::caps::rate("rate", rate)?;
    }
    let counters = Arc::new(WireCounters::default());
    let workers: Vec<Planned> = match &spec.stream {
        None => connect_all(spec, &counters)
            .await?
            .into_iter()
            .map(|c| Planned::global(Worker::Unary(c)))
            .collect(),
        Some(stream) => connect_streams(spec, stream, &counters).await?,
    };

    let (start, measure_start) = schedule_start(spec).await?;
    let shared = Arc::new(Shared {
        start,
        measure_start,
        end: measure_start
            + match spec.bound {
                Bound::Duration(d) => d,
                Bound::Requests(n) => count_deadline(n, workers.len(), spec.timeout, spec.pacing),
            },
        request_limit: match spec.bound {
            Bound::Requests(n) => Some(n),
            Bound::Duration(_) => None,
        },
        claimed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        abort: Mutex::new(None),
        completed: AtomicU64::new(0),
    });
    *stop.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&shared));

    let n_workers = workers.len() as u64;
    let recorders: Vec<Arc<Mutex<Recorder>>> = (0..n_workers)
        .map(|_| Arc::new(Mutex::new(Recorder::default())))
        .collect();

    // Snapshot CPU and wire counters when the measured phase begins. Workers never record a
    // request due before that instant, so the histograms start empty after the warm-up.
    let baseline = {
        let counters = Arc::clone(&counters);
        let server_pid = spec.server_pid;
        let server_stats = spec.server_stats.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_start.into()).await;
            let server = server_cpu_ns(server_pid, server_stats.as_ref()).await;
            (cpu_time(), counters.snapshot(), Instant::now(), server)
        })
    };

    let progress_task = progress.map(|report| {
        let shared = Arc::clone(&shared);
        let recorders = recorders.clone();
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = shared.completed.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate = (done - last.1) as f64 / (now - last.0).as_secs_f64();
                last = (now, done);
                let mut merged = new_histogram();
                for r in &recorders {
                    let r = r.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = merged.add(&r.service);
                }
                let p99 = (!merged.is_empty()).then(|| merged.value_at_quantile(0.99));
                report((now - shared.start).as_secs_f64(), rate as u64, p99);
            }
        })
    });

    let roles: Vec<Role> = workers.iter().map(|p| p.role).collect();
    let interval = match spec.pacing {
        Pacing::Open { rate } => Some(Duration::from_secs_f64(1.0 / rate)),
        Pacing::Closed => None,
    };
    // Open loop: every paced worker takes its slots from a schedule the pacer thread releases —
    // the load's one global schedule, or a schedule of its own.
    let mut pacer = Pacer::default();
    let mut global: Option<Arc<Schedule>> = None;
    let mut tasks = Vec::new();
    for (k, planned) in workers.into_iter().enumerate() {
        let slots = match (interval, planned.slots) {
            (None, _) => SlotSource::Closed { next: 0 },
            (Some(iv), Slots::Global) => SlotSource::Paced(Arc::clone(
                global.get_or_insert_with(|| pacer.add(shared.start, iv)),
            )),
            (Some(iv), Slots::Own { origin, scale }) => {
                let origin = origin.unwrap_or(shared.start);
                let interval = Duration::from_nanos(nanos(iv).saturating_mul(scale));
                if planned.worker.paced() {
                    SlotSource::Paced(pacer.add(origin, interval))
                } else {
                    SlotSource::Counted {
                        origin,
                        interval,
                        next: 0,
                    }
                }
            }
        };
        let worker_ctx = WorkerCtx {
            slots,
            spec: spec.clone(),
            shared: Arc::clone(&shared),
            recorder: Arc::clone(&recorders[k]),
            counters: Arc::clone(&counters),
        };
        tasks.push(tokio::spawn(worker(worker_ctx, planned.worker)));
    }
    let schedules = pacer.schedules.clone();
    let pacer_thread = (!schedules.is_empty()).then(|| {
        let shared = Arc::clone(&shared);
        let wake = tasks.len();
        std::thread::Builder::new()
            .name("rpcbench-pacer".into())
            .spawn(move || pacer.run(&shared, wake))
    });
    if let Some(Err(e)) = &pacer_thread {
        shared.abort(format!("cannot start the pacer thread: {e}"));
        // Nothing will release a slot: the waiting workers return.
        for schedule in &schedules {
            schedule.permits.close();
        }
    }
    for t in tasks {
        if let Err(e) = t.await {
            shared.abort(format!("a load worker failed: {e}"));
        }
    }
    // The workers are done; a pacer still sleeping towards the end of the schedule stops now.
    shared.stop.store(true, Ordering::SeqCst);
    let mut pacer_release_late: Option<(Histogram<u64>, bool)> = None;
    if let Some(Ok(t)) = pacer_thread {
        match t.join() {
            Ok(h) => pacer_release_late = Some(h),
            Err(_) => shared.abort("the pacer thread panicked".into()),
        }
    }
    let finished = Instant::now();
    // Slots of the measured phase the pacer released that no worker took (every worker had
    // stopped at the deadline): missed like those taken too late.
    let unsent = match (&global, spec.bound) {
        (Some(g), Bound::Duration(_)) => {
            let released = g.released.load(Ordering::SeqCst);
            let taken = g.taken.load(Ordering::SeqCst);
            let iv = nanos(g.interval).max(1);
            let first_measured = nanos(measure_start.saturating_duration_since(g.origin)).div_ceil(iv);
            released.saturating_sub(taken.max(first_measured))
        }
        _ => 0,
    };
    // A count-bounded load that reached its deadline before sending every request: stopped, and
    // (open loop) the slots never sent are missed.
    let mut unsent = unsent;
    if let Bound::Requests(n) = spec.bound {
        let claimed = shared.claimed.load(Ordering::SeqCst);
        if claimed < n && !shared.stop_requested() {
            shared.abort(format!(
                "stopped at the count-bounded deadline ({:?} after the warm-up) with {claimed} of {n} requests sent",
                count_deadline(n, n_workers as usize, spec.timeout, spec.pacing)
            ));
            unsent = n - claimed;
        }
    }
    let server_cpu_end = server_cpu_ns(spec.server_pid, spec.server_stats.as_ref()).await;
    if let Some(p) = progress_task {
        p.abort();
    }
    let (cpu_start, wire_start, measured_from, server_cpu_start) = if baseline.is_finished() {
        baseline
            .await
            .unwrap_or_else(|_| (cpu_time(), counters.snapshot(), finished, server_cpu_end))
    } else {
        // Stopped before the warm-up ended: nothing was measured.
        baseline.abort();
        (cpu_time(), counters.snapshot(), finished, server_cpu_end)
    };
    let cpu_used = cpu_time().saturating_sub(cpu_start);
    let wire_end = counters.snapshot();

    let mut total = Recorder::default();
    let mut publisher: Option<Recorder> = None;
    // Broadcast: the subscriber whose corrected p99 is highest.
    let mut slowest: Option<Recorder> = None;
    for (r, role) in recorders.iter().zip(&roles) {
        let r = r.lock().unwrap_or_else(|p| p.into_inner());
        match role {
            Role::Measure => {
                total.merge(&r);
                let p99 =
                    |x: &Recorder| (!x.corrected.is_empty()).then(|| x.corrected.value_at_quantile(0.99));
                if slowest.as_ref().is_none_or(|s| p99(&r) > p99(s)) {
                    slowest = Some(r.clone());
                }
            }
            Role::Publisher => publisher = Some(r.clone()),
        }
    }
    let stream_summary = spec.stream.as_ref().map(|s| {
        let broadcast = s.kind == StreamKind::Broadcast;
        StreamSummary {
            kind: s.kind.as_str().into(),
            transport: s.transport.as_str().into(),
            streams: s.streams,
            published: publisher.as_ref().map(|p| p.ok),
            slowest_subscriber: slowest
                .as_ref()
                .filter(|_| broadcast)
                .map(|r| LatencyStats::from_histogram(&r.corrected)),
            publish_latency: publisher
                .as_ref()
                .map(|p| LatencyStats::from_histogram(&p.corrected)),
            server_cpu_ns_per_message: None,
        }
    });
    let elapsed = finished.saturating_duration_since(measured_from);
    let abort = shared.abort.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let open = matches!(spec.pacing, Pacing::Open { .. });
    // The pacer's own release lateness and scheduling class (open loop only).
    let pacer = pacer_release_late.filter(|_| open);
    let per_request = |v: u64| (total.ok > 0).then(|| v as f64 / total.ok as f64);
    let window = MeasuredWindow {
        start_unix_ns: unix_ns(wall_clock(measured_from)),
        end_unix_ns: unix_ns(wall_clock(finished)),
    };
    let summary = LoadSummary {
        window: Some(window),
        start_skew_ns: spec
            .start_at
            .map(|at| window.start_unix_ns as i64 - unix_ns(at) as i64),
        stream: stream_summary,
        complete: abort.is_none(),
        incomplete_reason: abort,
        ok: total.ok,
        errors: total.errors.clone(),
        error_statuses: total.error_statuses.clone(),
        checked: total.checked,
        elapsed_ns: nanos(elapsed),
        achieved_rps: if elapsed.is_zero() {
            0.0
        } else {
            total.ok as f64 / elapsed.as_secs_f64()
        },
        target_rps: match spec.pacing {
            Pacing::Open { rate } => Some(rate),
            Pacing::Closed => None,
        },
        late_sends: open.then_some(total.late_sends),
        missed_slots: open.then_some(total.missed + unsent),
        invalid: None,
        latency_corrected: open.then(|| LatencyStats::from_histogram(&total.corrected)),
        latency_service: LatencyStats::from_histogram(&total.service),
        pacer_lag: open.then(|| LatencyStats::from_histogram(&total.pacer_lag)),
        pacer_release_late: pacer.as_ref().map(|(h, _)| LatencyStats::from_histogram(h)),
        late_releases: pacer
            .as_ref()
            .map(|(h, _)| h.len() - h.count_between(0, LATE_SEND_THRESHOLD_NS)),
        pacer_realtime: pacer.as_ref().map(|(_, rt)| *rt),
        client_cpu_ns_per_request: per_request(cpu_used),
        client_cpu_utilization: (!elapsed.is_zero()).then(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            cpu_used as f64 / (elapsed.as_nanos() as f64 * cpus as f64)
        }),
        wire: match (
            per_request(wire_end.0 - wire_start.0),
            per_request(wire_end.1 - wire_start.1),
        ) {
            (Some(sent), Some(received)) => Some(WireStats {
                request_bytes_per_request: sent,
                response_bytes_per_request: received,
            }),
            _ => None,
        },
        handshake: spec
            .cold_every
            .map(|_| LatencyStats::from_histogram(&total.handshake)),
        connections_opened: spec.cold_every.map(|_| total.connections_opened),
        warmup: (!spec.warmup.is_zero()).then_some(total.warmup),
    };
    let server_cpu_ns = match (server_cpu_start, server_cpu_end) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let mut summary = summary;
    summary.invalid = summary.invalid_reason();
    if let Some(stream) = &mut summary.stream {
        stream.server_cpu_ns_per_message = server_cpu_ns
            .filter(|_| total.ok > 0)
            .map(|cpu| cpu as f64 / total.ok as f64);
    }
    Ok(LoadOutcome {
        summary,
        server_cpu_ns,
        recorder: total,
        pacing: spec.pacing,
        publisher,
    })
}

/// How long after the warm-up a count-bounded load (`--requests n`) may run, whatever the server
/// does: every request timing out in turn on each of the `workers` (plus one more timeout for a
/// reconnect or a cold connection's handshake) and, open loop, at least the schedule's own
/// length; capped at [`crate::caps::MAX_DURATION`]. Requests in flight at the deadline still
/// get their timeout, so the load ends within this plus one timeout.
fn count_deadline(n: u64, workers: usize, timeout: Duration, pacing: Pacing) -> Duration {
    let rounds = n.div_ceil(workers.max(1) as u64).saturating_add(1);
    let all_time_out = timeout.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
    let schedule = match pacing {
        Pacing::Open { rate } => {
            Duration::try_from_secs_f64(n as f64 / rate).unwrap_or(crate::caps::MAX_DURATION)
        }
        Pacing::Closed => Duration::ZERO,
    };
    all_time_out
        .max(schedule.saturating_add(timeout))
        .min(crate::caps::MAX_DURATION)
}

/// When the load begins and when its measured phase begins. Without `start_at`: now, and
/// after the warm-up. With it: the measured phase begins at the agreed wall-clock time and the
/// warm-up is the `warmup` before it (shortened, with a warning, if the connections took part
/// of it); this waits until the load begins.
async fn schedule_start(spec: &LoadSpec) -> Result<(Instant, Instant), LoadError> {
    let now = Instant::now();
    let Some(at) = spec.start_at else {
        return Ok((now, now + spec.warmup));
    };
    let until = at
        .duration_since(SystemTime::now())
        .map_err(|e| LoadError::StartPassed {
            at,
            passed: e.duration(),
        })?;
    let measure_start = now + until;
    let start = match measure_start.checked_sub(spec.warmup) {
        Some(s) if s >= now => s,
        _ => {
            tracing::warn!(
                warmup = ?spec.warmup,
                left = ?until,
                "the agreed start is closer than the warm-up: warming up for the time left"
            );
            now
        }
    };
    tokio::time::sleep_until(start.into()).await;
    Ok((start, measure_start))
}

/// The wall-clock time of a monotonic instant in the past (or now).
fn wall_clock(t: Instant) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(t)
}

fn unix_ns(t: SystemTime) -> u64 {
    nanos(t.duration_since(UNIX_EPOCH).unwrap_or_default())
}

struct WorkerCtx {
    slots: SlotSource,
    spec: LoadSpec,
    shared: Arc<Shared>,
    recorder: Arc<Mutex<Recorder>>,
    counters: Arc<WireCounters>,
}

/// Where a worker's next slot and its intended time come from.
enum SlotSource {
    /// Closed loop: slots `0, 1, 2, …`, each due now.
    Closed { next: u64 },
    /// Open loop, the client sends on the schedule: slots released by the pacer thread.
    Paced(Arc<Schedule>),
    /// Open loop, the server or the publisher keeps the schedule (stream receivers): slots
    /// `0, 1, 2, …` due at `origin + n × interval`, taken as the messages arrive.
    Counted {
        origin: Instant,
        interval: Duration,
        next: u64,
    },
}

impl SlotSource {
    /// The next slot and its intended time; `None` once the pacer ended the schedule.
    async fn next(&mut self) -> Option<(u64, Instant)> {
        match self {
            SlotSource::Closed { next } => {
                *next += 1;
                Some((*next - 1, Instant::now()))
            }
            SlotSource::Paced(schedule) => schedule.next_slot().await,
            SlotSource::Counted {
                origin,
                interval,
                next,
            } => {
                *next += 1;
                Some((*next - 1, due(*origin, *interval, *next - 1)))
            }
        }
    }

    fn open(&self) -> bool {
        !matches!(self, SlotSource::Closed { .. })
    }
}

/// Slot `n` of a schedule: `origin + n × interval`, in integer nanoseconds (`n × interval` in f64
/// seconds would lose nanoseconds on long runs).
fn due(origin: Instant, interval: Duration, n: u64) -> Instant {
    origin + Duration::from_nanos(nanos(interval).saturating_mul(n))
}

/// Who a worker's recorder belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Its requests or messages are what the load measures.
    Measure,
    /// The broadcast publisher: its calls drive the load but are reported apart.
    Publisher,
}

/// Where a worker's slots lie on the schedule.
#[derive(Debug, Clone, Copy)]
enum Slots {
    /// Unary and chat: the load's one schedule, shared by the workers (whichever is free takes
    /// the next slot the pacer releases).
    Global,
    /// Its own sequence `0, 1, 2, …` due at `origin + n * scale / rate`: a feed stream (origin =
    /// when it was requested, `scale` = streams, so the streams add up to the rate), or a
    /// broadcast subscriber or publisher (origin = the load's start, `scale` = 1).
    Own { origin: Option<Instant>, scale: u64 },
}

/// A connected worker and its place on the schedule.
struct Planned {
    worker: Worker,
    slots: Slots,
    role: Role,
}

impl Planned {
    fn global(worker: Worker) -> Planned {
        Planned {
            worker,
            slots: Slots::Global,
            role: Role::Measure,
        }
    }
}

/// Opens the streams of a streaming load (and the broadcast publisher).
async fn connect_streams(
    spec: &LoadSpec,
    s: &StreamLoad,
    counters: &Arc<WireCounters>,
) -> Result<Vec<Planned>, LoadError> {
    s.transport
        .check(spec.variant, s.kind)
        .map_err(LoadError::Stream)?;
    let interval_ns = match spec.pacing {
        Pacing::Open { rate } => nanos(Duration::from_secs_f64(1.0 / rate)),
        Pacing::Closed => 0,
    };
    let connect = || Client::connect(spec.variant, spec.addr, &spec.settings, Arc::clone(counters));
    let open = |client: Option<Client>, target: Target| async move {
        MessageStream::open(
            spec.variant,
            client,
            spec.addr,
            &spec.settings,
            Arc::clone(counters),
            s.transport,
            &target,
        )
        .await
    };
    // HTTP/2 and gRPC streams share the load's connections; HTTP/1.1 and WebSocket streams each
    // need their own.
    let multiplex = s.transport != Transport::Ws && spec.variant.http() == HttpVersion::Http2;
    let mut shared_conns = Vec::new();
    if multiplex && s.kind != StreamKind::Broadcast {
        for _ in 0..spec.connections.min(s.streams).max(1) {
            shared_conns.push(connect().await?);
        }
    }
    let client_for = |i: u32, shared_conns: &Vec<Client>| {
        shared_conns
            .get(i as usize % shared_conns.len().max(1))
            .and_then(Client::stream)
    };
    let mut planned = Vec::new();
    match s.kind {
        StreamKind::Feed => {
            let per_stream_ns = interval_ns.saturating_mul(u64::from(s.streams));
            let count = match (per_stream_ns, spec.bound) {
                (0, _) => rpcbench_servers::stream::MAX_FEED_COUNT,
                // Every message the load can ask for, plus slack for connecting; the client
                // cancels the stream when the load ends.
                (iv, Bound::Duration(d)) => nanos(spec.warmup + d + Duration::from_secs(2)) / iv + 1,
                (iv, Bound::Requests(n)) => nanos(spec.warmup + Duration::from_secs(2)) / iv + n + 1,
            }
            .min(rpcbench_servers::stream::MAX_FEED_COUNT);
            for i in 0..s.streams {
                let origin = Instant::now();
                let req = feed_request(s.shape, s.size, s.seed, count, per_stream_ns);
                let stream = open(client_for(i, &shared_conns), Target::Subscribe(req)).await?;
                planned.push(Planned {
                    worker: Worker::Receive {
                        stream,
                        expected: Arc::clone(&s.payload),
                        clock: SentClock::Server { origin },
                    },
                    slots: Slots::Own {
                        origin: Some(origin),
                        scale: u64::from(s.streams),
                    },
                    role: Role::Measure,
                });
            }
        }
        StreamKind::Chat => {
            for i in 0..s.streams {
                let stream = open(client_for(i, &shared_conns), Target::Chat).await?;
                planned.push(Planned::global(Worker::Chat {
                    stream,
                    payload: s.payload.as_ref().clone(),
                }));
            }
        }
        StreamKind::Broadcast => {
            if interval_ns == 0 {
                return Err(LoadError::Stream(
                    "a broadcast load needs --rate (the publisher's schedule)".into(),
                ));
            }
            let times = Arc::new(PublishTimes::new(Instant::now()));
            let own = Slots::Own {
                origin: None,
                scale: 1,
            };
            for _ in 0..s.streams {
                // One connection per subscriber on every transport.
                let stream = open(None, Target::Subscribe(room_request(&s.room, 0))).await?;
                planned.push(Planned {
                    worker: Worker::Receive {
                        stream,
                        expected: Arc::clone(&s.payload),
                        clock: SentClock::Publisher(Arc::clone(&times)),
                    },
                    slots: own,
                    role: Role::Measure,
                });
            }
            let publisher = Publisher::new(
                connect().await?,
                &s.room,
                s.payload.as_ref().clone(),
                u64::from(s.streams),
            )?;
            planned.push(Planned {
                worker: Worker::Publish { publisher, times },
                slots: own,
                role: Role::Publisher,
            });
        }
    }
    Ok(planned)
}

/// Runs one worker to its end. A stream receiver (whose schedule the server or the publisher
/// keeps) then counts as missed the slots of the measured window it never received: its stream
/// stalled or failed, so they were not delivered on schedule within the window — the same
/// count the unary open loop keeps for slots it could not send.
async fn worker(ctx: WorkerCtx, worker: Worker) {
    let counted = match ctx.slots {
        SlotSource::Counted { origin, interval, .. } => Some((origin, interval)),
        _ => None,
    };
    let shared = Arc::clone(&ctx.shared);
    let recorder = Arc::clone(&ctx.recorder);
    let publisher_stops = match &worker {
        Worker::Publish { times, .. } => Some(Arc::clone(times)),
        _ => None,
    };
    exchange_loop(ctx, worker).await;
    if let Some(times) = publisher_stops {
        times.finish();
    }
    // Count-bounded loads have no window to miss slots in (what they did not get is counted
    // against the request count instead).
    if let Some((origin, interval)) = counted
        && shared.request_limit.is_none()
    {
        // Stopped early (interrupted, the server gone): only the slots due until now.
        let window_end = if shared.stop.load(Ordering::SeqCst) {
            shared.end.min(Instant::now())
        } else {
            shared.end
        };
        let due = slots_due(origin, interval, shared.measure_start, window_end);
        let mut r = recorder.lock().unwrap_or_else(|p| p.into_inner());
        let taken = r.ok + r.error_total();
        r.missed += due.saturating_sub(taken);
    }
}

/// How many slots of the schedule `origin + n × interval` are due in `[from, to)`.
fn slots_due(origin: Instant, interval: Duration, from: Instant, to: Instant) -> u64 {
    let iv = nanos(interval).max(1);
    // Slots due before `t`: the n with origin + n × iv < t.
    let before = |t: Instant| nanos(t.saturating_duration_since(origin)).div_ceil(iv);
    before(to).saturating_sub(before(from))
}

/// The one load loop.
async fn exchange_loop(ctx: WorkerCtx, mut worker: Worker) {
    let WorkerCtx {
        mut slots,
        spec,
        shared,
        recorder,
        counters,
    } = ctx;
    let open = slots.open();
    let paced = matches!(slots, SlotSource::Paced(_));
    // A broadcast subscriber stops when the publisher has stopped short of its next message
    // (the slots left are then counted as missed, not as timeouts).
    let publisher = match &worker {
        Worker::Receive { .. } => worker.publish_times(),
        _ => None,
    };
    // The deadline: past the measured phase's end nothing new is sent; requests in flight get
    // their timeout, so a point ends within its duration plus one request timeout.
    let past_deadline = || Instant::now() >= shared.end;
    let mut sent_count = 0u64;
    // Requests sent on the current connection (cold connections only).
    let mut on_connection = 0u64;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        // Paced: waits for the pacer to release a slot, then until it is due.
        let Some((slot, intended)) = slots.next().await else {
            return;
        };
        if intended >= shared.end {
            return;
        }
        let measured = intended >= shared.measure_start;
        if paced && !measured && Instant::now() >= shared.measure_start {
            // A warm-up slot still waiting when the measured phase begins: dropped, so a
            // warm-up backlog never displaces the measured phase's own slots.
            continue;
        }
        if paced && past_deadline() {
            // Released in time but no connection was free before the end: missed, not sent late.
            if measured {
                recorder.lock().unwrap_or_else(|p| p.into_inner()).missed += 1;
            }
            continue;
        }
        if measured
            && let Some(limit) = shared.request_limit
            && shared.claimed.fetch_add(1, Ordering::Relaxed) >= limit
        {
            return;
        }
        if let Some(every) = spec.cold_every
            && matches!(worker, Worker::Unary(_))
        {
            if on_connection >= every.get() {
                let t0 = Instant::now();
                // Bounded like a request, so a server that accepts and never answers the
                // handshake cannot hold the worker past the deadline.
                let opened = tokio::time::timeout(spec.timeout, spec.open(Arc::clone(&counters)))
                    .await
                    .unwrap_or(Err(ClientError::Timeout(spec.timeout)));
                match opened {
                    // Replacing the worker closes the previous connection.
                    Ok(c) => worker = Worker::Unary(c),
                    Err(e) => {
                        shared.abort(format!(
                            "server {} at {} is unreachable: cannot open a new connection: {e}",
                            spec.variant, spec.addr
                        ));
                        return;
                    }
                }
                if measured {
                    let mut r = recorder.lock().unwrap_or_else(|p| p.into_inner());
                    r.handshake.saturating_record(nanos(t0.elapsed()).max(1));
                    r.connections_opened += 1;
                }
                on_connection = 0;
                if paced && past_deadline() {
                    if measured {
                        recorder.lock().unwrap_or_else(|p| p.into_inner()).missed += 1;
                    }
                    continue;
                }
            }
            on_connection += 1;
        }
        let check = sent_count.is_multiple_of(spec.check_every);
        let attempt = Instant::now();
        let exchange = tokio::time::timeout(spec.timeout, worker.exchange(&spec.call, slot, check));
        let timed = match &publisher {
            Some(times) => tokio::select! {
                r = exchange => r,
                () = times.never_published(slot) => return,
            },
            None => exchange.await,
        };
        let result = match timed {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(spec.timeout)),
        };
        let done = Instant::now();
        sent_count += 1;
        shared.completed.fetch_add(1, Ordering::Relaxed);
        let failure = result.as_ref().err().map(|e| (e.kind(), e.to_string()));
        if measured {
            let mut r = recorder.lock().unwrap_or_else(|p| p.into_inner());
            match &result {
                Ok(Exchanged { sent, checked }) => {
                    r.ok += 1;
                    r.checked += u64::from(*checked);
                    r.service
                        .saturating_record(nanos(done.saturating_duration_since(*sent)).max(1));
                    if open {
                        r.corrected
                            .saturating_record(nanos(done.saturating_duration_since(intended)).max(1));
                        let lag = nanos(sent.saturating_duration_since(intended));
                        r.pacer_lag.saturating_record(lag.max(1));
                        if lag > LATE_SEND_THRESHOLD_NS {
                            r.late_sends += 1;
                        }
                    }
                }
                Err(e) => {
                    r.error(e);
                    // A request that got no answer in time took at least that long: it enters
                    // the latency histograms at its elapsed time, so a stall at the end of the
                    // window shows in the tail instead of vanishing with the request.
                    if e.kind() == ErrorKind::Timeout {
                        r.service
                            .saturating_record(nanos(done.saturating_duration_since(attempt)).max(1));
                        if open {
                            r.corrected
                                .saturating_record(nanos(done.saturating_duration_since(intended)).max(1));
                        }
                    }
                }
            }
        } else {
            let mut r = recorder.lock().unwrap_or_else(|p| p.into_inner());
            match &failure {
                None => r.warmup.ok += 1,
                Some((kind, _)) => {
                    r.warmup.failed += 1;
                    r.warmup.timed_out += u64::from(*kind == ErrorKind::Timeout);
                }
            }
        }
        if let Some((kind, message)) = failure {
            tracing::debug!(?kind, %message, "request failed");
            if !worker.reconnects() {
                // A broken stream ends its worker; the failure is counted above.
                tracing::warn!(%message, "a stream failed; its worker stops");
                return;
            }
            // After a transport failure or a timeout the connection's state is unknown: open a
            // new one. If the server cannot be reached any more, the load stops here.
            if matches!(
                kind,
                ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Connect
            ) {
                // Past the deadline there is nothing left to send on a new connection; before
                // it, reconnecting may take at most the time left.
                if past_deadline() || shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                let reconnect = spec.open(Arc::clone(&counters));
                let Ok(reconnected) = tokio::time::timeout_at(shared.end.into(), reconnect).await else {
                    return;
                };
                match reconnected {
                    Ok(c) => {
                        worker = Worker::Unary(c);
                        on_connection = 0;
                    }
                    Err(e) => {
                        shared.abort(format!(
                            "server {} at {} is unreachable: {e} (after: {message})",
                            spec.variant, spec.addr
                        ));
                        return;
                    }
                }
            }
        }
    }
}

/// The open-loop schedules of one load and the thread that releases their slots.
#[derive(Default)]
struct Pacer {
    schedules: Vec<Arc<Schedule>>,
}

/// One schedule: slot `n` is due at `origin + n × interval`. The pacer thread releases one
/// permit per slot when it is due (less [`PACER_LEAD`]); a worker takes a permit, then the next
/// slot number. The first `released` slots taken are real; permits added after the schedule
/// ended only wake the workers so they return.
struct Schedule {
    origin: Instant,
    interval: Duration,
    permits: tokio::sync::Semaphore,
    /// Real slots released so far.
    released: AtomicU64,
    /// Slots taken by workers so far.
    taken: AtomicU64,
}

impl Schedule {
    fn due(&self, n: u64) -> Instant {
        due(self.origin, self.interval, n)
    }

    /// Waits for the next released slot and then until it is due (at most [`PACER_LEAD`] of
    /// yielding); `None` once the schedule is over.
    async fn next_slot(&self) -> Option<(u64, Instant)> {
        self.permits.acquire().await.ok()?.forget();
        let n = self.taken.fetch_add(1, Ordering::SeqCst);
        if n >= self.released.load(Ordering::SeqCst) {
            return None;
        }
        let due = self.due(n);
        while Instant::now() < due {
            tokio::task::yield_now().await;
        }
        Some((n, due))
    }
}

impl Pacer {
    /// Adds a schedule and returns it.
    fn add(&mut self, origin: Instant, interval: Duration) -> Arc<Schedule> {
        let schedule = Arc::new(Schedule {
            origin,
            interval: interval.max(Duration::from_nanos(1)),
            permits: tokio::sync::Semaphore::new(0),
            released: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        });
        self.schedules.push(Arc::clone(&schedule));
        schedule
    }

    /// The pacer thread: sleeps on absolute `CLOCK_MONOTONIC` deadlines until [`PACER_LEAD`]
    /// before the earliest next slot of any schedule, then releases it. Ends when every schedule
    /// ended or the load stops, then wakes every worker (`workers` extra permits per schedule)
    /// so they return.
    ///
    /// Returns how late each release was against its own target (due − lead): the timer and
    /// scheduler floor of this machine during the load, which no client can beat.
    fn run(self, shared: &Shared, workers: usize) -> (Histogram<u64>, bool) {
        let mut release_late = new_histogram();
        let realtime = raise_to_realtime();
        // The default 50 µs timer slack would be added to every wake-up.
        let _ = nix::sys::prctl::set_timerslack(1);
        let over = |s: &Schedule, n: u64| {
            shared.stop.load(Ordering::Relaxed)
                || s.due(n) >= shared.end
                || shared
                    .request_limit
                    .is_some_and(|limit| shared.claimed.load(Ordering::Relaxed) >= limit)
        };
        // The next slot of each schedule that is not over.
        let mut next: Vec<u64> = vec![0; self.schedules.len()];
        while let Some(i) = (0..self.schedules.len())
            .filter(|&i| !over(&self.schedules[i], next[i]))
            .min_by_key(|&i| self.schedules[i].due(next[i]))
        {
            let schedule = &self.schedules[i];
            let release = schedule
                .due(next[i])
                .checked_sub(PACER_LEAD)
                .unwrap_or(schedule.origin);
            loop {
                let now = Instant::now();
                if release <= now || shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                sleep_until(now, release.min(now + PACER_MAX_SLEEP));
            }
            // Only the measured phase's releases, the same window as the pacer lag it is
            // compared with.
            if schedule.due(next[i]) >= shared.measure_start {
                release_late
                    .saturating_record(nanos(Instant::now().saturating_duration_since(release)).max(1));
            }
            schedule.released.fetch_add(1, Ordering::SeqCst);
            schedule.permits.add_permits(1);
            next[i] += 1;
        }
        for schedule in &self.schedules {
            schedule
                .permits
                .add_permits(workers.min(tokio::sync::Semaphore::MAX_PERMITS));
        }
        (release_late, realtime)
    }
}

/// Makes the calling thread (the pacer) `SCHED_FIFO` at the lowest real-time priority when the
/// process may (root or `CAP_SYS_NICE`): a waking pacer then preempts the client runtime's own
/// thread on the same CPU at once instead of waiting for the fair scheduler, so its release
/// lateness is the machine's timer floor rather than the client's busy time. It only sleeps
/// and hands out permits, so it cannot starve the CPU. Without the permission it stays
/// `SCHED_OTHER`; `LoadSummary::pacer_realtime` records which.
#[allow(unsafe_code)] // one syscall nix does not wrap
fn raise_to_realtime() -> bool {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sched_setscheduler with pid 0 changes only the calling thread; `param` is valid.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
}

/// Sleeps until `wake` on an absolute `CLOCK_MONOTONIC` deadline (the clock `Instant` reads on
/// Linux), so a late wake-up never shifts the following slots.
fn sleep_until(now: Instant, wake: Instant) {
    use nix::sys::time::TimeSpec;
    use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};
    let Ok(mono_now) = clock_gettime(ClockId::CLOCK_MONOTONIC) else {
        std::thread::sleep(wake.saturating_duration_since(now));
        return;
    };
    let deadline = mono_now + TimeSpec::from(wake.saturating_duration_since(now));
    // EINTR: the caller's loop recomputes and sleeps again.
    let _ = clock_nanosleep(
        ClockId::CLOCK_MONOTONIC,
        ClockNanosleepFlags::TIMER_ABSTIME,
        &deadline,
    );
}

/// The load generator's runtime: one thread runs everything on a current-thread runtime (no
/// cross-thread wake-ups); more threads get a multi-thread runtime. Servers are unaffected.
pub fn client_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// The server's CPU time so far: from /proc for a local child, else from its stats endpoint
/// (`None` when neither is known or the endpoint could not be read).
async fn server_cpu_ns(pid: Option<u32>, stats: Option<&crate::server_stats::StatsUrl>) -> Option<u64> {
    match (pid, stats) {
        (Some(pid), _) => crate::procfs::cpu_ns(pid),
        (None, Some(url)) => url.fetch().await.ok().map(|doc| doc.cpu_ns),
        (None, None) => None,
    }
}

/// CPU time (user + system) of this process so far, in nanoseconds (every thread, the pacer's
/// included).
pub fn cpu_time() -> u64 {
    crate::procfs::self_cpu_ns()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn count_deadline_lets_every_request_time_out_once_more() {
        // 6 requests on 2 workers, all timing out: 3 rounds, plus one for a reconnect.
        assert_eq!(count_deadline(6, 2, S(2), Pacing::Closed), S(8));
        assert_eq!(count_deadline(7, 2, S(2), Pacing::Closed), S(10));
        // Zero workers cannot divide by zero.
        assert_eq!(count_deadline(1, 0, S(1), Pacing::Closed), S(2));
    }

    #[test]
    fn count_deadline_covers_an_open_loop_schedule() {
        // 1,000 slots at 10/s take 100 s, longer than 1,000 timeouts of 1 ms on 10 workers.
        let d = count_deadline(1000, 10, Duration::from_millis(1), Pacing::Open { rate: 10.0 });
        assert_eq!(d, S(100) + Duration::from_millis(1));
    }

    #[test]
    fn slots_due_counts_the_window_end_exclusive() {
        let o = Instant::now();
        let ms = Duration::from_millis;
        // Slots at 0, 10, 20, … ms; [25, 55) holds 30, 40, 50.
        assert_eq!(slots_due(o, ms(10), o + ms(25), o + ms(55)), 3);
        // [20, 50) holds 20, 30, 40: the start is inclusive, the end exclusive.
        assert_eq!(slots_due(o, ms(10), o + ms(20), o + ms(50)), 3);
        // A window before the schedule's origin, or an empty one, holds nothing before it.
        assert_eq!(slots_due(o + ms(100), ms(10), o, o + ms(100)), 0);
        assert_eq!(slots_due(o, ms(10), o + ms(50), o + ms(40)), 0);
        // From the origin: 0, 10, …, 990.
        assert_eq!(slots_due(o, ms(10), o, o + S(1)), 100);
    }

    #[test]
    fn count_deadline_is_capped() {
        let cap = crate::caps::MAX_DURATION;
        assert_eq!(count_deadline(u64::MAX, 1, S(600), Pacing::Closed), cap);
        assert_eq!(count_deadline(10, 1, S(1), Pacing::Open { rate: 1e-300 }), cap);
    }
}
