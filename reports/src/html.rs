//! The HTML sink: one self-contained `index.html` (inline CSS, inline SVG charts, a few lines
//! of inline script for legend toggling) rendered with minijinja from a `Serialize` view model.
//! Templates live in `templates/` and are embedded with `include_str!`; `.html` templates
//! auto-escape every value, so no string from the data reaches the page unescaped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::charts::{
    BarChart, BarSeries, BarValue, ChartView, LineChart, LineSeries, NEUTRAL, XY, encoding_colour, slug,
    variant_colour,
};
use rpcbench_model::{CodecOp, Encoding, Metric, Shape, Size, Variant};

use crate::criterion::{Bench, BenchId, CriterionData};
use crate::evidence::{self, Effect, EffectRatios, LoadKey, LoadPoint, Ratio, WorkloadKey};
use crate::format;
use crate::latency::{Spectrum, merged_histogram};
use crate::model::Inputs;
use crate::schema::{EncodedSize, Percentile, PointKind, PointResult, Rpc};
use crate::sink::{ReportError, ReportSink};
use crate::verdict::Verdict;

const INDEX_TEMPLATE: &str = include_str!("../templates/index.html");
pub(crate) const CHART_TEMPLATE: &str = include_str!("../templates/chart.html");
pub(crate) const STYLE: &str = include_str!("../templates/style.css");
pub(crate) const SCRIPT: &str = include_str!("../templates/script.js");

/// Catalogue order of shapes; unknown shapes sort after, by name.
fn shape_order(shape: &str) -> (usize, String) {
    (
        Shape::NAMES
            .iter()
            .position(|s| *s == shape)
            .unwrap_or(Shape::ALL.len()),
        shape.to_string(),
    )
}

/// Sort key of a workload: rpc, shape in catalogue order, size.
type WorkloadOrder = (Rpc, (usize, String), u64);
/// Sort key of a variant: the factorial design's order, then name.
type VariantOrder = (usize, String);

fn workload_sort_key(w: &WorkloadKey) -> WorkloadOrder {
    (w.rpc, shape_order(w.shape.name()), w.size)
}

fn variant_order(v: &str) -> VariantOrder {
    (
        Variant::NAMES
            .iter()
            .position(|x| *x == v)
            .unwrap_or(Variant::ALL.len()),
        v.to_string(),
    )
}

#[derive(Debug, Default, Serialize)]
struct Page {
    title: String,
    subtitle: String,
    chart_ids: Vec<String>,
    missing: Vec<String>,
    verdict: VerdictView,
    effects: EffectsView,
    serialization: SerializationView,
    latency: LatencyView,
    resources: ResourcesView,
    method: MethodView,
}

#[derive(Debug, Default, Serialize)]
struct VerdictView {
    status: String,
    label: String,
    claim: String,
    sentence: String,
    rows: Vec<RatioRow>,
    chart: Option<ChartView>,
    claim_rows: Vec<RatioRow>,
}

#[derive(Debug, Default, Serialize)]
struct RatioRow {
    what: String,
    ratio: String,
    spread: String,
    source: String,
    values: String,
}

fn ratio_row(what: String, r: &Ratio) -> RatioRow {
    RatioRow {
        what,
        ratio: format::ratio(r.value),
        spread: r.spread_text(),
        source: r.source.describe(r.metric),
        values: format!(
            "{} {} · {} {}",
            r.source.baseline,
            format::metric_value(r.metric, r.baseline_value),
            r.source.candidate,
            format::metric_value(r.metric, r.candidate_value)
        ),
    }
}

