//! Scenarios: what `rpcbench run` measures. Presets are built in; any scenario can be printed
//! as TOML (`rpcbench run --print-scenario quick`) and read back with `--scenario FILE`.

use std::path::Path;
use std::time::Duration;

use rpcbench_proto::catalogue;
use rpcbench_reports::Rpc;
use rpcbench_reports::{Compression, Condition, ConnectionMode, TlsMode};
use rpcbench_servers::Variant;
use serde::{Deserialize, Serialize};

/// The `quick` preset's variants: the claim's two stacks and the cross variants that split
/// encoding, transport and framework (every variant but the JSON library's two).
const QUICK_VARIANTS: [Variant; 6] = [
    Variant::RestJsonH1,
    Variant::GrpcProtoH2,
    Variant::RestJsonH2,
    Variant::RestProtoH1,
    Variant::RestProtoH2,
    Variant::GrpcJsonH2,
];

/// Built-in scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Under a minute: every variant, one small echo workload, 2 repetitions (the least that
    /// gives an interval, so the verdict can decide) (used by CI)
    Smoke,
    /// About 4-5 minutes on 2 cores: small, medium and large payloads, 3 repetitions (95% CIs),
    /// the six variants of the claim's factorial (not the JSON library's two)
    Quick,
    /// Thorough: every shape at small and large sizes, sweeps to saturation, 3 repetitions
    /// (about 35 minutes on 2 cores with six variants, ~45 with eight)
    Full,
    /// How production runs (about 4 minutes on 2 cores): TLS off/on × compression
    /// none/gzip/zstd on rest-json-h1, grpc-proto-h2, rest-proto-h1 and rest-json-h2, for
    /// `fetch nested 16KiB` and `upload mesh 256KiB`, warm connections
    Production,
}

/// One request type of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// `echo`, `fetch` or `upload`
    pub rpc: Rpc,
    /// catalogue shape: small, logs, mesh, nested, metrics, blob
    pub shape: String,
    /// target protobuf-encoded payload size in bytes
    pub size: u64,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    1
}

/// Which load points to measure for every variant × workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadPoints {
    /// Closed loop at `connections` in flight: the maximum throughput point.
    pub max_throughput: bool,
    /// Open-loop rates shared by every variant, as fractions of the *slowest* variant's maximum
    /// throughput for the workload (measured in the first repetition), so every variant can
    /// sustain them and latency is compared at equal offered load.
    pub common_rate_fractions: Vec<f64>,
    /// Open-loop rates shared by every variant, in requests per second.
    #[serde(default)]
    pub fixed_rates: Vec<f64>,
    /// Open-loop sweep per variant, as fractions of that variant's own maximum throughput:
    /// draws latency versus throughput up to saturation.
    #[serde(default)]
    pub sweep_fractions: Vec<f64>,
}

/// A complete scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// Variant ids; empty means every variant.
    #[serde(default)]
    pub variants: Vec<String>,
    /// Repetitions of the whole matrix; variants are interleaved inside each one.
    pub repetitions: u32,
    /// Warm-up before each point (not recorded), e.g. "500ms".
    #[serde(with = "duration_str")]
    pub warmup: Duration,
    /// Measured phase of each point, e.g. "2s".
    #[serde(with = "duration_str")]
    pub duration: Duration,
    /// Per-request timeout.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// Connections per point, identical for every variant; requests in flight equal
    /// connections for every variant (HTTP/1.1 cannot carry more).
    pub connections: u32,
    /// Check the content of every n-th response.
    pub check_every: u64,
    /// Measure the loopback TCP round-trip floor before the run.
    #[serde(default = "yes")]
    pub measure_floor: bool,
    /// Measure serialization before the load points: every codec case (encodings × operations)
    /// for the workloads' shapes and sizes, in-process (`rpcbench codec`), into the run's
    /// `criterion/` directory, so the report's serialization section comes from this run.
    #[serde(default = "yes")]
    pub serialization: bool,
    /// Network profiles, each measured as its own run (directory, report, verdict): `loopback`
    /// (the default when empty), `lan`, `wan`, `mobile`, or `NAME:rate=50mbit,rtt=30ms,loss=0.1%`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// Servers that run elsewhere (another host, a cluster Service, a foreign implementation):
    /// when given, the run starts no server and measures exactly these variants at these URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetSpec>,
    /// TLS levels, each a factor of the report: "off", "on" (rustls, TLS 1.3,
    /// TLS13_AES_128_GCM_SHA256, ALPN; a certificate generated for the run).
    #[serde(default = "default_tls")]
    pub tls: Vec<TlsMode>,
    /// Compression levels: "none", "gzip" (level 6), "zstd" (level 3), same on both sides.
    #[serde(default = "default_compression")]
    pub compression: Vec<Compression>,
    /// Connection modes: "warm" (opened before the warm-up, reused) and "cold" (a new
    /// connection every `cold_requests_per_connection` requests of a worker).
    #[serde(default = "default_connection")]
    pub connection: Vec<ConnectionMode>,
    /// Requests per connection in "cold" mode (1: a new connection for every request).
    #[serde(default = "one")]
    pub cold_requests_per_connection: u64,
    pub points: LoadPoints,
    pub workloads: Vec<WorkloadSpec>,
}

