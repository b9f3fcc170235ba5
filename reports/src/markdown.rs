//! The Markdown sink: `summary.md`, GitHub-flavoured, short enough for a CI job summary or a
//! PR comment: the verdict, the headline ratios, the effects, what is missing.

use std::fmt::Write as _;

use crate::evidence::{Effect, EffectRatios, LoadPoint, Ratio};
use crate::format;
use crate::model::Inputs;
use crate::sink::{ReportError, ReportSink};
use crate::verdict::Verdict;
use rpcbench_model::Metric;

/// The Markdown sink.
#[derive(Debug, Default)]
pub struct MarkdownSink {
    missing: Vec<String>,
    verdict: String,
    effects: String,
    conditions: String,
    footer: String,
}

impl MarkdownSink {
    pub fn new() -> MarkdownSink {
        MarkdownSink::default()
    }
}

/// Escapes text for a table cell or a line of prose: Markdown punctuation that could change
/// structure, and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn row(cells: &[String]) -> String {
    format!(
        "| {} |\n",
        cells.iter().map(|c| escape(c)).collect::<Vec<_>>().join(" | ")
    )
}

fn ratio_cells(what: &str, r: &Ratio) -> Vec<String> {
    vec![
        what.to_string(),
        format::ratio(r.value),
        r.spread_text(),
        r.source.describe(r.metric),
    ]
}

impl ReportSink for MarkdownSink {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn missing(&mut self, notes: &[String]) {
        self.missing = notes.to_vec();
    }

    fn verdict(&mut self, v: &Verdict, _claim: &[Ratio]) {
        let mut s = String::new();
        // The sentence starts with the status ("Partly true: ...").
        let _ = writeln!(
            s,
            "**Verdict on \"{}\"** — {}\n",
            escape(&v.claim),
            escape(&v.sentence)
        );
        let mut rows = String::new();
        let mut add = |name: String, e: &crate::verdict::Extremes| {
            if e.count == 1 {
                rows += &row(&ratio_cells(&name, &e.largest));
            } else {
                rows += &row(&ratio_cells(
                    &format!("{name}, largest of {}", e.count),
                    &e.largest,
                ));
                rows += &row(&ratio_cells(&format!("{name}, smallest"), &e.smallest));
            }
        };
        for (name, ext) in [("encode speed-up", &v.encode), ("decode speed-up", &v.decode)] {
            if let Some(e) = ext {
                add(name.to_string(), e);
            }
        }
        for m in &v.end_to_end {
            add(m.metric.label().to_string(), &m.extremes);
        }
        if !rows.is_empty() {
            s += "| headline | ratio | spread | source point |\n|---|---:|---|---|\n";
            s += &rows;
            s += "\nAbove 1x the protobuf / gRPC side is better (JSON ÷ protobuf time; REST ÷ gRPC latency, \
                  CPU, bytes; gRPC ÷ REST throughput).\n";
        }
        self.verdict = s;
    }

    fn conditions(&mut self, view: &crate::conditions::ConditionsView) {
        let mut s = String::from("\n### TLS, compression and connection mode\n\n");
        if let Some(primary) = &view.primary {
            let _ = writeln!(
                s,
                "Measured: {}. The verdict and the variant comparisons above use `{}`; here every \
                 condition is compared with its baseline, other factors equal. CPU and bytes per \
                 request from the closed-loop point, p50 at the lowest rate shared by every \
                 variant and condition of the same connection mode.\n",
                view.measured.join(", "),
                escape(primary)
            );
        }
        let sentences = view.sentences();
        if !sentences.is_empty() {
            s += "How the claim's ratio changes (REST ÷ gRPC; above 1x gRPC is better):\n\n";
            for line in sentences {
                let _ = writeln!(s, "- {}", escape(&line));
            }
            s += "\n";
        }
        for t in view.tables() {
            let _ = writeln!(s, "**{}**\n", escape(&t.title));
            s += &row(&t.columns);
            s += &format!("|{}\n", "---|".repeat(t.columns.len()));
            for r in &t.rows {
                s += &row(r);
            }
            s += "\n";
        }
        self.conditions = s;
    }

