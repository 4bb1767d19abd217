//! `spawn_app`: a server on port 0 with a fresh event log and the bundled IEEE 123 network.

use std::net::TcpListener;
use std::sync::Arc;

use faultline::api::{build_server, AppState, Role, Tokens};
use faultline::network::{LoadOptions, Network};
use faultline::store::{Store, StoreOptions};

pub const TOKEN: &str = "test-admin-token";
pub const WALLBOARD_TOKEN: &str = "test-wallboard-token";
pub const DISPATCHER_TOKEN: &str = "test-dispatcher-token";
/// Acts for crew CREW-7.
pub const CREW7_TOKEN: &str = "test-crew7-token-0";

pub struct TestApp {
    pub base: String,
    pub client: awc::Client,
    pub store: Store,
    _dir: tempfile::TempDir,
    /// Dropping it stops the engine's follow loop.
    _shutdown: tokio::sync::watch::Sender<bool>,
}

/// The administrator's token and one of each other role.
pub fn test_tokens() -> Tokens {
    let mut tokens = Tokens::new(TOKEN);
    tokens.add(WALLBOARD_TOKEN, Role::Wallboard);
    tokens.add(DISPATCHER_TOKEN, Role::Dispatcher);
    tokens.add(CREW7_TOKEN, Role::Crew("CREW-7".into()));
    tokens
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_limit(32 * 1024 * 1024).await
}

pub async fn spawn_app_with_limit(max_body_bytes: usize) -> TestApp {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    let text = std::fs::read_to_string(path).expect("bundled network");
    let network =
        Network::from_geojson(&text, &LoadOptions::default()).expect("bundled network loads");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = crate::common::db::test_db(dir.path()).await;
    let (store, _writer) = Store::open(&db, StoreOptions::default())
        .await
        .expect("store opens");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
    let engine = faultline::engine::Engine::new(network.clone(), Default::default());
    let live = faultline::live::Live::start(engine, store.clone(), shutdown)
        .await
        .expect("engine starts");
    let state = AppState {
        live,
        network: Arc::new(network),
        store: store.clone(),
        tokens: test_tokens(),
        max_body_bytes,
    };
    let server = build_server(listener, state, Some(1)).expect("server builds");
    actix_web::rt::spawn(server);
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    TestApp {
        base,
        client,
        store,
        _dir: dir,
        _shutdown: shutdown_tx,
    }
}

impl TestApp {
    /// GET `path` with this token (or none): status, content type and body text.
    pub async fn get_text(&self, token: Option<&str>, path: &str) -> (u16, String, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut resp = req.send().await.expect("request goes through");
        let body = resp.body().limit(1 << 26).await.expect("body");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (
            resp.status().as_u16(),
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

impl TestApp {
    pub async fn post(&self, content_type: &str, body: String) -> (u16, serde_json::Value) {
        let mut resp = self
            .client
            .post(format!("{}/api/v1/events", self.base))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .insert_header(("Content-Type", content_type))
            .send_body(body)
            .await
            .expect("request goes through");
        let status = resp.status().as_u16();
        let body = resp.body().limit(1 << 20).await.expect("body");
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn post_json(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.post("application/json", body.to_string()).await
    }

    /// The stored events as parsed JSON lines.
    pub async fn stored(&self, since: i64) -> Vec<serde_json::Value> {
        let mut resp = self
            .client
            .get(format!(
                "{}/api/v1/events?since={since}&limit=100000",
                self.base
            ))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .send()
            .await
            .expect("request goes through");
        assert_eq!(resp.status().as_u16(), 200);
        let body = resp.body().limit(1 << 30).await.expect("body");
        std::str::from_utf8(&body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect()
    }
}

impl TestApp {
    /// GET a JSON body (200 expected).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// GET `path` as the administrator: the status code and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let mut resp = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .send()
            .await
            .expect("request goes through");
        let body = resp.body().limit(1 << 26).await.unwrap();
        (
            resp.status().as_u16(),
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The stored output messages, polled until one satisfies `ok` (the engine's state
    /// moves first; its messages are stored just after).
    pub async fn wait_for_message(
        &self,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mut resp = self
                .client
                .get(format!("{}/api/v1/messages?since=0", self.base))
                .insert_header(("Authorization", format!("Bearer {TOKEN}")))
                .send()
                .await
                .expect("request goes through");
            let body = resp.body().limit(1 << 26).await.unwrap();
            let messages: Vec<serde_json::Value> = std::str::from_utf8(&body)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if messages.iter().any(&ok) {
                return messages;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the message was never stored"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Poll `path` until `ok` holds (the engine applies events after they are stored).
    pub async fn wait_for(
        &self,
        path: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let v = self.get_json(path).await;
            if ok(&v) {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} never satisfied: {v}"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub fn report(id: &str, customer: &str) -> serde_json::Value {
    serde_json::json!({"type":"report","at":"2026-07-14T03:12:09Z","id":id,"customer":customer,"source":"call","problem":"no_power"})
}
