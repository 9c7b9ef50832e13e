// Keeps every [data-live-src] region fresh: polls its URL with If-None-Match and swaps in the
// server-rendered HTML only when it changed (304 otherwise). Works behind many workers: the
// ETag is a hash of the content. The HTML is our own template's, rendered with autoescaping:
// text from users arrives in it already escaped.
(function () {
  "use strict";
  var POLL_MS = 2000;
  // Console pages load this from the layout (the safety banner) and may load it themselves too.
  if (window.dispatchLiveStarted) { return; }
  window.dispatchLiveStarted = true;

  function watch(region) {
    var url = region.getAttribute("data-live-src");
    var etag = null;
    var stopped = false;

    function poll() {
      if (stopped) { return; }
      var headers = etag ? { "If-None-Match": etag } : {};
      fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
            stopped = true;  // signed out: the next navigation asks to sign in again
            return;
          }
          if (response.status === 200) {
            etag = response.headers.get("ETag");
            return response.text().then(function (html) {
              if (region.innerHTML.trim() !== html.trim()) { region.innerHTML = html; }
            });
          }
        })
        .catch(function () { /* offline for a moment: try again on the next beat */ })
        .then(function () { if (!stopped) { window.setTimeout(poll, POLL_MS); } });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.querySelectorAll("[data-live-src]").forEach(watch);
})();
