// The incident page's map: the exact point, the current alert radius and the area, if any.
(function () {
  "use strict";
  var data = DispatchMap.pageData();
  var incident = data.incident;
  var map = DispatchMap.createMap("incident-map", data.map);
  var where = [incident.lat, incident.lon];
  L.circleMarker(where, { radius: 9, color: "#b42318", weight: 3, fillOpacity: 0.6 }).addTo(map);
  var circle = L.circle(where, { radius: incident.radius_km * 1000, color: "#b42318", weight: 1, fillOpacity: 0.05 }).addTo(map);
  var bounds = circle.getBounds();
  if (incident.area) {
    var area = L.geoJSON(incident.area, { style: { color: "#9a5b00", weight: 2, fillOpacity: 0.15 } }).addTo(map);
    area.getLayers().forEach(function (layer) { layer.getElement && layer.getElement() && layer.getElement().setAttribute("data-area", ""); });
    bounds = bounds.extend(area.getBounds());
  }
  map.fitBounds(bounds, { maxZoom: 13 });
})();
