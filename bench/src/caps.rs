//! The caps every rate, count and duration of a load is checked against, whether it comes from
//! `rpcbench load`'s flags, a scenario file or a preset — one definition, so the same value is
//! accepted or refused everywhere, with an error that names the key it came from.
//!
//! Why caps at all: the open-loop schedule is in integer nanoseconds, so a rate above
//! [`MAX_RATE_RPS`] would round its slot interval towards 0 ns and a point would never end;
//! an unbounded duration, count or timeout turns a typo into a run that never finishes.

use std::time::Duration;

/// Highest offered load, requests (or messages) per second: a 100 ns slot interval.
pub const MAX_RATE_RPS: f64 = 1e7;
/// Longest measured phase, warm-up or run of one point.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Longest per-request timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most measured requests of a count-bounded load.
pub const MAX_REQUESTS: u64 = 1_000_000_000_000;
/// Most connections, requests in flight or streams of one load.
pub const MAX_CONNECTIONS: u64 = 1024;
/// Most in-flight requests or streams (several per HTTP/2 connection).
pub const MAX_CONCURRENCY: u64 = 65_536;
/// Most repetitions of a scenario.
pub const MAX_REPETITIONS: u64 = 1000;

/// A value outside its cap, named by the key it came from (`--rate`, `points.fixed_rates[2]`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} = {value} {problem}")]
pub struct CapError {
    pub key: String,
    pub value: String,
    pub problem: String,
}

/// A number as a person would write it: `2e9` rather than `2000000000`.
fn number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn err(key: &str, value: String, problem: String) -> CapError {
    CapError {
        key: key.into(),
        value,
        problem,
    }
}

/// A rate in requests per second: finite, above 0, at most [`MAX_RATE_RPS`].
pub fn rate(key: &str, v: f64) -> Result<f64, CapError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(err(key, number(v), "is not a positive rate in req/s".into()));
    }
    if v > MAX_RATE_RPS {
        return Err(err(
            key,
            number(v),
            format!("is above the cap {} req/s", number(MAX_RATE_RPS)),
        ));
    }
    Ok(v)
}

/// A duration (measured phase, warm-up): at most [`MAX_DURATION`]; `nonzero` when 0 is refused.
pub fn duration(key: &str, d: Duration, nonzero: bool) -> Result<Duration, CapError> {
    bounded(key, d, nonzero, MAX_DURATION)
}

/// A per-request timeout: above 0, at most [`MAX_TIMEOUT`].
pub fn timeout(key: &str, d: Duration) -> Result<Duration, CapError> {
    bounded(key, d, true, MAX_TIMEOUT)
}

/// `d` at most `cap`, and above 0 when `nonzero`.
fn bounded(key: &str, d: Duration, nonzero: bool, cap: Duration) -> Result<Duration, CapError> {
    let shown = || humantime::format_duration(d).to_string();
    if nonzero && d.is_zero() {
        return Err(err(key, shown(), "must be longer than 0".into()));
    }
    if d > cap {
        return Err(err(
            key,
            shown(),
            format!("is above the cap {}", humantime::format_duration(cap)),
        ));
    }
    Ok(d)
}

/// A count (requests, connections, repetitions): 1 ..= `cap`.
pub fn count(key: &str, n: u64, cap: u64) -> Result<u64, CapError> {
    if n == 0 {
        return Err(err(key, n.to_string(), "must be at least 1".into()));
    }
    if n > cap {
        return Err(err(key, n.to_string(), format!("is above the cap {cap}")));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key_value_and_cap() {
        let e = rate("points.fixed_rates[2]", 2e9).unwrap_err().to_string();
        assert_eq!(e, "points.fixed_rates[2] = 2e9 is above the cap 1e7 req/s");
        assert_eq!(rate("--rate", 1e7).unwrap(), 1e7);
        assert!(
            rate("--rate", f64::NAN)
                .unwrap_err()
                .to_string()
                .contains("--rate = NaN")
        );
        assert!(rate("--rate", -4.0).unwrap_err().to_string().contains("positive"));
        let e = duration("duration", Duration::from_secs(48 * 3600), true)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("duration = 2days is above the cap 1day"), "{e}");
        assert!(duration("warmup", Duration::ZERO, false).is_ok());
        assert!(duration("duration", Duration::ZERO, true).is_err());
        assert!(
            timeout("--timeout", Duration::ZERO)
                .unwrap_err()
                .to_string()
                .contains("--timeout")
        );
        assert!(timeout("timeout", Duration::from_secs(601)).is_err());
        assert_eq!(
            count("connections", 2000, MAX_CONNECTIONS)
                .unwrap_err()
                .to_string(),
            "connections = 2000 is above the cap 1024"
        );
        assert!(count("repetitions", 0, MAX_REPETITIONS).is_err());
    }
}
