//! rpcbench's vocabulary: the things a run is made of — variants and their factors (stack, HTTP
//! version, encoding), RPCs, payload shapes, sizes, codec operations — and the ids built from
//! them, declared once.
//!
//! The design decision to know: this crate depends on no framework (no tokio, hyper, axum or
//! tonic), so every other crate — the servers, the load generator and the reports alike — can
//! use these types instead of strings. Names are given once per enum ([`named_enum!`]), ids are
//! formatted and parsed only here ([`BenchId`], [`PointId`]), and the factorial comparisons are
//! derived from the variants' factors ([`Variant::pairs`]), never listed. Adding a level is an
//! edit the compiler follows wherever it must be handled.

#[macro_use]
mod names;
mod id;
mod metric;
pub mod network;
mod size;
mod variant;
mod workload;

pub use id::{BenchId, LoadLabel, PointId};
pub use metric::{Better, Metric, PointMeasures, Unit};
pub use names::UnknownName;
pub use network::{LinkProfile, NetworkProfile, NetworkResult};
pub use size::{ParseSizeError, Size};
pub use variant::{Encoding, Factor, HttpVersion, Pair, Stack, Variant};
pub use workload::{CodecOp, ErrorKind, GrpcCode, Rpc, Shape};

/// Why an id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id {id:?} does not have the form {form}")]
    Form { id: String, form: &'static str },
    #[error("id {id:?}: {source}")]
    Name { id: String, source: UnknownName },
    #[error("id {id:?}: {source}")]
    Size { id: String, source: ParseSizeError },
}
