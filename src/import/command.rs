//! `faultline import`: an OpenDSS model (or a contract file) in, a checked contract
//! GeoJSON file out. The output is loaded back through [`crate::network`] before it is
//! written, so a file this command writes is one `faultline serve` accepts.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

use super::{import_opendss_with, ImportOptions, Placement};
use crate::network::{EdgeKind, LoadOptions, Network, NetworkError, Problem};

/// Arguments of `faultline import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An OpenDSS master script (Redirect/Compile are followed).
    #[arg(long, conflicts_with = "geojson", required_unless_present = "geojson")]
    pub opendss: Option<PathBuf>,
    /// A contract GeoJSON file to check (and, with --add-protection, to fuse).
    #[arg(long)]
    pub geojson: Option<PathBuf>,
    /// Where to put the model's local x/y origin (its source bus): LON,LAT. West and
    /// south are negative, written as they are: `--place-at -84.39,33.75`.
    #[arg(
        long,
        value_parser = parse_lon_lat,
        required_unless_present = "geojson",
        allow_hyphen_values = true
    )]
    pub place_at: Option<(f64, f64)>,
    /// Metres per local coordinate unit (0.3048 when the model is in feet).
    #[arg(long, default_value_t = 0.3048)]
    pub metres_per_unit: f64,
    /// Add lateral fuses by the documented rule (see `network::protection`).
    #[arg(long)]
    pub add_protection: bool,
    /// Open one edge per loop through closed edges (a switch on it first, else one
    /// element of a parallel pair), mark it normally_open and say which and why.
    #[arg(long, requires = "opendss")]
    pub break_loops: bool,
    /// Where to write the GeoJSON (standard output when absent).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn parse_lon_lat(s: &str) -> Result<(f64, f64), String> {
    let (lon, lat) = s
        .split_once(',')
        .ok_or("expected LON,LAT such as 116.40,39.90")?;
    let lon: f64 = lon
        .trim()
        .parse()
        .map_err(|_| format!("longitude {lon:?} is not a number"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .map_err(|_| format!("latitude {lat:?} is not a number"))?;
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err("longitude must be in -180..180 and latitude in -90..90".into());
    }
    Ok((lon, lat))
}

/// Run the command; messages for the user go to standard error.
///
/// The file is held as text, once: the network is loaded from that text and the same
/// text written (a tree of the features is built only to mark added fuses).
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let mut text = if let Some(master) = &args.opendss {
        // unwrap-free: clap requires --place-at with --opendss.
        let Some((lon, lat)) = args.place_at else {
            bail!("--place-at LON,LAT is required with --opendss");
        };
        let imported = import_opendss_with(
            master,
            &Placement {
                lon,
                lat,
                metres_per_unit: args.metres_per_unit,
            },
            &ImportOptions {
                break_loops: args.break_loops,
            },
        )?;
        for line in &imported.unsupported {
            eprintln!("not imported: {line}");
        }
        for note in &imported.notes {
            eprintln!("note: {note}");
        }
        for opened in &imported.opened {
            eprintln!("opened {}: {}", opened.id, opened.why);
        }
        if args.break_loops {
            eprintln!(
                "--break-loops: {} edge(s) opened (normally_open: true, opened_by_import says why)",
                imported.opened.len()
            );
        }
        imported.geojson
    } else if let Some(path) = &args.geojson {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    } else {
        bail!("give --opendss MASTER.dss or --geojson FILE");
    };
    let options = LoadOptions {
        add_protection: args.add_protection,
        ..LoadOptions::default()
    };
    let network = match Network::from_geojson(&text, &options) {
        Ok(network) => network,
        Err(e) => {
            let loops = matches!(&e, NetworkError::Invalid(p) if p.iter().any(Problem::is_loop));
            let e = anyhow::Error::new(e).context("the result is not a valid network file");
            if loops && args.opendss.is_some() && !args.break_loops {
                // See: #19. A real model (parallel step transformers, a fused one of a
                // pair) has loops no file of the contract carries: say the way past.
                return Err(e.context(
                    "the model has loops through closed edges, which a network file cannot carry: \
                     rerun with --break-loops to open one edge per loop (a switch on it first, \
                     else one element of a parallel pair) and write the file",
                ));
            }
            return Err(e);
        }
    };
    if args.add_protection {
        let mut collection: Value = serde_json::from_str(&text)?;
        drop(text);
        mark_added_fuses(&mut collection, &network);
        text = serde_json::to_string(&collection)?;
    }
    for note in network.notes() {
        eprintln!("note: {note}");
    }
    let s = network.summary();
    eprintln!(
        "network: {} nodes, {} edges, {} feeders, {} customers, devices {:?}",
        s.nodes, s.edges, s.feeders, s.customers, s.devices
    );
    drop(network);
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// Write the rule's fuses into the file itself, flagged, so the change is visible.
fn mark_added_fuses(collection: &mut Value, network: &Network) {
    let Some(features) = collection.get_mut("features").and_then(Value::as_array_mut) else {
        return;
    };
    for f in features {
        let props = &mut f["properties"];
        let (Some(id), Some(kind)) = (props["id"].as_str(), props["kind"].as_str()) else {
            continue;
        };
        if matches!(kind, "line" | "cable")
            && network.edge(id).is_some_and(|e| e.kind == EdgeKind::Fuse)
        {
            props["original_kind"] = Value::String(kind.to_owned());
            props["kind"] = Value::String("fuse".into());
            props["added_protection"] = Value::Bool(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `faultline import`'s arguments as the command line parses them.
    #[derive(Debug, Parser)]
    struct Import {
        #[command(flatten)]
        args: ImportArgs,
    }

    // See: #19. clap took `-84.39,33.75` for a flag (`unexpected argument '-8'`).
    #[test]
    fn a_place_west_or_south_of_zero_is_read_as_written() {
        let parsed = Import::try_parse_from([
            "import",
            "--opendss",
            "Master.dss",
            "--place-at",
            "-84.39,-33.75",
        ])
        .expect("negative coordinates parse");
        assert_eq!(parsed.args.place_at, Some((-84.39, -33.75)));
        let parsed =
            Import::try_parse_from(["import", "--opendss", "M.dss", "--place-at=-0.5,51.5"])
                .expect("the = form parses too");
        assert_eq!(parsed.args.place_at, Some((-0.5, 51.5)));
        // A flag is still a flag: a missing value is not swallowed as a coordinate.
        let e = Import::try_parse_from(["import", "--opendss", "M.dss", "--place-at", "x"])
            .expect_err("not a coordinate");
        assert!(e.to_string().contains("LON,LAT"), "{e}");
    }
}
