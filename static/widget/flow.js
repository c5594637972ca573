/*! Converc visitor flow, loaded by the widget loader on the first click.
 * welcome → questions (one per screen, required enforced, back button) → contact → POST
 * /widget/qualify (the server checks everything again) → "ready to call" or the outcome the admin
 * chose for disqualified visitors (a message, the calendar link, leave details, or the call anyway).
 * Never a dead end: nobody available, nobody answering, too many requests or "leave details" all
 * lead to the details screen (POST /widget/callbacks), which says exactly what happens next.
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
 *   opts.leaveDetails(o)     shows the details screen; o = {callId, reason} after a missed call
 *   opts.focus(el)           moves focus to el when the visitor is in the widget (never steals it)
 *   opts.announce(text)      says text once in the widget's live region
 *   opts.backAt(iso)         "Back at 9:00 AM" in the widget's language
 * opts.copy is the widget's language catalogue (GET /widget/strings/<lang>.json) with the admin's
 * copy for that language on top. ConvercCall.start returns {active(), confirmEnd(onKeep), end(why), …}:
 * closing the panel asks before ending a live call; Converc.close() and removal of the widget end it;
 * leaving the page keeps it for CALL_REJOIN_SECONDS, so a reload or another page of the site rejoins it
 * (opts.rejoin, from the loader's sessionStorage check) and a closed tab ends it when that runs out.
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
    ".sec:hover{opacity:1;text-decoration:underline}.link{text-decoration:none}.sec:focus-visible{outline:3px solid var(--ic-primary)}" +
    ".steps{font-size:12px;opacity:.7;margin:0 0 6px}.back{font-weight:600}" +
    ".rec{font-size:13px;display:flex;align-items:center;gap:6px;margin:8px 0 0}" +
    ".rec:before{content:'';width:8px;height:8px;border-radius:50%;background:#d93025;flex:none}" +
    ".opt.rec:before{display:none}" +
    "label.f{display:block;font-size:13px;font-weight:600;margin:0 0 4px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".opt:has(input:focus-visible){outline:2px solid var(--ic-primary);outline-offset:1px}" +
    "textarea.in{min-height:64px;resize:vertical}";

  var RTL = { ar: 1, he: 1, fa: 1, ur: 1 };

  // The widget's language: the site's default, or the visitor's browser when the site follows it.
  function pickLanguage(c) {
    var lang = c.language || {}, have = lang.available || ["en"], wanted = [];
    if (lang.followBrowser) wanted = (navigator.languages || [navigator.language || ""]).slice();
    wanted.push(lang.default || "en");
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (have.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (m, name) { return values && name in values ? values[name] : m; });
  }

  function backAt(iso, strings, lang) {
    var d = new Date(iso), t = strings || {};
    if (!iso || isNaN(d.getTime())) return null;
    var locale = lang ? [lang] : [];
    var time = d.toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit" });
    var now = new Date(), days = Math.round((new Date(d).setHours(0, 0, 0, 0) - new Date(now).setHours(0, 0, 0, 0)) / 864e5);
    if (days <= 0) return fill(t["flow.backToday"] || "Back at {time}", { time: time });
    if (days === 1) return fill(t["flow.backTomorrow"] || "Back tomorrow at {time}", { time: time });
    var day = d.toLocaleDateString(locale, days < 7 ? { weekday: "long" } : { month: "short", day: "numeric" });
    return fill(t["flow.backOn"] || "Back {day} at {time}", { day: day, time: time });
  }

  // What this page lets a call use, found before a call is offered: the page's Permissions-Policy
  // (camera=(), microphone=()) and the devices the browser has (kinds only; no prompt, no labels).
  function mediaCapabilities() {
    var policy = document.permissionsPolicy || document.featurePolicy;
    function allowed(feature) { try { return !policy || policy.allowsFeature(feature); } catch (e) { return true; } }
    var caps = { audio: allowed("microphone"), video: allowed("camera"), policy: true };
    caps.policy = caps.audio;  // false: the page forbids the microphone (not a missing device)
    var md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) return Promise.resolve({ audio: false, video: false, policy: false });
    if (!md.enumerateDevices) return Promise.resolve(caps);
    return md.enumerateDevices().then(function (list) {
      var kinds = list.map(function (d) { return d.kind; });
      return { audio: caps.audio && kinds.indexOf("audioinput") >= 0, video: caps.video && kinds.indexOf("videoinput") >= 0,
        policy: caps.policy };
    }, function () { return caps; });
  }

  function loadStrings(ctx, lang) {
    var c = ctx.config, overrides = (c.theme.copyOverrides || {})[lang] || {};
    var version = (c.assets && c.assets.strings) || "";
    return fetch(ctx.baseUrl + "/widget/strings/" + lang + ".json" + (version ? "?v=" + version : ""), { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (catalogue) {
        for (var k in overrides) if (overrides[k]) catalogue[k] = overrides[k];
        return catalogue;
      }, function () {
        // the catalogue did not load: the config's copy (the site's default language) still reads well
        return c.theme.copy;
      });
  }

  function mount(ctx) {
    var lang = ctx.lang || pickLanguage(ctx.config);  // the loader's choice, when it made one
    var ready = Promise.all([loadStrings(ctx, lang), ctx.config.preview ? Promise.resolve({ audio: true, video: true, policy: true })
      : mediaCapabilities()]);
    return ready.then(function (r) { return run(ctx, lang, r[0], r[1]); });
  }

  function run(ctx, lang, strings, caps) {
    var h = ctx.h, c = ctx.config, copy = strings, qs = c.flow.questions, body = ctx.body;
    var st = { answers: {}, contact: { name: "", email: "", phone: "" }, result: null, consent: false, step: null };
    var callHandle = null;
    ctx.addStyles(CSS);
    ctx.host.setAttribute("lang", lang);
    ctx.host.setAttribute("dir", RTL[lang] ? "rtl" : "ltr");
    function t(key, values) { return fill(copy[key] === undefined ? key : copy[key], values); }
    // the live region speaks each step once, then empties (so it never doubles the text on screen)
    var say = ctx.announce, quiet = null;
    ctx.announce = function (text) {
      say(text);
      clearTimeout(quiet);
      quiet = setTimeout(function () { say(""); }, 1000);
    };

    // A call never outlives its UI: × / Escape ask first; Converc.close() and removal end it.
    if (ctx.guard) ctx.guard(function (by) {
      if (!callHandle || !callHandle.active()) return true;
      if (by === "visitor") return !callHandle.confirmEnd();
      callHandle.end(by === "page" ? "api" : by);
      callHandle = null;
      welcome();  // the next open starts afresh, not on a dead call screen
      return true;
    });

    // The widget left the page (a body swap the loader undoes, or for good): the call ends with it.
    function ended(why) {
      return function () {
        if (!callHandle) return;
        var handle = callHandle;
        callHandle = null;
        handle.end(why);
        welcome();
      };
    }
    if (ctx.on) { ctx.on("detached", ended("removed")); ctx.on("teardown", ended("removed")); }

    /** Render a screen: the title, its parts, then focus on its first field (or its heading) and
     * one announcement that names this step. */
    function show(title, kids, opts) {
      opts = opts || {};
      ctx.setTitle(title || copy.welcomeTitle);
      body.textContent = "";
      kids.forEach(function (k) { if (k) body.appendChild(k); });
      var target = body.querySelector("[aria-invalid=true]") || (opts.focus ? body.querySelector(opts.focus) : null);
      if (!target && ctx.heading) { ctx.heading.tabIndex = -1; target = ctx.heading; }
      if (target) ctx.focus(target);
      // focus on the new screen makes a screen reader read it; otherwise the live region says it
      if (ctx.mode !== "preview" && (!target || ctx.root.activeElement !== target)) ctx.announce([title || copy.welcomeTitle, opts.say].filter(Boolean).join(". "));
      screen(opts.screen || "welcome");
    }
    // The step on screen, for the organization's custom scripts (their ctx.screen, ctx.contact, ctx.call).
    function screen(name) {
      if (ctx.screen) ctx.screen(name, { contact: st.result && st.result.contact || null, call: st.call || null });
    }
    // What call.js says happens to the call: scripts see the call, and its end is the "ended" step.
    function callEvent(name, detail) {
      ctx.emit(name, detail);
      if (!/^call\./.test(name) || !detail || !detail.callId) return;
      st.call = { id: detail.callId, status: name === "call.ended" ? detail.status || "ended" : name.slice(5),
        mediaType: (st.call && st.call.mediaType) || detail.mediaType || null };
      if (name === "call.ended") screen("ended");
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
    function requiredMark() {
      return [h("span", { "class": "req", "aria-hidden": "true", text: "*" }), h("span", { "class": "sr", text: " (" + t("required") + ")" })];
    }

    function welcome() {
      if (!c.availability.available) return unavailable();
      if (!caps.audio) return noCall();
      show(copy.welcomeTitle, [p(c.settings.welcomeText), qs.length ? p(copy.questionsHint, "hint") : null,
        h("div", { "class": "row" }, [btn(copy.start, function () { precheck(function () { question(0); }); })])],
      { say: c.settings.welcomeText, focus: "button", screen: "welcome" });
    }

    // Before the visitor answers anything: may this visitor request a call now (the call limits)?
    function precheck(next) {
      if (c.preview) return next();
      fetch(ctx.baseUrl + "/widget/qualify", { method: "POST", credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify({ publicKey: ctx.publicKey, domain: ctx.domain, fingerprint: ctx.fingerprint(), check: true }) })
        .then(function (r) { return r.json(); })
        .then(function (b) { b && b.callAllowed === false ? details({ reason: "rate_limited", message: copy.rateLimited }) : next(); },
          function () { next(); });
    }

    function unavailable() {
      var back = backAt(c.availability.nextAvailableAt, copy, lang);
      show(copy.welcomeTitle, [p(copy.unavailable), p(back, "back"),
        h("div", { "class": "row" }, [btn(t("flow.leaveDetailsButton"), function () { details({ reason: "no_one_available" }); }),
          calendarLink()])], { say: copy.unavailable, screen: "unavailable" });
    }

    // The page forbids the microphone (Permissions-Policy) or the device has none: said before the
    // visitor answers anything; the visitor can still leave details (the team hears of the lead) or book.
    function noCall() {
      var why = t(caps.policy ? "flow.noCallDevice" : "flow.noCall");
      if (ctx.log) ctx.log("info", caps.policy ? "calls hidden: this device has no microphone"
        : "calls hidden: this page's Permissions-Policy does not allow the microphone (allow microphone=(self) and camera=(self))");
      ctx.emit("call.unavailable", { reason: caps.policy ? "no_microphone" : "permissions_policy" });
      show(copy.welcomeTitle, [p(why), h("div", { "class": "row" }, [
        btn(t("flow.leaveDetailsButton"), function () { details({}); }), calendarLink()])], { say: why, focus: "button" });
    }

    // Leave your details: name, email or phone, when to call, a note. The server stores the lead
    // with the visitor's answers; the reply says exactly who will call and when.
    var WINDOWS = ["asap", "today", "tomorrow", "this_week"];
    function details(o, errors, problem) {
      o = o || {}; errors = errors || {};
      var sel = h("select", { "class": "in", id: "ic-cb-window", name: "window" }, WINDOWS.map(function (w) {
        return h("option", { value: w, text: t("flow.window." + w), selected: (st.window || "asap") === w });
      }));
      var note = h("textarea", { "class": "in", id: "ic-cb-note", name: "note", maxlength: 1000 });
      note.value = st.note || "";
      var kids = [p(o.message || copy.leaveDetails, "hint")]
        .concat(contactInput("name", "text", "optional", "name", errors))
        .concat(contactInput("email", "email", "optional", "email", errors))
        .concat(contactInput("phone", "tel", "optional", "tel", errors))
        .concat([h("label", { "class": "f", "for": "ic-cb-window", text: t("flow.when") }), sel,
          errors.window ? h("p", { "class": "err", role: "alert", text: errors.window }) : null,
          h("label", { "class": "f", "for": "ic-cb-note", text: t("flow.note") }), note,
          errors.note ? h("p", { "class": "err", role: "alert", text: errors.note }) : null,
          problem ? h("p", { "class": "err", role: "alert", text: problem }) : null,
          h("div", { "class": "row" }, [ctx.mode === "floating" ? btn(t("close"), ctx.close, "sec") : h("span"), submit(t("flow.send"))])]);
      show(copy.leaveDetails, [form(kids, function () { sendDetails(o); })], { focus: "input,select,textarea", screen: "details" });
    }

    function sendDetails(o) {
      keep();
      st.window = body.querySelector("#ic-cb-window").value;
      st.note = body.querySelector("#ic-cb-note").value;
      if (!st.contact.email && !st.contact.phone) return details(o, { "contact.email": t("flow.emailOrPhone") });
      if (c.preview) return show(copy.welcomeTitle, [p(copy.callbackThanks)], { screen: "details" });
      var button = body.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(ctx.baseUrl + "/widget/callbacks", { method: "POST", credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify({ publicKey: ctx.publicKey, fingerprint: ctx.fingerprint(), callId: o.callId || null,
          reason: o.reason === "no_one_available" ? "no_one_available" : null,
          qualificationToken: st.result ? st.result.qualificationToken : null, contact: st.contact,
          window: st.window, note: st.note, attributes: ctx.attributes(), pageUrl: location.href }) })
        .then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
        .then(function (res) {
          if (res.status === 201) {
            ctx.emit("callback.requested", { callbackId: res.body.callback.id });
            return show(copy.welcomeTitle, [p(res.body.message || copy.callbackThanks), p(res.body.next, "hint"),
              h("div", { "class": "row" }, [ctx.mode === "floating" ? btn(t("close"), ctx.close, "sec") : null])], { screen: "details" });
          }
          var err = res.body.error || {};
          details(o, err.fields || {}, err.fields ? null : err.message || t("flow.somethingWrong"));
        })["catch"](function () { details(o, {}, t("flow.unreachable")); });
    }

    function field(q, err) {
      var value = st.answers[q.id], id = "ic-q-" + q.id, errId = id + "-err", inv = err ? "true" : null;
      var req = q.required ? requiredMark() : [];
      var errEl = err ? h("p", { "class": "err", id: errId, role: "alert", text: err }) : null;
      if (q.type === "text" || q.type === "number") {
        var input = h("input", { "class": "in", id: id, name: q.id, type: q.type === "number" ? "number" : "text",
          inputmode: q.type === "number" ? "decimal" : null, step: q.type === "number" ? "any" : null,
          min: q.min, max: q.max, maxlength: q.type === "text" ? 1000 : null, required: q.required,
          "aria-invalid": inv, "aria-describedby": err ? errId : null });
        if (value !== undefined && value !== null) input.value = value;
        return [h("label", { "class": "q", "for": id, text: q.label }, req), input, errEl];
      }
      var multi = q.type === "multi_select";
      var opts = q.options.map(function (o, i) {
        var checked = multi ? (value || []).indexOf(o.value) >= 0 : value === o.value;
        return h("label", { "class": "opt" }, [h("input", { type: multi ? "checkbox" : "radio", name: q.id, value: o.value,
          checked: checked, id: id + "-" + i, "aria-invalid": multi ? null : inv }), h("span", { text: o.label })]);
      });
      // aria-required belongs on a radiogroup, not on a plain group of checkboxes
      return [h("fieldset", { role: multi ? null : "radiogroup", "aria-describedby": err ? errId : null,
        "aria-required": !multi && q.required ? "true" : null },
        [h("legend", { text: q.label }, req)].concat(opts)), errEl];
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
      if (q.type === "number" && body.querySelector("input").validity.badInput) return t("flow.enterNumber");
      if (empty) return q.required ? t("flow.needsAnswer") : null;
      if (q.type === "number" && q.min !== null && v < q.min) return t("flow.atLeast", { min: q.min });
      if (q.type === "number" && q.max !== null && v > q.max) return t("flow.atMost", { max: q.max });
      return null;
    }

    function question(i, err) {
      if (i >= qs.length) return contact();
      var q = qs[i], stepText = t("flow.step", { n: i + 1, total: qs.length });
      var steps = h("p", { "class": "steps", id: "ic-steps", text: stepText });
      var back = i > 0 || ctx.mode !== "embed" ? btn(copy.back, function () { st.answers[q.id] = read(q); i > 0 ? question(i - 1) : welcome(); }, "sec") : h("span");
      var f = form([steps].concat(field(q, err), [h("div", { "class": "row" }, [back, submit(copy.next)])]), function () {
        var v = read(q), e = check(q, v);
        st.answers[q.id] = v;
        e ? question(i, e) : question(i + 1);
      });
      // the field's description names the step, so focus on it says "Question 2 of 3" too
      var described = f.querySelector("fieldset,input");
      described.setAttribute("aria-describedby", ["ic-steps", described.getAttribute("aria-describedby")].filter(Boolean).join(" "));
      show(copy.welcomeTitle, [f], { focus: "input,textarea,select", say: [stepText, q.label, err].filter(Boolean).join(". "), screen: "question" });
    }

    function contactInput(name, type, mode, auto, errors) {
      if (mode === "off") return [];
      var id = "ic-c-" + name, err = errors["contact." + name], errId = id + "-err";
      var input = h("input", { "class": "in", id: id, name: name, type: type, autocomplete: auto, required: mode === "required",
        "aria-invalid": err ? "true" : null, "aria-describedby": err ? errId : null });
      input.value = st.contact[name] || "";
      return [h("label", { "class": "f", "for": id, text: t("flow." + name) }, mode === "required" ? requiredMark() : []),
        input, err ? h("p", { "class": "err", id: errId, role: "alert", text: err }) : null];
    }

    function contact(errors, problem) {
      errors = errors || {};
      var s = c.settings, said = [copy.contactHint].concat(Object.keys(errors).map(function (k) { return errors[k]; }), [problem]);
      var kids = [p(copy.contactHint, "hint")]
        .concat(contactInput("name", "text", "optional", "name", errors))
        .concat(contactInput("email", "email", s.collectEmail, "email", errors))
        .concat(contactInput("phone", "tel", s.collectPhone, "tel", errors))
        .concat([problem ? h("p", { "class": "err", role: "alert", text: problem }) : null,
          h("div", { "class": "row" }, [btn(copy.back, function () { keep(); qs.length ? question(qs.length - 1) : welcome(); }, "sec"), submit(copy.next)])]);
      show(copy.contactTitle, [form(kids, send)], { focus: "input,textarea,select", say: said.filter(Boolean).join(". "), screen: "contact" });
    }

    function keep() {
      ["name", "email", "phone"].forEach(function (n) { var el = body.querySelector("#ic-c-" + n); if (el) st.contact[n] = el.value.trim(); });
    }

    function contactErrors() {
      var errors = {}, s = c.settings;
      if (s.collectEmail === "required" && !st.contact.email) errors["contact.email"] = t("flow.enterEmail");
      else if (s.collectEmail !== "off" && st.contact.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(st.contact.email)) errors["contact.email"] = t("flow.validEmail");
      if (s.collectPhone === "required" && !st.contact.phone) errors["contact.phone"] = t("flow.enterPhone");
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
        body: JSON.stringify({ publicKey: ctx.publicKey, domain: ctx.domain, answers: st.answers, contact: st.contact,
          fingerprint: ctx.fingerprint(), attributes: ctx.attributes(), language: lang }) })
        .then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
        .then(function (res) {
          if (res.status === 200) return outcome(res.body);
          var fields = (res.body.error || {}).fields || {};
          for (var i = 0; i < qs.length; i++) if (fields[qs[i].id]) return question(i, fields[qs[i].id]);
          contact(fields, Object.keys(fields).length ? null : (res.body.error || {}).message || t("flow.somethingWrong"));
        })["catch"](function () { contact({}, t("flow.unreachable")); });
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
      if (result.action === "leave_details") return details({ reason: result.reason, message: result.message });
      var message = result.message || copy.disqualified;
      show(copy.welcomeTitle, [p(message), h("div", { "class": "row" },
        [result.action === "calendar" ? calendarLink() : null, ctx.mode === "floating" ? btn(t("close"), ctx.close, "sec") : null])],
      { say: message, screen: "disqualified" });
    }

    function ready() {
      if (!c.availability.available) return unavailable(st.result);
      if (!caps.audio) return noCall();
      var type = c.settings.callType;
      if (!caps.video && type !== "audio") type = "audio-only";  // the page or device has no camera
      var buttons = type === "choice" ? [btn(copy.videoCall, function () { call("video"); }), btn(copy.audioCall, function () { call("audio"); })]
        : [btn(type === "audio-only" ? copy.audioCall : copy.callNow, function () { call(type === "video" ? "video" : "audio"); })];
      show(copy.welcomeTitle, [p(copy.ready), type === "audio-only" ? p(t("flow.noCamera"), "hint") : null, recordingNote(),
        h("div", { "class": "row" }, buttons.concat([calendarLink()]))], { say: copy.ready, screen: "ready" });
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
      mountEl.appendChild(h("p", { role: "alert", text: message }));
      mountEl.appendChild(h("div", { "class": "row" }, [btn(copy.back, ready, "sec"),
        c.preview ? null : btn(t("flow.leaveDetailsButton"), function () { details({}); }), calendarLink()]));
    }

    function call(mediaType, checked, rejoin) {
      // the loader asks the server again just before a call: a rep may have left since the page loaded
      if (!checked && ctx.recheck && !c.preview) return ctx.recheck().then(function () { c.availability.available ? call(mediaType, true) : unavailable(); });
      var mountEl = h("div", { "class": "call" });
      st.call = null;
      show(copy.welcomeTitle, [mountEl], { screen: "call" });
      if (c.preview) return callFailed(mountEl, t("flow.preview", { media: mediaType }));
      mountEl.appendChild(p(copy.waiting));
      loadCall().then(function (Call) {
        mountEl.textContent = "";
        callHandle = Call.start({ mount: mountEl, shadowRoot: ctx.root, baseUrl: ctx.baseUrl, publicKey: ctx.publicKey,
          fingerprint: ctx.fingerprint(), mediaType: mediaType, rejoin: rejoin || null,
          qualificationToken: st.result ? st.result.qualificationToken : null,
          contact: st.result ? st.result.contact || st.contact : st.contact, attributes: ctx.attributes(), pageUrl: location.href, copy: copy,
          calendarUrl: c.calendarUrl, nextAvailableAt: c.availability.nextAvailableAt, theme: c.theme, emit: callEvent,
          recordingPolicy: c.settings.recordingPolicy || "off",
          recordingConsent: c.settings.recordingPolicy === "consent" && st.consent,
          focus: ctx.focus, announce: ctx.announce, backAt: function (iso) { return backAt(iso, copy, lang); },
          leaveDetails: function (o) { details(o); },
          onClose: function () { callHandle = null; ctx.close(); welcome(); } });
      }, function (e) {
        if (ctx.log) ctx.log("error", "call.js did not load: " + e.message);
        ctx.emit("call.failed", { code: "script_failed", reason: "script_failed" });
        callFailed(mountEl, t(c.calendarUrl ? "flow.callScriptFailedCalendar" : "flow.callScriptFailed"));
      });
    }

    // The dashboard's preview of a call state: call.js draws it, with nothing requested or recorded.
    function previewCall(state) {
      var mountEl = h("div", { "class": "call" });
      show(copy.welcomeTitle, [mountEl], { screen: "call" });
      loadCall().then(function (Call) {
        callHandle = Call.preview({ mount: mountEl, shadowRoot: ctx.root, copy: copy, theme: c.theme,
          mediaType: c.settings.callType === "audio" ? "audio" : "video", calendarUrl: c.calendarUrl,
          nextAvailableAt: c.availability.nextAvailableAt, recordingPolicy: c.settings.recordingPolicy || "off",
          focus: ctx.focus, announce: function () {}, emit: function () {}, backAt: function (iso) { return backAt(iso, copy, lang); },
          leaveDetails: function (o) { details(o); }, onClose: function () { callHandle = null; welcome(); } }, state);
      }, function () { callFailed(mountEl, t("flow.callScriptFailed")); });
    }

    var callLoading = null;
    function loadCall() {
      if (window.ConvercCall) return Promise.resolve(window.ConvercCall);
      if (!callLoading) {
        var src = c.assets.call ? new URL(c.assets.call, ctx.src).href : ctx.baseUrl + "/static/widget/call.js";
        callLoading = (ctx.loadScript ? ctx.loadScript(src) : plainLoad(src)).then(function () {
          if (!window.ConvercCall) throw new Error("call.js ran but defined nothing");
          return window.ConvercCall;
        }, function (e) { callLoading = null; throw e; });
      }
      return callLoading;
    }

    function plainLoad(src) {
      return new Promise(function (resolve, reject) {
        var s = h("script", { async: true, nonce: ctx.nonce || null });
        s.src = src;
        s.onload = resolve;
        s.onerror = function () { reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }

    var starts = { welcome: welcome, questions: function () { if (!c.availability.available) return unavailable(); if (!caps.audio) return noCall(); ctx.fingerprint(); question(0); },
      question: function () { question(Math.min(c.previewQuestion || 0, Math.max(qs.length - 1, 0))); }, contact: function () { contact(); }, ready: ready, unavailable: unavailable,
      details: function () { details({}); },
      // the visitor's call from before a reload (or on another page of the site): straight back to it
      rejoin: function () { call(ctx.rejoin.mediaType, true, ctx.rejoin); },
      disqualified: function () {
        var action = c.flow.disqualifiedAction === "calendar" && c.calendarUrl ? "calendar" : "message";
        outcome({ outcome: "disqualified", action: action, message: copy.disqualified });
      } };
    // the call's states are drawn without a call only in the dashboard's preview
    if (c.preview) ["ringing", "in_call", "ended", "missed"].forEach(function (state) { starts[state] = function () { previewCall(state); }; });
    (starts[ctx.startAt] || welcome)();
  }

  window.ConvercFlow = { mount: mount, backAt: backAt, pickLanguage: pickLanguage };
})();
