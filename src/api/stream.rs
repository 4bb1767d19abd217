//! `GET /api/v1/stream?since=SEQ`: the output messages over a websocket (CONTRACT
//! section 4): first every stored message after `SEQ`, then live, with no gap and no
//! duplicate at the hand-over.
//!
//! # Shape
//! One **hub task** follows the engine's broadcast ([`Live::subscribe`]) and turns each
//! message once into a [`Frame`]: its text as a shared `ByteString` (so sending it to a
//! thousand sockets copies no text) and the ids a crew filter needs (parsed once, not
//! once per socket). It republishes the frames, every seq in order, on its own bounded
//! broadcast channel, in batches of the messages that were waiting together (so a
//! socket wakes once per batch, not once per message); when it falls behind the engine
//! it reads the missed messages back from the store.
//!
//! Each websocket has **one task** with one `select!` over the hub's frames, the
//! client's frames and a heartbeat tick. It subscribes to the hub *before* reading the
//! store, so a message is either in what it reads or in what it receives (or both:
//! seqs already sent are skipped). A socket that falls behind gets `Lagged` and reads
//! what it missed from the store; a slow socket never slows the others, because the
//! broadcast is a ring that does not wait for readers. A socket that stays hopeless
//! (a send blocked for [`SEND_TIMEOUT`], or a catch-up that cannot reach the head in
//! [`CATCH_UP_LIMIT`]) is closed with a reason that says how to resume.
//!
//! # Control messages
//! Besides the engine's messages, the stream carries three of its own (no `data`):
//! - `{"type":"stream.live","seq":N}` once the stored backlog is sent: what follows is
//!   live; `N` is the last seq this socket has passed (sent or filtered out).
//! - `{"type":"heartbeat","at":"…","seq":N}` every [`HEARTBEAT_INTERVAL`] (besides a
//!   websocket ping): `at` is the server's wall clock, `N` as above.
//! - `{"type":"stream.reset","seq":N}` when `since` is beyond the last stored message
//!   (the log was replaced): the reader should drop what it holds; the stream then
//!   starts again from the first message.
//!
//! A crew token receives only the messages about its crew: `crew.updated` for itself,
//! `order.*` for orders assigned to it (and the message that moves one away), and
//! `outage.*` naming its crew or one of its orders.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use bytestring::ByteString;
use serde::Deserialize;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::{About, Topic};
use crate::live::Live;
use crate::store::{Store, StoredOutput};

/// How often a socket gets a ping and a heartbeat message.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// A client that sends nothing (not even a pong) for this long is gone.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(35);
/// A send that cannot go out for this long means the client stopped reading.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// A catch-up from the store that has not reached the head after this long means the
/// client reads slower than messages arrive.
pub const CATCH_UP_LIMIT: Duration = Duration::from_secs(60);
/// Batches the hub keeps for sockets that fall behind before they must read the store
/// (at most 8,192 messages).
const HUB_CAPACITY: usize = 512;
/// Most frames in one batch (so the ring holds at most `HUB_CAPACITY * BATCH_MAX`).
const BATCH_MAX: usize = 16;
/// Messages read from the store per page.
const PAGE: i64 = 1000;

/// One message, ready for every socket.
#[derive(Debug)]
pub struct Frame {
    seq: i64,
    text: ByteString,
    about: About,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<PeekData>,
}

#[derive(Deserialize, Default)]
struct PeekData {
    id: Option<serde_json::Value>,
    crew: Option<serde_json::Value>,
    order: Option<serde_json::Value>,
}

fn as_id(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    }
}

impl Frame {
    /// A frame for sockets that do not filter: the text only.
    fn plain(o: &StoredOutput) -> Frame {
        Frame {
            seq: o.seq,
            text: ByteString::from(o.body.as_str()),
            about: About::default(),
        }
    }

    /// A frame with what the crew filter needs: as the engine said it, or (for a
    /// message read back from the store) parsed from its text.
    fn from_stored(o: &StoredOutput) -> Frame {
        let about = o.about.clone().unwrap_or_else(|| about_from_text(&o.body));
        Frame {
            seq: o.seq,
            text: ByteString::from(o.body.as_str()),
            about,
        }
    }
}

/// What a stored message's text says it is about.
fn about_from_text(body: &str) -> About {
    let Ok(peek) = serde_json::from_str::<Peek>(body) else {
        return About::default();
    };
    let data = peek.data.unwrap_or_default();
    About {
        topic: match peek.kind.split('.').next() {
            Some("order") => Topic::Order,
            Some("outage") => Topic::Outage,
            Some("crew") => Topic::Crew,
            _ => Topic::Other,
        },
        id: as_id(data.id),
        crew: as_id(data.crew),
        order: as_id(data.order),
    }
}