#[derive(Debug, Default, Serialize)]
struct EffectsView {
    tables: Vec<EffectTable>,
    charts: Vec<ChartView>,
    empty: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct EffectTable {
    title: String,
    columns: Vec<String>,
    rows: Vec<EffectRow>,
    chains: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct EffectRow {
    name: String,
    pair: String,
    cells: Vec<Cell>,
}

#[derive(Debug, Default, Serialize)]
struct Cell {
    text: String,
    title: String,
}

#[derive(Debug, Default, Serialize)]
struct SerializationView {
    time_charts: Vec<ChartView>,
    mbps_charts: Vec<ChartView>,
    size_charts: Vec<ChartView>,
    codec_rows: Vec<CodecRow>,
    size_rows: Vec<Vec<String>>,
    size_levels: Option<String>,
    empty: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct CodecRow {
    shape: String,
    size: String,
    op: String,
    json: String,
    protobuf: String,
    speedup: String,
    json_mbps: String,
    protobuf_mbps: String,
}

#[derive(Debug, Default, Serialize)]
struct ChartGroup {
    title: String,
    charts: Vec<ChartView>,
}

#[derive(Debug, Default, Serialize)]
struct LatencyView {
    groups: Vec<ChartGroup>,
    sweeps: Vec<ChartView>,
    notes: Vec<String>,
    empty: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct ResourcesView {
    charts: Vec<ChartView>,
    rows: Vec<LoadRow>,
    note: Option<String>,
    empty: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct LoadRow {
    variant: String,
    colour: String,
    workload: String,
    load: String,
    rep: u32,
    achieved: String,
    p50: String,
    p99: String,
    p999: String,
    service_p50: String,
    service_p99: String,
    server_cpu: String,
    client_cpu: String,
    /// Which side was saturated (CPU utilization ≥ 90%), if either.
    bound: String,
    request_bytes: String,
    response_bytes: String,
    rss: String,
    errors: String,
    status: String,
    hgrm: Option<Link>,
}

#[derive(Debug, Default, Serialize)]
struct Link {
    href: String,
    label: String,
    exists: bool,
}

#[derive(Debug, Default, Serialize)]
struct MethodView {
    inputs: Vec<(String, String)>,
    provenance: Vec<(String, String)>,
    settings_json: Option<String>,
    scenario_json: Option<String>,
    floor: Vec<(String, String)>,
    errors: Vec<String>,
    hgrm: Vec<Link>,
    criterion_report: Option<Link>,
    criterion_problems: Vec<String>,
}

/// The HTML sink.
#[derive(Debug, Default)]
pub struct HtmlSink {
    page: Page,
}

impl HtmlSink {
    pub fn new() -> HtmlSink {
        HtmlSink::default()
    }
}

impl ReportSink for HtmlSink {
    fn file_name(&self) -> &'static str {
        "index.html"
    }

    fn missing(&mut self, notes: &[String]) {
        self.page.missing = notes.to_vec();
    }

    fn verdict(&mut self, verdict: &Verdict, claim_ratios: &[Ratio]) {
        let mut rows = Vec::new();
        let mut largest = Vec::new();
        let mut smallest = Vec::new();
        let mut categories = Vec::new();
        let codec = [
            (Metric::Encode, &verdict.encode),
            (Metric::Decode, &verdict.decode),
        ];
        let all = codec
            .iter()
            .filter_map(|(m, e)| e.as_ref().map(|e| (*m, e)))
            .chain(verdict.end_to_end.iter().map(|m| (m.metric, &m.extremes)));
        for (metric, ext) in all {
            let name = if matches!(metric, Metric::Encode | Metric::Decode) {
                format!("{} speed-up", metric.short_label())
            } else {
                metric.label().to_string()
            };
            if ext.count > 1 {
                rows.push(ratio_row(
                    format!("{name}, largest of {}", ext.count),
                    &ext.largest,
                ));
                rows.push(ratio_row(format!("{name}, smallest"), &ext.smallest));
            } else {
                rows.push(ratio_row(name, &ext.largest));
            }
            categories.push(metric.short_label().replace(' ', "\n"));
            let bar = |r: &Ratio| BarValue {
                value: r.value,
                range: Some((r.low, r.high)),
                title: format!("{}: {}", metric.label(), r.text_with_source()),
            };
            largest.push(Some(bar(&ext.largest)));
            smallest.push((ext.count > 1).then(|| bar(&ext.smallest)));
        }
        let chart = BarChart {
            id: "verdict/headline".into(),
            kind: "headline",
            title: "Headline ratios: above 1x the protobuf / gRPC side is better".into(),
            note: Some("whiskers: 95% CI (criterion) or min–max over repetitions".into()),
            x_label: "metric".into(),
            y_label: "ratio (log scale)".into(),
            categories,
            series: vec![
                BarSeries {
                    name: "largest".into(),
                    colour: "#444".into(),
                    opacity: 1.0,
                    values: largest,
                },
                BarSeries {
                    name: "smallest".into(),
                    colour: "#999".into(),
                    opacity: 1.0,
                    values: smallest,
                },
            ],
            y_log: Some(true),
            y_format: format::ratio,
            ref_lines: vec![
                (verdict.factor, format!("claim: {}x", verdict.factor)),
                (1.0, "parity".into()),
            ],
        }
        .build();
        let mut claim_rows: Vec<RatioRow> = claim_ratios
            .iter()
            .map(|r| ratio_row(r.metric.label().to_string(), r))
            .collect();
        claim_rows.sort_by(|a, b| a.what.cmp(&b.what));
        self.page.verdict = VerdictView {
            status: verdict.status.as_str().into(),
            label: verdict.status.label().into(),
            claim: verdict.claim.clone(),
            sentence: verdict.sentence.clone(),
            rows,
            chart,
            claim_rows,
        };
    }

    fn conditions(&mut self, view: &crate::conditions::ConditionsView) {
        // Shown in the "where it comes from" section, in the same table layout: the first two
        // columns name the row, the others are measurements.
        self.page.effects.empty = None;
        for t in view.tables() {
            let name = t.columns.first().cloned().unwrap_or_default();
            let pair = t.columns.get(1).cloned().unwrap_or_default();
            self.page.effects.tables.push(EffectTable {
                title: format!("{} ({name}, {pair})", t.title),
                columns: t.columns.iter().skip(2).cloned().collect(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| EffectRow {
                        name: r.first().cloned().unwrap_or_default(),
                        pair: r.get(1).cloned().unwrap_or_default(),
                        cells: r
                            .iter()
                            .skip(2)
                            .map(|c| Cell {
                                text: c.clone(),
                                title: String::new(),
                            })
                            .collect(),
                    })
                    .collect(),
                chains: Vec::new(),
            });
        }
        if let Some(last) = self.page.effects.tables.last_mut() {
            last.chains.extend(view.sentences());
        }
    }

    fn effects(&mut self, effects: &[EffectRatios]) {
        if effects.is_empty() {
            self.page.effects.empty = Some(
                "No load points for a pair of variants: the effects of encoding, transport and framework \
                 could not be separated."
                    .into(),
            );
            return;
        }
        self.page.effects.tables = effect_tables(effects);
        fn find<'e>(e: &'e EffectRatios, w: &WorkloadKey, m: Metric) -> Option<&'e Ratio> {
            e.ratios
                .iter()
                .filter(|r| r.metric == m && ratio_workload(r) == *w)
                .min_by(|a, b| load_rate(a).total_cmp(&load_rate(b)))
        }
        let workloads: BTreeSet<WorkloadKey> = effects
            .iter()
            .flat_map(|e| e.ratios.iter().map(ratio_workload))
            .collect();
        let mut workloads: Vec<WorkloadKey> = workloads.into_iter().collect();
        workloads.sort_by_key(workload_sort_key);
        for metric in [Metric::ServerCpu, Metric::LatencyP50, Metric::MaxThroughput] {
            let shown: Vec<Effect> = std::iter::once(Effect::total()).chain(Effect::chain()).collect();
            let series: Vec<BarSeries> = shown
                .iter()
                .zip(NEUTRAL)
                .filter_map(|(effect, colour)| {
                    let e = effects.iter().find(|e| e.effect == *effect)?;
                    let values = workloads
                        .iter()
                        .map(|w| {
                            find(e, w, metric).map(|r| BarValue {
                                value: r.value,
                                range: Some((r.low, r.high)),
                                title: format!("{}: {}", effect.name, r.text_with_source()),
                            })
                        })
                        .collect();
                    Some(BarSeries {
                        name: effect.name.clone(),
                        colour: colour.into(),
                        opacity: 1.0,
                        values,
                    })
                })
                .collect();
            let chart = BarChart {
                id: slug(&["effects", metric.short_label()]),
                kind: "effects",
                title: format!("Where the difference comes from: {}", metric.label()),
                note: Some(
                    "ratio baseline ÷ candidate of each pair; above 1x the second variant is better".into(),
                ),
                x_label: "workload".into(),
                y_label: format!("{} ratio (log scale)", metric.short_label()),
                categories: workloads
                    .iter()
                    .map(|w| format!("{}\n{} {}", w.rpc, w.shape, Size(w.size)))
                    .collect(),
                series,
                y_log: Some(true),
                y_format: format::ratio,
                ref_lines: vec![(1.0, "parity".into())],
            };
            self.page.effects.charts.extend(chart.build());
        }
    }

    fn serialization(&mut self, codec: &[&Bench], ratios: &[Ratio], criterion: Option<&CriterionData>) {
        let view = &mut self.page.serialization;
        let sizes: Vec<&EncodedSize> = criterion
            .and_then(|c| c.encoded_sizes.as_ref())
            .map(|s| s.rows.iter().collect())
            .unwrap_or_default();
        if let Some(s) = criterion.and_then(|c| c.encoded_sizes.as_ref()) {
            view.size_levels = Some(format!(
                "gzip level {}, zstd level {}",
                s.gzip_level, s.zstd_level
            ));
        }
        if codec.is_empty() && sizes.is_empty() {
            view.empty = Some(match criterion {
                None => "No criterion results were given: serialization was not measured.".into(),
                Some(c) => format!("{} holds no codec benchmarks or encoded sizes.", c.dir.display()),
            });
            return;
        }
        // shape → (encoding, op) → [(size bytes, label, bench)]
        type Series<'a> = BTreeMap<(Encoding, CodecOp), Vec<(u64, String, &'a Bench)>>;
        let mut by_shape: BTreeMap<(usize, String), Series<'_>> = BTreeMap::new();
        for b in codec {
            if let BenchId::Codec {
                op,
                encoding,
                shape,
                size,
            } = b.id
            {
                by_shape
                    .entry(shape_order(shape.name()))
                    .or_default()
                    .entry((encoding, op))
                    .or_default()
                    .push((size.bytes(), size.to_string(), b));
            }
        }
        let size_bytes_of = |enc: Encoding, shape: &str, label: &str| -> Option<u64> {
            sizes
                .iter()
                .find(|r| r.shape == shape && r.size_label == label)
                .and_then(|r| match enc {
                    // sonic writes the same bytes as serde_json.
                    Encoding::Json | Encoding::Sonic => Some(r.json_bytes),
                    Encoding::Protobuf => Some(r.protobuf_bytes),
                    Encoding::Pbjson => r.pbjson_bytes,
                })
        };
        for ((_, shape), series) in &mut by_shape {
            let mut all_sizes = BTreeSet::new();
            for points in series.values_mut() {
                points.sort_by_key(|p| p.0);
                all_sizes.extend(points.iter().map(|p| (p.0, p.1.clone())));
            }
            let x_ticks: Vec<(f64, String)> = all_sizes.iter().map(|(b, l)| (*b as f64, l.clone())).collect();
            let (lo, hi) = (
                all_sizes.first().map_or(1, |s| s.0) as f64,
                all_sizes.last().map_or(1, |s| s.0) as f64,
            );
            let x_range = Some((lo / 2.0, hi * 2.0));
            let mut time_series = Vec::new();
            let mut mbps_series = Vec::new();
            for ((enc, op), points) in series.iter() {
                let name = format!("{enc} {op}");
                let dash = match op {
                    CodecOp::Encode => "",
                    CodecOp::Decode => "6 3",
                    CodecOp::PopulateEncode => "2 3",
                };
                let colour = encoding_colour(*enc).to_string();
                let mut time_pts = Vec::new();
                let mut mbps_pts = Vec::new();
                for (bytes, label, b) in points {
                    let e = b.typical();
                    let ci = &e.confidence_interval;
                    time_pts.push(XY {
                        x: *bytes as f64,
                        y: e.point_estimate,
                        y_range: Some((ci.lower_bound, ci.upper_bound)),
                        title: format!(
                            "{name} {shape} {label}: {} [{}–{}, {}% CI]",
                            format::duration_ns(e.point_estimate),
                            format::duration_ns(ci.lower_bound),
                            format::duration_ns(ci.upper_bound),
                            ci.confidence_level * 100.0
                        ),
                    });
                    if let Some(n) = b.throughput_bytes.or_else(|| size_bytes_of(*enc, shape, label)) {
                        let mbps = |ns: f64| n as f64 / ns * 1e3;
                        mbps_pts.push(XY {
                            x: *bytes as f64,
                            y: mbps(e.point_estimate),
                            y_range: Some((mbps(ci.upper_bound), mbps(ci.lower_bound))),
                            title: format!(
                                "{name} {shape} {label}: {} ({} per op)",
                                format::mb_per_s(mbps(e.point_estimate)),
                                format::bytes(n as f64)
                            ),
                        });
                    }
                }
                let s = |points| LineSeries {
                    name: name.clone(),
                    colour: colour.clone(),
                    dash: dash.into(),
                    points,
                    dots: true,
                };
                time_series.push(s(time_pts));
                if !mbps_pts.is_empty() {
                    mbps_series.push(s(mbps_pts));
                }
            }
            let line =
                |kind: &'static str, title: String, y_label: &str, y_format: fn(f64) -> String, series| {
                    LineChart {
                        id: slug(&[kind, shape]),
                        kind,
                        title,
                        note: Some("whiskers: criterion 95% CI of the median".into()),
                        x_label: "payload size (target protobuf bytes, log scale)".into(),
                        y_label: y_label.into(),
                        x_log: true,
                        y_log: true,
                        x_ticks: Some(x_ticks.clone()),
                        x_range,
                        x_format: |v| format::bytes(v),
                        y_format,
                        series,
                    }
                };
            view.time_charts.extend(
                line(
                    "codec-time",
                    format!("Time per operation: {shape}"),
                    "time per operation (log scale)",
                    format::duration_ns,
                    time_series,
                )
                .build(),
            );
            view.mbps_charts.extend(
                line(
                    "codec-mbps",
                    format!("Throughput: {shape}"),
                    "MB/s (10⁶ bytes/s, log scale)",
                    |v| format!("{} MB/s", format::sig2(v)),
                    mbps_series,
                )
                .build(),
            );
        }

        // Table: one row per (shape, size, op).
        let mut rows: BTreeMap<((usize, String), u64, CodecOp), CodecRow> = BTreeMap::new();
        for b in codec {
            let BenchId::Codec {
                op,
                encoding,
                shape,
                size,
            } = b.id
            else {
                continue;
            };
            let (shape, size_label) = (shape.name(), size.to_string());
            let key = (shape_order(shape), size.bytes(), op);
            let row = rows.entry(key).or_insert_with(|| CodecRow {
                shape: shape.into(),
                size: size_label.clone(),
                op: op.name().into(),
                json: "—".into(),
                protobuf: "—".into(),
                speedup: "—".into(),
                json_mbps: "—".into(),
                protobuf_mbps: "—".into(),
            });
            let e = b.typical();
            let text = format!(
                "{} [{}–{}]",
                format::duration_ns(e.point_estimate),
                format::duration_ns(e.confidence_interval.lower_bound),
                format::duration_ns(e.confidence_interval.upper_bound)
            );
            let mbps = b
                .throughput_bytes
                .or_else(|| size_bytes_of(encoding, shape, &size_label))
                .map(|n| format::mb_per_s(n as f64 / e.point_estimate * 1e3))
                .unwrap_or_else(|| "—".into());
            match encoding {
                Encoding::Json => (row.json, row.json_mbps) = (text, mbps),
                Encoding::Protobuf => (row.protobuf, row.protobuf_mbps) = (text, mbps),
                // The table compares the claim's two encodings; the other JSON levels are in the
                // time and throughput charts.
                Encoding::Pbjson | Encoding::Sonic => {}
            }
        }
        for r in ratios {
            let op = if r.metric == Metric::Encode {
                CodecOp::Encode
            } else {
                CodecOp::Decode
            };
            let key = (shape_order(r.source.shape.name()), r.source.size_bytes(), op);
            if let Some(row) = rows.get_mut(&key) {
                row.speedup = r.text();
            }
        }
        view.codec_rows = rows.into_values().collect();

        // Encoded sizes.
        let mut by_shape_sizes: BTreeMap<(usize, String), Vec<&EncodedSize>> = BTreeMap::new();
        for r in &sizes {
            by_shape_sizes.entry(shape_order(&r.shape)).or_default().push(r);
        }
        for ((_, shape), mut rows) in by_shape_sizes {
            rows.sort_by_key(|r| r.target_size);
            type Pick = fn(&EncodedSize) -> Option<u64>;
            let columns: [(&str, Encoding, f64, Pick); 9] = [
                ("pbjson raw", Encoding::Pbjson, 1.0, |r| r.pbjson_bytes),
                ("pbjson gzip", Encoding::Pbjson, 0.6, |r| r.pbjson_gzip_bytes),
                ("pbjson zstd", Encoding::Pbjson, 0.35, |r| r.pbjson_zstd_bytes),
                ("json raw", Encoding::Json, 1.0, |r| Some(r.json_bytes)),
                ("json gzip", Encoding::Json, 0.6, |r| Some(r.json_gzip_bytes)),
                ("json zstd", Encoding::Json, 0.35, |r| Some(r.json_zstd_bytes)),
                ("protobuf raw", Encoding::Protobuf, 1.0, |r| {
                    Some(r.protobuf_bytes)
                }),
                ("protobuf gzip", Encoding::Protobuf, 0.6, |r| {
                    Some(r.protobuf_gzip_bytes)
                }),
                ("protobuf zstd", Encoding::Protobuf, 0.35, |r| {
                    Some(r.protobuf_zstd_bytes)
                }),
            ];
            let series = columns
                .iter()
                // Files written before pbjson was measured have no pbjson sizes.
                .filter(|(_, _, _, pick)| rows.iter().any(|r| pick(r).is_some()))
                .map(|(name, enc, opacity, pick)| BarSeries {
                    name: (*name).into(),
                    colour: encoding_colour(*enc).into(),
                    opacity: *opacity,
                    values: rows
                        .iter()
                        .map(|r| {
                            pick(r).map(|v| BarValue {
                                value: v as f64,
                                range: None,
                                title: format!("{name} {shape} {}: {v} bytes", r.size_label),
                            })
                        })
                        .collect(),
                })
                .collect();
            view.size_charts.extend(
                BarChart {
                    id: slug(&["encoded-size", &shape]),
                    kind: "encoded-size",
                    title: format!("Encoded size: {shape}"),
                    note: None,
                    x_label: "payload (target protobuf size)".into(),
                    y_label: "encoded bytes (log scale, kB = 1000 B)".into(),
                    categories: rows.iter().map(|r| r.size_label.clone()).collect(),
                    series,
                    y_log: Some(true),
                    y_format: format::bytes_si,
                    ref_lines: vec![],
                }
                .build(),
            );
            let opt = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
            for r in rows {
                view.size_rows.push(vec![
                    shape.clone(),
                    r.size_label.clone(),
                    opt(r.pbjson_bytes),
                    r.json_bytes.to_string(),
                    r.protobuf_bytes.to_string(),
                    format::ratio(r.json_bytes as f64 / r.protobuf_bytes.max(1) as f64),
                    r.json_gzip_bytes.to_string(),
                    r.protobuf_gzip_bytes.to_string(),
                    r.json_zstd_bytes.to_string(),
                    r.protobuf_zstd_bytes.to_string(),
                    opt(r.pbjson_gzip_bytes),
                    opt(r.pbjson_zstd_bytes),
                ]);
            }
        }
    }

