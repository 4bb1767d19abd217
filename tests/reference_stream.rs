//! The engine's output, byte for byte: `faultline replay` of two committed storms must
//! give the committed streams exactly (see tests/data/reference/README.md). A change
//! meant to alter the stream rewrites them with `FAULTLINE_BLESS=1` and says why.

use std::path::{Path, PathBuf};

use faultline::engine::{Engine, EngineOptions};
use faultline::input::{apply_all, load_network, read_events};

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reference")
        .join(name)
}

/// Replay `events` on `network` as `faultline replay` does and compare with `stream`.
fn replays_to(network: &str, add_protection: bool, events: &str, stream: &str) {
    let network = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("gis-data")
        .join(network);
    let network = load_network(&network, add_protection, false).unwrap();
    let file = read_events(&reference(events), chrono::Utc::now()).unwrap();
    assert!(file.set_aside.is_empty(), "{:?}", file.set_aside);
    let mut out = String::new();
    let engine = Engine::new(network, EngineOptions::default());
    apply_all(engine, &file, |o| {
        o.push_json(&mut out);
        out.push('\n');
        Ok::<_, ()>(())
    })
    .unwrap();
    let expected_path = reference(stream);
    if std::env::var_os("FAULTLINE_BLESS").is_some() {
        std::fs::write(&expected_path, &out).unwrap();
        eprintln!("wrote {}", expected_path.display());
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    if out != expected {
        let (n, (got, want)) = out
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(n, pair)| (n + 1, pair))
            .unwrap_or((
                out.lines().count().min(expected.lines().count()) + 1,
                ("(end)", "(end)"),
            ));
        panic!(
            "the replay of {events} differs from {stream} at message {n} \
             ({} messages against {}):\n got: {got}\nwant: {want}",
            out.lines().count(),
            expected.lines().count()
        );
    }
}

#[test]
fn ieee123_with_three_crews_replays_to_its_reference_stream() {
    replays_to(
        "ieee123.geojson",
        true,
        "ieee123-crews.events.ndjson",
        "ieee123-crews.stream.ndjson",
    );
}

#[test]
fn a_bdgd_storm_with_noise_and_crews_replays_to_its_reference_stream() {
    replays_to(
        "bdgd_mux_energia.geojson",
        false,
        "bdgd-storm.events.ndjson",
        "bdgd-storm.stream.ndjson",
    );
}
