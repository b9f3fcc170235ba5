//! rpcbench library: the pieces the `rpcbench` binary and the criterion benches share.

pub mod codec_matrix;