/// One remote target of a run (`run --target VARIANT=URL`, `--target-stats VARIANT=URL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The variant the server speaks (decides the client's protocol and encoding).
    pub variant: String,
    /// `http://HOST:PORT`.
    pub url: String,
    /// Its stats endpoint (`rpcbench serve --stats-addr`), `http://HOST:PORT`. Without it the
    /// server's CPU per request is recorded as unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
}

impl TargetSpec {
    /// Parses `VARIANT=URL`.
    pub fn parse(spec: &str) -> Result<TargetSpec, String> {
        let (variant, url) = spec.split_once('=').ok_or_else(|| {
            format!("{spec:?} is not VARIANT=URL (e.g. grpc-proto-h2=http://10.0.0.2:50051)")
        })?;
        Ok(TargetSpec {
            variant: variant.trim().into(),
            url: url.trim().into(),
            stats: None,
        })
    }
}

fn yes() -> bool {
    true
}

fn one() -> u64 {
    1
}

fn default_tls() -> Vec<TlsMode> {
    vec![TlsMode::Off]
}

fn default_compression() -> Vec<Compression> {
    vec![Compression::None]
}

fn default_connection() -> Vec<ConnectionMode> {
    vec![ConnectionMode::Warm]
}

mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

/// Why a scenario is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("scenario {path}: {message}")]
    Parse { path: String, message: String },
    #[error("scenario {path}: {message}")]
    Invalid { path: String, message: String },
}

fn workload(rpc: Rpc, shape: &str, size: u64) -> WorkloadSpec {
    WorkloadSpec {
        rpc,
        shape: shape.into(),
        size,
        seed: 1,
    }
}

