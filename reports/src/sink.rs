//! Report sinks: one small trait with no-op defaults (like criterion's `Report`). The driver
//! calls the section methods in the report's order, then `finish`; each sink implements the
//! sections it shows.

use crate::conditions::ConditionsView;
use crate::criterion::{Bench, CriterionData};
use crate::evidence::{EffectRatios, Ratio};
use crate::model::{Inputs, Report};
use crate::schema::PointResult;
use crate::verdict::Verdict;

/// Errors producing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    Criterion(#[from] crate::criterion::CriterionError),
    #[error("template {name}: {source:#}")]
    Template {
        name: &'static str,
        source: minijinja::Error,
    },
    #[error("cannot serialize {what}: {source}")]
    Serialize {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("nothing to report in {dir}: {details}")]
    NothingToReport {
        dir: std::path::PathBuf,
        details: String,
    },
    #[error("internal error: the rendered HTML references external resources: {0:?}")]
    ExternalResource(Vec<String>),
}

/// One output format. Section methods are called in this order: `missing`, `verdict`,
/// `effects`, `serialization`, `latency`, `resources`, `method`, then `finish`.
pub trait ReportSink {
    /// File name of this sink's output inside the output directory.
    fn file_name(&self) -> &'static str;
    /// Gaps in the evidence, in plain words.
    fn missing(&mut self, _notes: &[String]) {}
    /// 1. The verdict and the claim pair's ratios behind it.
    fn verdict(&mut self, _verdict: &Verdict, _claim_ratios: &[Ratio]) {}
    /// 2. Where the difference comes from: the factorial effects.
    fn effects(&mut self, _effects: &[EffectRatios]) {}
    /// 2b. TLS, compression and connection mode: their costs and how the claim's ratio moves.
    fn conditions(&mut self, _conditions: &ConditionsView) {}
    /// 3. Serialization: codec benches, their JSON ÷ protobuf ratios, encoded sizes.
    fn serialization(&mut self, _codec: &[&Bench], _ratios: &[Ratio], _criterion: Option<&CriterionData>) {}
    /// 4. Latency: percentile spectra and sweeps.
    fn latency(&mut self, _points: &[PointResult]) {}
    /// 5. Throughput, CPU and bytes per request per variant and workload.
    fn resources(&mut self, _points: &[PointResult], _round_trips: &[&Bench]) {}
    /// 6. Method and environment.
    fn method(&mut self, _inputs: &Inputs) {}
    /// The finished document.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, ReportError>;
}

/// Feeds `report` to every sink; returns each sink's file name and bytes.
pub fn drive(
    report: &Report<'_>,
    sinks: Vec<Box<dyn ReportSink>>,
) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    sinks
        .into_iter()
        .map(|mut sink| {
            sink.missing(&report.missing);
            sink.verdict(&report.verdict, &report.claim_ratios);
            sink.effects(&report.effects);
            if report.conditions.is_interesting() {
                sink.conditions(&report.conditions);
            }
            sink.serialization(
                &report.codec_benches,
                &report.codec_ratios,
                report.inputs.criterion.as_ref(),
            );
            sink.latency(&report.points);
            sink.resources(&report.points, &report.round_trips);
            sink.method(report.inputs);
            let name = sink.file_name();
            Ok((name, sink.finish()?))
        })
        .collect()
}
