// The dispatcher console: outages, orders and crews as sortable, filterable tables, an
// outage's evidence, and the actions (confirm, move, assign, reassign) — each one an
// event posted to /api/v1/events, whose result is shown when the stream carries it.
"use strict";

Object.assign(FL.words.en, {
  console_title: "faultline · dispatch", outages_title: "Outages", orders_title: "Work orders", crews_title: "Crews",
  show_ended: "show restored / cancelled", pick_hint: "Pick an outage, order or crew (click, or j / k).",
  keys: "/ filter · j k select · c confirm · m move · a assign · Esc clear",
  id: "id", device: "device", kind: "kind", status: "status", feeder: "feeder", customers_col: "customers",
  critical_col: "critical", reports: "reports", confidence: "confidence", started: "started", arrive_by: "on site by",
  restore_by: "restore by", order: "order", outage_col: "outage", state: "state", crew_col: "crew", eta: "ETA",
  name: "name", skills: "skills", position: "position", rule: "rule", score: "score", alternatives: "alternatives",
  report_ids: "reports explained", ami_off: "last gasps", zone: "zone", history: "history",
  confirm: "Confirm", move_to: "Move to device", assign: "Assign crew", reassign: "Reassign", sent: "stored, waiting for the engine",
  done: "done", failed: "failed", sending: "sending…", choose_crew: "choose a crew…", predicted_at: "predicted", merged_into: "merged into",
  escalation_col: "esc.", ruled_out: "ruled out", callbacks_link: "Callbacks", no_effect: "stored, but nothing changed (is the device or order right?)",
});
Object.assign(FL.words["zh-CN"], {
  console_title: "faultline · 抢修调度", outages_title: "停电事件", orders_title: "工单", crews_title: "队伍",
  show_ended: "显示已复电 / 已撤销", pick_hint: "选择停电、工单或队伍（单击，或 j / k）。",
  keys: "/ 筛选 · j k 选择 · c 确认 · m 改判 · a 派工 · Esc 清除",
  id: "编号", device: "设备", kind: "类型", status: "状态", feeder: "馈线", customers_col: "户数",
  critical_col: "重要", reports: "报修", confidence: "置信度", started: "开始", arrive_by: "到达时限",
  restore_by: "复电时限", order: "工单", outage_col: "停电", state: "状态", crew_col: "队伍", eta: "预计到达",
  name: "名称", skills: "技能", position: "位置", rule: "规则", score: "得分", alternatives: "备选设备",
  report_ids: "解释的报修", ami_off: "停电告警", zone: "区域", history: "历史",
  confirm: "确认", move_to: "改判到设备", assign: "派工", reassign: "改派", sent: "已记录，等待处理", sending: "发送中…",
  done: "完成", failed: "失败", choose_crew: "选择队伍…", predicted_at: "研判时间", merged_into: "并入",
  escalation_col: "督办", ruled_out: "已排除", callbacks_link: "复电回访", no_effect: "已记录，但没有变化（设备或工单是否正确？）",
});

const $ = (id) => document.getElementById(id);
const data = { outages: new Map(), orders: new Map(), crews: new Map() };
const sort = { outages: ["customers_out", -1], orders: ["escalation", -1], crews: ["id", 1] };
let selected = null; // {table, id}
let map = null;
const pending = []; // actions waiting for their result: {li, matches(m), text}

document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = FL.t(e.dataset.t); });
$("filter").placeholder = "/";

const time = (iso) => (iso ? FL.shortTime.format(new Date(iso)) : "—");

