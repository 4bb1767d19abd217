//! The OpenDSS command interpreter: runs a master script the way OpenDSS would, as far
//! as the network's shape is concerned, and records every object it defines.
//!
//! Owns: `New` (also `New object=…`), `Edit` and the `Class.name.property=value` form,
//! `like=`, property-name abbreviations and positional properties (per class, in
//! OpenDSS's property order), `Redirect` (relative to the current file's folder, which
//! is restored afterwards), `Compile` (which also changes the folder for good), `CD`,
//! `Clear`, `Open`/`Close`, `Disable`/`Enable`, `BusCoords`. Solution, plotting and
//! reporting commands are skipped; any other command is skipped with a note.
//!
//! Does not decide what an object means for faultline (`opendss` does). Invariant:
//! objects are kept in definition order, each with the line that defined it, and the
//! properties an object ends with are its own assignments in order — a `like=` copies
//! the other object's assignments in place — so a later assignment wins, as in OpenDSS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::import::dss_parse::{self, bus_name, Command, Param};
use crate::import::{ImportError, SourceLocation};

/// Redirects deeper than this are taken for a loop.
const MAX_FILE_DEPTH: usize = 32;

/// One defined object (`Line.l1`, `Transformer.reg1a`, `LineCode.mtx601`, …).
#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// Class, lower case (`line`); a `Circuit` is its `vsource`, as in OpenDSS.
    pub class: String,
    /// Name, lower case.
    pub name: String,
    /// The `New` command's line.
    pub at: SourceLocation,
    /// Property assignments in order: (full property name in lower case, value).
    pub props: Vec<(String, String)>,
}

impl Element {
    /// The last value assigned to `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `class.name`, lower case: the id the network file uses.
    pub(crate) fn id(&self) -> String {
        format!("{}.{}", self.class, self.name)
    }

    /// `Class.name` with the class as OpenDSS spells it, for messages and `src_id`.
    pub(crate) fn display(&self) -> String {
        format!("{}.{}", class_display(&self.class), self.name)
    }
}

/// What running a script left behind.
#[derive(Debug, Default)]
pub(crate) struct Script {
    /// Objects in definition order.
    pub elements: Vec<Element>,
    index: HashMap<(String, String), usize>,
    /// Elements a terminal of which was opened (`Open Line.sw7 1`), with the command's line.
    pub opened: HashMap<usize, SourceLocation>,
    /// Bus coordinates (bus name lower case → local x, y).
    pub coords: HashMap<String, (f64, f64)>,
    /// The `New Circuit.<name>` name.
    pub circuit_name: Option<String>,
    /// Every file read, as shown in messages.
    pub files: Vec<String>,
    /// Things skipped or decided, `file:line: …`.
    pub notes: Vec<String>,
}

impl Script {
    /// The object `class.name` (both lower case).
    pub(crate) fn find(&self, class: &str, name: &str) -> Option<usize> {
        self.index
            .get(&(class.to_string(), name.to_string()))
            .copied()
    }
}

/// Runs `master` and everything it redirects to.
pub(crate) fn run(master: &Path) -> Result<Script, ImportError> {
    if !master.is_file() {
        return Err(ImportError::MasterNotFound {
            path: master.to_path_buf(),
        });
    }
    let root = master.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut runner = Runner {
        script: Script::default(),
        cwd: root.clone(),
        root,
        depth: 0,
        files: Files::Disk,
    };
    runner.exec_file(master)?;
    Ok(runner.script)
}

/// Runs `files[0]` and whatever it redirects to among `files` (name, text), without
/// touching the disk.
pub(crate) fn run_in_memory(files: &[(&str, &str)]) -> Result<Script, ImportError> {
    let Some((master, _)) = files.first() else {
        return Err(ImportError::MasterNotFound {
            path: PathBuf::new(),
        });
    };
    let mut runner = Runner {
        script: Script::default(),
        root: PathBuf::new(),
        cwd: PathBuf::new(),
        depth: 0,
        files: Files::Memory(files),
    };
    runner.exec_file(Path::new(master))?;
    Ok(runner.script)
}

