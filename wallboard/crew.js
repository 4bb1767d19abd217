// The crew page: my orders, the next action as the biggest button, and an offline
// queue. Every action is a crew_action event stamped with the time it was taken; the
// queue (in localStorage) sends them in order when the signal is back. Sending one
// twice does no harm: an action already done is ignored by faultline.
"use strict";

Object.assign(FL.words.en, {
  sign_in: "Crew token", sign_in_button: "Sign in", navigate: "Navigate",
  cause: "Cause found", note: "Note", waiting: "waiting to send",
  act_acknowledge: "Accept order", act_decline: "Decline", act_en_route: "On my way",
  act_on_site: "Arrived on site", act_restored: "Power restored", act_cannot_restore: "Cannot restore",
  no_my_orders: "No order for your crew. Stay available.", refused: "Refused by the server",
  more: "Also assigned", offline: "offline", online: "online",
  cause_tree: "tree contact", cause_wind: "wind", cause_lightning: "lightning",
  cause_equipment: "equipment failure", cause_animal: "animal", cause_vehicle: "vehicle",
  cause_unknown: "unknown", cause_other: "other",
  kind_device: "Device open", kind_service: "Service drop", kind_meter: "Failed meter", kind_wire_down: "Wire down — danger",
});
Object.assign(FL.words["zh-CN"], {
  sign_in: "队伍令牌", sign_in_button: "登录", navigate: "导航",
  cause: "故障原因", note: "备注", waiting: "待发送",
  act_acknowledge: "接单", act_decline: "拒绝", act_en_route: "出发",
  act_on_site: "已到达现场", act_restored: "已复电", act_cannot_restore: "无法复电",
  no_my_orders: "本队暂无工单，请待命。", refused: "服务器拒绝",
  more: "其他工单", offline: "离线", online: "在线",
  cause_tree: "树障", cause_wind: "大风", cause_lightning: "雷击",
  cause_equipment: "设备故障", cause_animal: "动物", cause_vehicle: "车辆撞击",
  cause_unknown: "不明", cause_other: "其他",
  kind_device: "设备跳闸", kind_service: "接户线故障", kind_meter: "电表故障", kind_wire_down: "导线落地 — 危险",
});

const $ = (id) => document.getElementById(id);
const QUEUE_KEY = "faultline.crew.queue";
const DONE = new Set(["restored", "closed", "cancelled", "declined", "cannot_restore"]);
/// The state an action leads to, and the action that follows each state.
const AFTER = { acknowledge: "acknowledged", en_route: "en_route", on_site: "on_site", restored: "restored", decline: "declined", cannot_restore: "cannot_restore" };
const NEXT = { created: "acknowledge", assigned: "acknowledge", acknowledged: "en_route", en_route: "on_site", on_site: "restored" };
const OTHER = { assigned: "decline", created: "decline", on_site: "cannot_restore" };
const CAUSES = ["tree", "wind", "lightning", "equipment", "animal", "vehicle", "unknown", "other"];

const crew = { id: null, name: null, status: null, lon: null, lat: null };
const orders = new Map();
let net = null;
let connected = false;

document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = FL.t(e.dataset.t); });
$("cause").innerHTML = CAUSES.map((c) => `<option value="${c}">${FL.t(`cause_${c}`)}</option>`).join("");

// ---- the offline queue ------------------------------------------------------------
const queue = {
  load() { try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (_) { return []; } },
  save(items) { localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); showQueue(); },
  push(event) {
    const items = this.load();
    // Only the newest unsent position matters.
    const kept = event.type === "crew_position" ? items.filter((e) => e.type !== "crew_position") : items;
    kept.push(event);
    this.save(kept);
    flush();
  },
};

let flushing = false;
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      const items = queue.load();
      if (!items.length) break;
      const event = items[0];
      try {
        await FL.postEvent(event);
      } catch (e) {
        if (e.status && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
          // Refused for good (not a lost signal): drop it and say so.
          showMessage(`${FL.t("refused")}: ${e.message}`);
        } else {
          break; // no signal or server busy: keep it, retry later
        }
      }
      queue.save(queue.load().slice(1));
    }
  } finally {
    flushing = false;
  }
}
setInterval(flush, 5000);
window.addEventListener("online", flush);

