// faultline pages: what every page (the wallboard, the console, the crew page, the
// lookup, the callbacks and the report) loads first and shares. The token, the API,
// the live stream (with since= resume), the language, escaping text for markup
// (FL.esc), and the network map drawn from GET /api/v1/network. Plain JavaScript,
// nothing fetched from the internet, no inline script (the pages' Content-Security-
// Policy allows only scripts served from the site).
"use strict";

const FL = {};

// ---- language ------------------------------------------------------------------
FL.params = new URLSearchParams(location.search);
FL.lang = (FL.params.get("lang") || localStorage.getItem("faultline.lang") || navigator.language || "en")
  .toLowerCase().startsWith("zh") ? "zh-CN" : "en";
if (FL.params.get("lang")) localStorage.setItem("faultline.lang", FL.lang);
document.documentElement.lang = FL.lang;

FL.words = {
  en: {
    centre: "Repair dispatch centre", live: "live", reconnecting: "reconnecting…",
    updated: "updated", ago: "ago", s: "s", min: "min", h: "h",
    active_outages: "Active outages", customers_out: "Customers out",
    critical_out: "Critical customers out", reports_10: "Reports / 10 min",
    on_time: "On site within target today", crews: "Crews",
    available: "available", assigned: "assigned", en_route: "en route", on_site: "on site",
    off_shift: "off shift", no_response: "no response", orders_at_risk: "Orders by risk of missing the target",
    no_orders: "No open orders", ticker_empty: "Waiting for events…",
    energised: "energised", dark: "dark (out)", restoring: "restoring (crew on site)",
    predicted: "predicted", confirmed: "confirmed", restored: "restored", cancelled: "cancelled",
    critical: "critical customer", crew: "crew", depot: "depot", escalation: "Escalation",
    level: "level", late: "late", left: "left", awaiting_crew: "awaiting crew",
    to_site: "on site by", to_restore: "restore by",
    created: "created", acknowledged: "acknowledged", closed: "closed", declined: "declined",
    cannot_restore: "cannot restore", outage_new: "new outage", outage_restored: "power restored",
    outage_cancelled: "prediction withdrawn", outage_updated: "outage updated",
    order_new: "new order", order_updated: "order", crew_updated: "crew",
    customers: "customers", no_token: "This page needs a token: open it with ?token=…",
    token_refused: "The token was refused: open the page with a valid ?token=…",
    legend: "Legend", outage: "outage", trend: "2 h trend",
  },
  "zh-CN": {
    centre: "抢修指挥中心", live: "实时", reconnecting: "正在重新连接…",
    updated: "更新于", ago: "前", s: "秒", min: "分钟", h: "小时",
    active_outages: "当前停电", customers_out: "停电用户",
    critical_out: "重要用户停电", reports_10: "报修 / 10 分钟",
    on_time: "今日按时到达现场", crews: "抢修队伍",
    available: "空闲", assigned: "已派工", en_route: "在途", on_site: "在现场",
    off_shift: "下班", no_response: "无应答", orders_at_risk: "工单（按超时风险排序）",
    no_orders: "没有未完成工单", ticker_empty: "等待事件…",
    energised: "带电", dark: "停电区段", restoring: "抢修中（队伍在现场）",
    predicted: "研判", confirmed: "已确认", restored: "已复电", cancelled: "已撤销",
    critical: "重要用户", crew: "队伍", depot: "驻点", escalation: "督办级别",
    level: "级", late: "超时", left: "剩余", awaiting_crew: "待派队伍",
    to_site: "到达时限", to_restore: "复电时限",
    created: "已创建", acknowledged: "已接单", closed: "已关闭", declined: "已拒绝",
    cannot_restore: "无法复电", outage_new: "新停电", outage_restored: "已复电",
    outage_cancelled: "研判撤销", outage_updated: "停电更新",
    order_new: "新工单", order_updated: "工单", crew_updated: "队伍",
    customers: "户", no_token: "此页面需要令牌：请用 ?token=… 打开",
    token_refused: "令牌无效：请用有效的 ?token=… 打开",
    legend: "图例", outage: "停电", trend: "2 小时趋势",
  },
};
FL.t = (key) => (FL.words[FL.lang][key] ?? FL.words.en[key] ?? key);

