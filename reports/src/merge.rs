//! Combining the results of N load generators that drove the same target with the same
//! workload at the same time into one point (`rpcbench merge`).
//!
//! The design decision to know: latency distributions are combined by *adding the
//! HdrHistograms*, never by averaging percentiles (the p99 of two generators is not the mean of
//! their p99s). Counts, errors, bytes, rates and client CPU are summed; the combined measurement
//! window is the overlap of the generators' windows. Inputs must agree on every configuration
//! field and the schema version; the first difference is named, field by field, so a new config
//! field is compared without anyone remembering to add it here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::schema::{
    EncodedHistogram, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG, LatencyStats, LoadHistograms, LoadReport,
    LoadSummary, MeasuredWindow, Provenance, SchemaError, WireStats,
};

/// Why a set of results cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("merge needs at least two results, got {0}")]
    TooFew(usize),
    #[error(
        "{field} differs: {first} has {first_value}, {other} has {other_value} (only results of the same configuration, variant, workload and schema version can be merged)"
    )]
    Mismatch {
        field: String,
        first: PathBuf,
        first_value: String,
        other: PathBuf,
        other_value: String,
    },
    #[error("{path} has no measured window (written by an rpcbench without `merge` support)")]
    NoWindow { path: PathBuf },
    #[error(
        "the measured windows do not overlap: {latest} started {gap_s:.3} s after {earliest} ended (start the generators together, e.g. with --start-at)"
    )]
    NoOverlap {
        earliest: PathBuf,
        latest: PathBuf,
        gap_s: f64,
    },
    #[error("{path}: {source}")]
    Histogram { path: PathBuf, source: SchemaError },
    #[error("{path}: its {which} histogram cannot be added: {reason}")]
    Add {
        path: PathBuf,
        which: &'static str,
        reason: String,
    },
}

/// How a merged result was made: one entry per generator and the combined window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MergeRecord {
    /// The overlap of the generators' measured windows: the combined measurement window.
    pub window: MeasuredWindow,
    /// Latest minus earliest start of the generators' measured phases (their skew against each
    /// other, on their own clocks).
    pub start_spread_ns: u64,
    /// With `--start-at`: the largest |actual − agreed start| of any generator.
    pub max_start_skew_ns: Option<u64>,
    pub inputs: Vec<MergedInput>,
}

/// One generator's share of a merged result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MergedInput {
    pub file: String,
    pub hostname: Option<String>,
    pub complete: bool,
    pub ok: u64,
    pub errors: u64,
    pub achieved_rps: f64,
    pub window: MeasuredWindow,
    pub start_skew_ns: Option<i64>,
    pub client_cpu_utilization: Option<f64>,
}

/// Names the first configuration field (a JSON path such as `config.workload.shape`) whose
/// value differs between two documents.
fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let null = Value::Null;
                first_difference(
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    &format!("{path}.{k}"),
                )
            })
        }
        _ if a == b => None,
        _ => Some((path.to_owned(), a.to_string(), b.to_string())),
    }
}

fn decode(path: &Path, h: &EncodedHistogram) -> Result<Histogram<u64>, MergeError> {
    h.decode().map_err(|source| MergeError::Histogram {
        path: path.into(),
        source,
    })
}

/// Adds the histograms chosen by `pick` (all present, or none: `Ok(None)`).
fn add_histograms(
    inputs: &[(PathBuf, LoadReport)],
    which: &'static str,
    pick: impl Fn(&LoadHistograms) -> Option<&EncodedHistogram>,
) -> Result<Option<Histogram<u64>>, MergeError> {
    let mut total =
        Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG).expect("constant bounds are valid");
    let mut present = 0;
    for (path, r) in inputs {
        if let Some(h) = pick(&r.histograms) {
            total.add(decode(path, h)?).map_err(|e| MergeError::Add {
                path: path.clone(),
                which,
                reason: format!("{e:?}"),
            })?;
            present += 1;
        }
    }
    Ok((present == inputs.len()).then_some(total))
}