/// Consecutive frames published together: the messages the engine produced at once
/// wake each socket once, and go out in one write.
type Batch = Arc<Vec<Frame>>;

/// The hub: one follower of the engine's messages, shared by every socket.
pub struct Hub {
    frames: broadcast::Sender<Batch>,
    /// Turns true when the process is asked to stop (SIGINT/SIGTERM): every socket
    /// closes at once, saying so, instead of holding the server's graceful shutdown
    /// for its whole timeout.
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Hub {
    /// Start following `live`; must run inside the server's runtime.
    pub fn start(live: &Live, store: Store) -> Hub {
        let (frames, _) = broadcast::channel(HUB_CAPACITY);
        // Subscribed here, before the task reads where the store stands, so nothing
        // published in between is missed.
        let mut messages = live.subscribe();
        let publish = frames.clone();
        let (stop_tx, stopping) = tokio::sync::watch::channel(false);
        actix_web::rt::spawn(async move {
            stop_signal().await;
            let _ = stop_tx.send(true);
        });
        actix_web::rt::spawn(async move {
            let mut last = match store.last_output_seq().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "stream hub: the store does not answer");
                    return;
                }
            };
            let mut batch = Vec::new();
            loop {
                let mut next = match messages.recv().await {
                    Ok(m) => Some(m),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "stream hub fell behind; reading the store");
                        catch_up_logged(&store, &publish, &mut last, i64::MAX).await;
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                // Take every message already waiting into one batch.
                while let Some(message) = next.take() {
                    if message.seq > last + 1 {
                        flush(&publish, &mut batch);
                        catch_up_logged(&store, &publish, &mut last, message.seq - 1).await;
                    }
                    if message.seq == last + 1 {
                        batch.push(Frame::from_stored(&message));
                        last = message.seq;
                        if batch.len() >= BATCH_MAX {
                            flush(&publish, &mut batch);
                        }
                    }
                    match messages.try_recv() {
                        Ok(m) => next = Some(m),
                        Err(TryRecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "stream hub fell behind; reading the store");
                            flush(&publish, &mut batch);
                            catch_up_logged(&store, &publish, &mut last, i64::MAX).await;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Closed) => {}
                    }
                }
                flush(&publish, &mut batch);
            }
        });
        Hub { frames, stopping }
    }

    fn subscribe(&self) -> broadcast::Receiver<Batch> {
        self.frames.subscribe()
    }
}

/// SIGINT or SIGTERM (the server handles them too; this only closes the sockets).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn flush(publish: &broadcast::Sender<Batch>, batch: &mut Vec<Frame>) {
    if !batch.is_empty() {
        // No socket listening is fine: there is nobody to send to.
        let _ = publish.send(Arc::new(std::mem::take(batch)));
    }
}

async fn catch_up_logged(
    store: &Store,
    publish: &broadcast::Sender<Batch>,
    last: &mut i64,
    until: i64,
) {
    if let Err(e) = hub_catch_up(store, publish, last, until).await {
        tracing::error!(error = %e, "stream hub: catching up failed");
    }
}

/// Publish the stored messages after `last`, up to `until`.
async fn hub_catch_up(
    store: &Store,
    publish: &broadcast::Sender<Batch>,
    last: &mut i64,
    until: i64,
) -> Result<(), crate::store::StoreError> {
    while *last < until {
        let page = store.outputs_since(*last, PAGE).await?;
        if page.is_empty() {
            break;
        }
        let mut batch = Vec::new();
        for o in page.iter().take_while(|o| o.seq <= until) {
            batch.push(Frame::from_stored(o));
            *last = o.seq;
            if batch.len() >= BATCH_MAX {
                flush(publish, &mut batch);
            }
        }
        flush(publish, &mut batch);
    }
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct StreamQuery {
    #[serde(default)]
    since: i64,
}

/// Upgrade to a websocket and stream (see the module docs).
#[utoipa::path(get,
    path = "/api/v1/stream",
    tag = "stream",
    description = "Websocket: every output message after since, then live. Roles: any token; a crew token gets only its own.",
    params(("since" = Option<i64>, Query, description = "Messages after this seq (default 0)")),
    responses((status = 101, description = "Switching to the websocket"), (status = 400, description = "A bad parameter, named", body = crate::api::openapi::ErrorBody), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_stream(
    caller: Caller,
    state: web::Data<AppState>,
    hub: web::Data<Hub>,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.since < 0 {
        return Err(ApiError::BadRequest("since must be 0 or more".into()));
    }
    let (response, session, incoming) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("websocket handshake: {e}")))?;
    let frames = hub.subscribe();
    let socket = Socket {
        session,
        store: state.store.clone(),
        last: query.since,
        filter: caller.crew().map(CrewFilter::new),
        stopping: hub.stopping.clone(),
    };
    actix_web::rt::spawn(socket.run(frames, incoming));
    Ok(response)
}

