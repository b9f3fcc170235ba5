//! Where a result came from: build (recorded at compile time) and machine (read at run time).

use std::time::SystemTime;

use rpcbench_reports::Provenance;

/// RFC 3339 UTC timestamp, seconds precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The CPU model name from /proc/cpuinfo.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// Online CPUs of the machine (not just this process's affinity set).
pub fn machine_cores() -> u32 {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count() as u32)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        })
}

/// Provenance of this build on this machine; the caller fills CPU sets and times.
pub fn collect(server_cpus: Option<Vec<usize>>, client_cpus: Option<Vec<usize>>) -> Provenance {
    let commit = env!("RPCBENCH_GIT_COMMIT");
    let dirty = env!("RPCBENCH_GIT_DIRTY");
    let rustc = env!("RPCBENCH_RUSTC_VV").replace("\\n", "\n");
    Provenance {
        rpcbench_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: (!commit.is_empty()).then(|| commit.into()),
        git_dirty: match dirty {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        rustc: (!rustc.is_empty()).then_some(rustc),
        build_profile: env!("RPCBENCH_PROFILE").into(),
        compiled_target_features: rpcbench_proto::codec::sonic_target_features()
            .into_iter()
            .map(String::from)
            .collect(),
        cpu_target_features: rpcbench_proto::codec::cpu_target_features()
            .into_iter()
            .map(String::from)
            .collect(),
        cpu_model: cpu_model(),
        cores: machine_cores(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        hostname: read_trimmed("/proc/sys/kernel/hostname"),
        server_cpus,
        client_cpus,
        command: std::env::args().collect(),
        started_at: now_rfc3339(),
        finished_at: None,
    }
}
