// The organization's custom scripts on this dashboard page (static/widget/custom_scripts.js runs
// them). The page is the screen: htmx swapping the page's content is the screen changing (teardown
// before, a fresh run after); leaving the page tears everything down.
(function () {
  "use strict";
  var data = document.getElementById("converc-scripts-data");
  if (!data || !window.ConvercScripts) return;
  var page = JSON.parse(data.textContent);
  var runtime = ConvercScripts.dashboard(page);
  runtime.show(page.screen, { site: page.site, call: page.call, contact: page.contact });

  var swapping = false;
  function inContent(event) {
    var target = event.detail && event.detail.target, content = document.querySelector("main.content");
    return !!(target && content && (content === target || content.contains(target) || target.contains(content)));
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.shouldSwap && inContent(event)) { swapping = true; runtime.stop(); }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (swapping) { swapping = false; runtime.rerun(); }
  });
  window.addEventListener("pagehide", function () { runtime.stop(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) runtime.rerun(); });
})();
