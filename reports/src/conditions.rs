//! TLS, compression and connection mode as factors of the report.
//!
//! A run may measure every variant under several conditions (TLS off/on × compression
//! none/gzip/zstd × warm/cold connections). The sections that compare *variants* (verdict,
//! encoding/transport/framework effects, latency, resources) use one condition, the
//! [`primary`] one (plain when it was measured), so no ratio mixes conditions. This module adds
//! what the other conditions show: per variant and workload, each factor's cost (the level ÷
//! the baseline level, other factors at their baseline), and how the claim's REST ÷ gRPC ratio
//! changes with it. Medians over repetitions, as everywhere else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::evidence::{self, GRPC, LoadKey, REST, WorkloadKey};
use crate::format;
use crate::schema::{Compression, Condition, ConnectionMode, Percentile, PointResult, TlsMode};
use crate::stats::median_min_max;
use rpcbench_model::Variant;

/// The condition the variant comparisons use: plain if measured, else the most measured one.
pub fn primary(points: &[PointResult]) -> Option<Condition> {
    let mut counts: BTreeMap<&Condition, usize> = BTreeMap::new();
    for p in points.iter().filter(|p| evidence::is_usable(p)) {
        *counts.entry(&p.condition).or_default() += 1;
    }
    if counts.contains_key(&Condition::default()) {
        return Some(Condition::default());
    }
    counts
        .into_iter()
        .max_by_key(|(c, n)| (*n, std::cmp::Reverse((*c).clone())))
        .map(|(c, _)| c.clone())
}

/// Medians of one variant × workload × condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Server CPU per request at the closed-loop point, ns.
    pub server_cpu_ns: Option<f64>,
    /// Bytes on the wire per request (both directions) at the closed-loop point.
    pub wire_bytes: Option<f64>,
    /// Maximum throughput, requests/s.
    pub max_rps: Option<f64>,
    /// Median latency (corrected) at the lowest shared fixed rate, ns, and that rate.
    pub p50_ns: Option<f64>,
    pub p50_rate_rps: Option<f64>,
    /// Cold connections: median connection set-up time, ns.
    pub handshake_p50_ns: Option<f64>,
    /// Cold connections: median request time (service time, after the connection is up), ns.
    pub service_p50_ns: Option<f64>,
}

/// One row of the conditions table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub workload: String,
    pub variant: String,
    pub condition: String,
    pub cell: Cell,
}

/// One factor level against its baseline, e.g. TLS on vs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Factor {
    Tls,
    Gzip,
    Zstd,
    Cold,
}

impl Factor {
    pub const ALL: [Factor; 4] = [Factor::Tls, Factor::Gzip, Factor::Zstd, Factor::Cold];

    pub fn label(self) -> &'static str {
        match self {
            Factor::Tls => "TLS (off → on)",
            Factor::Gzip => "compression (none → gzip)",
            Factor::Zstd => "compression (none → zstd)",
            Factor::Cold => "connections (warm → cold)",
        }
    }

    /// `c` with this factor at its level, and `c` with it at its baseline — `None` when `c` is
    /// not at this factor's level.
    fn pair(self, c: &Condition) -> Option<Condition> {
        let mut base = c.clone();
        match self {
            Factor::Tls if c.tls == TlsMode::On => base.tls = TlsMode::Off,
            Factor::Gzip if c.compression == Compression::Gzip => base.compression = Compression::None,
            Factor::Zstd if c.compression == Compression::Zstd => base.compression = Compression::None,
            Factor::Cold if c.connection == ConnectionMode::Cold => {
                base.connection = ConnectionMode::Warm;
                base.requests_per_connection = None;
            }
            _ => return None,
        }
        Some(base)
    }
}

/// A factor's cost for one variant and workload: level ÷ baseline (above 1: costlier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorCost {
    pub factor: Factor,
    pub workload: String,
    pub variant: String,
    /// The conditions compared, e.g. `plain` → `tls`.
    pub from: String,
    pub to: String,
    pub server_cpu: Option<f64>,
    pub wire_bytes: Option<f64>,
    pub p50: Option<f64>,
    pub max_rps: Option<f64>,
}

