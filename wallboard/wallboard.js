// The control-room wallboard: the map, the key figures, the orders by risk, the ticker.
// Everything comes from the stream (every message carries the whole object as it now
// stands), so the board is the fold of the messages; it redraws at most a few times a
// second and never while it is still reading the stored backlog.
"use strict";

const state = {
  outages: new Map(),
  orders: new Map(),
  crews: new Map(),
  reportsSeen: new Map(), // outage id -> reports count last seen
  reportTimes: [],        // [time ms, new reports]
  ticker: [],
  live: false,
  map: null,
  pulseOutages: new Set(),
  pulseOrders: new Set(),
  lastEngineAt: 0,
};

const $ = (id) => document.getElementById(id);
const ACTIVE_OUTAGE = new Set(["predicted", "confirmed"]);
const OPEN_ORDER = new Set(["created", "assigned", "acknowledged", "en_route", "on_site", "declined", "cannot_restore"]);
const CREW_STATES = ["available", "assigned", "en_route", "on_site", "no_response", "off_shift"];
/// The wallboard's crew groups: an acknowledged order is still "assigned" (not moving
/// yet); a crew whose order is restored is still on site until dispatch frees it.
function crewGroup(c) {
  const s = c.status || (c.on_shift === false ? "off_shift" : "available");
  if (s === "acknowledged") return "assigned";
  if (s === "restored" || s === "cannot_restore") return "on_site";
  return CREW_STATES.includes(s) ? s : "available";
}

// ---- static labels -----------------------------------------------------------------
document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = FL.t(e.dataset.t); });
$("centre").textContent = FL.params.get("centre") || FL.t("centre");
document.title = `${FL.t("centre")} — faultline`;

function legend() {
  const item = (swatch, label) => `<span class="item">${swatch}<span>${label}</span></span>`;
  const line = (cls) => `<svg class="sw" viewBox="0 0 40 20"><path class="line ${cls}" d="M2 10H38"/></svg>`;
  const dot = (cls, extra = "") => `<svg class="sw" viewBox="0 0 40 40"><circle class="${cls}" cx="20" cy="20" r="14" ${extra}/></svg>`;
  const chips = [1, 2, 3, 4].map((l) => `<span class="esc-chip esc-${l}">${l}</span>`).join("");
  // Only this page's own words and shapes: nothing from the network to escape.
  $("legend").innerHTML = [
    item(line(""), FL.t("energised")),
    item(line("dark"), FL.t("dark")),
    item(line("restoring"), FL.t("restoring")),
    item(dot("outage predicted"), FL.t("predicted")),
    item(dot("outage confirmed"), FL.t("confirmed")),
    item(`<span class="crit-badge">✚</span>`, FL.t("critical")),
    ...CREW_STATES.map((s) => item(`<svg class="sw" viewBox="0 0 40 40"><rect class="crew ${s}" x="8" y="8" width="24" height="24" transform="rotate(45 20 20)"/></svg>`, `${FL.t("crew")}: ${FL.t(s)}`)),
    item(`<span class="esc-chips">${chips}</span>`, FL.t("escalation")),
  ].join("");
}
legend();

// ---- clock and connection ------------------------------------------------------------
const stream = { connected: false, lastHeard: 0 };
function tickClock() {
  const now = new Date(FL.now());
  $("date").textContent = FL.dateFmt.format(now);
  $("clock").textContent = FL.timeFmt.format(now);
  const age = stream.lastHeard ? ` · ${FL.t("updated")} ${FL.age(Date.now() - stream.lastHeard)} ${FL.t("ago")}` : "";
  const conn = $("conn");
  if (stream.connected && state.live) {
    conn.className = "conn ok";
    $("conn-text").textContent = `${FL.t("live")}${age}`;
  } else {
    conn.className = "conn lost";
    $("conn-text").textContent = `${FL.t("reconnecting")}${age}`;
  }
  renderCountdowns();
}
setInterval(tickClock, 1000);

