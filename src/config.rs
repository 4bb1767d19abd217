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
}