function showQueue() {
  const n = queue.load().length;
  const el = $("queue");
  el.hidden = n === 0;
  el.textContent = `${FL.t("waiting")} (${n})`;
  render();
}

function showMessage(text) {
  const el = $("message");
  el.textContent = text;
  el.hidden = !text;
}

// ---- acting ---------------------------------------------------------------------------
/// The state shown: the server's, moved on by actions still waiting in the queue.
function shownState(order) {
  let s = order.state;
  for (const e of queue.load()) if (e.type === "crew_action" && e.order === order.id) s = AFTER[e.action] || s;
  return s;
}

function act(order, action) {
  const event = { type: "crew_action", at: new Date(FL.now()).toISOString(), crew: crew.id, order: order.id, action };
  if (action === "restored" || action === "cannot_restore") {
    event.cause = $("cause").value;
    const note = $("note").value.trim();
    if (note) event.note = note;
  }
  queue.push(event);
  if (action === "en_route" || action === "on_site") watchPosition();
}

// Share the position while on an order (every 30 s at most).
let watching = null, lastPositionAt = 0;
function watchPosition() {
  if (watching != null || !navigator.geolocation) return;
  watching = navigator.geolocation.watchPosition((p) => {
    if (Date.now() - lastPositionAt < 30000) return;
    lastPositionAt = Date.now();
    queue.push({ type: "crew_position", at: new Date(FL.now()).toISOString(), crew: crew.id, lon: p.coords.longitude, lat: p.coords.latitude });
  }, () => {}, { enableHighAccuracy: true, maximumAge: 15000 });
}

// ---- rendering ----------------------------------------------------------------------
function current() {
  const open = [...orders.values()].filter((o) => o.crew === crew.id && !DONE.has(shownState(o)));
  open.sort((a, b) => (b.escalation || 0) - (a.escalation || 0) || Date.parse(a.arrive_by) - Date.parse(b.arrive_by));
  return open;
}

function render() {
  $("crew-name").textContent = crew.name || crew.id || "…";
  $("conn").textContent = `${crew.name ? `${crew.id} · ` : ""}${connected ? FL.t("online") : FL.t("offline")}`;
  $("conn").className = `conn ${connected ? "ok" : "lost"}`;
  const open = current();
  const order = open[0];
  $("order-card").hidden = !order;
  $("no-orders").hidden = !!order;
  $("no-orders").textContent = FL.t("no_my_orders");
  $("more-orders").innerHTML = open.length > 1
    ? `<h3>${FL.t("more")}</h3>` + open.slice(1).map((o) => `<div class="more">${FL.esc(o.id)} · ${FL.esc(o.device)} · ${FL.num(o.customers_out)} ${FL.t("customers")}</div>`).join("")
    : "";
  if (!order) return;
  const s = shownState(order);
  $("order-id").textContent = order.id;
  $("order-state").textContent = FL.t(s);
  $("order-what").textContent = `${order.kind ? FL.t(`kind_${order.kind}`) : ""} · ${order.device || order.outage || ""}`;
  $("order-customers").textContent = `${FL.num(order.customers_out)} ${FL.t("customers")}`;
  $("order-critical").hidden = !order.critical_customers_out;
  $("order-critical").textContent = `✚ ${order.critical_customers_out} ${FL.t("critical")}`;
  $("target-site").dataset.due = order.arrive_by || "";
  $("target-site").hidden = !!order.on_site_at || s === "on_site";
  $("target-restore").dataset.due = order.restore_by || "";
  if (order.lat != null) {
    $("order-coords").textContent = `${order.lat.toFixed(5)}, ${order.lon.toFixed(5)}`;
    $("navigate").href = `geo:${order.lat},${order.lon}?q=${order.lat},${order.lon}(${encodeURIComponent(order.id)})`;
  }
  const next = NEXT[s];
  const btn = $("next-action");
  btn.disabled = !next;
  btn.dataset.action = next || "";
  btn.textContent = next ? FL.t(`act_${next}`) : FL.t(s);
  btn.onclick = () => next && act(order, next);
  const other = OTHER[s];
  $("other-action").hidden = !other;
  $("other-action").textContent = other ? FL.t(`act_${other}`) : "";
  $("other-action").onclick = () => other && act(order, other);
  $("restore-details").hidden = s !== "on_site";
  countdowns();
  miniMap(order);
}