// [key, cell markup, sort value, numeric]: a cell is markup, so every value from the
// stream in it goes through FL.esc (numbers through FL.num or a format).
const columns = {
  outages: [
    ["id", (o) => FL.esc(o.id)], ["status", (o) => `<span class="st-${FL.esc(o.status)}">${FL.esc(FL.t(o.status))}</span>`, (o) => o.status],
    ["device", (o) => FL.esc(o.device)], ["kind", (o) => FL.esc(o.kind)], ["feeder", (o) => FL.esc(o.feeder)],
    ["customers_col", (o) => FL.num(o.customers_out), (o) => o.customers_out, true],
    ["critical_col", (o) => (o.critical_customers_out ? `✚ ${FL.num(o.critical_customers_out)}` : ""), (o) => o.critical_customers_out, true],
    ["reports", (o) => FL.num(o.reports), (o) => o.reports, true],
    ["confidence", (o) => (o.evidence ? `${Math.round(o.evidence.confidence * 100)}%` : ""), (o) => o.evidence?.confidence, true],
    ["started", (o) => time(o.started_at), (o) => o.started_at],
    ["arrive_by", (o) => due(o.arrive_by), (o) => o.arrive_by], ["order", (o) => FL.esc(o.order)], ["crew_col", (o) => FL.esc(o.crew)],
  ],
  orders: [
    ["escalation_col", (o) => (o.escalation ? `<span class="esc esc-${FL.esc(o.escalation)}">${FL.esc(o.escalation)}</span>` : ""), (o) => o.escalation || 0],
    ["id", (o) => FL.esc(o.id)], ["state", (o) => FL.esc(FL.t(o.state)), (o) => o.state], ["outage_col", (o) => FL.esc(o.outage)], ["device", (o) => FL.esc(o.device)],
    ["customers_col", (o) => FL.num(o.customers_out), (o) => o.customers_out, true],
    ["critical_col", (o) => (o.critical_customers_out ? `✚ ${FL.num(o.critical_customers_out)}` : ""), (o) => o.critical_customers_out, true],
    ["crew_col", (o) => FL.esc(o.crew || "—")], ["eta", (o) => time(o.eta), (o) => o.eta],
    ["arrive_by", (o) => due(o.arrive_by), (o) => o.arrive_by], ["restore_by", (o) => due(o.restore_by), (o) => o.restore_by],
  ],
  crews: [
    ["id", (c) => FL.esc(c.id)], ["name", (c) => FL.esc(c.name)], ["status", (c) => FL.esc(FL.t(c.status || "available")), (c) => c.status],
    ["order", (c) => FL.esc(c.order)], ["skills", (c) => FL.esc((c.skills || []).join(", "))],
    ["eta", (c) => time(c.eta), (c) => c.eta],
    ["position", (c) => (c.lat != null ? `${Number(c.lat).toFixed(4)}, ${Number(c.lon).toFixed(4)}` : "—")],
  ],
};

function due(iso) {
  if (!iso) return "—";
  const left = Date.parse(iso) - FL.now();
  return `<span class="${left < 0 ? "late" : ""}">${time(iso)} (${left < 0 ? "+" : ""}${FL.duration(left)})</span>`;
}

function visible(table) {
  const q = $("filter").value.trim().toLowerCase();
  let rows = [...data[table].values()];
  if (table === "outages" && !$("show-ended").checked) rows = rows.filter((o) => o.status === "predicted" || o.status === "confirmed");
  if (table === "orders" && !$("show-ended").checked) rows = rows.filter((o) => !["closed", "cancelled", "restored"].includes(o.state));
  if (q) rows = rows.filter((r) => JSON.stringify(r).toLowerCase().includes(q));
  const [key, dir] = sort[table];
  const col = columns[table].find((c) => c[0] === key);
  const val = col ? (col[2] || col[1]) : (r) => r[key];
  rows.sort((a, b) => {
    const x = val(a) ?? "", y = val(b) ?? "";
    return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * dir;
  });
  return rows;
}

