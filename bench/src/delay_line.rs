//! `rpcbench delay-line`: the userspace link used when the kernel has no `netem` (started by
//! [`crate::netns::Lab`], not by hand).
//!
//! It creates one TUN device in each of two network namespaces (addresses
//! [`CLIENT_ADDR`] ↔ [`SERVER_ADDR`], point to point), prints `ready`, and forwards every IP packet
//! from one device to the other after the one-way delay, dropping a `loss` fraction — the
//! mahimahi design. Packets are held, never proxied: TCP runs end to end, so both ends' flow
//! and congestion control see the full round-trip time. Rate is shaped by the `tbf` qdisc the lab
//! puts on each TUN device, before the packets reach this process.
//!
//! Each direction is a reader thread (timestamps and queues each packet) and a writer thread
//! (sleeps until the packet is due, with 1 ns timer slack, and releases it). How late each
//! packet left is recorded: that is the jitter the delay line adds. When stdin closes (the lab
//! stopped it, or its creator died) it prints its account as one JSON line and exits, which also
//! removes its TUN devices.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sched::{CloneFlags, setns};

use crate::netns::{CLIENT_ADDR, DelayLineStats, DirectionStats, LINK_DEV, SERVER_ADDR};

/// Arguments of the hidden `delay-line` subcommand.
#[derive(Debug, clap::Args)]
pub struct DelayLineArgs {
    /// Network namespace of the client host (a path to setns into)
    #[arg(long)]
    pub client_netns: PathBuf,
    /// Network namespace of the server host
    #[arg(long)]
    pub server_netns: PathBuf,
    /// Delay of each packet, each direction, in nanoseconds
    #[arg(long)]
    pub one_way_delay_ns: u64,
    /// Fraction of packets to drop, each direction
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// MTU of both TUN devices
    #[arg(long, default_value_t = 1500)]
    pub mtu: u16,
    /// Seed of the loss decisions
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Default)]
struct Counters {
    packets: u64,
    bytes: u64,
    dropped: u64,
    late: Option<hdrhistogram::Histogram<u64>>,
}

fn open_tun(
    netns: &PathBuf,
    me: std::net::Ipv4Addr,
    peer: std::net::Ipv4Addr,
    mtu: u16,
) -> anyhow::Result<tun::Device> {
    let ns = std::fs::File::open(netns).with_context(|| format!("open {}", netns.display()))?;
    setns(&ns, CloneFlags::CLONE_NEWNET).with_context(|| format!("setns into {}", netns.display()))?;
    let mut config = tun::Configuration::default();
    config
        .tun_name(LINK_DEV)
        .address(me)
        .destination(peer)
        .netmask((255, 255, 255, 255))
        .mtu(mtu)
        .up();
    tun::create(&config).with_context(|| format!("create TUN device {LINK_DEV} in {}", netns.display()))
}

/// Runs the delay line until stdin closes.
pub fn run(args: DelayLineArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..0.5).contains(&args.loss),
        "--loss {} is outside [0, 0.5)",
        args.loss
    );
    let started = Instant::now();
    // Sleep precision is the delay line's precision: ask for no timer slack.
    let _ = nix::sys::prctl::set_timerslack(1);
    // Both devices are created from this thread, one namespace after the other; the fds stay
    // valid whatever namespace the thread is in afterwards.
    let client = open_tun(&args.client_netns, CLIENT_ADDR, SERVER_ADDR, args.mtu)?;
    let server = open_tun(&args.server_netns, SERVER_ADDR, CLIENT_ADDR, args.mtu)?;
    let delay = Duration::from_nanos(args.one_way_delay_ns);
    let (client_r, client_w) = client.split();
    let (server_r, server_w) = server.split();
    let up = Arc::new(Mutex::new(Counters::default()));
    let down = Arc::new(Mutex::new(Counters::default()));
    forward(
        client_r,
        server_w,
        delay,
        args.loss,
        args.seed,
        Arc::clone(&up),
        args.mtu,
    );
    forward(
        server_r,
        client_w,
        delay,
        args.loss,
        args.seed ^ 0x9e37_79b9,
        Arc::clone(&down),
        args.mtu,
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").and_then(|()| out.flush())?;
    }
    // Until EOF (or an error) on stdin.
    let mut sink = String::new();
    let mut stdin = std::io::stdin().lock();
    while matches!(stdin.read_line(&mut sink), Ok(n) if n > 0) {
        sink.clear();
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    let tv_ns = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000_000 + t.tv_usec() as u64 * 1000;
    let stats = DelayLineStats {
        cpu_ns: tv_ns(usage.user_time()) + tv_ns(usage.system_time()),
        wall_ns: started.elapsed().as_nanos() as u64,
        up: direction_stats(&up),
        down: direction_stats(&down),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&stats)?).and_then(|()| out.flush())?;
    // Exit without joining the forwarding threads (they block on their devices).
    std::process::exit(0);
}

fn direction_stats(c: &Mutex<Counters>) -> DirectionStats {
    let c = c.lock().expect("counters lock");
    let q = |p: f64| c.late.as_ref().map_or(0, |h| h.value_at_quantile(p));
    DirectionStats {
        packets: c.packets,
        bytes: c.bytes,
        dropped: c.dropped,
        late_p50_ns: q(0.5),
        late_p99_ns: q(0.99),
        late_max_ns: c.late.as_ref().map_or(0, |h| h.max()),
    }
}

/// One direction: a reader thread stamping packets and a writer thread releasing them when due.
fn forward(
    mut reader: impl std::io::Read + Send + 'static,
    mut writer: impl std::io::Write + Send + 'static,
    delay: Duration,
    loss: f64,
    seed: u64,
    counters: Arc<Mutex<Counters>>,
    mtu: u16,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let rc = Arc::clone(&counters);
    std::thread::spawn(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut buf = vec![0u8; mtu as usize + 64];
        let mut dropped = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(n) => n,
                Err(_) => return,
            };
            let now = Instant::now();
            if loss > 0.0 && rng.f64() < loss {
                dropped += 1;
                rc.lock().expect("counters lock").dropped = dropped;
                continue;
            }
            if tx.send((now + delay, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok((due, packet)) = rx.recv() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let _ = writer.write(&packet);
            let late = Instant::now().saturating_duration_since(due).as_nanos().max(1) as u64;
            let mut c = counters.lock().expect("counters lock");
            c.packets += 1;
            c.bytes += packet.len() as u64;
            c.late
                .get_or_insert_with(crate::load::new_histogram)
                .saturating_record(late);
        }
    });
}
