//! The server's stats endpoint: its own process CPU time and memory, so a run that measures a
//! server started elsewhere (`rpcbench run --target`) still records server CPU per request.
//!
//! The design decision to know: the endpoint is **off the measured path** — its own listener on
//! its own thread with a one-thread runtime, never a route of the variant's server — and **off by
//! default**: `rpcbench serve --stats-addr HOST:PORT` turns it on, and only the address given is
//! bound (the README's examples use 127.0.0.1, or the server host's address on a private lab
//! link). It serves one document, `GET /stats`, the same for every variant:
//!
//! ```json
//! {"variant":"grpc-proto-h2","pid":4242,"cpu_ns":123456789,"rss_bytes":10485760,"peak_rss_bytes":12582912}
//! ```
//!
//! `cpu_ns` is the process CPU clock (`CLOCK_PROCESS_CPUTIME_ID`: user + system time of every
//! thread, in ns). Answering a request costs the server some tens of µs of CPU, once before and
//! once after each measured phase; that is included in what it reports.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde::{Deserialize, Serialize};

/// Path of the one document the endpoint serves.
pub const STATS_PATH: &str = "/stats";
/// How long reading the endpoint may take before the reading counts as failed.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// What `GET /stats` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatsDoc {
    /// The variant this process serves.
    pub variant: String,
    pub pid: u32,
    /// Process CPU time so far (user + system, every thread), ns.
    pub cpu_ns: u64,
    /// Resident set now (VmRSS).
    pub rss_bytes: Option<u64>,
    /// Peak resident set (VmHWM).
    pub peak_rss_bytes: Option<u64>,
    /// Connections the server closed or refused on its own, by reason (absent from older
    /// servers).
    #[serde(default)]
    pub closures: Option<rpcbench_servers::ClosureCounts>,
}

impl ServerStatsDoc {
    /// This process, now.
    pub fn current(variant: &str, closures: Option<&rpcbench_servers::Closures>) -> ServerStatsDoc {
        let pid = std::process::id();
        ServerStatsDoc {
            variant: variant.to_owned(),
            pid,
            cpu_ns: crate::procfs::self_cpu_ns(),
            rss_bytes: crate::procfs::rss(pid),
            peak_rss_bytes: crate::procfs::peak_rss(pid),
            closures: closures.map(rpcbench_servers::Closures::counts),
        }
    }
}

/// Why the endpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("stats endpoint {url}: {message}")]
    Fetch { url: String, message: String },
    #[error("stats endpoint {url} did not answer within {FETCH_TIMEOUT:?}")]
    Timeout { url: String },
    #[error("{url:?} is not a stats endpoint URL: {message}")]
    BadUrl { url: String, message: String },
}

/// Binds `addr` and serves `GET /stats` on a thread of its own until the process exits.
/// Returns the bound address.
pub fn spawn_endpoint(
    addr: SocketAddr,
    variant: &str,
    closures: Option<std::sync::Arc<rpcbench_servers::Closures>>,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let variant = variant.to_owned();
    std::thread::Builder::new()
        .name("stats-endpoint".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "stats endpoint stopped");
                        return;
                    }
                };
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let variant = variant.clone();
                    let closures = closures.clone();
                    tokio::spawn(async move {
                        let service =
                            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                                let variant = variant.clone();
                                let closures = closures.clone();
                                async move {
                                    Ok::<_, std::convert::Infallible>(answer(
                                        &req,
                                        &variant,
                                        closures.as_deref(),
                                    ))
                                }
                            });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(local)
}

fn answer(
    req: &hyper::Request<hyper::body::Incoming>,
    variant: &str,
    closures: Option<&rpcbench_servers::Closures>,
) -> hyper::Response<Full<Bytes>> {
    let (status, body) = if req.method() != hyper::Method::GET {
        (
            hyper::StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from_static(b"GET only\n"),
        )
    } else if req.uri().path() != STATS_PATH {
        (
            hyper::StatusCode::NOT_FOUND,
            Bytes::from_static(b"only /stats is served here\n"),
        )
    } else {
        let doc = ServerStatsDoc::current(variant, closures);
        (
            hyper::StatusCode::OK,
            Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()),
        )
    };
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = status;
    if status == hyper::StatusCode::OK {
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    resp
}

