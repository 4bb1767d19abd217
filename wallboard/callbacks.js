// The callback list (回访) for call-center agents: the customers to call back after
// their outage was restored, oldest first, and one click per answer. Reads
// GET /api/v1/callbacks (again whenever the stream carries callback.listed,
// callback.updated or callbacks.closed), records an answer as a `callback` event on
// POST /api/v1/events, and shows what the server said about it.
"use strict";

const W = {
  en: {
    title: "faultline · callbacks after restoration", lookup: "Customer lookup", agent: "Agent",
    show_answered: "show answered", pending: "To call back", answered: "Answered", answered_here: "Answered from this page",
    listed: "Restored at", customer: "Customer", outage: "Outage · device", crew: "Crew", reports: "Reports",
    attempts: "Calls", note: "Note (optional)", note_col: "Note", answer: "Answer", outcome: "Answer", at: "At", follow_up: "Follow-up outage",
    restored: "Restored", still_out: "Still out", no_answer: "No answer",
    account: "account", last_try: "last", sending: "sending…", stored: "stored", refused: "refused",
    none: "Nobody to call back.", ago: "ago", by: "by", new_outage: "new outage", closes_in: "closes in", days: "d",
    read_only: "This token (%r) can read the callbacks but not record answers: an agent needs a dispatcher or admin token.",
    crew_only: "A crew token sees only the callbacks about outages its own crew restored.",
    cannot_read: "This token cannot read the callbacks", no_token: "This page needs a token: open it with ?token=…",
    token_refused: "The token was refused: open the page with a valid ?token=…",
    no_agent: "Enter your name as agent first.", load_failed: "Could not load the callbacks",
  },
  "zh-CN": {
    title: "faultline · 复电回访", lookup: "客户查询", agent: "坐席",
    show_answered: "显示已回访", pending: "待回访", answered: "已回访", answered_here: "本页刚回访",
    listed: "复电时间", customer: "客户", outage: "停电事件 · 设备", crew: "抢修队", reports: "报修单",
    attempts: "回访次数", note: "备注（可选）", note_col: "备注", answer: "回访结果", outcome: "结果", at: "时间", follow_up: "后续停电事件",
    restored: "已复电", still_out: "仍停电", no_answer: "无人接听",
    account: "户号", last_try: "上次", sending: "发送中…", stored: "已记录", refused: "被拒绝",
    none: "没有待回访的客户。", ago: "前", by: "坐席", new_outage: "新停电事件", closes_in: "后关闭", days: "天",
    read_only: "此令牌（%r）只能查看回访，不能记录结果：坐席需要调度员或管理员令牌。",
    crew_only: "抢修队令牌只能看到本队复电的停电事件的回访。",
    cannot_read: "此令牌不能查看回访", no_token: "此页面需要令牌：请用 ?token=… 打开",
    token_refused: "令牌无效：请用有效的 ?token=… 打开",
    no_agent: "请先填写坐席姓名。", load_failed: "无法读取回访列表",
  },
};
const w = (k) => (W[FL.lang] || W.en)[k] ?? W.en[k];
const $ = (id) => document.getElementById(id);
const stamp = new Intl.DateTimeFormat(FL.lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const when = (iso) => (iso ? stamp.format(new Date(iso)) : "—");
const OUTCOMES = ["restored", "still_out", "no_answer"];

const items = new Map(); // callback id ("OUT-5/C-1") → the API's item
const devices = new Map(); // outage id → device, from the stream's outage messages
const notes = new Map(); // callback id → the note being typed
const rowState = new Map(); // callback id → {cls, text}: what the last answer from here did
const inFlight = new Map(); // callback id → attempts before the answer: one answer at a time
const answeredHere = new Set(); // answered from this page: kept in sight after they leave "pending"
let canPost = false;

// ---- header ---------------------------------------------------------------------------
document.title = w("title");
$("title").textContent = w("title");
$("to-lookup").textContent = w("lookup");
$("to-lookup").href = `/lookup?lang=${encodeURIComponent(FL.lang)}`;
$("agent-label").textContent = w("agent");
$("show-answered-label").textContent = w("show_answered");
$("pending-title").textContent = w("pending");
$("none-pending").textContent = w("none");
$("agent").value = localStorage.getItem("faultline.agent") || "";
$("agent").addEventListener("input", () => localStorage.setItem("faultline.agent", $("agent").value.trim()));
$("show-answered").addEventListener("change", () => refresh());

function notice(text, error) {
  $("notice").hidden = !text;
  $("notice").textContent = text || "";
  $("notice").className = `notice${error ? " err" : ""}`;
}

function last(text, cls) {
  $("last").textContent = text;
  $("last").className = `last ${cls || ""}`;
}

// ---- reading ----------------------------------------------------------------------------
let asked = 0;

/// Ask for the callbacks again; only the newest answer is shown.
async function refresh() {
  const mine = ++asked;
  const all = $("show-answered").checked || answeredHere.size > 0;
  let resp;
  try {
    resp = await FL.api(`/api/v1/callbacks?status=${all ? "all" : "pending"}`);
  } catch (e) {
    if (mine === asked) fail(e.status === 401 ? w("token_refused") : `${w("load_failed")}: ${e.message}`);
    return;
  }
  const body = await resp.json().catch(() => null);
  if (mine !== asked) return;
  if (!resp.ok || !Array.isArray(body)) {
    fail(`${resp.status === 403 ? w("cannot_read") : w("load_failed")}: ${body?.error || resp.statusText}`);
    return;
  }
  items.clear();
  for (const c of body) items.set(c.id, c);
  // An answer is in once the server counts one more call for it.
  for (const [id, before] of inFlight) {
    const c = items.get(id);
    if (!c || c.attempts > before) inFlight.delete(id);
  }
  render();
  document.body.dataset.ready = "1";
}

function fail(text) {
  notice(text, true);
  document.body.dataset.ready = "error";
}

let scheduled = null;
function scheduleRefresh() {
  if (scheduled) return;
  scheduled = setTimeout(() => { scheduled = null; refresh(); }, 120);
}

// ---- drawing --------------------------------------------------------------------------------
// The rows are markup (rebuilt only when it changes): every value from the API or the
// stream in them goes through FL.esc; the page's own words (w) need not.
function outageCell(c) {
  const device = devices.get(c.outage);
  return `<b>${FL.esc(c.outage)}</b>${device ? `<div class="sub" title="${FL.esc(device)}">${FL.esc(FL.short(device, 26))}</div>` : ""}`;
}

function customerCell(c) {
  return `<div class="who" title="${FL.esc(c.customer)}">${FL.esc(FL.short(c.customer, 26))}</div>` +
    (c.account ? `<div class="sub">${w("account")} ${FL.esc(c.account)}</div>` : "");
}

// How long until a callback closes (it leaves the list then, answered or not): days
// once it is two days or more.
function closesIn(ms) {
  return ms >= 2 * 86400000 ? `${Math.round(ms / 86400000)} ${w("days")}` : FL.age(ms);
}

function listedCell(c) {
  const age = FL.age(FL.now() - Date.parse(c.listed_at));
  const ago = FL.lang === "zh-CN" ? `${age}${w("ago")}` : `${age} ${w("ago")}`;
  let closes = "";
  if (c.closes_at) {
    const left = closesIn(Math.max(0, Date.parse(c.closes_at) - FL.now()));
    closes = `<div class="sub closes">${FL.lang === "zh-CN" ? `${left}${w("closes_in")}` : `${w("closes_in")} ${left}`}</div>`;
  }
  return `${when(c.listed_at)}<div class="sub">${ago}</div>${closes}`;
}

function stateLine(id) {
  const s = rowState.get(id);
  return s ? `<div class="state ${s.cls}" role="status">${FL.esc(s.text)}</div>` : "";
}

function followCell(c) {
  if (!c.follow_up) return "";
  const device = devices.get(c.follow_up);
  return `<span class="follow">→ ${FL.esc(c.follow_up)}</span>${device ? `<div class="sub" title="${FL.esc(device)}">${FL.esc(FL.short(device, 26))}</div>` : ""}`;
}

const pendingHead = () => `<thead><tr><th>${w("listed")}</th><th>${w("customer")}</th><th>${w("outage")}</th><th>${w("crew")}</th>` +
  `<th>${w("reports")}</th><th>${w("attempts")}</th>${canPost ? `<th>${w("note")}</th><th>${w("answer")}</th>` : ""}</tr></thead>`;

function pendingRow(c) {
  const busy = inFlight.has(c.id);
  const tries = c.attempts
    ? `${FL.esc(c.attempts)}<div class="sub">${w("last_try")} ${when(c.outcome_at)}${c.agent ? ` · ${FL.esc(c.agent)}` : ""}</div>${c.note ? `<div class="sub">“${FL.esc(c.note)}”</div>` : ""}`
    : "0";
  const answer = canPost
    ? `<td><input class="note" data-note="${FL.esc(c.id)}" value="${FL.esc(notes.get(c.id) || "")}" placeholder="${w("note")}"></td>` +
      `<td class="answers">${OUTCOMES.map((o) => `<button type="button" class="${o}" data-id="${FL.esc(c.id)}" data-outcome="${o}" ${busy ? "disabled" : ""}>${w(o)}</button>`).join("")}${stateLine(c.id)}</td>`
    : "";
  return `<td>${listedCell(c)}</td><td>${customerCell(c)}</td><td>${outageCell(c)}</td><td>${FL.esc(c.crew || "—")}</td>` +
    `<td>${FL.esc((c.report_ids || []).join(", "))}</td><td class="num">${tries}</td>${answer}`;
}

const doneHead = () => `<thead><tr><th>${w("listed")}</th><th>${w("customer")}</th><th>${w("outage")}</th><th>${w("outcome")}</th>` +
  `<th>${w("at")}</th><th>${w("agent")}</th><th>${w("note_col")}</th><th>${w("follow_up")}</th></tr></thead>`;

function doneRow(c) {
  return `<td>${when(c.listed_at)}</td><td>${customerCell(c)}</td><td>${outageCell(c)}</td>` +
    `<td><span class="outcome-${FL.esc(c.outcome)}">${FL.esc(w(c.outcome))}</span>${stateLine(c.id)}</td><td>${when(c.outcome_at)}</td>` +
    `<td>${FL.esc(c.agent || "")}</td><td>${FL.esc(c.note || "")}</td><td>${followCell(c)}</td>`;
}

/// Put `list` into `table`'s body, rebuilding only the rows that changed (a note being
/// typed keeps its text and focus).
function fill(table, head, list, build) {
  if (table.dataset.head !== head) { table.innerHTML = `${head}<tbody></tbody>`; table.dataset.head = head; }
  const tbody = table.tBodies[0];
  const old = new Map([...tbody.rows].map((tr) => [tr.dataset.id, tr]));
  const focused = document.activeElement?.dataset?.note;
  let before = tbody.firstChild;
  for (const c of list) {
    const html = build(c);
    let tr = old.get(c.id);
    old.delete(c.id);
    if (!tr) { tr = document.createElement("tr"); tr.dataset.id = c.id; }
    if (tr.dataset.html !== html) {
      tr.innerHTML = html;
      tr.dataset.html = html;
      if (focused === c.id) tr.querySelector("input.note")?.focus();
    }
    if (tr !== before) tbody.insertBefore(tr, before);
    before = tr.nextSibling;
  }
  for (const tr of old.values()) tr.remove();
}

const oldestFirst = (a, b) => a.listed_at.localeCompare(b.listed_at) || a.id.localeCompare(b.id, undefined, { numeric: true });

function render() {
  const all = [...items.values()];
  const pending = all.filter((c) => c.status === "pending").sort(oldestFirst);
  const showAll = $("show-answered").checked;
  const done = all.filter((c) => c.status !== "pending" && (showAll || answeredHere.has(c.id)))
    .sort((a, b) => (b.outcome_at || "").localeCompare(a.outcome_at || ""));
  fill($("pending"), pendingHead(), pending, pendingRow);
  $("pending").hidden = pending.length === 0;
  $("none-pending").hidden = pending.length > 0;
  $("n-pending").textContent = `(${pending.length})`;
  $("done-title").textContent = showAll ? w("answered") : w("answered_here");
  fill($("done"), doneHead(), done, doneRow);
  $("done").hidden = $("done-head").hidden = done.length === 0;
  $("n-done").textContent = `(${done.length})`;
}

// ---- answering --------------------------------------------------------------------------------
$("pending").addEventListener("input", (e) => {
  if (e.target.dataset.note) notes.set(e.target.dataset.note, e.target.value);
});
$("pending").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-outcome]");
  if (b) answer(b.dataset.id, b.dataset.outcome);
});

