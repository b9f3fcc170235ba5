//! The network comparison: how the claim's ratio (`rest-json-h1` vs `grpc-proto-h2`) moves from
//! `loopback` to `lan`, `wan` and `mobile`, per workload, across the run directories of one
//! multi-profile run (each profile is its own run directory with its own verdict).
//!
//! The design decision to know: nothing here is computed differently from a single run's report.
//! Each directory's ratios and verdict come from [`Report::build`], the very analysis its own
//! `summary.md` shows (same exclusions: client-bound and schedule-slipped points, withheld
//! percentiles); this module only lines them up by profile. The flow-control line compares runs
//! of the same profile that differ only in `h2_adaptive_window`, from their raw points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rpcbench_model::{LinkProfile, NetworkResult, Rpc, Size, Variant};
use serde::Serialize;

use crate::charts::{ChartView, LineChart, LineSeries, XY, slug};
use crate::evidence::Ratio;
use crate::format;
use crate::model::Report;
use crate::render::load_run_inputs;
use crate::schema::{PointKind, PointResult, RunResults, write_atomic};
use crate::sink::ReportError;
use rpcbench_model::{Better, Metric};

/// The metrics shown per profile, in order.
const METRICS: [Metric; 3] = [
    Metric::LatencyP50,
    Metric::MaxThroughput,
    Metric::ServerThroughput,
];

/// One run directory: one network profile (and window setting).
#[derive(Debug, Clone, Serialize)]
pub struct ProfileColumn {
    /// `wan`, or `wan (adaptive window)`.
    pub label: String,
    pub dir: PathBuf,
    pub profile: String,
    pub adaptive_window: bool,
    pub configured: Option<LinkProfile>,
    pub network: Option<NetworkResult>,
    pub status: String,
    pub sentence: String,
    pub complete: bool,
    #[serde(skip)]
    ratios: Vec<Ratio>,
    #[serde(skip)]
    points: Vec<PointResult>,
    #[serde(skip)]
    stream_window: Option<u64>,
}

/// A table row: its label, then one cell per column.
pub type Row = (String, Vec<String>);

/// Everything the comparison shows.
#[derive(Debug, Clone, Serialize)]
pub struct NetworksView {
    pub title: String,
    pub columns: Vec<ProfileColumn>,
    /// Link table rows: label, then one cell per column.
    pub link_rows: Vec<Row>,
    /// Per metric: its title and rows (workload, one cell per column).
    pub tables: Vec<(String, Vec<Row>)>,
    pub charts: Vec<ChartView>,
    pub chart_ids: Vec<String>,
    /// Fixed vs adaptive HTTP/2 window, per profile measured both ways.
    pub flow_control: Vec<String>,
    pub notes: Vec<String>,
}

/// Loads every run directory and builds the comparison.
pub fn build(dirs: &[PathBuf]) -> Result<NetworksView, ReportError> {
    let mut columns = Vec::new();
    let mut notes = Vec::new();
    for dir in dirs {
        let inputs = load_run_inputs(dir, None)?;
        let Some(run) = inputs.run.clone() else {
            notes.push(format!("{}: no results.json, left out", dir.display()));
            continue;
        };
        let report = Report::build(&inputs);
        columns.push(column(dir, &run, &report));
    }
    if columns.is_empty() {
        return Err(ReportError::NothingToReport {
            dir: dirs.first().cloned().unwrap_or_default(),
            details: "none of the directories holds a results.json".into(),
        });
    }
    Ok(view(columns, notes))
}

fn column(dir: &Path, run: &RunResults, report: &Report<'_>) -> ProfileColumn {
    let profile = run
        .network
        .as_ref()
        .map_or_else(|| "loopback".to_owned(), |n| n.configured.name.clone());
    let adaptive_window = run.server_settings["h2_adaptive_window"]
        .as_bool()
        .unwrap_or(false);
    ProfileColumn {
        label: if adaptive_window {
            format!("{profile} (adaptive window)")
        } else {
            profile.clone()
        },
        dir: dir.into(),
        profile,
        adaptive_window,
        configured: run.network.as_ref().map(|n| n.configured.clone()),
        network: run.network.clone(),
        status: report.verdict.status.label().into(),
        sentence: report.verdict.sentence.clone(),
        complete: run.complete,
        ratios: report
            .claim_ratios
            .iter()
            .filter(|r| METRICS.contains(&r.metric))
            .cloned()
            .collect(),
        points: report.points.to_vec(),
        stream_window: run.server_settings["h2_stream_window"].as_u64(),
    }
}

