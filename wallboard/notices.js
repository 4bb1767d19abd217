// Planned-outage notices (停电预告) on the wallboard: upcoming and active work, its
// customers and critical customers, and a late notice flagged. Folded from the
// stream's notice.* messages (each carries the whole notice); drawn in a box on the
// map panel. Plain JavaScript, loaded after faultline.js.
"use strict";

const FLNotices = (() => {
  const words = {
    en: {
      title: "Planned outages", active: "under way", scheduled: "upcoming", late: "late notice",
      planned: "planned", urgent: "urgent", until: "until", from: "from",
    },
    "zh-CN": {
      title: "停电预告", active: "正在停电", scheduled: "即将停电", late: "通知不及时",
      planned: "计划检修", urgent: "临时检修", until: "至", from: "自",
    },
  };
  const t = (k) => (words[FL.lang] || words.en)[k] ?? words.en[k] ?? k;
  const notices = new Map();
  const when = new Intl.DateTimeFormat(FL.lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });

  function fold(d) {
    if (!d || !d.id) return;
    if (d.status === "scheduled" || d.status === "active") notices.set(d.id, d);
    else notices.delete(d.id);
  }

  function clear() { notices.clear(); }

  function render() {
    const box = document.getElementById("planned");
    if (!box) return;
    const list = [...notices.values()].sort((a, b) =>
      (a.status === "active" ? 0 : 1) - (b.status === "active" ? 0 : 1) || Date.parse(a.start) - Date.parse(b.start));
    box.hidden = list.length === 0;
    box.dataset.count = String(list.length);
    if (!list.length) { box.innerHTML = ""; return; }
    box.innerHTML = `<h2>${FL.esc(t("title"))}</h2><ol>${list.slice(0, 4).map((n) => `
      <li class="${FL.esc(n.status)}${n.late ? " late" : ""}" data-id="${FL.esc(n.id)}">
        <span class="state">${FL.esc(t(n.status))} · ${FL.esc(t(n.kind))}</span>
        <span class="what"><b>${FL.esc(n.id)}</b> ${FL.esc(FL.short(n.device))}</span>
        <span class="when">${FL.esc(when.format(new Date(n.start)))} – ${FL.esc(when.format(new Date(n.end)))}</span>
        <span class="cust">${FL.customers(n.customers)}${n.critical_customers ? ` <span class="crit-badge">✚${FL.num(n.critical_customers)}</span>` : ""}</span>
        ${n.late ? `<span class="flag">⚠ ${FL.esc(t("late"))}</span>` : ""}
      </li>`).join("")}</ol>`;
  }

  return { fold, clear, render };
})();