/// Where a run reads a server's stats: `http://HOST:PORT` (the `/stats` path is implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsUrl {
    pub url: String,
    pub addr: SocketAddr,
}

impl StatsUrl {
    /// Parses `http://HOST:PORT[/stats]` or `HOST:PORT`.
    pub fn parse(url: &str) -> Result<StatsUrl, StatsError> {
        let bad = |message: &str| StatsError::BadUrl {
            url: url.into(),
            message: message.into(),
        };
        if url.starts_with("https://") {
            return Err(bad("the stats endpoint speaks plain HTTP (use http://)"));
        }
        let trimmed = url.strip_suffix(STATS_PATH).unwrap_or(url);
        let addr = crate::loadcmd::parse_target(trimmed).map_err(|e| bad(&format!("{e:#}")))?;
        Ok(StatsUrl {
            url: format!("http://{addr}{STATS_PATH}"),
            addr,
        })
    }

    /// Reads the endpoint once.
    pub async fn fetch(&self) -> Result<ServerStatsDoc, StatsError> {
        match tokio::time::timeout(FETCH_TIMEOUT, self.fetch_inner()).await {
            Ok(r) => r,
            Err(_) => Err(StatsError::Timeout {
                url: self.url.clone(),
            }),
        }
    }

    async fn fetch_inner(&self) -> Result<ServerStatsDoc, StatsError> {
        let err = |message: String| StatsError::Fetch {
            url: self.url.clone(),
            message,
        };
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| err(format!("cannot connect: {e}")))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| err(e.to_string()))?;
        let conn = tokio::spawn(conn);
        let req = hyper::Request::get(STATS_PATH)
            .header(hyper::header::HOST, self.addr.to_string())
            .body(Full::new(Bytes::new()))
            .map_err(|e| err(e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| err(e.to_string()))?
            .to_bytes();
        conn.abort();
        if !status.is_success() {
            return Err(err(format!("HTTP {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| err(format!("not a stats document: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endpoint_serves_this_process_cpu_and_memory() {
        let closures = std::sync::Arc::new(rpcbench_servers::Closures::default());
        let addr = spawn_endpoint(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            "rest-json-h1",
            Some(closures),
        )
        .unwrap();
        let url = StatsUrl::parse(&format!("http://{addr}")).unwrap();
        let a = url.fetch().await.unwrap();
        // Burn 20 ms of CPU (bounded in wall time: the machine may be busy); the endpoint's
        // clock must have moved by at least that much.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while crate::procfs::self_cpu_ns() < a.cpu_ns + 20_000_000 && t.elapsed() < Duration::from_secs(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let b = url.fetch().await.unwrap();
        assert_eq!(a.variant, "rest-json-h1");
        assert_eq!(a.pid, std::process::id());
        assert!(b.cpu_ns >= a.cpu_ns + 20_000_000, "{a:?} {b:?}");
        assert!(b.rss_bytes.unwrap() > 0 && b.peak_rss_bytes.unwrap() >= b.rss_bytes.unwrap());
        assert_eq!(b.closures, Some(rpcbench_servers::ClosureCounts::default()));
    }

    #[tokio::test]
    async fn bad_urls_and_dead_endpoints_are_errors() {
        assert!(StatsUrl::parse("https://127.0.0.1:1").is_err());
        assert!(StatsUrl::parse("ftp://x").is_err());
        assert_eq!(
            StatsUrl::parse("127.0.0.1:9/stats").unwrap().url,
            "http://127.0.0.1:9/stats"
        );
        // A port nobody listens on.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = StatsUrl::parse(&format!("http://{free}")).unwrap();
        let e = url.fetch().await.unwrap_err().to_string();
        assert!(e.contains(&free.to_string()), "{e}");
    }
}
