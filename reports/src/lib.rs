//! rpcbench's results schema and everything that reads results: criterion ingestion, the
//! verdict, HTML/Markdown rendering and the regression comparison.
//!
//! The design decision to know: this crate never runs anything. It depends on no server, client
//! or RPC framework; producers (`rpcbench load`, `rpcbench run`, the codec benches) write the
//! types in [`schema`], and everything here is a pure function of those files.

pub mod criterion;
pub mod evidence;
pub mod format;
pub mod schema;
pub mod synthetic;
pub mod verdict;

pub use schema::*;
