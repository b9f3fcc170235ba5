//! Network labs: a client host and a server host, each in its own network namespace, joined by
//! one shaped point-to-point link. Reusable by anything that needs "two hosts on this machine".
//!
//! The design decision to know: **every namespace is anonymous and held only by this process**
//! (a file descriptor on `/proc/thread-self/ns/net` of a thread that called `unshare`), and every
//! helper process started inside a lab exits when this process's end of its stdin pipe closes.
//! So a lab cannot outlive the process that created it: after a normal end, an error, Ctrl-C or
//! even SIGKILL the kernel frees the namespaces, and with them every link, address and qdisc in
//! them. Nothing is ever created in the caller's own namespace, and only the addresses
//! [`CLIENT_ADDR`] and [`SERVER_ADDR`] inside the lab's own namespaces are used.
//! `rpcbench netns-clean` ([`clean_leftovers`]) is the backstop for a helper that did not exit.
//!
//! The link:
//!
//! - **rate**: a `tbf` qdisc on each end's egress (client→server and server→client);
//! - **delay and loss**: `netem` where the kernel has it (the link is then a veth pair);
//!   otherwise a userspace delay line ([`crate::delay_line`], `rpcbench delay-line`): the link is
//!   a pair of TUN devices, one per namespace, and a separate process forwards every IP packet
//!   between them after the one-way delay, dropping a `loss` fraction. Packets are delayed, not
//!   proxied: TCP runs end to end, so flow control sees the round-trip time. The delay line
//!   reports its own CPU time and how late it released packets (its added jitter).
//!
//! Usage:
//!
//! ```no_run
//! # fn main() -> Result<(), rpcbench::netns::NetError> {
//! use rpcbench::netns::{Lab, LinkProfile};
//! let lab = Lab::create(&LinkProfile::builtin("wan").unwrap(), &std::env::current_exe().unwrap())?;
//! let server = lab.server().spawn(std::process::Command::new("sleep").arg("1"))?; // inside the server host
//! let rtt = lab.measure_rtt(std::time::Duration::from_secs(1))?;
//! drop(lab); // tears everything down (also on panic)
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns, unshare};
pub use rpcbench_model::network::{
    DelayLineStats, DirectionStats, Emulation, LinkMeasurement, LinkProfile, RttMeasurement,
};

/// The client host's address on the lab link.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The server host's address on the lab link.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// Environment variable set on every helper process started in a lab: `<creator pid>`.
/// `rpcbench netns-clean` finds stragglers by it.
pub const LAB_ENV: &str = "RPCBENCH_LAB_OWNER";
/// The interface name used for the link inside each namespace.
pub const LINK_DEV: &str = "rpcb0";

/// Why a lab could not be built, verified or used. Each variant says what is missing.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "network profile {profile:?} needs its own network namespaces, and creating one failed. \
         Shaped profiles need root, or CAP_SYS_ADMIN and CAP_NET_ADMIN (unprivileged user namespaces are not supported); \
         rpcbench never falls back to loopback silently — use --network loopback for an unprivileged run"
    )]
    NoPrivilege { profile: String, source: nix::Error },
    #[error("network profile {profile:?} needs {what}")]
    Missing { profile: String, what: String },
    #[error("lab command `{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("lab I/O ({context}): {source}")]
    Io { context: String, source: std::io::Error },
    #[error("the delay line failed: {0}")]
    DelayLine(String),
    #[error(transparent)]
    BadProfile(#[from] rpcbench_model::network::ProfileError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetError {
    let context = context.into();
    move |source| NetError::Io { context, source }
}

/// One anonymous network namespace, held by a file descriptor, and a keeper thread living in it
/// (its thread id names the namespace to `ip ... netns TID`).
pub struct NetNs {
    file: File,
    keeper_tid: i32,
    keeper_stop: Option<std::sync::mpsc::Sender<()>>,
    keeper: Option<std::thread::JoinHandle<()>>,
    /// `net:[inode]`, as /proc shows it.
    id: String,
}

impl fmt::Debug for NetNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetNs").field("id", &self.id).finish()
    }
}

