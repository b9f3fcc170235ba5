//! Network profiles of a run (the `--network` dimension) and what a shaped link measured.
//! Declared here, in the vocabulary, so the run, the scenarios and the reports share one type; the
//! machinery that builds the links lives in the rpcbench binary (`bench/src/netns.rs`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a network profile is unusable.
#[derive(Debug, thiserror::Error)]
#[error("bad network profile {spec:?}: {message}")]
pub struct ProfileError {
    pub spec: String,
    pub message: String,
}

/// A network profile: today's loopback, or a shaped link between two hosts.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkProfile {
    Loopback,
    Shaped(LinkProfile),
}

impl NetworkProfile {
    pub fn name(&self) -> &str {
        match self {
            NetworkProfile::Loopback => "loopback",
            NetworkProfile::Shaped(p) => &p.name,
        }
    }

    /// `loopback`, a built-in shaped profile, or `NAME:rate=..,rtt=..,loss=..,mtu=..`.
    pub fn parse(spec: &str) -> Result<NetworkProfile, ProfileError> {
        if spec == "loopback" {
            Ok(NetworkProfile::Loopback)
        } else {
            LinkProfile::parse(spec).map(NetworkProfile::Shaped)
        }
    }
}

impl fmt::Display for NetworkProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkProfile::Loopback => write!(f, "loopback"),
            NetworkProfile::Shaped(p) => write!(f, "{p}"),
        }
    }
}

/// Everything results.json records about one shaped profile of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NetworkResult {
    /// The configured link.
    pub configured: LinkProfile,
    pub emulation: Emulation,
    /// Measured before the profile's points (`None` when the verification failed; see errors).
    pub measured: Option<LinkMeasurement>,
    /// The userspace delay line's own CPU and added jitter over the profile (`None` with netem).
    pub delay_line: Option<DelayLineStats>,
    /// Ids of the client and server network namespaces (`net:[inode]`).
    pub namespaces: Vec<String>,
}

/// One shaped link: rate, round-trip time, loss, MTU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkProfile {
    pub name: String,
    /// Bottleneck rate in bits per second, each direction; `None`: unshaped.
    #[serde(default)]
    pub rate_bps: Option<u64>,
    /// Round-trip time added by the link (half in each direction), in nanoseconds.
    pub rtt_ns: u64,
    /// Fraction of packets dropped, each direction (0.001 = 0.1%).
    #[serde(default)]
    pub loss: f64,
    /// MTU of the link.
    #[serde(default = "default_mtu")]
    pub mtu: u32,
}

fn default_mtu() -> u32 {
    1500
}

/// The built-in shaped profiles (besides `loopback`).
pub const BUILTIN_PROFILES: [&str; 3] = ["lan", "wan", "mobile"];

impl LinkProfile {
    /// `lan` (1 Gbit/s, 0.2 ms, jumbo frames), `wan` (100 Mbit/s, 20 ms), `mobile` (10 Mbit/s,
    /// 60 ms, 0.1% loss).
    pub fn builtin(name: &str) -> Option<LinkProfile> {
        let (rate, rtt_us, loss, mtu) = match name {
            // Jumbo frames: a 1 Gbit/s LAN in 1500-byte packets through a userspace delay line
            // is ~83k packets/s each way, more than a shared 2-core VM can forward.
            "lan" => (1_000_000_000, 200, 0.0, 9000),
            "wan" => (100_000_000, 20_000, 0.0, 1500),
            "mobile" => (10_000_000, 60_000, 0.001, 1500),
            _ => return None,
        };
        Some(LinkProfile {
            name: name.into(),
            rate_bps: Some(rate),
            rtt_ns: rtt_us * 1000,
            loss,
            mtu,
        })
    }

    pub fn rtt(&self) -> Duration {
        Duration::from_nanos(self.rtt_ns)
    }

    /// Bandwidth-delay product in bytes (0 when unshaped).
    pub fn bdp_bytes(&self) -> u64 {
        self.rate_bps.map_or(0, |r| {
            (r as u128 * self.rtt_ns as u128 / 8 / 1_000_000_000) as u64
        })
    }

    /// Parses `NAME` (built-in) or `NAME:rate=100mbit,rtt=20ms[,loss=0.1%][,mtu=1500]`.
    pub fn parse(spec: &str) -> Result<LinkProfile, ProfileError> {
        let bad = |message: String| ProfileError {
            spec: spec.into(),
            message,
        };
        let Some((name, params)) = spec.split_once(':') else {
            return LinkProfile::builtin(spec).ok_or_else(|| {
                bad(format!(
                    "unknown profile; built-in: loopback, {}; or NAME:rate=100mbit,rtt=20ms,loss=0.1%,mtu=1500",
                    BUILTIN_PROFILES.join(", ")
                ))
            });
        };
        if name.is_empty() || name == "loopback" || BUILTIN_PROFILES.contains(&name) {
            return Err(bad(format!("{name:?} cannot name a user-defined profile")));
        }
        let mut p = LinkProfile {
            name: name.into(),
            rate_bps: None,
            rtt_ns: 0,
            loss: 0.0,
            mtu: default_mtu(),
        };
        for kv in params.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad(format!("{kv:?} is not key=value")))?;
            match k.trim() {
                "rate" => p.rate_bps = Some(parse_rate(v).map_err(bad)?),
                "rtt" => {
                    p.rtt_ns = humantime::parse_duration(v.trim())
                        .map_err(|e| bad(format!("rtt {v:?}: {e}")))?
                        .as_nanos() as u64
                }
                "loss" => p.loss = parse_fraction(v).map_err(bad)?,
                "mtu" => {
                    p.mtu = v
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("mtu {v:?} is not a number")))?
                }
                other => return Err(bad(format!("unknown key {other:?} (rate, rtt, loss, mtu)"))),
            }
        }
        p.validate().map_err(bad)?;
        Ok(p)
    }

    /// Checks ranges a parser cannot.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(r) = self.rate_bps
            && !(8_000..=100_000_000_000).contains(&r)
        {
            return Err(format!("rate {r} bit/s is outside 8 kbit/s ..= 100 Gbit/s"));
        }
        if self.rtt_ns > 10_000_000_000 {
            return Err("rtt above 10 s".into());
        }
        if !(0.0..0.5).contains(&self.loss) {
            return Err(format!("loss {} is outside [0, 50%)", self.loss));
        }
        if !(576..=65_535).contains(&self.mtu) {
            return Err(format!("mtu {} is outside 576..=65535", self.mtu));
        }
        Ok(())
    }
}

