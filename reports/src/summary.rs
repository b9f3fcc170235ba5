//! The JSON sink: `summary.json`, the verdict and headline ratios, machine-readable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::evidence::{EffectRatios, Ratio};
use crate::model::Inputs;
use crate::schema::{SCHEMA_VERSION, Versioned};
use crate::sink::{ReportError, ReportSink};
use crate::verdict::Verdict;

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub inputs: SummaryInputs,
    /// Status, sentence, extremes per metric (each a ratio with spread and source), missing.
    pub verdict: Option<Verdict>,
    /// Every effect of the factorial design with all its ratios.
    pub effects: Vec<SummaryEffect>,
    /// TLS, compression and connection mode: measurements per condition, factor costs and how
    /// the claim's ratio moves with each (absent when the run measured the plain condition only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<crate::conditions::ConditionsView>,
}

impl Versioned for Summary {
    fn schema_version(&self) -> u32 {
        self.schema_version
    }
}

/// Where the summary's numbers came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SummaryInputs {
    pub results_json: Option<PathBuf>,
    pub criterion_dir: Option<PathBuf>,
    pub scenario_name: Option<String>,
    pub run_complete: Option<bool>,
    pub git_commit: Option<String>,
    pub started_at: Option<String>,
}

/// One effect (pair of variants that differ in one factor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryEffect {
    pub name: String,
    pub baseline: String,
    pub candidate: String,
    pub ratios: Vec<Ratio>,
}

/// The JSON sink.
#[derive(Debug)]
pub struct JsonSink {
    summary: Summary,
}

impl Default for JsonSink {
    fn default() -> Self {
        JsonSink {
            summary: Summary {
                schema_version: SCHEMA_VERSION,
                inputs: SummaryInputs::default(),
                verdict: None,
                effects: vec![],
                conditions: None,
            },
        }
    }
}

impl JsonSink {
    pub fn new() -> JsonSink {
        JsonSink::default()
    }
}

impl ReportSink for JsonSink {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }

    fn verdict(&mut self, verdict: &Verdict, _claim: &[Ratio]) {
        self.summary.verdict = Some(verdict.clone());
    }

    fn effects(&mut self, effects: &[EffectRatios]) {
        self.summary.effects = effects
            .iter()
            .map(|e| SummaryEffect {
                name: e.effect.name.clone(),
                baseline: e.effect.baseline.to_string(),
                candidate: e.effect.candidate.to_string(),
                ratios: e.ratios.clone(),
            })
            .collect();
    }

    fn conditions(&mut self, conditions: &crate::conditions::ConditionsView) {
        self.summary.conditions = Some(conditions.clone());
    }

    fn method(&mut self, inputs: &Inputs) {
        let run = inputs.run.as_ref();
        self.summary.inputs = SummaryInputs {
            results_json: inputs.results_path.clone(),
            criterion_dir: inputs.criterion.as_ref().map(|c| c.dir.clone()),
            scenario_name: run.map(|r| r.scenario_name.clone()),
            run_complete: run.map(|r| r.complete),
            git_commit: run.and_then(|r| r.provenance.git_commit.clone()),
            started_at: run.map(|r| r.provenance.started_at.clone()),
        };
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, ReportError> {
        serde_json::to_vec_pretty(&self.summary).map_err(|source| ReportError::Serialize {
            what: "summary.json",
            source,
        })
    }
}
