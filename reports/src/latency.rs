//! Analysis of the latency section, before any rendering: repetitions' histograms merged, and
//! the latency spectrum (latency at quantiles spaced on the `1/(1-p)` axis). Sinks only render
//! these results.

use hdrhistogram::Histogram;

use crate::schema::PointResult;

/// Merges the repetitions' histograms (corrected, or service time); `Ok(None)` when no point
/// has the requested one or all are empty.
pub fn merged_histogram(points: &[&PointResult], corrected: bool) -> Result<Option<Histogram<u64>>, String> {
    let mut merged: Option<Histogram<u64>> = None;
    for p in points {
        let enc = if corrected {
            p.load.histograms.corrected.as_ref()
        } else {
            Some(&p.load.histograms.service)
        };
        let Some(enc) = enc else { continue };
        let h = enc.decode().map_err(|e| format!("{}: {e}", p.id))?;
        match &mut merged {
            None => merged = Some(h),
            Some(m) => m
                .add(&h)
                .map_err(|e| format!("{}: cannot merge histograms: {e:?}", p.id))?,
        }
    }
    Ok(merged.filter(|h| !h.is_empty()))
}

/// One point of a spectrum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectrumPoint {
    /// `1/(1-p)`.
    pub x: f64,
    /// Latency at `p`, ns.
    pub latency_ns: f64,
    /// On the percentiles a reader looks for (p50, p90, p99, ...): that percentile (0–1) and
    /// its latency in ns.
    pub labelled: Option<(f64, f64)>,
}

/// The latency spectrum of one histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// 10 per decade of `x`, up to the resolution the sample count allows.
    pub points: Vec<SpectrumPoint>,
    /// Where the maximum is drawn: the last `x` the sample count resolves.
    pub x_max: f64,
    pub max_ns: f64,
    pub count: u64,
}

impl Spectrum {
    pub fn of(h: &Histogram<u64>) -> Spectrum {
        let x_max = (h.len() as f64).clamp(10.0, 1e6);
        let mut points = Vec::new();
        let mut i = 0;
        loop {
            let x = 10f64.powf(i as f64 / 10.0);
            if x > x_max * 1.0001 {
                break;
            }
            let q = 1.0 - 1.0 / x;
            let v = h.value_at_quantile(q) as f64;
            // x = 2, 10, 100, ...: p50, p90, p99, p99.9, ...
            let labelled = if i == 3 {
                Some((0.5, h.value_at_quantile(0.5) as f64))
            } else if i > 0 && i % 10 == 0 {
                Some((q, v))
            } else {
                None
            };
            points.push(SpectrumPoint {
                x,
                latency_ns: v,
                labelled,
            });
            i += 1;
        }
        Spectrum {
            points,
            x_max,
            max_ns: h.max() as f64,
            count: h.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_reaches_the_tail() {
        let h = crate::synthetic::latency_histogram(50_000.0, 2.0, 1, 20_000);
        let s = Spectrum::of(&h);
        assert_eq!(s.points.first().unwrap().x, 1.0);
        assert_eq!(s.max_ns, h.max() as f64);
        assert!(
            s.points.windows(2).all(|w| w[0].latency_ns <= w[1].latency_ns),
            "latency grows with the percentile"
        );
        let labels: Vec<f64> = s.points.iter().filter_map(|p| p.labelled.map(|l| l.0)).collect();
        assert_eq!(labels[..3], [0.5, 0.9, 0.99]);
    }
}
