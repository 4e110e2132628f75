// The web dial pad (号码直拨).
(() => {
  const f = document.getElementById("dialpad"), out = document.getElementById("dial-state"), csrf = document.body.dataset.csrf;
  const T = JSON.parse(out.dataset.i18n);  // the page's language, translated by the server
  const customer = f.dataset.customer ? +f.dataset.customer : null;
  f.querySelectorAll(".key").forEach(b => b.addEventListener("click", () => { document.getElementById("number").value += b.dataset.k; }));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(f));
    const body = {number: d.number, call_type: d.call_type, customer_id: customer,
                  device_id: d.device_id ? +d.device_id : null, slot: d.slot ? +d.slot : null, recording_id: d.recording_id ? +d.recording_id : null};
    const r = await fetch("/api/v1/dialer/dial", {method: "POST", headers: {"X-CSRF-Token": csrf, "content-type": "application/json"}, body: JSON.stringify(body)});
    const j = await r.json(); out.textContent = r.ok ? T.dialing.replace("{id}", j.call_id) : j.error;
  });
  document.getElementById("hangup").addEventListener("click", () => fetch("/api/v1/dialer/dial/hangup", {method: "POST", headers: {"X-CSRF-Token": csrf}}).then(() => out.textContent = T.hungup));
  const es = new EventSource("/api/v1/dialer/live");
  es.addEventListener("frame", (e) => { const m = JSON.parse(e.data); if (m.kind === "direct" && T.events[m.event]) out.textContent = T.events[m.event]; });
})();