    fn latency(&mut self, points: &[PointResult]) {
        let view = &mut self.page.latency;
        let usable: Vec<&PointResult> = points.iter().filter(|p| evidence::is_usable(p)).collect();
        if usable.is_empty() {
            view.empty = Some("No load results: latency was not measured.".into());
            return;
        }
        type ByVariant<'a> = BTreeMap<VariantOrder, Vec<&'a PointResult>>;
        let mut groups: BTreeMap<WorkloadOrder, BTreeMap<LoadKey, ByVariant<'_>>> = BTreeMap::new();
        let mut sweeps: BTreeMap<WorkloadOrder, ByVariant<'_>> = BTreeMap::new();
        for p in &usable {
            let w = WorkloadKey::of(p);
            let v = variant_order(p.variant.name());
            match LoadKey::of(&p.point) {
                Some(load) => groups
                    .entry(workload_sort_key(&w))
                    .or_default()
                    .entry(load)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .push(p),
                None => sweeps
                    .entry(workload_sort_key(&w))
                    .or_default()
                    .entry(v)
                    .or_default()
                    .push(p),
            }
        }
        for ((rpc, (_, shape), size), loads) in &groups {
            let wl = format!("{} {shape} {}", rpc, Size(*size));
            // Fixed rates first (what the ratios use), then the closed-loop point.
            let mut loads: Vec<(&LoadKey, &ByVariant<'_>)> = loads.iter().collect();
            loads.sort_by_key(|(k, _)| match k {
                LoadKey::Fixed(r) => (0, *r),
                LoadKey::Max => (1, 0),
            });
            let mut group = ChartGroup {
                title: wl.clone(),
                charts: vec![],
            };
            for (load, by_variant) in loads {
                let load_text = load.load_point().describe();
                for corrected in [true, false] {
                    if corrected && *load == LoadKey::Max {
                        continue;
                    }
                    let mut series = Vec::new();
                    for ((_, variant), pts) in by_variant {
                        match merged_histogram(pts, corrected) {
                            Ok(Some(h)) => series.push(spectrum_series(variant, &h)),
                            Ok(None) => {}
                            Err(e) => view.notes.push(format!("{variant} {wl} {load_text}: {e}")),
                        }
                    }
                    let (which, title) = match (corrected, load) {
                        (true, _) => (
                            "corrected",
                            "corrected for coordinated omission (from intended send time)",
                        ),
                        (false, LoadKey::Max) => (
                            "uncorrected",
                            "service time (closed loop: no schedule to correct against)",
                        ),
                        (false, _) => ("uncorrected", "uncorrected service time (from actual send time)"),
                    };
                    let chart = spectrum_chart(
                        slug(&["spectrum", &wl, &load_text, which]),
                        format!("{wl}, {load_text}: {title}"),
                        series,
                    );
                    group.charts.extend(chart);
                }
            }
            if !group.charts.is_empty() {
                view.groups.push(group);
            }
        }
        for ((rpc, (_, shape), size), by_variant) in &sweeps {
            let wl = format!("{} {shape} {}", rpc, Size(*size));
            for pct in [Percentile::P50, Percentile::P99] {
                let series: Vec<LineSeries> = by_variant
                    .iter()
                    .map(|((_, variant), pts)| {
                        let mut pts: Vec<&&PointResult> = pts.iter().collect();
                        pts.sort_by(|a, b| {
                            a.load
                                .summary
                                .achieved_rps
                                .total_cmp(&b.load.summary.achieved_rps)
                        });
                        let points = pts
                            .iter()
                            .filter_map(|p| {
                                let s = &p.load.summary;
                                let lat = s
                                    .latency_corrected
                                    .as_ref()
                                    .unwrap_or(&s.latency_service)
                                    .get(pct)?;
                                let fraction = match p.point {
                                    PointKind::Sweep { fraction, .. } => {
                                        format!(" ({}% of its max)", format::sig3(fraction * 100.0))
                                    }
                                    _ => String::new(),
                                };
                                Some(XY {
                                    x: s.achieved_rps,
                                    y: lat as f64,
                                    y_range: None,
                                    title: format!(
                                        "{variant} at {}{fraction}: {} {}",
                                        format::rate(s.achieved_rps),
                                        pct.label(),
                                        format::duration_ns(lat as f64)
                                    ),
                                })
                            })
                            .collect();
                        LineSeries {
                            name: variant.clone(),
                            colour: variant_colour(variant).into(),
                            dash: String::new(),
                            points,
                            dots: true,
                        }
                    })
                    .collect();
                let chart = LineChart {
                    id: slug(&["latency-throughput", &wl, pct.label()]),
                    kind: "latency-throughput",
                    title: format!("{wl}: {} latency vs throughput (sweep)", pct.label()),
                    note: Some(
                        "corrected latency; each variant swept at fractions of its own maximum".into(),
                    ),
                    x_label: "achieved throughput (requests/s)".into(),
                    y_label: format!("{} latency (log scale)", pct.label()),
                    x_log: false,
                    y_log: true,
                    x_ticks: None,
                    x_range: None,
                    x_format: |v| format::rate(v).replace(" req/s", ""),
                    y_format: format::duration_ns,
                    series,
                };
                view.sweeps.extend(chart.build());
            }
        }
    }

    fn resources(&mut self, points: &[PointResult], round_trips: &[&Bench]) {
        let view = &mut self.page.resources;
        if points.is_empty() && round_trips.is_empty() {
            view.empty =
                Some("No load results: throughput, CPU and bytes per request were not measured.".into());
            return;
        }
        let idx = evidence::index_points(points);
        // Per (workload, variant): the closed-loop points, else the lowest fixed rate.
        let mut chosen: BTreeMap<WorkloadOrder, BTreeMap<VariantOrder, Vec<&PointResult>>> = BTreeMap::new();
        let mut any_fixed_fallback = false;
        for ((variant, w, load), pts) in &idx {
            let slot = chosen
                .entry(workload_sort_key(w))
                .or_default()
                .entry(variant_order(variant.name()))
                .or_default();
            let current = slot.first().and_then(|p| LoadKey::of(&p.point));
            let better = match (current, load) {
                (None, _) => true,
                (Some(LoadKey::Max), _) => false,
                (Some(_), LoadKey::Max) => true,
                (Some(c), l) => *l < c,
            };
            if better {
                *slot = pts.clone();
            }
        }
        let workloads: Vec<_> = chosen.keys().cloned().collect();
        let mut variants: BTreeSet<(usize, String)> = BTreeSet::new();
        for by_v in chosen.values() {
            variants.extend(by_v.keys().cloned());
            any_fixed_fallback |= by_v
                .values()
                .any(|p| p.first().is_some_and(|p| p.point != PointKind::MaxThroughput));
        }
        if any_fixed_fallback {
            view.note = Some(
                "Workloads without a closed-loop point show their lowest fixed-rate point instead.".into(),
            );
        }
        let categories: Vec<String> = workloads
            .iter()
            .map(|(rpc, (_, shape), size)| format!("{}\n{shape} {}", rpc, Size(*size)))
            .collect();
        type Metrics = [(
            Metric,
            &'static str,
            &'static str,
            &'static str,
            fn(f64) -> String,
        ); 4];
        let metrics: Metrics = [
            (
                Metric::MaxThroughput,
                "throughput",
                "Maximum throughput (closed loop)",
                "requests/s",
                format::rate_short,
            ),
            (
                Metric::ServerCpu,
                "server-cpu",
                "Server CPU per request",
                "server CPU time per request",
                format::duration_ns,
            ),
            (
                Metric::ClientCpu,
                "client-cpu",
                "Client CPU per request",
                "client CPU time per request",
                format::duration_ns,
            ),
            (
                Metric::WireBytes,
                "wire-bytes",
                "Bytes on the wire per request (request + response)",
                "bytes per request (kB = 1000 B)",
                format::bytes_si,
            ),
        ];
        for (metric, kind, title, y_label, y_format) in metrics {
            let series: Vec<BarSeries> = variants
                .iter()
                .map(|(_, variant)| {
                    let values = workloads
                        .iter()
                        .map(|w| {
                            let pts = chosen.get(w)?.get(&variant_order(variant))?;
                            if metric == Metric::MaxThroughput
                                && pts.first()?.point != PointKind::MaxThroughput
                            {
                                return None;
                            }
                            let vals: Vec<f64> = pts
                                .iter()
                                .filter_map(|p| evidence::point_value(p, metric))
                                .collect();
                            let (med, lo, hi) = crate::stats::median_min_max(vals.iter().copied())?;
                            let wl = WorkloadKey::of(pts[0]).label();
                            let mut title = format!("{variant} {wl}: {}", y_format(med));
                            if vals.len() > 1 {
                                title.push_str(&format!(
                                    " (min {} – max {}, {} reps)",
                                    y_format(lo),
                                    y_format(hi),
                                    vals.len()
                                ));
                            }
                            if metric == Metric::WireBytes
                                && let Some(w) = &pts[0].load.summary.wire
                            {
                                title.push_str(&format!(
                                    "; request {} + response {}",
                                    format::bytes(w.request_bytes_per_request),
                                    format::bytes(w.response_bytes_per_request)
                                ));
                            }
                            Some(BarValue {
                                value: med,
                                range: (vals.len() > 1).then_some((lo, hi)),
                                title,
                            })
                        })
                        .collect();
                    BarSeries {
                        name: variant.clone(),
                        colour: variant_colour(variant).into(),
                        opacity: 1.0,
                        values,
                    }
                })
                .collect();
            view.charts.extend(
                BarChart {
                    id: slug(&[kind]),
                    kind,
                    title: title.into(),
                    note: Some("median over repetitions; whiskers: min–max".into()),
                    x_label: "workload".into(),
                    y_label: y_label.into(),
                    categories: categories.clone(),
                    series,
                    y_log: None,
                    y_format,
                    ref_lines: vec![],
                }
                .build(),
            );
        }
        if !round_trips.is_empty() {
            view.charts.extend(round_trip_chart(round_trips));
        }

        let mut sorted: Vec<&PointResult> = points.iter().collect();
        sorted.sort_by(|a, b| {
            let key = |p: &PointResult| {
                (
                    workload_sort_key(&WorkloadKey::of(p)),
                    point_order(&p.point),
                    variant_order(p.variant.name()),
                    p.repetition,
                )
            };
            key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal)
        });
        view.rows = sorted.into_iter().map(load_row).collect();
    }

