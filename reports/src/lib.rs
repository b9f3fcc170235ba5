//! rpcbench's results schema and everything that reads results: criterion ingestion, the
//! verdict, HTML/Markdown rendering and the regression comparison.
//!
//! The design decision to know: this crate never runs anything. It depends on no server, client
//! or RPC framework; producers (`rpcbench load`, `rpcbench run`, the codec benches) write the
//! types in [`schema`], and everything here is a pure function of those files.
//!
//! Entry points for the binary: [`render_run`] (`rpcbench report DIR [--criterion-dir D]`, and
//! the end of `rpcbench run`) and [`render_criterion_only`]. The pipeline is
//! [`criterion`] + [`schema`] → [`evidence`] (ratios with spread and source) → [`verdict`] →
//! [`sink::ReportSink`]s ([`html`], [`markdown`], [`summary`]).

pub mod charts;
pub mod compare;
pub mod conditions;
pub mod criterion;
pub mod evidence;
pub mod format;
pub mod hgrm;
pub mod html;
pub mod latency;
pub mod markdown;
pub mod merge;
pub mod model;
pub mod networks;
pub mod render;
pub mod schema;
pub mod sink;
pub mod stats;
pub mod summary;
/// Test fixtures (synthetic result sets): only in this crate's tests, and behind the `fixtures`
/// feature for its integration tests and examples; not part of the shipped library.
#[cfg(any(test, feature = "fixtures"))]
pub mod synthetic;
pub mod verdict;

pub use render::{Rendered, render_criterion_only, render_run};
pub use schema::*;
pub use sink::ReportError;
