//! Event bodies as `POST /api/v1/events` reads them (NDJSON, one JSON event, or a JSON
//! array of events) and as the event log replays them. Beyond "never panics": every
//! event accepted must come back from its canonical form (`to_json`) as the same
//! event, since that form is what the log stores and replays.
#![no_main]

use faultline::events::{parse_line, parse_ndjson, Event};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The API refuses a body that is not UTF-8 before any parser sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(events) = parse_ndjson(text) {
        events.iter().for_each(replays);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|v| Event::parse(v).ok())
            .for_each(|e| replays(&e)),
        Ok(single) => {
            if let Ok(e) = Event::parse(&single) {
                replays(&e);
            }
        }
        Err(_) => {}
    }
});

fn replays(event: &Event) {
    let stored = event.to_json();
    let again = parse_line(&stored).unwrap_or_else(|e| panic!("{stored} does not parse: {e}"));
    assert_eq!(&again, event, "{stored}");
}
