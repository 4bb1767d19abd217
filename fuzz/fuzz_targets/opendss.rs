//! An OpenDSS model as `import_opendss_text` imports it. The input is up to three
//! files separated by NUL bytes: `master.dss`, then `codes.dss` and `coords.csv`, which
//! the master can `Redirect`/`Compile`/`BusCoords` to (the seeds do). Bytes are read as
//! the importer reads a file: lossy UTF-8. A model that imports is also loaded as a
//! network, leniently, so the loader sees well-formed networks of every shape too.
#![no_main]

use faultline::import::{import_opendss_text, Placement};
use faultline::network::{LoadOptions, Network};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["master.dss", "codes.dss", "coords.csv"];

/// The placement the bundled files were made with (feet).
const FEET: Placement = Placement {
    lon: 116.4,
    lat: 39.9,
    metres_per_unit: 0.3048,
};

fuzz_target!(|data: &[u8]| {
    let texts: Vec<String> = data
        .splitn(NAMES.len(), |b| *b == 0)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    let files: Vec<(&str, &str)> = NAMES
        .iter()
        .copied()
        .zip(texts.iter().map(String::as_str))
        .collect();
    if let Ok(imported) = import_opendss_text(&files, &FEET) {
        let lenient = LoadOptions {
            set_aside_invalid: true,
            add_protection: true,
        };
        let _ = Network::from_geojson(&imported.collection.to_string(), &lenient);
    }
});