/// Record one answer. A second click while one is on its way does nothing.
async function answer(id, outcome) {
  const c = items.get(id);
  if (!c || !canPost || inFlight.has(id)) return;
  const agent = $("agent").value.trim();
  if (!agent) { last(w("no_agent"), "err"); $("agent").focus(); return; }
  inFlight.set(id, c.attempts);
  const what = `${c.outage} · ${c.customer} · ${w(outcome)}`;
  rowState.set(id, { cls: "sending", text: w("sending") });
  render();
  const note = (notes.get(id) || "").trim();
  const event = { type: "callback", at: new Date(FL.now()).toISOString(), outage: c.outage, customer: c.customer, outcome, agent };
  if (note) event.note = note;
  try {
    const stored = await FL.postEvent(event);
    rowState.set(id, { cls: "ok", text: `${w("stored")} (#${stored.last_seq})` });
    last(`${what} — ${w("stored")}`, "ok");
    notes.delete(id);
    if (outcome !== "no_answer") answeredHere.add(id);
    // Held until the list shows the answer; released anyway if the stream is slow.
    setTimeout(() => { if (inFlight.delete(id)) render(); }, 10000);
  } catch (e) {
    inFlight.delete(id);
    const text = `${w("refused")}${e.status ? ` (${e.status})` : ""}: ${e.message}`;
    rowState.set(id, { cls: "err", text });
    last(`${what} — ${text}`, "err");
  }
  render();
  refresh();
}

