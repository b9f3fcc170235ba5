//! `compare.md` and `calibrate.md`: GitHub-flavoured Markdown, readable in a job summary.

use std::fmt::Write as _;

use super::{Calibration, Comparison, Decision, Family, MetricComparison, level_label, p_text, signed_pct};
use crate::format;

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn ci_cell(m: &MetricComparison) -> String {
    let [lo, hi] = m.ci_pct;
    match m.ci_level {
        Some(_) => format!("[{}, {}]", signed_pct(lo), signed_pct(hi)),
        None if lo == hi => "exact".into(),
        None => format!("[{}, {}] (range)", signed_pct(lo), signed_pct(hi)),
    }
}

fn metric_table(out: &mut String, metrics: &[&MetricComparison], with_decision: bool, alpha: f64) {
    let _ = write!(
        out,
        "| metric | base | current | change | simultaneous {} CI | Holm p | ",
        level_label(1.0 - alpha)
    );
    if with_decision {
        out.push_str("decision | ");
    }
    out.push_str("detectable |\n|---|---:|---:|---:|---|---:|");
    if with_decision {
        out.push_str("---|");
    }
    out.push_str("---:|\n");
    for m in metrics {
        let _ = write!(
            out,
            "| `{}` | {} (n={}) | {} (n={}) | {} | {} | {} | ",
            escape(&m.id),
            format::unit_value(m.unit, m.base.value),
            m.base.n,
            format::unit_value(m.unit, m.current.value),
            m.current.n,
            signed_pct(m.change_pct),
            ci_cell(m),
            m.p_holm.map_or_else(|| "—".into(), p_text),
        );
        if with_decision {
            let d = match m.decision {
                Decision::Regressed => "**regressed**",
                Decision::Improved => "improved",
                Decision::Unchanged => "unchanged",
            };
            let _ = write!(out, "{d} | ");
        }
        let _ = writeln!(
            out,
            "{} |",
            m.detectable_pct
                .map_or_else(|| "exact".into(), |d| format!("{} or worse", signed_pct(d)))
        );
    }
}

/// The Markdown of a comparison.
pub fn comparison_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let t = super::threshold_text(c.threshold_pct);
    let headline = match c.verdict {
        super::Verdict::Regression => "❌ regression",
        super::Verdict::NoRegression => "✅ no regression",
    };
    let _ = writeln!(out, "# rpcbench compare: {headline}\n");
    let _ = writeln!(
        out,
        "**{} regressed**, {} improved, {} unchanged of {} metrics — threshold {t}%, \
         Holm–Bonferroni family-wise α = {} over {} sampled metrics; instruction counts are exact.\n",
        c.regressed,
        c.improved,
        c.unchanged,
        c.metrics.len(),
        c.alpha,
        c.tested
    );
    let _ = writeln!(out, "- **BASE** `{}`: {}", c.base.spec, c.base.description);
    let _ = writeln!(
        out,
        "- **CURRENT** `{}`: {}\n",
        c.current.spec, c.current.description
    );

    for (decision, title) in [
        (Decision::Regressed, "Regressions"),
        (Decision::Improved, "Improvements"),
    ] {
        let list: Vec<&MetricComparison> = c.flagged(decision).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {title}\n");
        for m in &list {
            let _ = writeln!(
                out,
                "- `{}` ({}): {} → {}, **{}** — {}.",
                m.id,
                m.label,
                format::unit_value(m.unit, m.base.value),
                format::unit_value(m.unit, m.current.value),
                signed_pct(m.change_pct),
                m.reason
            );
        }
        out.push('\n');
        metric_table(&mut out, &list, false, c.alpha);
        out.push('\n');
    }
    if !c.warnings.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in &c.warnings {
            let _ = writeln!(out, "- {w}");
        }
        out.push('\n');
    }
    let notes: Vec<&MetricComparison> = c.metrics.iter().filter(|m| !m.notes.is_empty()).collect();
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for m in notes {
            for n in &m.notes {
                let _ = writeln!(out, "- `{}`: {n}", m.id);
            }
        }
        out.push('\n');
    }
    for family in [Family::Instructions, Family::Criterion, Family::EndToEnd] {
        let list: Vec<&MetricComparison> = c.metrics.iter().filter(|m| m.family == family).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details><summary>All {} {} metrics</summary>\n",
            list.len(),
            family.label()
        );
        metric_table(&mut out, &list, true, c.alpha);
        out.push_str("\n</details>\n\n");
    }
    let _ = writeln!(
        out,
        "**Rule.** {}\n\n*Simultaneous CI*: each sampled metric's interval is at level 1 − α/m \
         ({}), so all of them hold together with probability ≥ {}; instruction counts are exact \
         (a range when a side has several count files). *Detectable*: the smallest change in the \
         worse direction this comparison could have flagged, given the noise it saw.",
        c.rule,
        level_label(1.0 - c.alpha / c.tested.max(1) as f64),
        level_label(1.0 - c.alpha)
    );
    out
}

