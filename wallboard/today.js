// The wallboard's "today" panel: SAIDI and SAIFI so far today, outages begun today and
// the share of crews on site within target, from GET /api/v1/reports (today on the
// engine's clock, in this screen's time zone), refreshed every minute.
"use strict";

(() => {
  const box = document.getElementById("fig-today");
  if (!box) return;
  const words = {
    en: { title: "Today (IEEE 1366, unplanned)", saidi: "SAIDI, min", saifi: "SAIFI", outages: "Outages", on_site: "On site in target" },
    "zh-CN": { title: "今日供电可靠性（非计划停电）", saidi: "SAIDI（分钟）", saifi: "SAIFI", outages: "停电次数", on_site: "按时到场率" },
  };
  const t = (k) => (words[FL.lang] || words.en)[k];
  const offset = (() => {
    const m = -new Date().getTimezoneOffset();
    const a = Math.abs(m);
    return `${m < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
  })();
  box.querySelector(".label").textContent = t("title");
  const cells = {};
  const row = box.querySelector(".today-row");
  for (const k of ["saidi", "saifi", "outages", "on_site"]) {
    const cell = document.createElement("div");
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = "—";
    const sub = document.createElement("div");
    sub.className = "sub";
    sub.textContent = t(k);
    cell.append(value, sub);
    row.append(cell);
    cells[k] = value;
  }
  const fixed = (x, d) => (x == null ? "—" : Number(x).toLocaleString(FL.lang, { minimumFractionDigits: d, maximumFractionDigits: d }));
  async function refresh() {
    try {
      const resp = await FL.api(`/api/v1/reports?utc_offset=${encodeURIComponent(offset)}`);
      if (!resp.ok) return;
      const r = await resp.json();
      const a = r.reliability.all_days;
      cells.saidi.textContent = fixed(a.saidi_min, 1);
      cells.saifi.textContent = fixed(a.saifi, 3);
      cells.outages.textContent = FL.num(r.reliability.outages);
      const share = r.service.overall.on_site_share;
      cells.on_site.textContent = share == null ? "—" : `${fixed(100 * share, 0)}\u00a0%`;
      box.dataset.saidi = a.saidi_min;
      box.dataset.outages = r.reliability.outages;
    } catch (e) {
      // The connection indicator already says when the server is away.
    }
  }
  refresh();
  setInterval(refresh, 60000);
})();