impl Preset {
    pub fn scenario(self) -> Scenario {
        match self {
            Preset::Smoke => Scenario {
                name: "smoke".into(),
                variants: Vec::new(),
                repetitions: 2,
                warmup: Duration::from_millis(200),
                duration: Duration::from_secs(1),
                timeout: Duration::from_secs(5),
                connections: 2,
                check_every: 16,
                measure_floor: true,
                serialization: true,
                networks: Vec::new(),
                targets: Vec::new(),
                tls: default_tls(),
                compression: default_compression(),
                connection: default_connection(),
                cold_requests_per_connection: 1,
                points: LoadPoints {
                    max_throughput: true,
                    common_rate_fractions: vec![0.5],
                    fixed_rates: Vec::new(),
                    sweep_fractions: Vec::new(),
                },
                workloads: vec![workload(Rpc::Echo, "small", 256)],
            },
            Preset::Quick => Scenario {
                name: "quick".into(),
                // The claim's factorial six: with the JSON library's two variants, 3 repetitions
                // of these workloads would take over 5 minutes. `smoke` and `full` have all
                // eight; `--variant` (or `variants = []` in a scenario file) adds them here.
                variants: QUICK_VARIANTS.iter().map(|v| v.name().to_owned()).collect(),
                repetitions: 3,
                warmup: Duration::from_millis(500),
                duration: Duration::from_secs(2),
                connections: 4,
                workloads: vec![
                    workload(Rpc::Echo, "small", 256),
                    workload(Rpc::Fetch, "nested", 16 * 1024),
                    workload(Rpc::Upload, "mesh", 256 * 1024),
                ],
                ..Preset::Smoke.scenario()
            },
            Preset::Full => Scenario {
                name: "full".into(),
                variants: Vec::new(),
                repetitions: 3,
                warmup: Duration::from_secs(1),
                duration: Duration::from_secs(3),
                timeout: Duration::from_secs(10),
                connections: 4,
                check_every: 16,
                measure_floor: true,
                serialization: true,
                networks: Vec::new(),
                targets: Vec::new(),
                tls: default_tls(),
                compression: default_compression(),
                connection: default_connection(),
                cold_requests_per_connection: 1,
                points: LoadPoints {
                    max_throughput: true,
                    common_rate_fractions: vec![0.25, 0.5],
                    fixed_rates: Vec::new(),
                    sweep_fractions: vec![0.2, 0.4, 0.6, 0.8, 0.9, 1.0],
                },
                workloads: {
                    let mut w = vec![
                        workload(Rpc::Echo, "small", 256),
                        workload(Rpc::Fetch, "small", 256),
                    ];
                    for shape in ["logs", "mesh", "nested", "metrics", "blob"] {
                        w.push(workload(Rpc::Echo, shape, 16 * 1024));
                        w.push(workload(Rpc::Fetch, shape, 1024 * 1024));
                        w.push(workload(Rpc::Upload, shape, 1024 * 1024));
                    }
                    w
                },
            },
            Preset::Production => Scenario {
                name: "production".into(),
                variants: ["rest-json-h1", "grpc-proto-h2", "rest-proto-h1", "rest-json-h2"]
                    .map(String::from)
                    .to_vec(),
                repetitions: 1,
                warmup: Duration::from_millis(400),
                duration: Duration::from_millis(1500),
                tls: vec![TlsMode::Off, TlsMode::On],
                compression: Compression::ALL.to_vec(),
                workloads: vec![
                    workload(Rpc::Fetch, "nested", 16 * 1024),
                    workload(Rpc::Upload, "mesh", 256 * 1024),
                ],
                ..Preset::Quick.scenario()
            },
        }
    }
}

