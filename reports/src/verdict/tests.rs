//! The verdict rule on synthetic data.

use super::*;
use crate::evidence::{self, Effect, Exclusion, GRPC, REST, codec_speedups, pair_ratios};
use crate::schema::{LatencyStats, PointKind, PointResult, Rpc};
use crate::synthetic::{PointSpec, codec_bench, point};
use rpcbench_model::{CodecOp, Encoding, Shape, Variant};

const RATE: f64 = 1000.0;

/// Points of one workload: per repetition, `variant`'s latency and CPU are `x[rep]` times
/// gRPC's (about 50 µs), at the closed-loop point and at an equal rate.
fn variant_points(variant: Variant, rpc: Rpc, shape: &str, size: u64, x: &[f64]) -> Vec<PointResult> {
    let mut out = Vec::new();
    for (rep, f) in x.iter().enumerate() {
        for kind in [PointKind::MaxThroughput, PointKind::FixedRate { rate_rps: RATE }] {
            let jitter = 1.0 + 0.01 * rep as f64;
            let mut spec = PointSpec::new(variant, shape, size, kind, 50_000.0 * f * jitter);
            spec.rpc = rpc;
            spec.repetition = rep as u32;
            out.push(point(&spec));
        }
    }
    out
}

/// The claim pair on one workload: REST is `x[rep]` times slower than gRPC.
fn workload(rpc: Rpc, shape: &str, size: u64, x: &[f64]) -> Vec<PointResult> {
    let mut points = variant_points(GRPC, rpc, shape, size, &vec![1.0; x.len()]);
    points.extend(variant_points(REST, rpc, shape, size, x));
    points
}

fn judge(points: &[PointResult]) -> Verdict {
    verdict(
        &[],
        &pair_ratios(points, REST, GRPC),
        &evidence::effects(points),
        &[],
        vec![],
    )
}

fn class_of<'a>(v: &'a Verdict, w: &str) -> &'a WorkloadVerdict {
    v.workloads
        .iter()
        .find(|x| x.workload == w)
        .unwrap_or_else(|| panic!("no {w} in {:?}", v.workloads))
}

#[test]
fn median_above_the_factor_with_a_low_end_below_it_does_not_count() {
    // Repetitions 6x, 9x, 12x: the typical ratio is ~8.7x, but its interval reaches far below 8.
    let points = workload(Rpc::Upload, "mesh", 262_144, &[6.0, 9.0, 12.0]);
    let v = judge(&points);
    let w = class_of(&v, "upload mesh 256KiB");
    let best = w.best.as_ref().unwrap();
    assert!(best.value > CLAIM_FACTOR, "{}", best.value);
    assert!(best.low < CLAIM_FACTOR, "{}", best.low);
    assert!(matches!(best.spread, evidence::Spread::RepetitionCi { .. }));
    assert_eq!(w.class, WorkloadClass::DoesNotHold);
    assert_eq!(v.status, ClaimStatus::False, "{}", v.sentence);
    assert!(v.reaching_factor.is_empty());
}

#[test]
fn one_workload_of_three_reaching_the_factor_is_true_only_for_it() {
    let mut points = workload(Rpc::Echo, "small", 256, &[1.3, 1.35, 1.4]);
    points.extend(workload(Rpc::Fetch, "nested", 16_384, &[2.0, 2.1, 2.2]));
    points.extend(workload(Rpc::Upload, "mesh", 262_144, &[11.0, 11.2, 11.4]));
    let v = judge(&points);
    assert_eq!(v.status, ClaimStatus::TrueOnlyFor, "{}", v.sentence);
    assert_eq!(class_of(&v, "upload mesh 256KiB").class, WorkloadClass::Holds);
    assert_eq!(class_of(&v, "echo small 256B").class, WorkloadClass::DoesNotHold);
    assert_eq!(
        class_of(&v, "fetch nested 16KiB").class,
        WorkloadClass::DoesNotHold
    );
    assert!(
        v.sentence.starts_with(
            "True only for some workloads: grpc-proto-h2 is 8x or more faster than rest-json-h1 for upload mesh 256KiB"
        ),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("not for echo small 256B"), "{}", v.sentence);
    assert!(v.reaching_factor.iter().all(|r| r.low >= CLAIM_FACTOR));

    // A preset with only two of the workloads gives them the same classes.
    let subset: Vec<PointResult> = points
        .iter()
        .filter(|p| p.workload.shape != Shape::Nested)
        .cloned()
        .collect();
    let v2 = judge(&subset);
    for w in &v2.workloads {
        assert_eq!(w.class, class_of(&v, &w.workload).class, "{}", w.workload);
    }
    let only_small: Vec<PointResult> = points
        .iter()
        .filter(|p| p.workload.shape == Shape::Small)
        .cloned()
        .collect();
    assert_eq!(judge(&only_small).status, ClaimStatus::False);
}