impl NetNs {
    /// Creates a new network namespace with `lo` up.
    pub fn create(profile: &str) -> Result<NetNs, NetError> {
        let (tx, rx) = std::sync::mpsc::channel::<Result<(File, i32), NetError>>();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let profile_name = profile.to_owned();
        let keeper = std::thread::Builder::new()
            .name("netns-keeper".into())
            .spawn(move || {
                let made = unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|source| NetError::NoPrivilege {
                        profile: profile_name,
                        source,
                    })
                    .and_then(|()| {
                        File::open("/proc/thread-self/ns/net").map_err(io("open /proc/thread-self/ns/net"))
                    })
                    .map(|f| (f, nix::unistd::gettid().as_raw()));
                let ok = made.is_ok();
                let _ = tx.send(made);
                if ok {
                    // Live in the namespace until the lab is dropped.
                    let _ = stop_rx.recv();
                }
            })
            .map_err(io("spawn the namespace keeper thread"))?;
        let (file, keeper_tid) = match rx.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let _ = keeper.join();
                return Err(e);
            }
            Err(_) => return Err(NetError::DelayLine("namespace keeper thread died".into())),
        };
        let id = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let ns = NetNs {
            file,
            keeper_tid,
            keeper_stop: Some(stop_tx),
            keeper: Some(keeper),
            id,
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `net:[4026532...]`: the namespace's identity in /proc (for leak checks).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A path any process of this user can `setns` into while the lab lives.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.file.as_raw_fd()
        ))
    }

    /// Moves the calling thread into this namespace (sockets it opens, and processes it starts,
    /// belong to the namespace from then on).
    pub fn enter_current_thread(&self) -> Result<(), NetError> {
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(|e| NetError::Io {
            context: format!("setns into {}", self.id),
            source: std::io::Error::from(e),
        })
    }

    /// Runs `f` on a fresh thread inside this namespace and returns its result.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, NetError> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter_current_thread()?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(NetError::DelayLine("a lab thread panicked".into())))
        })
    }

    /// Starts `cmd` inside this namespace with [`LAB_ENV`] set and stdin piped: the caller keeps
    /// the write end (a helper of ours exits when it closes, see the module docs).
    pub fn spawn(&self, cmd: &mut Command) -> Result<Child, NetError> {
        let what = format!("{cmd:?}");
        cmd.env(LAB_ENV, std::process::id().to_string());
        self.run(|| cmd.spawn())?.map_err(io(format!("start {what}")))
    }

    /// Runs `ip ARGS` inside this namespace.
    pub fn ip(&self, args: &[&str]) -> Result<(), NetError> {
        self.tool("ip", args)
    }

    /// Runs `tc ARGS` inside this namespace.
    pub fn tc(&self, args: &[&str]) -> Result<(), NetError> {
        self.tool("tc", args)
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Result<(), NetError> {
        let command = format!("{tool} {}", args.join(" "));
        let out = self
            .run(|| Command::new(tool).args(args).stdin(Stdio::null()).output())?
            .map_err(|e| NetError::Command {
                command: command.clone(),
                message: if e.kind() == std::io::ErrorKind::NotFound {
                    format!("`{tool}` is not installed (Debian: apt-get install iproute2)")
                } else {
                    e.to_string()
                },
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NetError::Command {
                command,
                message: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
            })
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        drop(self.keeper_stop.take());
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
    }
}

/// Client and server host joined by one shaped link. Dropping it tears everything down.
pub struct Lab {
    profile: LinkProfile,
    emulation: Emulation,
    // Field order is drop order: the delay line before the namespaces it links.
    delay_line: Option<DelayLineProcess>,
    client: NetNs,
    server: NetNs,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("profile", &self.profile.name)
            .field("emulation", &self.emulation)
            .field("client", &self.client)
            .field("server", &self.server)
            .finish()
    }
}

struct DelayLineProcess {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Lab {
    /// Builds the lab for `profile`. `exe` is the rpcbench binary (it provides the userspace
    /// delay line when the kernel has no netem).
    pub fn create(profile: &LinkProfile, exe: &Path) -> Result<Lab, NetError> {
        profile
            .validate()
            .map_err(|message| rpcbench_model::network::ProfileError {
                spec: profile.name.clone(),
                message,
            })?;
        let client = NetNs::create(&profile.name)?;
        let server = NetNs::create(&profile.name)?;
        let forced = std::env::var("RPCBENCH_DELAY_LINE").is_ok_and(|v| v == "userspace");
        let netem = !forced && profile_needs_netem(profile) && netem_available(&client);
        let mut lab = Lab {
            profile: profile.clone(),
            emulation: if netem {
                Emulation::Netem
            } else {
                Emulation::UserspaceDelayLine
            },
            delay_line: None,
            client,
            server,
        };
        match lab.emulation {
            Emulation::Netem => lab.build_veth()?,
            Emulation::UserspaceDelayLine => lab.build_delay_line(exe)?,
        }
        Ok(lab)
    }