/// Where a script's files are read from.
enum Files<'a> {
    /// The file system, relative to the current folder.
    Disk,
    /// Only these (name, text) pairs, found by file name whatever folder a command
    /// names: a model given as text (tests, fuzzing) never reads the disk.
    Memory(&'a [(&'a str, &'a str)]),
}

struct Runner<'a> {
    script: Script,
    root: PathBuf,
    cwd: PathBuf,
    depth: usize,
    files: Files<'a>,
}

impl Runner<'_> {
    fn shown(&self, path: &Path) -> Arc<str> {
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        Arc::from(shown.display().to_string())
    }

    fn read(&self, path: &Path) -> Result<String, ImportError> {
        if let Files::Memory(files) = self.files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            return files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_string())
                .ok_or_else(|| ImportError::Read {
                    path: path.to_path_buf(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
        }
        let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // OpenDSS files are ASCII with the odd Latin-1 comment: keep going.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn exec_file(&mut self, path: &Path) -> Result<(), ImportError> {
        let file = self.shown(path);
        let text = self.read(path)?;
        self.script.files.push(file.to_string());
        for command in dss_parse::commands(&text, &file)? {
            self.exec(command)?;
        }
        Ok(())
    }

    /// Finds `arg` relative to the current folder; file names are matched without
    /// regard to case when the exact name is missing (scripts written on Windows say
    /// `Compile (master.dss)` for `Master.dss`).
    fn resolve(&self, arg: &str) -> Option<PathBuf> {
        let path = self.cwd.join(arg.trim().replace('\\', "/"));
        if let Files::Memory(files) = self.files {
            let wanted = path.file_name()?.to_str()?;
            let (name, _) = files.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted))?;
            return Some(PathBuf::from(name));
        }
        if path.exists() {
            return Some(path);
        }
        let parent = path.parent()?;
        let wanted = path.file_name()?.to_str()?;
        std::fs::read_dir(parent)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
    }

    fn file_argument(&self, command: &Command, verb: &str) -> Result<PathBuf, ImportError> {
        let arg = command
            .params
            .get(1)
            .map(|p| p.value.as_str())
            .unwrap_or_default();
        if arg.is_empty() {
            return Err(ImportError::Syntax {
                at: command.at.clone(),
                message: format!("{verb}: no file named"),
            });
        }
        self.resolve(arg).ok_or_else(|| ImportError::MissingFile {
            at: command.at.clone(),
            command: verb.to_string(),
            path: self.cwd.join(arg),
        })
    }

    fn exec(&mut self, command: Command) -> Result<(), ImportError> {
        let first = &command.params[0];
        if let Some(name) = &first.name {
            // `Transformer.reg1a.wdg=2 Tap=…`: an edit of `Transformer.reg1a`.
            return match name.rsplit_once('.') {
                Some((object, property)) if object.contains('.') => {
                    let mut params = vec![Param {
                        name: Some(property.to_string()),
                        value: first.value.clone(),
                    }];
                    params.extend(command.params[1..].iter().cloned());
                    self.edit(object, &params, &command.at)
                }
                _ => {
                    self.note_ignored(&command, name);
                    Ok(())
                }
            };
        }
        let verb = first.value.to_ascii_lowercase();
        let args = &command.params[1..];
        match verb.as_str() {
            "new" => self.new_element(args, &command.at),
            "edit" => {
                let object = args.first().map(|p| p.value.as_str()).unwrap_or_default();
                self.edit(object, &args[1.min(args.len())..], &command.at)
            }
            "redirect" | "compile" => {
                let path = self.file_argument(&command, &first.value)?;
                if self.depth >= MAX_FILE_DEPTH {
                    return Err(ImportError::Syntax {
                        at: command.at.clone(),
                        message: format!("{}: files redirect to each other in a loop", first.value),
                    });
                }
                let saved = self.cwd.clone();
                self.cwd = path.parent().map(Path::to_path_buf).unwrap_or_default();
                self.depth += 1;
                let result = self.exec_file(&path);
                self.depth -= 1;
                if verb == "redirect" {
                    self.cwd = saved;
                }
                result
            }
            "cd" => {
                let path = self.file_argument(&command, "CD")?;
                self.cwd = path;
                Ok(())
            }
            "clear" => {
                let files = std::mem::take(&mut self.script.files);
                let notes = std::mem::take(&mut self.script.notes);
                self.script = Script {
                    files,
                    notes,
                    ..Script::default()
                };
                Ok(())
            }
            "open" | "close" => {
                let Some(target) = args.first() else {
                    return Ok(());
                };
                let (class, name) = split_object(&target.value);
                let Some(index) = self.script.find(&class, &name) else {
                    return Err(ImportError::Element {
                        at: command.at.clone(),
                        element: format!("{class}.{name}"),
                        message: format!("{}: no such element", first.value),
                    });
                };
                if verb == "open" {
                    self.script.opened.insert(index, command.at.clone());
                } else {
                    self.script.opened.remove(&index);
                }
                Ok(())
            }
            "disable" | "enable" => {
                let object = args.first().map(|p| p.value.as_str()).unwrap_or_default();
                let value = if verb == "enable" { "yes" } else { "no" };
                let params = [Param {
                    name: Some("enabled".into()),
                    value: value.into(),
                }];
                self.edit(object, &params, &command.at)
            }
            "buscoords" => {
                let path = self.file_argument(&command, &first.value)?;
                self.read_coords(&path)
            }
            "set" | "solve" | "calcv" | "calcvoltagebases" | "show" | "plot" | "export"
            | "makebuslist" | "interpolate" | "sample" | "reset" | "summary" | "visualize"
            | "help" | "get" | "totals" | "cleanup" | "var" | "dump" | "relcalc" | "guids"
            | "buildy" | "makeposseq" | "fileedit" | "?" | "closedi" | "capacity"
            | "calcincmatrix" | "calcincmatrix_o" | "zsc" | "zsc10" | "zscrefresh" | "init"
            | "formedit" | "disp" | "vdiffs" | "reprocessbuses" | "refine" | "rotate"
            | "sysfreq" => Ok(()),
            _ if verb.contains('.') => self.edit(&first.value, args, &command.at),
            _ => {
                self.note_ignored(&command, &first.value);
                Ok(())
            }
        }
    }

    fn note_ignored(&mut self, command: &Command, verb: &str) {
        self.script.notes.push(format!(
            "{}: command `{verb}` ignored (not one the importer understands)",
            command.at
        ));
    }

    fn new_element(&mut self, args: &[Param], at: &SourceLocation) -> Result<(), ImportError> {
        let spec = args
            .first()
            .filter(|p| p.name.is_none() || p.name.as_deref() == Some("object"))
            .map(|p| p.value.as_str())
            .unwrap_or_default();
        let Some((class, name)) = spec
            .split_once('.')
            .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        else {
            return Err(ImportError::Syntax {
                at: at.clone(),
                message: format!("New: expected `Class.name`, found `{spec}`"),
            });
        };
        let (mut class, mut name) = (class.to_ascii_lowercase(), name.to_ascii_lowercase());
        if class == "circuit" {
            self.script.circuit_name = Some(name);
            (class, name) = ("vsource".into(), "source".into());
        }
        let element = Element {
            class: class.clone(),
            name: name.clone(),
            at: at.clone(),
            props: Vec::new(),
        };
        let index = match self.script.find(&class, &name) {
            Some(index) => {
                self.script.notes.push(format!(
                    "{at}: {} defined again: the new definition replaces the one at {}",
                    element.display(),
                    self.script.elements[index].at
                ));
                self.script.elements[index] = element;
                index
            }
            None => {
                self.script.elements.push(element);
                let index = self.script.elements.len() - 1;
                self.script.index.insert((class, name), index);
                index
            }
        };
        self.assign(index, &args[1..])
    }

    fn edit(
        &mut self,
        object: &str,
        params: &[Param],
        at: &SourceLocation,
    ) -> Result<(), ImportError> {
        let (class, name) = split_object(object);
        let Some(index) = self.script.find(&class, &name) else {
            return Err(ImportError::Element {
                at: at.clone(),
                element: format!("{class}.{name}"),
                message: "edit of an element that is not defined".into(),
            });
        };
        self.assign(index, params)
    }

    /// Records assignments, resolving abbreviations, positional values and `like=`.
    fn assign(&mut self, index: usize, params: &[Param]) -> Result<(), ImportError> {
        let class = self.script.elements[index].class.clone();
        let order = property_order(&class);
        let mut last: Option<usize> = None;
        for param in params {
            let name = match &param.name {
                Some(name) => {
                    let full = resolve_property(order, name);
                    last = order.iter().position(|p| *p == full).or(last);
                    full
                }
                None => {
                    let position = last.map_or(0, |l| l + 1);
                    let Some(full) = order.get(position) else {
                        continue;
                    };
                    last = Some(position);
                    (*full).to_string()
                }
            };
            if name == "like" {
                let other = param.value.to_ascii_lowercase();
                let Some(source) = self.script.find(&class, &other) else {
                    let element = &self.script.elements[index];
                    return Err(ImportError::Element {
                        at: element.at.clone(),
                        element: element.id(),
                        message: format!(
                            "like={}: no {}.{other} is defined before it",
                            param.value,
                            class_display(&class)
                        ),
                    });
                };
                let copied = self.script.elements[source].props.clone();
                self.script.elements[index].props.extend(copied);
                continue;
            }
            self.script.elements[index]
                .props
                .push((name, param.value.clone()));
        }
        Ok(())
    }

    fn read_coords(&mut self, path: &Path) -> Result<(), ImportError> {
        let file = self.shown(path);
        let text = self.read(path)?;
        self.script.files.push(file.to_string());
        let mut accepted = 0usize;
        let mut nameless = 0usize;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('!').next().unwrap_or_default();
            let line = line.split("//").next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|f| !f.is_empty())
                .collect();
            // `, x, y`: a coordinate without a bus name.
            let named = !line.starts_with(',');
            let xy = match (named, fields.as_slice()) {
                (true, [_, x, y, ..]) | (false, [x, y, ..]) => {
                    x.parse::<f64>().ok().zip(y.parse::<f64>().ok())
                }
                _ => None,
            };
            match xy {
                Some((x, y)) if x.is_finite() && y.is_finite() => {
                    let bus = if line.starts_with(',') {
                        String::new()
                    } else {
                        bus_name(fields[0])
                    };
                    if bus.is_empty() {
                        nameless += 1;
                    } else {
                        self.script.coords.insert(bus, (x, y));
                    }
                    accepted += 1;
                }
                // A header line (`Bus,X,Y`) before any coordinate.
                None if accepted == 0 && fields.len() >= 3 => {}
                _ => {
                    return Err(ImportError::Syntax {
                        at: SourceLocation {
                            file,
                            line: index + 1,
                        },
                        message: format!("bus coordinates: expected `bus, x, y`, found `{line}`"),
                    })
                }
            }
        }
        if nameless > 0 {
            self.script.notes.push(format!(
                "{file}: {nameless} coordinate lines name no bus: skipped"
            ));
        }
        Ok(())
    }
}

