//! Chart geometry: turns series of numbers into a [`ChartView`] of SVG primitives in pixel
//! coordinates, which `templates/chart.html` draws. Scales, ticks and layout are computed here
//! so the template stays dumb and every string in it is escaped by the template engine.
//!
//! Two builders cover every chart of the report: [`LineChart`] (numeric x, optionally log, with
//! optional error whiskers) and [`BarChart`] (categories × series, grouped bars).

use rpcbench_model::{Encoding, Variant};
use serde::Serialize;

use crate::format::trim_zeros;

/// One consistent colour per variant across every chart; names that are no variant get a spare
/// colour.
pub fn variant_colour(variant: &str) -> &'static str {
    match variant.parse::<Variant>() {
        Ok(v) => colour_of(v),
        Err(_) => {
            const SPARE: [&str; 4] = ["#17becf", "#e377c2", "#393b79", "#ad494a"];
            SPARE[variant.bytes().map(|b| b as usize).sum::<usize>() % SPARE.len()]
        }
    }
}

fn colour_of(variant: Variant) -> &'static str {
    match variant {
        Variant::RestJsonH1 => "#d62728",
        Variant::GrpcProtoH2 => "#1f77b4",
        Variant::RestJsonH2 => "#ff7f0e",
        Variant::RestProtoH1 => "#2ca02c",
        Variant::RestProtoH2 => "#9467bd",
        Variant::GrpcJsonH2 => "#8c564b",
        // The JSON library's variants share their encoding's colour.
        Variant::RestPbjsonH1 => encoding_colour(Encoding::Pbjson),
        Variant::RestSonicH1 => encoding_colour(Encoding::Sonic),
    }
}

/// Encodings share the colour of the claim's variant that uses them.
pub fn encoding_colour(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Json => colour_of(Variant::CLAIM_REST),
        Encoding::Protobuf => colour_of(Variant::CLAIM_GRPC),
        Encoding::Pbjson => "#bcbd22",
        Encoding::Sonic => "#7f7f7f",
    }
}

/// Colours for things that are not variants (effects, headline bars), disjoint from the above.
pub const NEUTRAL: [&str; 4] = ["#17becf", "#e377c2", "#393b79", "#ad494a"];

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 300.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_RIGHT: f64 = 30.0;
const MARGIN_TOP: f64 = 14.0;
const MARGIN_BOTTOM: f64 = 46.0;

