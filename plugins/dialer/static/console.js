// The live console: frames pushed over SSE, a take-over button and hotkey (space).
(() => {
  const root = document.getElementById("console");
  if (!root) return;
  const cid = +root.dataset.campaign;
  const csrf = document.body.dataset.csrf;
  const post = (url) => fetch(url, {method: "POST", headers: {"X-CSRF-Token": csrf, "content-type": "application/json"}, body: "{}"}).then(r => r.json());
  const labels = {idle: "空闲", dialing: "拨号/振铃", answered: "已接通", prompt: "放音中", talking: "通话中", down: "设备离线"};
  const text = (tag, s) => { const e = document.createElement(tag); e.textContent = s; return e; };
  const render = (f) => {
    document.getElementById("status").textContent = f.status;
    document.getElementById("reason").textContent = f.reason || "";
    const lines = document.getElementById("lines"); lines.replaceChildren();
    for (const l of f.lines) {
      let t = labels[l.status] || l.status;
      if (l.status === "prompt" && l.listened !== null) t += `，已听 ${Math.round(l.listened)} 秒`;
      if (l.status === "talking" && l.answer_at) t += ` ${Math.round(f.now - l.answer_at)} 秒`;
      if (l.status === "dialing") t += ` ${Math.round(f.now - l.since)} 秒`;
      lines.append(text("p", `${l.box} ${l.sim || ""} ${l.number || ""} — ${t}`));
    }
    const next = document.getElementById("next"); next.replaceChildren(...f.next.map(n => text("li", n)));
    const sims = document.getElementById("sims"); sims.replaceChildren();
    for (const s of f.sims) {
      const tr = document.createElement("tr");
      tr.append(text("td", s.key), text("td", `${s.day_calls}/${s.max_day ?? "∞"}`), text("td", `${s.hour_calls}/${s.max_hour ?? "∞"}`),
                text("td", s.signal ?? "—"), text("td", s.blocked ? "疑似封停" : (s.locked ? "冷却中 " + s.reason : "可用")));
      sims.append(tr);
    }
    const t = f.totals; document.getElementById("totals").textContent = `已拨 ${t.dials} · 接通 ${t.answered} · 有效 ${t.effective} · 放弃 ${t.abandoned} · 销售 ${f.agent}`;
  };
  const es = new EventSource(`/api/v1/dialer/live?campaign_id=${cid}`);
  es.addEventListener("frame", (e) => render(JSON.parse(e.data)));
  es.addEventListener("alert", (e) => { const a = JSON.parse(e.data); document.getElementById("alerts").prepend(text("p", a.message)); });
  const take = () => post(`/api/v1/dialer/campaigns/${cid}/takeover`).then(r => { if (!r.ok) document.getElementById("flash").textContent = r.message; });
  document.getElementById("takeover").addEventListener("click", take);
  document.getElementById("ready").addEventListener("click", () => post(`/api/v1/dialer/campaigns/${cid}/ready`));
  document.addEventListener("keydown", (e) => { if (e.code === "Space" && !["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(document.activeElement.tagName)) { e.preventDefault(); take(); } });
})();