// ---- folding the messages -----------------------------------------------------------
function onMessage(m, live) {
  const at = Date.parse(m.at);
  if (at > state.lastEngineAt) state.lastEngineAt = at;
  const d = m.data || {};
  if (m.type.startsWith("outage.")) {
    const before = state.outages.get(d.id);
    state.outages.set(d.id, d);
    const seen = state.reportsSeen.get(d.id) || 0;
    if (d.status === "cancelled") state.reportsSeen.delete(d.id);
    else if ((d.reports || 0) > seen) {
      state.reportTimes.push([at, d.reports - seen]);
      state.reportsSeen.set(d.id, d.reports);
    }
    if (m.type === "outage.created") {
      ticker(at, "new", `${FL.t("outage_new")} ${d.id} · ${FL.short(d.device)} · ${FL.customers(d.customers_out)}${d.critical_customers_out ? ` · ✚${d.critical_customers_out}` : ""}`);
      if (live) state.pulseOutages.add(d.id);
    } else if (m.type === "outage.restored") {
      ticker(at, "restored", `${FL.t("outage_restored")} ${d.id} · ${FL.short(d.device)} · ${FL.customers(d.customers_out)}`);
    } else if (m.type === "outage.cancelled") {
      ticker(at, "muted", `${FL.t("outage_cancelled")} ${d.id}${d.merged_into ? ` → ${d.merged_into}` : ""}`);
    } else if (before && (before.status !== d.status || before.device !== d.device)) {
      ticker(at, "info", `${d.id} ${FL.t(d.status)} · ${FL.short(d.device)}`);
    }
  } else if (m.type.startsWith("order.")) {
    const before = state.orders.get(d.id);
    state.orders.set(d.id, d);
    if (!before) ticker(at, "info", `${FL.t("order_new")} ${d.id} · ${FL.short(d.device || d.outage)}`);
    else if (before.state !== d.state) ticker(at, d.state === "restored" ? "restored" : "info", `${d.id} → ${FL.t(d.state)}${d.crew ? ` · ${d.crew}` : ""}`);
    if (live && before && (d.escalation || 0) > (before.escalation || 0)) state.pulseOrders.add(d.id);
  } else if (m.type.startsWith("notice.")) {
    FLNotices.fold(d);
    if (m.type === "notice.created") ticker(at, d.late ? "alarm" : "info", `${d.id} · ${FL.short(d.device)} · ${FL.customers(d.customers)}`);
  } else if (m.type === "crew.updated") {
    const before = state.crews.get(d.id);
    state.crews.set(d.id, d);
    if (before && before.status !== d.status && d.status !== "assigned" && d.status !== "acknowledged") {
      ticker(at, d.status === "no_response" ? "alarm" : "crew", `${d.name || d.id} → ${FL.t(d.status)}`);
    }
  }
  schedule();
}

function ticker(at, cls, text) {
  state.ticker.unshift({ at, cls, text });
  if (state.ticker.length > 12) state.ticker.length = 12;
}

function reset() {
  for (const k of ["outages", "orders", "crews", "reportsSeen"]) state[k].clear();
  FLNotices.clear();
  state.reportTimes = [];
  state.ticker = [];
  schedule();
}

// ---- rendering ------------------------------------------------------------------------
let scheduled = false;
function schedule() {
  if (scheduled || !state.live) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; render(); }, 200);
}

function activeOutages() {
  return [...state.outages.values()].filter((o) => ACTIVE_OUTAGE.has(o.status));
}

function orderOf(outage) {
  if (outage.order && state.orders.has(outage.order)) return state.orders.get(outage.order);
  for (const o of state.orders.values()) if (o.outage === outage.id && OPEN_ORDER.has(o.state)) return o;
  return null;
}