/// A positioned tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathView {
    pub d: String,
    pub colour: String,
    pub dash: String,
    pub series: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DotView {
    pub x: f64,
    pub y: f64,
    pub colour: String,
    pub series: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BarView {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub colour: String,
    pub opacity: f64,
    pub series: String,
    pub title: String,
    /// Value label above the bar, when there is room.
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentView {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub colour: String,
    pub series: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefLineView {
    pub y: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryLabel {
    pub x: f64,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegendItem {
    pub label: String,
    /// Drawn as a line sample (line charts) rather than a block (bar charts).
    pub line: bool,
    pub colour: String,
    pub dash: String,
    pub opacity: f64,
    pub series: String,
}

/// Everything the chart template draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartView {
    /// Unique within the page; `data-chart` attribute.
    pub id: String,
    /// `data-chart-kind` attribute: what the headless check looks for.
    pub kind: String,
    pub title: String,
    pub note: Option<String>,
    pub width: f64,
    pub height: f64,
    pub plot_x: f64,
    pub plot_y: f64,
    pub plot_w: f64,
    pub plot_h: f64,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub paths: Vec<PathView>,
    pub dots: Vec<DotView>,
    pub bars: Vec<BarView>,
    pub whiskers: Vec<SegmentView>,
    pub ref_lines: Vec<RefLineView>,
    pub categories: Vec<CategoryLabel>,
    pub legend: Vec<LegendItem>,
    /// Number of data marks (dots + bars); a chart with none is not rendered.
    pub marks: usize,
}

impl ChartView {
    fn empty(
        id: String,
        kind: &str,
        title: String,
        x_label: String,
        y_label: String,
        height: f64,
    ) -> ChartView {
        ChartView {
            id,
            kind: kind.into(),
            title,
            note: None,
            width: WIDTH,
            height,
            plot_x: MARGIN_LEFT,
            plot_y: MARGIN_TOP,
            plot_w: WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
            plot_h: height - MARGIN_TOP - MARGIN_BOTTOM,
            x_label,
            y_label,
            x_ticks: vec![],
            y_ticks: vec![],
            paths: vec![],
            dots: vec![],
            bars: vec![],
            whiskers: vec![],
            ref_lines: vec![],
            categories: vec![],
            legend: vec![],
            marks: 0,
        }
    }
}

/// A numeric axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear { min: f64, max: f64 },
    Log { min: f64, max: f64 },
}

impl Scale {
    /// A log scale over whole decades that contains every positive value; `None` if none is.
    /// Narrow ranges (two decades or less) round to 1-2-5 steps instead, so a few bars
    /// between 1.5x and 10x do not sit in a mostly empty 1x–100x plot.
    pub fn log_of(values: impl IntoIterator<Item = f64>) -> Option<Scale> {
        let (lo, hi) = min_max(values.into_iter().filter(|v| *v > 0.0 && v.is_finite()))?;
        let mut min = 10f64.powf(lo.log10().floor());
        let mut max = 10f64.powf(hi.log10().ceil());
        if max <= min * 1.0001 {
            min /= 10.0;
            max *= 10.0;
        }
        if max / min <= 100.0 * 1.0001 {
            let steps = |v: f64| {
                let d = 10f64.powf(v.log10().floor());
                [d, 2.0 * d, 5.0 * d, 10.0 * d]
            };
            min = steps(lo)
                .into_iter()
                .filter(|s| *s <= lo * 1.0001)
                .fold(min, f64::max);
            max = steps(hi).into_iter().find(|s| *s >= hi * 0.9999).unwrap_or(max);
            if max <= min * 1.0001 {
                max = min * 2.0;
            }
        }
        Some(Scale::Log { min, max })
    }

    /// A linear scale from zero (or the minimum, if negative) to a nice maximum.
    pub fn linear_of(values: impl IntoIterator<Item = f64>) -> Option<Scale> {
        let (lo, hi) = min_max(values.into_iter().filter(|v| v.is_finite()))?;
        let min = lo.min(0.0);
        let step = nice_step((hi - min).max(f64::MIN_POSITIVE) / 5.0);
        let max = (hi / step).ceil() * step;
        Some(Scale::Linear {
            min,
            max: if max > min { max } else { min + step },
        })
    }

    /// Position of `v` in `0..=1` along the axis (clamped).
    pub fn frac(self, v: f64) -> f64 {
        let f = match self {
            Scale::Linear { min, max } => (v - min) / (max - min),
            Scale::Log { min, max } => (v.max(min * 1e-3).ln() - min.ln()) / (max.ln() - min.ln()),
        };
        if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 }
    }

    /// Tick values: decades (with 2 and 5 when the range is narrow) or nice linear steps.
    pub fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Linear { min, max } => {
                let step = nice_step((max - min) / 5.0);
                let mut v = (min / step).ceil() * step;
                let mut out = vec![];
                while v <= max + step * 1e-9 && out.len() < 20 {
                    out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
                    v += step;
                }
                out
            }
            Scale::Log { min, max } => {
                let decades = (max / min).log10().ceil() as i32;
                let mults: &[f64] = if decades <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
                let every = if decades > 8 { 2 } else { 1 };
                let mut out = vec![];
                let first = min.log10().floor() as i32;
                for d in (first..=first + decades).step_by(every) {
                    for m in mults {
                        let v = m * 10f64.powi(d);
                        if v >= min * 0.999 && v <= max * 1.001 {
                            out.push(v);
                        }
                    }
                }
                out
            }
        }
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One point of a line series.
#[derive(Debug, Clone, PartialEq)]
pub struct XY {
    pub x: f64,
    pub y: f64,
    /// Error whisker (e.g. a confidence interval), in y units.
    pub y_range: Option<(f64, f64)>,
    /// Tooltip; on a series without dots, points with an empty title get no hover target.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    pub name: String,
    pub colour: String,
    /// SVG `stroke-dasharray`, empty for solid.
    pub dash: String,
    pub points: Vec<XY>,
    /// Draw a dot at every point (always for series of one point).
    pub dots: bool,
}

/// A line chart with numeric axes.
pub struct LineChart {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub x_label: String,
    pub y_label: String,
    pub x_log: bool,
    pub y_log: bool,
    /// Replaces the automatic x ticks.
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// Replaces the automatic x range.
    pub x_range: Option<(f64, f64)>,
    pub x_format: fn(f64) -> String,
    pub y_format: fn(f64) -> String,
    pub series: Vec<LineSeries>,
}

impl LineChart {
    pub fn build(self) -> Option<ChartView> {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let xs: Vec<f64> = points().map(|p| p.x).collect();
        let ys: Vec<f64> = points()
            .flat_map(|p| std::iter::once(p.y).chain(p.y_range.into_iter().flat_map(|(a, b)| [a, b])))
            .collect();
        let x_scale = match self.x_range {
            Some((min, max)) if self.x_log => Scale::Log { min, max },
            Some((min, max)) => Scale::Linear { min, max },
            None if self.x_log => Scale::log_of(xs.iter().copied())?,
            None => Scale::linear_of(xs.iter().copied())?,
        };
        let y_scale = if self.y_log {
            Scale::log_of(ys.iter().copied())?
        } else {
            Scale::linear_of(ys.iter().copied())?
        };
        let mut v = ChartView::empty(self.id, self.kind, self.title, self.x_label, self.y_label, HEIGHT);
        v.note = self.note;
        let px = |x: f64| r1(v.plot_x + x_scale.frac(x) * v.plot_w);
        let py = |y: f64| r1(v.plot_y + (1.0 - y_scale.frac(y)) * v.plot_h);
        v.x_ticks = match self.x_ticks {
            Some(t) => t
                .into_iter()
                .map(|(x, label)| Tick { pos: px(x), label })
                .collect(),
            None => x_scale
                .ticks()
                .into_iter()
                .map(|x| Tick {
                    pos: px(x),
                    label: trim_zeros(&(self.x_format)(x)),
                })
                .collect(),
        };
        v.y_ticks = y_scale
            .ticks()
            .into_iter()
            .map(|y| Tick {
                pos: py(y),
                label: trim_zeros(&(self.y_format)(y)),
            })
            .collect();
        for s in &self.series {
            let valid: Vec<&XY> = s
                .points
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite() && (!self.y_log || p.y > 0.0))
                .collect();
            if valid.is_empty() {
                continue;
            }
            if valid.len() > 1 {
                let d = valid
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("{}{},{}", if i == 0 { "M" } else { "L" }, px(p.x), py(p.y)))
                    .collect::<Vec<_>>()
                    .join(" ");
                v.paths.push(PathView {
                    d,
                    colour: s.colour.clone(),
                    dash: s.dash.clone(),
                    series: s.name.clone(),
                });
            }
            for p in &valid {
                if let Some((lo, hi)) = p.y_range {
                    v.whiskers.push(SegmentView {
                        x1: px(p.x),
                        y1: py(lo),
                        x2: px(p.x),
                        y2: py(hi),
                        colour: s.colour.clone(),
                        series: s.name.clone(),
                    });
                }
                if s.dots || valid.len() == 1 || p.y_range.is_some() {
                    v.dots.push(DotView {
                        x: px(p.x),
                        y: py(p.y),
                        colour: s.colour.clone(),
                        series: s.name.clone(),
                        title: p.title.clone(),
                    });
                } else if !p.title.is_empty() {
                    // Invisible but hoverable: points with a tooltip keep it on lines without dots.
                    v.dots.push(DotView {
                        x: px(p.x),
                        y: py(p.y),
                        colour: "transparent".into(),
                        series: s.name.clone(),
                        title: p.title.clone(),
                    });
                }
            }
            v.legend.push(LegendItem {
                label: s.name.clone(),
                line: true,
                colour: s.colour.clone(),
                dash: s.dash.clone(),
                opacity: 1.0,
                series: s.name.clone(),
            });
        }
        v.marks = v.dots.len();
        (v.marks > 0).then_some(v)
    }
}

