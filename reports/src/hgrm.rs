//! The HdrHistogram percentile-distribution text format (`.hgrm`), as printed by
//! `HdrHistogram.outputPercentileDistribution` and read by HdrHistogram's plotters.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Renders `h` (values in nanoseconds) as an `.hgrm` table in milliseconds, the unit the
/// standard plotters label their axis with. `ticks_per_half_distance` is 5 in the reference
/// implementation.
pub fn percentile_distribution(h: &Histogram<u64>, ticks_per_half_distance: u32) -> String {
    const SCALE: f64 = 1_000_000.0; // ns per ms
    let mut out = String::new();
    out.push_str("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    if !h.is_empty() {
        for v in h.iter_quantiles(ticks_per_half_distance) {
            let q = v.quantile_iterated_to();
            let value = v.value_iterated_to() as f64 / SCALE;
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.3} {q:14.12} {:10} {:14.2}",
                    v.count_since_last_iteration(),
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(
                    out,
                    "{value:12.3} {q:14.12} {:10}",
                    v.count_since_last_iteration()
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / SCALE,
        h.stdev() / SCALE
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / SCALE,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        h.distinct_values()
    );
    out
}

/// Parses the `(value_ms, percentile, total_count)` rows of an `.hgrm` file (for tests and
/// for readers that only have the text).
pub fn parse_rows(text: &str) -> Vec<(f64, f64, u64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            let value = cols.next()?.parse().ok()?;
            let q = cols.next()?.parse().ok()?;
            let count = cols.next()?.parse().ok()?;
            Some((value, q, count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_monotonic_and_ends_at_max() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for i in 1..=10_000u64 {
            h.record(i * 1_000).unwrap();
        }
        let text = percentile_distribution(&h, 5);
        let rows = parse_rows(&text);
        assert!(rows.len() > 20);
        assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        let last = rows.last().unwrap();
        assert_eq!(last.1, 1.0);
        assert!((last.0 - h.max() as f64 / 1e6).abs() < 1e-3);
        assert_eq!(rows.iter().map(|r| r.2).sum::<u64>(), 10_000);
        assert!(text.contains("#[Max"));
    }
}