/// `(rpc, shape, size)` of a workload, ordered.
type Wl = (Rpc, String, u64);

fn wl_label((rpc, shape, size): &Wl) -> String {
    format!("{} {shape} {}", rpc.name(), Size(*size))
}

fn ratio_wl(r: &Ratio) -> Option<Wl> {
    Some((
        r.source.rpc?,
        r.source.shape.to_string(),
        r.source.size_label.parse::<Size>().ok()?.bytes(),
    ))
}

fn point_wl(p: &PointResult) -> Wl {
    (p.workload.rpc, p.workload.shape.to_string(), p.workload.size)
}

/// The claim's ratio of one metric and workload in one column: for latency the lowest equal
/// offered load (the one least disturbed by queueing), else the maximum-throughput point's.
fn pick<'a>(c: &'a ProfileColumn, metric: Metric, wl: &Wl) -> Option<&'a Ratio> {
    let matching = c
        .ratios
        .iter()
        .filter(|r| r.metric == metric && ratio_wl(r).as_ref() == Some(wl));
    if metric == Metric::LatencyP50 {
        matching.min_by(|a, b| load_of(a).total_cmp(&load_of(b)))
    } else {
        let all: Vec<&Ratio> = matching.collect();
        all.iter()
            .find(|r| r.source.load == Some(crate::evidence::LoadPoint::MaxThroughput))
            .or(all.first())
            .copied()
    }
}

/// The offered load of a ratio's points: a closed-loop (or unknown) point sorts after every rate.
fn load_of(r: &Ratio) -> f64 {
    match r.source.load {
        Some(crate::evidence::LoadPoint::FixedRate { rate_rps }) => rate_rps,
        Some(crate::evidence::LoadPoint::MaxThroughput) | None => f64::INFINITY,
    }
}

/// `p50 latency at equal load, rest-json-h1 ÷ grpc-proto-h2`: the metric's label and its
/// ratio's orientation (above 1: gRPC better), both derived from the metric, so every metric has
/// a title.
fn metric_title(m: Metric) -> String {
    let (top, bottom) = match m.better() {
        Better::Lower => (Variant::RestJsonH1, Variant::GrpcProtoH2),
        Better::Higher => (Variant::GrpcProtoH2, Variant::RestJsonH1),
    };
    format!("{}, {} ÷ {}", m.label(), top.name(), bottom.name())
}

fn cell(r: Option<&Ratio>, metric: Metric) -> String {
    match r {
        None => "—".into(),
        Some(r) => {
            // The ratio's numerator first: the baseline's value when lower is better.
            let (top, bottom) = match metric.better() {
                Better::Lower => (r.baseline_value, r.candidate_value),
                Better::Higher => (r.candidate_value, r.baseline_value),
            };
            let raw = format!(
                "{} vs {}",
                format::metric_value(metric, top),
                format::metric_value(metric, bottom)
            );
            format!("{} {} ({raw})", format::ratio(r.value), r.spread_text())
        }
    }
}

