//! Instruction counts of the one codec (`Encoding::{encode, decode}`) under valgrind's
//! callgrind: a deterministic measure of codec cost that CI noise cannot move, for the
//! regression gate (`rpcbench compare`, docs/regression.md).
//!
//! ```sh
//! cargo bench -p rpcbench --bench codec_instructions -- [--output FILE] [--iterations N] [FILTER]
//! ```
//!
//! The parent process re-runs this executable once per case under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*measure_codec_instructions*`:
//! the child generates the input (fixed seed), calls the codec once to warm the allocator, then
//! calls [`measure_codec_instructions`], the only function whose instructions are counted.
//! The parent reads callgrind's `summary:` line and writes `instructions.json` (default
//! `<target>/instructions/instructions.json`), typed as
//! [`rpcbench_reports::compare::InstructionCounts`].
//!
//! Ids match the criterion codec benches: `codec/<op>/<encoding>/<shape>/<size>`. Without
//! valgrind the bench says so and exits 0 (so `cargo bench` works anywhere), unless `--output`
//! was given: then a missing valgrind is an error, because CI asked for the counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use rpcbench_model::{BenchId, CodecOp, Size};
use rpcbench_proto::pb::Payload;
use rpcbench_proto::{Codec as _, Encoding, Shape, generate};
use rpcbench_reports::compare::{INSTRUCTIONS_FILE, InstructionCase, InstructionCounts};

/// Seed of every generated input (the same as the criterion codec benches').
const SEED: u64 = 42;
/// Calls counted per case. A multiple of 10, so the test-only injected slowdown (every 10th
/// JSON encode) adds exactly 10% to `codec/encode/json/*`.
const DEFAULT_ITERATIONS: u64 = 10;
/// Environment variable that turns this executable into the measured child for one case.
const CASE_ENV: &str = "RPCBENCH_INSTR_CASE";
const ITERATIONS_ENV: &str = "RPCBENCH_INSTR_ITERATIONS";

/// (shape, size): one small message, and a 16 KiB payload of every shape (blob larger, since
/// copying bytes is cheap per byte).
const PAYLOADS: [(Shape, u64); 6] = [
    (Shape::Small, 256),
    (Shape::Logs, 16 * 1024),
    (Shape::Mesh, 16 * 1024),
    (Shape::Nested, 16 * 1024),
    (Shape::Metrics, 16 * 1024),
    (Shape::Blob, 64 * 1024),
];

#[derive(Debug, Clone)]
struct Case {
    op: CodecOp,
    encoding: Encoding,
    shape: Shape,
    size: u64,
}

impl Case {
    fn id(&self) -> String {
        BenchId::Codec {
            op: self.op,
            encoding: self.encoding,
            shape: self.shape,
            size: Size(self.size),
        }
        .to_string()
    }
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (shape, size) in PAYLOADS {
        for op in [CodecOp::Encode, CodecOp::Decode] {
            for encoding in Encoding::ALL {
                v.push(Case {
                    op,
                    encoding,
                    shape,
                    size,
                });
            }
        }
    }
    v
}

/// Prepared input of one case: the message, and its encoding (the input of `decode`).
struct Input {
    msg: Payload,
    bytes: Vec<u8>,
}

fn prepare(case: &Case) -> Input {
    let msg = generate(case.shape, case.size, SEED).expect("catalogue payload");
    let bytes = case.encoding.encode(&msg).expect("encode");
    Input { msg, bytes }
}

fn run_once(case: &Case, input: &Input) -> usize {
    match case.op {
        CodecOp::Encode => std::hint::black_box(case.encoding.encode(std::hint::black_box(&input.msg)))
            .expect("encode")
            .len(),
        CodecOp::PopulateEncode => {
            let msg = std::hint::black_box(&input.msg).clone();
            std::hint::black_box(case.encoding.encode(&msg))
                .expect("encode")
                .len()
        }
        CodecOp::Decode => {
            let msg: Payload = case
                .encoding
                .decode(std::hint::black_box(&input.bytes))
                .expect("decode");
            std::hint::black_box(msg).body.is_some() as usize
        }
    }
}

/// The counted region: callgrind's `--toggle-collect` matches this function's name, so only
/// the instructions executed between its entry and its return are counted.
#[inline(never)]
fn measure_codec_instructions(case: &Case, input: &Input, iterations: u64) -> usize {
    let mut sink = 0;
    for _ in 0..iterations {
        sink += run_once(case, input);
    }
    sink
}

/// Child mode: run one case (under callgrind).
fn child(id: &str) -> Result<(), String> {
    let case = cases()
        .into_iter()
        .find(|c| c.id() == id)
        .ok_or_else(|| format!("unknown case {id}"))?;
    let iterations = std::env::var(ITERATIONS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS);
    let input = prepare(&case);
    // Warm-up outside the counted region: first-touch allocations, lazy statics.
    run_once(&case, &input);
    std::hint::black_box(measure_codec_instructions(&case, &input, iterations));
    Ok(())
}

