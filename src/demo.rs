//! `faultline demo`: the command system on the bundled real network, with a fresh
//! event log in a temporary folder and a simulated storm posted to it live, through
//! the same HTTP API a call center or AMI head-end would use.
//!
//! The storm (from [`crate::sim`]) is played faster than real time (`--speed`): its
//! events are stamped and posted at the moment they are due, so the engine's clock is
//! the wall clock, as in production.

use std::time::Duration;

use chrono::Utc;
use clap::Args;

use crate::config::ServeSettings;
use crate::sim::{generate, StormOptions};

/// Arguments of `faultline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// How many times faster than real time the storm plays.
    #[arg(long, default_value_t = 20.0)]
    pub speed: f64,
    /// Faults in the storm.
    #[arg(long, default_value_t = 15)]
    pub faults: usize,
    /// The storm's seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Serve only: no simulated storm.
    #[arg(long)]
    pub no_storm: bool,
    /// Simulated crews answering their orders (0: none, and the storm repairs itself).
    #[arg(long, default_value_t = 8)]
    pub crews: usize,
}

/// Run the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // See: #19. The port first: before a token is printed or a storm posted to whatever
    // else holds it.
    let listener = crate::serve::bind(&args.bind)?;
    let dir = std::env::temp_dir().join(format!("faultline-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bundled =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gis-data/bdgd_mux_energia.geojson");
    let network = if bundled.exists() {
        bundled
    } else {
        "gis-data/bdgd_mux_energia.geojson".into()
    };
    let token = std::env::var("FAULTLINE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(crate::api::Tokens::generate);
    // `serve` reads the token from the environment; the storm feeder uses it too.
    std::env::set_var("FAULTLINE_ADMIN_TOKEN", &token);
    let mut settings = ServeSettings {
        network: network.clone(),
        db: dir.join("demo.db").to_string_lossy().into_owned(),
        bind: args.bind.clone(),
        metrics_bind: None,
        public_rate: 5,
        public_burst: 20,
        public_refresh_s: 5,
        max_body_bytes: 32 * 1024 * 1024,
        add_protection: false,
        set_aside_invalid: false,
        tokens: None,
        workers: None,
        snapshot_every: crate::live::LiveOptions::default().snapshot_every,
        snapshot_min_interval_s: crate::live::LiveOptions::default()
            .snapshot_min_interval
            .as_secs(),
        engine: crate::config::EngineSettings::default(),
    };
    println!("faultline demo: the real BDGD network (Mux Energia, Brazil, 13,340 customers)");
    println!("  event log:   {}", dir.display());
    println!(
        "  API:         http://{}/api/v1/outages   (Authorization: Bearer {token})",
        args.bind
    );
    println!(
        "  messages:    http://{}/api/v1/messages?since=0",
        args.bind
    );
    let mut crews = Vec::new();
    if !args.no_storm {
        let net = crate::input::load_network(&network, false, false)?;
        let storm = generate(
            &net,
            &StormOptions {
                seed: args.seed,
                faults: args.faults,
                duration_min: 60,
                start: Utc::now(),
                // With crews, crews repair; without, the storm repairs itself.
                restore: args.crews == 0,
                ..StormOptions::default()
            },
        );
        println!(
            "  storm:       {} faults, {} events, played {}x faster than real time",
            storm.truth.faults.len(),
            storm.events.len(),
            args.speed
        );
        if args.crews > 0 {
            // The simulated crews' ids, for their pages' tokens.
            let options = crate::sim::crews::CrewOptions {
                crews: args.crews,
                seed: args.seed,
                ..crate::sim::crews::CrewOptions::default()
            };
            crews = crate::sim::crews::roster(&net, &options, Utc::now())
                .iter()
                .filter_map(|e| match &e.kind {
                    crate::events::EventKind::Crew(c) => Some(c.id.clone()),
                    _ => None,
                })
                .collect();
        }
        if args.crews > 0 {
            println!(
                "  crews:       {} simulated crews answer their orders, {}x faster than real time",
                args.crews, args.speed
            );
            actix_web::rt::spawn(run_crews(
                args.bind.clone(),
                token.clone(),
                net,
                storm.events.clone(),
                args.crews,
                args.seed,
                args.speed,
            ));
        }
        actix_web::rt::spawn(feed_storm(
            args.bind.clone(),
            token,
            storm.events,
            args.speed,
        ));
    }
    settings.tokens = Some(page_tokens(&dir, &args.bind, crews)?);
    let result = crate::serve::run_on(settings, Some(listener)).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Post the storm's events as they fall due, re-stamped on the compressed clock.
async fn feed_storm(bind: String, token: String, events: Vec<crate::events::Event>, speed: f64) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let base = format!("http://{bind}");
    // Wait for the server.
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(first) = events.first().map(|e| e.at) else {
        return;
    };
    let wall_start = Utc::now();
    let mut i = 0;
    let mut posted = 0usize;
    while i < events.len() {
        let now = Utc::now();
        let storm_now = first
            + chrono::Duration::milliseconds(
                ((now - wall_start).num_milliseconds() as f64 * speed) as i64,
            );
        let mut body = String::new();
        while i < events.len() && events[i].at <= storm_now {
            let mut e = events[i].clone();
            let offset = (e.at - first).num_milliseconds() as f64 / speed;
            e.at = wall_start + chrono::Duration::milliseconds(offset as i64);
            body.push_str(&e.to_json());
            body.push('\n');
            i += 1;
        }
        if !body.is_empty() {
            let n = body.lines().count();
            let before = posted;
            let sent = client
                .post(format!("{base}/api/v1/events"))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("Content-Type", "application/x-ndjson"))
                .send_body(body)
                .await;
            match sent {
                Ok(r) if r.status().is_success() => posted += n,
                Ok(r) => {
                    tracing::warn!(status = %r.status(), "the demo storm's events were refused")
                }
                Err(e) => tracing::warn!(error = %e, "could not post the demo storm's events"),
            }
            // `posted` grows only when the server takes the lines: compare with what it
            // was (`posted - n` underflowed when a post was refused).
            if posted / 500 != before / 500 {
                tracing::info!(posted, total = events.len(), "demo storm");
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::info!(posted, "demo storm: every event posted");
}

/// Simulated crews over HTTP: a roster, then every half second read the orders and
/// crews, plan each crew's next step ([`crate::sim::crews`], every delay divided by
/// `speed`) and post the steps that are due, one request each, as a crew's phone would.
async fn run_crews(
    bind: String,
    token: String,
    net: crate::network::Network,
    storm: Vec<crate::events::Event>,
    crews: usize,
    seed: u64,
    speed: f64,
) {
    use crate::events::EventKind;
    use crate::sim::crews::{roster, CrewOptions, CrewSim};
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let base = format!("http://{bind}");
    let auth = format!("Bearer {token}");
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let options = CrewOptions {
        crews,
        seed,
        time_scale: 1.0 / speed.max(1.0),
        ..CrewOptions::default()
    };
    let engine_options = crate::engine::EngineOptions::default();
    let repair = engine_options.dispatch.repair;
    let mut sim = CrewSim::new(options.clone(), &engine_options);
    for e in &storm {
        if let EventKind::Ami(m) = &e.kind {
            if m.state == crate::events::PowerState::Off {
                sim.heard_gasp(&m.customer);
            }
        }
    }
    let post = |body: String| {
        client
            .post(format!("{base}/api/v1/events"))
            .insert_header(("Authorization", auth.clone()))
            .insert_header(("Content-Type", "application/x-ndjson"))
            .send_body(body)
    };
    let mut body = String::new();
    for e in roster(&net, &options, Utc::now()) {
        body.push_str(&e.to_json());
        body.push('\n');
    }
    if let Err(e) = post(body).await {
        tracing::warn!(error = %e, "demo crews: could not post the roster");
        return;
    }
    // Orders as the API shows them: number, device, and what a crew needs.
    let mut devices: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        let get = |path: &str| {
            client
                .get(format!("{base}{path}"))
                .insert_header(("Authorization", auth.clone()))
                .send()
        };
        let (Ok(mut orders), Ok(mut crew_list)) =
            (get("/api/v1/orders").await, get("/api/v1/crews").await)
        else {
            continue;
        };
        let (Ok(orders), Ok(crew_list)) = (
            orders.json::<serde_json::Value>().limit(64 << 20).await,
            crew_list.json::<serde_json::Value>().limit(16 << 20).await,
        ) else {
            continue;
        };
        let positions: std::collections::HashMap<&str, (f64, f64)> = crew_list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["id"].as_str()?, (c["lon"].as_f64()?, c["lat"].as_f64()?))))
            .collect();
        let now = Utc::now();
        for o in orders.as_array().into_iter().flatten() {
            let Some(view) = order_view(o, &positions, &repair) else {
                continue;
            };
            devices.insert(view.number, o["device"].as_str().unwrap_or("").to_owned());
            sim.react_to(&view, now);
        }
        while sim.next_at().is_some_and(|at| at <= Utc::now()) {
            let Some(mut e) = sim.pop() else { break };
            e.at = Utc::now();
            let restored = match &e.kind {
                EventKind::CrewAction(a) if a.action == crate::events::CrewActionKind::Restored => {
                    crate::dispatch::parse_order_name(&a.order).map(|n| (n, a.crew.clone()))
                }
                _ => None,
            };
            let accepted = matches!(post(format!("{}\n", e.to_json())).await, Ok(r) if r.status().is_success());
            if let (false, EventKind::CrewAction(a)) = (accepted, &e.kind) {
                // Refused (the order moved on meanwhile): the crew's phone still says where
                // it is, so the crew counts as heard from.
                if let Some(&(lon, lat)) = positions.get(a.crew.as_str()) {
                    let here = crate::events::Event {
                        at: e.at,
                        kind: EventKind::CrewPosition(crate::events::CrewPosition {
                            crew: a.crew.clone(),
                            lon,
                            lat,
                        }),
                    };
                    let _ = post(format!("{}\n", here.to_json())).await;
                }
            }
            if let (true, Some((n, crew))) = (accepted, restored) {
                if let Some(device) = devices.get(&n) {
                    sim.power_back(&net, n, &crew, device, &Default::default(), e.at);
                }
            }
        }
    }
}

