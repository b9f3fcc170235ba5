//! Codec micro-benchmarks: what serialization alone costs, per shape, size and encoding.
//!
//! The cases come from `rpcbench::codec_matrix` (one table) and are measured by
//! `rpcbench::codec_suite` (one function per operation, each checking its round trip) — the
//! same code `rpcbench run` uses for its serialization phase. Before the timed cases this
//! writes `encoded-sizes.json` (raw, gzip and zstd sizes of every shape × size) next to
//! criterion's output.
//!
//! `RPCBENCH_QUICK=1` selects the short CI matrix; see `bench/BENCHES.md`.

use criterion::Criterion;
use rpcbench::codec_matrix::{self, Mode};
use rpcbench::codec_suite;

fn main() {
    let mode = Mode::from_env();
    let mut criterion = Criterion::default().configure_from_args();

    let dir = codec_matrix::criterion_dir();
    let sizes = codec_suite::write_encoded_sizes(&codec_matrix::size_points(), &dir)
        .unwrap_or_else(|e| panic!("writing encoded sizes: {e}"));
    codec_suite::print_sizes(&sizes);
    println!("encoded sizes written to {}", dir.display());

    let cases = codec_matrix::cases(mode);
    println!("codec suite: {} mode ({} cases)", mode.as_str(), cases.len());
    codec_suite::run_cases(&mut criterion, &cases, |size| mode.timing(size));
    criterion.final_summary();
}
