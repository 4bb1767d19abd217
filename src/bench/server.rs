//! `faultline serve` as a child process of a benchmark: this same executable, on a
//! fresh SQLite log in a temporary directory (or a PostgreSQL schema of the
//! benchmark's, see [`PgScratch`]) and a free loopback port.
//!
//! Running the server in its own process keeps the load generator's CPU and memory
//! out of the server's figures (each is read from `/proc` separately) and measures
//! what a deployment runs: the real binary, its real start-up, its real shutdown.
//! The server's log goes to a file beside the database; with
//! `faultline::store=debug` in the filter it has one `group committed` line per
//! transaction, which is how the benchmark counts commits.
//!
//! The child is always stopped: [`ServerChild::stop`] sends SIGTERM (through
//! `kill(1)`, so no new dependency) and waits for the clean shutdown the serve path
//! promises; dropping a `ServerChild` that was not stopped does the same, and a child
//! that does not exit in time is killed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long the server has to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often to look whether the child is up or gone.
const POLL: Duration = Duration::from_millis(50);

/// A `faultline serve` child process.
pub struct ServerChild {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The administrator token it accepts.
    pub token: String,
    addr: SocketAddr,
    log: PathBuf,
}

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct ServerSetup<'a> {
    /// The network file.
    pub network: &'a Path,
    /// The directory for the database and the log.
    pub dir: &'a Path,
    /// The `--db` (default: `log.db` in `dir`).
    pub db: Option<&'a str>,
    /// HTTP worker threads (`None`: the server's default).
    pub workers: Option<usize>,
    /// `FAULTLINE_LOG` for the child.
    pub log_filter: &'a str,
}

impl ServerChild {
    /// Start the server on a free port; returns once it answers `GET /healthz`.
    pub fn start(setup: &ServerSetup<'_>, ready_within: Duration) -> anyhow::Result<ServerChild> {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let token = crate::api::Tokens::generate();
        let log = setup.dir.join("server.log");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let exe = std::env::current_exe().context("finding this executable")?;
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg("--network")
            .arg(setup.network)
            .arg("--db")
            .arg(
                setup
                    .db
                    .map_or_else(|| setup.dir.join("log.db").into_os_string(), Into::into),
            )
            .arg("--bind")
            .arg(addr.to_string())
            .env("FAULTLINE_ADMIN_TOKEN", &token)
            .env("FAULTLINE_LOG", setup.log_filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        if let Some(w) = setup.workers {
            command.arg("--workers").arg(w.to_string());
        }
        let child = command.spawn().context("starting faultline serve")?;
        let mut server = ServerChild {
            child: Some(child),
            base: format!("http://{addr}"),
            token,
            addr,
            log,
        };
        server.wait_healthy(ready_within)?;
        Ok(server)
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Poll `GET /healthz` (a plain HTTP/1.1 request over a fresh connection) until it
    /// answers 200; fail early, with the end of the log, if the child exits.
    fn wait_healthy(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if self.healthz_is_ok() {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "faultline serve exited ({status}) before answering /healthz; its log ends:\n{}",
                    self.log_tail(20)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "faultline serve did not answer /healthz within {} s; its log ends:\n{}",
                    within.as_secs(),
                    self.log_tail(20)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn healthz_is_ok(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.take(64 * 1024).read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    /// Transactions the writer has committed so far, counted from its log (`None` when
    /// the filter hides them).
    pub fn commits_logged(&self) -> Option<u64> {
        let text = std::fs::read(&self.log).ok()?;
        let needle = b"group committed";
        let count = text
            .split(|&b| b == b'\n')
            .filter(|line| line.windows(needle.len()).any(|w| w == needle))
            .count() as u64;
        Some(count)
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then wait for the clean shutdown; returns how the server exited.
    pub fn stop(mut self) -> anyhow::Result<ExitStatus> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the server was already stopped");
        };
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        if !matches!(sent, Ok(s) if s.success()) {
            child.kill().context("killing the server")?;
            return Ok(child.wait()?);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                child
                    .kill()
                    .context("killing the server after SIGTERM timed out")?;
                let status = child.wait()?;
                bail!(
                    "the server did not stop within {} s of SIGTERM and was killed ({status})",
                    STOP_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(e) = self.stop_inner() {
                eprintln!("stopping the benchmark's server: {e:#}");
            }
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago (the server binds it next).
fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// A fresh PostgreSQL schema for one benchmark run, dropped with everything in it when
/// this is dropped: the benchmark never touches a deployment's own tables.
pub struct PgScratch {
    base: String,
    schema: String,
    /// The `--db` URL that puts the server in the schema.
    pub url: String,
}

impl PgScratch {
    /// Create `faultline_bench_<pid>_<secs>` in the database at `base`.
    pub fn new(base: &str) -> anyhow::Result<PgScratch> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let schema = format!("faultline_bench_{}_{secs}", std::process::id());
        pg_execute(base, &format!("CREATE SCHEMA {schema}"))?;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(PgScratch {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            base: base.to_owned(),
            schema,
        })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        if let Err(e) = pg_execute(&self.base, &format!("DROP SCHEMA {} CASCADE", self.schema)) {
            eprintln!("dropping the benchmark's schema {}: {e:#}", self.schema);
        }
    }
}

fn pg_execute(url: &str, sql: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .with_context(|| format!("connecting to {}", crate::store::redacted(url)))?;
            // No NOTICE lines ("drop cascades to …") in the benchmark's output.
            sqlx::query("SET client_min_messages TO warning")
                .execute(&mut conn)
                .await?;
            sqlx::query(sql).execute(&mut conn).await?;
            anyhow::Ok(())
        })
}