/// `Line.L1` → (`line`, `l1`); a bare name is a line, as in OpenDSS's switch commands.
pub(crate) fn split_object(object: &str) -> (String, String) {
    let object = object.trim().to_ascii_lowercase();
    match object.split_once('.') {
        Some(("circuit", _)) => ("vsource".into(), "source".into()),
        Some((class, name)) => (class.to_string(), name.to_string()),
        None => ("line".into(), object),
    }
}

/// `Class` as OpenDSS spells it in its documentation.
pub(crate) fn class_display(class: &str) -> String {
    const KNOWN: [&str; 24] = [
        "Line",
        "Transformer",
        "Load",
        "Vsource",
        "Fuse",
        "Relay",
        "Recloser",
        "SwtControl",
        "RegControl",
        "Capacitor",
        "CapControl",
        "Reactor",
        "EnergyMeter",
        "Monitor",
        "LoadShape",
        "PVSystem",
        "Storage",
        "Generator",
        "InvControl",
        "LineCode",
        "XfmrCode",
        "GrowthShape",
        "TCC_Curve",
        "Isource",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(class))
        .map_or_else(
            || {
                let mut chars = class.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_ascii_uppercase().to_string() + chars.as_str()
                })
            },
            |k| (*k).to_string(),
        )
}

/// An exact property name, else the first in OpenDSS order that it abbreviates
/// (`bus=` on a Load is `bus1`), else the name as written.
fn resolve_property(order: &[&str], name: &str) -> String {
    if order.contains(&name) {
        return name.to_string();
    }
    order
        .iter()
        .find(|p| p.starts_with(name))
        .map_or_else(|| name.to_string(), |p| (*p).to_string())
}