impl Scenario {
    /// Reads and validates a TOML scenario file. Errors name the file, line and key.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: p.clone(),
            source,
        })?;
        let scenario: Scenario = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: p.clone(),
            message: e.to_string(),
        })?;
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid { path: p, message })?;
        Ok(scenario)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("scenarios serialize")
    }

    /// The variants to run, in interleaving order (the targets' when there are targets).
    pub fn variant_list(&self) -> Vec<Variant> {
        if !self.targets.is_empty() {
            self.targets
                .iter()
                .filter_map(|t| t.variant.parse().ok())
                .collect()
        } else if self.variants.is_empty() {
            Variant::ALL.to_vec()
        } else {
            self.variants.iter().filter_map(|v| v.parse().ok()).collect()
        }
    }

    /// The network profiles to run, in order (`loopback` when none is named).
    pub fn network_profiles(&self) -> Result<Vec<rpcbench_model::NetworkProfile>, String> {
        if self.networks.is_empty() {
            return Ok(vec![rpcbench_model::NetworkProfile::Loopback]);
        }
        let mut names = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (i, spec) in self.networks.iter().enumerate() {
            let p = rpcbench_model::NetworkProfile::parse(spec).map_err(|e| format!("networks[{i}]: {e}"))?;
            if !names.insert(p.name().to_owned()) {
                return Err(format!("networks[{i}]: profile {:?} appears twice", p.name()));
            }
            out.push(p);
        }
        Ok(out)
    }

    /// Targets: known variants, each once, `http://` URLs; only on the network between here and
    /// there (no shaped profile: those put servers rpcbench starts behind a link), without TLS.
    fn validate_targets(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let v: Variant = t
                .variant
                .parse()
                .map_err(|_| format!("targets[{i}]: unknown variant {:?}", t.variant))?;
            if !seen.insert(v) {
                return Err(format!("targets[{i}]: variant {v} has two targets"));
            }
            if !t.url.starts_with("http://") {
                return Err(format!(
                    "targets[{i}]: {:?}: remote targets are measured over cleartext http:// (TLS to remote targets is not supported yet)",
                    t.url
                ));
            }
            if let Some(stats) = &t.stats {
                crate::server_stats::StatsUrl::parse(stats).map_err(|e| format!("targets[{i}]: {e}"))?;
            }
        }
        if !self.targets.is_empty() {
            if self.networks.iter().any(|n| n != "loopback") {
                return Err(
                    "targets: shaped network profiles shape servers that rpcbench starts; a remote target is measured over the network that is already there (leave networks empty)"
                        .into(),
                );
            }
            if self.tls.contains(&TlsMode::On) {
                return Err("targets: TLS to remote targets is not supported yet (tls = [\"off\"])".into());
            }
        }
        Ok(())
    }

    /// Every rate, count and duration against the load's caps ([`crate::caps`], the same as
    /// `rpcbench load`'s flags), errors naming the key.
    fn validate_caps(&self) -> Result<(), crate::caps::CapError> {
        use crate::caps;
        caps::count("repetitions", u64::from(self.repetitions), caps::MAX_REPETITIONS)?;
        caps::duration("duration", self.duration, true)?;
        caps::duration("warmup", self.warmup, false)?;
        caps::timeout("timeout", self.timeout)?;
        caps::count("connections", u64::from(self.connections), caps::MAX_CONNECTIONS)?;
        caps::count("check_every", self.check_every, u64::MAX)?;
        caps::count(
            "cold_requests_per_connection",
            self.cold_requests_per_connection,
            caps::MAX_REQUESTS,
        )?;
        for (i, r) in self.points.fixed_rates.iter().enumerate() {
            caps::rate(&format!("points.fixed_rates[{i}]"), *r)?;
        }
        Ok(())
    }

    /// Checks values a TOML type check cannot.
    pub fn validate(&self) -> Result<(), String> {
        self.network_profiles()?;
        self.validate_targets()?;
        for v in &self.variants {
            if v.parse::<Variant>().is_err() {
                return Err(format!("variants: unknown variant {v:?}"));
            }
        }
        self.validate_caps().map_err(|e| e.to_string())?;
        if self.tls.is_empty() || self.compression.is_empty() || self.connection.is_empty() {
            return Err("tls, compression and connection: each needs at least one level".into());
        }
        if has_duplicates(&self.tls) || has_duplicates(&self.compression) || has_duplicates(&self.connection)
        {
            return Err("tls, compression and connection: a level is listed twice".into());
        }
        if self.workloads.is_empty() {
            return Err("workloads: at least one is needed".into());
        }
        for (i, w) in self.workloads.iter().enumerate() {
            let shape = catalogue::parse_shape(&w.shape).map_err(|e| format!("workloads[{i}].shape: {e}"))?;
            rpcbench_proto::catalogue::validate(shape, w.size)
                .map_err(|e| format!("workloads[{i}].size: {e}"))?;
        }
        let p = &self.points;
        let fractions = p.common_rate_fractions.iter().chain(&p.sweep_fractions);
        if let Some(f) = fractions.into_iter().find(|f| !(**f > 0.0 && **f <= 1.5)) {
            return Err(format!("points: fraction {f} is outside (0, 1.5]"));
        }
        let needs_max = !p.common_rate_fractions.is_empty() || !p.sweep_fractions.is_empty();
        if needs_max && !p.max_throughput {
            return Err(
                "points: common_rate_fractions and sweep_fractions need max_throughput = true".into(),
            );
        }
        if !p.max_throughput && p.fixed_rates.is_empty() {
            return Err("points: nothing to measure".into());
        }
        Ok(())
    }

    /// Every TLS × compression × connection condition of the run, in run order.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        for &connection in &self.connection {
            for &tls in &self.tls {
                for &compression in &self.compression {
                    out.push(Condition {
                        tls,
                        compression,
                        connection,
                        requests_per_connection: (connection == ConnectionMode::Cold)
                            .then_some(self.cold_requests_per_connection),
                    });
                }
            }
        }
        out
    }

    /// Points per repetition for each variant × workload.
    pub fn points_per_workload(&self) -> usize {
        let p = &self.points;
        usize::from(p.max_throughput)
            + p.common_rate_fractions.len()
            + p.fixed_rates.len()
            + p.sweep_fractions.len()
    }

    /// Total number of points.
    pub fn total_points(&self) -> usize {
        self.repetitions as usize
            * self.conditions().len()
            * self.workloads.len()
            * self.variant_list().len()
            * self.points_per_workload()
    }

    /// Lower bound of the run's wall time (warm-up + measured phase of every point).
    pub fn estimated_duration(&self) -> Duration {
        (self.warmup + self.duration) * self.total_points() as u32
    }
}

