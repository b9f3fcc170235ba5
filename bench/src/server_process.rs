//! A server variant as a child process: `rpcbench serve`, started, awaited and stopped.
//!
//! Readiness is the child's one JSON line on stdout (never a sleep). The child is stopped with
//! SIGTERM (then SIGKILL if it does not exit), also when the handle is dropped, so no server
//! outlives the run or test that started it.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rpcbench_servers::Variant;

use crate::serve::ReadyLine;

/// How long a server may take to print its ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// Why a server process failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start {exe} for {variant}: {source}")]
    Spawn {
        exe: String,
        variant: Variant,
        source: std::io::Error,
    },
    #[error("server {variant} did not become ready within {timeout:?}")]
    NotReady { variant: Variant, timeout: Duration },
    #[error("server {variant} exited before it was ready ({status})")]
    ExitedEarly { variant: Variant, status: String },
    #[error("server {variant} printed an unexpected ready line {line:?}: {reason}")]
    BadReadyLine {
        variant: Variant,
        line: String,
        reason: String,
    },
}

/// A running `rpcbench serve` child.
#[derive(Debug)]
pub struct ServerProcess {
    variant: Variant,
    addr: SocketAddr,
    stats_addr: Option<SocketAddr>,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts `exe serve --variant V --addr 127.0.0.1:0 EXTRA...`, optionally under `taskset`-like
    /// CPU pinning done by the child itself (`extra` carries any further flags), and waits for
    /// its ready line.
    pub fn start(exe: &Path, variant: Variant, extra: &[String]) -> Result<ServerProcess, ProcessError> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_with(exe, variant, loopback, extra, Command::spawn)
    }

    /// [`ServerProcess::start`] on the server host of a network lab: the child runs in the
    /// lab's server namespace and binds the lab's server address.
    pub fn start_in(
        exe: &Path,
        variant: Variant,
        extra: &[String],
        host: &crate::netns::NetNs,
    ) -> Result<ServerProcess, ProcessError> {
        let addr = SocketAddr::from((crate::netns::SERVER_ADDR, 0));
        Self::start_with(exe, variant, addr, extra, |cmd| {
            host.spawn(cmd).map_err(std::io::Error::other)
        })
    }

    /// Like [`start`](Self::start), binding `addr`, with the child started by `spawn` (for
    /// example inside another network namespace); readiness and stopping are the same.
    pub fn start_with(
        exe: &Path,
        variant: Variant,
        addr: SocketAddr,
        extra: &[String],
        spawn: impl FnOnce(&mut Command) -> std::io::Result<Child>,
    ) -> Result<ServerProcess, ProcessError> {
        let mut command = Command::new(exe);
        // The child also exits when its stdin closes: when this process dies, even by SIGKILL,
        // no server (and so no network namespace it holds) outlives it.
        command
            .args(["serve", "--variant", variant.name(), "--addr", &addr.to_string()])
            .arg("--exit-on-stdin-eof")
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RPCBENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = spawn(&mut command).map_err(|source| ProcessError::Spawn {
            exe: exe.display().to_string(),
            variant,
            source,
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        // Read the ready line on a thread so the wait has a deadline.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Keep draining so a chatty child never blocks on a full pipe.
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        let mut process = ServerProcess {
            variant,
            addr,
            stats_addr: None,
            child: Some(child),
        };
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(line)) if !line.is_empty() => line,
            Ok(_) => {
                let status = process.wait_exit(Duration::from_secs(2));
                return Err(ProcessError::ExitedEarly { variant, status });
            }
            Err(_) => {
                return Err(ProcessError::NotReady {
                    variant,
                    timeout: READY_TIMEOUT,
                });
            }
        };
        let ready: ReadyLine = serde_json::from_str(line.trim()).map_err(|e| ProcessError::BadReadyLine {
            variant,
            line: line.clone(),
            reason: e.to_string(),
        })?;
        if ready.variant != variant.name() {
            return Err(ProcessError::BadReadyLine {
                variant,
                line,
                reason: "wrong variant".into(),
            });
        }
        process.addr = ready.addr;
        process.stats_addr = ready.stats_addr;
        Ok(process)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where its stats endpoint listens (started with `--stats-addr`).
    pub fn stats_addr(&self) -> Option<SocketAddr> {
        self.stats_addr
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` to the child (tests use SIGSTOP/SIGCONT to stall it).
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        match self.pid() {
            Some(pid) => kill(Pid::from_raw(pid as i32), signal),
            None => Ok(()),
        }
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the child: SIGTERM, wait, SIGKILL after [`STOP_TIMEOUT`]. Returns how it exited.
    pub fn stop(&mut self) -> String {
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.signal(Signal::SIGTERM);
        self.wait_exit(STOP_TIMEOUT)
    }

    fn wait_exit(&mut self, timeout: Duration) -> String {
        let Some(mut child) = self.child.take() else {
            return "already stopped".into();
        };
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = child.kill();
                    return child
                        .wait()
                        .map(|s| format!("killed after {timeout:?} ({s})"))
                        .unwrap_or_default();
                }
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}