/// How the claim's ratio (REST ÷ gRPC; above 1 the gRPC side is better) moves with a factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimShift {
    pub factor: Factor,
    pub workload: String,
    pub from: String,
    pub to: String,
    /// Server CPU per request, REST ÷ gRPC, at the baseline and at the level.
    pub server_cpu: Option<(f64, f64)>,
    pub p50: Option<(f64, f64)>,
    pub wire_bytes: Option<(f64, f64)>,
    /// Maximum throughput, gRPC ÷ REST.
    pub max_rps: Option<(f64, f64)>,
}

impl ClaimShift {
    /// `TLS (off → on) [plain → tls], fetch nested 16KiB: server CPU 2.10x → 1.85x, p50 1.40x → 1.30x, …`
    pub fn sentence(&self) -> String {
        let mut parts = Vec::new();
        for (name, v) in [
            ("server CPU/request", self.server_cpu),
            ("p50 latency", self.p50),
            ("bytes/request", self.wire_bytes),
            ("max throughput", self.max_rps),
        ] {
            if let Some((a, b)) = v {
                parts.push(format!("{name} {a:.2}x → {b:.2}x"));
            }
        }
        // The pair of conditions is named: one factor moves from several baselines (TLS off → on
        // without compression, with gzip, with zstd), and unnamed the lines read as contradictions.
        format!(
            "{} [{} → {}], {}: REST ÷ gRPC {}",
            self.factor.label(),
            self.from,
            self.to,
            self.workload,
            parts.join(", ")
        )
    }
}

/// Everything the report shows about conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConditionsView {
    /// The condition of every other section (label).
    pub primary: Option<String>,
    /// Every condition measured (labels).
    pub measured: Vec<String>,
    pub rows: Vec<Row>,
    pub costs: Vec<FactorCost>,
    pub claim_shifts: Vec<ClaimShift>,
}

impl ConditionsView {
    /// True when the run measured more than one condition, or a single non-plain one.
    pub fn is_interesting(&self) -> bool {
        self.measured.len() > 1 || self.measured.iter().any(|m| m != "plain")
    }
}

fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    median_min_max(values).map(|(m, _, _)| m)
}

type Key = (WorkloadKey, Variant, Condition);

/// Builds the view from every usable point.
pub fn view(points: &[PointResult]) -> ConditionsView {
    let usable: Vec<&PointResult> = points.iter().filter(|p| evidence::is_usable(p)).collect();
    let measured: BTreeSet<Condition> = usable.iter().map(|p| p.condition.clone()).collect();
    let mut groups: BTreeMap<Key, Vec<&PointResult>> = BTreeMap::new();
    for p in &usable {
        groups
            .entry((WorkloadKey::of(p), p.variant, p.condition.clone()))
            .or_default()
            .push(p);
    }
    let cells: BTreeMap<Key, Cell> = groups.iter().map(|(k, ps)| (k.clone(), cell_of(ps))).collect();
    let rows = cells
        .iter()
        .map(|((w, v, c), cell)| Row {
            workload: w.label(),
            variant: v.to_string(),
            condition: c.label(),
            cell: cell.clone(),
        })
        .collect();

    let mut costs = Vec::new();
    let mut claim_shifts = Vec::new();
    let workloads: BTreeSet<&WorkloadKey> = cells.keys().map(|(w, _, _)| w).collect();
    for factor in Factor::ALL {
        for level in &measured {
            let Some(base) = factor.pair(level) else { continue };
            if !measured.contains(&base) {
                continue;
            }
            for w in &workloads {
                let variants: BTreeSet<Variant> = cells
                    .keys()
                    .filter(|(kw, _, _)| kw == *w)
                    .map(|(_, v, _)| *v)
                    .collect();
                for v in variants {
                    let (Some(a), Some(b)) = (
                        cells.get(&((*w).clone(), v, base.clone())),
                        cells.get(&((*w).clone(), v, level.clone())),
                    ) else {
                        continue;
                    };
                    costs.push(FactorCost {
                        factor,
                        workload: w.label(),
                        variant: v.to_string(),
                        from: base.label(),
                        to: level.label(),
                        server_cpu: ratio(b.server_cpu_ns, a.server_cpu_ns),
                        wire_bytes: ratio(b.wire_bytes, a.wire_bytes),
                        p50: ratio(b.p50_ns, a.p50_ns),
                        max_rps: ratio(b.max_rps, a.max_rps),
                    });
                }
                let get = |c: &Condition, v: Variant| cells.get(&((*w).clone(), v, c.clone()));
                let claim = |c: &Condition, f: fn(&Cell) -> Option<f64>, grpc_over_rest: bool| {
                    let (r, g) = (get(c, REST)?, get(c, GRPC)?);
                    if grpc_over_rest {
                        ratio(f(g), f(r))
                    } else {
                        ratio(f(r), f(g))
                    }
                };
                let both = |f: fn(&Cell) -> Option<f64>, inv: bool| {
                    Some((claim(&base, f, inv)?, claim(level, f, inv)?))
                };
                let shift = ClaimShift {
                    factor,
                    workload: w.label(),
                    from: base.label(),
                    to: level.label(),
                    server_cpu: both(|c| c.server_cpu_ns, false),
                    p50: both(|c| c.p50_ns, false),
                    wire_bytes: both(|c| c.wire_bytes, false),
                    max_rps: both(|c| c.max_rps, true),
                };
                if shift.server_cpu.is_some() || shift.p50.is_some() || shift.max_rps.is_some() {
                    claim_shifts.push(shift);
                }
            }
        }
    }
    ConditionsView {
        primary: primary(points).map(|c| c.label()),
        measured: measured.iter().map(Condition::label).collect(),
        rows,
        costs,
        claim_shifts,
    }
}

fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 && n.is_finite() => Some(n / d),
        _ => None,
    }
}

fn cell_of(points: &[&PointResult]) -> Cell {
    let at = |load: LoadKey| points.iter().filter(move |p| LoadKey::of(&p.point) == Some(load));
    let max: Vec<&&PointResult> = at(LoadKey::Max).collect();
    // The lowest fixed rate: the load every variant shares (equal offered load).
    let lowest = points
        .iter()
        .filter_map(|p| match LoadKey::of(&p.point) {
            Some(LoadKey::Fixed(r)) => Some(r),
            _ => None,
        })
        .min();
    let fixed: Vec<&&PointResult> = lowest
        .map(|r| at(LoadKey::Fixed(r)).collect())
        .unwrap_or_default();
    // CPU and bytes from the closed-loop point, or from the fixed-rate one without it.
    let resource_points = if max.is_empty() { &fixed } else { &max };
    let summary = |p: &&&PointResult| p.load.summary.clone();
    let p50 = |s: &crate::schema::LoadSummary| {
        s.latency_corrected
            .as_ref()
            .unwrap_or(&s.latency_service)
            .get(Percentile::P50)
            .map(|v| v as f64)
    };
    let all_points = || points.iter();
    Cell {
        server_cpu_ns: median(resource_points.iter().filter_map(|p| p.server.cpu_ns_per_request)),
        wire_bytes: median(resource_points.iter().filter_map(|p| {
            p.load
                .summary
                .wire
                .as_ref()
                .map(|w| w.request_bytes_per_request + w.response_bytes_per_request)
        })),
        max_rps: median(max.iter().map(|p| p.load.summary.achieved_rps)),
        p50_ns: median(fixed.iter().filter_map(|p| p50(&summary(p)))),
        p50_rate_rps: lowest.map(|r| r as f64 / 1000.0),
        handshake_p50_ns: median(all_points().filter_map(|p| {
            p.load
                .summary
                .handshake
                .as_ref()
                .and_then(|h| h.get(Percentile::P50))
                .map(|v| v as f64)
        })),
        service_p50_ns: median(
            all_points()
                .filter(|p| p.condition.connection == ConnectionMode::Cold)
                .filter_map(|p| {
                    p.load
                        .summary
                        .latency_service
                        .get(Percentile::P50)
                        .map(|v| v as f64)
                }),
        ),
    }
}

/// A rendered table: what the Markdown and HTML sinks show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "–".into())
}

fn times(v: Option<f64>) -> String {
    opt(v, |x| format!("{x:.2}x"))
}

