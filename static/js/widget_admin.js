// Widget admin pages: the live preview (the real widget, from the unsaved form) and the site picker.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  // a question form shows min/max only for numbers and options only for selects
  function syncTypes() {
    document.querySelectorAll("form [data-show-for]").forEach(function (el) {
      var type = el.closest("form").querySelector('select[name$="type"]');
      if (type) el.hidden = el.getAttribute("data-show-for").split(" ").indexOf(type.value) < 0;
    });
  }
  document.addEventListener("change", function (event) { if (/type$/.test(event.target.name || "")) syncTypes(); });
  document.body.addEventListener("htmx:afterSwap", syncTypes);
  syncTypes();

  // Leaving Settings or Theme with unsaved changes asks first (the browser's own "Leave site?"),
  // instead of losing them silently. A save that came back with errors is still unsaved.
  var unsaved = false;
  document.addEventListener("input", function (event) {
    if (event.target.form && event.target.form.hasAttribute("data-guard-unsaved")) unsaved = true;
  });
  document.addEventListener("submit", function () { unsaved = false; });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.failed && event.detail.elt.hasAttribute("data-guard-unsaved")) unsaved = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ""; }
  });

  var stage = document.getElementById("widget-preview");
  if (!stage || !window.Converc || !window.Converc.preview) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var stepButtons = document.querySelectorAll("[data-preview-step]");
  var last = null, timer = null, seq = 0;

  function draw() {
    if (!last) return;
    var config = JSON.parse(JSON.stringify(last));
    var step = currentStep();
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

  // the state shown: buttons with aria-pressed, one pressed at a time
  function currentStep() {
    var on = document.querySelector('[data-preview-step][aria-pressed="true"]');
    return on ? on.getAttribute("data-preview-step") : "welcome";
  }
  function pick(step) {
    stepButtons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-preview-step") === step)); });
  }
  stepButtons.forEach(function (b) {
    b.addEventListener("click", function () { pick(b.getAttribute("data-preview-step")); draw(); });
  });

  function post(url, form, extra) {
    var data = new FormData(form);
    for (var k in extra || {}) data.append(k, extra[k]);
    return fetch(url, { method: "POST", body: data, headers: { "X-CSRFToken": token }, credentials: "same-origin" });
  }

  // draft: a qualification question being edited, shown in the preview before it is saved
  function refresh(draft) {
    var mine = ++seq;
    var form = stage.dataset.previewForm && document.querySelector(stage.dataset.previewForm);
    var request = draft && stage.dataset.previewDraftUrl
      ? post(stage.dataset.previewDraftUrl, draft, { draft: draft.dataset.previewDraft })
      : stage.dataset.previewMethod === "post" && form
        ? post(stage.dataset.previewUrl, form)
        : fetch(stage.dataset.previewUrl, { credentials: "same-origin" });
    request.then(function (response) {
      // a form with errors keeps the last good preview; the messages come on save
      if (!response.ok || mine !== seq) return null;
      return response.json().then(function (config) { last = config; draw(); });
    });
  }

  function soon(form) {
    var draft = form && form.hasAttribute("data-preview-draft") ? form : null;
    if (draft && stepButtons.length) pick("question");
    clearTimeout(timer);
    timer = setTimeout(function () { refresh(draft); }, 250);
  }

  function edited(event) {
    if (stage.contains(event.target) || !event.target.form || event.target.form.method === "get") return;
    soon(event.target.form);
  }

  document.addEventListener("input", edited);
  document.addEventListener("change", edited);
  document.body.addEventListener("htmx:afterSwap", function () { refresh(); });
  refresh();
})();
