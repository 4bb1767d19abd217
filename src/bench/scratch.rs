//! A temporary directory for a benchmark's files (synthetic networks, the event log),
//! removed when dropped.
//!
//! The crate does not depend on `tempfile` outside tests; this is the little of it a
//! benchmark needs. The directory lives under [`std::env::temp_dir`] (so never in the
//! repository) and its name carries the process id and a timestamp, so two runs at
//! once do not collide.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

/// A directory under the system's temporary directory, removed with its contents on
/// drop (unless [`ScratchDir::keep`] was called).
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    /// Create `faultline-bench-<what>-<pid>-<nanos>` under the temporary directory.
    pub fn new(what: &str) -> anyhow::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "faultline-bench-{what}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating the scratch directory {}", path.display()))?;
        Ok(Self { path, keep: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leave the directory in place when dropped (to look at a server's log).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.path.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("could not remove {}: {e}", self.path.display());
        }
    }
}
