//! The `rpcbench` binary: parse, then hand over to the library.

use clap::Parser;
use rpcbench::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let result = match cli.command {
        Command::Serve(args) => rpcbench::serve::run(args).map(|()| 0),
        Command::Load(args) => rpcbench::loadcmd::run(args),
        Command::Run(args) => rpcbench::runcmd::run(args),
        Command::Codec(args) => rpcbench::codeccmd::run(args).map(|()| 0),
        Command::Report(args) => rpcbench::report::run(args),
        Command::Compare(args) => Ok(rpcbench::comparecmd::run(args)),
        Command::Merge(args) => Ok(rpcbench::mergecmd::run(args)),
        Command::NetnsClean => {
            let killed = rpcbench::netns::clean_leftovers();
            for k in &killed {
                println!("killed {k}");
            }
            println!("netns-clean: {} leftover process(es) removed", killed.len());
            Ok(0)
        }
        Command::DelayLine(args) => rpcbench::delay_line::run(args).map(|()| 0),
        Command::Cert(args) => rpcbench_servers::tls::generate_run_certificate(&args.dir, &args.names)
            .map(|files| {
                let paths = serde_json::json!({
                    "ca": files.ca,
                    "cert": files.cert,
                    "key": files.key,
                });
                println!("{paths}");
                0
            })
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("rpcbench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
