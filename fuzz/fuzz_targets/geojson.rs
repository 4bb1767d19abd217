//! A network file as `Network::from_geojson` loads it, strictly and leniently
//! (offending features set aside, lateral fuses added). Input that is not UTF-8 is
//! skipped: `from_geojson` takes text, and the file reader feeds the same parser.
#![no_main]

use faultline::network::{LoadOptions, Network};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = LoadOptions::default();
    let lenient = LoadOptions {
        set_aside_invalid: true,
        add_protection: true,
    };
    let _ = Network::from_geojson(text, &strict);
    let _ = Network::from_geojson(text, &lenient);
});
