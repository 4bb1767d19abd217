//! `faultline bench network`: how long `faultline serve` takes to load a network file,
//! and how much memory it needs, for the largest bundled network and for a synthetic
//! network of a million customers.
//!
//! # What is measured
//! For each file, three phases, each in a **child process** of this executable (the
//! hidden `bench network-load-once FILE`), so that the child's peak resident memory
//! (`VmHWM`, see [`super::usage`]) belongs to that phase alone:
//! - the **baseline**: `serde_json::from_str::<serde_json::Value>` of the text, the
//!   least any loader that looks at every byte of the JSON must do;
//! - the **load**, as `serve` does it: [`Network::from_geojson_reader`] on the file,
//!   read as a stream one feature at a time, with the options `serve` uses by default
//!   (validate, build the graph, trace feeders and device chains, count customers
//!   below every device, build the spatial index). The goal is judged on this one;
//! - the same load from the **text in memory** ([`Network::from_geojson`]), for
//!   comparison: its peak memory includes the whole text.
//!
//! Reading the file whole is timed apart (the streamed load reads as it goes). The
//! ratio load ÷ parse says how much the network model costs over reading JSON at all.
//! After the load, and the text dropped and freed heap handed back, two more figures:
//! the resident memory (what the process keeps) and the live heap (what the loaded
//! network needs); the difference is fragmentation left by the transient parse.
//!
//! # The synthetic network
//! A million-customer utility is made by **replicating the real BDGD network** (both
//! feeders from their substation, every LV network and customer) K times, K the least
//! that reaches the customers asked for. Copy `k` has every id and every reference to
//! an id (`from`, `to`, `bus`, `transformer`, `account`, and BDGD's own `feeder`)
//! suffixed with `~k`, its own substations, and its coordinates shifted so the copies
//! sit side by side on a grid, apart from each other. The result is a valid contract
//! file (CONTRACT section 1), which the load phase proves: it refuses anything else.
//! The copies are connected to nothing, so the graph is K copies of a real topology:
//! the same depth, fan-out and customer density as the real network, K times over.
//!
//! BDGD features carry many attributes faultline does not read (yearly outage
//! indices, energy, source codes); with `--lean` the copies keep only the properties
//! the contract names, to show how much of the cost is the file's bulk rather than the
//! network.
//!
//! The file is written to a temporary directory and removed at the end, unless
//! `--keep-as PATH` names where to keep it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scratch::ScratchDir;
use super::usage;
use crate::network::{LoadOptions, Network};

/// The size of network the Foundation issue sets goals for.
const GOAL_CUSTOMERS: u64 = 1_000_000;
/// The goal of the Foundation issue for a million-customer network: read + load.
const GOAL_LOAD: Duration = Duration::from_secs(3);
/// The goal for peak memory while loading, in bytes (1 GB).
const GOAL_PEAK_BYTES: u64 = 1_000_000_000;

/// Properties that name another feature's id: suffixed in each copy. `feeder` is not
/// a contract property but BDGD's (it names the feeder head edge); suffixing it keeps
/// the copies honest for anyone who reads it.
const REFERENCE_PROPERTIES: [&str; 6] = ["from", "to", "bus", "transformer", "account", "feeder"];

/// The properties CONTRACT section 1 names: the only ones `--lean` keeps.
const CONTRACT_PROPERTIES: [&str; 15] = [
    "id",
    "kind",
    "name",
    "from",
    "to",
    "bus",
    "transformer",
    "customers",
    "critical",
    "account",
    "normally_open",
    "voltage_kv",
    "feeder_head",
    "subtype",
    "zone",
];

/// `faultline bench network`.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// The real network: measured itself, and replicated into the synthetic one.
    #[arg(long, default_value = "gis-data/bdgd_mux_energia.geojson")]
    pub network: PathBuf,
    /// Customers the synthetic network must have at least (0: measure only the real one).
    #[arg(long, default_value_t = 1_000_000)]
    pub customers: u64,
    /// Keep only the properties the contract names in the synthetic copies.
    #[arg(long)]
    pub lean: bool,
    /// Keep the synthetic file at this path (default: a temporary file, removed).
    #[arg(long)]
    pub keep_as: Option<PathBuf>,
}

/// `faultline bench network-load-once` (hidden): one phase in this process.
#[derive(Debug, Clone, Args)]
pub struct LoadOnceArgs {
    /// The network file.
    pub file: PathBuf,
    /// Only parse the text into a `serde_json::Value` (the baseline).
    #[arg(long)]
    pub parse_only: bool,
    /// Load the way `serve` does: straight from the file, never holding its whole text.
    #[arg(long, conflicts_with = "parse_only")]
    pub stream: bool,
}

