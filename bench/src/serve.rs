//! `rpcbench serve`: bind, announce readiness on stdout, serve until a signal.

use std::io::Write as _;

use anyhow::Context as _;
use rpcbench_servers::Server;

use crate::cli::ServeArgs;

/// The line printed on stdout once the server accepts connections.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReadyLine {
    pub variant: String,
    pub addr: std::net::SocketAddr,
    /// True when the server speaks TLS.
    #[serde(default)]
    pub tls: bool,
    /// Where its stats endpoint listens (`serve --stats-addr`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_addr: Option<std::net::SocketAddr>,
}

/// Runs `rpcbench serve` on its own runtime (worker threads from the settings).
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(list) = &args.cpus {
        let cpus = crate::pin::parse_flag("--cpus", list)?;
        crate::pin::pin_or_warn(&cpus, "serving");
    }
    // After pinning, so the default follows the CPU set.
    let threads = args.settings.effective_worker_threads();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let mut server = Server::bind(args.variant, args.addr, &args.settings).await?;
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            let config = rpcbench_servers::tls::server_config(cert, key, args.variant.http())
                .context("cannot set up TLS")?;
            server = server.with_tls(config);
        }
        let stats_addr = args
            .stats_addr
            .map(|addr| {
                crate::server_stats::spawn_endpoint(addr, args.variant.name(), Some(server.closures()))
                    .with_context(|| format!("cannot bind the stats endpoint on {addr}"))
            })
            .transpose()?;
        tracing::info!(variant = %args.variant, addr = %server.local_addr(), worker_threads = threads, ?stats_addr, "serving");
        let line = serde_json::to_string(&ReadyLine {
            variant: args.variant.name().into(),
            addr: server.local_addr(),
            tls: server.is_tls(),
            stats_addr,
        })?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}").and_then(|()| stdout.flush()).context("cannot write the ready line")?;
        drop(stdout);
        let stdin_eof = args.exit_on_stdin_eof.then(stdin_eof);
        server
            .serve(async move {
                match stdin_eof {
                    Some(eof) => tokio::select! {
                        _ = shutdown_signal() => {}
                        _ = eof => tracing::info!("stdin closed: shutting down"),
                    },
                    None => {
                        shutdown_signal().await;
                    }
                }
            })
            .await;
        Ok(())
    })
}

/// Resolves when stdin reaches end of file (read on a detached thread, so it never delays exit).
fn stdin_eof() -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    rx
}

/// Resolves on SIGTERM or SIGINT, with the signal's name. `serve`, `run` and `load` all stop on
/// either alike: CI systems and Kubernetes stop jobs with SIGTERM, a terminal with SIGINT.
pub async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops this process");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
