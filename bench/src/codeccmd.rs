//! `rpcbench codec`: the serialization phase — the codec cases of the given payloads, measured
//! in this process with criterion as a library, written where the report reads them.

use anyhow::Context as _;
use criterion::Criterion;

use crate::cli::CodecArgs;
use crate::codec_matrix;
use crate::codec_suite;

/// Runs `rpcbench codec`.
pub fn run(args: CodecArgs) -> anyhow::Result<()> {
    if let Some(list) = &args.cpus {
        let cpus = crate::pin::parse_flag("--cpus", list)?;
        crate::pin::pin_process(&cpus).map_err(anyhow::Error::msg)?;
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let sizes = codec_suite::write_encoded_sizes(&args.payloads, &args.output)?;
    codec_suite::print_sizes(&sizes);
    let cases = codec_matrix::cases_for(&args.payloads);
    println!("codec: {} cases into {}", cases.len(), args.output.display());
    // No plots: the run's report draws its own charts, and plotting costs more than measuring.
    let mut criterion = Criterion::default()
        .output_directory(&args.output)
        .without_plots();
    codec_suite::run_cases(&mut criterion, &cases, codec_matrix::in_run_timing);
    criterion.final_summary();
    Ok(())
}