fn has_duplicates<T: PartialEq>(v: &[T]) -> bool {
    v.iter().enumerate().any(|(i, a)| v[..i].contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_round_trip_through_toml() {
        for preset in [Preset::Smoke, Preset::Quick, Preset::Full, Preset::Production] {
            let s = preset.scenario();
            s.validate().unwrap();
            let back: Scenario = toml::from_str(&s.to_toml()).unwrap();
            assert_eq!(back, s);
        }
        assert!(Preset::Smoke.scenario().estimated_duration() < Duration::from_secs(40));
        let quick = Preset::Quick.scenario().estimated_duration();
        assert!(
            quick >= Duration::from_secs(150) && quick <= Duration::from_secs(300),
            "{quick:?}"
        );
        // Smoke and full measure every variant; quick leaves the JSON library's two out.
        assert_eq!(Preset::Smoke.scenario().variant_list(), Variant::ALL);
        assert_eq!(Preset::Full.scenario().variant_list(), Variant::ALL);
        assert_eq!(Preset::Quick.scenario().variant_list(), QUICK_VARIANTS);
        // The default presets stay plain: the new dimensions have their own preset.
        for preset in [Preset::Smoke, Preset::Quick, Preset::Full] {
            assert_eq!(preset.scenario().conditions(), vec![Condition::default()]);
        }
        let production = Preset::Production.scenario();
        assert_eq!(production.conditions().len(), 6);
        assert!(production.estimated_duration() <= Duration::from_secs(300));
    }

    #[test]
    fn dimensions_parse_and_are_validated() {
        let text = Preset::Smoke.scenario().to_toml().replace(
            "tls = [\"off\"]",
            "tls = [\"off\", \"on\"]\nconnection = [\"cold\"]",
        );
        let text = text.replace("connection = [\"warm\"]\n", "");
        let s: Scenario = toml::from_str(&text).unwrap();
        s.validate().unwrap();
        let conditions = s.conditions();
        assert_eq!(conditions.len(), 2);
        assert!(conditions.iter().all(|c| c.connection == ConnectionMode::Cold));
        assert_eq!(conditions[1].requests_per_connection, Some(1));
        assert_eq!(conditions[1].label(), "tls+cold1");

        let bad = Preset::Smoke
            .scenario()
            .to_toml()
            .replace("compression = [\"none\"]", "compression = [\"brotli\"]");
        assert!(
            toml::from_str::<Scenario>(&bad)
                .unwrap_err()
                .to_string()
                .contains("brotli")
        );
        let mut dup = Preset::Smoke.scenario();
        dup.tls = vec![TlsMode::On, TlsMode::On];
        assert!(dup.validate().unwrap_err().contains("twice"));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let mut text = Preset::Smoke.scenario().to_toml();
        text = text.replace("repetitions = 2", "repetitions = 2\nrepetitoins = 2");
        std::fs::write(&path, &text).unwrap();
        let err = Scenario::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("s.toml") && err.contains("repetitoins") && err.contains("line"),
            "{err}"
        );

        let text = Preset::Smoke
            .scenario()
            .to_toml()
            .replace("connections = 2", "connections = \"two\"");
        std::fs::write(&path, &text).unwrap();
        let err = Scenario::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("connections") && err.contains("line"), "{err}");

        let text = Preset::Smoke
            .scenario()
            .to_toml()
            .replace("shape = \"small\"", "shape = \"huge\"");
        std::fs::write(&path, &text).unwrap();
        let err = Scenario::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("workloads[0].shape") && err.contains("huge"),
            "{err}"
        );

        let mut fast = Preset::Smoke.scenario();
        fast.points.fixed_rates = vec![100.0, 1000.0, 2e9];
        std::fs::write(&path, fast.to_toml()).unwrap();
        let err = Scenario::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("s.toml") && err.contains("points.fixed_rates[2] = 2e9 is above the cap 1e7 req/s"),
            "{err}"
        );
        let text = Preset::Smoke
            .scenario()
            .to_toml()
            .replace("duration = \"1s\"", "duration = \"30days\"");
        std::fs::write(&path, &text).unwrap();
        let err = Scenario::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("duration = 30days is above the cap 1day"), "{err}");

        let err = Scenario::from_file(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