    fn build_veth(&mut self) -> Result<(), NetError> {
        let mtu = self.profile.mtu.to_string();
        let server_tid = self.server.keeper_tid.to_string();
        self.client.ip(&[
            "link",
            "add",
            LINK_DEV,
            "mtu",
            &mtu,
            "type",
            "veth",
            "peer",
            "name",
            LINK_DEV,
            "mtu",
            &mtu,
            "netns",
            &server_tid,
        ])?;
        for (ns, me, peer) in [
            (&self.client, CLIENT_ADDR, SERVER_ADDR),
            (&self.server, SERVER_ADDR, CLIENT_ADDR),
        ] {
            ns.ip(&[
                "addr",
                "add",
                &format!("{me}/32"),
                "peer",
                &format!("{peer}/32"),
                "dev",
                LINK_DEV,
            ])?;
            ns.ip(&["link", "set", LINK_DEV, "up"])?;
            self.shape(ns, true)?;
        }
        Ok(())
    }

    fn build_delay_line(&mut self, exe: &Path) -> Result<(), NetError> {
        if !Path::new("/dev/net/tun").exists() {
            return Err(NetError::Missing {
                profile: self.profile.name.clone(),
                what:
                    "/dev/net/tun (the kernel has no netem, so delay needs the userspace delay line over TUN)"
                        .into(),
            });
        }
        let half = Duration::from_nanos(self.profile.rtt_ns / 2);
        let mut cmd = Command::new(exe);
        cmd.arg("delay-line")
            .arg("--client-netns")
            .arg(self.client.path())
            .arg("--server-netns")
            .arg(self.server.path())
            .arg(format!("--one-way-delay-ns={}", half.as_nanos()))
            .arg(format!("--loss={}", self.profile.loss))
            .arg(format!("--mtu={}", self.profile.mtu))
            .env(LAB_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let what = format!("{cmd:?}");
        let mut child = cmd.spawn().map_err(io(format!("start {what}")))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        // The helper prints one line once both TUN devices exist (or an error and exits).
        let read = stdout.read_line(&mut line);
        self.delay_line = Some(DelayLineProcess { child, stdout });
        match read {
            Ok(n) if n > 0 && line.trim() == "ready" => {}
            _ => {
                let status = self.delay_line.as_mut().and_then(|d| d.child.wait().ok());
                return Err(NetError::DelayLine(format!(
                    "`{what}` did not become ready (exit {status:?}): {}",
                    line.trim()
                )));
            }
        }
        for ns in [&self.client, &self.server] {
            self.shape(ns, false)?;
        }
        Ok(())
    }

    /// Root qdiscs on the link device of `ns`: netem (delay, loss) over tbf (rate), or tbf only.
    fn shape(&self, ns: &NetNs, with_netem: bool) -> Result<(), NetError> {
        let p = &self.profile;
        let tbf = p.rate_bps.map(|rate| {
            let bytes_per_s = rate / 8;
            // One millisecond of tokens, at least two packets; a queue of one BDP (at least 64
            // packets) so TCP can fill the pipe without tail drops at the bottleneck.
            let burst = (bytes_per_s / 1000).max(2 * p.mtu as u64 + 64);
            let limit = p.bdp_bytes().max(64 * p.mtu as u64);
            (rate.to_string(), burst.to_string(), limit.to_string())
        });
        let mut parent = vec!["root"];
        if with_netem {
            let delay = format!("{}us", p.rtt_ns / 2 / 1000);
            let loss = format!("{}%", p.loss * 100.0);
            ns.tc(&[
                "qdisc", "add", "dev", LINK_DEV, "root", "handle", "1:", "netem", "delay", &delay, "loss",
                &loss, "limit", "100000",
            ])?;
            parent = vec!["parent", "1:1"];
        }
        if let Some((rate, burst, limit)) = &tbf {
            let mut args = vec!["qdisc", "add", "dev", LINK_DEV];
            args.extend(&parent);
            args.extend([
                "handle", "10:", "tbf", "rate", rate, "burst", burst, "limit", limit,
            ]);
            ns.tc(&args)?;
        }
        Ok(())
    }

    pub fn profile(&self) -> &LinkProfile {
        &self.profile
    }

    pub fn emulation(&self) -> Emulation {
        self.emulation
    }

    pub fn client(&self) -> &NetNs {
        &self.client
    }

    pub fn server(&self) -> &NetNs {
        &self.server
    }

    /// The qdiscs on the link, as `tc -s qdisc show` prints them in each namespace (for checks).
    pub fn qdiscs(&self) -> Result<(String, String), NetError> {
        let show = |ns: &NetNs| -> Result<String, NetError> {
            let out = ns
                .run(|| {
                    Command::new("tc")
                        .args(["qdisc", "show", "dev", LINK_DEV])
                        .output()
                })?
                .map_err(io("tc qdisc show"))?;
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        Ok((show(&self.client)?, show(&self.server)?))
    }

    /// Floor round-trip time across the link: 1-byte TCP ping-pong (TCP_NODELAY) from the
    /// client host to the server host for about `budget` (at least 5 round trips).
    pub fn measure_rtt(&self, budget: Duration) -> Result<RttMeasurement, NetError> {
        let listener = self.listen()?;
        let addr = listener.local_addr().map_err(io("local_addr"))?;
        std::thread::scope(|s| {
            let echo = s.spawn(move || -> std::io::Result<()> {
                let (mut c, _) = listener.accept()?;
                c.set_nodelay(true)?;
                let mut b = [0u8; 1];
                while c.read(&mut b)? == 1 {
                    c.write_all(&b)?;
                }
                Ok(())
            });
            let samples = self.client.run(|| -> std::io::Result<Vec<u64>> {
                let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
                c.set_nodelay(true)?;
                c.set_read_timeout(Some(Duration::from_secs(10)))?;
                let mut b = [1u8; 1];
                let start = Instant::now();
                let mut samples = Vec::new();
                while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 20_000) {
                    let t = Instant::now();
                    c.write_all(&b)?;
                    c.read_exact(&mut b)?;
                    samples.push(t.elapsed().as_nanos() as u64);
                }
                Ok(samples)
            })?;
            let _ = echo.join();
            let mut samples = samples.map_err(io("RTT ping-pong across the link"))?;
            samples.sort_unstable();
            Ok(RttMeasurement {
                samples: samples.len() as u64,
                min_ns: samples[0],
                p50_ns: samples[samples.len() / 2],
            })
        })
    }

    /// Bulk TCP throughput across the link for about `duration`, client → server (`up`) or
    /// server → client. The first fifth of the transfer (slow start, the token bucket's burst)
    /// is not counted.
    pub fn measure_bandwidth(&self, up: bool, duration: Duration) -> Result<f64, NetError> {
        let listener = self.listen()?;
        let addr = listener.local_addr().map_err(io("local_addr"))?;
        let chunk = vec![0x5au8; 64 * 1024];
        let send = |mut s: TcpStream| -> std::io::Result<()> {
            let start = Instant::now();
            while start.elapsed() < duration {
                s.write_all(&chunk)?;
            }
            s.shutdown(std::net::Shutdown::Write)?;
            // Wait for the receiver to finish so the link is idle afterwards.
            let mut b = [0u8; 1];
            let _ = s.read(&mut b);
            Ok(())
        };
        let receive = |mut s: TcpStream| -> std::io::Result<f64> {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0u64;
            let mut first: Option<Instant> = None;
            let mut mark: Option<(Instant, u64)> = None;
            let mut last = Instant::now();
            loop {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                let f = *first.get_or_insert(now);
                total += n as u64;
                last = now;
                if mark.is_none() && now - f >= duration / 5 {
                    mark = Some((now, total));
                }
            }
            let (t0, b0) = mark.unwrap_or((first.unwrap_or(last), 0));
            let secs = (last - t0).as_secs_f64();
            Ok(if secs > 0.0 {
                (total - b0) as f64 * 8.0 / secs
            } else {
                0.0
            })
        };
        std::thread::scope(|s| {
            let server = s.spawn(move || -> std::io::Result<Option<f64>> {
                let (c, _) = listener.accept()?;
                if up {
                    receive(c).map(Some)
                } else {
                    send(c).map(|()| None)
                }
            });
            let client = self.client.run(|| -> std::io::Result<Option<f64>> {
                let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
                c.set_read_timeout(Some(duration * 4 + Duration::from_secs(10)))?;
                if up {
                    send(c).map(|()| None)
                } else {
                    receive(c).map(Some)
                }
            })?;
            let server = server
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("bandwidth server thread panicked")));
            let rate = client
                .map_err(io("bandwidth test (client)"))?
                .or(server.map_err(io("bandwidth test (server)"))?);
            Ok(rate.unwrap_or(0.0))
        })
    }

