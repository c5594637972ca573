// Dashboard behaviour shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]').content;

  document.addEventListener("htmx:configRequest", function (event) {
    // every htmx request carries the CSRF token, whatever element sent it
    event.detail.headers["X-CSRFToken"] = token;
  });

  if (window.htmx) {
    // 422 is how a form with errors comes back: swap it so the messages show next to the fields
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error") || document.createElement("div");
    box.id = "htmx-error";
    box.className = "error-box floating";
    box.setAttribute("role", "alert");
    box.textContent = "That did not work (" + event.detail.xhr.status + "). Reload the page and try again.";
    document.body.appendChild(box);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    var text = "value" in source ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });

  // A table or code block larger than its box scrolls inside it (narrow screens, long logs): a keyboard
  // reaches such a box only when it is a tab stop, so it becomes one while it scrolls.
  function scrollersFocusable() {
    document.querySelectorAll(".table, pre").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollStop = "1";
      } else if (!scrolls && box.dataset.scrollStop) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollStop;
      }
    });
  }
  scrollersFocusable();
  document.addEventListener("htmx:afterSettle", scrollersFocusable);
  window.addEventListener("resize", scrollersFocusable);

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
