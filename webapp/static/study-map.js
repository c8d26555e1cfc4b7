/* The study page's map of its sites, drawn with the vendored Leaflet (vendor/leaflet/).
 * The sites come from the page's JSON block (#site-map-data), the tile server from the map's
 * data-tile-url and data-tile-attribution (TRIALSEARCH_TILE_URL, _ATTRIBUTION; an empty URL:
 * no tiles). Every site is a marker of our own (a styled div), so the map shows the sites
 * even when no tile loads. The map is hidden until this script draws it: without script, the
 * list of sites beside it says everything. No inline style or script: the page's CSP allows
 * neither, and Leaflet sets positions through the DOM's style properties, which it allows. */
(function () {
  "use strict";
  var figure = document.getElementById("site-map-figure");
  var element = document.getElementById("site-map");
  var data = document.getElementById("site-map-data");
  if (!figure || !element || !data || !window.L) {
    return;
  }
  var sites = JSON.parse(data.textContent);
  if (!sites.length) {
    return;
  }
  figure.hidden = false; // Leaflet measures its container: show it first

  // Scrolling the page over the map should scroll the page; the buttons and keys zoom.
  var map = L.map(element, {scrollWheelZoom: false});
  map.attributionControl.setPrefix('<a href="https://leafletjs.com/">Leaflet</a>');
  if (element.dataset.tileUrl) {
    L.tileLayer(element.dataset.tileUrl, {
      attribution: element.dataset.tileAttribution, maxZoom: 18
    }).addTo(map);
  }

  // A popup's text is the record's, so it goes in as text, never as HTML.
  function popup(site) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = site.label;
    box.appendChild(name);
    if (site.status) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(site.status));
    }
    return box;
  }

  var points = sites.map(function (site) {
    // Not keyboard stops: the list beside the map holds every site, in reading order.
    L.marker([site.lat, site.lon], {
      icon: L.divIcon({className: "site-marker", iconSize: [16, 16]}),
      title: site.label, keyboard: false
    }).bindPopup(popup(site)).addTo(map);
    return [site.lat, site.lon];
  });
  map.fitBounds(points, {padding: [24, 24], maxZoom: 11});
})();