/// The target a row races against now, and its escalation level (1..4).
function risk(row) {
  const onSite = row.order && ["on_site"].includes(row.order.state);
  const dueIso = onSite ? (row.order.restore_by || row.outage?.restore_by) : (row.order?.arrive_by || row.outage?.arrive_by);
  const startIso = row.order?.created_at || row.outage?.started_at;
  const due = Date.parse(dueIso), start = Date.parse(startIso);
  const left = due - FL.now();
  let level = row.order?.escalation || 0;
  if (!level) {
    // No level from dispatch yet: by the share of the target's time left.
    const share = isFinite(start) && due > start ? left / (due - start) : 1;
    level = left < 0 ? 4 : share < 0.25 ? 3 : share < 0.5 ? 2 : 1;
  }
  return { due, left, level, kind: onSite ? "to_restore" : "to_site" };
}

function rows() {
  const list = [];
  const seen = new Set();
  for (const order of state.orders.values()) {
    if (!OPEN_ORDER.has(order.state)) continue;
    const outage = state.outages.get(order.outage) || null;
    list.push({ order, outage });
    if (order.outage) seen.add(order.outage);
  }
  for (const outage of activeOutages()) if (!seen.has(outage.id) && !orderOf(outage)) list.push({ order: null, outage });
  for (const r of list) r.risk = risk(r);
  list.sort((a, b) => b.risk.level - a.risk.level || a.risk.left - b.risk.left);
  return list;
}

function render() {
  const outages = activeOutages();
  FL.tween($("fig-outages").querySelector(".value"), outages.length);
  FL.tween($("fig-customers").querySelector(".value"), outages.reduce((s, o) => s + (o.customers_out || 0), 0));
  const crit = outages.reduce((s, o) => s + (o.critical_customers_out || 0), 0);
  FL.tween($("fig-critical").querySelector(".value"), crit);
  $("fig-critical").classList.toggle("alarm", crit > 0);
  if (state.pulseOutages.size) FL.pulse($("fig-outages"));
  renderReports();
  renderOnTime();
  renderCrews();
  renderOrders();
  renderTicker();
  renderMap(outages);
  FLNotices.render();
  state.pulseOutages.clear();
  state.pulseOrders.clear();
}

function renderReports() {
  const now = Math.max(FL.now(), state.lastEngineAt);
  const bucket = 10 * 60 * 1000;
  const counts = new Array(12).fill(0);
  let last10 = 0;
  state.reportTimes = state.reportTimes.filter(([t]) => t > now - 12 * bucket);
  for (const [t, n] of state.reportTimes) {
    const i = 11 - Math.floor((now - t) / bucket);
    if (i >= 0 && i < 12) counts[i] += n;
    if (t > now - bucket) last10 += n;
  }
  FL.tween($("fig-reports").querySelector(".value"), last10);
  const max = Math.max(1, ...counts);
  const pts = counts.map((c, i) => `${(i * 120) / 11},${28 - (c / max) * 26}`).join(" ");
  $("spark").innerHTML = `<polyline points="${pts}" />`;
}

function renderOnTime() {
  const today = new Date(FL.now()).toDateString();
  const sameDay = (iso) => iso && new Date(iso).toDateString() === today;
  let hit = 0, counted = 0;
  for (const o of state.orders.values()) {
    const arriveBy = Date.parse(o.arrive_by);
    if (o.on_site_at && sameDay(o.on_site_at)) {
      counted++;
      if (Date.parse(o.on_site_at) <= arriveBy) hit++;
    } else if (!o.on_site_at && arriveBy < FL.now() && sameDay(o.arrive_by) && o.state !== "cancelled") {
      counted++;
    }
  }
  const el = $("fig-ontime").querySelector(".value");
  if (!counted) { el.textContent = "—"; el.dataset.value = ""; return; }
  FL.tween(el, Math.round((100 * hit) / counted), (v) => `${v}%`);
}