    fn method(&mut self, inputs: &Inputs) {
        let m = &mut self.page.method;
        m.inputs
            .push(("output directory".into(), inputs.out_dir.display().to_string()));
        m.inputs.push((
            "results.json".into(),
            inputs
                .results_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "missing".into()),
        ));
        m.inputs.push((
            "criterion directory".into(),
            inputs
                .criterion
                .as_ref()
                .map(|c| c.dir.display().to_string())
                .unwrap_or_else(|| "missing".into()),
        ));
        if let Some(c) = &inputs.criterion {
            m.inputs
                .push(("criterion benchmarks used".into(), c.benches.len().to_string()));
            m.criterion_report = c.report_index.as_ref().map(|p| Link {
                href: relative_href(&inputs.out_dir, p),
                label: "criterion's own report".into(),
                exists: true,
            });
            m.criterion_problems = c.problems.clone();
        }
        if let Some(run) = &inputs.run {
            self.page.title = format!("rpcbench report: {}", run.scenario_name);
            self.page.subtitle = format!(
                "scenario {} · {} · {} points{}",
                run.scenario_name,
                run.provenance.started_at,
                run.points.len(),
                if run.complete { "" } else { " · INCOMPLETE RUN" }
            );
            let p = &run.provenance;
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
            let cpus = |v: &Option<Vec<usize>>| match v {
                Some(c) => c.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
                None => "not pinned".into(),
            };
            m.provenance = vec![
                ("scenario".into(), run.scenario_name.clone()),
                ("complete".into(), run.complete.to_string()),
                ("rpcbench".into(), p.rpcbench_version.clone()),
                (
                    "git commit".into(),
                    format!(
                        "{}{}",
                        opt(&p.git_commit),
                        if p.git_dirty == Some(true) { " (dirty)" } else { "" }
                    ),
                ),
                ("rustc".into(), opt(&p.rustc)),
                ("build profile".into(), p.build_profile.clone()),
                (
                    "SIMD target features (sonic-rs)".into(),
                    if p.compiled_target_features.is_empty() && p.cpu_target_features.is_empty() {
                        "unknown".into()
                    } else {
                        format!(
                            "compiled in: {}; CPU has: {}",
                            p.compiled_target_features.join(", "),
                            p.cpu_target_features.join(", ")
                        )
                    },
                ),
                ("CPU".into(), opt(&p.cpu_model)),
                ("cores".into(), p.cores.to_string()),
                ("kernel".into(), opt(&p.kernel)),
                ("host".into(), opt(&p.hostname)),
                ("server CPUs (pinning)".into(), cpus(&p.server_cpus)),
                ("load generator CPUs (pinning)".into(), cpus(&p.client_cpus)),
                ("command".into(), p.command.join(" ")),
                ("started".into(), p.started_at.clone()),
                ("finished".into(), opt(&p.finished_at)),
            ];
            m.settings_json = serde_json::to_string_pretty(&run.server_settings).ok();
            m.scenario_json = serde_json::to_string_pretty(&run.scenario).ok();
            if let Some(floor) = &run.floor {
                let s = &floor.tcp_ping_pong;
                m.floor = Percentile::ALL
                    .iter()
                    .filter_map(|p| {
                        s.get(*p)
                            .map(|v| (p.label().to_string(), format::duration_ns(v as f64)))
                    })
                    .collect();
                m.floor.push(("round trips".into(), s.count.to_string()));
            }
            m.errors = run.errors.clone();
            m.hgrm = run
                .points
                .iter()
                .filter_map(|p| {
                    let file = p.hgrm_file.as_ref()?;
                    Some(hgrm_link(&inputs.out_dir, file, &p.id))
                })
                .collect();
        } else {
            self.page.title = "rpcbench report (serialization only)".into();
            self.page.subtitle = "no results.json: criterion results only".into();
        }
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, ReportError> {
        let p = &self.page;
        let mut ids: Vec<String> = Vec::new();
        ids.extend(p.verdict.chart.iter().map(|c| c.id.clone()));
        ids.extend(p.effects.charts.iter().map(|c| c.id.clone()));
        for list in [
            &p.serialization.time_charts,
            &p.serialization.mbps_charts,
            &p.serialization.size_charts,
        ] {
            ids.extend(list.iter().map(|c| c.id.clone()));
        }
        ids.extend(
            p.latency
                .groups
                .iter()
                .flat_map(|g| g.charts.iter().map(|c| c.id.clone())),
        );
        ids.extend(p.latency.sweeps.iter().map(|c| c.id.clone()));
        ids.extend(p.resources.charts.iter().map(|c| c.id.clone()));
        self.page.chart_ids = ids;

        let mut env = minijinja::Environment::new();
        let tpl = |name: &'static str, source: minijinja::Error| ReportError::Template { name, source };
        env.add_template("chart.html", CHART_TEMPLATE)
            .map_err(|e| tpl("chart.html", e))?;
        env.add_template("style.css", STYLE)
            .map_err(|e| tpl("style.css", e))?;
        env.add_template("script.js", SCRIPT)
            .map_err(|e| tpl("script.js", e))?;
        env.add_template("index.html", INDEX_TEMPLATE)
            .map_err(|e| tpl("index.html", e))?;
        let html = env
            .get_template("index.html")
            .and_then(|t| t.render(minijinja::value::Serde(&self.page)))
            .map_err(|e| tpl("index.html", e))?;
        let external = external_references(&html);
        if !external.is_empty() {
            return Err(ReportError::ExternalResource(external));
        }
        Ok(html.into_bytes())
    }
}

