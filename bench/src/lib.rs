//! rpcbench: the `rpcbench` binary's library — CLI, the variants' clients, the load generator
//! and the run orchestrator.
//!
//! The design decision to know: there is one client type ([`client::Client`]) for all
//! variants and one load loop over it; the protocol is a parameter, never a copy of the loop.

pub mod caps;
pub mod cli;
pub mod client;
pub mod client_idiomatic;
pub mod codec_matrix;
pub mod codec_suite;
pub mod codeccmd;
pub mod comparecmd;
pub mod delay_line;
pub mod exchange;
pub mod exit;
pub mod load;
pub mod loadcmd;
pub mod mergecmd;
pub mod netns;
pub mod pin;
pub mod procfs;
pub mod provenance;
pub mod report;
pub mod run;
pub mod runcmd;
pub mod scenario;
pub mod serve;
pub mod server_process;
pub mod server_stats;
pub mod stream_client;