fn view(columns: Vec<ProfileColumn>, mut notes: Vec<String>) -> NetworksView {
    let mut workloads: Vec<Wl> = columns
        .iter()
        .flat_map(|c| c.ratios.iter().filter_map(ratio_wl))
        .collect();
    workloads.sort_by(|a, b| (a.0.name(), &a.1, a.2).cmp(&(b.0.name(), &b.1, b.2)));
    workloads.dedup();

    let link_rows = link_rows(&columns);
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    // Ratios are plotted over the columns in the order given (loopback → lan → wan → mobile),
    // one line per workload.
    let ticks: Vec<(f64, String)> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64, c.label.clone()))
        .collect();
    for metric in METRICS {
        let rows: Vec<Row> = workloads
            .iter()
            .map(|wl| {
                (
                    wl_label(wl),
                    columns
                        .iter()
                        .map(|c| cell(pick(c, metric, wl), metric))
                        .collect(),
                )
            })
            .collect();
        tables.push((metric_title(metric), rows));
        let series: Vec<LineSeries> = workloads
            .iter()
            .enumerate()
            .map(|(k, wl)| LineSeries {
                name: wl_label(wl),
                colour: SERIES_COLOURS[k % SERIES_COLOURS.len()].into(),
                dash: String::new(),
                points: columns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        pick(c, metric, wl).map(|r| XY {
                            x: i as f64,
                            y: r.value,
                            y_range: Some((r.low, r.high)),
                            title: format!("{}, {}: {}", wl_label(wl), c.label, cell(Some(r), metric)),
                        })
                    })
                    .collect(),
                dots: true,
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let chart = LineChart {
            id: slug(&["network-ratio", metric.name()]),
            kind: "network-ratio",
            title: format!("{} by network profile", metric_title(metric)),
            note: Some("above 1: gRPC better; whiskers: the ratio's interval".into()),
            x_label: "network profile".into(),
            y_label: "ratio (log scale)".into(),
            x_log: false,
            y_log: true,
            x_ticks: Some(ticks.clone()),
            x_range: Some((-0.3, columns.len().max(2) as f64 - 0.7)),
            x_format: |v| format!("{v}"),
            y_format: |v| format::ratio(v),
            series,
        };
        charts.extend(chart.build());
    }
    let flow_control = flow_control(&columns);
    if flow_control.is_empty() {
        notes.push(
            "flow control: no profile was measured with both the fixed and the adaptive HTTP/2 window \
             (run it again with --h2-adaptive-window true and pass both directories)"
                .into(),
        );
    }
    if columns.iter().any(|c| !c.complete) {
        notes.push("some runs are incomplete; their columns show what was measured".into());
    }
    let chart_ids = charts.iter().map(|c| c.id.clone()).collect();
    NetworksView {
        title: "rpcbench: the claim across network profiles".into(),
        columns,
        link_rows,
        tables,
        charts,
        chart_ids,
        flow_control,
        notes,
    }
}

const SERIES_COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

fn link_rows(columns: &[ProfileColumn]) -> Vec<Row> {
    let cells = |f: &dyn Fn(&ProfileColumn) -> String| columns.iter().map(f).collect::<Vec<_>>();
    let measured = |c: &ProfileColumn| c.network.as_ref().and_then(|n| n.measured.clone());
    vec![
        (
            "configured rate".into(),
            cells(&|c| match &c.configured {
                None => "— (loopback)".into(),
                Some(p) => p.rate_bps.map_or("unshaped".into(), |r| {
                    rpcbench_model::network::format_rate(r as f64)
                }),
            }),
        ),
        (
            "configured RTT".into(),
            cells(&|c| {
                c.configured
                    .as_ref()
                    .map_or("—".into(), |p| format::duration_ns(p.rtt_ns as f64))
            }),
        ),
        (
            "measured RTT floor (min / p50)".into(),
            cells(&|c| {
                measured(c).map_or("—".into(), |m| {
                    format!(
                        "{} / {}",
                        format::duration_ns(m.rtt.min_ns as f64),
                        format::duration_ns(m.rtt.p50_ns as f64)
                    )
                })
            }),
        ),
        (
            "measured bulk bandwidth (up / down)".into(),
            cells(&|c| {
                measured(c).map_or("—".into(), |m| {
                    format!(
                        "{} / {}",
                        rpcbench_model::network::format_rate(m.bandwidth_up_bps),
                        rpcbench_model::network::format_rate(m.bandwidth_down_bps)
                    )
                })
            }),
        ),
        (
            "delay line CPU (share of its life)".into(),
            cells(&|c| {
                c.network
                    .as_ref()
                    .and_then(|n| n.delay_line.as_ref())
                    .filter(|d| d.wall_ns > 0)
                    .map_or("—".into(), |d| {
                        format!("{:.0}%", d.cpu_ns as f64 * 100.0 / d.wall_ns as f64)
                    })
            }),
        ),
        ("verdict".into(), cells(&|c| c.status.clone())),
    ]
}