fn point_order(k: &PointKind) -> (u8, f64) {
    match k {
        PointKind::MaxThroughput => (0, 0.0),
        PointKind::FixedRate { rate_rps } => (1, *rate_rps),
        PointKind::Sweep { rate_rps, .. } => (2, *rate_rps),
    }
}

fn ratio_workload(r: &Ratio) -> WorkloadKey {
    WorkloadKey {
        rpc: r.source.rpc.unwrap_or(Rpc::Echo),
        shape: r.source.shape,
        size: r.source.size_label.parse::<Size>().map_or(0, Size::bytes),
    }
}

fn load_rate(r: &Ratio) -> f64 {
    match r.source.load {
        Some(LoadPoint::FixedRate { rate_rps }) => rate_rps,
        _ => 0.0,
    }
}

/// One table per workload: rows are effects, columns are (metric, load).
fn effect_tables(effects: &[EffectRatios]) -> Vec<EffectTable> {
    let mut by_workload: BTreeMap<WorkloadOrder, Vec<(&EffectRatios, &Ratio)>> = BTreeMap::new();
    for e in effects {
        for r in &e.ratios {
            by_workload
                .entry(workload_sort_key(&ratio_workload(r)))
                .or_default()
                .push((e, r));
        }
    }
    let column_of = |r: &Ratio| -> (Metric, u64, String) {
        let load = match r.source.load {
            Some(LoadPoint::FixedRate { rate_rps }) => format!(" at {}", format::rate(rate_rps)),
            _ => String::new(),
        };
        (
            r.metric,
            (load_rate(r) * 1000.0) as u64,
            format!("{}{load}", r.metric.short_label()),
        )
    };
    by_workload
        .into_iter()
        .map(|((rpc, (_, shape), size), list)| {
            let columns: BTreeSet<(Metric, u64, String)> = list.iter().map(|(_, r)| column_of(r)).collect();
            let columns: Vec<(Metric, u64, String)> = columns.into_iter().collect();
            let rows = effects
                .iter()
                .filter(|e| list.iter().any(|(le, _)| le.effect == e.effect))
                .map(|e| EffectRow {
                    name: e.effect.name.clone(),
                    pair: format!("{} → {}", e.effect.baseline, e.effect.candidate),
                    cells: columns
                        .iter()
                        .map(|col| {
                            match list
                                .iter()
                                .find(|(le, r)| le.effect == e.effect && column_of(r) == *col)
                            {
                                Some((_, r)) => Cell {
                                    text: r.compact_text(),
                                    title: r.text_with_source(),
                                },
                                None => Cell {
                                    text: "—".into(),
                                    title: "not measured".into(),
                                },
                            }
                        })
                        .collect(),
                })
                .collect();
            // total = the product of its chain (encoding × transport × framework), per column where
            // every step exists.
            let chains = columns
                .iter()
                .filter_map(|col| {
                    let get = |effect: &Effect| {
                        list.iter()
                            .find(|(le, r)| le.effect == *effect && column_of(r) == *col)
                            .map(|(_, r)| r.value)
                    };
                    let total = get(&Effect::total())?;
                    let steps = Effect::chain()
                        .iter()
                        .map(|e| Some(format!("{} {}", e.factor, format::ratio(get(e)?))))
                        .collect::<Option<Vec<String>>>()?;
                    Some(format!(
                        "{}: total {} = {}",
                        col.2,
                        format::ratio(total),
                        steps.join(" × ")
                    ))
                })
                .collect();
            EffectTable {
                title: format!("{} {shape} {}", rpc, Size(size)),
                columns: columns.into_iter().map(|c| c.2).collect(),
                rows,
                chains,
            }
        })
        .collect()
}