// ---- text into markup -------------------------------------------------------------
/// A value made safe to put into HTML or SVG markup, as element text or inside a
/// quoted attribute. Every value that came from the network file, an event or the API
/// goes through this before it meets innerHTML (a crew named "<img onerror=…>" must
/// show as those characters on every screen, not run); text set with textContent or
/// setAttribute needs nothing. The one escaping function of every page.
FL.esc = (() => {
  const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return (v) => String(v ?? "").replace(/[&<>"']/g, (c) => entities[c]);
})();
/// "212 customers" / "1 customer" / "212 户".
FL.customers = (n) => `${FL.num(n)} ${n === 1 && FL.lang === "en" ? "customer" : FL.t("customers")}`;
/// A device id short enough for a line of text (some GIS ids are 64-character hashes).
FL.short = (id, max = 22) => (id && id.length > max ? `${id.slice(0, max - 1)}…` : id || "");
FL.num = (n) => (n == null ? "—" : Number(n).toLocaleString(FL.lang));
FL.dateFmt = new Intl.DateTimeFormat(FL.lang, { year: "numeric", month: "long", day: "numeric", weekday: "long" });
FL.timeFmt = new Intl.DateTimeFormat(FL.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
FL.shortTime = new Intl.DateTimeFormat(FL.lang, { hour: "2-digit", minute: "2-digit", hour12: false });

// ---- clock: the server's, measured from heartbeats (a wallboard PC's may be off) --
FL.skewMs = 0;
FL.now = () => Date.now() + FL.skewMs;

/// "12:05" style duration for a countdown (ms; negative = late).
FL.duration = (ms) => {
  const m = Math.floor(Math.abs(ms) / 60000);
  if (m >= 120) {
    const h = Math.floor(m / 60), mm = String(m % 60).padStart(2, "0");
    return FL.lang === "zh-CN" ? `${h}时${mm}分` : `${h}h${mm}`;
  }
  const s = Math.floor(Math.abs(ms) / 1000) % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
};

/// "5 s", "3 min", "2 h" for an age.
FL.age = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} ${FL.t("s")}`;
  if (s < 5400) return `${Math.round(s / 60)} ${FL.t("min")}`;
  return `${Math.round(s / 3600)} ${FL.t("h")}`;
};

// ---- token and API ---------------------------------------------------------------
FL.token = () => {
  const fromUrl = FL.params.get("token");
  if (fromUrl) localStorage.setItem("faultline.token", fromUrl);
  return fromUrl || localStorage.getItem("faultline.token") || "";
};

FL.api = async (path, options = {}) => {
  const headers = Object.assign({ Authorization: `Bearer ${FL.token()}` }, options.headers || {});
  const resp = await fetch(path, Object.assign({}, options, { headers }));
  if (resp.status === 401) throw Object.assign(new Error(FL.t("token_refused")), { status: 401 });
  return resp;
};

FL.postEvent = async (event) => {
  const resp = await FL.api("/api/v1/events", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(event),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw Object.assign(new Error(body.error || resp.statusText), { status: resp.status });
  return body;
};

// ---- the live stream ------------------------------------------------------------
/// What the stream has done (read by the browser tests and shown nowhere).
FL.stats = { applied: 0, gaps: 0, connects: 0, seq: 0 };

/// Follows /api/v1/stream, resuming with since= after any drop or server restart.
/// handlers: message(m, live), live(seq), reset(), status(connected, lastHeardMs)
FL.Stream = class {
  constructor(handlers) {
    this.h = handlers;
    this.seq = 0;
    this.live = false;
    this.connected = false;
    this.lastHeard = 0;
    this.backoff = 500;
    this.connect();
  }
  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const url = `${proto}://${location.host}/api/v1/stream?since=${this.seq}&token=${encodeURIComponent(FL.token())}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.connected = true; this.backoff = 500; this.live = false; FL.stats.connects++; this.status(); };
    ws.onmessage = (e) => {
      this.lastHeard = Date.now();
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (m.type === "heartbeat") {
        if (m.at) FL.skewMs = Date.parse(m.at) - Date.now();
        this.seq = Math.max(this.seq, m.seq || 0);
      } else if (m.type === "stream.live") {
        this.seq = Math.max(this.seq, m.seq || 0);
        this.live = true;
        this.h.live && this.h.live(this.seq);
      } else if (m.type === "stream.reset") {
        this.seq = 0;
        FL.stats.applied = 0;
        this.h.reset && this.h.reset();
      } else if (typeof m.seq === "number") {
        if (m.seq <= this.seq) return; // already applied
        // A crew's stream skips messages about others; only a full stream can see a gap.
        if (m.seq !== this.seq + 1 && !this.h.filtered) FL.stats.gaps++;
        this.seq = m.seq;
        FL.stats.applied++;
        FL.stats.seq = m.seq;
        this.h.message(m, this.live);
      }
      this.status();
    };
    ws.onclose = () => {
      this.connected = false;
      this.live = false;
      this.status();
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 8000);
    };
    ws.onerror = () => ws.close();
  }
  status() { this.h.status && this.h.status(this.connected, this.lastHeard); }
};

