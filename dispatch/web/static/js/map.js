// Shared map set-up: tiles only when MAP_TILE_URL is set, and a layer of city names so the
// map is readable (and a point can be placed) with no tiles at all.
// Leaflet reads a string given to bindTooltip/bindPopup as HTML: anything that is not our own
// markup goes in as textNode(text), a DOM node whose content can only ever be text.
(function () {
  "use strict";
  function pageData() {
    var node = document.getElementById("page-data");
    return node ? JSON.parse(node.textContent) : {};
  }

  function textNode(text) {
    var node = document.createElement("span");
    node.textContent = text;
    return node;
  }

  function createMap(elementId, settings) {
    var map = L.map(elementId, { zoomSnap: 0.5 });
    if (settings.tileUrl) {
      L.tileLayer(settings.tileUrl, { attribution: settings.attribution || "", maxZoom: 19 }).addTo(map);
    }
    var cities = L.layerGroup().addTo(map);
    settings.cities.forEach(function (city) {
      L.circleMarker([city.lat, city.lon], { radius: 3, color: "#39434f", weight: 1, fillOpacity: 0.8, interactive: false })
        .bindTooltip(textNode(city.name), { permanent: true, direction: "right", className: "city-label" })
        .addTo(cities);
    });
    map.fitBounds(settings.bounds, { padding: [20, 20], maxZoom: 12 });
    return map;
  }

  // Numbers as the page's language writes them (12,5 in Russian and Kazakh): Intl where the
  // browser really knows the language, else the server's decimal sign. Chromium claims "kk"
  // but formats it with the root locale's point, so Intl must agree with the server first.
  function formatNumber(settings, value, digits) {
    var decimal = settings.decimal || ".";
    var format = window.Intl && new Intl.NumberFormat(settings.language, {
      minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
    if (format && format.format(1.5).indexOf(decimal) !== -1) { return format.format(value); }
    return Number(value).toFixed(digits).replace(".", decimal);
  }

  function formatCoordinates(settings, lat, lon, digits) {
    return (settings.coordinates || "{lat}, {lon}").replace("{lat}", formatNumber(settings, lat, digits))
      .replace("{lon}", formatNumber(settings, lon, digits));
  }

  window.DispatchMap = { pageData: pageData, createMap: createMap, formatNumber: formatNumber,
                         formatCoordinates: formatCoordinates, textNode: textNode };
})();