/// Draws a spectrum: tooltips on the labelled percentiles and the maximum.
fn spectrum_series(variant: &str, h: &Histogram<u64>) -> LineSeries {
    let spectrum = Spectrum::of(h);
    let mut points: Vec<XY> = spectrum
        .points
        .iter()
        .map(|p| XY {
            x: p.x,
            y: p.latency_ns,
            y_range: None,
            title: p.labelled.map_or_else(String::new, |(q, v)| {
                format!(
                    "{variant}: p{} = {}",
                    format::sig3(q * 100.0).trim_end_matches(".0"),
                    format::duration_ns(v)
                )
            }),
        })
        .collect();
    points.push(XY {
        x: spectrum.x_max,
        y: spectrum.max_ns,
        y_range: None,
        title: format!(
            "{variant}: max = {} ({} requests)",
            format::duration_ns(spectrum.max_ns),
            spectrum.count
        ),
    });
    LineSeries {
        name: variant.into(),
        colour: variant_colour(variant).into(),
        dash: String::new(),
        points,
        dots: false,
    }
}

fn spectrum_chart(id: String, title: String, series: Vec<LineSeries>) -> Option<ChartView> {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .fold(1e4, f64::max);
    let x_max = 10f64.powf(x_max.log10().ceil());
    let ticks = [
        (1.0, "0%"),
        (10.0, "90%"),
        (100.0, "99%"),
        (1e3, "99.9%"),
        (1e4, "99.99%"),
        (1e5, "99.999%"),
        (1e6, "99.9999%"),
    ]
    .into_iter()
    .filter(|(x, _)| *x <= x_max)
    .map(|(x, l)| (x, l.to_string()))
    .collect();
    LineChart {
        id,
        kind: "spectrum",
        title,
        note: Some("repetitions merged; hover a line for exact percentiles".into()),
        x_label: "percentile (x = 1/(1−p), log scale)".into(),
        y_label: "latency (log scale)".into(),
        x_log: true,
        y_log: true,
        x_ticks: Some(ticks),
        x_range: Some((1.0, x_max)),
        x_format: |v| v.to_string(),
        y_format: format::duration_ns,
        series,
    }
    .build()
}