impl fmt::Display for LinkProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.name)?;
        match self.rate_bps {
            Some(r) => write!(f, "{}", format_rate(r as f64))?,
            None => write!(f, "unshaped")?,
        }
        write!(f, ", RTT {:?}", self.rtt())?;
        if self.loss > 0.0 {
            write!(f, ", loss {}%", self.loss * 100.0)?;
        }
        write!(f, ", MTU {})", self.mtu)
    }
}

/// `1.5 Gbit/s`, `100 Mbit/s`, `640 kbit/s`.
pub fn format_rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.2} Gbit/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.1} Mbit/s", bps / 1e6)
    } else {
        format!("{:.0} kbit/s", bps / 1e3)
    }
}

/// `100mbit`, `1gbit`, `512kbit`, `2000000` (bit/s).
pub fn parse_rate(v: &str) -> Result<u64, String> {
    let v = v.trim().to_ascii_lowercase();
    let v = v.trim_end_matches("/s").trim_end_matches("ps");
    let (num, mult) = if let Some(n) = v.strip_suffix("gbit") {
        (n, 1e9)
    } else if let Some(n) = v.strip_suffix("mbit") {
        (n, 1e6)
    } else if let Some(n) = v.strip_suffix("kbit") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix("bit") {
        (n, 1.0)
    } else {
        (v, 1.0)
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("rate {v:?}: expected e.g. 100mbit, 1gbit, 512kbit"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("rate {v:?} must be positive"));
    }
    Ok((n * mult).round() as u64)
}

fn parse_fraction(v: &str) -> Result<f64, String> {
    let v = v.trim();
    let (num, div) = match v.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (v, 1.0),
    };
    num.trim()
        .parse::<f64>()
        .map(|n| n / div)
        .map_err(|_| format!("loss {v:?}: expected e.g. 0.1% or 0.001"))
}

/// How delay and loss are emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Emulation {
    /// veth pair, `tbf` for rate, kernel `netem` for delay and loss.
    Netem,
    /// TUN pair, `tbf` for rate, `rpcbench delay-line` for delay and loss.
    UserspaceDelayLine,
}

/// The delay line's own account, printed by `rpcbench delay-line` when it stops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DelayLineStats {
    /// CPU time (user + system) of the delay-line process over its life.
    pub cpu_ns: u64,
    /// Its wall-clock life.
    pub wall_ns: u64,
    /// Client → server direction.
    pub up: DirectionStats,
    /// Server → client direction.
    pub down: DirectionStats,
}

/// One direction of the delay line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectionStats {
    pub packets: u64,
    pub bytes: u64,
    /// Dropped on purpose (the profile's loss).
    pub dropped: u64,
    /// How late packets left the delay line after their due time (the jitter it adds), ns.
    pub late_p50_ns: u64,
    pub late_p99_ns: u64,
    pub late_max_ns: u64,
}

/// What the verification measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LinkMeasurement {
    pub rtt: RttMeasurement,
    pub bandwidth_up_bps: f64,
    pub bandwidth_down_bps: f64,
}

/// TCP ping-pong across the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RttMeasurement {
    pub samples: u64,
    pub min_ns: u64,
    pub p50_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse() {
        let wan = LinkProfile::parse("wan").unwrap();
        assert_eq!(wan.rate_bps, Some(100_000_000));
        assert_eq!(wan.rtt(), Duration::from_millis(20));
        assert_eq!(wan.bdp_bytes(), 250_000);
        let p = LinkProfile::parse("sat:rate=50mbit,rtt=600ms,loss=0.5%,mtu=1400").unwrap();
        assert_eq!(p.rate_bps, Some(50_000_000));
        assert_eq!(p.rtt_ns, 600_000_000);
        assert!((p.loss - 0.005).abs() < 1e-12);
        assert_eq!(p.mtu, 1400);
        for bad in [
            "nope",
            "wan:rate=1mbit",
            "x:rate=fast",
            "x:rtt=soon",
            "x:loss=80%",
            "x:color=red",
            "x:mtu=10",
        ] {
            let e = LinkProfile::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad.split(':').next().unwrap()), "{e}");
        }
        assert_eq!(parse_rate("1gbit").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("512kbit").unwrap(), 512_000);
        assert_eq!(parse_rate("2.5Mbit/s").unwrap(), 2_500_000);
    }
}