/// The Markdown of a calibration.
pub fn calibration_markdown(c: &Calibration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# rpcbench compare --calibrate: A/A false-positive rate\n");
    let _ = writeln!(
        out,
        "{} result sets of the same code, {} pairs, {} metrics per pair (threshold {}%, α = {}).\n",
        c.sets.len(),
        c.pairs,
        c.metrics_per_pair,
        super::threshold_text(c.threshold_pct),
        c.alpha
    );
    let _ = writeln!(
        out,
        "- **Consecutive pairs 1–2, 3–4, …: the gate failed in {} of {}.** They are independent of \
         each other; given each CI job's BASE and HEAD next to each other, they are exactly the \
         gate's in-job comparisons.",
        c.consecutive_pairs_with_regression, c.consecutive_pairs
    );
    let _ = writeln!(
        out,
        "- All pairs: the gate failed in {} of {} ({:.1}%, Wilson 95% interval {:.1}–{:.1}%; pairs \
         sharing a set are not independent). All pairs also compare sets measured in different \
         jobs, i.e. at different times: a high rate here and a low one above means stored \
         baselines are not comparable on this machine — measure both sides in the same job.",
        c.pairs_with_regression,
        c.pairs,
        c.false_positive_rate * 100.0,
        c.false_positive_ci95[0] * 100.0,
        c.false_positive_ci95[1] * 100.0
    );
    let _ = writeln!(
        out,
        "- Pairs with any metric flagged either way: {} of {}.\n",
        c.pairs_with_any_flag, c.pairs
    );
    for w in &c.warnings {
        let _ = writeln!(out, "- ⚠ {w}");
    }
    out.push_str(
        "\n## Per metric\n\n| metric | flagged in pairs | largest A/A change | median detectable |\n\
         |---|---:|---:|---:|\n",
    );
    for m in &c.metrics {
        let _ = writeln!(
            out,
            "| `{}` | {} | ±{} | {} |",
            escape(&m.id),
            m.flagged,
            signed_pct(m.max_abs_change_pct).trim_start_matches('+'),
            m.median_detectable_pct
                .map_or_else(|| "exact".into(), |d| format!("{} or worse", signed_pct(d)))
        );
    }
    let flagged: Vec<_> = c
        .pair_results
        .iter()
        .filter(|p| !p.regressed.is_empty() || !p.improved.is_empty())
        .collect();
    if !flagged.is_empty() {
        out.push_str("\n## Pairs with flags\n\n");
        for p in flagged {
            let _ = writeln!(
                out,
                "- `{}` vs `{}`: regressed {:?}, improved {:?}",
                p.base, p.current, p.regressed, p.improved
            );
        }
    }
    let _ = writeln!(out, "\n**Rule.** {}", c.rule);
    out
}
