// Widget admin pages: the live preview (the real widget, from the unsaved form) and the site picker.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  var stage = document.getElementById("widget-preview");
  if (!stage || !window.Converc || !window.Converc.preview) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var stepSelect = document.getElementById("preview-step");
  var last = null, timer = null, seq = 0;

  function draw() {
    if (!last) return;
    var config = JSON.parse(JSON.stringify(last));
    var step = stepSelect ? stepSelect.value : "welcome";
    config.previewStep = step;
    if (step === "unavailable") config.availability.available = false;
    if (step === "unavailable" && config.previewHideWhenUnavailable) {
      stage.textContent = "";
      var note = document.createElement("p");
      note.className = "muted";
      note.textContent = "Hidden: nobody is available and \u201cHide the badge when no one is available\u201d is on.";
      stage.appendChild(note);
      return;
    }
    window.Converc.preview(stage, config);
  }

  function refresh() {
    var mine = ++seq;
    var form = stage.dataset.previewForm && document.querySelector(stage.dataset.previewForm);
    var request = stage.dataset.previewMethod === "post" && form
      ? fetch(stage.dataset.previewUrl, { method: "POST", body: new FormData(form), headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      : fetch(stage.dataset.previewUrl, { credentials: "same-origin" });
    request.then(function (response) {
      // a form with errors keeps the last good preview; the messages come on save
      if (!response.ok || mine !== seq) return null;
      return response.json().then(function (config) { last = config; draw(); });
    });
  }

  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 250); }

  document.addEventListener("input", function (event) { if (!stage.contains(event.target) && event.target.form) soon(); });
  document.addEventListener("change", function (event) {
    if (event.target === stepSelect) draw();
    else if (!stage.contains(event.target) && event.target.form) soon();
  });
  document.body.addEventListener("htmx:afterSwap", refresh);
  refresh();
})();