/// Median achieved req/s and median p50 service latency of `variant`'s maximum-throughput
/// points for one workload.
fn max_point(c: &ProfileColumn, variant: Variant, wl: &Wl) -> Option<(f64, Option<f64>)> {
    let pts: Vec<&PointResult> = c
        .points
        .iter()
        .filter(|p| {
            p.variant == variant
                && p.point == PointKind::MaxThroughput
                && p.error.is_none()
                && point_wl(p) == *wl
        })
        .collect();
    let mut rps: Vec<f64> = pts.iter().map(|p| p.load.summary.achieved_rps).collect();
    let mut p50: Vec<f64> = pts
        .iter()
        .filter_map(|p| {
            p.load
                .summary
                .latency_service
                .get(crate::schema::Percentile::P50)
                .map(|v| v as f64)
        })
        .collect();
    Some((median(&mut rps)?, median(&mut p50)))
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One line per HTTP/2 variant and workload of each profile measured with both windows.
fn flow_control(columns: &[ProfileColumn]) -> Vec<String> {
    let mut by_profile: BTreeMap<&str, (Option<&ProfileColumn>, Option<&ProfileColumn>)> = BTreeMap::new();
    for c in columns {
        let e = by_profile.entry(&c.profile).or_default();
        if c.adaptive_window {
            e.1 = Some(c);
        } else {
            e.0 = Some(c);
        }
    }
    let mut lines = Vec::new();
    for (profile, pair) in by_profile {
        let (Some(fixed), Some(adaptive)) = pair else {
            continue;
        };
        let bdp = fixed.configured.as_ref().map_or(0, LinkProfile::bdp_bytes);
        let window = fixed.stream_window.unwrap_or(0);
        lines.push(format!(
            "{profile}: bandwidth-delay product {}, fixed initial stream window {} ({})",
            format::bytes(bdp as f64),
            format::bytes(window as f64),
            if window as u128 >= bdp as u128 {
                "above the BDP: a single stream is not expected to be window-limited"
            } else {
                "below the BDP: a single stream can be window-limited"
            }
        ));
        let mut wls: Vec<Wl> = fixed.points.iter().map(point_wl).collect();
        wls.sort_by(|a, b| (a.0.name(), &a.1, a.2).cmp(&(b.0.name(), &b.1, b.2)));
        wls.dedup();
        for wl in &wls {
            for v in [
                Variant::GrpcProtoH2,
                Variant::RestJsonH2,
                Variant::RestProtoH2,
                Variant::GrpcJsonH2,
            ] {
                let (Some(f), Some(a)) = (max_point(fixed, v, wl), max_point(adaptive, v, wl)) else {
                    continue;
                };
                let p50 = |x: Option<f64>| x.map_or("—".into(), format::duration_ns);
                lines.push(format!(
                    "{profile}, {}, {v}: fixed window {} (p50 {}), adaptive {} (p50 {}): adaptive ÷ fixed throughput {}",
                    wl_label(wl),
                    format::rate(f.0),
                    p50(f.1),
                    format::rate(a.0),
                    p50(a.1),
                    format::ratio(a.0 / f.0)
                ));
            }
        }
    }
    lines
}

/// The Markdown page.
pub fn markdown(v: &NetworksView) -> String {
    let mut s = format!("# {}\n\n", v.title);
    let header = |s: &mut String, first: &str| {
        s.push_str(&format!("| {first} |"));
        for c in &v.columns {
            s.push_str(&format!(" {} |", c.label));
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(v.columns.len()));
        s.push('\n');
    };
    s.push_str("## Links and verdicts\n\n");
    header(&mut s, "");
    for (label, cells) in &v.link_rows {
        s.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    }
    s.push('\n');
    for c in &v.columns {
        s.push_str(&format!(
            "- **{}** ({}): {}\n",
            c.label,
            c.dir.display(),
            c.sentence
        ));
    }
    for (title, rows) in &v.tables {
        s.push_str(&format!("\n## {title}\n\n"));
        header(&mut s, "workload");
        for (wl, cells) in rows {
            s.push_str(&format!("| {wl} | {} |\n", cells.join(" | ")));
        }
    }
    s.push_str("\n## Flow control: fixed vs adaptive HTTP/2 window\n\n");
    for l in &v.flow_control {
        s.push_str(&format!("- {l}\n"));
    }
    if !v.notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in &v.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

const TEMPLATE: &str = include_str!("../templates/networks.html");

/// Writes `networks.md` and `networks.html` into `out_dir` (created if needed); returns the
/// HTML path.
pub fn render(dirs: &[PathBuf], out_dir: &Path) -> Result<PathBuf, ReportError> {
    let v = build(dirs)?;
    std::fs::create_dir_all(out_dir).map_err(|e| crate::schema::SchemaError::Write {
        path: out_dir.into(),
        source: e,
    })?;
    write_atomic(&out_dir.join("networks.md"), markdown(&v).as_bytes())?;
    let mut env = minijinja::Environment::new();
    let tpl = |name: &'static str, source: minijinja::Error| ReportError::Template { name, source };
    env.add_template("chart.html", crate::html::CHART_TEMPLATE)
        .map_err(|e| tpl("chart.html", e))?;
    env.add_template("style.css", crate::html::STYLE)
        .map_err(|e| tpl("style.css", e))?;
    env.add_template("script.js", crate::html::SCRIPT)
        .map_err(|e| tpl("script.js", e))?;
    env.add_template("networks.html", TEMPLATE)
        .map_err(|e| tpl("networks.html", e))?;
    let html = env
        .get_template("networks.html")
        .and_then(|t| t.render(minijinja::value::Serde(&v)))
        .map_err(|e| tpl("networks.html", e))?;
    let external = crate::html::external_references(&html);
    if !external.is_empty() {
        return Err(ReportError::ExternalResource(external));
    }
    let path = out_dir.join("networks.html");
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::write_json_atomic;
    use rpcbench_model::network::{LinkMeasurement, RttMeasurement};

    #[test]
    fn titles_are_derived_from_the_metric() {
        let titles: Vec<String> = METRICS.into_iter().map(metric_title).collect();
        assert_eq!(
            titles,
            [
                "p50 latency at equal load, rest-json-h1 ÷ grpc-proto-h2",
                "maximum throughput, grpc-proto-h2 ÷ rest-json-h1",
                "requests per server core-second, grpc-proto-h2 ÷ rest-json-h1",
            ]
        );
    }

    /// A synthetic run on `profile`, its gRPC throughput scaled by `grpc_speed`.
    fn run_on(profile: Option<&str>, adaptive: bool, grpc_speed: f64) -> RunResults {
        let mut run = crate::synthetic::run();
        run.server_settings["h2_adaptive_window"] = adaptive.into();
        run.server_settings["h2_stream_window"] = 4_194_304.into();
        run.network = profile.map(|name| NetworkResult {
            configured: LinkProfile::builtin(name).unwrap(),
            emulation: rpcbench_model::network::Emulation::UserspaceDelayLine,
            measured: Some(LinkMeasurement {
                rtt: RttMeasurement {
                    samples: 100,
                    min_ns: 20_400_000,
                    p50_ns: 20_900_000,
                },
                bandwidth_up_bps: 95e6,
                bandwidth_down_bps: 96e6,
            }),
            delay_line: None,
            namespaces: vec![],
        });
        for p in &mut run.points {
            if p.variant == Variant::GrpcProtoH2 && p.point == PointKind::MaxThroughput {
                p.load.summary.achieved_rps *= grpc_speed;
            }
        }
        run
    }

    #[test]
    fn ratios_line_up_by_profile_and_flow_control_compares_windows() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        for (name, profile, adaptive, speed) in [
            ("a-loopback", None, false, 1.0),
            ("b-wan", Some("wan"), false, 1.0),
            ("c-wan-adaptive", Some("wan"), true, 1.5),
        ] {
            let dir = tmp.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            write_json_atomic(&dir.join("results.json"), &run_on(profile, adaptive, speed)).unwrap();
            dirs.push(dir);
        }
        let out = tmp.path().join("networks");
        let html = std::fs::read_to_string(render(&dirs, &out).unwrap()).unwrap();
        let md = std::fs::read_to_string(out.join("networks.md")).unwrap();
        for label in ["loopback", "wan", "wan (adaptive window)"] {
            assert!(md.contains(&format!(" {label} |")), "{md}");
        }
        assert!(md.contains("95.0 Mbit/s / 96.0 Mbit/s"), "{md}");
        assert!(
            md.contains("upload mesh 16KiB") || md.contains("echo mesh 16KiB"),
            "{md}"
        );
        // The adaptive run's gRPC max throughput is 1.5x the fixed one's, from the raw points.
        let fc: Vec<&str> = md
            .lines()
            .filter(|l| l.contains("grpc-proto-h2: fixed window"))
            .collect();
        assert!(!fc.is_empty(), "{md}");
        assert!(fc.iter().all(|l| l.contains("throughput 1.5x")), "{fc:?}");
        assert!(md.contains("bandwidth-delay product"), "{md}");
        // A table per metric under its derived title; throughput cells show the rates.
        for m in METRICS {
            assert!(md.contains(&metric_title(m)), "{m:?}: {md}");
        }
        assert!(md.contains(" req/s vs "), "{md}");
        // One chart per metric, a point per profile and workload.
        assert_eq!(
            html.matches("data-chart-kind=\"network-ratio\"").count(),
            3,
            "{html}"
        );
        assert!(crate::html::external_references(&html).is_empty());

        // No directory with results: a clear error, nothing rendered.
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(render(&[empty], &tmp.path().join("x")).is_err());
    }
}
