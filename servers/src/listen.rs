//! The one listener: accept loop, socket options, optional TLS and hyper connection settings for
//! every variant, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
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
        HttpVersion::Http1 => builder.http1_only(),
        HttpVersion::Http2 => {
            let mut builder = builder.http2_only();
            builder
                .http2()
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
                    if let Err(e) = stream.set_nodelay(self.tcp_nodelay) {
                        tracing::warn!(error = %e, %peer, "cannot set TCP_NODELAY");
                    }
                    // With upgrades: WebSocket routes take over their HTTP/1.1 connection.
                    let builder = Arc::clone(&self.builder);
                    let service = service.clone();
                    let watcher = graceful.watcher();
                    match &self.tls {
                        None => {
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                            let conn = watcher.watch(conn);
                            tokio::spawn(async move {
                                if let Err(e) = conn.await {
                                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                                }
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
                                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                        return;
                                    }
                                    Err(_) => {
                                        tracing::debug!(%peer, "TLS handshake timed out");
                                        return;
                                    }
                                };
                                let conn = builder
                                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                    .into_owned();
                                if let Err(e) = watcher.watch(conn).await {
                                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                                }
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
