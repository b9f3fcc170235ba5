//! The one listener: accept loop, socket options, optional TLS and hyper connection settings for
//! every variant, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::core::ServiceCore;
use crate::settings::ServerSettings;
use crate::{HttpVersion, Variant};

/// How long a TLS handshake may take before the connection is dropped.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for in-flight requests before closing connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot bind {addr} for {variant}: {source}")]
    Bind {
        variant: Variant,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the bound address of {variant}: {source}")]
    LocalAddr {
        variant: Variant,
        source: std::io::Error,
    },
}

/// Connections the server closed (or refused) on its own, by reason. Shared with the stats
/// endpoint (`rpcbench serve --stats-addr`).
#[derive(Debug, Default)]
pub struct Closures {
    header_timeout: AtomicU64,
    keepalive_timeout: AtomicU64,
    connection_limit: AtomicU64,
    tls_handshake: AtomicU64,
}

/// A snapshot of [`Closures`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClosureCounts {
    /// HTTP/1.1: a request header, once begun, was not complete within `header_read_timeout_ms`.
    pub header_timeout: u64,
    /// HTTP/2: a keep-alive PING was not acknowledged within `h2_keepalive_timeout_ms`.
    pub keepalive_timeout: u64,
    /// Refused at accept: `max_connections` were already open.
    pub connection_limit: u64,
    /// A TLS handshake failed or took longer than [`TLS_HANDSHAKE_TIMEOUT`].
    pub tls_handshake: u64,
}

impl Closures {
    pub fn counts(&self) -> ClosureCounts {
        ClosureCounts {
            header_timeout: self.header_timeout.load(Ordering::Relaxed),
            keepalive_timeout: self.keepalive_timeout.load(Ordering::Relaxed),
            connection_limit: self.connection_limit.load(Ordering::Relaxed),
            tls_handshake: self.tls_handshake.load(Ordering::Relaxed),
        }
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection that ended with `error` if the server's own timeout ended it.
    fn connection_ended(&self, http: HttpVersion, error: &(dyn std::error::Error + 'static)) {
        let timed_out = error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout);
        if timed_out {
            match http {
                HttpVersion::Http1 => Closures::count(&self.header_timeout),
                HttpVersion::Http2 => Closures::count(&self.keepalive_timeout),
            }
        }
    }
}

/// A bound, not yet serving, server of one variant.
pub struct Server {
    variant: Variant,
    listener: TcpListener,
    local_addr: SocketAddr,
    app: axum::Router,
    core: Arc<ServiceCore>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    tcp_nodelay: bool,
    tls: Option<TlsAcceptor>,
    connections: Arc<Semaphore>,
    closures: Arc<Closures>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("variant", &self.variant)
            .field("addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The hyper connection builder for a variant: HTTP/1.1 only or HTTP/2 (h2c) only, with the
/// HTTP/2 settings from `settings` — identical for REST and gRPC.
pub fn connection_builder(http: HttpVersion, settings: &ServerSettings) -> auto::Builder<TokioExecutor> {
    let builder = auto::Builder::new(TokioExecutor::new());
    match http {
        HttpVersion::Http1 => {
            let mut builder = builder.http1_only();
            // hyper applies the header-read timeout only with a timer.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(settings.header_read_timeout_ms));
            builder
        }
        HttpVersion::Http2 => {
            let mut builder = builder.http2_only();
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Duration::from_millis(settings.h2_keepalive_interval_ms))
                .keep_alive_timeout(Duration::from_millis(settings.h2_keepalive_timeout_ms))
                .initial_stream_window_size(settings.h2_stream_window)
                .initial_connection_window_size(settings.h2_connection_window)
                .max_concurrent_streams(settings.h2_max_concurrent_streams)
                .max_frame_size(settings.h2_max_frame_size)
                .adaptive_window(settings.h2_adaptive_window);
            builder
        }
    }
}

impl Server {
    /// Builds the variant's service and binds `addr` (port 0 picks a free port).
    pub async fn bind(
        variant: Variant,
        addr: SocketAddr,
        settings: &ServerSettings,
    ) -> Result<Server, ServeError> {
        let core = Arc::new(ServiceCore::new(settings.max_body_bytes as u64));
        let app = crate::app(variant, Arc::clone(&core), settings).await;
        let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind {
            variant,
            addr,
            source,
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServeError::LocalAddr { variant, source })?;
        Ok(Server {
            variant,
            listener,
            local_addr,
            app,
            core,
            builder: Arc::new(connection_builder(variant.http(), settings)),
            tcp_nodelay: settings.tcp_nodelay,
            tls: None,
            connections: Arc::new(Semaphore::new(settings.max_connections.get())),
            closures: Arc::default(),
        })
    }

    /// Serves over TLS with `config` (see [`crate::tls::server_config`]), which must offer the
    /// variant's ALPN protocol.
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Server {
        self.tls = Some(TlsAcceptor::from(config));
        self
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The server's closure counters (live: they keep counting while it serves).
    pub fn closures(&self) -> Arc<Closures> {
        Arc::clone(&self.closures)
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every open stream (feeds,
    /// rooms, chats: see [`ServiceCore::shutdown`]) and drains open connections (for at most a
    /// few seconds).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let service = TowerToHyperService::new(self.app);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // EMFILE and friends: back off briefly instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = Arc::clone(&self.connections).try_acquire_owned() else {
                        // Refused, not queued: a queue would only move the exhaustion into the
                        // listen backlog. Dropping the stream closes it.
                        Closures::count(&self.closures.connection_limit);
                        tracing::debug!(%peer, "connection limit reached: refused");
                        continue;
                    };
                    if let Err(e) = stream.set_nodelay(self.tcp_nodelay) {
                        tracing::warn!(error = %e, %peer, "cannot set TCP_NODELAY");
                    }
                    // With upgrades: WebSocket routes take over their HTTP/1.1 connection.
                    let builder = Arc::clone(&self.builder);
                    let service = service.clone();
                    let watcher = graceful.watcher();
                    let closures = Arc::clone(&self.closures);
                    let http = self.variant.http();
                    match &self.tls {
                        None => {
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                            let conn = watcher.watch(conn);
                            tokio::spawn(async move {
                                if let Err(e) = conn.await {
                                    closures.connection_ended(http, &*e);
                                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                                }
                                drop(permit);
                            });
                        }
                        Some(acceptor) => {
                            // The handshake runs in the connection's task, so a slow client never
                            // holds up the accept loop.
                            let accept = acceptor.accept(stream);
                            tokio::spawn(async move {
                                let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, accept).await {
                                    Ok(Ok(s)) => s,
                                    Ok(Err(e)) => {
                                        Closures::count(&closures.tls_handshake);
                                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                        return;
                                    }
                                    Err(_) => {
                                        Closures::count(&closures.tls_handshake);
                                        tracing::debug!(%peer, "TLS handshake timed out");
                                        return;
                                    }
                                };
                                let conn = builder
                                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                    .into_owned();
                                if let Err(e) = watcher.watch(conn).await {
                                    closures.connection_ended(http, &*e);
                                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                                }
                                drop(permit);
                            });
                        }
                    }
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tracing::info!(variant = %self.variant, "shutting down");
        self.core.shutdown();
        let drained = async {
            graceful.shutdown().await;
            // Upgraded WebSocket sessions left hyper's tracking; they close themselves (1001).
            self.core.sessions_closed().await;
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        }
    }
}
