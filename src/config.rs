//! Settings: defaults that let `faultline demo` start with nothing set, overridden by
//! flags and `FAULTLINE_…` environment variables (clap reads both).

use std::path::PathBuf;

use clap::Args;

/// How `faultline serve` runs.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// The network file (contract GeoJSON).
    #[arg(
        long,
        env = "FAULTLINE_NETWORK",
        default_value = "gis-data/bdgd_mux_energia.geojson"
    )]
    pub network: PathBuf,
    /// The event log: a SQLite file path or `sqlite:` URL.
    #[arg(long, env = "FAULTLINE_DB", default_value = "faultline.db")]
    pub db: String,
    /// Address to listen on.
    #[arg(long, env = "FAULTLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Serve `GET /metrics` (Prometheus) also on this address, without a token (on the
    /// API's address it needs a wallboard, dispatcher or admin token).
    #[arg(long, env = "FAULTLINE_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Requests a second each client address may make to the public feed and lookup
    /// (`/public/v1/…`), 0 for no limit (behind a proxy, limit there: every visitor has
    /// its address here).
    #[arg(long, env = "FAULTLINE_PUBLIC_RATE", default_value_t = 5)]
    pub public_rate: u32,
    /// …and at once after a quiet spell.
    #[arg(long, env = "FAULTLINE_PUBLIC_BURST", default_value_t = 20)]
    pub public_burst: u32,
    /// The public feed is computed from the engine at most this often, seconds.
    #[arg(long, env = "FAULTLINE_PUBLIC_REFRESH_S", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub public_refresh_s: u64,
    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "FAULTLINE_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Add lateral fuses to a network that has none (see `network::protection`).
    #[arg(long)]
    pub add_protection: bool,
    /// Load a network with invalid features set aside (and listed) instead of refusing it.
    #[arg(long)]
    pub set_aside_invalid: bool,
    /// Tokens for the wallboard, dispatchers and crews: a file of JSON lines (or a JSON
    /// array) of `{"token": "…", "role": "wallboard|dispatcher|crew|admin", "crew": "CREW-7"}`,
    /// or that JSON itself. The administrator's token stays `FAULTLINE_ADMIN_TOKEN`.
    #[arg(long, env = "FAULTLINE_TOKENS")]
    pub tokens: Option<PathBuf>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "FAULTLINE_WORKERS")]
    pub workers: Option<usize>,
    /// Keep a snapshot of the engine every this many events, so a restart replays only
    /// the log after it (0: never).
    #[arg(long, env = "FAULTLINE_SNAPSHOT_EVERY", default_value_t = 100_000,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub snapshot_every: i64,
    /// …and at least this many seconds between two snapshots.
    #[arg(long, env = "FAULTLINE_SNAPSHOT_MIN_INTERVAL_S", default_value_t = 60)]
    pub snapshot_min_interval_s: u64,
    /// Service targets, travel and dispatch timers.
    #[command(flatten)]
    pub engine: EngineSettings,
}

