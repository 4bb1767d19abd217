// The call-center lookup: is this caller in a known outage? By customer id, account,
// or "lon,lat". Reads GET /api/v1/status; one question at a time, while on the phone.
"use strict";

const W = {
  en: {
    title: "Customer lookup — is there a known outage?", go: "Look up",
    hint: "Customer id, account number, or lon,lat (e.g. 116.3757,39.8946)",
    out: "Power is out: a known outage", none: "No known outage here",
    outage: "Outage", device: "Device believed open", since: "Out since",
    customers: "Customers out", crew: "Crew", none_yet: "none yet", eta: "Crew expected",
    etr: "Power expected back", restore_by: "Restore target", status: "Status",
    customer: "Customer", feeder: "Feeder", error: "Could not look up",
    not_found: "No customer with that id or account",
    planned_now: "Power is off for planned work", planned: "Planned work",
    window: "Power off", reason: "Work", notice_late: "notice given late",
    work_device: "Device opened for the work",
    callbacks: "Callbacks after restoration",
  },
  "zh-CN": {
    title: "客户查询 — 是否有已知停电？", go: "查询",
    hint: "客户编号、户号，或经纬度（如 116.3757,39.8946）",
    out: "已知停电：该客户停电", none: "该处无已知停电",
    outage: "停电事件", device: "判定断开设备", since: "停电起始",
    customers: "停电户数", crew: "抢修队", none_yet: "尚未派出", eta: "预计到达",
    etr: "预计复电", restore_by: "复电时限", status: "状态",
    customer: "客户", feeder: "馈线", error: "查询失败",
    not_found: "没有该编号或户号的客户",
    planned_now: "计划停电中（非故障）", planned: "停电预告",
    window: "停电时段", reason: "工作内容", notice_late: "通知迟于规定",
    work_device: "检修设备",
    callbacks: "复电回访",
  },
};
const w = (k) => (W[FL.lang] || W.en)[k];
const $ = (id) => document.getElementById(id);
const time = (t) => (t ? FL.shortTime.format(new Date(t)) : "—");
// Planned work may be days ahead: its window carries the date.
const dateTime = new Intl.DateTimeFormat(FL.lang, {
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const when = (t) => (t ? dateTime.format(new Date(t)) : "—");

$("title").textContent = w("title");
$("to-callbacks").textContent = w("callbacks");
$("to-callbacks").href = `/callbacks?lang=${encodeURIComponent(FL.lang)}`;
$("go").textContent = w("go");
$("hint").textContent = w("hint");
$("q").placeholder = w("hint");

function query(text) {
  const t = text.trim();
  const place = t.match(/^(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)$/);
  if (place) return `lon=${place[1]}&lat=${place[2]}`;
  return null;
}

function row(dl, label, value) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

let asking = 0;

async function ask(text) {
  // Only the latest question is answered on screen.
  const mine = ++asking;
  const result = $("result");
  result.replaceChildren();
  const state = document.createElement("div");
  state.className = "state";
  const place = query(text);
  // An id may be a customer id or an account: try the id first.
  const tries = place ? [place] : [`customer=${encodeURIComponent(text.trim())}`, `account=${encodeURIComponent(text.trim())}`];
  let body = null, error = "", missing = 0;
  for (const q of tries) {
    const resp = await FL.api(`/api/v1/status?${q}`).catch((e) => ({ ok: false, statusText: e.message }));
    if (resp.ok) { body = await resp.json(); break; }
    if (resp.status === 404) missing += 1;
    error = (await resp.json?.().catch(() => null))?.error || resp.statusText;
  }
  if (!place && missing === tries.length) error = w("not_found");
  if (mine !== asking) return;
  result.append(state);
  if (!body) {
    state.className = "state err";
    state.textContent = `${w("error")}: ${error}`;
    return;
  }
  const o = body.outage;
  const plannedNow = body.status === "planned_work";
  state.className = `state ${o ? "out" : plannedNow ? "planned" : "ok"}`;
  state.textContent = o ? w("out") : plannedNow ? w("planned_now") : w("none");
  const dl = document.createElement("dl");
  row(dl, w("customer"), `${body.customer}${body.account ? ` (${body.account})` : ""}`);
  if (body.feeder) row(dl, w("feeder"), body.feeder);
  if (o) {
    row(dl, w("outage"), `${o.id} · ${o.status}`);
    row(dl, w("device"), o.device);
    row(dl, w("since"), time(o.started_at));
    row(dl, w("customers"), FL.num(o.customers_out));
    row(dl, w("crew"), o.crew || w("none_yet"));
    row(dl, w("eta"), time(o.eta));
    row(dl, w("etr"), time(o.etr));
    row(dl, w("restore_by"), time(o.restore_by));
  }
  result.append(dl);
  // Planned work under way or announced: the agent reads the window to the caller.
  for (const n of body.planned || []) {
    const h = document.createElement("h3");
    h.textContent = `${w("planned")} ${n.id} · ${n.status}${n.late ? ` · ${w("notice_late")}` : ""}`;
    const pl = document.createElement("dl");
    row(pl, w("window"), `${when(n.start)} – ${when(n.end)}`);
    if (n.reason) row(pl, w("reason"), n.reason);
    row(pl, w("work_device"), n.device);
    result.append(h, pl);
  }
}

$("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  if ($("q").value.trim()) ask($("q").value);
});
document.body.dataset.ready = "1";
