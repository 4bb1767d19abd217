//! One `faultline serve` per embedded event log.
//!
//! The SQLite log has a single appender by design (its writer numbers the events
//! itself), so a second `serve` on the same file would fail half its appends and never
//! see the first one's events. `serve` therefore keeps a lock file beside the database
//! (`<db>.serve.lock`, holding its process id) and refuses to start while the process
//! named there is alive. A lock left by a process that died (a crash, SIGKILL) is
//! taken over. Several instances are for PostgreSQL, which has no such lock.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;

/// The lock; removed when dropped (a clean stop).
pub struct ServeLock {
    path: PathBuf,
}

impl Drop for ServeLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Take the lock for the log at `db` (nothing to take on PostgreSQL).
pub fn take(db: &str) -> anyhow::Result<Option<ServeLock>> {
    let Some(file) = crate::store::sqlite_file(db) else {
        return Ok(None);
    };
    let mut name = file.clone().into_os_string();
    name.push(".serve.lock");
    let path = PathBuf::from(name);
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                writeln!(f, "{}", std::process::id())?;
                return Ok(Some(ServeLock { path }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok());
                match holder {
                    Some(pid) if pid != std::process::id() && alive(pid) => bail!(
                        "another faultline serve (pid {pid}) is using the event log {}: stop it \
                         first (one serve per SQLite file; several instances need PostgreSQL), \
                         or, if no such process is running, delete {}",
                        file.display(),
                        path.display()
                    ),
                    // Left by a process that is gone, or by this one: take it over.
                    _ => {
                        tracing::warn!(lock = %path.display(), holder = ?holder, "taking over a stale serve lock");
                        std::fs::remove_file(&path)?;
                    }
                }
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "creating the lock file {}: {e}",
                    path.display()
                ))
            }
        }
    }
    bail!("could not take the lock file {}", path.display())
}

/// Whether process `pid` is running a faultline (Linux: `/proc`; elsewhere a lock is
/// taken as held, and the message says how to clear it).
fn alive(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    if !proc_dir.is_dir() {
        return true;
    }
    std::fs::read(proc_dir.join(pid.to_string()).join("cmdline"))
        .map(|cmd| String::from_utf8_lossy(&cmd).contains("faultline"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_names_the_sqlite_file_and_not_a_shared_database() {
        assert_eq!(
            crate::store::sqlite_file("log.db"),
            Some(PathBuf::from("log.db"))
        );
        assert_eq!(
            crate::store::sqlite_file("sqlite:/var/lib/faultline/log.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/faultline/log.db"))
        );
        assert_eq!(
            crate::store::sqlite_file("postgres://ops@db/faultline"),
            None
        );
        assert_eq!(crate::store::sqlite_file("sqlite::memory:"), None);
    }
}