struct Args {
    output: Option<PathBuf>,
    iterations: u64,
    filter: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        output: None,
        iterations: DEFAULT_ITERATIONS,
        filter: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // Passed by `cargo bench`.
            "--bench" => {}
            // criterion's flags, passed to every bench target by `cargo bench -- ...`: this one
            // counts instructions and keeps no baselines, so they do not apply here.
            "--save-baseline"
            | "--baseline"
            | "--baseline-lenient"
            | "--load-baseline"
            | "--measurement-time"
            | "--warm-up-time"
            | "--sample-size"
            | "--nresamples"
            | "--noise-threshold"
            | "--confidence-level"
            | "--significance-level"
            | "--plotting-backend"
            | "--output-format"
            | "--profile-time"
            | "--color" => {
                it.next().ok_or(format!("{a} needs a value"))?;
            }
            "--quick" | "--noplot" | "--discard-baseline" | "--verbose" | "--quiet" | "--exact"
            | "--ignored" | "--list" | "--test" => {}
            "--output" => args.output = Some(it.next().ok_or("--output needs a FILE")?.into()),
            "--iterations" => {
                args.iterations = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--iterations needs a positive integer")?;
            }
            "-h" | "--help" => {
                println!(
                    "codec_instructions [--output FILE] [--iterations N] [FILTER]\n\
                     Counts the instructions of the codec paths under valgrind callgrind."
                );
                std::process::exit(0);
            }
            other if other.starts_with('-') => return Err(format!("unknown flag {other}")),
            other => args.filter = Some(other.to_owned()),
        }
    }
    Ok(args)
}

/// `<target>/instructions/instructions.json`, found from this executable's path
/// (`<target>/<profile>/deps/codec_instructions-<hash>`).
fn default_output() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("instructions").join(INSTRUCTIONS_FILE)
}

fn valgrind_version() -> Option<String> {
    let out = Command::new("valgrind").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Total `Ir` of a callgrind output file (its `summary:` line, or `totals:` as a fallback).
fn callgrind_total(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("summary:"))
        .or_else(|| text.lines().find(|l| l.starts_with("totals:")))
        .ok_or_else(|| format!("{}: no summary line", path.display()))?;
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{}: bad summary line {line:?}", path.display()))
}

fn count(case: &Case, iterations: u64, scratch: &Path) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out_file = scratch.join(format!("{}.callgrind", case.id().replace('/', "_")));
    let status = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--quiet",
            "--collect-atstart=no",
            "--toggle-collect=*measure_codec_instructions*",
        ])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&exe)
        .env(CASE_ENV, case.id())
        .env(ITERATIONS_ENV, iterations.to_string())
        .status()
        .map_err(|e| format!("cannot start valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("{}: valgrind exited with {status}", case.id()));
    }
    let total = callgrind_total(&out_file)?;
    if total == 0 {
        // The toggle matched nothing (e.g. a symbol-name change): never report zero cost.
        return Err(format!(
            "{}: callgrind counted no instructions in measure_codec_instructions",
            case.id()
        ));
    }
    Ok(total)
}

fn parent(args: Args) -> Result<(), String> {
    let Some(tool) = valgrind_version() else {
        if args.output.is_some() {
            return Err("valgrind is not installed (apt-get install valgrind)".into());
        }
        eprintln!("codec_instructions: valgrind not found, skipping (apt-get install valgrind)");
        return Ok(());
    };
    let output = args.output.unwrap_or_else(default_output);
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut counts = InstructionCounts::new(tool, rpcbench_proto::codec::SLOWDOWN_INJECTED);
    counts.provenance = Some(rpcbench::provenance::collect(None, None));
    for case in cases() {
        let id = case.id();
        if args.filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        let instructions = count(&case, args.iterations, scratch.path())?;
        let input = prepare(&case);
        let c = InstructionCase {
            id,
            iterations: args.iterations,
            instructions,
            encoded_bytes: input.bytes.len() as u64,
        };
        println!("{:<40} {:>14.0} instructions/call", c.id, c.per_iteration());
        counts.cases.push(c);
    }
    if let Some(p) = counts.provenance.as_mut() {
        p.finished_at = Some(rpcbench::provenance::now_rfc3339());
    }
    rpcbench_reports::write_json_atomic(&output, &counts).map_err(|e| e.to_string())?;
    println!("instructions: {}", output.display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    let result = match std::env::var(CASE_ENV) {
        Ok(id) => child(&id),
        Err(_) => parse_args().and_then(parent),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codec_instructions: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
