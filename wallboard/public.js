// The public outage page (/public): no token, nothing personal. Reads the public feed
// (GET /public/v1/outages.json: outages as ~1 km areas, customers out by district,
// planned work) every 30 s, and asks GET /public/v1/status?account=… for one account.
// Every value is put on the page as text (textContent, or FL.esc where markup is built).
"use strict";

const P = {
  en: {
    title: "Power outages", customers: "customers without power", outages: "outages now",
    share: "of customers have power", updated: "Updated", as_of: "information as of",
    fewer: "fewer than 5", districts: "Customers without power by district",
    district: "District (feeder)", out: "Customers out", since: "Out since", etr: "Expected back",
    not_estimated: "being assessed", no_outages: "No known outages right now.",
    planned: "Planned work", no_planned: "No planned work announced.",
    active: "under way", scheduled: "announced", urgent: "urgent maintenance", planned_kind: "planned work",
    lookup: "Is my power out? Look up your account", go: "Look up",
    placeholder: "Account number (on your bill)",
    a_outage: "Your address is in a known outage", a_planned_work: "Power is off for planned work",
    a_planned_work_ahead: "Planned work will turn your power off",
    a_none: "No known outage at your address. If your power is out, please report it.",
    a_since: "since", a_back: "expected back", a_from: "from", a_until: "until",
    error: "Could not look it up", busy: "Too many requests — please wait a few seconds.",
    legend_area: "customers without power (area of about 1 km)", legend_work: "planned work",
    legend_land: "service area", km: "km",
    note: "Outages are shown by area (about 1 km squares) and district, never by address; counts below 5 are shown as “fewer than 5”. This page updates itself every 30 seconds. Data for outage maps: /public/v1/outages.json",
  },
  "zh-CN": {
    title: "停电信息", customers: "户停电", outages: "处停电",
    share: "用户供电正常", updated: "更新于", as_of: "信息截至",
    fewer: "少于 5 户", districts: "各区域（馈线）停电户数",
    district: "区域（馈线）", out: "停电户数", since: "停电开始", etr: "预计复电",
    not_estimated: "评估中", no_outages: "目前没有已知停电。",
    planned: "计划停电", no_planned: "暂无计划停电公告。",
    active: "正在进行", scheduled: "已公告", urgent: "紧急检修", planned_kind: "计划检修",
    lookup: "我家停电了吗？按户号查询", go: "查询",
    placeholder: "户号（见电费单）",
    a_outage: "您所在地址处于已知停电范围", a_planned_work: "您所在地址正在计划停电",
    a_planned_work_ahead: "您所在地址将有计划停电",
    a_none: "您所在地址无已知停电。如已停电，请报修。",
    a_since: "开始于", a_back: "预计复电", a_from: "自", a_until: "至",
    error: "查询失败", busy: "请求过多，请稍候几秒再试。",
    legend_area: "停电区域（约 1 公里方格）", legend_work: "计划停电", legend_land: "供电区域", km: "公里",
    note: "停电按区域（约 1 公里方格）和馈线公布，不显示具体地址；少于 5 户的显示为“少于 5 户”。本页每 30 秒自动更新。停电地图数据：/public/v1/outages.json",
  },
};
const p = (k) => (P[FL.lang] || P.en)[k];
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const dateTime = new Intl.DateTimeFormat(FL.lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const when = (t) => (t ? dateTime.format(new Date(t)) : "—");
/// A published count: the number, or "fewer than 5".
const count = (c) => (c.fewer_than_5 ? p("fewer") : FL.num(c.customers_out));

document.title = p("title");
$("title").textContent = p("title");
$("lbl-customers").textContent = p("customers");
$("lbl-outages").textContent = p("outages");
$("lbl-share").textContent = p("share");
$("h-districts").textContent = p("districts");
$("th-district").textContent = p("district");
$("th-out").textContent = p("out");
$("th-since").textContent = p("since");
$("th-etr").textContent = p("etr");
$("no-outages").textContent = p("no_outages");
$("h-planned").textContent = p("planned");
$("no-planned").textContent = p("no_planned");
$("h-lookup").textContent = p("lookup");
$("go").textContent = p("go");
$("account").placeholder = p("placeholder");
$("note").textContent = p("note");
// The legend: markup built from our own words, each escaped all the same.
$("legend").innerHTML = [["area", "legend_area"], ["work", "legend_work"], ["land", "legend_land"]]
  .map(([cls, key]) => `<li><span class="swatch ${cls}"></span>${FL.esc(p(key))}</li>`).join("");

function svgEl(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

/// The map: the service area's cells, the dark areas, the planned work, a scale bar.
function drawMap(feed) {
  const svg = $("map");
  const cell = feed.cell_deg;
  const boxes = feed.territory.map(([x, y]) => [x, y, x + cell, y + cell])
    .concat(feed.areas.map((a) => a.bbox), feed.planned.map((w) => w.bbox));
  if (!boxes.length) { svg.replaceChildren(); return; }
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const b of boxes) { x0 = Math.min(x0, b[0]); y0 = Math.min(y0, b[1]); x1 = Math.max(x1, b[2]); y1 = Math.max(y1, b[3]); }
  const pad = cell;
  x0 -= pad; y0 -= pad; x1 += pad; y1 += pad;
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  // One unit of the drawing is one pixel on screen, so labels keep their size.
  const W = Math.max(320, Math.round(svg.getBoundingClientRect().width) || 1000);
  const H = Math.round(Math.max(W * 0.35, Math.min(W * 1.1, W * (y1 - y0) / ((x1 - x0) * k))));
  const sx = W / ((x1 - x0) * k), sy = H / (y1 - y0), s = Math.min(sx, sy);
  const ox = (W - (x1 - x0) * k * s) / 2, oy = (H - (y1 - y0) * s) / 2;
  const X = (lon) => ox + (lon - x0) * k * s, Y = (lat) => H - oy - (lat - y0) * s;
  const rect = (b, cls) => svgEl("rect", { class: cls, x: X(b[0]), y: Y(b[3]), width: Math.max(1, X(b[2]) - X(b[0])), height: Math.max(1, Y(b[1]) - Y(b[3])) });
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const g = [];
  for (const [x, y] of feed.territory) g.push(rect([x, y, x + cell, y + cell], "land"));
  const most = Math.max(1, ...feed.areas.map((a) => a.customers_out || 1));
  for (const a of feed.areas) {
    const r = rect(a.bbox, "area");
    r.setAttribute("fill-opacity", (0.45 + 0.55 * Math.sqrt((a.customers_out || 1) / most)).toFixed(2));
    r.append(svgEl("title", {}, `${count(a)} · ${p("etr")} ${a.etr ? when(a.etr) : p("not_estimated")}`));
    g.push(r);
  }
  for (const w of feed.planned) g.push(rect(w.bbox, "work"));
  // Labels of the larger areas, top to bottom, skipped where they would overlap.
  const placed = [];
  for (const a of [...feed.areas].sort((l, r) => (r.customers_out || 0) - (l.customers_out || 0)).slice(0, 12)) {
    const lx = X(a.bbox[2]) + 4, ly = Y((a.bbox[1] + a.bbox[3]) / 2) + 4;
    if (placed.some(([px, py]) => Math.abs(px - lx) < 120 && Math.abs(py - ly) < 18)) continue;
    placed.push([lx, ly]);
    g.push(svgEl("text", { class: "label", x: lx, y: ly }, count(a)));
  }
  // A scale bar: the largest of 1, 2, 5, 10… km that fits a fifth of the map.
  const pxPerKm = s / 111.32; // a degree of latitude is 111.32 km
  let km = 1;
  for (const c of [1, 2, 5, 10, 20, 50, 100]) if (c * pxPerKm < W / 5) km = c;
  const len = km * pxPerKm;
  g.push(svgEl("line", { class: "scale", x1: 20, y1: H - 20, x2: 20 + len, y2: H - 20 }));
  g.push(svgEl("text", { class: "label", x: 20, y: H - 28 }, `${km} ${p("km")}`));
  svg.replaceChildren(...g);
}

function render(feed) {
  const s = feed.summary;
  $("fig-customers").textContent = count(s);
  $("fig-customers").classList.toggle("out", !!(s.customers_out || s.fewer_than_5) && s.outages > 0);
  $("fig-outages").textContent = FL.num(s.outages);
  const out = s.customers_out || 0;
  $("fig-share").textContent = s.customers_served
    ? `${(100 * (1 - out / s.customers_served)).toFixed(out ? 1 : 0)} %` : "—";
  $("updated").textContent = `${p("updated")} ${FL.timeFmt.format(new Date())} · ${p("as_of")} ${when(feed.as_of)}`;
  const tbody = $("districts").querySelector("tbody");
  tbody.replaceChildren(...feed.districts.map((d) => {
    const tr = document.createElement("tr");
    const cells = [d.district, count(d), when(d.since), d.etr ? when(d.etr) : p("not_estimated")];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 1) td.className = "out";
      tr.append(td);
    });
    return tr;
  }));
  $("districts").hidden = !feed.districts.length;
  $("no-outages").hidden = !!feed.districts.length;
  $("planned").replaceChildren(...feed.planned.map((w) => {
    const li = document.createElement("li");
    const head = document.createElement("div");
    head.className = "when";
    head.textContent = `${when(w.start)} – ${when(w.end)} · ${p(w.status)}`;
    const what = document.createElement("div");
    what.className = "what";
    what.textContent = [w.kind === "urgent" ? p("urgent") : p("planned_kind"), w.district, count(w), w.reason]
      .filter(Boolean).join(" · ");
    li.append(head, what);
    return li;
  }));
  $("no-planned").hidden = !!feed.planned.length;
  drawMap(feed);
  document.body.dataset.ready = "1";
}

