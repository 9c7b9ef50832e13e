// Post an incident: a click on the map fills latitude and longitude (typing them moves the
// marker), the radius is drawn around it, and a pasted GeoJSON area is shown.
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

  map.on("click", function (event) {
    lat.value = DispatchMap.formatNumber(data.map, event.latlng.lat, 5);
    lon.value = DispatchMap.formatNumber(data.map, event.latlng.lng, 5);
    drawPoint(false);
  });
  lat.addEventListener("change", function () { drawPoint(true); });
  lon.addEventListener("change", function () { drawPoint(true); });
  radius.addEventListener("change", function () { drawPoint(false); });
  area.addEventListener("change", drawArea);
  drawArea();
  drawPoint(true);

  var preview = document.getElementById("preview-heading");
  if (preview) { preview.focus(); }
})();
