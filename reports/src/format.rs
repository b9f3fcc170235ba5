//! Human formatting of the report's numbers: durations, bytes, rates and ratios, plus the size
//! labels shared with the bench ids (`128B`, `1KiB`, `16KiB`, `256KiB`, `1MiB`).

use rpcbench_model::{Metric, Unit};

/// Formats a ratio with two significant digits: `8.4x`, `1.3x`, `0.96x`, `12x`.
pub fn ratio(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    format!("{}x", sig2(v))
}

/// Two significant digits, never in exponent notation.
pub fn sig2(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (1 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// Three significant digits, never in exponent notation.
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (2 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// A time unit picked so that a range of nanosecond values reads well.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeUnit {
    pub ns_per_unit: f64,
    pub symbol: &'static str,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 4] = [
        TimeUnit {
            ns_per_unit: 1.0,
            symbol: "ns",
        },
        TimeUnit {
            ns_per_unit: 1e3,
            symbol: "µs",
        },
        TimeUnit {
            ns_per_unit: 1e6,
            symbol: "ms",
        },
        TimeUnit {
            ns_per_unit: 1e9,
            symbol: "s",
        },
    ];

    /// The largest unit in which `ns` is at least 1.
    pub fn for_ns(ns: f64) -> TimeUnit {
        let mut unit = Self::ALL[0];
        for u in Self::ALL {
            if ns.abs() >= u.ns_per_unit {
                unit = u;
            }
        }
        unit
    }

    pub fn format(self, ns: f64) -> String {
        format!("{} {}", sig3(ns / self.ns_per_unit), self.symbol)
    }
}

/// `850 ns`, `12.3 µs`, `1.23 ms`.
pub fn duration_ns(ns: f64) -> String {
    TimeUnit::for_ns(ns).format(ns)
}

/// `512 B`, `1.5 KiB`, `16 KiB`, `1.0 MiB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{} B", b.round())
    } else {
        format!("{} {}", sig3(v), UNITS[i])
    }
}

/// `12 300 req/s` style rate, three significant digits.
pub fn rate(rps: f64) -> String {
    if rps >= 1e6 {
        format!("{}M req/s", sig3(rps / 1e6))
    } else if rps >= 1e4 {
        format!("{}k req/s", sig3(rps / 1e3))
    } else {
        format!("{} req/s", sig3(rps))
    }
}

/// `50.0k`, `1.20M`: a rate without its unit, for axes labelled `requests/s`.
pub fn rate_short(rps: f64) -> String {
    rate(rps).trim_end_matches(" req/s").to_string()
}

/// Decimal byte units for axis ticks (`20 kB`, `1 MB`), where binary units would put ticks at
/// odd values; tooltips and tables use [`bytes`].
pub fn bytes_si(b: f64) -> String {
    if b >= 1e6 {
        format!("{} MB", sig3(b / 1e6))
    } else if b >= 1e3 {
        format!("{} kB", sig3(b / 1e3))
    } else {
        format!("{} B", b.round())
    }
}

/// Drops trailing zeros of the first decimal number in `s`: `1.00 µs` → `1 µs`,
/// `2.50 ms` → `2.5 ms`. For axis ticks.
pub fn trim_zeros(s: &str) -> String {
    let start = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let end = s[start..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(s.len(), |e| start + e);
    let num = &s[start..end];
    if !num.contains('.') {
        return s.to_string();
    }
    let trimmed = num.trim_end_matches('0').trim_end_matches('.');
    format!("{}{}{}", &s[..start], trimmed, &s[end..])
}

/// MB/s (10^6 bytes per second).
pub fn mb_per_s(v: f64) -> String {
    format!("{} MB/s", sig3(v))
}

/// Human description of a catalogue shape, for the verdict sentence.
pub fn shape_description(shape: &str) -> String {
    match shape {
        "small" => "small flat-record".into(),
        "logs" => "string-heavy (logs)".into(),
        "mesh" => "float-heavy (mesh)".into(),
        "nested" => "deeply nested".into(),
        "metrics" => "integer time-series (metrics)".into(),
        "blob" => "binary (blob)".into(),
        other => other.into(),
    }
}

/// A raw value of `metric` (ns, req/s or bytes), without a per-request suffix.
pub fn metric_value(metric: Metric, v: f64) -> String {
    match metric.unit() {
        Unit::RequestsPerSecond => rate(v),
        Unit::BytesPerRequest => bytes(v),
        Unit::Nanoseconds | Unit::NanosecondsPerRequest => duration_ns(v),
        Unit::Instructions => unit_value(Unit::Instructions, v),
    }
}

/// A value in `unit`, with its per-request suffix where it has one.
pub fn unit_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Instructions => {
            if v >= 1e6 {
                format!("{} M", sig3(v / 1e6))
            } else if v >= 1e3 {
                format!("{} k", sig3(v / 1e3))
            } else {
                sig3(v)
            }
        }
        Unit::Nanoseconds => duration_ns(v),
        Unit::RequestsPerSecond => rate(v),
        Unit::NanosecondsPerRequest => format!("{}/req", duration_ns(v)),
        Unit::BytesPerRequest => format!("{}/req", bytes(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_have_two_significant_digits() {
        assert_eq!(ratio(8.43), "8.4x");
        assert_eq!(ratio(1.34), "1.3x");
        assert_eq!(ratio(0.957), "0.96x");
        assert_eq!(ratio(12.3), "12x");
        assert_eq!(ratio(f64::NAN), "n/a");
    }

    #[test]
    fn durations_and_bytes() {
        assert_eq!(duration_ns(850.0), "850 ns");
        assert_eq!(duration_ns(12_345.0), "12.3 µs");
        assert_eq!(duration_ns(1_234_567.0), "1.23 ms");
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(bytes(16384.0), "16.0 KiB");
        assert_eq!(rate(12_345.0), "12.3k req/s");
        assert_eq!(rate_short(12_345.0), "12.3k");
        assert_eq!(bytes_si(20_000.0), "20.0 kB");
        assert_eq!(trim_zeros("1.00 µs"), "1 µs");
        assert_eq!(trim_zeros("2.50 ms"), "2.5 ms");
        assert_eq!(trim_zeros("100 ns"), "100 ns");
        assert_eq!(trim_zeros("0.96x"), "0.96x");
    }
}
