// The reliability and workload report: GET /api/v1/reports drawn as tables and inline
// SVG charts (drawn here, nothing fetched from elsewhere), for the screen and for print.
// The period and region come from the URL (?from=&to=&zone=&feeder=&utc_offset=) and the
// form; body[data-ready="1"] once the report is on the page.
"use strict";

const W = {
  en: {
    title: "Reliability and workload report", from: "From", to: "To", zone: "Zone",
    feeder: "Feeder", utc_offset: "UTC offset", all_zones: "all zones", urban: "urban",
    suburban: "suburban", rural: "rural", show: "Show", csv: "Download CSV", json: "JSON",
    print: "Print", period: "Period", region: "Region", whole: "whole network", as_of: "as of",
    reliability: "Reliability (IEEE 1366, unplanned)", daily_saidi: "Daily SAIDI (minutes), Major Event Days in red",
    saidi: "SAIDI", saifi: "SAIFI", caidi: "CAIDI", caifi: "CAIFI", maifi: "MAIFI", asai: "ASAI",
    min: "min", per_customer: "per customer", index: "Index", all_days: "All days",
    excl_med: "Excluding MEDs", customer_minutes: "Customer-minutes", customer_interruptions: "Customer interruptions",
    customers_interrupted: "Customers interrupted", momentary: "Momentary interruptions (≤ 5 min)",
    served: (r) => `${FL.num(r.customers_served)} customers served; ${FL.num(r.outages)} unplanned outages began in the period (${FL.num(r.outages_ongoing)} still out, counted to the report time). Planned work, not in these figures: ${FL.num(r.planned.outages)} outages, ${fmt(r.planned.customer_minutes, 0)} customer-minutes.`,
    med_title: "Major Event Days (2.5 beta)", t_med: "T_MED", no_med: "No Major Event Day in the period.",
    meds: "Major Event Days", history: "History",
    history_text: (m) => `the ${m.history_days} days of the log from ${m.history_from || "—"} to ${m.history_to || "—"} (before and in the period), ${m.history_days_with_interruptions} of them with SAIDI > 0. ${m.t_med_min ? "IEEE 1366 asks for five years of history: with less, T_MED is indicative." : "The method needs at least 2 days with SAIDI > 0: no threshold."}`,
    service: "Service targets", on_site: "On site within target", restored_in: "Restored within target",
    outages: "Outages", met: "met", missed: "missed", pending: "pending", no_visit: "no crew visit",
    share: "share", by_zone: "By zone", by_crew: "By crew (first on site)", none: "(no crew on site)",
    workload: "Workload", crew: "Crew", orders: "Orders", restored: "Restored", declined: "Declined",
    hours: "Hours on orders", overrides: (d) => `Dispatchers: ${FL.num(d.overrides)} dispatch overrides on ${FL.num(d.orders_overridden)} orders. ${d.identity_recorded ? "" : "The events do not record which dispatcher acted, so there is no per-dispatcher split."}`,
    calls: "Calls per outage", reports: "Reports", mean: "mean", median: "median", max: "most",
    without_calls: "outages with no call", outage_list: "Outages",
    outage_note: (shown, all) => (shown < all ? `The ${shown} largest by customer-minutes of ${all}; the CSV has them all.` : `${all} outages.`),
    id: "Outage", device: "Device", started: "Started", minutes: "Minutes", customers: "Customers",
    status: "Status", planned: "planned", method: "How the figures are made", loading: "Loading…",
    error: "The report could not be made", no_data: "no outages", days: "days", above_chart: "(above the chart)", end_excluded: "end excluded",
  },
  "zh-CN": {
    title: "供电可靠性与抢修工作量报表", from: "起始日期", to: "截止日期", zone: "区域类型",
    feeder: "馈线", utc_offset: "时区", all_zones: "全部区域", urban: "城市", suburban: "城郊",
    rural: "农村", show: "生成", csv: "下载 CSV", json: "JSON", print: "打印",
    period: "统计期间", region: "统计范围", whole: "全网", as_of: "数据截至",
    reliability: "供电可靠性（IEEE 1366，非计划停电）", daily_saidi: "每日 SAIDI（分钟），红色为重大事件日",
    saidi: "SAIDI", saifi: "SAIFI", caidi: "CAIDI", caifi: "CAIFI", maifi: "MAIFI", asai: "ASAI",
    min: "分钟", per_customer: "次/户", index: "指标", all_days: "全部日",
    excl_med: "剔除重大事件日", customer_minutes: "停电时户数（户·分钟）", customer_interruptions: "停电户次",
    customers_interrupted: "停电户数", momentary: "瞬时停电户次（≤ 5 分钟）",
    served: (r) => `服务用户 ${FL.num(r.customers_served)} 户；期内发生非计划停电 ${FL.num(r.outages)} 次（其中 ${FL.num(r.outages_ongoing)} 次尚未复电，计至报表时刻）。计划停电不计入上述指标：${FL.num(r.planned.outages)} 次，${fmt(r.planned.customer_minutes, 0)} 户·分钟。`,
    med_title: "重大事件日（2.5β 法）", t_med: "T_MED", no_med: "统计期间内无重大事件日。",
    meds: "重大事件日", history: "历史数据",
    history_text: (m) => `日志中 ${m.history_from || "—"} 至 ${m.history_to || "—"} 共 ${m.history_days} 天（统计期间及之前），其中 ${m.history_days_with_interruptions} 天 SAIDI > 0。${m.t_med_min ? "IEEE 1366 要求五年历史数据，不足时 T_MED 仅供参考。" : "该方法至少需要 2 天 SAIDI > 0，故无阈值。"}`,
    service: "服务时限达标", on_site: "按时到达现场", restored_in: "按时复电",
    outages: "停电次数", met: "达标", missed: "超时", pending: "进行中", no_visit: "无需到场",
    share: "达标率", by_zone: "按区域", by_crew: "按抢修队（首个到场）", none: "（无队伍到场）",
    workload: "抢修工作量", crew: "抢修队", orders: "工单", restored: "已复电", declined: "拒单",
    hours: "工单工时（小时）", overrides: (d) => `调度员：人工派工 ${FL.num(d.overrides)} 次，涉及工单 ${FL.num(d.orders_overridden)} 张。${d.identity_recorded ? "" : "事件未记录具体调度员，无法按调度员分列。"}`,
    calls: "每次停电报修数", reports: "报修数", mean: "平均", median: "中位数", max: "最多",
    without_calls: "无报修的停电", outage_list: "停电明细",
    outage_note: (shown, all) => (shown < all ? `按停电时户数列出前 ${shown} 次（共 ${all} 次），完整列表见 CSV。` : `共 ${all} 次停电。`),
    id: "停电编号", device: "设备", started: "开始时间", minutes: "时长（分钟）", customers: "停电户数",
    status: "状态", planned: "计划", method: "统计口径", loading: "正在生成…",
    error: "无法生成报表", no_data: "无停电", days: "天", above_chart: "（高于图表范围）", end_excluded: "不含截止时刻",
  },
};
const w = (k) => (W[FL.lang] && W[FL.lang][k] !== undefined ? W[FL.lang][k] : W.en[k] ?? k);
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
const OUTAGE_ROWS = 60;