    /// A listener on the server host's link address (port 0).
    fn listen(&self) -> Result<TcpListener, NetError> {
        self.server
            .run(|| TcpListener::bind(SocketAddr::new(IpAddr::V4(SERVER_ADDR), 0)))?
            .map_err(io("bind on the server host"))
    }

    /// Verifies the link: RTT floor and bulk bandwidth in both directions.
    pub fn verify(&self) -> Result<LinkMeasurement, NetError> {
        let rtt = self.measure_rtt(
            Duration::from_millis(500)
                .max(self.profile.rtt() * 25)
                .min(Duration::from_secs(2)),
        )?;
        let bulk = Duration::from_millis(1500)
            .max(self.profile.rtt() * 30)
            .min(Duration::from_secs(3));
        Ok(LinkMeasurement {
            rtt,
            bandwidth_up_bps: self.measure_bandwidth(true, bulk)?,
            bandwidth_down_bps: self.measure_bandwidth(false, bulk)?,
        })
    }

    /// Stops the delay line (if any) and returns its account. The lab stays usable only for
    /// dropping afterwards.
    pub fn finish(&mut self) -> Result<Option<DelayLineStats>, NetError> {
        let Some(mut d) = self.delay_line.take() else {
            return Ok(None);
        };
        drop(d.child.stdin.take()); // EOF: print the account and exit
        let mut line = String::new();
        let _ = d.stdout.read_line(&mut line);
        let _ = d.child.wait();
        serde_json::from_str(line.trim())
            .map(Some)
            .map_err(|e| NetError::DelayLine(format!("bad account line {line:?}: {e}")))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut d) = self.delay_line.take() {
            drop(d.child.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(d.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
    }
}

fn profile_needs_netem(p: &LinkProfile) -> bool {
    p.rtt_ns > 0 || p.loss > 0.0
}

/// Whether the kernel accepts a netem qdisc (probed on `lo` of a lab namespace).
fn netem_available(ns: &NetNs) -> bool {
    let ok = ns
        .tc(&[
            "qdisc", "add", "dev", "lo", "root", "handle", "1:", "netem", "delay", "1ms",
        ])
        .is_ok();
    if ok {
        let _ = ns.tc(&["qdisc", "del", "dev", "lo", "root"]);
    }
    ok
}

/// Checks, without building anything, that shaped profiles can run here; the error names what
/// is missing.
pub fn check_requirements(profile: &LinkProfile) -> Result<(), NetError> {
    for tool in ["ip", "tc"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Err(NetError::Missing {
                profile: profile.name.clone(),
                what: format!("the `{tool}` command (Debian: apt-get install iproute2)"),
            });
        }
    }
    // Creating (and dropping) a namespace is the privilege check that cannot lie.
    NetNs::create(&profile.name).map(drop)
}

/// Finds helper processes left by a lab whose creator is gone (they carry [`LAB_ENV`]) and
/// kills them; their namespaces, links and qdiscs go with them. Returns what it killed.
pub fn clean_leftovers() -> Vec<String> {
    let mut killed = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return killed;
    };
    let me = std::process::id();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let owner = env.split(|b| *b == 0).find_map(|kv| {
            std::str::from_utf8(kv)
                .ok()?
                .strip_prefix(LAB_ENV)?
                .strip_prefix('=')?
                .parse::<u32>()
                .ok()
        });
        let Some(owner) = owner else { continue };
        if owner != me && Path::new(&format!("/proc/{owner}")).exists() {
            continue; // its lab is alive
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_owned())
            .unwrap_or_default();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        killed.push(format!("{pid} {cmd}"));
    }
    killed
}

/// Every network namespace id (`net:[…]`) currently referenced by a process or an open file
/// descriptor on the machine: tests check a run's namespaces are gone from it.
pub fn live_namespace_ids() -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return ids;
    };
    for entry in dir.flatten() {
        let p = entry.path();
        if let Ok(tasks) = std::fs::read_dir(p.join("task")) {
            for t in tasks.flatten() {
                if let Ok(l) = std::fs::read_link(t.path().join("ns/net")) {
                    ids.insert(l.display().to_string());
                }
            }
        }
        if let Ok(fds) = std::fs::read_dir(p.join("fd")) {
            for fd in fds.flatten() {
                if let Ok(l) = std::fs::read_link(fd.path())
                    && l.to_string_lossy().starts_with("net:[")
                {
                    ids.insert(l.display().to_string());
                }
            }
        }
    }
    ids
}

/// Whether this process runs with effective uid 0 (read from /proc/self/status).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}
