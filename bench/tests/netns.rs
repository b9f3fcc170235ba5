//! Network labs for real: namespaces, a shaped link, teardown. These tests need root (CI runs as
//! root); without it they print why and skip.

use std::time::Duration;

use rpcbench::netns::{Emulation, Lab, LinkProfile, live_namespace_ids};

fn exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_rpcbench"))
}

fn root() -> bool {
    if rpcbench::netns::is_root() {
        true
    } else {
        eprintln!("SKIPPED: needs root (network namespaces, TUN, tc); CI runs these as root");
        false
    }
}

/// A shaped profile really shapes: bulk bandwidth within ±15% of the rate and the RTT floor
/// within ±20% of the configured RTT; every namespace is gone after the lab is dropped.
#[test]
fn shaped_link_has_the_configured_rate_and_rtt() {
    if !root() {
        return;
    }
    let profile = LinkProfile::parse("t:rate=40mbit,rtt=20ms").unwrap();
    let lab = Lab::create(&profile, &exe()).unwrap();
    let ids = [lab.client().id().to_owned(), lab.server().id().to_owned()];
    assert!(live_namespace_ids().contains(&ids[0]));
    let (cq, sq) = lab.qdiscs().unwrap();
    assert!(cq.contains("tbf") && sq.contains("tbf"), "{cq}\n{sq}");
    if lab.emulation() == Emulation::Netem {
        assert!(cq.contains("netem") && sq.contains("netem"), "{cq}\n{sq}");
    }
    let rtt = lab.measure_rtt(Duration::from_millis(500)).unwrap();
    let bw = lab.measure_bandwidth(true, Duration::from_millis(2000)).unwrap();
    let bw_down = lab.measure_bandwidth(false, Duration::from_millis(2000)).unwrap();
    eprintln!(
        "configured 40 Mbit/s, 20 ms; measured up {:.1} Mbit/s, down {:.1} Mbit/s, RTT min {:.2} ms p50 {:.2} ms ({} samples), {:?}",
        bw / 1e6,
        bw_down / 1e6,
        rtt.min_ns as f64 / 1e6,
        rtt.p50_ns as f64 / 1e6,
        rtt.samples,
        lab.emulation()
    );
    let mut lab = lab;
    let stats = lab.finish().unwrap();
    eprintln!("delay line: {stats:?}");
    drop(lab);
    assert!(
        (34e6..=46e6).contains(&bw),
        "up {bw} bit/s not within 15% of 40 Mbit/s"
    );
    assert!(
        (34e6..=46e6).contains(&bw_down),
        "down {bw_down} bit/s not within 15% of 40 Mbit/s"
    );
    let rtt_ms = rtt.min_ns as f64 / 1e6;
    assert!(
        (16.0..=24.0).contains(&rtt_ms),
        "RTT floor {rtt_ms} ms not within 20% of 20 ms"
    );
    let live = live_namespace_ids();
    assert!(
        !live.contains(&ids[0]) && !live.contains(&ids[1]),
        "a lab namespace outlived the lab"
    );
}
