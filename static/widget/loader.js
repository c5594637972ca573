/*! Converc widget loader: served as /widget.js (floating badge) and /embed.js (inline).
 * Only the loader and the badge live here; the visitor's flow (and later the call) load on the
 * first click, so a page where nobody clicks pays for this file alone. Everything renders in a
 * shadow root; copy from the dashboard is inserted as text, never as HTML. Nothing is written to
 * cookies or storage until the visitor acts. Works without document.currentScript (tag managers):
 * every <script data-ic-public-key> pointing at widget.js or embed.js is picked up once.
 */
(function () {
  "use strict";
  var W = window, D = document;
  var api = W.Converc = W.Converc || {};
  var instances = [];
  var attrs = {};
  var flowLoading = null;
  var pendingOpen = false;  // Converc.open() called before the config arrived

  var CSS =
    ":host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;" +
    "transform:none!important;filter:none!important;clip-path:none!important;pointer-events:auto!important}" +
    ":host([data-mode=floating]){position:fixed!important;z-index:2147483000!important;bottom:20px!important;" +
    "right:20px!important;left:auto!important;top:auto!important;width:auto!important;height:auto!important;margin:0!important}" +
    ":host([data-mode=floating][data-position=bottom-left]){left:20px!important;right:auto!important}" +
    ":host([data-mode=embed]){position:relative!important;width:100%!important}" +
    ":host([data-mode=preview]){position:relative!important;width:100%!important;min-height:100%!important}" +
    ".w{font-family:var(--ic-font);font-size:15px;line-height:1.45;color:var(--ic-text);-webkit-font-smoothing:antialiased}" +
    ".w *{box-sizing:border-box}" +
    ".badge{all:unset;box-sizing:border-box;display:inline-flex;align-items:center;gap:8px;cursor:pointer;" +
    "background:var(--ic-primary);color:var(--ic-button-text);padding:12px 18px;border-radius:999px;font:600 15px/1.2 var(--ic-font);" +
    "box-shadow:0 6px 20px rgba(0,0,0,.18);max-width:min(320px,calc(100vw - 40px))}" +
    ".badge:hover{filter:brightness(1.06)}.badge:focus-visible,button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid var(--ic-primary);outline-offset:2px}" +
    ".badge .l{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".dot{width:9px;height:9px;border-radius:50%;background:#22c55e;box-shadow:0 0 0 3px rgba(255,255,255,.35);flex:none}" +
    ".off .dot{background:#9ca3af}" +
    ".panel{background:var(--ic-bg);color:var(--ic-text);border-radius:var(--ic-radius);overflow:auto;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.22);display:flex;flex-direction:column}" +
    ".panel[hidden]{display:none}.panel:focus{outline:none}" +
    "[data-mode=floating] .panel,[data-mode=preview] .panel{position:absolute;bottom:62px;right:0;width:min(360px,calc(100vw - 40px));max-height:min(600px,calc(100vh - 110px))}" +
    "[data-position=bottom-left] .panel{right:auto;left:0}" +
    "[data-mode=preview] .panel{position:static;margin-bottom:12px;max-height:none}" +
    "[data-mode=embed] .panel{position:static;width:100%;box-shadow:none;border:1px solid rgba(0,0,0,.12)}" +
    "[data-mode=embed].s1 .panel{border:0;background:transparent}" +
    ".head{display:flex;align-items:center;gap:8px;padding:14px 16px;background:var(--ic-primary);color:var(--ic-button-text)}" +
    ".head h2{all:unset;flex:1;font:600 16px/1.3 var(--ic-font)}" +
    ".x{all:unset;cursor:pointer;width:28px;height:28px;border-radius:50%;text-align:center;font:20px/28px var(--ic-font)}" +
    ".x:hover{background:rgba(255,255,255,.18)}" +
    ".body{padding:16px}.body p{margin:0 0 12px}" +
    ".btn{all:unset;box-sizing:border-box;display:inline-block;cursor:pointer;text-align:center;background:var(--ic-button);" +
    "color:var(--ic-button-text);padding:10px 16px;border-radius:calc(var(--ic-radius) * .6);font:600 15px/1.2 var(--ic-font)}" +
    ".btn[disabled]{opacity:.6;cursor:default}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@media (max-width:480px){[data-mode=floating] .panel{position:fixed;inset:0;width:auto;max-height:none;border-radius:0}}";

  function h(tag, props, kids) {
    var el = D.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else if (props[k] !== null && props[k] !== undefined && props[k] !== false) el.setAttribute(k, props[k] === true ? "" : props[k]);
    }
    (kids || []).forEach(function (kid) { if (kid) el.appendChild(kid); });
    return el;
  }

  function emit(name, detail) {
    var event;
    try { event = new CustomEvent("converc:" + name, { detail: detail || {} }); }
    catch (e) { event = D.createEvent("CustomEvent"); event.initCustomEvent("converc:" + name, false, false, detail || {}); }
    W.dispatchEvent(event);
  }

  function log(level, message) {
    if (W.console && console[level]) console[level]("[Converc] " + message);
  }

  function addStyles(root, css, nonce) {
    // constructable stylesheets are not inline styles: a strict CSP (no 'unsafe-inline') allows them
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheet]);
    } catch (e) {
      root.appendChild(h("style", { nonce: nonce || null, text: css }));
    }
  }

  // The visitor's identity: created only when the visitor acts, kept in localStorage when allowed.
  var memoryFp = null;
  function fingerprint() {
    var key = "converc_fp", fp = null;
    try { fp = localStorage.getItem(key); } catch (e) { /* storage blocked */ }
    if (!fp) {
      fp = memoryFp || (W.crypto && crypto.randomUUID ? crypto.randomUUID() :
        "fp-" + Date.now().toString(36) + Math.random().toString(36).slice(2));
      try { localStorage.setItem(key, fp); } catch (e) { /* keep it for this page only */ }
    }
    memoryFp = fp;
    return fp;
  }

  function attributes() {
    var out = {}, params, k;
    try { params = new URLSearchParams(location.search); } catch (e) { params = null; }
    if (params) params.forEach(function (v, name) { if (/^utm_/.test(name)) out[name] = v.slice(0, 200); });
    for (k in attrs) out[k] = attrs[k];
    out.pageUrl = location.href;
    return out;
  }

  function loadFlow(inst) {
    if (W.ConvercFlow) return Promise.resolve(W.ConvercFlow);
    if (!flowLoading) {
      flowLoading = new Promise(function (resolve, reject) {
        var s = h("script", { src: new URL(inst.config.assets.flow, inst.src).href, async: true, nonce: inst.nonce || null });
        s.onload = function () { W.ConvercFlow ? resolve(W.ConvercFlow) : reject(new Error("flow")); };
        s.onerror = function () { flowLoading = null; reject(new Error("flow")); };
        D.head.appendChild(s);
      });
    }
    return flowLoading;
  }

  function Instance(script, mode, config) {
    this.src = script ? script.src : location.href;
    this.base = this.src.replace(/\/(widget|embed)\.js(\?.*)?$/, "");
    this.key = script ? script.getAttribute("data-ic-public-key") : "preview";
    this.nonce = script ? (script.nonce || script.getAttribute("nonce")) : null;
    this.mode = mode;
    this.config = config;
    this.opened = false;
  }

  Instance.prototype.render = function (parent, extraClass) {
    var c = this.config, t = c.theme, self = this;
    var host = this.host = h(this.mode === "floating" ? "converc-widget" : "converc-embed",
      { "data-mode": this.mode, "data-position": t.badgePosition });
    // the theme as CSS custom properties on the host: call.js and the flow style themselves from these
    var vars = { primary: t.primaryColor, bg: t.backgroundColor, text: t.textColor, button: t.buttonColor,
      "button-text": t.buttonTextColor, font: t.fontFamily, radius: t.borderRadius + "px" };
    for (var k in vars) host.style.setProperty("--ic-" + k, vars[k]);
    var root = this.root = host.attachShadow({ mode: "open" });
    addStyles(root, CSS, this.nonce);
    var offline = !c.availability.available;
    this.title = h("h2", { id: "ic-title", text: c.theme.copy.welcomeTitle });
    this.body = h("div", { "class": "body" });
    this.live = h("div", { "class": "sr", "aria-live": "polite" });
    var head = h("div", { "class": "head" }, [this.title, this.mode === "embed" ? null :
      h("button", { "class": "x", type: "button", "aria-label": "Close", text: "×", onclick: function () { self.close(); } })]);
    this.panel = h("div", { "class": "panel", role: this.mode === "embed" ? "region" : "dialog",
      "aria-labelledby": "ic-title", hidden: this.mode !== "embed", part: "panel", tabindex: "-1",
      onclick: function () { self.acted = true; } }, [head, this.body, this.live]);
    var kids = [this.panel];
    if (this.mode !== "embed") {
      this.badge = h("button", { "class": "badge" + (offline ? " off" : ""), type: "button", part: "badge",
        "aria-haspopup": "dialog", "aria-expanded": "false",
        onclick: function () { self.opened ? self.close() : self.open(true); } },
        [h("span", { "class": "dot", "aria-hidden": "true" }), h("span", { "class": "l", text: c.settings.badgeLabel })]);
      kids.push(this.badge);
    } else {
      this.facade();
    }
    root.appendChild(h("div", { "class": "w" + (extraClass ? " " + extraClass : ""), "data-mode": this.mode,
      "data-position": t.badgePosition, onkeydown: function (e) { if (e.key === "Escape" && self.mode !== "embed") self.close(); } }, kids));
    parent.appendChild(host);
  };

  // Inline embed: the welcome card is part of the loader; the flow loads when the visitor starts.
  Instance.prototype.facade = function () {
    var self = this, c = this.config;
    this.body.appendChild(h("p", { text: c.settings.welcomeText }));
    this.body.appendChild(h("button", { "class": "btn", type: "button", text: c.theme.copy.start,
      onclick: function () { self.open(true, "questions"); } }));
  };

  Instance.prototype.open = function (byVisitor, startAt) {
    var self = this;
    if (this.opened && this.mode !== "embed") return;
    if (byVisitor && !this.config.preview) fingerprint();
    // focus moves into the panel only when the visitor opened it: an auto-open must not steal it
    this.acted = this.acted || !!byVisitor;
    this.opened = true;
    this.panel.hidden = false;
    if (this.badge) this.badge.setAttribute("aria-expanded", "true");
    // the dialog takes focus at once (Escape works, screen readers announce it) until the flow
    // focuses its first control
    if (byVisitor && this.mode === "floating") this.panel.focus();
    if (!this.mounted) {
      this.body.textContent = "";
      this.body.appendChild(h("p", { role: "status", text: "Loading…" }));
      loadFlow(this).then(function (flow) {
        self.mounted = true;
        flow.mount(self.context(startAt));
      }, function () {
        self.body.textContent = "";
        self.body.appendChild(h("p", { role: "alert", text: "This could not load. Check your connection and try again." }));
      });
    }
    emit("opened", { publicKey: this.key });
  };

  Instance.prototype.close = function () {
    if (!this.opened || this.mode === "embed") return;
    this.opened = false;
    this.panel.hidden = true;
    if (this.badge) { this.badge.setAttribute("aria-expanded", "false"); this.badge.focus(); }
    emit("closed", { publicKey: this.key });
  };

  Instance.prototype.context = function (startAt) {
    var self = this;
    return {
      h: h, root: this.root, host: this.host, panel: this.panel, body: this.body, config: this.config,
      baseUrl: this.base, src: this.src, publicKey: this.key, nonce: this.nonce, mode: this.mode,
      startAt: startAt || this.config.previewStep || "welcome", domain: location.hostname,
      fingerprint: function () { return self.config.preview ? "preview" : fingerprint(); },
      attributes: attributes, emit: emit, addStyles: function (css) { addStyles(self.root, css, self.nonce); },
      focus: function (el) { if (self.mode !== "preview" && (self.acted || self.root.activeElement)) el.focus(); },
      setTitle: function (text) { self.title.textContent = text; },
      announce: function (text) { self.live.textContent = text; },
      close: function () { self.close(); }
    };
  };

  function whenBody(fn) {
    if (D.body) fn(); else D.addEventListener("DOMContentLoaded", fn);
  }

  function start(script) {
    var embed = /\/embed\.js(\?|#|$)/.test(script.src);
    var key = script.getAttribute("data-ic-public-key");
    var base = script.src.replace(/\/(widget|embed)\.js(\?.*)?$/, "");
    var url = base + "/widget/config?public_key=" + encodeURIComponent(key) + "&domain=" + encodeURIComponent(location.hostname);
    fetch(url, { credentials: "omit" }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }).then(function (res) {
      if (!res.ok) {
        log("error", "widget not shown: " + ((res.body.error || {}).message || "HTTP " + res.status));
        return emit("ready", { visible: false, reason: (res.body.error || {}).code });
      }
      show(script, embed, res.body);
    })["catch"](function (e) { log("error", "widget not shown: could not reach " + base + " (" + e.message + ")"); });
  }

  function show(script, embed, config) {
    var reason = !config.show ? "country" : (!config.availability.available && config.settings.hideWhenUnavailable ? "unavailable" : null);
    if (reason) {
      log("info", reason === "country" ? "widget hidden: not shown in this visitor's country" : "widget hidden: nobody is available and Hide when unavailable is on");
      return emit("ready", { visible: false, reason: reason });
    }
    whenBody(function () {
      var inst = new Instance(script, embed ? "embed" : "floating", config);
      if (embed) {
        var id = script.getAttribute("data-ic-container") || "ic-embed";
        var container = D.getElementById(id);
        if (!container) return log("error", "embed not shown: no element with id \"" + id + "\" on this page (data-ic-container)");
        inst.render(container, "s" + (script.getAttribute("data-ic-embed-style") || "0"));
      } else {
        inst.render(D.body);
      }
      instances.push(inst);
      emit("ready", { visible: true, available: config.availability.available, mode: inst.mode });
      if (pendingOpen) { pendingOpen = false; inst.open(true); }
      else if (!embed && config.settings.openOnLoad) inst.open(false);
    });
  }

  function target() {
    for (var i = 0; i < instances.length; i++) if (instances[i].mode === "floating") return instances[i];
    return instances[0];
  }

  // The host page's API: its own button can open the widget; attributes travel with the visitor.
  api.open = function () { var t = target(); if (t) t.open(true); else pendingOpen = true; };
  api.close = function () { var t = target(); if (t) t.close(); };
  api.setAttributes = function (values) {
    for (var k in values || {}) {
      var v = values[k];
      if (v === null || /^(string|number|boolean)$/.test(typeof v)) attrs[String(k).slice(0, 60)] = typeof v === "string" ? v.slice(0, 500) : v;
    }
  };
  // The dashboard's live preview renders the real widget from an unsaved config.
  api.preview = function (container, config) {
    container.textContent = "";
    var inst = new Instance(null, "preview", config);
    inst.render(container);
    inst.open(false, config.previewStep);
    return inst;
  };

  var scripts = D.querySelectorAll("script[data-ic-public-key]");
  for (var i = 0; i < scripts.length; i++) {
    var s = scripts[i];
    if (s.getAttribute("data-ic-started") || !/\/(widget|embed)\.js(\?|#|$)/.test(s.src)) continue;
    s.setAttribute("data-ic-started", "1");
    start(s);
  }
})();
