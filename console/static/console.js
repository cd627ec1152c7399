/* The console's few behaviours (no inline script: the CSP allows scripts from this site only). */
(function () {
  "use strict";

  // Documents open inline in the page's viewer (an iframe of this site, the route allows that).
  function bindViewer() {
    var viewer = document.getElementById("viewer");
    if (!viewer) return;
    var frame = document.getElementById("viewer-frame");
    var title = document.getElementById("viewer-title");
    document.querySelectorAll(".js-view").forEach(function (button) {
      button.addEventListener("click", function () {
        viewer.hidden = false;
        title.textContent = button.getAttribute("data-title");
        frame.setAttribute("title", button.getAttribute("data-title"));
        frame.src = button.getAttribute("data-src");
        viewer.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });
  }

  // The BPMN diagram: bpmn-js's NavigatedViewer, with finished, current and failed activities marked.
  function showDiagram() {
    var container = document.getElementById("diagram");
    if (!container || !window.BpmnJS) return;
    var state = JSON.parse(document.getElementById("diagram-state").textContent);
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-xml"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (body) { return viewer.importXML(body.bpmn20Xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport");
        function mark(id, cls) { if (registry.get(id)) canvas.addMarker(id, cls); }
        state.finished.forEach(function (id) { mark(id, "lt-done"); });
        state.current.forEach(function (id) { mark(id, "lt-current"); });
        state.incidents.forEach(function (incident) {
          if (!registry.get(incident.activityId)) return;
          canvas.addMarker(incident.activityId, "lt-incident");
          var badge = document.createElement("span");
          badge.className = "lt-badge";
          badge.title = incident.message;
          badge.textContent = "!";
          overlays.add(incident.activityId, { position: { top: -10, right: 10 }, html: badge });
        });
        container.setAttribute("data-rendered", "true");
      })
      .catch(function (error) {
        document.getElementById("diagram-error").hidden = false;
        container.setAttribute("data-rendered", "error");
        if (window.console) window.console.error(error);
      });
  }

  document.addEventListener("DOMContentLoaded", function () { bindViewer(); showDiagram(); });
})();
