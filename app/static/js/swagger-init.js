/* Swagger UI of /api/v1 (FAB's bundle); the spec URL comes from the page (no inline script). */
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false
  });

  /* Accessibility of what Swagger UI renders (it keeps re-rendering, so on every change):
     an operation's button is named by what it shows (Swagger's aria-label differs from the
     visible text), and every select gets a name. */
  var label = node.getAttribute("data-select-label") || "select";
  function mend() {
    var buttons = node.querySelectorAll(".opblock-summary-control[aria-label]");
    for (var i = 0; i < buttons.length; i += 1) { buttons[i].removeAttribute("aria-label"); }
    var selects = node.querySelectorAll("select:not([aria-label])");
    for (var j = 0; j < selects.length; j += 1) {
      var near = selects[j].closest("label, .servers, .content-type-wrapper, .response-control-media-type");
      var text = near && near.textContent ? near.textContent.trim().split("\n")[0] : "";
      selects[j].setAttribute("aria-label", text || label);
    }
  }
  new MutationObserver(mend).observe(node, { childList: true, subtree: true });
}());