    fn effects(&mut self, effects: &[EffectRatios]) {
        // One workload, the one closest to 1 KiB (most API calls), so every cell is one ratio
        // with its spread and the table names its source point; index.html has every workload.
        let all = || effects.iter().flat_map(|e| e.ratios.iter());
        let distance = |r: &Ratio| ((r.source.size_bytes() as f64).max(1.0) / 1024.0).log2().abs();
        let Some(reference) = all().min_by(|a, b| distance(a).total_cmp(&distance(b))) else {
            return;
        };
        let same_workload = |r: &Ratio| {
            r.source.rpc == reference.source.rpc
                && r.source.shape == reference.source.shape
                && r.source.size_label == reference.source.size_label
        };
        let metrics = [
            Metric::ServerCpu,
            Metric::LatencyP50,
            Metric::MaxThroughput,
            Metric::WireBytes,
        ];
        // Lowest fixed rate for latency; the closed-loop point otherwise.
        let pick = |e: &'_ EffectRatios, m: Metric| -> Option<Ratio> {
            e.ratios
                .iter()
                .filter(|r| r.metric == m && same_workload(r))
                .min_by(|a, b| rate_of(a).total_cmp(&rate_of(b)))
                .cloned()
        };
        let mut headers = Vec::new();
        for m in metrics {
            let load = effects
                .iter()
                .find_map(|e| pick(e, m))
                .and_then(|r| r.source.load.clone());
            match load {
                Some(l) if m != Metric::MaxThroughput => {
                    headers.push(format!("{} {}", m.short_label(), l.describe()))
                }
                _ => headers.push(m.short_label().to_string()),
            }
        }
        let rpc = reference.source.rpc.map(|r| format!("{r} ")).unwrap_or_default();
        let mut s = format!(
            "\n### Where the difference comes from ({rpc}{} {})\n\n| effect | pair | {} |\n|---|---|{}\n",
            escape(reference.source.shape.name()),
            escape(&reference.source.size_label),
            headers.iter().map(|h| escape(h)).collect::<Vec<_>>().join(" | "),
            "---:|".repeat(metrics.len())
        );
        for e in effects {
            let mut cells = vec![
                e.effect.name.to_string(),
                format!("{} → {}", e.effect.baseline, e.effect.candidate),
            ];
            cells.extend(
                metrics
                    .iter()
                    .map(|&m| pick(e, m).map(|r| r.compact_text()).unwrap_or_else(|| "—".into())),
            );
            s += &row(&cells);
        }
        if effects.iter().all(|e| e.effect != Effect::total()) {
            s += "\nThe claim pair (rest-json-h1, grpc-proto-h2) was not measured together.\n";
        }
        s += "\nBrackets: min–max over repetitions; n=1 means a single repetition, no spread known. \
              Every workload is in index.html.\n";
        self.effects = s;
    }

    fn method(&mut self, inputs: &Inputs) {
        let mut s = String::from("\n");
        if let Some(run) = &inputs.run {
            let p = &run.provenance;
            let _ = writeln!(
                s,
                "Scenario {} · commit {}{} · {} · {} cores · {}{}",
                escape(&run.scenario_name),
                escape(p.git_commit.as_deref().unwrap_or("unknown")),
                if p.git_dirty == Some(true) { " (dirty)" } else { "" },
                escape(p.cpu_model.as_deref().unwrap_or("unknown CPU")),
                p.cores,
                escape(&p.started_at),
                if run.complete {
                    ""
                } else {
                    " · **incomplete run**"
                },
            );
            if let Some(floor) = &run.floor
                && let Some(p50) = floor.tcp_ping_pong.get(crate::schema::Percentile::P50)
            {
                let _ = writeln!(
                    s,
                    "\nLoopback TCP ping-pong floor on this machine: p50 {}, p99.9 {}.",
                    format::duration_ns(p50 as f64),
                    floor
                        .tcp_ping_pong
                        .get(crate::schema::Percentile::P999)
                        .map(|v| format::duration_ns(v as f64))
                        .unwrap_or_else(|| "n/a".into())
                );
            }
        }
        s += "\nFull report with charts: `index.html`; machine-readable verdict: `summary.json`.\n";
        self.footer = s;
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, ReportError> {
        let mut s = String::from("## rpcbench: is gRPC \"up to 8x faster\" than REST?\n\n");
        s += &self.verdict;
        s += &self.effects;
        s += &self.conditions;
        if !self.missing.is_empty() {
            s += "\n> [!WARNING]\n> Missing or partial inputs:\n";
            for m in &self.missing {
                let _ = writeln!(s, "> - {}", escape(m));
            }
        }
        s += &self.footer;
        Ok(s.into_bytes())
    }
}

fn rate_of(r: &Ratio) -> f64 {
    match r.source.load {
        Some(LoadPoint::FixedRate { rate_rps }) => rate_rps,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_table_breakers() {
        assert_eq!(escape("a|b <x> *y*"), "a\\|b \\<x\\> \\*y\\*");
        assert_eq!(row(&["a|b".into(), "c".into()]), "| a\\|b | c |\n");
    }
}
