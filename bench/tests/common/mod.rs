//! Helpers shared by the integration tests that watch a real server's sockets.

#![allow(dead_code)] // each test binary uses its own subset

use std::process::Command;
use std::time::{Duration, Instant};

use rpcbench::server_process::ServerProcess;

/// Bytes the server's established TCP connections have received so far, from the kernel's
/// `tcp_info` as `ss` (iproute2) prints it.
pub fn bytes_received(port: u16) -> u64 {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established", &format!("( sport = :{port} )")])
        .output()
        .expect("runs ss (iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("bytes_received:"))
        .filter_map(|v| v.parse::<u64>().ok())
        .sum()
}

/// Blocks until the server's connections have received `bytes`; panics after `limit`.
pub fn wait_for_bytes_received(server: &ServerProcess, bytes: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    while bytes_received(server.addr().port()) < bytes {
        assert!(
            Instant::now() < deadline,
            "server received < {bytes} bytes in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