/// Why a socket stopped.
enum Stop {
    /// The client went away (or the send failed): nothing more to say.
    Gone,
    /// Close with this reason.
    Close(CloseCode, String),
}

struct Socket {
    session: Session,
    store: Store,
    /// The last seq this socket has passed: sent, or filtered out.
    last: i64,
    filter: Option<CrewFilter>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Socket {
    async fn run(mut self, mut frames: broadcast::Receiver<Batch>, mut incoming: MessageStream) {
        let readers = metrics::gauge!(crate::monitoring::STREAM_READERS);
        readers.increment(1.0);
        let stop = self.serve(&mut frames, &mut incoming).await;
        readers.decrement(1.0);
        if let Stop::Close(code, reason) = stop {
            tracing::info!(%reason, last = self.last, "closing a stream socket");
            let close = self.session.close(Some(CloseReason {
                code,
                description: Some(reason),
            }));
            let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
        }
    }

    async fn serve(
        &mut self,
        frames: &mut broadcast::Receiver<Batch>,
        incoming: &mut MessageStream,
    ) -> Stop {
        match self.store.last_output_seq().await {
            Ok(stored) if self.last > stored => {
                let reset = format!(r#"{{"type":"stream.reset","seq":{stored}}}"#);
                if let Err(stop) = self.send(reset.into()).await {
                    return stop;
                }
                self.last = 0;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "stream: the store does not answer");
                return Stop::Close(CloseCode::Again, "the event log is unavailable".into());
            }
        }
        if let Err(stop) = self.catch_up().await {
            return stop;
        }
        let live = format!(r#"{{"type":"stream.live","seq":{}}}"#, self.last);
        if let Err(stop) = self.send(live.into()).await {
            return stop;
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
        heartbeat.tick().await; // the first tick is immediate
        let mut heard = Instant::now();
        let mut stopping = self.stopping.clone();
        loop {
            tokio::select! {
                _ = stopping.changed() => {
                    return Stop::Close(
                        CloseCode::Restart,
                        format!("the server is stopping: reconnect with since={}", self.last),
                    );
                }
                frame = frames.recv() => {
                    let step = match frame {
                        Ok(batch) => self.forward(&batch).await,
                        Err(RecvError::Lagged(_)) => {
                            metrics::counter!(crate::monitoring::STREAM_CAUGHT_UP).increment(1);
                            self.catch_up().await
                        }
                        Err(RecvError::Closed) => {
                            return Stop::Close(CloseCode::Restart, "the server is stopping".into())
                        }
                    };
                    if let Err(stop) = step {
                        return stop;
                    }
                }
                message = incoming.recv() => {
                    heard = Instant::now();
                    match message {
                        Some(Ok(Message::Ping(bytes))) => {
                            if self.session.pong(&bytes).await.is_err() {
                                return Stop::Gone;
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Stop::Gone,
                        // Pongs and anything the client says keep it alive; the
                        // stream takes no commands.
                        Some(Ok(_)) => {}
                    }
                }
                _ = heartbeat.tick() => {
                    if heard.elapsed() > CLIENT_TIMEOUT {
                        dropped("no_pong");
                        return Stop::Close(CloseCode::Away, "no answer to pings".into());
                    }
                    if self.session.ping(b"").await.is_err() {
                        return Stop::Gone;
                    }
                    let beat = format!(
                        r#"{{"type":"heartbeat","at":"{}","seq":{}}}"#,
                        crate::events::format_time(chrono::Utc::now()),
                        self.last
                    );
                    if let Err(stop) = self.send(beat.into()).await {
                        return stop;
                    }
                }
            }
        }
    }

    /// Send a batch of live frames, first reading from the store whatever came before.
    async fn forward(&mut self, batch: &[Frame]) -> Result<(), Stop> {
        for frame in batch {
            if frame.seq <= self.last {
                continue;
            }
            if frame.seq > self.last + 1 {
                self.catch_up().await?;
                if frame.seq <= self.last {
                    continue;
                }
            }
            self.pass(frame).await?;
        }
        Ok(())
    }

    /// Send (or filter out) one frame and move `last` past it.
    async fn pass(&mut self, frame: &Frame) -> Result<(), Stop> {
        let wanted = self.filter.as_mut().is_none_or(|f| f.wants(&frame.about));
        if wanted {
            self.send(frame.text.clone()).await?;
        }
        self.last = frame.seq;
        Ok(())
    }

    /// Read every stored message after `last` and send it.
    async fn catch_up(&mut self) -> Result<(), Stop> {
        let started = Instant::now();
        loop {
            let page = self
                .store
                .outputs_since(self.last, PAGE)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "stream: reading the messages failed");
                    Stop::Close(CloseCode::Again, "the event log is unavailable".into())
                })?;
            let Some(last) = page.last().map(|o| o.seq) else {
                return Ok(());
            };
            for o in &page {
                let frame = if self.filter.is_some() {
                    Frame::from_stored(o)
                } else {
                    Frame::plain(o)
                };
                self.pass(&frame).await?;
            }
            debug_assert_eq!(self.last, last);
            if started.elapsed() > CATCH_UP_LIMIT {
                dropped("too_slow");
                return Err(Stop::Close(
                    CloseCode::Policy,
                    format!(
                        "too slow to follow the stream: reconnect with since={}",
                        self.last
                    ),
                ));
            }
        }
    }

    async fn send(&mut self, text: ByteString) -> Result<(), Stop> {
        match tokio::time::timeout(SEND_TIMEOUT, self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => {
                dropped("not_reading");
                Err(Stop::Close(
                    CloseCode::Policy,
                    format!("not reading: reconnect with since={}", self.last),
                ))
            }
        }
    }
}

/// Count a reader closed because it could not keep up.
fn dropped(reason: &'static str) {
    metrics::counter!(crate::monitoring::STREAM_DROPPED, "reason" => reason).increment(1);
}

/// Which messages concern one crew (see the module docs).
struct CrewFilter {
    crew: String,
    /// Orders this socket has seen assigned to the crew.
    orders: HashSet<String>,
}

impl CrewFilter {
    fn new(crew: &str) -> Self {
        Self {
            crew: crew.to_owned(),
            orders: HashSet::new(),
        }
    }

    fn wants(&mut self, about: &About) -> bool {
        let mine = about.crew.as_deref() == Some(self.crew.as_str());
        match about.topic {
            Topic::Crew => about.id.as_deref() == Some(self.crew.as_str()),
            Topic::Order => {
                let Some(id) = about.id.as_deref() else {
                    return false;
                };
                if mine {
                    self.orders.insert(id.to_owned());
                    true
                } else {
                    // Reassigned away: this message tells the crew, then it is not theirs.
                    self.orders.remove(id)
                }
            }
            Topic::Outage => {
                mine || about
                    .order
                    .as_deref()
                    .is_some_and(|o| self.orders.contains(o))
            }
            Topic::Other => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Frame {
        Frame::from_stored(&StoredOutput {
            seq: 1,
            at: "2026-07-14T03:00:00Z".into(),
            kind: String::new(),
            body: body.into(),
            about: None,
        })
    }

    #[test]
    fn a_crew_sees_its_orders_and_the_message_that_moves_one_away() {
        let mut f = CrewFilter::new("CREW-7");
        let mine =
            frame(r#"{"seq":1,"type":"order.created","data":{"id":"WO-1","crew":"CREW-7"}}"#);
        let other =
            frame(r#"{"seq":2,"type":"order.created","data":{"id":"WO-2","crew":"CREW-3"}}"#);
        let moved =
            frame(r#"{"seq":3,"type":"order.updated","data":{"id":"WO-1","crew":"CREW-3"}}"#);
        let after =
            frame(r#"{"seq":4,"type":"order.updated","data":{"id":"WO-1","crew":"CREW-3"}}"#);
        assert!(f.wants(&mine.about));
        assert!(!f.wants(&other.about));
        assert!(f.wants(&moved.about));
        assert!(!f.wants(&after.about));
    }

    #[test]
    fn a_crew_sees_itself_and_outages_of_its_orders_only() {
        let mut f = CrewFilter::new("CREW-7");
        f.wants(&frame(r#"{"type":"order.created","data":{"id":"WO-1","crew":"CREW-7"}}"#).about);
        let me = frame(r#"{"type":"crew.updated","data":{"id":"CREW-7","order":null}}"#);
        let them = frame(r#"{"type":"crew.updated","data":{"id":"CREW-3"}}"#);
        let my_outage =
            frame(r#"{"type":"outage.updated","data":{"id":"OUT-5","order":"WO-1","crew":null}}"#);
        let unassigned =
            frame(r#"{"type":"outage.created","data":{"id":"OUT-6","order":null,"crew":null}}"#);
        assert!(f.wants(&me.about));
        assert!(!f.wants(&them.about));
        assert!(f.wants(&my_outage.about));
        assert!(!f.wants(&unassigned.about));
    }
}