/// Property order per class, as OpenDSS numbers them (positional values follow it).
fn property_order(class: &str) -> &'static [&'static str] {
    match class {
        "line" => &[
            "bus1",
            "bus2",
            "linecode",
            "length",
            "phases",
            "r1",
            "x1",
            "r0",
            "x0",
            "c1",
            "c0",
            "rmatrix",
            "xmatrix",
            "cmatrix",
            "switch",
            "rg",
            "xg",
            "rho",
            "geometry",
            "units",
            "spacing",
            "wires",
            "earthmodel",
            "cncables",
            "tscables",
            "b1",
            "b0",
            "seasons",
            "ratings",
            "linetype",
            "normamps",
            "emergamps",
            "faultrate",
            "pctperm",
            "repair",
            "basefreq",
            "enabled",
            "like",
        ],
        "transformer" => &[
            "phases",
            "windings",
            "wdg",
            "bus",
            "conn",
            "kv",
            "kva",
            "tap",
            "%r",
            "rneut",
            "xneut",
            "buses",
            "conns",
            "kvs",
            "kvas",
            "taps",
            "xhl",
            "xht",
            "xlt",
            "xscarray",
            "thermal",
            "n",
            "m",
            "flrise",
            "hsrise",
            "%loadloss",
            "%noloadloss",
            "normhkva",
            "emerghkva",
            "sub",
            "maxtap",
            "mintap",
            "numtaps",
            "subname",
            "%imag",
            "ppm_antifloat",
            "%rs",
            "bank",
            "xfmrcode",
            "xrconst",
            "x12",
            "x13",
            "x23",
            "leadlag",
            "wdgcurrents",
            "core",
            "rdcohms",
            "seasons",
            "ratings",
            "normamps",
            "emergamps",
            "faultrate",
            "pctperm",
            "repair",
            "basefreq",
            "enabled",
            "like",
        ],
        "xfmrcode" => &[
            "phases",
            "windings",
            "wdg",
            "conn",
            "kv",
            "kva",
            "tap",
            "%r",
            "rneut",
            "xneut",
            "conns",
            "kvs",
            "kvas",
            "taps",
            "xhl",
            "xht",
            "xlt",
            "xscarray",
            "thermal",
            "n",
            "m",
            "flrise",
            "hsrise",
            "%loadloss",
            "%noloadloss",
            "normhkva",
            "emerghkva",
            "maxtap",
            "mintap",
            "numtaps",
            "%imag",
            "ppm_antifloat",
            "%rs",
            "x12",
            "x13",
            "x23",
            "rdcohms",
            "seasons",
            "ratings",
            "like",
        ],
        "load" => &[
            "bus1",
            "phases",
            "kv",
            "kw",
            "pf",
            "model",
            "yearly",
            "daily",
            "duty",
            "growth",
            "conn",
            "kvar",
            "rneut",
            "xneut",
            "status",
            "class",
            "vminpu",
            "vmaxpu",
            "vminnorm",
            "vminemerg",
            "xfkva",
            "allocationfactor",
            "kva",
            "%mean",
            "%stddev",
            "cvrwatts",
            "cvrvars",
            "kwh",
            "kwhdays",
            "cfactor",
            "cvrcurve",
            "numcust",
            "zipv",
            "%seriesrl",
            "relweight",
            "vlowpu",
            "puxharm",
            "xrharm",
            "spectrum",
            "basefreq",
            "enabled",
            "like",
        ],
        "vsource" => &[
            "bus1",
            "basekv",
            "pu",
            "angle",
            "frequency",
            "phases",
            "mvasc3",
            "mvasc1",
            "x1r1",
            "x0r0",
            "isc3",
            "isc1",
            "r1",
            "x1",
            "r0",
            "x0",
            "scantype",
            "sequence",
            "bus2",
            "z1",
            "z0",
            "z2",
            "puz1",
            "puz0",
            "puz2",
            "basemva",
            "yearly",
            "daily",
            "duty",
            "model",
            "puzideal",
            "spectrum",
            "basefreq",
            "enabled",
            "like",
        ],
        "fuse" => &[
            "monitoredobj",
            "monitoredterm",
            "switchedobj",
            "switchedterm",
            "fusecurve",
            "ratedcurrent",
            "delay",
            "action",
            "normal",
            "state",
            "basefreq",
            "enabled",
            "like",
        ],
        "relay" | "recloser" => &[
            "monitoredobj",
            "monitoredterm",
            "switchedobj",
            "switchedterm",
            "type",
            "basefreq",
            "enabled",
            "like",
        ],
        "swtcontrol" => &[
            "switchedobj",
            "switchedterm",
            "action",
            "lock",
            "delay",
            "normal",
            "state",
            "reset",
            "basefreq",
            "enabled",
            "like",
        ],
        "regcontrol" => &[
            "transformer",
            "winding",
            "vreg",
            "band",
            "ptratio",
            "ctprim",
            "r",
            "x",
            "bus",
            "delay",
            "reversible",
            "revvreg",
            "revband",
            "revr",
            "revx",
            "tapdelay",
            "debugtrace",
            "maxtapchange",
            "inversetime",
            "tapwinding",
            "vlimit",
            "ptphase",
            "revthreshold",
            "revdelay",
            "revneutral",
            "eventlog",
            "remoteptratio",
            "tapnum",
            "reset",
            "ldc_z",
            "rev_z",
            "cogen",
            "basefreq",
            "enabled",
            "like",
        ],
        "capacitor" => &[
            "bus1",
            "bus2",
            "phases",
            "kvar",
            "kv",
            "conn",
            "cmatrix",
            "cuf",
            "r",
            "xl",
            "harm",
            "numsteps",
            "states",
            "normamps",
            "emergamps",
            "faultrate",
            "pctperm",
            "repair",
            "basefreq",
            "enabled",
            "like",
        ],
        "reactor" => &[
            "bus1",
            "bus2",
            "phases",
            "kvar",
            "kv",
            "conn",
            "rmatrix",
            "xmatrix",
            "parallel",
            "r",
            "x",
            "rp",
            "z1",
            "z2",
            "z0",
            "z",
            "rcurve",
            "lcurve",
            "lmh",
            "normamps",
            "emergamps",
            "faultrate",
            "pctperm",
            "repair",
            "basefreq",
            "enabled",
            "like",
        ],
        "linecode" => &[
            "nphases",
            "r1",
            "x1",
            "r0",
            "x0",
            "c1",
            "c0",
            "units",
            "rmatrix",
            "xmatrix",
            "cmatrix",
            "basefreq",
            "normamps",
            "emergamps",
            "faultrate",
            "pctperm",
            "repair",
            "kron",
            "rg",
            "xg",
            "rho",
            "neutral",
            "b1",
            "b0",
            "seasons",
            "ratings",
            "linetype",
            "like",
        ],
        "energymeter" | "monitor" => &["element", "terminal"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviated_property_names_resolve_in_opendss_order() {
        assert_eq!(resolve_property(property_order("load"), "bus"), "bus1");
        assert_eq!(
            resolve_property(property_order("transformer"), "kva"),
            "kva"
        );
        assert_eq!(
            resolve_property(property_order("transformer"), "ppm"),
            "ppm_antifloat"
        );
        assert_eq!(resolve_property(property_order("line"), "sw"), "switch");
    }

    #[test]
    fn bare_object_names_are_lines_and_circuits_are_their_vsource() {
        assert_eq!(split_object("Sw7"), ("line".into(), "sw7".into()));
        assert_eq!(
            split_object("Circuit.X"),
            ("vsource".into(), "source".into())
        );
    }
}
