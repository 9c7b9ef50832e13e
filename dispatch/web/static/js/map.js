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

  window.DispatchMap = { pageData: pageData, createMap: createMap, textNode: textNode };
})();
