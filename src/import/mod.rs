//! Importers that turn a utility's own network model into the contract network file
//! (CONTRACT.md section 1): one GeoJSON `FeatureCollection` with a top-level `metadata`
//! object.
//!
//! # Layout
//!
//! - `dss_parse`: the OpenDSS script lexer — comments, `~` continuation lines,
//!   quoted/bracketed values, `key=value` and positional parameters. Knows nothing of
//!   circuits.
//! - `dss_script`: the OpenDSS command interpreter — `New`, `Edit`, `Redirect`,
//!   `Compile`, `Open`/`Close`, `BusCoords`, `like=`, property abbreviations and
//!   positional properties. Produces the list of defined objects, their final
//!   properties and the bus coordinates; knows nothing of GeoJSON.
//! - `opendss`: turns those objects into the contract's nodes and edges
//!   ([`import_opendss`]).
//!
//! # Invariants of every [`Imported::geojson`]
//!
//! - ids are unique among Point features and among LineString features;
//! - every edge's `from`/`to` and every customer's `bus` is the id of a Point feature;
//! - every coordinate is a finite WGS 84 lon/lat in range;
//! - the source bus of every `Circuit`/`Vsource` is a `substation` node.
//!
//! This module is pure: it reads the files it is pointed at and nothing else, uses no
//! clock, no network, no database, and depends on nothing else in the crate, so the CLI
//! (`faultline import`) and tests call it the same way.

pub mod command;
mod dss_parse;
mod dss_script;
mod opendss;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use opendss::{import_opendss, import_opendss_text, import_opendss_with};

/// How to import, beyond where to place the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Open one edge per loop through closed edges (`--break-loops`): a switch on the
    /// loop if it has one, else one of a parallel pair (two elements between the same
    /// two buses), else its last line, transformer or device in file order. Each is
    /// listed in [`Imported::opened`]. Parallel closed edges between the same two nodes
    /// (a regulator and its bypass) and edges inside the station are not loops
    /// (CONTRACT section 1) and stay closed.
    pub break_loops: bool,
}

/// An edge the importer opened to break a loop, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedEdge {
    /// The edge's id in the file.
    pub id: String,
    /// Why this one: what kind of element it is on which loop.
    pub why: String,
}

/// Where the local x/y of a model are put on the earth.
///
/// A model's coordinates are local (feet, metres or unitless schematic units). The
/// importer places `metres_per_unit × (x − x_ref, y − y_ref)` around (`lon`, `lat`) on a
/// spherical earth, where (`x_ref`, `y_ref`) is the local coordinate of the first source
/// bus. The result is a placement, not geography: the metadata says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Longitude (degrees east) the source bus is placed at.
    pub lon: f64,
    /// Latitude (degrees north) the source bus is placed at.
    pub lat: f64,
    /// Metres per local coordinate unit (0.3048 for feet).
    pub metres_per_unit: f64,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// A contract GeoJSON FeatureCollection, with a top-level `metadata` object (source
    /// file, placement, notes, stats), as the text `faultline import` writes.
    ///
    /// Text, not a `serde_json::Value`: a tree of maps costs about fifteen times the
    /// text (some 4 KB a feature), which made a 200,000-segment model take 2.7 GB.
    pub geojson: String,
    /// Elements the importer does not model, one line each:
    /// "file:line: Capacitor.c83 (capacitor: not a network element faultline models)".
    pub unsupported: Vec<String>,
    /// What the importer decided on the user's behalf (merged banks, inferred
    /// coordinates, ignored commands …); also in `metadata.notes`.
    pub notes: Vec<String>,
    /// Edges opened to break loops ([`ImportOptions::break_loops`]), in file order;
    /// each says why in its `opened_by_import` property too.
    pub opened: Vec<OpenedEdge>,
}

impl Imported {
    /// The collection as a tree, to look into (tests, small models): parses
    /// [`Imported::geojson`] each time.
    pub fn collection(&self) -> serde_json::Value {
        // unwrap: the text was written by serde_json from a Value.
        serde_json::from_str(&self.geojson).unwrap()
    }
}

/// A line of an input file, as `file:line` (the file relative to the master's folder
/// when it lies below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, as shown to the user.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Why an import failed. Every message names the file and line it comes from, or the
/// file that is missing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The master file itself does not exist.
    #[error("{}: master file not found", path.display())]
    MasterNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A file exists but cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `Redirect`, `Compile` or `BusCoords` names a file that does not exist.
    #[error("{at}: {command}: file not found: {}", path.display())]
    MissingFile {
        /// The command's line.
        at: SourceLocation,
        /// `Redirect`, `Compile`, `BusCoords`.
        command: String,
        /// The path looked for.
        path: PathBuf,
    },
    /// The script cannot be read as OpenDSS (unterminated bracket, `New` without
    /// `Class.name`, a coordinate line without numbers, …).
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: SourceLocation,
        /// What is wrong.
        message: String,
    },
    /// An element is defined in a way the network cannot be built from (a line
    /// without `bus2`, a fuse on a line that does not exist, …).
    #[error("{at}: {element}: {message}")]
    Element {
        /// The line of the element's definition (or of the command that touched it).
        at: SourceLocation,
        /// `class.name`, lower case.
        element: String,
        /// What is wrong.
        message: String,
    },
    /// No `Circuit` or `Vsource`: nothing to call the substation.
    #[error("{}: no Circuit or Vsource is defined: the network has no source to become its substation", master.display())]
    NoSource {
        /// The master file.
        master: PathBuf,
    },
    /// The placement is unusable, or puts a node outside lon/lat range.
    #[error("placement: {0}")]
    Placement(String),
}
