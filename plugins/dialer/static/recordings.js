// 外呼语音: record a prompt in the browser (MediaRecorder), preview it, upload it like a file.
(() => {
  const box = document.getElementById("recorder");
  if (!box) return;
  const csrf = document.body.dataset.csrf, form = document.getElementById("upload-form");
  const start = document.getElementById("rec-start"), stop = document.getElementById("rec-stop");
  const send = document.getElementById("rec-upload"), preview = document.getElementById("rec-preview");
  const state = document.getElementById("rec-state");
  const MAX_S = +box.dataset.maxSeconds || 60;
  const TYPES = [["audio/webm;codecs=opus", "webm"], ["audio/ogg;codecs=opus", "ogg"], ["audio/webm", "webm"], ["audio/mp4", "m4a"]];
  let recorder = null, chunks = [], blob = null, ext = "webm", timer = null, began = 0, url = null;

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
    start.disabled = true;
    state.textContent = "此浏览器不支持录音（需要 HTTPS 或 localhost）/ recording needs a browser with MediaRecorder over HTTPS";
    return;
  }

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: true, noiseSuppression: true}});
    } catch (e) {
      state.textContent = "无法使用麦克风 / microphone not available: " + e.message;
      return;
    }
    const found = TYPES.find(([t]) => MediaRecorder.isTypeSupported(t));
    recorder = found ? new MediaRecorder(stream, {mimeType: found[0]}) : new MediaRecorder(stream);
    ext = found ? found[1] : "webm";
    chunks = [];
    recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      clearInterval(timer);
      blob = new Blob(chunks, {type: recorder.mimeType || "audio/webm"});
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      preview.src = url;
      preview.hidden = false;
      send.disabled = false;
      start.disabled = false;
      stop.disabled = true;
      state.textContent = `录好了 ${((Date.now() - began) / 1000).toFixed(1)} 秒，可试听后上传 / recorded, preview then upload`;
    });
    recorder.start(250);
    began = Date.now();
    start.disabled = true;
    stop.disabled = false;
    send.disabled = true;
    timer = setInterval(() => {
      const s = (Date.now() - began) / 1000;
      state.textContent = `录音中… ${s.toFixed(0)} / ${MAX_S} 秒`;
      if (s >= MAX_S) recorder.stop();
    }, 250);
  });

  stop.addEventListener("click", () => { if (recorder && recorder.state !== "inactive") recorder.stop(); });

  send.addEventListener("click", async () => {
    if (!blob) return;
    const name = form.elements.name.value.trim();
    if (!name) { state.textContent = "请填写语音名称 / the recording needs a name"; form.elements.name.focus(); return; }
    const body = new FormData();
    body.append("name", name);
    body.append("handover_s", form.elements.handover_s.value || "0");
    body.append("shared", form.elements.shared.checked ? "true" : "false");
    body.append("file", blob, `录音.${ext}`);
    send.disabled = true;
    state.textContent = "上传中… / uploading…";
    const r = await fetch("/api/v1/dialer/recordings", {method: "POST", headers: {"X-CSRF-Token": csrf}, body});
    if (r.ok) { window.location.href = "/dialer/recordings"; return; }
    let msg = r.statusText;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    state.textContent = msg;
    send.disabled = false;
  });
})();