/// What one phase measured; the child prints it as one JSON line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseFigures {
    /// Size of the file.
    pub file_bytes: u64,
    /// Reading the file into a `String`.
    pub read_ms: f64,
    /// Parsing (baseline) or loading it.
    pub work_ms: f64,
    /// The process's peak resident memory (`VmHWM`), text included.
    pub peak_rss_kib: Option<u64>,
    /// Resident memory after dropping the text and handing freed heap back to the
    /// system, with the result still held: what the process keeps.
    pub rss_after_kib: Option<u64>,
    /// Heap bytes still allocated at that point: what the result itself needs.
    pub heap_after_bytes: Option<u64>,
    /// What was loaded (the load phase only).
    pub network: Option<LoadedCounts>,
}

/// Counts of a loaded network, to check a synthetic file is the copies it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedCounts {
    /// Graph nodes.
    pub nodes: usize,
    /// Graph edges.
    pub edges: usize,
    /// Service points (customer features).
    pub service_points: usize,
    /// Customers, counting aggregates.
    pub customers: u64,
    /// Feeders the trace found.
    pub feeders: usize,
    /// Protective devices.
    pub devices: usize,
}

/// Run one phase in this process and print its figures as one JSON line on stdout.
pub fn load_once(args: &LoadOnceArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let text = if args.stream {
        String::new()
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let read = started.elapsed();
    let file_bytes = std::fs::metadata(&args.file)
        .map(|m| m.len())
        .unwrap_or(text.len() as u64);

    let started = Instant::now();
    let (held, network): (Box<dyn std::any::Any>, Option<LoadedCounts>) = if args.parse_only {
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing {} as JSON", args.file.display()))?;
        (Box::new(value), None)
    } else {
        let net = if args.stream {
            let file = std::fs::File::open(&args.file)
                .with_context(|| format!("opening {}", args.file.display()))?;
            Network::from_geojson_reader(file, &LoadOptions::default())
        } else {
            Network::from_geojson(&text, &LoadOptions::default())
        }
        .with_context(|| format!("loading {}", args.file.display()))?;
        let s = net.summary();
        let counts = LoadedCounts {
            nodes: s.nodes,
            edges: s.edges,
            service_points: s.service_points,
            customers: s.customers,
            feeders: s.feeders,
            devices: net.device_count(),
        };
        (Box::new(net), Some(counts))
    };
    let work = started.elapsed();
    let peak_rss_kib = usage::peak_rss_kib();
    drop(text);
    usage::release_free_heap();
    let rss_after_kib = usage::rss_kib();
    let heap_after_bytes = usage::heap_in_use_bytes();
    let figures = PhaseFigures {
        file_bytes,
        read_ms: ms(read),
        work_ms: ms(work),
        peak_rss_kib,
        rss_after_kib,
        heap_after_bytes,
        network,
    };
    println!("{}", serde_json::to_string(&figures)?);
    drop(held);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Run `bench network-load-once` on `file` in a child process of this executable.
fn phase_in_child(file: &Path, phase: Phase) -> anyhow::Result<PhaseFigures> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut command = Command::new(exe);
    command.args(["bench", "network-load-once"]).arg(file);
    match phase {
        Phase::Parse => command.arg("--parse-only"),
        Phase::Stream => command.arg("--stream"),
        Phase::Text => &mut command,
    };
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running the measuring child process")?;
    if !output.status.success() {
        bail!(
            "the child measuring {} failed ({})",
            file.display(),
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the measuring child printed no figures")?;
    serde_json::from_str(line).context("reading the measuring child's figures")
}

/// What a child process measures.
#[derive(Clone, Copy)]
enum Phase {
    /// The baseline JSON parse of the text.
    Parse,
    /// The network loaded from the file as a stream, as `serve` does.
    Stream,
    /// The network loaded from the whole text in memory.
    Text,
}

/// The phases of one file.
struct FileFigures {
    parse: PhaseFigures,
    load: PhaseFigures,
    load_text: PhaseFigures,
    counts: LoadedCounts,
}

fn measure(file: &Path) -> anyhow::Result<FileFigures> {
    // Read the file once first, so both phases find it in the page cache alike.
    std::io::copy(
        &mut File::open(file).with_context(|| format!("opening {}", file.display()))?,
        &mut std::io::sink(),
    )?;
    let parse = phase_in_child(file, Phase::Parse)?;
    let load = phase_in_child(file, Phase::Stream)?;
    let load_text = phase_in_child(file, Phase::Text)?;
    let counts = load
        .network
        .context("the load phase reported no network counts")?;
    if load_text.network.as_ref() != Some(&counts) {
        bail!("the network loaded from the text is not the one read as a stream");
    }
    Ok(FileFigures {
        parse,
        load,
        load_text,
        counts,
    })
}

/// `faultline bench network`.
pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    println!("{}", super::machine_line());
    println!("bench network: each phase in its own child process; times are wall clock");
    let real = measure(&args.network)?;
    print_file(&args.network.display().to_string(), &real, None);

    if args.customers == 0 {
        return Ok(());
    }
    let per_copy = real.counts.customers.max(1);
    let copies = args.customers.div_ceil(per_copy) as usize;
    let scratch = ScratchDir::new("network")?;
    let path = match &args.keep_as {
        Some(p) => p.clone(),
        None => scratch.path().join(format!("synthetic-{copies}x.geojson")),
    };
    let started = Instant::now();
    let grid = replicate_file(&args.network, copies, args.lean, &path)?;
    println!(
        "\nsynthetic: {copies} copies of {} ({}), {} grid, {} customers asked; written in {:.1} s to {}",
        args.network.display(),
        if args.lean { "contract properties only" } else { "all properties" },
        grid,
        args.customers,
        started.elapsed().as_secs_f64(),
        path.display()
    );
    let synthetic = measure(&path)?;
    let expected = LoadedCounts {
        nodes: real.counts.nodes * copies,
        edges: real.counts.edges * copies,
        service_points: real.counts.service_points * copies,
        customers: real.counts.customers * copies as u64,
        feeders: real.counts.feeders * copies,
        devices: real.counts.devices * copies,
    };
    if synthetic.counts != expected {
        bail!(
            "the synthetic network is not {copies} copies of the real one: expected {expected:?}, loaded {:?}",
            synthetic.counts
        );
    }
    println!("check: the synthetic network loads as exactly {copies} copies (nodes, edges, customers, feeders, devices)");
    print_file("synthetic", &synthetic, Some(&real));
    Ok(())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// Print one file's table, with the goal verdict for a synthetic file.
fn print_file(name: &str, f: &FileFigures, real: Option<&FileFigures>) {
    let c = &f.counts;
    let mb = f.load.file_bytes as f64 / 1e6;
    println!(
        "\n{name}: {:.1} MB, {} customers ({} service points), {} nodes, {} edges, {} feeders, {} protective devices",
        mb, c.customers, c.service_points, c.nodes, c.edges, c.feeders, c.devices
    );
    println!(
        "  {:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "phase", "read", "work", "read+work", "peak RSS", "RSS after", "heap after"
    );
    for (label, p) in [
        ("baseline: serde_json::Value parse", &f.parse),
        ("load as serve does (streamed)", &f.load),
        ("load from the text in memory", &f.load_text),
    ] {
        println!(
            "  {:<34} {:>7.0} ms {:>7.0} ms {:>7.0} ms {:>10} {:>10} {:>10}",
            label,
            p.read_ms,
            p.work_ms,
            p.read_ms + p.work_ms,
            mib(p.peak_rss_kib),
            mib(p.rss_after_kib),
            mib(p.heap_after_bytes.map(|b| b / 1024))
        );
    }
    let ratio = f.load.work_ms / f.parse.work_ms.max(1e-9);
    let peak_ratio = match (f.load.peak_rss_kib, f.parse.peak_rss_kib) {
        (Some(l), Some(p)) if p > 0 => format!("{:.2}", l as f64 / p as f64),
        _ => "n/a".into(),
    };
    println!(
        "  ratios: load/parse time {ratio:.2}, load/parse peak memory {peak_ratio}, peak memory / file size {}",
        f.load
            .peak_rss_kib
            .map_or("n/a".into(), |k| format!("{:.1}", k as f64 * 1024.0 / f.load.file_bytes as f64))
    );
    let per_customer = |bytes: Option<u64>| {
        bytes.map_or("n/a".into(), |b| {
            format!("{:.0}", b as f64 / c.customers.max(1) as f64)
        })
    };
    println!(
        "  per customer: {:.2} µs to load; {} bytes resident, {} bytes of live heap after the load",
        f.load.work_ms * 1e3 / c.customers.max(1) as f64,
        per_customer(f.load.rss_after_kib.map(|k| k * 1024)),
        per_customer(f.load.heap_after_bytes)
    );
    if let Some(real) = real {
        let scale = f.counts.customers as f64 / real.counts.customers.max(1) as f64;
        println!(
            "  scaling from the real network: {scale:.0}× the customers, {:.1}× the load time, {:.1}× the parse time",
            f.load.work_ms / real.load.work_ms.max(1e-9),
            f.parse.work_ms / real.parse.work_ms.max(1e-9)
        );
    }
    if c.customers >= GOAL_CUSTOMERS {
        let load_total = Duration::from_secs_f64((f.load.read_ms + f.load.work_ms) / 1e3);
        let peak_bytes = f.load.peak_rss_kib.map(|k| k * 1024);
        println!(
            "  goal (< {} s, < {} GB for {} customers): read + load {:.2} s {}; peak {} {}",
            GOAL_LOAD.as_secs(),
            GOAL_PEAK_BYTES / 1_000_000_000,
            GOAL_CUSTOMERS,
            load_total.as_secs_f64(),
            if load_total < GOAL_LOAD {
                "MET"
            } else {
                "MISSED"
            },
            mib(f.load.peak_rss_kib),
            match peak_bytes {
                Some(b) if b < GOAL_PEAK_BYTES => "MET",
                Some(_) => "MISSED",
                None => "n/a",
            }
        );
    }
}

/// Write `copies` side-by-side copies of the network in `source` to `out`; returns the
/// grid's shape (`columns × rows`) for the report.
pub fn replicate_file(
    source: &Path,
    copies: usize,
    lean: bool,
    out: &Path,
) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let mut collection: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", source.display()))?;
    drop(text);
    let features = match collection.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => features,
        _ => bail!("{} has no \"features\" array", source.display()),
    };
    let layout = Layout::new(&features, copies)?;

    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let name = collection
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("network")
        .to_owned();
    let mut metadata = match collection.get_mut("metadata").map(Value::take) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    metadata.insert(
        "synthetic".into(),
        Value::String(format!(
            "faultline bench network: {copies} copies of {}, ids suffixed ~k, shifted side by side{}; any stats describe one copy",
            source.display(),
            if lean { ", contract properties only" } else { "" }
        )),
    );
    write!(
        w,
        "{{\"type\":\"FeatureCollection\",\"name\":{},\"metadata\":{},\"features\":[",
        Value::String(format!("{name} x{copies}")),
        Value::Object(metadata)
    )?;
    let mut first = true;
    for k in 0..copies {
        let suffix = format!("~{k}");
        let shift = layout.shift(k);
        for feature in &features {
            let copy = replicate_feature(feature, &suffix, shift, lean);
            if !first {
                w.write_all(b",\n")?;
            }
            first = false;
            serde_json::to_writer(&mut w, &copy)?;
        }
    }
    w.write_all(b"]}\n")?;
    w.flush()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(format!(
        "{} × {}",
        layout.columns,
        copies.div_ceil(layout.columns)
    ))
}

/// Where each copy goes: a grid of `columns`, each cell the source's extent plus a gap.
struct Layout {
    columns: usize,
    step: [f64; 2],
}

impl Layout {
    fn new(features: &[Value], copies: usize) -> anyhow::Result<Layout> {
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for f in features {
            if let Some(coords) = f.get("geometry").and_then(|g| g.get("coordinates")) {
                for_each_position(coords, &mut |p| {
                    for i in 0..2 {
                        min[i] = min[i].min(p[i]);
                        max[i] = max[i].max(p[i]);
                    }
                });
            }
        }
        if !(min[0].is_finite() && min[1].is_finite()) {
            bail!("the network has no coordinates to lay copies out by");
        }
        let columns = (copies as f64).sqrt().ceil().max(1.0) as usize;
        let rows = copies.div_ceil(columns);
        // Each cell: the extent plus 20%, at least about a kilometre.
        let step = [
            ((max[0] - min[0]) * 1.2).max(0.01),
            ((max[1] - min[1]) * 1.2).max(0.01),
        ];
        let far = [
            max[0] + step[0] * (columns - 1) as f64,
            max[1] + step[1] * (rows - 1) as f64,
        ];
        if far[0] > 180.0 || far[1] > 90.0 {
            bail!(
                "{copies} copies side by side would leave WGS 84 (up to lon {:.3}, lat {:.3}): ask for fewer customers",
                far[0],
                far[1]
            );
        }
        Ok(Layout { columns, step })
    }

    fn shift(&self, k: usize) -> [f64; 2] {
        let (col, row) = (k % self.columns, k / self.columns);
        [self.step[0] * col as f64, self.step[1] * row as f64]
    }
}

/// Call `f` on every `[lon, lat, …]` position inside a GeoJSON `coordinates` value.
fn for_each_position(coords: &Value, f: &mut impl FnMut([f64; 2])) {
    if let Some(items) = coords.as_array() {
        match (
            items.first().and_then(Value::as_f64),
            items.get(1).and_then(Value::as_f64),
        ) {
            (Some(lon), Some(lat)) => f([lon, lat]),
            _ => items.iter().for_each(|c| for_each_position(c, f)),
        }
    }
}

/// Shift every position inside a GeoJSON `coordinates` value, in place.
fn shift_positions(coords: &mut Value, shift: [f64; 2]) {
    let Some(items) = coords.as_array_mut() else {
        return;
    };
    let is_position = items.len() >= 2 && items[0].is_number() && items[1].is_number();
    if is_position {
        for (i, delta) in shift.iter().enumerate() {
            if let Some(x) = items[i].as_f64() {
                // Rounded to 1e-7° (about a centimetre), the precision of the source.
                items[i] = Value::from(((x + delta) * 1e7).round() / 1e7);
            }
        }
    } else {
        items.iter_mut().for_each(|c| shift_positions(c, shift));
    }
}

/// One feature of copy `suffix`: ids and references suffixed, positions shifted.
fn replicate_feature(feature: &Value, suffix: &str, shift: [f64; 2], lean: bool) -> Value {
    let mut copy = feature.clone();
    let Some(obj) = copy.as_object_mut() else {
        return copy;
    };
    if lean {
        obj.retain(|k, _| matches!(k.as_str(), "type" | "geometry" | "properties"));
    } else if let Some(Value::String(id)) = obj.get_mut("id") {
        id.push_str(suffix);
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        if lean {
            props.retain(|k, _| CONTRACT_PROPERTIES.contains(&k.as_str()));
        }
        for key in std::iter::once("id").chain(REFERENCE_PROPERTIES) {
            if let Some(Value::String(id)) = props.get_mut(key) {
                id.push_str(suffix);
            }
        }
    }
    if let Some(coords) = obj
        .get_mut("geometry")
        .and_then(|g| g.get_mut("coordinates"))
    {
        shift_positions(coords, shift);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny_network() -> Value {
        json!({
            "type": "FeatureCollection",
            "metadata": {"source": "test"},
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.0, 20.0]},
                 "properties": {"id": "S", "kind": "substation"}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.01, 20.0]},
                 "properties": {"id": "B", "kind": "bus", "extra": 7}},
                {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[10.0, 20.0], [10.01, 20.0]]},
                 "properties": {"id": "L", "kind": "breaker", "from": "S", "to": "B", "feeder_head": true}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.01, 20.001]},
                 "properties": {"id": "C", "kind": "customer", "bus": "B", "account": "A-1"}}
            ]
        })
    }

    #[test]
    fn a_copy_suffixes_every_id_and_reference_and_shifts_every_position() {
        let line = &tiny_network()["features"][2];
        let copy = replicate_feature(line, "~3", [1.0, 2.0], false);
        assert_eq!(copy["properties"]["id"], "L~3");
        assert_eq!(copy["properties"]["from"], "S~3");
        assert_eq!(copy["properties"]["to"], "B~3");
        assert_eq!(
            copy["geometry"]["coordinates"],
            json!([[11.0, 22.0], [11.01, 22.0]])
        );
    }

    #[test]
    fn a_lean_copy_keeps_only_contract_properties() {
        let bus = &tiny_network()["features"][1];
        let copy = replicate_feature(bus, "~0", [0.0, 0.0], true);
        assert_eq!(copy["properties"], json!({"id": "B~0", "kind": "bus"}));
    }

    #[test]
    fn replicated_file_loads_as_that_many_copies_of_the_network() {
        let dir = ScratchDir::new("test-replicate").expect("scratch dir");
        let source = dir.path().join("tiny.geojson");
        std::fs::write(&source, tiny_network().to_string()).expect("write source");
        let out = dir.path().join("copies.geojson");
        replicate_file(&source, 5, false, &out).expect("replicates");
        let text = std::fs::read_to_string(&out).expect("read copies");
        let net = Network::from_geojson(&text, &LoadOptions::default()).expect("copies load");
        let s = net.summary();
        assert_eq!((s.nodes, s.customers, s.feeders), (10, 5, 5));
        assert!(net.customer_by_account("A-1~4").is_some());
    }

    #[test]
    fn copies_that_would_leave_wgs84_are_refused() {
        let features = tiny_network()["features"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(Layout::new(&features, 1_000_000_000).is_err());
    }
}
