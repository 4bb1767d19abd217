//! `faultline serve`: load the network, open the log, listen, and shut down cleanly.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::api::{build_metrics_server, build_server_with, AppState, Tokens};
use crate::config::ServeSettings;
use crate::engine::Engine;
use crate::input::load_network;
use crate::live::{spawn_ticker, Live, LiveOptions};
use crate::store::{redacted, Store, StoreOptions};

/// Listen on `addr` (`--bind`). A port another program holds is one clear error that
/// says what to do, not an I/O error code.
pub fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            let port = addr.rsplit_once(':').map_or(addr, |(_, port)| port);
            anyhow::anyhow!("port {port} is in use: choose another with --bind")
        } else {
            anyhow::Error::new(e).context(format!("binding {addr}"))
        }
    })
}

/// Run the server until SIGINT/SIGTERM; in-flight requests finish and every accepted
/// event is committed before this returns.
pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    run_on(settings, None).await
}

/// [`run`] on a listener the caller has bound already (`faultline demo` binds before it
/// prints or posts anything), or on `settings.bind` when `None`.
pub async fn run_on(settings: ServeSettings, listener: Option<TcpListener>) -> anyhow::Result<()> {
    // Checked before anything is opened or created.
    let admin_given =
        Tokens::admin_from_env(std::env::var("FAULTLINE_ADMIN_TOKEN").ok().as_deref())?;
    let network = load_network(
        &settings.network,
        settings.add_protection,
        settings.set_aside_invalid,
    )?;
    // Before anything is opened: a second serve on the same SQLite file is refused.
    let lock = crate::serve_lock::take(&settings.db)?;
    let (store, writer) = Store::open(&settings.db, StoreOptions::default())
        .await
        .with_context(|| format!("opening the event log {}", redacted(&settings.db)))?;
    tracing::info!(db = %redacted(&settings.db), backend = ?store.backend(), last_seq = store.last_seq().await?, "event log open");
    let admin = match admin_given {
        Some(t) => t,
        None => {
            let t = Tokens::generate();
            println!("admin token (set FAULTLINE_ADMIN_TOKEN to choose one): {t}");
            t
        }
    };
    let mut tokens = Tokens::new(admin);
    if let Some(source) = &settings.tokens {
        let added = tokens.add_from(source)?;
        tracing::info!(tokens = added, "tokens loaded");
    }
    let listener = match listener {
        Some(listener) => listener,
        None => bind(&settings.bind)?,
    };
    let metrics_listener = match &settings.metrics_bind {
        Some(addr) => Some(
            TcpListener::bind(addr).with_context(|| format!("binding --metrics-bind {addr}"))?,
        ),
        None => None,
    };
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
    let engine = Engine::new(network.clone(), settings.engine.options()?);
    let live = Live::start_with(
        engine,
        store.clone(),
        shutdown.clone(),
        LiveOptions {
            snapshot_every: settings.snapshot_every,
            snapshot_min_interval: Duration::from_secs(settings.snapshot_min_interval_s),
        },
    )
    .await?;
    spawn_ticker(store.clone(), shutdown);
    let metrics_server = match metrics_listener {
        Some(l) => {
            let addr = l.local_addr()?;
            let server = build_metrics_server(l, live.clone(), store.clone())?;
            println!("metrics on http://{addr}/metrics (no token)");
            tracing::info!(%addr, "metrics listening");
            Some(server)
        }
        None => None,
    };
    let state = AppState {
        network: Arc::new(network),
        store: store.clone(),
        tokens,
        max_body_bytes: settings.max_body_bytes,
        live,
    };
    let server = build_server_with(listener, state, settings.server_options())?;
    println!("faultline listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let metrics_handle = metrics_server.as_ref().map(|s| s.handle());
    if let Some(s) = metrics_server {
        actix_web::rt::spawn(s);
    }
    server.await?;
    if let Some(h) = metrics_handle {
        h.stop(true).await;
    }
    let _ = shutdown_tx.send(true);
    drop(store);
    writer.finish(Duration::from_secs(15)).await;
    drop(lock);
    tracing::info!("stopped");
    Ok(())
}
