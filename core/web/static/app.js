// Every htmx request carries the session's CSRF token (checked by the server on unsafe methods).
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.body.dataset.csrf;
  if (token) event.detail.headers["X-CSRF-Token"] = token;
});
// Show an error returned to an htmx request in the flash area instead of swapping it away.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && !event.detail.xhr.getResponseHeader("HX-Retarget")) {
    event.detail.shouldSwap = true;
    event.detail.target = document.getElementById("flash");
  }
});
