// The live console: frames pushed over SSE, a take-over button and hotkey (space).
(() => {
  const root = document.getElementById("console");
  if (!root) return;
  const cid = +root.dataset.campaign;
  const csrf = document.body.dataset.csrf;
  const post = (url) => fetch(url, {method: "POST", headers: {"X-CSRF-Token": csrf, "content-type": "application/json"}, body: "{}"}).then(r => r.json());
  const T = JSON.parse(root.dataset.i18n);  // the page's language, translated by the server
  const fill = (s, v) => s.replace(/\{(\w+)\}/g, (_, k) => v[k]);
  const text = (tag, s) => { const e = document.createElement(tag); e.textContent = s; return e; };
  const render = (f) => {
    document.getElementById("status").textContent = T.status[f.status] || f.status;
    document.getElementById("reason").textContent = f.reason || "";
    const lines = document.getElementById("lines"); lines.replaceChildren();
    for (const l of f.lines) {
      let t = T.line[l.status] || l.status;
      if (l.status === "prompt" && l.listened !== null) t += fill(T.listened, {s: Math.round(l.listened)});
      if (l.status === "talking" && l.answer_at) t += fill(T.seconds, {s: Math.round(f.now - l.answer_at)});
      if (l.status === "dialing") t += fill(T.seconds, {s: Math.round(f.now - l.since)});
      const where = l.slot ? fill(T.slot, l) : l.box;
      lines.append(text("p", `${where} ${l.number || ""} — ${t}`));
    }
    const next = document.getElementById("next"); next.replaceChildren(...f.next.map(n => text("li", n)));
    const sims = document.getElementById("sims"); sims.replaceChildren();
    const of = (used, limit) => `${used} / ${limit ?? "∞"}`;  // usage against the SIM's limit (∞: none set)
    for (const s of f.sims) {
      const tr = document.createElement("tr");
      const signal = text("td", s.signal === null ? "—" : (s.dbm === null ? `${s.signal}` : `${s.signal}（${s.dbm} dBm）`));
      if (s.signal === null) signal.title = T.idle_sim;
      tr.append(text("td", fill(T.slot, s)), text("td", of(s.day_calls, s.max_day)), text("td", of(s.hour_calls, s.max_hour)),
                text("td", of(s.connected, s.max_connected)), text("td", of(s.talk_min, s.max_talk_min)),
                text("td", of(s.month_talk_min, s.max_month_talk_min)), signal,
                text("td", s.blocked ? T.blocked : (s.locked ? `${T.locked} ${s.reason}` : T.usable)));
      sims.append(tr);
    }
    const t = f.totals; document.getElementById("totals").textContent = fill(T.totals, {...t, agent: T.agent[f.agent] || f.agent});
  };
  const es = new EventSource(`/api/v1/dialer/live?campaign_id=${cid}`);
  es.addEventListener("frame", (e) => render(JSON.parse(e.data)));
  es.addEventListener("alert", (e) => { const a = JSON.parse(e.data); document.getElementById("alerts").prepend(text("p", a.message)); });
  const take = () => post(`/api/v1/dialer/campaigns/${cid}/takeover`).then(r => { if (!r.ok) document.getElementById("flash").textContent = r.message; });
  document.getElementById("takeover").addEventListener("click", take);
  document.getElementById("ready").addEventListener("click", () => post(`/api/v1/dialer/campaigns/${cid}/ready`));
  document.addEventListener("keydown", (e) => { if (e.code === "Space" && !["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(document.activeElement.tagName)) { e.preventDefault(); take(); } });
})();