fn round_trip_chart(benches: &[&Bench]) -> Option<ChartView> {
    let mut workloads: BTreeSet<(Rpc, (usize, String), u64, String)> = BTreeSet::new();
    let mut variants: BTreeSet<(usize, String)> = BTreeSet::new();
    for b in benches {
        if let BenchId::RoundTrip {
            variant,
            rpc,
            shape,
            size,
        } = b.id
        {
            workloads.insert((rpc, shape_order(shape.name()), size.bytes(), size.to_string()));
            variants.insert(variant_order(variant.name()));
        }
    }
    let workloads: Vec<_> = workloads.into_iter().collect();
    let series = variants
        .iter()
        .map(|(_, variant)| BarSeries {
            name: variant.clone(),
            colour: variant_colour(variant).into(),
            opacity: 1.0,
            values: workloads
                .iter()
                .map(|(rpc, (_, shape), bytes, _)| {
                    let b = benches.iter().find(|b| {
                        matches!(b.id, BenchId::RoundTrip { variant: v, rpc: r, shape: s, size }
                            if v.name() == variant && r == *rpc && s.name() == shape
                                && size.bytes() == *bytes)
                    })?;
                    let e = b.typical();
                    let ci = &e.confidence_interval;
                    Some(BarValue {
                        value: e.point_estimate,
                        range: Some((ci.lower_bound, ci.upper_bound)),
                        title: format!(
                            "{}: {} [{}–{}, 95% CI]",
                            b.full_id,
                            format::duration_ns(e.point_estimate),
                            format::duration_ns(ci.lower_bound),
                            format::duration_ns(ci.upper_bound)
                        ),
                    })
                })
                .collect(),
        })
        .collect();
    BarChart {
        id: "round-trip".into(),
        kind: "round-trip",
        title: "Round trip, one request at a time (criterion)".into(),
        note: Some("whiskers: criterion 95% CI of the median".into()),
        x_label: "workload".into(),
        y_label: "round-trip time".into(),
        categories: workloads
            .iter()
            .map(|(rpc, (_, shape), _, l)| format!("{rpc}\n{shape} {l}"))
            .collect(),
        series,
        y_log: None,
        y_format: format::duration_ns,
        ref_lines: vec![],
    }
    .build()
}

