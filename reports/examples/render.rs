//! Renders a report without the `rpcbench` binary, for previews and debugging.
//!
//! ```text
//! cargo run -p rpcbench-reports --example render -- RUN_DIR [CRITERION_DIR]
//! cargo run -p rpcbench-reports --example render -- --criterion-only CRITERION_DIR OUT_DIR
//! cargo run -p rpcbench-reports --example render -- --synthetic OUT_DIR
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use rpcbench_reports::{render_criterion_only, render_run, synthetic, write_json_atomic};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let usage = "usage: render RUN_DIR [CRITERION_DIR] | --criterion-only CRITERION_DIR OUT_DIR | --synthetic OUT_DIR";
    let result = match args
        .iter()
        .map(|a| a.to_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--criterion-only", _, _] => render_criterion_only(&args[1], &args[2]),
        ["--synthetic", _] => {
            let dir = &args[1];
            let written = write_json_atomic(&dir.join("results.json"), &synthetic::run()).and_then(|()| {
                synthetic::write_criterion_dir(
                    &dir.join("criterion"),
                    &synthetic::codec_benches(),
                    Some(&synthetic::encoded_sizes()),
                )
            });
            match written {
                Ok(()) => render_run(dir, None),
                Err(e) => Err(e.into()),
            }
        }
        [_] => render_run(&args[0], None),
        [_, _] => render_run(&args[0], Some(&args[1])),
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(r) => {
            println!("{}\n{}", r.index_html.display(), r.sentence);
            for m in &r.missing {
                println!("missing: {m}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