function fmt(x, digits) {
  if (x == null || Number.isNaN(x)) return "—";
  return Number(x).toLocaleString(FL.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const pct = (x) => (x == null ? "—" : `${fmt(100 * x, 1)}\u00a0%`);
const dateTime = new Intl.DateTimeFormat(FL.lang, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "UTC" });
const when = (t) => (t ? `${dateTime.format(new Date(t))} UTC` : "—");

/// The period in the report's local time: whole days as "2026-07-14 – 2026-07-16"
/// (last day included), otherwise both times with the end excluded.
function period(scope) {
  const m = scope.utc_offset.match(/^([+-])(\d\d):(\d\d)$/);
  const off = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const local = (t) => new Date(Date.parse(t) + off * 60000).toISOString();
  const a = local(scope.from), b = local(scope.to);
  const zone = `UTC${scope.utc_offset}`;
  if (a.slice(11, 19) === "00:00:00" && b.slice(11, 19) === "00:00:00") {
    const last = new Date(Date.parse(b) - 86400000).toISOString().slice(0, 10);
    return a.slice(0, 10) === last ? `${last} (${zone})` : `${a.slice(0, 10)} – ${last} (${zone})`;
  }
  return `${a.slice(0, 16).replace("T", " ")} – ${b.slice(0, 16).replace("T", " ")} (${zone}, ${w("end_excluded")})`;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}
function sv(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function table(id, head, rows, cellClass = () => "") {
  const t = $(id);
  t.replaceChildren();
  const tbody = el("tbody");
  if (head.some(Boolean)) t.append(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
  for (const r of rows) tbody.append(el("tr", {}, ...r.map((c, i) => el("td", { class: cellClass(r, i) }, c))));
  t.append(tbody);
}

/// A round step for an axis reaching `max`, about `n` ticks.
function niceStep(max, n = 5) {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || mag * 10;
}

/// Vertical bars with a y axis; `bars`: [{label, value, cls}], optional dashed threshold.
function barChart(target, bars, { threshold, thresholdLabel, height = 240, yUnit = "", width = 1000 } = {}) {
  const left = 56, right = 12, top = 16, bottom = 34;
  const highest = Math.max(1e-9, ...bars.map((b) => b.value));
  // A threshold far above every bar is written, not drawn: the bars stay readable.
  const offChart = threshold && threshold > 1.5 * highest;
  const max = offChart ? highest : Math.max(highest, threshold || 0);
  const step = niceStep(max);
  const top_value = Math.ceil(max / step) * step;
  const svg = sv("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const y = (v) => top + (height - top - bottom) * (1 - v / top_value);
  for (let v = 0; v <= top_value + step / 2; v += step) {
    svg.append(sv("line", { class: "gridline", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    svg.append(sv("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v, step < 1 ? 2 : 0)));
  }
  if (yUnit) svg.append(sv("text", { x: 4, y: top - 4 }, yUnit));
  const slot = (width - left - right) / Math.max(1, bars.length);
  const every = Math.ceil(bars.length / 14);
  bars.forEach((b, i) => {
    const x = left + i * slot;
    const h = y(0) - y(b.value);
    const rect = sv("rect", { class: `bar ${b.cls || ""}`, x: x + slot * 0.12, y: y(b.value), width: Math.max(0.8, slot * 0.76), height: Math.max(0, h) });
    rect.append(sv("title", {}, `${b.label}: ${fmt(b.value, 2)}`));
    svg.append(rect);
    if (i % every === 0) svg.append(sv("text", { x: x + slot / 2, y: height - bottom + 16, "text-anchor": "middle" }, b.label));
  });
  svg.append(sv("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  if (threshold && !offChart) {
    svg.append(sv("line", { class: "threshold", x1: left, x2: width - right, y1: y(threshold), y2: y(threshold) }));
    svg.append(sv("text", { x: width - right, y: y(threshold) - 5, "text-anchor": "end", fill: "#c0392b" }, thresholdLabel));
  } else if (threshold) {
    svg.append(sv("text", { x: width - right, y: top - 4, "text-anchor": "end", fill: "#c0392b" }, `${thresholdLabel} ${w("above_chart")}`));
  }
  $(target).replaceChildren(svg);
}

/// Horizontal bars, one group per row with one bar per series (values 0..max).
function hbarChart(target, rows, series, { max = 1, format = pct } = {}) {
  const width = 1000, left = 170, right = 70, barH = 14, gap = 10;
  const groupH = series.length * barH + gap;
  const height = 28 + rows.length * groupH;
  const svg = sv("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  series.forEach((s, i) => {
    svg.append(sv("rect", { class: `bar ${s.cls}`, x: left + i * 260, y: 4, width: 14, height: 12 }));
    svg.append(sv("text", { x: left + i * 260 + 20, y: 14 }, s.label));
  });
  const x = (v) => left + (width - left - right) * Math.min(1, (v || 0) / max);
  rows.forEach((r, j) => {
    const y0 = 28 + j * groupH;
    svg.append(sv("text", { x: left - 8, y: y0 + (series.length * barH) / 2 + 4, "text-anchor": "end" }, FL.short(r.label, 24)));
    series.forEach((s, i) => {
      const v = s.value(r);
      svg.append(sv("rect", { class: `bar ${s.cls}`, x: left, y: y0 + i * barH, width: Math.max(0, x(v) - left), height: barH - 2 }));
      svg.append(sv("text", { x: x(v) + 6, y: y0 + i * barH + barH - 4 }, format(v)));
    });
  });
  svg.append(sv("line", { class: "axis", x1: left, x2: left, y1: 24, y2: height }));
  $(target).replaceChildren(svg);
}

function params() {
  const p = new URLSearchParams();
  for (const k of ["from", "to", "zone", "feeder", "utc_offset"]) {
    const v = $(k).value.trim();
    if (v) p.set(k, v);
  }
  return p;
}

function kpi(key, value, unit, excl) {
  return el("div", { class: "kpi" }, el("div", { class: "k" }, w(key)), el("div", { class: "v" }, value),
    el("div", { class: "u" }, unit), el("div", { class: "x" }, `${w("excl_med")}: ${excl}`));
}

function render(r) {
  const rel = r.reliability, a = rel.all_days, x = rel.excluding_med;
  const region = [r.scope.feeder && `${w("feeder")} ${r.scope.feeder}`, r.scope.zone && w(r.scope.zone)].filter(Boolean).join(", ") || w("whole");
  $("scope").textContent = `${w("period")}: ${period(r.scope)} · ${w("region")}: ${region} · ${w("as_of")} ${when(r.scope.as_of)}`;

  $("kpis").replaceChildren(
    kpi("saidi", fmt(a.saidi_min, 2), w("min"), fmt(x.saidi_min, 2)),
    kpi("saifi", fmt(a.saifi, 3), w("per_customer"), fmt(x.saifi, 3)),
    kpi("caidi", fmt(a.caidi_min, 1), w("min"), fmt(x.caidi_min, 1)),
    kpi("caifi", fmt(a.caifi, 3), w("per_customer"), fmt(x.caifi, 3)),
    kpi("maifi", fmt(a.maifi, 3), w("per_customer"), fmt(x.maifi, 3)),
    kpi("asai", a.asai == null ? "—" : fmt(100 * a.asai, 3), "%", x.asai == null ? "—" : `${fmt(100 * x.asai, 3)}\u00a0%`),
  );
  const row = (key, f) => [w(key), f(a), f(x)];
  table("indices", [w("index"), w("all_days"), w("excl_med")], [
    row("customer_minutes", (v) => fmt(v.customer_minutes, 0)),
    row("customer_interruptions", (v) => FL.num(v.customer_interruptions)),
    row("customers_interrupted", (v) => FL.num(v.customers_interrupted)),
    row("momentary", (v) => FL.num(v.momentary_interruptions)),
  ]);
  $("served").textContent = w("served")(rel);

  const med = rel.med;
  barChart("daily-chart", rel.daily.map((d) => ({ label: d.date.slice(5), value: d.saidi_min, cls: d.major_event_day ? "med" : "" })), {
    threshold: med.t_med_min, thresholdLabel: med.t_med_min ? `${w("t_med")} = ${fmt(med.t_med_min, 1)} ${w("min")}` : "", yUnit: w("min"),
  });
  $("med").replaceChildren(
    el("strong", {}, w("med_title")), " ",
    med.t_med_min ? `${w("t_med")} = ${fmt(med.t_med_min, 2)} ${w("min")} (α = ${fmt(med.alpha, 4)}, β = ${fmt(med.beta, 4)}). ` : "",
    el("br"),
    `${w("meds")}: `, med.major_event_days.length ? med.major_event_days.map((d) => `${d.date} (SAIDI ${fmt(d.saidi_min, 1)} ${w("min")})`).join(", ") : w("no_med"),
    el("br"),
    `${w("history")}: ${w("history_text")(med)}`,
  );

  const s = r.service;
  const compRow = (label, c) => [label, FL.num(c.outages), FL.num(c.on_site_met), FL.num(c.on_site_missed), FL.num(c.on_site_pending), FL.num(c.on_site_no_visit), pct(c.on_site_share),
    FL.num(c.restored_met), FL.num(c.restored_missed), FL.num(c.restored_pending), pct(c.restored_share)];
  const compHead = (first) => [first, w("outages"), `${w("on_site")}: ${w("met")}`, w("missed"), w("pending"), w("no_visit"), w("share"),
    `${w("restored_in")}: ${w("met")}`, w("missed"), w("pending"), w("share")];
  const shareClass = (r, i) => (i === 6 || i === 10 ? (r[i] === "—" ? "" : parseFloat(r[i]) >= 90 ? "met" : "missed") : "");
  table("by-zone", compHead(w("by_zone")), [
    ...Object.entries(s.by_zone).map(([z, c]) => compRow(w(z), c)),
    compRow(w("all_zones"), s.overall),
  ], shareClass);
  const crews = Object.entries(s.by_crew);
  table("by-crew", compHead(w("by_crew")), crews.map(([k, c]) => compRow(k === "(none)" ? w("none") : k, c)), shareClass);
  hbarChart("crew-chart", crews.filter(([k]) => k !== "(none)").map(([k, c]) => ({ label: k, c })), [
    { label: w("on_site"), cls: "met", value: (r) => r.c.on_site_share },
    { label: w("restored_in"), cls: "restored", value: (r) => r.c.restored_share },
  ]);

  const work = Object.entries(r.workload.crews);
  table("crews", [w("crew"), w("orders"), w("restored"), w("declined"), w("hours")],
    work.map(([k, c]) => [k, FL.num(c.orders), FL.num(c.restored), FL.num(c.declined), fmt(c.hours_on_orders, 1)]));
  const maxHours = Math.max(1, ...work.map(([, c]) => c.hours_on_orders));
  hbarChart("hours-chart", work.map(([k, c]) => ({ label: k, c })), [
    { label: w("hours"), cls: "restored", value: (r) => r.c.hours_on_orders },
  ], { max: maxHours, format: (v) => fmt(v, 1) });
  $("dispatchers").textContent = w("overrides")(r.workload.dispatchers);

  const c = r.calls;
  barChart("calls-chart", c.distribution.map(([label, n]) => ({ label, value: n })), { height: 260, width: 560, yUnit: w("outages") });
  table("calls-table", ["", ""], [
    [w("outages"), FL.num(c.outages)], [w("reports"), FL.num(c.reports)],
    [w("mean"), fmt(c.per_outage_mean, 2)], [w("median"), fmt(c.per_outage_median, 1)],
    [w("max"), FL.num(c.per_outage_max)], [w("without_calls"), FL.num(c.outages_without_calls)],
  ]);

  const rows = [...r.outages].sort((p, q) => q.minutes * q.customers_out - p.minutes * p.customers_out).slice(0, OUTAGE_ROWS);
  $("outages-note").textContent = w("outage_note")(rows.length, r.outages.length);
  const tgt = (t) => w(t === "no_visit" ? "no_visit" : t);
  table("outage-table", [w("id"), w("device"), w("feeder"), w("started"), w("minutes"), w("customers"), w("reports"), w("crew"), w("on_site"), w("restored_in")],
    rows.map((o) => [o.planned ? `${o.id} (${w("planned")})` : o.id, FL.short(o.device, 20), FL.short(o.feeder || "", 16), when(o.started_at),
      fmt(o.minutes, 0), FL.num(o.customers_out), FL.num(o.reports), o.crew || "—", tgt(o.on_site), tgt(o.restored)]),
    (row, i) => (i >= 8 ? ({ [w("met")]: "met", [w("missed")]: "missed", [w("pending")]: "pending" }[row[i]] || "") : ""));
  $("source").replaceChildren(...r.source.map((s) => el("li", {}, s)));
}

async function load() {
  const p = params();
  document.body.dataset.ready = "0";
  $("error").hidden = true;
  history.replaceState(null, "", `${location.pathname}?${new URLSearchParams([...p, ["lang", FL.lang]])}`);
  const csv = new URLSearchParams(p); csv.set("format", "csv"); csv.set("token", FL.token());
  $("csv").href = `/api/v1/reports?${csv}`;
  const json = new URLSearchParams(p); json.set("token", FL.token());
  $("json").href = `/api/v1/reports?${json}`;
  try {
    const resp = await FL.api(`/api/v1/reports?${p}`);
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    render(body);
    $("report").hidden = false;
    document.body.dataset.ready = "1";
  } catch (e) {
    $("error").textContent = `${w("error")}: ${e.message}`;
    $("error").hidden = false;
    $("report").hidden = true;
    document.body.dataset.ready = "error";
  }
}

document.title = `faultline — ${w("title")}`;
$("title").textContent = w("title");
document.querySelectorAll("[data-w]").forEach((e) => { e.textContent = w(e.dataset.w); });
for (const k of ["from", "to", "zone", "feeder", "utc_offset"]) {
  const v = FL.params.get(k);
  if (v) $(k).value = v;
}
$("ask").addEventListener("submit", (e) => { e.preventDefault(); load(); });
$("print").addEventListener("click", () => window.print());
if (!FL.token()) {
  $("error").textContent = FL.t("no_token");
  $("error").hidden = false;
} else {
  load();
}