function renderCrews() {
  const counts = Object.fromEntries(CREW_STATES.map((s) => [s, 0]));
  for (const c of state.crews.values()) counts[crewGroup(c)]++;
  // The page's own states and words, and numbers.
  $("crew-states").innerHTML = CREW_STATES.map((s) =>
    `<div class="crew-state"><svg class="sw" viewBox="0 0 40 40"><rect class="crew ${s}" x="8" y="8" width="24" height="24" transform="rotate(45 20 20)"/></svg><span class="n">${FL.num(counts[s])}</span><span class="what">${FL.t(s)}</span></div>`).join("");
}

function renderOrders() {
  const list = rows().slice(0, 12);
  const ol = $("orders");
  if (!list.length) { ol.innerHTML = `<li class="empty">${FL.t("no_orders")}</li>`; return; }
  ol.innerHTML = list.map((r) => {
    const o = r.order, u = r.outage;
    const id = o ? o.id : u.id;
    const where = o?.device || u?.device || "";
    const customers = o?.customers_out ?? u?.customers_out ?? 0;
    const critical = o?.critical_customers_out ?? u?.critical_customers_out ?? 0;
    const who = o ? `${FL.t(o.state)}${o.crew ? ` · ${o.crew}` : ""}` : FL.t("awaiting_crew");
    const pulse = o && state.pulseOrders.has(o.id) ? " pulse" : "";
    // Ids, devices, crews and states came from the stream: escaped, every one.
    const level = FL.esc(r.risk.level);
    return `<li class="row esc-${level}${pulse}" data-due="${FL.esc(r.risk.due)}" data-kind="${r.risk.kind}">
      <span class="esc">${level}</span>
      <span class="what"><span class="id">${FL.esc(id)}</span><span class="dev">${FL.esc(where)}</span></span>
      <span class="cust">${FL.num(customers)}${critical ? ` <span class="crit-badge">✚${FL.num(critical)}</span>` : ""}</span>
      <span class="who">${FL.esc(who)}</span>
      <span class="count"><span class="kind">${FL.t(r.risk.kind)}</span><span class="t"></span></span>
    </li>`;
  }).join("");
  renderCountdowns();
}

function renderCountdowns() {
  for (const li of document.querySelectorAll("#orders li.row")) {
    const due = Number(li.dataset.due);
    const t = li.querySelector(".t");
    if (!isFinite(due)) { t.textContent = "—"; continue; }
    const left = due - FL.now();
    t.textContent = left >= 0 ? FL.duration(left) : `+${FL.duration(left)}`;
    li.classList.toggle("late", left < 0);
  }
}

/// The ticker's lines are built as elements with text: names and ids in them came from
/// the stream, never markup.
function renderTicker() {
  const line = (cls, at, text) => {
    const li = document.createElement("li");
    li.className = cls;
    if (at != null) {
      const time = document.createElement("time");
      time.textContent = FL.shortTime.format(new Date(at));
      li.append(time);
    }
    li.append(text);
    return li;
  };
  const items = state.ticker.slice(0, 6);
  $("ticker").replaceChildren(...(items.length
    ? items.map((e, i) => line(`${e.cls}${i === 0 ? " newest" : ""}`, e.at, e.text))
    : [line("muted", null, FL.t("ticker_empty"))]));
}