fn load_row(p: &PointResult) -> LoadRow {
    let s = &p.load.summary;
    let dash = || "—".to_string();
    let lat = |stats: Option<&crate::schema::LatencyStats>, pct| {
        stats
            .and_then(|s| s.get(pct))
            .map(|v| format::duration_ns(v as f64))
            .unwrap_or_else(dash)
    };
    let errors: u64 = s.errors.values().sum();
    LoadRow {
        variant: p.variant.to_string(),
        colour: variant_colour(p.variant.name()).into(),
        workload: WorkloadKey::of(p).label(),
        load: match &p.point {
            PointKind::MaxThroughput => "closed loop".into(),
            PointKind::FixedRate { rate_rps } => format::rate(*rate_rps),
            PointKind::Sweep { fraction, rate_rps } => {
                format!(
                    "sweep {}% ({})",
                    format::sig3(fraction * 100.0),
                    format::rate(*rate_rps)
                )
            }
        },
        rep: p.repetition,
        achieved: format::rate(s.achieved_rps),
        p50: lat(s.latency_corrected.as_ref(), Percentile::P50),
        p99: lat(s.latency_corrected.as_ref(), Percentile::P99),
        p999: lat(s.latency_corrected.as_ref(), Percentile::P999),
        service_p50: lat(Some(&s.latency_service), Percentile::P50),
        service_p99: lat(Some(&s.latency_service), Percentile::P99),
        server_cpu: p
            .server
            .cpu_ns_per_request
            .map(format::duration_ns)
            .unwrap_or_else(dash),
        client_cpu: s
            .client_cpu_ns_per_request
            .map(format::duration_ns)
            .unwrap_or_else(dash),
        bound: {
            let util = |u: Option<f64>| u.map_or(String::new(), |u| format!("{:.0}%", u * 100.0));
            let (su, cu) = (p.server.cpu_utilization, s.client_cpu_utilization);
            let side = match (su.is_some_and(|u| u >= 0.9), cu.is_some_and(|u| u >= 0.9)) {
                (true, true) => "both ",
                (true, false) => "server ",
                (false, true) => "client ",
                (false, false) => "",
            };
            format!("{side}(server {}, client {})", util(su), util(cu))
        },
        request_bytes: s
            .wire
            .as_ref()
            .map(|w| format::bytes(w.request_bytes_per_request))
            .unwrap_or_else(dash),
        response_bytes: s
            .wire
            .as_ref()
            .map(|w| format::bytes(w.response_bytes_per_request))
            .unwrap_or_else(dash),
        rss: p
            .server
            .peak_rss_bytes
            .map(|b| format::bytes(b as f64))
            .unwrap_or_else(dash),
        errors: if errors == 0 {
            "0".into()
        } else {
            s.errors
                .iter()
                .map(|(k, v)| format!("{k:?}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        status: match (&p.error, s.complete) {
            (Some(e), _) => format!("failed: {e}"),
            (None, false) => format!(
                "incomplete: {}",
                s.incomplete_reason.as_deref().unwrap_or("unknown")
            ),
            (None, true) => match crate::evidence::invalid_reason(p) {
                Some(reason) => format!("invalid, left out of every ratio: {reason}"),
                None => "ok".into(),
            },
        } + &match s.missed_slots {
            Some(n) if n > 0 => format!("; {n} scheduled slot(s) missed"),
            _ => String::new(),
        },
        hgrm: p.hgrm_file.as_ref().map(|f| Link {
            href: safe_relative(f),
            label: ".hgrm".into(),
            exists: true,
        }),
    }
}

fn hgrm_link(out_dir: &Path, file: &str, id: &str) -> Link {
    Link {
        href: safe_relative(file),
        label: id.into(),
        exists: out_dir.join(file).is_file(),
    }
}

/// A relative link from the data, percent-encoded; anything with a scheme or an absolute path
/// is neutralised so the report never links outside itself by accident.
fn safe_relative(file: &str) -> String {
    let trimmed = file.trim_start_matches('/');
    let has_scheme = trimmed.split('/').next().is_some_and(|first| first.contains(':'));
    let cleaned = if has_scheme {
        trimmed.replace(':', "_")
    } else {
        trimmed.to_string()
    };
    percent_encode(&cleaned)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `target` relative to `from_dir`, as a URL path (both made absolute first).
fn relative_href(from_dir: &Path, target: &Path) -> String {
    let abs = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or(p.into()))
    };
    let (from, to) = (abs(from_dir), abs(target));
    let from: Vec<_> = from.components().collect();
    let to_c: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), from.len() - common).collect();
    parts.extend(
        to_c[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    percent_encode(&parts.join("/"))
}

/// Every resource or link in `html` that points outside the file: `src`, `href`, `action`,
/// `poster`, `xlink:href` attribute values with a scheme or a leading `//`, and CSS `url(...)`
/// or `@import` that are not fragments. Used as a self-check and by the tests.
pub fn external_references(html: &str) -> Vec<String> {
    let decoded = html
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&#58;", ":")
        .replace("&#x3a;", ":")
        .replace("&colon;", ":");
    let lower = decoded.to_ascii_lowercase();
    let mut found = Vec::new();
    for attr in ["src=", "href=", "action=", "poster=", "xlink:href=", "srcset="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(attr) {
            let start = from + i + attr.len();
            let rest = &lower[start..];
            let value: String = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].chars().take_while(|c| *c != q).collect(),
                _ => rest
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>')
                    .collect(),
            };
            let v = value.trim();
            let scheme = v.split(['/', '?', '#']).next().is_some_and(|f| f.contains(':'));
            if scheme || v.starts_with("//") {
                found.push(format!("{attr}{v}"));
            }
            from = start;
        }
    }
    for pat in ["url(", "@import"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(pat) {
            let start = from + i + pat.len();
            let v: String = lower[start..].chars().take(80).collect();
            let v = v.trim_start_matches([' ', '"', '\'']);
            if !v.starts_with('#') {
                found.push(format!("{pat}{v}"));
            }
            from = start;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_external_references() {
        assert!(external_references(r##"<a href="#verdict">x</a><a href="hgrm/a.hgrm">y</a>"##).is_empty());
        assert_eq!(external_references(r#"<img src="https://cdn/x.png">"#).len(), 1);
        assert_eq!(
            external_references(r#"<script src=//cdn/x.js></script>"#).len(),
            1
        );
        assert_eq!(external_references(r#"<a href="http:&#x2f;&#x2f;x">"#).len(), 1);
        assert_eq!(
            external_references("<style>@import 'x.css'; a{background:url(http://x)}</style>").len(),
            2
        );
    }

    #[test]
    fn links_stay_relative() {
        assert_eq!(safe_relative("hgrm/a b.hgrm"), "hgrm/a%20b.hgrm");
        assert_eq!(safe_relative("https://evil/x"), "https_//evil/x");
        assert_eq!(
            relative_href(Path::new("/a/b/run"), Path::new("/a/c/report/index.html")),
            "../../c/report/index.html"
        );
    }
}