impl ConditionsView {
    /// The per-condition measurements, one table per workload.
    pub fn tables(&self) -> Vec<Table> {
        let mut by_workload: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
        for r in &self.rows {
            by_workload.entry(&r.workload).or_default().push(r);
        }
        let mut out = Vec::new();
        for (workload, rows) in by_workload {
            let cold = rows.iter().any(|r| r.cell.handshake_p50_ns.is_some());
            let mut columns: Vec<String> = [
                "variant",
                "condition",
                "server CPU/req",
                "bytes/req",
                "p50 (equal load)",
                "max req/s",
            ]
            .map(String::from)
            .to_vec();
            if cold {
                columns.extend(["handshake p50".into(), "request p50 (service)".into()]);
            }
            let mut table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let c = &r.cell;
                    let mut row = vec![
                        r.variant.clone(),
                        r.condition.clone(),
                        opt(c.server_cpu_ns, format::duration_ns),
                        opt(c.wire_bytes, |b| format!("{b:.0} B")),
                        match (c.p50_ns, c.p50_rate_rps) {
                            (Some(p), Some(rate)) => {
                                format!("{} @ {}", format::duration_ns(p), format::rate(rate))
                            }
                            _ => "–".into(),
                        },
                        opt(c.max_rps, |r| format!("{r:.0}")),
                    ];
                    if cold {
                        row.push(opt(c.handshake_p50_ns, format::duration_ns));
                        row.push(opt(c.service_p50_ns, format::duration_ns));
                    }
                    row
                })
                .collect();
            table_rows.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
            out.push(Table {
                title: format!("{workload}: by TLS, compression and connection mode"),
                columns,
                rows: table_rows,
            });
        }
        if !self.costs.is_empty() {
            out.push(Table {
                title: "Factor costs (level ÷ baseline, same variant and workload; above 1x costs more)"
                    .into(),
                columns: [
                    "factor",
                    "workload",
                    "variant",
                    "server CPU/req",
                    "bytes/req",
                    "p50",
                    "max req/s",
                ]
                .map(String::from)
                .to_vec(),
                rows: self
                    .costs
                    .iter()
                    .map(|c| {
                        vec![
                            format!("{} [{} → {}]", c.factor.label(), c.from, c.to),
                            c.workload.clone(),
                            c.variant.clone(),
                            times(c.server_cpu),
                            times(c.wire_bytes),
                            times(c.p50),
                            times(c.max_rps),
                        ]
                    })
                    .collect(),
            });
        }
        out
    }

    /// One sentence per factor and workload: how the claim's ratio moves.
    pub fn sentences(&self) -> Vec<String> {
        self.claim_shifts.iter().map(ClaimShift::sentence).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{PointKind, Rpc};
    use crate::synthetic::{PointSpec, point};

    fn at(variant: Variant, condition: Condition, kind: PointKind, cpu: f64, p50: f64) -> PointResult {
        let mut spec = PointSpec::new(variant, "nested", 16384, kind, p50);
        spec.rpc = Rpc::Fetch;
        spec.server_cpu_ns = cpu;
        let mut p = point(&spec);
        p.condition = condition;
        p
    }

    #[test]
    fn factor_costs_and_claim_shift_come_from_the_data() {
        let tls = Condition {
            tls: TlsMode::On,
            ..Condition::default()
        };
        let mut points = Vec::new();
        for (variant, cpu, cpu_tls) in [(REST, 40_000.0, 50_000.0), (GRPC, 20_000.0, 30_000.0)] {
            for (c, cpu) in [(Condition::default(), cpu), (tls.clone(), cpu_tls)] {
                points.push(at(variant, c.clone(), PointKind::MaxThroughput, cpu, 90_000.0));
                points.push(at(
                    variant,
                    c,
                    PointKind::FixedRate { rate_rps: 1000.0 },
                    cpu,
                    90_000.0,
                ));
            }
        }
        assert_eq!(primary(&points), Some(Condition::default()));
        let v = view(&points);
        assert!(v.is_interesting());
        assert_eq!(v.measured, vec!["plain".to_string(), "tls".into()]);
        let rest = v
            .costs
            .iter()
            .find(|c| c.variant == REST.name() && c.factor == Factor::Tls)
            .unwrap();
        assert!((rest.server_cpu.unwrap() - 1.25).abs() < 1e-9);
        let shift = &v.claim_shifts[0];
        let (before, after) = shift.server_cpu.unwrap();
        assert!((before - 2.0).abs() < 1e-9 && (after - 50.0 / 30.0).abs() < 1e-9);
        assert!(shift.sentence().contains("2.00x → 1.67x"), "{}", shift.sentence());
        assert!(shift.sentence().contains("[plain → tls]"), "{}", shift.sentence());
        assert_eq!(v.tables().len(), 2);

        // Only TLS points: that condition is the primary one, and nothing is compared.
        let only_tls: Vec<PointResult> = points.into_iter().filter(|p| p.condition == tls).collect();
        assert_eq!(primary(&only_tls), Some(tls));
        assert!(view(&only_tls).costs.is_empty());
    }
}