// ---- the network map -------------------------------------------------------------
/// Draws /api/v1/network into an <svg>: lines grouped by the device above them, so
/// darkening an outage's section is a class change on a few paths.
FL.NetworkMap = class {
  constructor(svg, net) {
    this.svg = svg;
    this.net = net;
    const [x0, y0, x1, y1] = net.bbox;
    this.kx = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
    const w = Math.max((x1 - x0) * this.kx, 1e-9), h = Math.max(y1 - y0, 1e-9);
    this.scale = 10000 / Math.max(w, h);
    this.full = [0, 0, w * this.scale, h * this.scale];
    this.x0 = x0; this.y1 = y1;
    // The view: where most of the network is (1st to 99th percentile of its points,
    // so one long line to a far substation does not shrink the city to a dot),
    // widened to take in whatever must be seen (see fit).
    const xs = [], ys = [];
    for (const line of net.lines) for (let i = 0; i < line.c.length; i += 2) {
      const [x, y] = this.xy(line.c[i], line.c[i + 1]);
      xs.push(x); ys.push(y);
    }
    xs.sort((a, b) => a - b); ys.sort((a, b) => a - b);
    const q = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : 0);
    const core = [q(xs, 0.01), q(ys, 0.01), q(xs, 0.99), q(ys, 0.99)];
    const area = (b) => Math.max(b[2] - b[0], 1) * Math.max(b[3] - b[1], 1);
    // Crop only where a few far points would shrink the rest to a small part of the view.
    this.core = area(core) * 3 < area(this.full) ? core : this.full;
    this.fit([]);
    this.children = net.devices.map(() => []);
    net.devices.forEach((d, i) => { if (d.parent != null) this.children[d.parent].push(i); });
    this.byId = new Map(net.devices.map((d, i) => [d.id, i]));
    const ns = "http://www.w3.org/2000/svg";
    this.ns = ns;
    this.gLines = this.el("g", { class: "lines" });
    this.gLayer = this.el("g", { class: "overlay" });
    svg.append(this.gLines, this.gLayer);
    // One path per device (the lines below it up to the next device).
    const parts = new Map();
    for (const line of net.lines) {
      const key = line.device == null ? -1 : line.device;
      let d = "";
      for (let i = 0; i < line.c.length; i += 2) {
        const [x, y] = this.xy(line.c[i], line.c[i + 1]);
        d += `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
      }
      parts.set(key, (parts.get(key) || "") + d);
    }
    this.paths = new Map();
    for (const [key, d] of parts) {
      const p = this.el("path", { d, class: "line" });
      this.gLines.append(p);
      this.paths.set(key, p);
    }
    this.darkSet = new Set();
  }
  /// Show the network's core and every one of `points` ([x, y] in map units).
  fit(points) {
    let [x0, y0, x1, y1] = this.core;
    for (const [x, y] of points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
    const pad = Math.max(x1 - x0, y1 - y0, 1) * 0.04;
    this.vb = [x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad].map((v) => Math.round(v));
    const attr = this.vb.join(" ");
    if (this.svg.getAttribute("viewBox") !== attr) this.svg.setAttribute("viewBox", attr);
  }
  el(tag, attrs) {
    const e = document.createElementNS(this.ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  xy(lon, lat) {
    return [(lon - this.x0) * this.kx * this.scale, (this.y1 - lat) * this.scale];
  }
  /// viewBox units per CSS pixel (for markers that keep their size on screen).
  unit() {
    const r = this.svg.getBoundingClientRect();
    if (!r.width || !r.height) return 10;
    return Math.max(this.vb[2] / r.width, this.vb[3] / r.height);
  }
  /// The device indexes at and below a device id.
  below(id) {
    const start = this.byId.get(id);
    if (start == null) return [];
    const out = [], stack = [start];
    while (stack.length) { const i = stack.pop(); out.push(i); stack.push(...this.children[i]); }
    return out;
  }
  /// Colour sections: state per device index ("dark" | "restoring").
  shade(stateByDevice) {
    for (const [i, p] of this.paths) {
      const s = stateByDevice.get(i);
      p.setAttribute("class", s ? `line ${s}` : "line");
    }
    // Dark sections on top.
    for (const [i, p] of this.paths) if (stateByDevice.has(i)) this.gLines.append(p);
  }
  clearOverlay() { this.gLayer.replaceChildren(); }
};

/// Animate a number in an element towards a value (numbers change smoothly).
FL.tween = (el, value, format = FL.num) => {
  const from = Number(el.dataset.value ?? value);
  el.dataset.value = value;
  if (from === value || value == null || !isFinite(from)) { el.textContent = format(value); return; }
  const t0 = performance.now(), dur = 700;
  const step = (t) => {
    const k = Math.min(1, (t - t0) / dur);
    el.textContent = format(Math.round(from + (value - from) * (1 - Math.pow(1 - k, 3))));
    if (k < 1 && Number(el.dataset.value) === value) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
};

/// A short pulse that draws the eye once.
FL.pulse = (el) => {
  el.classList.remove("pulse");
  void el.getBoundingClientRect();
  el.classList.add("pulse");
};