#[test]
fn every_workload_reaching_is_true_in_general_and_names_the_carrying_factor() {
    let mut points = workload(Rpc::Upload, "mesh", 262_144, &[10.0, 10.1, 10.2]);
    // The factorial variants: encoding carries 8x, transport and framework ~1.1x each.
    let chain = Effect::chain();
    let [encoding, transport, framework] = &chain[..] else {
        panic!("the claim's chain has three steps: {chain:?}");
    };
    points.extend(variant_points(
        encoding.candidate,
        Rpc::Upload,
        "mesh",
        262_144,
        &[1.25, 1.26, 1.27],
    ));
    points.extend(variant_points(
        transport.candidate,
        Rpc::Upload,
        "mesh",
        262_144,
        &[1.12, 1.13, 1.14],
    ));
    assert_eq!(framework.candidate, GRPC);
    let v = judge(&points);
    assert_eq!(v.status, ClaimStatus::TrueInGeneral, "{}", v.sentence);
    let w = class_of(&v, "upload mesh 256KiB");
    let f = w.carried_by.as_ref().expect("a carrying factor");
    assert_eq!(f.effect, encoding.name);
    assert_eq!(f.factor, "encoding");
    assert!(f.ratio.value > 7.0, "{}", f.ratio.value);
    assert!(
        v.sentence.contains("carried mostly by encoding"),
        "{}",
        v.sentence
    );
}

/// When a faster JSON library alone (json → sonic on the claim's REST stack) moves more than
/// any step of the claim's chain, the verdict names the JSON library; the other JSON levels
/// against gRPC are reported beside the claim and never decide it.
#[test]
fn a_json_library_that_moves_most_is_named_and_other_json_levels_are_reported_beside() {
    use rpcbench_model::Variant;
    let (rpc, shape, size) = (Rpc::Upload, "mesh", 262_144);
    let mut points = workload(rpc, shape, size, &[10.0, 10.1, 10.2]);
    // rest-proto-h1 ~1.2x gRPC: encoding ~8.3x, transport and framework ~1.1x; sonic ~1.05x
    // gRPC, so json → sonic alone is ~9.5x.
    for (v, x) in [
        (Variant::RestProtoH1, [1.2, 1.21, 1.22]),
        (Variant::RestProtoH2, [1.15, 1.16, 1.17]),
        (Variant::RestSonicH1, [1.05, 1.06, 1.07]),
    ] {
        points.extend(variant_points(v, rpc, shape, size, &x));
    }
    let other: Vec<Ratio> = pair_ratios(&points, Variant::RestSonicH1, GRPC);
    let v = verdict(
        &[],
        &pair_ratios(&points, REST, GRPC),
        &evidence::effects(&points),
        &other,
        vec![],
    );
    assert_eq!(v.status, ClaimStatus::TrueInGeneral, "{}", v.sentence);
    let w = class_of(&v, "upload mesh 256KiB");
    let f = w.carried_by.as_ref().expect("a carrying factor");
    assert_eq!(f.factor, "json library", "{}", v.sentence);
    assert!(
        v.sentence
            .contains("carried mostly by JSON library (REST, HTTP/1.1, json → sonic)"),
        "{}",
        v.sentence
    );
    // sonic vs gRPC at the deciding point: about 1.05x, beside the claim, not deciding it.
    assert_eq!(w.other_json.len(), 1, "{:?}", w.other_json);
    assert_eq!(w.other_json[0].source.baseline, Variant::RestSonicH1.name());
    assert!(w.other_json[0].value < 1.5, "{}", w.other_json[0].value);
    assert!(
        v.sentence.contains("other JSON levels: rest-sonic-h1 "),
        "{}",
        v.sentence
    );
}

#[test]
fn missing_data_is_not_determined() {
    let v = verdict(
        &[],
        &[],
        &[],
        &[],
        vec!["results.json holds no load points".into()],
    );
    assert_eq!(v.status, ClaimStatus::NotDetermined);
    assert!(
        v.sentence.contains("results.json holds no load points"),
        "{}",
        v.sentence
    );

    // One repetition a side: no interval, so even 20x decides nothing.
    let points = workload(Rpc::Upload, "mesh", 262_144, &[20.0]);
    let v = judge(&points);
    let w = class_of(&v, "upload mesh 256KiB");
    assert_eq!(w.class, WorkloadClass::NotDetermined);
    assert!(w.counted.is_empty() && !w.without_interval.is_empty());
    assert_eq!(v.status, ClaimStatus::NotDetermined, "{}", v.sentence);

    // A determined workload that does not hold next to an undetermined one: nothing holds, and
    // data is missing, so not determined (never "false" on partial evidence).
    let mut points = workload(Rpc::Echo, "small", 256, &[1.3, 1.35, 1.4]);
    points.extend(workload(Rpc::Upload, "mesh", 262_144, &[20.0]));
    assert_eq!(judge(&points).status, ClaimStatus::NotDetermined);
}