/// One bar's value.
#[derive(Debug, Clone, PartialEq)]
pub struct BarValue {
    pub value: f64,
    /// Whisker (repetition range or confidence interval).
    pub range: Option<(f64, f64)>,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    pub colour: String,
    pub opacity: f64,
    /// One entry per category; `None` where this series has no value.
    pub values: Vec<Option<BarValue>>,
}

/// Grouped bars: one group per category, one bar per series.
pub struct BarChart {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub x_label: String,
    pub y_label: String,
    /// Category labels; `\n` splits a label over two lines.
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    /// `None` picks log when the values span more than a factor of 30.
    pub y_log: Option<bool>,
    pub y_format: fn(f64) -> String,
    /// Horizontal reference lines (value, label), e.g. the claim's 8x.
    pub ref_lines: Vec<(f64, String)>,
}

impl BarChart {
    pub fn build(self) -> Option<ChartView> {
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .flat_map(|b| std::iter::once(b.value).chain(b.range.into_iter().flat_map(|(a, c)| [a, c])))
            .filter(|v| v.is_finite())
            .chain(self.ref_lines.iter().map(|r| r.0))
            .collect();
        let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
        let y_log = self
            .y_log
            .unwrap_or_else(|| min_max(positive.iter().copied()).is_some_and(|(lo, hi)| hi / lo > 30.0));
        let y_scale = if y_log {
            Scale::log_of(positive)?
        } else {
            Scale::linear_of(values)?
        };
        let n_cat = self.categories.len().max(1);
        let n_series = self.series.len().max(1);
        // Wide enough for the bars and for the longest category label line.
        let longest_label = self
            .categories
            .iter()
            .flat_map(|c| c.split('\n'))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let group_min = (14.0 * n_series as f64 + 16.0).max(longest_label as f64 * 6.3 + 10.0);
        let width = (MARGIN_LEFT + MARGIN_RIGHT + group_min * n_cat as f64).max(WIDTH);
        let two_line = self.categories.iter().any(|c| c.contains('\n'));
        let height = HEIGHT + if two_line { 12.0 } else { 0.0 };
        let mut v = ChartView::empty(self.id, self.kind, self.title, self.x_label, self.y_label, height);
        v.note = self.note;
        v.width = width;
        v.plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
        v.plot_h = height - MARGIN_TOP - MARGIN_BOTTOM - if two_line { 12.0 } else { 0.0 };
        let py = |y: f64| r1(v.plot_y + (1.0 - y_scale.frac(y)) * v.plot_h);
        let base = v.plot_y + v.plot_h;
        v.y_ticks = y_scale
            .ticks()
            .into_iter()
            .map(|y| Tick {
                pos: py(y),
                label: trim_zeros(&(self.y_format)(y)),
            })
            .collect();
        v.ref_lines = self
            .ref_lines
            .iter()
            .filter(|(y, _)| *y > 0.0 || !y_log)
            .map(|(y, label)| RefLineView {
                y: py(*y),
                label: label.clone(),
            })
            .collect();
        let group_w = v.plot_w / n_cat as f64;
        let bar_w = ((group_w - 10.0) / n_series as f64).min(40.0);
        for (ci, cat) in self.categories.iter().enumerate() {
            let gx = v.plot_x + group_w * ci as f64;
            let center = gx + group_w / 2.0;
            v.categories.push(CategoryLabel {
                x: r1(center),
                lines: cat.split('\n').map(String::from).collect(),
            });
            let start = center - bar_w * n_series as f64 / 2.0;
            for (si, s) in self.series.iter().enumerate() {
                let Some(Some(b)) = s.values.get(ci) else { continue };
                if !b.value.is_finite() || (y_log && b.value <= 0.0) {
                    continue;
                }
                let x = start + bar_w * si as f64;
                let top = py(b.value);
                v.bars.push(BarView {
                    x: r1(x + 0.5),
                    y: top.min(base),
                    w: r1((bar_w - 1.0).max(1.0)),
                    h: r1((base - top).abs().max(1.0)),
                    colour: s.colour.clone(),
                    opacity: s.opacity,
                    series: s.name.clone(),
                    title: b.title.clone(),
                    label: (bar_w >= 34.0).then(|| (self.y_format)(b.value)),
                });
                if let Some((lo, hi)) = b.range {
                    v.whiskers.push(SegmentView {
                        x1: r1(x + bar_w / 2.0),
                        y1: py(lo),
                        x2: r1(x + bar_w / 2.0),
                        y2: py(hi),
                        colour: "#222".into(),
                        series: s.name.clone(),
                    });
                }
            }
        }
        for s in &self.series {
            if s.values.iter().any(Option::is_some) {
                v.legend.push(LegendItem {
                    label: s.name.clone(),
                    line: false,
                    colour: s.colour.clone(),
                    dash: String::new(),
                    opacity: s.opacity,
                    series: s.name.clone(),
                });
            }
        }
        v.marks = v.bars.len();
        (v.marks > 0).then_some(v)
    }
}