/// What the engine assumes about crews, roads and service targets (CONTRACT section 5
/// defaults). `serve` and `replay` take the same flags: a log replays to the same stream
/// only with the same settings, so change them between storms, not during one.
#[derive(Debug, Clone, Args)]
pub struct EngineSettings {
    /// Crew on site after the outage is first known, minutes: urban,suburban,rural.
    #[arg(long, env = "FAULTLINE_ON_SITE_TARGET_MIN", value_delimiter = ',', default_values_t = [45, 45, 90])]
    pub on_site_target_min: Vec<i64>,
    /// Power restored (10 kV and below), minutes: urban,suburban,rural.
    #[arg(long, env = "FAULTLINE_RESTORE_TARGET_MIN", value_delimiter = ',', default_values_t = [720, 720, 1440])]
    pub restore_target_min: Vec<i64>,
    /// A failed meter replaced, minutes.
    #[arg(long, env = "FAULTLINE_METER_TARGET_MIN", default_value_t = 480)]
    pub meter_target_min: i64,
    /// Days callbacks (回访) stay listed after the restoration; then they close, answered
    /// or not, and leave the engine (the log keeps what was said).
    #[arg(long, env = "FAULTLINE_CALLBACK_DAYS", default_value_t = 7)]
    pub callback_days: i64,
    /// Crews' average speed by the destination's zone, km/h: urban,suburban,rural.
    #[arg(long, env = "FAULTLINE_SPEED_KMH", value_delimiter = ',', default_values_t = [25.0, 40.0, 60.0])]
    pub speed_kmh: Vec<f64>,
    /// Road distance over straight-line distance.
    #[arg(long, env = "FAULTLINE_CIRCUITY", default_value_t = 1.4)]
    pub circuity: f64,
    /// Minutes a crew has to acknowledge before its order goes to another crew.
    #[arg(long, env = "FAULTLINE_ACK_TIMEOUT_MIN", default_value_t = 5)]
    pub ack_timeout_min: i64,
    /// Minutes an inferred single-customer outage waits before it gets a work order.
    #[arg(long, env = "FAULTLINE_SERVICE_HOLD_MIN", default_value_t = 10)]
    pub service_hold_min: i64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            on_site_target_min: vec![45, 45, 90],
            restore_target_min: vec![720, 720, 1440],
            meter_target_min: 480,
            callback_days: 7,
            speed_kmh: vec![25.0, 40.0, 60.0],
            circuity: 1.4,
            ack_timeout_min: 5,
            service_hold_min: 10,
        }
    }
}

impl ServeSettings {
    /// The server's options from these settings.
    pub fn server_options(&self) -> crate::api::ServerOptions {
        crate::api::ServerOptions {
            workers: self.workers,
            public: crate::api::PublicOptions {
                refresh: std::time::Duration::from_secs(self.public_refresh_s),
                per_second: self.public_rate,
                burst: self.public_burst,
            },
        }
    }
}

impl EngineSettings {
    /// The engine's options with these settings, or what is wrong with them.
    pub fn options(&self) -> anyhow::Result<crate::engine::EngineOptions> {
        let three = |name: &str, v: &[i64]| -> anyhow::Result<[i64; 3]> {
            match v {
                [u, s, r] if v.iter().all(|m| *m > 0) => Ok([*u, *s, *r]),
                _ => anyhow::bail!("--{name} needs three positive minutes: urban,suburban,rural"),
            }
        };
        let speeds = match self.speed_kmh.as_slice() {
            [u, s, r] if self.speed_kmh.iter().all(|k| *k > 0.0) => [*u, *s, *r],
            _ => anyhow::bail!("--speed-kmh needs three positive speeds: urban,suburban,rural"),
        };
        anyhow::ensure!(self.circuity >= 1.0, "--circuity must be 1 or more");
        anyhow::ensure!(
            self.ack_timeout_min > 0,
            "--ack-timeout-min must be positive"
        );
        anyhow::ensure!(
            self.service_hold_min >= 0,
            "--service-hold-min must be 0 or more"
        );
        anyhow::ensure!(
            self.meter_target_min > 0,
            "--meter-target-min must be positive"
        );
        anyhow::ensure!(self.callback_days > 0, "--callback-days must be positive");
        let defaults = crate::engine::EngineOptions::default();
        Ok(crate::engine::EngineOptions {
            targets: crate::engine::Targets {
                on_site_min: three("on-site-target-min", &self.on_site_target_min)?,
                restore_min: three("restore-target-min", &self.restore_target_min)?,
                meter_min: self.meter_target_min,
                callback_days: self.callback_days,
            },
            dispatch: crate::dispatch::DispatchOptions {
                travel: crate::dispatch::travel::TravelModel {
                    circuity: self.circuity,
                    speed_kmh: speeds,
                    ..defaults.dispatch.travel
                },
                ack_timeout_min: self.ack_timeout_min,
                service_hold_min: self.service_hold_min,
                ..defaults.dispatch
            },
            ..defaults
        })
    }
}