function renderMap(outages) {
  const map = state.map;
  if (!map) return;
  const shade = new Map();
  for (const o of outages) {
    const order = orderOf(o);
    const cls = order && order.state === "on_site" ? "restoring" : "dark";
    for (const i of map.below(o.device)) if (shade.get(i) !== "dark") shade.set(i, cls);
  }
  map.shade(shade);
  map.clearOverlay();
  const must = [];
  for (const o of outages) if (o.lon != null) must.push(map.xy(o.lon, o.lat));
  for (const c of state.crews.values()) if (c.lon != null && crewGroup(c) !== "off_shift") must.push(map.xy(c.lon, c.lat));
  map.fit(must);
  const u = map.unit();
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  const px = (x) => x * u;
  for (const d of map.net.depots) {
    const [x, y] = map.xy(d.lon, d.lat);
    const s = px(rem * 0.5);
    map.gLayer.append(map.el("rect", { class: "depot", x: x - s, y: y - s, width: 2 * s, height: 2 * s }));
  }
  // Crews and where they are heading.
  for (const c of state.crews.values()) {
    if (c.lon == null || c.lat == null) continue;
    const [x, y] = map.xy(c.lon, c.lat);
    if (c.target_lon != null && c.target_lat != null) {
      const [tx, ty] = map.xy(c.target_lon, c.target_lat);
      map.gLayer.append(map.el("line", { class: `route ${crewGroup(c)}`, x1: x, y1: y, x2: tx, y2: ty }));
    }
  }
  const sorted = [...outages].sort((a, b) => (a.customers_out || 0) - (b.customers_out || 0));
  for (const o of sorted) {
    if (o.lon == null) continue;
    const [x, y] = map.xy(o.lon, o.lat);
    const r = px(rem * Math.min(2.4, 0.5 + 0.09 * Math.sqrt(o.customers_out || 1)));
    const c = map.el("circle", { class: `outage ${o.status}${state.pulseOutages.has(o.id) ? " pulse" : ""}`, cx: x, cy: y, r });
    map.gLayer.append(c);
    if (o.critical_customers_out) {
      const t = map.el("text", { class: "crit", x, y, "font-size": px(rem * 1.1), "text-anchor": "middle", "dominant-baseline": "central" });
      t.textContent = "✚";
      map.gLayer.append(t);
    }
  }
  // Labels for the largest outages, none over another.
  const placed = [];
  for (const o of sorted.slice(-8).reverse()) {
    if (o.lon == null) continue;
    const [x, y] = map.xy(o.lon, o.lat);
    const r = px(rem * Math.min(2.4, 0.5 + 0.09 * Math.sqrt(o.customers_out || 1)));
    const text = `${o.id} · ${FL.num(o.customers_out)}`;
    const width = px(rem * 0.62 * text.length);
    // On the left of the marker where the right would leave the map.
    const left = x + r + width > map.vb[0] + map.vb[2];
    const box = left ? [x - r - width, y - px(rem * 0.6), x - r, y + px(rem * 0.6)] : [x + r, y - px(rem * 0.6), x + r + width, y + px(rem * 0.6)];
    if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
    placed.push(box);
    const t = map.el("text", { class: "label", x: left ? x - r - px(rem * 0.3) : x + r + px(rem * 0.3), y, "font-size": px(rem), "dominant-baseline": "central", "text-anchor": left ? "end" : "start" });
    t.textContent = text;
    map.gLayer.append(t);
  }
  for (const c of state.crews.values()) {
    if (c.lon == null || c.lat == null) continue;
    const [x, y] = map.xy(c.lon, c.lat);
    const s = px(rem * 0.55);
    const status = crewGroup(c);
    map.gLayer.append(map.el("rect", { class: `crew ${status}`, x: x - s, y: y - s, width: 2 * s, height: 2 * s, transform: `rotate(45 ${x} ${y})` }));
  }
}

// ---- start ---------------------------------------------------------------------------
async function start() {
  if (!FL.token()) { showNotice(FL.t("no_token")); return; }
  try {
    const resp = await FL.api("/api/v1/network");
    if (resp.ok) state.map = new FL.NetworkMap($("map"), await resp.json());
  } catch (e) {
    if (e.status === 401) { showNotice(FL.t("token_refused")); return; }
  }
  new FL.Stream({
    message: onMessage,
    live: () => { state.live = true; render(); tickClock(); },
    reset,
    status: (connected, lastHeard) => {
      const changed = stream.connected !== connected;
      stream.connected = connected;
      stream.lastHeard = lastHeard;
      if (!connected) state.live = false;
      if (changed) tickClock();
    },
  });
  window.addEventListener("resize", () => { if (state.live) render(); });
  tickClock();
}

function showNotice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = false;
}

start();
