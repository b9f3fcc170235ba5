//! What the report is made of: the loaded inputs, and the analysis every sink renders.

use std::borrow::Cow;
use std::path::PathBuf;

use crate::conditions::{self, ConditionsView};
use crate::criterion::{Bench, CriterionData};
use rpcbench_model::Variant;

use crate::evidence::{self, EffectRatios, GRPC, LoadKey, REST, Ratio};
use crate::schema::{PointKind, PointResult, RunResults};
use crate::verdict::{self, Verdict};

/// Everything a report is rendered from. Any part may be absent; what is absent is said in
/// [`Inputs::notes`] and, from there, in every output.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Directory the outputs are written to; links (`.hgrm` files, criterion's report) are
    /// made relative to it.
    pub out_dir: PathBuf,
    /// `results.json` of a run, when there is one.
    pub run: Option<RunResults>,
    pub results_path: Option<PathBuf>,
    pub criterion: Option<CriterionData>,
    /// What could not be loaded, in plain words.
    pub notes: Vec<String>,
}

/// The analysis shared by every sink.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub inputs: &'a Inputs,
    /// Every gap in the evidence, for the "missing" notes.
    pub missing: Vec<String>,
    pub verdict: Verdict,
    /// `rest-json-h1` vs `grpc-proto-h2`: load points and criterion round trips.
    pub claim_ratios: Vec<Ratio>,
    /// JSON vs protobuf codec time (encode, decode).
    pub codec_ratios: Vec<Ratio>,
    pub effects: Vec<EffectRatios>,
    /// TLS, compression and connection mode as factors (all conditions of the run).
    pub conditions: ConditionsView,
    /// The points of the primary condition ([`conditions::primary`]): every variant comparison
    /// uses these, so no ratio mixes TLS, compression or connection levels.
    pub points: Cow<'a, [PointResult]>,
    pub codec_benches: Vec<&'a Bench>,
    pub round_trips: Vec<&'a Bench>,
}

impl<'a> Report<'a> {
    pub fn build(inputs: &'a Inputs) -> Report<'a> {
        let mut missing = inputs.notes.clone();
        let all_points: &[PointResult] = inputs.run.as_ref().map(|r| r.points.as_slice()).unwrap_or(&[]);
        let conditions = conditions::view(all_points);
        let points: Cow<'a, [PointResult]> = match conditions::primary(all_points) {
            Some(primary) if all_points.iter().any(|p| p.condition != primary) => Cow::Owned(
                all_points
                    .iter()
                    .filter(|p| p.condition == primary)
                    .cloned()
                    .collect(),
            ),
            _ => Cow::Borrowed(all_points),
        };
        let codec_benches: Vec<&Bench> = inputs.criterion.iter().flat_map(|c| c.codec()).collect();
        let round_trips: Vec<&Bench> = inputs.criterion.iter().flat_map(|c| c.round_trips()).collect();

        if let Some(run) = &inputs.run {
            run_gaps(run, &mut missing);
        }
        if let Some(c) = &inputs.criterion {
            if codec_benches.is_empty() {
                missing.push(format!(
                    "{} holds no codec/ benchmarks: serialization was not measured",
                    c.dir.display()
                ));
            }
            if c.encoded_sizes.is_none() {
                missing.push(format!(
                    "{} has no {}: encoded sizes are not shown",
                    c.dir.display(),
                    crate::criterion::ENCODED_SIZES_FILE
                ));
            }
            missing.extend(c.problems.iter().map(|p| format!("unusable criterion file: {p}")));
        }

        let (codec_ratios, unpaired) = evidence::codec_speedups(codec_benches.iter().copied());
        missing.extend(unpaired);
        let mut claim_ratios = evidence::pair_ratios(&points, REST, GRPC);
        claim_ratios.extend(evidence::round_trip_ratios(
            round_trips.iter().copied(),
            REST.name(),
            GRPC.name(),
        ));
        let effects = evidence::effects(&points);
        // The claim's REST is the idiomatic `json`; the other JSON levels on its stack and
        // transport are reported beside it.
        let claim_rest = Variant::CLAIM_REST;
        let other_json: Vec<Ratio> = Variant::ALL
            .into_iter()
            .filter(|v| {
                *v != claim_rest
                    && v.encoding().is_json()
                    && (v.stack(), v.http()) == (claim_rest.stack(), claim_rest.http())
            })
            .flat_map(|v| evidence::pair_ratios(&points, v, GRPC))
            .collect();
        let verdict = verdict::verdict(
            &codec_ratios,
            &claim_ratios,
            &effects,
            &other_json,
            missing.clone(),
        );
        Report {
            inputs,
            missing,
            verdict,
            claim_ratios,
            codec_ratios,
            effects,
            conditions,
            points,
            codec_benches,
            round_trips,
        }
    }
}

/// Gaps in a run: incomplete, failed points, variants or load kinds not measured.
fn run_gaps(run: &RunResults, missing: &mut Vec<String>) {
    if !run.complete {
        missing.push(format!(
            "the run is incomplete ({} points recorded){}",
            run.points.len(),
            if run.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", run.errors.join("; "))
            }
        ));
    } else if !run.errors.is_empty() {
        missing.push(format!("the run reported errors: {}", run.errors.join("; ")));
    }
    let failed: Vec<&PointResult> = run.points.iter().filter(|p| !evidence::is_usable(p)).collect();
    if !failed.is_empty() {
        const SHOWN: usize = 5;
        let list: Vec<String> = failed
            .iter()
            .take(SHOWN)
            .map(|p| {
                format!(
                    "{} ({})",
                    p.id,
                    p.error
                        .clone()
                        .or_else(|| evidence::invalid_reason(p))
                        .unwrap_or_else(|| "no successful request".into())
                )
            })
            .collect();
        let more = if failed.len() > SHOWN {
            format!(" and {} more", failed.len() - SHOWN)
        } else {
            String::new()
        };
        missing.push(format!(
            "{} load point(s) failed or are invalid and are left out of every ratio: {}{more}",
            failed.len(),
            list.join(", ")
        ));
    }
    if run.points.is_empty() {
        missing.push("results.json holds no load points: end-to-end was not measured".into());
        return;
    }
    let usable = |v: Variant| {
        run.points
            .iter()
            .any(|p| p.variant == v && evidence::is_usable(p))
    };
    let absent: Vec<&str> = Variant::ALL
        .iter()
        .filter(|v| !usable(**v))
        .map(|v| v.name())
        .collect();
    if !absent.is_empty() {
        missing.push(format!("no usable load points for {}", absent.join(", ")));
    }
    let has = |f: fn(&PointKind) -> bool| run.points.iter().any(|p| evidence::is_usable(p) && f(&p.point));
    if !has(|k| matches!(LoadKey::of(k), Some(LoadKey::Fixed(_)))) {
        missing.push("no fixed-rate points: latency at equal offered load was not compared".into());
    }
    if !has(|k| *k == PointKind::MaxThroughput) {
        missing.push("no closed-loop points: maximum throughput was not compared".into());
    }
}