function countdowns() {
  for (const id of ["target-site", "target-restore"]) {
    const el = $(id);
    const due = Date.parse(el.dataset.due);
    const t = el.querySelector(".t");
    if (!isFinite(due)) { t.textContent = "—"; continue; }
    const left = due - FL.now();
    t.innerHTML = `${FL.shortTime.format(new Date(due))}<small>${left >= 0 ? FL.duration(left) : `+${FL.duration(left)} ${FL.t("late")}`}</small>`;
    el.classList.toggle("late", left < 0);
  }
}
setInterval(countdowns, 1000);

/// The order's surroundings: network lines within ~1.5 km, the site and the crew.
function miniMap(order) {
  const svg = $("mini-map");
  if (!net || order.lon == null) { svg.replaceChildren(); return; }
  const r = 0.015;
  const near = { bbox: [order.lon - r, order.lat - r * 0.8, order.lon + r, order.lat + r * 0.8], devices: [], depots: [] };
  near.lines = net.lines.filter((l) => {
    for (let i = 0; i < l.c.length; i += 2) if (Math.abs(l.c[i] - order.lon) < r && Math.abs(l.c[i + 1] - order.lat) < r) return true;
    return false;
  }).map((l) => ({ device: null, c: l.c }));
  svg.replaceChildren();
  const map = new FL.NetworkMap(svg, near);
  const u = map.unit();
  const [x, y] = map.xy(order.lon, order.lat);
  map.gLayer.append(map.el("circle", { class: "site", cx: x, cy: y, r: 14 * u }));
  if (crew.lon != null) {
    const [cx, cy] = map.xy(crew.lon, crew.lat);
    map.gLayer.append(map.el("line", { class: "route", x1: cx, y1: cy, x2: x, y2: y }));
    map.gLayer.append(map.el("rect", { class: "me", x: cx - 10 * u, y: cy - 10 * u, width: 20 * u, height: 20 * u, transform: `rotate(45 ${cx} ${cy})` }));
  }
}

// ---- start ---------------------------------------------------------------------------
async function load() {
  const me = await FL.api("/api/v1/me");
  if (me.ok) crew.id = (await me.json()).crew;
  const [o, c] = await Promise.all([FL.api("/api/v1/orders"), FL.api("/api/v1/crews")]);
  if (o.ok) for (const order of await o.json()) orders.set(order.id, order);
  if (c.ok) {
    const mine = (await c.json())[0];
    if (mine) Object.assign(crew, mine);
  }
}

async function start() {
  if (!FL.token()) {
    $("signin").hidden = false;
    $("main").hidden = true;
    $("signin").onsubmit = (e) => {
      e.preventDefault();
      localStorage.setItem("faultline.token", $("token-input").value.trim());
      location.reload();
    };
    return;
  }
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  try {
    await load();
  } catch (e) {
    if (e.status === 401) { showMessage(FL.t("token_refused")); $("signin").hidden = false; return; }
  }
  FL.api("/api/v1/network").then((r) => (r.ok ? r.json() : null)).then((n) => { net = n; render(); }).catch(() => {});
  new FL.Stream({
    filtered: true,
    message: (m) => {
      const d = m.data || {};
      if (m.type.startsWith("order.")) orders.set(d.id, d);
      else if (m.type === "crew.updated" && (!crew.id || d.id === crew.id)) Object.assign(crew, d);
      render();
    },
    reset: () => orders.clear(),
    live: () => render(),
    status: (c) => { const was = connected; connected = c; if (c && !was) flush(); render(); },
  });
  showQueue();
  render();
}

start();
