// Post an incident: a click on the map fills latitude and longitude (typing them moves the
// marker), a place found by name puts it at that town, the radius is drawn around it, and a
// pasted GeoJSON area is shown.
(function () {
  "use strict";
  var data = DispatchMap.pageData();
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var radius = document.getElementById("radius_km");
  var area = document.getElementById("area");
  var map = DispatchMap.createMap("incident-map", data.map);
  var marker = null, circle = null, shape = null;

  function number(input) {
    var value = parseFloat(String(input.value).replace(",", "."));
    return isFinite(value) ? value : null;
  }

  function drawPoint(pan) {
    var la = number(lat), lo = number(lon);
    if (la === null || lo === null || Math.abs(la) > 90 || Math.abs(lo) > 180) { return; }
    if (!marker) {
      marker = L.circleMarker([la, lo], { radius: 9, color: "#b42318", weight: 3, fillOpacity: 0.6 }).addTo(map);
      circle = L.circle([la, lo], { radius: 1000, color: "#b42318", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(map);
    }
    marker.setLatLng([la, lo]);
    circle.setLatLng([la, lo]);
    circle.setRadius((number(radius) || 10) * 1000);
    if (pan) { map.fitBounds(circle.getBounds(), { maxZoom: 13 }); }
  }

  function drawArea() {
    if (shape) { map.removeLayer(shape); shape = null; }
    if (!area.value.trim()) { return; }
    try {
      shape = L.geoJSON(JSON.parse(area.value), { style: { color: "#9a5b00", weight: 2, fillOpacity: 0.15 } }).addTo(map);
    } catch (error) { shape = null; }
  }

  // Below this zoom one pixel is hundreds of metres and a click lands kilometres off: a click
  // there zooms in where it fell (with a note) instead of placing the incident.
  var PLACING_ZOOM = 11;
  var note = document.getElementById("place-note");

  function showNote(text) {
    note.textContent = text;
    note.hidden = !text;
  }

  function place(la, lo) {
    lat.value = DispatchMap.formatNumber(data.map, la, 5);
    lon.value = DispatchMap.formatNumber(data.map, lo, 5);
    drawPoint(false);
  }

  map.on("click", function (event) {
    if (map.getZoom() < PLACING_ZOOM) {
      map.setView(event.latlng, PLACING_ZOOM + 1);
      showNote(note.getAttribute("data-zoom"));
      return;
    }
    showNote("");
    place(event.latlng.lat, event.latlng.lng);
  });

  // Find a place by name (offline gazetteer, any script): pick one and the map goes there.
  var search = document.getElementById("place-search");
  var query = document.getElementById("place-q");
  var results = document.getElementById("place-results");
  var found = [], active = -1, asked = 0, timer = null;

  function closeResults() {
    results.hidden = true;
    query.setAttribute("aria-expanded", "false");
    query.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(index) {
    var chosen = found[index];
    if (!chosen) { return; }
    closeResults();
    query.value = chosen.name;
    place(chosen.lat, chosen.lon);
    map.setView([chosen.lat, chosen.lon], PLACING_ZOOM + 1);
    showNote(note.getAttribute("data-picked").replace("{place}", chosen.name));
  }

  function highlight(index) {
    var items = results.children;
    for (var i = 0; i < items.length; i++) { items[i].setAttribute("aria-selected", i === index ? "true" : "false"); }
    active = index;
    if (items[index]) { query.setAttribute("aria-activedescendant", items[index].id); }
  }

  function show(items) {
    found = items;
    results.textContent = "";
    items.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "place-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.appendChild(document.createTextNode(item.name));
      var others = [item.names.kk, item.names.ru, item.names.en].filter(function (n, i, all) {
        return n && n !== item.name && all.indexOf(n) === i;
      });
      var detail = document.createElement("span");
      detail.className = "place-detail";
      detail.textContent = (others.length ? " · " + others.join(" · ") : "") + " (" + item.region + ")";
      option.appendChild(detail);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
      results.appendChild(option);
    });
    results.hidden = items.length === 0;
    query.setAttribute("aria-expanded", items.length ? "true" : "false");
    active = -1;
  }

  function lookUp() {
    var text = query.value.trim();
    var mine = ++asked;
    if (!text) { show([]); return; }
    fetch(data.places.url + "?q=" + encodeURIComponent(text), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) { if (mine === asked) { show(body.items || []); } })
      .catch(function () { if (mine === asked) { show([]); } });
  }

  if (search && data.places) {
    search.hidden = false;
    query.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookUp, 150);
    });
    query.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && found.length) {
        event.preventDefault();
        highlight(Math.min(active + 1, found.length - 1));
      } else if (event.key === "ArrowUp" && found.length) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        // Enter picks a place; it never submits the incident form.
        event.preventDefault();
        choose(active >= 0 ? active : 0);
      } else if (event.key === "Escape") {
        closeResults();
      }
    });
    query.addEventListener("blur", closeResults);
  }
  lat.addEventListener("change", function () { drawPoint(true); });
  lon.addEventListener("change", function () { drawPoint(true); });
  radius.addEventListener("change", function () { drawPoint(false); });
  area.addEventListener("change", drawArea);
  drawArea();
  drawPoint(true);

  var preview = document.getElementById("preview-heading");
  if (preview) { preview.focus(); }
})();