/// What a simulated crew needs from an order as `GET /api/v1/orders` shows it.
fn order_view(
    o: &serde_json::Value,
    positions: &std::collections::HashMap<&str, (f64, f64)>,
    repair: &crate::dispatch::RepairTimes,
) -> Option<crate::sim::crews::OrderView> {
    use crate::orders::OrderState;
    let crew = o["crew"].as_str()?;
    let state = OrderState::ALL
        .into_iter()
        .find(|s| Some(s.as_str()) == o["state"].as_str())?;
    let job = match o["kind"].as_str()? {
        "meter" => crate::dispatch::JobKind::Meter,
        "service" => crate::dispatch::JobKind::Service,
        "wire_down" => crate::dispatch::JobKind::WireDown,
        // The order does not say which device kind: price a lateral fuse's repair.
        _ => crate::dispatch::JobKind::Device(crate::network::DeviceKind::Fuse),
    };
    let repair_min = repair.minutes(job) as f64;
    let zone = match o["zone"].as_str() {
        Some("rural") => crate::network::ZoneKind::Rural,
        Some("suburban") => crate::network::ZoneKind::Suburban,
        _ => crate::network::ZoneKind::Urban,
    };
    Some(crate::sim::crews::OrderView {
        number: crate::dispatch::parse_order_name(o["id"].as_str()?)?,
        steps: o["history"].as_array()?.len(),
        state,
        crew: crew.to_owned(),
        lon: o["lon"].as_f64()?,
        lat: o["lat"].as_f64()?,
        zone,
        repair_min,
        crew_position: positions.get(crew).copied(),
    })
}