/// A chart id safe in an HTML attribute and a space-separated list.
pub fn slug(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_covers_whole_decades() {
        let s = Scale::log_of([3.0, 4500.0]).unwrap();
        assert_eq!(
            s,
            Scale::Log {
                min: 1.0,
                max: 10_000.0
            }
        );
        assert_eq!(s.ticks(), vec![1.0, 10.0, 100.0, 1000.0, 10_000.0]);
        assert_eq!(s.frac(100.0), 0.5);
        let narrow = Scale::log_of([20.0, 30.0]).unwrap();
        assert_eq!(narrow, Scale::Log { min: 20.0, max: 50.0 });
        assert_eq!(narrow.ticks(), vec![20.0, 50.0]);
        let ratios = Scale::log_of([1.5, 10.3]).unwrap();
        assert_eq!(ratios, Scale::Log { min: 1.0, max: 20.0 });
        assert_eq!(ratios.ticks(), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        assert!(Scale::log_of([0.0, -1.0]).is_none());
    }

    #[test]
    fn linear_scale_has_nice_ticks() {
        let s = Scale::linear_of([0.3, 87.0]).unwrap();
        assert_eq!(s, Scale::Linear { min: 0.0, max: 100.0 });
        assert_eq!(s.ticks(), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    }

    #[test]
    fn empty_charts_are_not_built() {
        let chart = BarChart {
            id: "x".into(),
            kind: "x",
            title: "x".into(),
            note: None,
            x_label: "x".into(),
            y_label: "y".into(),
            categories: vec!["a".into()],
            series: vec![BarSeries {
                name: "s".into(),
                colour: "#000".into(),
                opacity: 1.0,
                values: vec![None],
            }],
            y_log: None,
            y_format: |v| v.to_string(),
            ref_lines: vec![],
        };
        assert!(chart.build().is_none());
    }

    #[test]
    fn slugs_are_attribute_safe() {
        assert_eq!(
            slug(&["spectrum", "echo small 1KiB", "<x>"]),
            "spectrum/echo-small-1kib/-x-"
        );
    }
}
