//! A faultline server inside the test's process, over a fresh event log (see
//! [`super::db::test_db`]) on the bundled IEEE 123 feeder (or a given network), on a
//! free port.

use std::net::TcpListener;
use std::sync::Arc;

use faultline::api::{build_server, AppState, Tokens};
use faultline::engine::{Engine, EngineOptions};
use faultline::events::Event;
use faultline::store::{Store, StoreOptions, WriterHandle};

/// A running server; dropping it stops its engine.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _shutdown: tokio::sync::watch::Sender<bool>,
    _writer: WriterHandle,
}

impl TestServer {
    /// Serve a log that already holds `log` (as after a restart: the engine is rebuilt
    /// from it), accepting `tokens`.
    pub async fn start(dir: &std::path::Path, tokens: Tokens, log: &[Event]) -> TestServer {
        Self::start_on(super::bundled("ieee123.geojson"), dir, tokens, log).await
    }

    /// [`TestServer::start`] on another network.
    pub async fn start_on(
        network: faultline::network::Network,
        dir: &std::path::Path,
        tokens: Tokens,
        log: &[Event],
    ) -> TestServer {
        let (store, writer) = Store::open(&super::db::test_db(dir).await, StoreOptions::default())
            .await
            .expect("the event log opens");
        if !log.is_empty() {
            store.append(log).await.expect("the log is stored");
        }
        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
        let engine = Engine::new(network.clone(), EngineOptions::default());
        let live = faultline::live::Live::start(engine, store.clone(), shutdown)
            .await
            .expect("the engine starts");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState {
            live,
            network: Arc::new(network),
            store,
            tokens,
            max_body_bytes: 1 << 20,
        };
        actix_web::rt::spawn(build_server(listener, state, Some(1)).expect("the server builds"));
        TestServer {
            base,
            _shutdown: shutdown_tx,
            _writer: writer,
        }
    }
}