/// Sum over inputs, or `None` as soon as one input lacks the value.
fn sum_all<T: std::iter::Sum<T>>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.collect::<Option<Vec<T>>>().map(|v| v.into_iter().sum())
}

/// Merges the results of generators that ran the same load at the same time. `inputs` carry the
/// file each result came from, for the error messages and the merge record.
pub fn merge_loads(inputs: &[(PathBuf, LoadReport)]) -> Result<LoadReport, MergeError> {
    let [(first_path, first), ..] = inputs else {
        return Err(MergeError::TooFew(inputs.len()));
    };
    if inputs.len() < 2 {
        return Err(MergeError::TooFew(inputs.len()));
    }
    // Same schema version and configuration (variant, workload, mode, rate, durations, target,
    // agreed start, ...), compared field by field.
    let header = |r: &LoadReport| {
        serde_json::json!({
            "schema_version": r.schema_version,
            "config": serde_json::to_value(&r.config).expect("configs serialize"),
        })
    };
    let reference = header(first);
    // The fields that say what was measured are named first (a closed-loop result differs from
    // an open-loop one in `mode`, not in whichever mode field sorts first); then everything.
    let in_order = |a: &serde_json::Value, b: &serde_json::Value| {
        [
            "/schema_version",
            "/config/variant",
            "/config/workload",
            "/config/mode",
            "",
        ]
        .into_iter()
        .find_map(|ptr| {
            let null = serde_json::Value::Null;
            let (x, y) = (a.pointer(ptr).unwrap_or(&null), b.pointer(ptr).unwrap_or(&null));
            first_difference(x, y, &ptr.replace('/', "."))
        })
    };
    for (path, r) in &inputs[1..] {
        if let Some((field, first_value, other_value)) = in_order(&reference, &header(r)) {
            return Err(MergeError::Mismatch {
                field: field.trim_start_matches('.').to_owned(),
                first: first_path.clone(),
                first_value,
                other: path.clone(),
                other_value,
            });
        }
    }

    let mut windows = Vec::with_capacity(inputs.len());
    for (path, r) in inputs {
        windows.push(
            r.summary
                .window
                .ok_or_else(|| MergeError::NoWindow { path: path.clone() })?,
        );
    }
    let start = windows.iter().map(|w| w.start_unix_ns).max().expect("non-empty");
    let end = windows.iter().map(|w| w.end_unix_ns).min().expect("non-empty");
    if end <= start {
        let latest = windows
            .iter()
            .position(|w| w.start_unix_ns == start)
            .expect("max exists");
        let earliest = windows
            .iter()
            .position(|w| w.end_unix_ns == end)
            .expect("min exists");
        return Err(MergeError::NoOverlap {
            earliest: inputs[earliest].0.clone(),
            latest: inputs[latest].0.clone(),
            gap_s: (start - end) as f64 / 1e9,
        });
    }
    let overlap = MeasuredWindow {
        start_unix_ns: start,
        end_unix_ns: end,
    };
    let first_start = windows.iter().map(|w| w.start_unix_ns).min().expect("non-empty");

    let corrected = add_histograms(inputs, "corrected", |h| h.corrected.as_ref())?;
    let service = add_histograms(inputs, "service", |h| Some(&h.service))?.expect("every input has one");
    let pacer_lag = add_histograms(inputs, "pacer lag", |h| h.pacer_lag.as_ref())?;
    let handshake = add_histograms(inputs, "handshake", |h| h.handshake.as_ref())?;

    let summaries: Vec<&LoadSummary> = inputs.iter().map(|(_, r)| &r.summary).collect();
    let ok: u64 = summaries.iter().map(|s| s.ok).sum();
    let mut errors = BTreeMap::new();
    let mut error_statuses = BTreeMap::new();
    for s in &summaries {
        for (k, v) in &s.errors {
            *errors.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &s.error_statuses {
            *error_statuses.entry(*k).or_insert(0) += v;
        }
    }
    // Per-request figures are totals over totals: each input's total is its per-request value
    // times its completed requests.
    let total = |per_request: fn(&LoadSummary) -> Option<f64>| {
        sum_all(summaries.iter().map(|s| per_request(s).map(|v| v * s.ok as f64)))
    };
    let per_request = |t: Option<f64>| t.filter(|_| ok > 0).map(|t| t / ok as f64);
    let sent = total(|s| s.wire.as_ref().map(|w| w.request_bytes_per_request));
    let received = total(|s| s.wire.as_ref().map(|w| w.response_bytes_per_request));
    let reasons: Vec<String> = inputs
        .iter()
        .filter(|(_, r)| !r.summary.complete)
        .map(|(p, r)| {
            format!(
                "{}: {}",
                p.display(),
                r.summary.incomplete_reason.as_deref().unwrap_or("stopped early")
            )
        })
        .collect();
    let skews: Vec<Option<i64>> = summaries.iter().map(|s| s.start_skew_ns).collect();
    let summary = LoadSummary {
        complete: reasons.is_empty(),
        incomplete_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        ok,
        errors,
        error_statuses,
        checked: summaries.iter().map(|s| s.checked).sum(),
        elapsed_ns: overlap.duration_ns(),
        achieved_rps: summaries.iter().map(|s| s.achieved_rps).sum(),
        target_rps: sum_all(summaries.iter().map(|s| s.target_rps)),
        late_sends: sum_all(summaries.iter().map(|s| s.late_sends)),
        missed_slots: sum_all(summaries.iter().map(|s| s.missed_slots)),
        invalid: None,
        latency_corrected: corrected.as_ref().map(LatencyStats::from_histogram),
        latency_service: LatencyStats::from_histogram(&service),
        pacer_lag: pacer_lag.as_ref().map(LatencyStats::from_histogram),
        // Each generator's timer floor is its own machine's; merged points are judged by the
        // absolute schedule rule.
        pacer_release_late: None,
        late_releases: None,
        pacer_realtime: None,
        client_cpu_ns_per_request: per_request(total(|s| s.client_cpu_ns_per_request)),
        // The busiest generator: near 1 means at least one generator measured itself.
        client_cpu_utilization: summaries
            .iter()
            .map(|s| s.client_cpu_utilization)
            .collect::<Option<Vec<f64>>>()
            .and_then(|u| u.into_iter().reduce(f64::max)),
        wire: match (per_request(sent), per_request(received)) {
            (Some(s), Some(r)) => Some(WireStats {
                request_bytes_per_request: s,
                response_bytes_per_request: r,
            }),
            _ => None,
        },
        handshake: handshake.as_ref().map(LatencyStats::from_histogram),
        connections_opened: sum_all(summaries.iter().map(|s| s.connections_opened)),
        window: Some(overlap),
        start_skew_ns: skews
            .iter()
            .copied()
            .collect::<Option<Vec<i64>>>()
            .and_then(|v| v.into_iter().max_by_key(|s| s.unsigned_abs())),
        // The per-message histograms merge like any others; the per-subscriber extremes of a
        // broadcast do not add up across generators, so the stream section is not carried over.
        stream: None,
        warmup: summaries.iter().filter_map(|s| s.warmup).reduce(|mut a, b| {
            a.add(&b);
            a
        }),
    };
    let mut summary = summary;
    summary.invalid = summary.invalid_reason();

    let encode = |h: &Histogram<u64>| {
        EncodedHistogram::encode(h).map_err(|source| MergeError::Histogram {
            path: first_path.clone(),
            source,
        })
    };
    let record = MergeRecord {
        window: overlap,
        start_spread_ns: start - first_start,
        max_start_skew_ns: summary.start_skew_ns.map(i64::unsigned_abs),
        inputs: inputs
            .iter()
            .zip(&windows)
            .map(|((path, r), window)| MergedInput {
                file: path.display().to_string(),
                hostname: r.provenance.hostname.clone(),
                complete: r.summary.complete,
                ok: r.summary.ok,
                errors: r.summary.errors.values().sum(),
                achieved_rps: r.summary.achieved_rps,
                window: *window,
                start_skew_ns: r.summary.start_skew_ns,
                client_cpu_utilization: r.summary.client_cpu_utilization,
            })
            .collect(),
    };
    let mut hosts: Vec<String> = inputs
        .iter()
        .filter_map(|(_, r)| r.provenance.hostname.clone())
        .collect();
    hosts.sort();
    hosts.dedup();
    Ok(LoadReport {
        schema_version: first.schema_version,
        config: first.config.clone(),
        provenance: Provenance {
            hostname: (!hosts.is_empty()).then(|| hosts.join(",")),
            client_cpus: None,
            started_at: inputs
                .iter()
                .map(|(_, r)| r.provenance.started_at.clone())
                .min()
                .unwrap_or_default(),
            finished_at: inputs
                .iter()
                .map(|(_, r)| r.provenance.finished_at.clone())
                .max()
                .flatten(),
            ..first.provenance.clone()
        },
        summary,
        histograms: LoadHistograms {
            corrected: corrected.as_ref().map(encode).transpose()?,
            service: encode(&service)?,
            pacer_lag: pacer_lag.as_ref().map(encode).transpose()?,
            handshake: handshake.as_ref().map(encode).transpose()?,
        },
        merge: Some(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{LoadMode, Percentile, PointKind, Rpc};
    use crate::synthetic::{PointSpec, point};

    const S: u64 = 1_000_000_000;

    /// A generator's result at 1000 req/s whose measured phase spans `[start_s, end_s)`.
    fn generator(seed_shift: f64, start_s: u64, end_s: u64) -> LoadReport {
        let mut spec = PointSpec::new(
            "grpc-proto-h2",
            "small",
            256,
            PointKind::FixedRate { rate_rps: 1000.0 },
            40_000.0 + seed_shift,
        );
        spec.rpc = Rpc::Echo;
        let mut r = point(&spec).load;
        r.config.start_at_unix_ns = Some(100 * S);
        r.summary.window = Some(MeasuredWindow {
            start_unix_ns: start_s * S,
            end_unix_ns: end_s * S,
        });
        r.summary.start_skew_ns = Some((start_s * S) as i64 - (100 * S) as i64);
        r
    }

    fn inputs(reports: Vec<LoadReport>) -> Vec<(PathBuf, LoadReport)> {
        reports
            .into_iter()
            .enumerate()
            .map(|(i, r)| (PathBuf::from(format!("load-{i}.json")), r))
            .collect()
    }

    #[test]
    fn adds_histograms_and_sums_counts_over_the_overlap() {
        let a = generator(0.0, 100, 110);
        let b = generator(25_000.0, 101, 111);
        let merged = merge_loads(&inputs(vec![a.clone(), b.clone()])).unwrap();
        let s = &merged.summary;
        assert_eq!(s.ok, a.summary.ok + b.summary.ok);
        assert_eq!(s.achieved_rps, a.summary.achieved_rps + b.summary.achieved_rps);
        assert_eq!(s.target_rps, Some(2000.0));
        assert_eq!(s.elapsed_ns, 9 * S, "the window is the overlap [101, 110)");
        assert_eq!(s.window.unwrap().start_unix_ns, 101 * S);
        let record = merged.merge.as_ref().unwrap();
        assert_eq!(record.start_spread_ns, S);
        assert_eq!(record.max_start_skew_ns, Some(S));
        assert_eq!(record.inputs.len(), 2);

        // Percentiles come from the added histograms, not from averaging the inputs' percentiles.
        let mut both = a.histograms.corrected.as_ref().unwrap().decode().unwrap();
        both.add(b.histograms.corrected.as_ref().unwrap().decode().unwrap())
            .unwrap();
        let corrected = s.latency_corrected.as_ref().unwrap();
        assert_eq!(corrected.count, both.len());
        assert_eq!(corrected.get(Percentile::P99), Some(both.value_at_quantile(0.99)));
        let service = merged.histograms.service.decode().unwrap();
        assert_eq!(
            service.len(),
            a.histograms.service.decode().unwrap().len() + b.histograms.service.decode().unwrap().len()
        );
        let mean_of_p99s = (a
            .summary
            .latency_corrected
            .as_ref()
            .unwrap()
            .get(Percentile::P99)
            .unwrap()
            + b.summary
                .latency_corrected
                .as_ref()
                .unwrap()
                .get(Percentile::P99)
                .unwrap())
            / 2;
        assert_ne!(corrected.get(Percentile::P99), Some(mean_of_p99s));

        // Per-request client CPU and bytes are totals over totals.
        let cpu = |r: &LoadReport| r.summary.client_cpu_ns_per_request.unwrap() * r.summary.ok as f64;
        let expect = (cpu(&a) + cpu(&b)) / s.ok as f64;
        assert!((s.client_cpu_ns_per_request.unwrap() - expect).abs() < 1e-6);
    }

    #[test]
    fn refuses_windows_that_do_not_overlap() {
        let err = merge_loads(&inputs(vec![generator(0.0, 100, 110), generator(0.0, 111, 120)])).unwrap_err();
        assert!(matches!(err, MergeError::NoOverlap { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("load-1.json started 1.000 s after load-0.json ended"),
            "{err}"
        );
    }

    #[test]
    fn refuses_results_without_a_window_and_single_results() {
        let mut old = generator(0.0, 100, 110);
        old.summary.window = None;
        let err = merge_loads(&inputs(vec![generator(0.0, 100, 110), old])).unwrap_err();
        assert!(
            err.to_string().contains("load-1.json has no measured window"),
            "{err}"
        );
        let err = merge_loads(&inputs(vec![generator(0.0, 100, 110)])).unwrap_err();
        assert!(matches!(err, MergeError::TooFew(1)), "{err}");
    }

    /// One test per field that must agree: change it in the second input, and the merge is
    /// refused with that field named.
    macro_rules! refuses_a_different {
        ($($name:ident: $field:literal => |$r:ident| $change:expr;)+) => {$(
            #[test]
            fn $name() {
                let mut $r = generator(0.0, 100, 110);
                $change;
                let err = merge_loads(&inputs(vec![generator(0.0, 100, 110), $r])).unwrap_err();
                match &err {
                    MergeError::Mismatch { field, .. } => assert_eq!(field, $field, "{err}"),
                    other => panic!("expected a mismatch on {}, got {other}", $field),
                }
                assert!(err.to_string().starts_with(concat!($field, " differs: load-0.json has ")), "{err}");
            }
        )+};
    }

    refuses_a_different! {
        refuses_a_different_schema_version: "schema_version" => |r| r.schema_version += 1;
        refuses_a_different_variant: "config.variant" => |r| r.config.variant = rpcbench_model::Variant::RestJsonH1;
        refuses_a_different_target: "config.target" => |r| r.config.target = "10.0.0.1:8080".into();
        refuses_a_different_rpc: "config.workload.rpc" => |r| r.config.workload.rpc = Rpc::Upload;
        refuses_a_different_shape: "config.workload.shape" => |r| r.config.workload.shape = rpcbench_model::Shape::Mesh;
        refuses_a_different_size: "config.workload.size" => |r| r.config.workload.size = 512;
        refuses_a_different_seed: "config.workload.seed" => |r| r.config.workload.seed += 1;
        refuses_a_different_mode: "config.mode" => |r| r.config.mode = LoadMode::Closed { connections: 8, concurrency: 8 };
        refuses_a_different_rate: "config.rate_rps" => |r| r.config.mode = LoadMode::Open { connections: 8, rate_rps: 999.0 };
        refuses_different_connections: "config.connections" => |r| r.config.mode = LoadMode::Open { connections: 4, rate_rps: 1000.0 };
        refuses_a_different_duration: "config.duration_ns" => |r| r.config.duration_ns = Some(1);
        refuses_a_different_request_bound: "config.requests" => |r| r.config.requests = Some(10);
        refuses_a_different_warmup: "config.warmup_ns" => |r| r.config.warmup_ns += 1;
        refuses_a_different_timeout: "config.timeout_ns" => |r| r.config.timeout_ns += 1;
        refuses_a_different_check_interval: "config.check_every" => |r| r.config.check_every += 1;
        refuses_a_different_agreed_start: "config.start_at_unix_ns" => |r| r.config.start_at_unix_ns = None;
    }
}