#[test]
fn client_bound_point_is_flagged_and_decides_nothing() {
    let mut points = workload(Rpc::Echo, "small", 256, &[1.3, 1.35, 1.4]);
    // gRPC's closed-loop points saturated the generator, not the server, and show a 10x throughput.
    for p in points.iter_mut() {
        if p.variant == GRPC && p.point == PointKind::MaxThroughput {
            p.load.summary.client_cpu_utilization = Some(0.97);
            p.server.cpu_utilization = Some(0.4);
            p.load.summary.achieved_rps *= 10.0;
        }
    }
    let flagged: Vec<&PointResult> = points.iter().filter(|p| evidence::client_bound(p)).collect();
    assert_eq!(flagged.len(), 3);
    assert!(
        flagged
            .iter()
            .all(|p| evidence::exclusion(p) == Some(Exclusion::ClientBound))
    );
    assert!(Exclusion::ClientBound.describe().contains("client-bound"));
    let v = judge(&points);
    let w = class_of(&v, "echo small 256B");
    assert!(
        w.counted.iter().all(|r| r.metric != Metric::MaxThroughput),
        "{:?}",
        w.counted
    );
    assert_eq!(w.class, WorkloadClass::DoesNotHold);
    assert_eq!(v.status, ClaimStatus::False, "{}", v.sentence);
}

#[test]
fn schedule_that_slipped_keeps_latency_out() {
    let mut points = workload(Rpc::Echo, "small", 256, &[1.3, 1.35, 1.4]);
    for p in points.iter_mut().filter(|p| p.variant == REST) {
        if let PointKind::FixedRate { .. } = p.point {
            let mut spec = PointSpec::new(REST, "small", 256, p.point.clone(), 65_000.0);
            spec.repetition = p.repetition;
            spec.pacer_lag_ns = Some(2_000_000);
            *p = point(&spec);
        }
    }
    let slipped: Vec<&PointResult> = points
        .iter()
        .filter(|p| evidence::exclusion(p) == Some(Exclusion::ScheduleSlipped))
        .collect();
    assert_eq!(slipped.len(), 3);
    let ratios = pair_ratios(&points, REST, GRPC);
    assert!(
        !ratios
            .iter()
            .any(|r| matches!(r.metric, Metric::LatencyP50 | Metric::LatencyP99)),
        "latency from slipped points: {ratios:?}"
    );
    assert!(ratios.iter().any(|r| r.metric == Metric::ServerThroughput));
}

#[test]
fn schedule_is_judged_against_the_machines_timer_floor() {
    // 2 ms of pacer lag at p99, every send late by > 1 ms: slipped on its own…
    let mut spec = PointSpec::new(
        REST,
        "small",
        256,
        PointKind::FixedRate { rate_rps: 1000.0 },
        65_000.0,
    );
    spec.pacer_lag_ns = Some(2_000_000);
    let mut p = point(&spec);
    assert_eq!(evidence::exclusion(&p), Some(Exclusion::ScheduleSlipped));
    let floor = |p99_ns: u64, late_share: f64, p: &mut PointResult| {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        h.record_n(p99_ns, 1000).unwrap();
        let s = &mut p.load.summary;
        s.pacer_release_late = Some(LatencyStats::from_histogram(&h));
        s.late_releases = Some((late_share * 1000.0) as u64);
    };
    // …kept when the pacer thread itself woke 1 ms late as often: two such wake-ups allow 2.1 ms…
    floor(1_000_000, 1.0, &mut p);
    assert_eq!(evidence::exclusion(&p), None);
    // …but not when the machine's floor was 0.5 ms: the client added lag of its own.
    floor(500_000, 1.0, &mut p);
    assert_eq!(evidence::exclusion(&p), Some(Exclusion::ScheduleSlipped));
    // A low p99 floor with few late releases does not excuse every send being late.
    floor(1_000_000, 0.0, &mut p);
    assert_eq!(evidence::exclusion(&p), Some(Exclusion::ScheduleSlipped));
}

#[test]
fn serialization_is_stated_beside_the_verdict() {
    let mut benches = Vec::new();
    for (op, x) in [(CodecOp::Encode, 12.0), (CodecOp::Decode, 3.0)] {
        benches.push(codec_bench(op, Encoding::Protobuf, Shape::Mesh, 262_144, 1000.0));
        benches.push(codec_bench(op, Encoding::Json, Shape::Mesh, 262_144, 1000.0 * x));
    }
    let (codec, missing) = codec_speedups(&benches);
    assert!(missing.is_empty());
    let points = workload(Rpc::Upload, "mesh", 262_144, &[2.0, 2.1, 2.2]);
    let v = verdict(
        &codec,
        &pair_ratios(&points, REST, GRPC),
        &evidence::effects(&points),
        &[],
        vec![],
    );
    // Serialization alone reaching 12x does not make the stacks 8x apart.
    assert_eq!(v.status, ClaimStatus::False, "{}", v.sentence);
    assert!(
        v.sentence.contains("serialization alone reaches 8x"),
        "{}",
        v.sentence
    );
    let w = class_of(&v, "upload mesh 256KiB");
    assert_eq!(w.serialization.as_ref().unwrap().value, 12.0);
    assert_eq!(v.encode.as_ref().unwrap().largest.value, 12.0);
}