/// Tokens for the pages (a wallboard, a dispatcher, one per crew), written to a tokens
/// file in the demo's folder; prints each page's URL with its token.
fn page_tokens(
    dir: &std::path::Path,
    bind: &str,
    mut crews: Vec<String>,
) -> anyhow::Result<std::path::PathBuf> {
    use crate::api::Tokens;
    crews.sort();
    crews.dedup();
    let wallboard = Tokens::generate();
    let dispatcher = Tokens::generate();
    let mut lines = vec![
        serde_json::json!({"token": wallboard, "role": "wallboard"}),
        serde_json::json!({"token": dispatcher, "role": "dispatcher"}),
    ];
    println!("  wallboard:   http://{bind}/?token={wallboard}&lang=en   (中文: &lang=zh-CN)");
    println!("  console:     http://{bind}/console?token={dispatcher}");
    println!("  lookup:      http://{bind}/lookup?token={dispatcher}      (call center: is this caller in an outage?)");
    println!("  callbacks:   http://{bind}/callbacks?token={dispatcher}   (call center: 回访 after restoration)");
    println!("  reports:     http://{bind}/reports?token={dispatcher}     (SAIDI/SAIFI, targets, workload)");
    println!("  public:      http://{bind}/public?lang=en              (no token: the outage map for customers)");
    for crew in &crews {
        let token = Tokens::generate();
        lines.push(serde_json::json!({"token": token, "role": "crew", "crew": crew}));
        println!("  crew {crew}: http://{bind}/crew?token={token}");
    }
    let path = dir.join("tokens.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text)?;
    Ok(path)
}
