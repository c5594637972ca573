/*! Converc visitor flow, loaded by the widget loader on the first click.
 * welcome → questions (one per screen, required enforced, back button) → contact → POST
 * /widget/qualify (the server checks everything again) → "ready to call" or the outcome the admin
 * chose for disqualified visitors (a message, the calendar link, or the call anyway).
 *
 * "Call now" lazy-loads <base>/static/widget/call.js and calls window.ConvercCall.start(opts):
 *   opts.mount               an empty element inside our shadow-root panel that call.js renders into
 *   opts.shadowRoot          the widget's shadow root (theme: CSS custom properties on its host:
 *                            --ic-primary --ic-bg --ic-text --ic-button --ic-button-text --ic-font --ic-radius)
 *   opts.baseUrl             the Converc server, e.g. "https://api.converc.com"
 *   opts.publicKey           the site's public key
 *   opts.fingerprint         the visitor's identity (created when the visitor first opened the widget)
 *   opts.mediaType           "video" | "audio"
 *   opts.qualificationToken  signed by POST /widget/qualify (site, flow, outcome, answers)
 *   opts.contact             {name, email, phone} as the server normalized them (null when not given)
 *   opts.attributes          Converc.setAttributes() values, utm_* parameters and pageUrl
 *   opts.pageUrl             location.href
 *   opts.copy                the theme's copy: waiting, connected, ended, unavailable, missed, calendar, …
 *   opts.calendarUrl         the calendar fallback link, or null
 *   opts.nextAvailableAt     ISO-8601 UTC time someone is next available, or null
 *   opts.theme               the theme object of /widget/config
 *   opts.recordingPolicy     the site's recording policy: "off" | "notice" | "consent"
 *   opts.recordingConsent    true when the visitor ticked the consent box (policy "consent")
 *   opts.emit(name, detail)  dispatches "converc:" + name on window (e.g. "call.accepted")
 *   opts.onClose()           call when the visitor is done: closes the panel, the flow starts afresh
 * All copy is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var CSS =
    ".q{display:block;font-weight:600;margin:0 0 10px}.req{color:#dc2626;margin-left:2px}" +
    ".hint{opacity:.75;font-size:13px}" +
    ".in{all:unset;box-sizing:border-box;display:block;width:100%;padding:10px 12px;border:1px solid rgba(0,0,0,.25);" +
    "border-radius:calc(var(--ic-radius) * .5);background:#fff;color:#111;font:15px/1.3 var(--ic-font);margin:0 0 10px}" +
    ".in:focus{outline:2px solid var(--ic-primary);outline-offset:1px}.in[aria-invalid=true]{border-color:#dc2626}" +
    "fieldset{all:unset;display:block}legend{all:unset;display:block;font-weight:600;margin:0 0 10px}" +
    ".opt{display:flex;align-items:center;gap:10px;padding:9px 12px;margin:0 0 8px;border:1px solid rgba(0,0,0,.18);" +
    "border-radius:calc(var(--ic-radius) * .5);cursor:pointer}.opt:hover{border-color:var(--ic-primary)}" +
    ".opt input{accent-color:var(--ic-primary);margin:0}" +
    ".err{color:#b91c1c;font-size:13px;margin:-4px 0 10px}" +
    ".row{display:flex;gap:8px;justify-content:space-between;align-items:center;margin-top:14px;flex-wrap:wrap}" +
    ".row .grow{flex:1}.sec{all:unset;cursor:pointer;padding:10px 4px;color:inherit;opacity:.8;font:15px var(--ic-font)}" +
    ".sec:hover{opacity:1;text-decoration:underline}.link{text-decoration:none}" +
    ".steps{font-size:12px;opacity:.7;margin:0 0 6px}.back{font-weight:600}" +
    ".rec{font-size:13px;display:flex;align-items:center;gap:6px;margin:8px 0 0}" +
    ".rec:before{content:'';width:8px;height:8px;border-radius:50%;background:#d93025;flex:none}" +
    ".opt.rec:before{display:none}" +
    "label.f{display:block;font-size:13px;font-weight:600;margin:0 0 4px}";

  function backAt(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return null;
    var time = d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    var now = new Date(), days = Math.round((new Date(d).setHours(0, 0, 0, 0) - new Date(now).setHours(0, 0, 0, 0)) / 864e5);
    if (days <= 0) return "Back at " + time;
    if (days === 1) return "Back tomorrow at " + time;
    return "Back " + d.toLocaleDateString([], days < 7 ? { weekday: "long" } : { month: "short", day: "numeric" }) + " at " + time;
  }

  function mount(ctx) {
    var h = ctx.h, c = ctx.config, copy = c.theme.copy, qs = c.flow.questions, body = ctx.body;
    var st = { answers: {}, contact: { name: "", email: "", phone: "" }, result: null, consent: false };
    ctx.addStyles(CSS);

    function show(title, kids, focus) {
      ctx.setTitle(title || copy.welcomeTitle);
      body.textContent = "";
      kids.forEach(function (k) { if (k) body.appendChild(k); });
      var target = focus || body.querySelector("input,button,a");
      if (target) ctx.focus(target);
      ctx.announce(title || "");
    }
    function p(text, cls) { return text ? h("p", { "class": cls || null, text: text }) : null; }
    function btn(text, onclick, cls) { return h("button", { type: "button", "class": cls || "btn", text: text, onclick: onclick }); }
    function submit(text) { return h("button", { type: "submit", "class": "btn", text: text }); }
    function form(kids, onsubmit) {
      return h("form", { novalidate: true, onsubmit: function (e) { e.preventDefault(); onsubmit(); } }, kids);
    }
    function calendarLink() {
      return /^https?:\/\//i.test(c.calendarUrl || "") ? h("a", { "class": "btn link", href: c.calendarUrl, target: "_blank", rel: "noopener", text: copy.calendar }) : null;
    }

    function welcome() {
      if (!c.availability.available) return unavailable();
      show(copy.welcomeTitle, [p(c.settings.welcomeText), qs.length ? p(copy.questionsHint, "hint") : null,
        h("div", { "class": "row" }, [btn(copy.start, function () { ctx.fingerprint(); question(0); })])]);
    }

    function unavailable() {
      show(copy.welcomeTitle, [p(copy.unavailable), p(backAt(c.availability.nextAvailableAt), "back"),
        h("div", { "class": "row" }, [calendarLink()])]);
    }

    function field(q, err) {
      var value = st.answers[q.id], id = "ic-q-" + q.id, errId = id + "-err", inv = err ? "true" : null;
      var req = q.required ? h("span", { "class": "req", "aria-hidden": "true", text: "*" }) : null;
      var errEl = err ? h("p", { "class": "err", id: errId, role: "alert", text: err }) : null;
      if (q.type === "text" || q.type === "number") {
        var input = h("input", { "class": "in", id: id, name: q.id, type: q.type === "number" ? "number" : "text",
          inputmode: q.type === "number" ? "decimal" : null, step: q.type === "number" ? "any" : null,
          min: q.min, max: q.max, maxlength: q.type === "text" ? 1000 : null, required: q.required,
          "aria-invalid": inv, "aria-describedby": err ? errId : null });
        if (value !== undefined && value !== null) input.value = value;
        return [h("label", { "class": "q", "for": id, text: q.label }, [req]), input, errEl];
      }
      var multi = q.type === "multi_select";
      var opts = q.options.map(function (o, i) {
        var checked = multi ? (value || []).indexOf(o.value) >= 0 : value === o.value;
        return h("label", { "class": "opt" }, [h("input", { type: multi ? "checkbox" : "radio", name: q.id, value: o.value,
          checked: checked, id: id + "-" + i }), h("span", { text: o.label })]);
      });
      return [h("fieldset", { "aria-invalid": inv, "aria-describedby": err ? errId : null, "aria-required": q.required ? "true" : null },
        [h("legend", { text: q.label }, [req])].concat(opts)), errEl];
    }

    function read(q) {
      if (q.type === "multi_select") {
        return Array.prototype.map.call(body.querySelectorAll("input:checked"), function (i) { return i.value; });
      }
      if (q.type === "single_select") { var r = body.querySelector("input:checked"); return r ? r.value : null; }
      var v = body.querySelector("input").value.trim();
      return v === "" ? null : (q.type === "number" ? Number(v) : v);
    }

    function check(q, v) {
      var empty = v === null || v === undefined || (v.length === 0);
      if (q.type === "number" && body.querySelector("input").validity.badInput) return "Enter a number.";
      if (empty) return q.required ? "This question needs an answer." : null;
      if (q.type === "number" && q.min !== null && v < q.min) return "Enter a number of at least " + q.min + ".";
      if (q.type === "number" && q.max !== null && v > q.max) return "Enter a number no greater than " + q.max + ".";
      return null;
    }

    function question(i, err) {
      if (i >= qs.length) return contact();
      var q = qs[i];
      var steps = p("Question " + (i + 1) + " of " + qs.length, "steps");
      var back = i > 0 || ctx.mode !== "embed" ? btn(copy.back, function () { st.answers[q.id] = read(q); i > 0 ? question(i - 1) : welcome(); }, "sec") : h("span");
      var f = form([steps].concat(field(q, err), [h("div", { "class": "row" }, [back, submit(copy.next)])]), function () {
        var v = read(q), e = check(q, v);
        st.answers[q.id] = v;
        e ? question(i, e) : question(i + 1);
      });
      show(copy.welcomeTitle, [f], body.querySelector("input"));
    }

    function contactInput(name, label, type, mode, auto, errors) {
      if (mode === "off") return [];
      var id = "ic-c-" + name, err = errors["contact." + name], errId = id + "-err";
      var input = h("input", { "class": "in", id: id, name: name, type: type, autocomplete: auto, required: mode === "required",
        "aria-invalid": err ? "true" : null, "aria-describedby": err ? errId : null });
      input.value = st.contact[name] || "";
      return [h("label", { "class": "f", "for": id, text: label }, [mode === "required" ? h("span", { "class": "req", "aria-hidden": "true", text: "*" }) : null]),
        input, err ? h("p", { "class": "err", id: errId, role: "alert", text: err }) : null];
    }

    function contact(errors, problem) {
      errors = errors || {};
      var s = c.settings;
      var kids = [p(copy.contactHint, "hint")]
        .concat(contactInput("name", "Name", "text", "optional", "name", errors))
        .concat(contactInput("email", "Email", "email", s.collectEmail, "email", errors))
        .concat(contactInput("phone", "Phone", "tel", s.collectPhone, "tel", errors))
        .concat([problem ? h("p", { "class": "err", role: "alert", text: problem }) : null,
          h("div", { "class": "row" }, [btn(copy.back, function () { keep(); qs.length ? question(qs.length - 1) : welcome(); }, "sec"), submit(copy.next)])]);
      show(copy.contactTitle, [form(kids, send)]);
      var bad = body.querySelector("[aria-invalid=true]");
      if (bad) ctx.focus(bad);
    }

    function keep() {
      ["name", "email", "phone"].forEach(function (n) { var el = body.querySelector("#ic-c-" + n); if (el) st.contact[n] = el.value.trim(); });
    }

    function contactErrors() {
      var errors = {}, s = c.settings;
      if (s.collectEmail === "required" && !st.contact.email) errors["contact.email"] = "Enter your email.";
      else if (s.collectEmail !== "off" && st.contact.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(st.contact.email)) errors["contact.email"] = "Enter a valid email, like name@example.com.";
      if (s.collectPhone === "required" && !st.contact.phone) errors["contact.phone"] = "Enter your phone number.";
      return errors;
    }

    function send() {
      keep();
      var errors = contactErrors();
      if (Object.keys(errors).length) return contact(errors);
      if (c.preview) return outcome(localOutcome());
      var button = body.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(ctx.baseUrl + "/widget/qualify", { method: "POST", credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify({ publicKey: ctx.publicKey, domain: ctx.domain, answers: st.answers, contact: st.contact }) })
        .then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
        .then(function (res) {
          if (res.status === 200) return outcome(res.body);
          var fields = (res.body.error || {}).fields || {};
          for (var i = 0; i < qs.length; i++) if (fields[qs[i].id]) return question(i, fields[qs[i].id]);
          contact(fields, Object.keys(fields).length ? null : (res.body.error || {}).message || "Something went wrong. Try again.");
        })["catch"](function () { contact({}, "We could not reach our server. Check your connection and try again."); });
    }

    // The dashboard preview has no visitor to check on the server: the same rules, in the browser.
    function localOutcome() {
      var out = false;
      qs.forEach(function (q) {
        var v = st.answers[q.id], chosen = Array.isArray(v) ? v : [v];
        (q.options || []).forEach(function (o) { if (o.disqualifies && chosen.indexOf(o.value) >= 0) out = true; });
      });
      var action = out ? c.flow.disqualifiedAction : "call";
      if (action === "calendar" && !c.calendarUrl) action = "message";
      return { outcome: out ? "disqualified" : "qualified", action: action, message: out ? copy.disqualified : copy.ready,
        calendarUrl: c.calendarUrl, qualificationToken: null, contact: st.contact };
    }

    function outcome(result) {
      st.result = result;
      ctx.emit("qualified", { outcome: result.outcome, action: result.action });
      if (result.action === "call" || result.action === "call_anyway") return ready();
      show(copy.welcomeTitle, [p(result.message || copy.disqualified), h("div", { "class": "row" },
        [result.action === "calendar" ? calendarLink() : null, ctx.mode === "floating" ? btn("Close", ctx.close, "sec") : null])]);
    }

    function ready() {
      if (!c.availability.available) return unavailable();
      var type = c.settings.callType;
      var buttons = type === "choice" ? [btn(copy.videoCall, function () { call("video"); }), btn(copy.audioCall, function () { call("audio"); })]
        : [btn(copy.callNow, function () { call(type); })];
      show(copy.welcomeTitle, [p(copy.ready), recordingNote(), h("div", { "class": "row" }, buttons.concat([calendarLink()]))]);
    }

    // Before "Call now": a notice that the call is recorded, or the box to agree to it.
    function recordingNote() {
      var policy = c.settings.recordingPolicy;
      if (policy === "notice") return p(copy.recordingNotice, "rec");
      if (policy !== "consent") return null;
      var box = h("input", { type: "checkbox", id: "ic-rec-consent", name: "recordingConsent", checked: st.consent,
        onchange: function () { st.consent = box.checked; } });
      return h("label", { "class": "opt rec", "for": "ic-rec-consent" }, [box, h("span", { text: copy.recordingConsent })]);
    }

    function callFailed(mountEl, message) {
      mountEl.textContent = "";
      mountEl.appendChild(p(message));
      mountEl.appendChild(h("div", { "class": "row" }, [btn(copy.back, ready, "sec"), calendarLink()]));
    }

    function call(mediaType) {
      var mountEl = h("div", { "class": "call" });
      show(copy.welcomeTitle, [mountEl]);
      if (c.preview) return callFailed(mountEl, "Preview: on your site, the call starts here (" + mediaType + ").");
      mountEl.appendChild(p(copy.waiting));
      loadCall().then(function (Call) {
        mountEl.textContent = "";
        Call.start({ mount: mountEl, shadowRoot: ctx.root, baseUrl: ctx.baseUrl, publicKey: ctx.publicKey,
          fingerprint: ctx.fingerprint(), mediaType: mediaType, qualificationToken: st.result.qualificationToken,
          contact: st.result.contact || st.contact, attributes: ctx.attributes(), pageUrl: location.href, copy: copy,
          calendarUrl: c.calendarUrl, nextAvailableAt: c.availability.nextAvailableAt, theme: c.theme, emit: ctx.emit,
          recordingPolicy: c.settings.recordingPolicy || "off",
          recordingConsent: c.settings.recordingPolicy === "consent" && st.consent,
          onClose: function () { ctx.close(); welcome(); } });
      }, function () {
        callFailed(mountEl, "Calls can't start from this page right now. Please try again later" + (c.calendarUrl ? ", or book a time." : "."));
      });
    }

    var callLoading = null;
    function loadCall() {
      if (window.ConvercCall) return Promise.resolve(window.ConvercCall);
      if (!callLoading) {
        callLoading = new Promise(function (resolve, reject) {
          var src = c.assets.call ? new URL(c.assets.call, ctx.src).href : ctx.baseUrl + "/static/widget/call.js";
          var s = h("script", { src: src, async: true, nonce: ctx.nonce || null });
          s.onload = function () { window.ConvercCall ? resolve(window.ConvercCall) : reject(new Error("call.js")); };
          s.onerror = function () { callLoading = null; reject(new Error("call.js")); };
          document.head.appendChild(s);
        });
      }
      return callLoading;
    }

    var starts = { welcome: welcome, questions: function () { if (!c.availability.available) return unavailable(); ctx.fingerprint(); question(0); },
      question: function () { question(Math.min(c.previewQuestion || 0, Math.max(qs.length - 1, 0))); }, contact: function () { contact(); }, ready: ready, unavailable: unavailable,
      disqualified: function () {
        var action = c.flow.disqualifiedAction === "calendar" && c.calendarUrl ? "calendar" : "message";
        outcome({ outcome: "disqualified", action: action, message: copy.disqualified });
      } };
    (starts[ctx.startAt] || welcome)();
  }

  window.ConvercFlow = { mount: mount, backAt: backAt };
})();