// ---- start --------------------------------------------------------------------------------------
async function start() {
  if (!FL.token()) { fail(w("no_token")); return; }
  let me;
  try {
    const resp = await FL.api("/api/v1/me");
    me = await resp.json();
  } catch (e) {
    fail(e.status === 401 ? w("token_refused") : `${w("load_failed")}: ${e.message}`);
    return;
  }
  canPost = me.role === "dispatcher" || me.role === "admin";
  if (!canPost) notice(`${w("read_only").replace("%r", me.role)}${me.role === "crew" ? ` ${w("crew_only")}` : ""}`);
  let live = false;
  new FL.Stream({
    filtered: me.role === "crew",
    message: (m) => {
      const d = m.data || {};
      if (m.type.startsWith("outage.") && d.id && d.device) {
        const changed = devices.get(d.id) !== d.device;
        devices.set(d.id, d.device);
        if (live && changed) scheduleRefresh();
      } else if (live && ["callback.listed", "callback.updated", "callbacks.closed"].includes(m.type)) {
        scheduleRefresh();
      }
    },
    live: () => { live = true; refresh(); },
    reset: () => { devices.clear(); },
    status: (connected) => {
      $("conn").className = `conn ${connected ? "ok" : "lost"}`;
      $("conn").textContent = connected ? FL.t("live") : FL.t("reconnecting");
      if (!connected) live = false;
    },
  });
  // Ages ("2 h ago") move on.
  setInterval(() => { if (items.size) render(); }, 60000);
}

start();