function renderTable(table) {
  const rows = visible(table);
  const [key, dir] = sort[table];
  const head = columns[table].map((c) => `<th data-key="${c[0]}" class="${c[0] === key ? `sorted${dir > 0 ? " asc" : ""}` : ""}">${FL.t(c[0])}</th>`).join("");
  const body = rows.map((r) => `<tr data-id="${FL.esc(r.id)}" class="${selected && selected.table === table && selected.id === r.id ? "selected" : ""}">${columns[table].map((c) => `<td class="${c[3] ? "num" : ""}">${c[1](r) ?? ""}</td>`).join("")}</tr>`).join("");
  $(`t-${table}`).innerHTML = `<thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
  $(`n-${table}`).textContent = `(${rows.length})`;
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; renderAll(); }, 150);
}
function renderAll() {
  for (const t of ["outages", "orders", "crews"]) renderTable(t);
  renderDetail();
  renderMap();
}

// ---- tables: sorting, picking -----------------------------------------------------
for (const table of ["outages", "orders", "crews"]) {
  $(`t-${table}`).addEventListener("click", (e) => {
    const th = e.target.closest("th");
    if (th) {
      const [key, dir] = sort[table];
      sort[table] = [th.dataset.key, key === th.dataset.key ? -dir : -1];
      renderTable(table);
      return;
    }
    const tr = e.target.closest("tr[data-id]");
    if (tr) { selected = { table, id: tr.dataset.id }; renderAll(); }
  });
}
$("filter").addEventListener("input", schedule);
$("show-ended").addEventListener("change", schedule);

document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  if (e.key === "/") { e.preventDefault(); $("filter").focus(); }
  else if (e.key === "j" || e.key === "k") {
    const table = selected?.table || "outages";
    const rows = visible(table);
    const i = rows.findIndex((r) => r.id === selected?.id);
    const next = rows[Math.max(0, Math.min(rows.length - 1, i + (e.key === "j" ? 1 : -1)))];
    if (next) { selected = { table, id: next.id }; renderAll(); }
  } else if (e.key === "c") $("act-confirm")?.click();
  else if (e.key === "m") $("move-device")?.focus();
  else if (e.key === "a") $("assign-crew")?.focus();
  else if (e.key === "Escape") { selected = null; renderAll(); }
});

// ---- the detail panel and actions ----------------------------------------------------
function crewOptions(current) {
  const crews = [...data.crews.values()].filter((c) => c.on_shift !== false);
  return `<option value="">${FL.t("choose_crew")}</option>` + crews.map((c) => `<option value="${FL.esc(c.id)}" ${c.id === current ? "selected" : ""}>${FL.esc(c.id)} ${FL.esc(c.name)} · ${FL.esc(FL.t(c.status || "available"))}</option>`).join("");
}

function renderDetail() {
  const el = $("detail");
  if (!selected) { el.innerHTML = `<p class="hint">${FL.t("pick_hint")}</p>`; return; }
  const item = data[selected.table].get(selected.id);
  if (!item) { el.innerHTML = ""; return; }
  // Keep what the dispatcher is typing.
  if (el.contains(document.activeElement) && el.dataset.for === `${selected.table}:${item.id}`) return;
  el.dataset.for = `${selected.table}:${item.id}`;
  // The panel is markup: each value below is escaped (or a number, or a time) before it
  // is put into a pair; dl adds only the page's own labels.
  const dl = (pairs) => `<dl>${pairs.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== "").map(([k, v]) => `<dt>${FL.t(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
  if (selected.table === "outages") {
    const ev = item.evidence || {};
    const score = (x) => (x <= -1e6 ? FL.t("ruled_out") : Number(x).toFixed(1));
    const alts = (ev.alternatives || []).map((a) => `<button data-move="${FL.esc(a.device)}">${FL.esc(a.device)} (${score(a.score)})</button>`).join(" ");
    const order = item.order ? data.orders.get(item.order) : null;
    el.innerHTML = `<h3>${FL.esc(item.id)} · <span class="st-${FL.esc(item.status)}">${FL.esc(FL.t(item.status))}</span></h3>` +
      dl([["device", FL.esc(item.device)], ["kind", FL.esc(item.kind)], ["feeder", FL.esc(item.feeder)], ["zone", FL.esc(item.zone)],
        ["customers_col", FL.num(item.customers_out)], ["critical_col", item.critical_customers_out ? `✚ ${FL.num(item.critical_customers_out)}` : "0"],
        ["reports", FL.esc(item.reports)], ["ami_off", FL.esc(item.ami_off)], ["rule", FL.esc(ev.rule)], ["score", ev.score != null ? Number(ev.score).toFixed(2) : ""],
        ["confidence", ev.confidence != null ? `${Math.round(ev.confidence * 100)}%` : ""],
        ["report_ids", FL.esc((ev.report_ids || []).join(", ")) + (item.reports > (ev.report_ids || []).length ? " …" : "")],
        ["alternatives", alts], ["started", time(item.started_at)], ["predicted_at", time(item.predicted_at)],
        ["arrive_by", due(item.arrive_by)], ["restore_by", due(item.restore_by)], ["order", FL.esc(item.order)], ["merged_into", FL.esc(item.merged_into)]]) +
      `<div class="actions"><button id="act-confirm">${FL.t("confirm")}<kbd>c</kbd></button>
        <input id="move-device" list="devices" placeholder="${FL.t("move_to")}" size="16"><button id="act-move">${FL.t("move_to")}<kbd>m</kbd></button></div>` +
      (order ? `<div class="actions"><select id="assign-crew">${crewOptions(order.crew)}</select><button id="act-assign" data-order="${FL.esc(order.id)}">${FL.t(order.crew ? "reassign" : "assign")}<kbd>a</kbd></button></div>` : "");
    $("act-confirm").onclick = () => confirmOutage(item, item.device);
    $("act-move").onclick = () => { const d = $("move-device").value.trim(); if (d) confirmOutage(item, d); };
    $("move-device").onkeydown = (e) => { if (e.key === "Enter") $("act-move").click(); };
    el.querySelectorAll("[data-move]").forEach((b) => { b.onclick = () => confirmOutage(item, b.dataset.move); });
  } else if (selected.table === "orders") {
    el.innerHTML = `<h3>${FL.esc(item.id)} · ${FL.esc(FL.t(item.state))}</h3>` +
      dl([["outage_col", FL.esc(item.outage)], ["device", FL.esc(item.device)], ["kind", FL.esc(item.kind)], ["crew_col", FL.esc(item.crew)],
        ["customers_col", FL.num(item.customers_out)], ["critical_col", FL.esc(item.critical_customers_out)],
        ["eta", time(item.eta)], ["arrive_by", due(item.arrive_by)], ["restore_by", due(item.restore_by)],
        ["escalation_col", item.escalation ? `<span class="esc esc-${FL.esc(item.escalation)}">${FL.esc(item.escalation)}</span> ${FL.esc(item.escalation_reason)}` : ""]]) +
      `<div class="actions"><select id="assign-crew">${crewOptions(item.crew)}</select><button id="act-assign" data-order="${FL.esc(item.id)}">${FL.t(item.crew ? "reassign" : "assign")}<kbd>a</kbd></button></div>` +
      `<h4>${FL.t("history")}</h4><ol class="history">${(item.history || []).map((h) => `<li>${time(h.at)} ${FL.esc(FL.t(h.state))}${h.crew ? ` → ${FL.esc(h.crew)}` : ""} · ${FL.esc(h.by)}${h.why ? ` — ${FL.esc(h.why)}` : ""}</li>`).join("")}</ol>`;
  } else {
    el.innerHTML = `<h3>${FL.esc(item.id)} ${FL.esc(item.name)}</h3>` +
      dl([["status", FL.esc(FL.t(item.status || "available"))], ["order", FL.esc(item.order)], ["skills", FL.esc((item.skills || []).join(", "))],
        ["position", item.lat != null ? `${Number(item.lat).toFixed(5)}, ${Number(item.lon).toFixed(5)}` : ""], ["eta", time(item.eta)]]);
  }
  const assign = $("act-assign");
  if (assign) {
    assign.onclick = () => { const c = $("assign-crew").value; if (c) dispatch(assign.dataset.order, c); };
    $("assign-crew").onkeydown = (e) => { if (e.key === "Enter") assign.click(); };
  }
}

async function send(event, text, matches) {
  const li = document.createElement("li");
  li.className = "sending";
  li.textContent = `${FL.shortTime.format(new Date())} ${text} — ${FL.t("sending")}`;
  $("results").prepend(li);
  // Listening before posting: the stream may carry the result before the POST answers.
  const entry = { li, text, matches, stored: false, done: false };
  pending.push(entry);
  try {
    await FL.postEvent(event);
    entry.stored = true;
    if (!entry.done) {
      li.className = "pending";
      li.textContent = `${FL.shortTime.format(new Date())} ${text} — ${FL.t("sent")}`;
    }
    setTimeout(() => {
      const i = pending.indexOf(entry);
      if (i < 0) return;
      pending.splice(i, 1);
      li.className = "failed";
      li.textContent = `${text} — ${FL.t("no_effect")}`;
    }, 15000);
  } catch (e) {
    const i = pending.indexOf(entry);
    if (i >= 0) pending.splice(i, 1);
    li.className = "failed";
    li.textContent = `${text} — ${FL.t("failed")}: ${e.message}`;
  }
}

function confirmOutage(outage, device) {
  send({ type: "outage_confirm", at: new Date(FL.now()).toISOString(), outage: outage.id, device },
    `${FL.t("confirm")} ${outage.id} @ ${device}`,
    (m) => m.type.startsWith("outage.") && m.data.id === outage.id && m.data.device === device && m.data.status === "confirmed");
}

function dispatch(order, crew) {
  send({ type: "dispatch", at: new Date(FL.now()).toISOString(), order, crew },
    `${FL.t("assign")} ${order} → ${crew}`,
    (m) => m.type.startsWith("order.") && m.data.id === order && m.data.crew === crew);
}

// ---- the small map -------------------------------------------------------------------
function renderMap() {
  if (!map) return;
  const shade = new Map();
  const active = [...data.outages.values()].filter((o) => o.status === "predicted" || o.status === "confirmed");
  for (const o of active) {
    const order = o.order ? data.orders.get(o.order) : null;
    for (const i of map.below(o.device)) shade.set(i, order && order.state === "on_site" ? "restoring" : "dark");
  }
  map.shade(shade);
  map.clearOverlay();
  const u = map.unit();
  for (const o of active) {
    if (o.lon == null) continue;
    const [x, y] = map.xy(o.lon, o.lat);
    const sel = selected && selected.table === "outages" && selected.id === o.id;
    map.gLayer.append(map.el("circle", { class: `outage${sel ? " selected" : ""}`, cx: x, cy: y, r: u * (5 + Math.min(14, Math.sqrt(o.customers_out || 1))) }));
  }
  for (const c of data.crews.values()) {
    if (c.lon == null) continue;
    const [x, y] = map.xy(c.lon, c.lat);
    map.gLayer.append(map.el("rect", { class: "crew", x: x - 4 * u, y: y - 4 * u, width: 8 * u, height: 8 * u }));
  }
}

// ---- start -------------------------------------------------------------------------------
async function start() {
  if (!FL.token()) { $("detail").innerHTML = `<p class="hint">${FL.t("no_token")}</p>`; return; }
  FL.api("/api/v1/network").then((r) => (r.ok ? r.json() : null)).then((net) => {
    if (!net) return;
    map = new FL.NetworkMap($("map"), net);
    const list = document.createElement("datalist");
    list.id = "devices";
    list.innerHTML = net.devices.map((d) => `<option value="${FL.esc(d.id)}">`).join("");
    document.body.append(list);
    schedule();
  }).catch(() => {});
  let live = false;
  new FL.Stream({
    message: (m) => {
      const d = m.data || {};
      if (m.type.startsWith("outage.")) data.outages.set(d.id, d);
      else if (m.type.startsWith("order.")) data.orders.set(d.id, d);
      else if (m.type === "crew.updated") data.crews.set(d.id, d);
      for (let i = pending.length - 1; i >= 0; i--) {
        if (pending[i].matches(m)) {
          pending[i].done = true;
          pending[i].li.className = "done";
          pending[i].li.textContent = `${pending[i].text} — ${FL.t("done")} (#${m.seq})`;
          pending.splice(i, 1);
        }
      }
      if (live) schedule();
    },
    live: () => { live = true; renderAll(); },
    reset: () => { for (const k in data) data[k].clear(); },
    status: (connected) => {
      $("conn").className = `conn ${connected ? "ok" : "lost"}`;
      $("conn").textContent = connected ? FL.t("live") : FL.t("reconnecting");
      if (!connected) live = false;
    },
  });
  setInterval(() => { if (live) renderTable("outages"), renderTable("orders"); }, 15000);
}

start();
