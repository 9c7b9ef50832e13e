// The public board: polls /status.json with If-None-Match (a 304 costs nothing) and redraws
// the list and the map only when the content changed. No reload, no personal data.
(function () {
  "use strict";
  var data = DispatchMap.pageData();
  var strings = {};
  document.getElementById("strings").content.querySelectorAll("[data-key]").forEach(function (node) {
    strings[node.getAttribute("data-key")] = node.textContent;
  });
  var list = document.getElementById("incident-list");
  var count = document.getElementById("open-count");
  var note = document.getElementById("live-note");
  var map = DispatchMap.createMap("status-map", data.map);
  var markers = L.layerGroup().addTo(map);
  var colours = { dispatching: "#0b5cad", staffed: "#1f7a3a", unfilled: "#b42318" };
  // Plural categories only ("one", "few"...): the wording itself is the app's (see public.py).
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(data.language) : null;
  var etag = null;
  var lastIds = "";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // "5 minutes ago", as the server wrote it on the first paint (dispatch/web/public.py: ago).
  function ago(iso) {
    var minutes = Math.round((Date.now() - Date.parse(iso)) / 60000);
    if (!(minutes >= 1)) { return data.ago.now; }
    var unit = "minute", count = minutes;
    if (minutes >= 48 * 60) { unit = "day"; count = Math.round(minutes / 1440); }
    else if (minutes >= 60) { unit = "hour"; count = Math.round(minutes / 60); }
    var patterns = data.ago[unit];
    var pattern = (plural && patterns[plural.select(count)]) || patterns.other || patterns[Object.keys(patterns)[0]];
    return pattern.replace("{0}", String(count));
  }

  function needRow(need) {
    var name = need.skill ? (data.skills[need.skill] || need.skill) : strings.any;
    var row = el("div", "need");
    row.appendChild(el("span", "need-label", name));
    var bar = el("progress");
    bar.max = need.count; bar.value = need.filled;
    bar.setAttribute("aria-label", name);
    row.appendChild(bar);
    row.appendChild(el("span", "need-count", strings.of.replace("111", need.filled).replace("222", need.count)));
    return row;
  }

  function card(incident) {
    var item = el("li", "card");
    item.setAttribute("data-incident", incident.id);
    var kicker = el("p", "card-kicker");
    kicker.appendChild(el("span", "kind", strings["kind." + incident.kind] || incident.kind));
    kicker.appendChild(document.createTextNode(" · "));
    kicker.appendChild(el("span", "badge status-" + incident.status, data.labels[incident.status] || incident.status));
    kicker.appendChild(document.createTextNode(" · "));
    kicker.appendChild(el("span", "severity", data.labels[incident.severity] || incident.severity));
    if (incident.drill) {
      kicker.appendChild(document.createTextNode(" · "));
      kicker.appendChild(el("span", "badge drill", strings.drill));
    }
    item.appendChild(kicker);
    item.appendChild(el("h3", "card-title", incident.title));
    var where = incident.place || DispatchMap.formatCoordinates(data.map, incident.approximate_location.lat,
                                                                incident.approximate_location.lon, 2);
    var meta = el("p", "muted", where + " · ");
    var time = el("time", "ago", ago(incident.created_at));
    time.setAttribute("datetime", incident.created_at);
    meta.appendChild(time);
    item.appendChild(meta);
    incident.needs.forEach(function (need) { item.appendChild(needRow(need)); });
    return item;
  }

  function draw(status) {
    list.replaceChildren();
    markers.clearLayers();
    if (!status.incidents.length) { list.appendChild(el("li", "empty", strings.none)); }
    var points = [];
    status.incidents.forEach(function (incident) {
      list.appendChild(card(incident));
      var at = [incident.approximate_location.lat, incident.approximate_location.lon];
      points.push(at);
      L.circleMarker(at, { radius: 10, color: colours[incident.status] || "#444", weight: 2, fillOpacity: 0.5 })
        .bindTooltip(DispatchMap.textNode(incident.title)).addTo(markers);
    });
    count.textContent = status.incidents.length;
    var ids = status.incidents.map(function (i) { return i.id; }).join(",");
    if (ids !== lastIds && points.length) { map.fitBounds(points, { padding: [40, 40], maxZoom: 11 }); }
    lastIds = ids;
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch("/status.json", { headers: headers, cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) { note.textContent = strings.updated + " " + new Date().toLocaleTimeString(data.language); return; }
        if (!response.ok) { throw new Error(String(response.status)); }
        etag = response.headers.get("ETag");
        return response.json().then(function (status) {
          draw(status);
          note.textContent = strings.updated + " " + new Date().toLocaleTimeString(data.language);
        });
      })
      .catch(function () { note.textContent = strings.offline; })
      .then(function () { window.setTimeout(poll, data.pollMs); });
  }

  function refreshTimes() {
    document.querySelectorAll("time.ago").forEach(function (node) { node.textContent = ago(node.getAttribute("datetime")); });
  }

  poll();
  window.setInterval(refreshTimes, 30000);
})();
