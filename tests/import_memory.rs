//! `faultline import` of a long radial OpenDSS chain: heap in line with the model's
//! size (its time is a benchmark: `benches/opendss_chain.py`, BENCHMARKS.md). A test binary of its own, since it counts every allocation the
//! process makes.
//!
//! See: #19. A 200,000-segment chain took 2.7 GB: the collection was a serde_json tree
//! (about 4 KB a feature), copied whole once more by `json!`; and a chain placed from
//! one end took a round per bus over every node.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use faultline::import::{import_opendss, Placement};
use faultline::network::{LoadOptions, Network};

/// The system allocator, counting the bytes held now and at most since a reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the counters are the process's.
static TURN: Mutex<()> = Mutex::new(());

/// A 12.47 kV source and `segments` 100 ft line segments in one chain, with a fused
/// single-phase transformer and a load every 50 segments (as
/// `benches/opendss_chain.py`); bus coordinates for every bus, or for the source only.
fn chain(name: &str, segments: usize, every_bus_placed: bool) -> PathBuf {
    use std::fmt::Write;
    let dir = std::env::temp_dir().join(format!("faultline-chain-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut dss = String::from(
        "Clear\nNew Circuit.chain basekv=12.47 bus1=src\nNew LineCode.ohd nphases=3 units=kft\n",
    );
    let mut xy = String::from("src,0,0\n");
    let mut previous = "src".to_owned();
    for k in 1..=segments {
        let bus = format!("b{k}");
        let _ = writeln!(
            dss,
            "New Line.l{k} bus1={previous} bus2={bus} linecode=ohd length=0.1 units=kft"
        );
        if every_bus_placed {
            let _ = writeln!(xy, "{bus},{},0", k * 100);
        }
        if k % 50 == 0 {
            let _ = writeln!(
                dss,
                "New Line.lat{k} bus1={bus} bus2={bus}_t phases=1 length=20 units=ft\n\
                 New Fuse.f{k} MonitoredObj=Line.lat{k} MonitoredTerm=1\n\
                 New Transformer.t{k} phases=1 windings=2 buses=[{bus}_t {bus}_lv] kvs=[7.2 0.24] kvas=[25 25]\n\
                 New Load.c{k} bus1={bus}_lv phases=1 kv=0.24 kw=3"
            );
        }
        previous = bus;
    }
    dss.push_str("BusCoords chain_xy.csv\n");
    std::fs::write(dir.join("Master.dss"), dss).expect("write");
    std::fs::write(dir.join("chain_xy.csv"), xy).expect("write");
    dir.join("Master.dss")
}

const ATLANTA: Placement = Placement {
    lon: -84.39,
    lat: 33.75,
    metres_per_unit: 0.3048,
};

/// What `faultline import` does with a model: import it, load the result.
fn import_and_load(master: &Path) -> (usize, usize) {
    let imported = import_opendss(master, &ATLANTA).expect("the chain imports");
    let network =
        Network::from_geojson(&imported.geojson, &LoadOptions::default()).expect("the chain loads");
    (imported.geojson.len(), network.node_count())
}

#[test]
fn a_long_chain_imports_in_a_few_times_the_memory_of_its_file() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let master = chain("memory", 20_000, true);
    PEAK.store(HELD.load(Ordering::Relaxed), Ordering::Relaxed);
    let before = HELD.load(Ordering::Relaxed);
    let (text, nodes) = import_and_load(&master);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(nodes, 21_201);
    // The file is 10.9 MB. As a serde_json tree (and its copy) the peak was 220 MB,
    // twenty times the file; as text, 42 MB, under four times.
    assert!(
        peak < 6 * text,
        "peak heap {} MB for a {} MB file",
        peak >> 20,
        text >> 20
    );
    let _ = std::fs::remove_dir_all(master.parent().unwrap());
}
