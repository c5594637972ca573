// Settings → Availability: a rep without a saved timezone starts from the browser's.
(function () {
  "use strict";
  function preselect(root) {
    root.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
      if (select.value) return;
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { preselect(document); });
  document.addEventListener("htmx:afterSwap", function (event) { preselect(event.detail.target.parentNode || document); });
})();