async function refresh() {
  try {
    const resp = await fetch("/public/v1/outages.json");
    if (resp.ok) render(await resp.json());
  } catch (_) { /* the next refresh tries again */ }
}

$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  const answer = $("answer");
  const account = $("account").value.trim();
  if (!account) return;
  answer.className = "answer";
  answer.textContent = "…";
  try {
    const resp = await fetch(`/public/v1/status?account=${encodeURIComponent(account)}`);
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 429) throw new Error(p("busy"));
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    const cls = { outage: "out", planned_work: "planned", planned_work_ahead: "planned" }[body.status] || "ok";
    answer.className = `answer ${cls}`;
    if (body.status === "outage") {
      answer.textContent = `${p("a_outage")} ${p("a_since")} ${when(body.since)} · ${p("a_back")} ${body.expected_back ? when(body.expected_back) : p("not_estimated")}`;
    } else if (body.status === "planned_work" || body.status === "planned_work_ahead") {
      answer.textContent = `${p(`a_${body.status}`)} ${p("a_from")} ${when(body.since)} ${p("a_until")} ${when(body.expected_back)}`;
    } else {
      answer.textContent = p("a_none");
    }
  } catch (err) {
    answer.className = "answer err";
    answer.textContent = `${p("error")}: ${err.message}`;
  }
});

refresh();
setInterval(refresh, 30000);
