//! `rpcbench run`: pick the scenario and CPU sets, pin, run, report.

use anyhow::Context as _;

use crate::cli::RunArgs;
use crate::pin::{parse_flag, pin_or_warn};
use crate::run::RunOptions;
use crate::scenario::{Preset, Scenario, TargetSpec};
use rpcbench_model::NetworkProfile;

/// `--target VARIANT=URL` and `--target-stats VARIANT=URL` as the scenario's targets.
fn targets(specs: &[String], stats: &[String]) -> anyhow::Result<Vec<TargetSpec>> {
    let mut targets = specs
        .iter()
        .map(|s| TargetSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)
        .context("--target")?;
    for s in stats {
        let one = TargetSpec::parse(s)
            .map_err(anyhow::Error::msg)
            .context("--target-stats")?;
        let target = targets
            .iter_mut()
            .find(|t| t.variant == one.variant)
            .with_context(|| format!("--target-stats {s:?}: no --target for {:?}", one.variant))?;
        target.stats = Some(one.url);
    }
    Ok(targets)
}

/// Runs `rpcbench run`; returns the exit code.
pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    if let Some(preset) = args.print_scenario {
        print!("{}", preset.scenario().to_toml());
        return Ok(0);
    }
    let (scenario, scenario_name) = match (&args.scenario, args.preset) {
        (Some(path), _) => (Scenario::from_file(path)?, path.display().to_string()),
        (None, preset) => {
            let preset = preset.unwrap_or(Preset::Quick);
            let s = preset.scenario();
            let name = s.name.clone();
            (s, name)
        }
    };
    let (server_cpus, client_cpus) = if args.no_pin {
        (None, None)
    } else {
        let parse = |flag: &str, v: &Option<String>| v.as_deref().map(|l| parse_flag(flag, l)).transpose();
        let server = parse("--server-cpus", &args.server_cpus)?;
        let client = parse("--client-cpus", &args.client_cpus)?;
        match (server, client, crate::run::default_cpu_sets()) {
            (Some(s), Some(c), _) => (Some(s), Some(c)),
            (s, c, Some((ds, dc))) => (Some(s.unwrap_or(ds)), Some(c.unwrap_or(dc))),
            (s, c, None) => {
                tracing::warn!("fewer than 2 CPUs available: servers and load generator share CPUs");
                (s, c)
            }
        }
    };
    if let (Some(s), Some(c)) = (&server_cpus, &client_cpus)
        && s.iter().any(|cpu| c.contains(cpu))
    {
        anyhow::bail!("--server-cpus {s:?} and --client-cpus {c:?} overlap; they must be disjoint");
    }
    // Pin this process (the load generator) before any runtime thread exists.
    let client_cpus = client_cpus.filter(|cpus| pin_or_warn(cpus, "running the load generator"));
    let mut scenario = scenario;
    if !args.variants.is_empty() {
        let mut variants: Vec<String> = Vec::new();
        for v in &args.variants {
            if !variants.iter().any(|n| n == v.name()) {
                variants.push(v.name().to_owned());
            }
        }
        scenario.variants = variants;
    }
    if !args.networks.is_empty() {
        scenario.networks = args.networks.clone();
    }
    if !args.targets.is_empty() {
        scenario.targets = targets(&args.targets, &args.target_stats)?;
    }
    scenario
        .validate()
        .map_err(anyhow::Error::msg)
        .context("the scenario with the command line's --network/--target")?;
    let profiles = scenario
        .network_profiles()
        .map_err(anyhow::Error::msg)
        .context("--network")?;
    let mut opts = RunOptions {
        scenario,
        scenario_name,
        output_dir: args.output_dir,
        server_cpus,
        client_cpus,
        settings: args.settings,
        quiet: args.quiet || crate::run::quiet_by_default(),
        criterion_dir: Some(args.criterion_dir),
        network: NetworkProfile::Loopback,
    };
    // One run (directory, report, verdict) per network profile, in the order given.
    let mut code = 0;
    let mut dirs = Vec::new();
    for profile in profiles {
        opts.network = profile;
        let out = crate::run::run(&opts)?;
        println!("results: {}", out.results.display());
        crate::report::render_after_run(&out.dir, opts.criterion_dir.as_deref());
        dirs.push(out.dir.clone());
        if !out.complete {
            eprintln!(
                "rpcbench run: the run on network {} is incomplete; see `errors` and failed points in {}",
                opts.network.name(),
                out.results.display()
            );
            code = crate::exit::INCOMPLETE;
            if out.interrupted {
                break;
            }
        }
    }
    if dirs.len() > 1 {
        crate::report::render_networks_after_run(&dirs);
    }
    Ok(code)
}
