//# allFunctionsCalledOnLoad
/*! Converc widget loader: served as /widget.js (floating badge) and /embed.js (inline).
 * Only the loader and the badge live here; the visitor's flow (and later the call) load on the
 * first click, so a page where nobody clicks pays for this file alone. Everything renders in a
 * shadow root; copy from the dashboard is inserted as text, never as HTML. Nothing is written to
 * cookies or storage until the visitor acts (a page's own Converc.open() without a click is not the
 * visitor acting). Works without document.currentScript (tag managers): every
 * <script data-ic-public-key> pointing at widget.js or embed.js is picked up once.
 *
 * One runtime per page: the first copy to run becomes window.Converc (taking over the calls queued
 * by the README's stub); any later copy (the snippet twice, widget.js + embed.js, a tag manager
 * plus a hard-coded tag, an SPA re-running it) only hands new tags to it. One floating badge per
 * page, one embed per container, one config request per public key. The badge comes back after the
 * page swaps its body, and availability is re-checked while the page is visible.
 *
 * The first line is V8's compile hint (kept when served): Chromium compiles every function on a
 * background thread while the file streams in, instead of on the page's main thread at the first
 * call of each (the badge calls a good share of them before it shows).
 */
(function () {
  "use strict";
  var W = window, D = document;
  var stub = W.Converc;
  if (stub && stub._runtime) return stub._runtime.scan();

  var instances = [], slots = {}, configs = {}, lives = {};
  var attrs = {};
  var flowLoading = null;
  var pendingOpen = null;  // Converc.open() called before the badge existed: {visitor: bool}

  // Only what the page shows is parsed when it loads: the host's rules, then the badge's (floating)
  // or the panel's (an inline embed, which has no badge); a floating panel's rules come with the
  // panel, on the first open
  var HOST_CSS =
    ":host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;" +
    "transform:none!important;filter:none!important;clip-path:none!important;pointer-events:auto!important}" +
    ":host([data-off]){display:none!important}" +
    ":host([data-mode=floating]){position:fixed!important;z-index:2147483000!important;bottom:20px!important;" +
    "right:20px!important;left:auto!important;top:auto!important;width:auto!important;height:auto!important;margin:0!important}" +
    ":host([data-mode=floating][data-position=bottom-left]){left:20px!important;right:auto!important}" +
    ":host([data-mode=floating][data-open]){z-index:2147483647!important}" +
    ":host([data-mode=embed]){position:relative!important;width:100%!important}" +
    ":host([data-mode=preview]){position:relative!important;width:100%!important;min-height:100%!important}" +
    ".w{font-family:var(--ic-font);font-size:15px;line-height:1.45;color:var(--ic-text);-webkit-font-smoothing:antialiased}";

  var BADGE_CSS =
    ".badge{all:unset;box-sizing:border-box;display:inline-flex;align-items:center;gap:8px;cursor:pointer;" +
    "background:var(--ic-primary);color:var(--ic-button-text);padding:12px 18px;border-radius:999px;font:600 15px/1.2 var(--ic-font);" +
    "box-shadow:0 6px 20px rgba(0,0,0,.18);max-width:min(320px,calc(100vw - 40px))}" +
    ".badge:hover{filter:brightness(1.06)}.badge:focus-visible{outline:3px solid var(--ic-primary);outline-offset:2px}" +
    ".badge .l{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".dot{width:9px;height:9px;border-radius:50%;background:#22c55e;box-shadow:0 0 0 3px rgba(255,255,255,.35);flex:none}" +
    ".off .dot{background:#9ca3af}";

  // the rules for every element of the panel (`*`): the badge needs neither
  var PANEL_CSS =
    ".w *{box-sizing:border-box}" +
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}" +
    "button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid var(--ic-primary);outline-offset:2px}" +
    ".panel{background:var(--ic-bg);color:var(--ic-text);border-radius:var(--ic-radius);overflow:auto;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.22);display:flex;flex-direction:column}" +
    ".panel[hidden]{display:none}.panel:focus{outline:none}" +
    "[data-mode=embed] .panel{position:static;width:100%;box-shadow:none;border:1px solid rgba(0,0,0,.12)}" +
    "[data-mode=embed].s1 .panel{border:0;background:transparent}" +
    ".head{display:flex;align-items:center;gap:8px;padding:14px 16px;background:var(--ic-primary);color:var(--ic-button-text)}" +
    ".head h2{all:unset;flex:1;font:600 16px/1.3 var(--ic-font)}" +
    ".body{padding:16px}.body p{margin:0 0 12px}" +
    ".btn{all:unset;box-sizing:border-box;display:inline-block;cursor:pointer;text-align:center;background:var(--ic-button);" +
    "color:var(--ic-button-text);padding:10px 16px;border-radius:calc(var(--ic-radius) * .6);font:600 15px/1.2 var(--ic-font)}" +
    ".btn[disabled]{opacity:.6;cursor:default}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

  // a panel that opens above its badge (floating, and the dashboard's preview), with its close button
  var FLOATING_PANEL_CSS =
    "[data-mode=floating] .panel,[data-mode=preview] .panel{position:absolute;bottom:62px;right:0;width:min(360px,calc(100vw - 40px));max-height:min(600px,calc(100vh - 110px))}" +
    "[data-position=bottom-left] .panel{right:auto;left:0}" +
    "[data-mode=preview] .panel{position:static;margin-bottom:12px;max-height:none}" +
    ".x{all:unset;cursor:pointer;width:28px;height:28px;border-radius:50%;text-align:center;font:20px/28px var(--ic-font)}" +
    ".x:hover{background:rgba(255,255,255,.18)}" +
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

  // A page's own script calling Converc.open() is not the visitor acting, unless it runs inside the
  // handler of the visitor's own click or key press (a timer shortly after one does not count).
  function gesture() {
    var e = W.event;
    return !!(e && e.isTrusted && /^(click|keydown|keyup|pointerup|mouseup|touchend|submit)$/.test(e.type));
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

  // Pages with `require-trusted-types-for 'script'` accept script URLs only from a named policy:
  // ours ("converc", listed in the README's CSP section) passes only this server's own scripts.
  var ttPolicy = null;
  function scriptURL(url, base) {
    if (!W.trustedTypes || !W.trustedTypes.createPolicy) return url;
    if (!ttPolicy) {
      try {
        ttPolicy = W.trustedTypes.createPolicy("converc", { createScriptURL: function (u) {
          if (new URL(u).origin === new URL(base).origin) return u;
          throw new TypeError("[Converc] refused to load a script from " + u);
        } });
      } catch (e) {
        log("error", "Trusted Types: allow the policy \"converc\" in the page's trusted-types directive (" + e.message + ")");
        return url;
      }
    }
    return ttPolicy.createScriptURL(url);
  }

  function loadScript(url, inst) {
    return new Promise(function (resolve, reject) {
      var s = h("script", { async: true, nonce: inst.nonce || null });
      try { s.src = scriptURL(url, inst.base); } catch (e) { return reject(e); }
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + url)); };
      D.head.appendChild(s);
    });
  }

  function loadFlow(inst) {
    if (W.ConvercFlow) return Promise.resolve(W.ConvercFlow);
    if (!flowLoading) {
      flowLoading = loadScript(new URL(inst.config.assets.flow, inst.src).href, inst).then(function () {
        if (!W.ConvercFlow) throw new Error("flow.js ran but defined nothing");
        return W.ConvercFlow;
      }, function (e) { flowLoading = null; throw e; });
    }
    return flowLoading;
  }

  // Live availability, one per site on the page: a conditional GET (mostly a bodiless 304) every
  // pollSeconds while the page is visible, none while it is hidden, and one on demand (open, Call).
  function Live(base, key, config) {
    this.url = base + "/widget/availability?public_key=" + encodeURIComponent(key) + "&domain=" + encodeURIComponent(location.hostname);
    this.key = key;
    this.config = config;
    this.last = Date.now();
    this.failures = 0;
    this.schedule();
  }

  Live.prototype.every = function () {
    return (this.config.pollSeconds || 0) * 1000 * Math.pow(2, Math.min(this.failures, 3));
  };

  Live.prototype.schedule = function () {
    var self = this, every = this.every();
    clearTimeout(this.timer);
    if (!every || D.hidden || !this.wanted()) return;
    // spread over ±10 %: pages opened together do not poll together
    var wait = Math.max(0, every * (0.9 + Math.random() * 0.2) - (Date.now() - this.last));
    this.timer = setTimeout(function () { self.check(); }, wait);
  };

  // still shown on this page, or waiting to be shown when someone is available
  Live.prototype.wanted = function () {
    for (var name in slots) if (slots[name].config === this.config) return true;
    return false;
  };

  Live.prototype.check = function () {
    var self = this;
    if (!this.inflight) {
      this.inflight = fetch(this.url, { credentials: "omit", cache: "no-cache" }).then(function (r) {
        return r.ok ? r.json() : null;
      })["catch"](function () { return null; }).then(function (now) {
        self.inflight = null;
        self.last = Date.now();
        self.failures = now ? 0 : self.failures + 1;
        if (now) self.apply(now);
        self.schedule();
        return self.config.availability;
      });
    }
    return this.inflight;
  };

  Live.prototype.apply = function (now) {
    var a = this.config.availability;
    if (now.pollSeconds !== undefined) this.config.pollSeconds = now.pollSeconds;
    if (a.available === now.available && a.nextAvailableAt === now.nextAvailableAt) return;
    // the flow reads config.availability: changing it in place keeps every screen current
    a.available = now.available;
    a.nextAvailableAt = now.nextAvailableAt;
    for (var name in slots) if (slots[name].config === this.config) display(slots[name]);
    emit("availability", { publicKey: this.key, available: a.available, nextAvailableAt: a.nextAvailableAt });
  };

  D.addEventListener("visibilitychange", function () {
    for (var k in lives) {
      var live = lives[k];
      if (!D.hidden && live.every() && Date.now() - live.last >= live.every()) live.check();
      else live.schedule();
    }
  });

  // The widget's language, decided once here (the flow keeps it): the site's, or the visitor's
  // browser's when the site follows it and has that language.
  function language(c) {
    var lang = c.language || {}, have = lang.available || ["en"], wanted = [];
    if (lang.followBrowser) wanted = (navigator.languages || [navigator.language || ""]).slice();
    wanted.push(lang.default || "en");
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (have.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  // Before flow.js and its catalogue arrive, the loader's own few strings, in that language
  var ENGLISH = { badge: "Talk to us live", loading: "Loading…", close: "Close",
    failed: "This could not load. Check your connection and try again." };
  function loaderStrings(c, lang) {
    var mine = (c.strings || {})[lang] || {}, out = {};
    for (var k in ENGLISH) out[k] = mine[k] || ENGLISH[k];
    if (!(c.strings || {})[lang] && c.settings && c.settings.badgeLabel) out.badge = c.settings.badgeLabel;
    out.welcomeTitle = mine.welcomeTitle || c.theme.copy.welcomeTitle;
    out.start = mine.start || c.theme.copy.start;
    out.unavailable = mine.unavailable || c.theme.copy.unavailable;
    return out;
  }

  // Which of the loader's two names a script's URL has, and the server's base URL before it.
  // String operations, not regular expressions: each of those is compiled on its first use, on the
  // page's main thread, and the badge needs none.
  function loaderUrl(src) {
    var path = String(src || "").split("#")[0].split("?")[0];
    var slash = path.lastIndexOf("/"), name = path.slice(slash + 1);
    return name === "widget.js" || name === "embed.js" ? { name: name, base: path.slice(0, slash) } : null;
  }

  var RIGHT_TO_LEFT = ["ar", "he", "fa", "ur"];

  function Instance(script, mode, config) {
    this.src = script ? script.src : location.href;
    // the dashboard's preview runs on the server's own pages: its base is the page's origin
    this.base = script ? loaderUrl(this.src).base : location.origin;
    this.key = script ? script.getAttribute("data-ic-public-key") : "preview";
    this.nonce = script ? (script.nonce || script.getAttribute("nonce")) : null;
    this.mode = mode;
    this.config = config;
    this.opened = false;
    this.hooks = {};
    this.lang = language(config);
    this.s = loaderStrings(config, this.lang);
  }

  // Hooks for the flow and the call: ctx.on("close", fn), ctx.on("teardown", fn), ctx.on("detached", fn).
  Instance.prototype.on = function (name, fn) { (this.hooks[name] = this.hooks[name] || []).push(fn); };
  Instance.prototype.fire = function (name, detail) {
    (this.hooks[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { log("error", name + " hook failed: " + e.message); }
    });
  };

  Instance.prototype.render = function (parent, extraClass) {
    var c = this.config, t = c.theme, self = this;
    var host = this.host = h(this.mode === "floating" ? "converc-widget" : "converc-embed",
      { "data-mode": this.mode, "data-position": t.badgePosition });
    // the theme as CSS custom properties on the host: call.js and the flow style themselves from these
    var vars = { primary: t.primaryColor, bg: t.backgroundColor, text: t.textColor, button: t.buttonColor,
      "button-text": t.buttonTextColor, font: t.fontFamily, radius: t.borderRadius + "px" };
    for (var k in vars) host.style.setProperty("--ic-" + k, vars[k]);
    // the widget speaks its own language, whatever the page's lang and dir (the flow may switch it)
    host.setAttribute("lang", this.lang);
    host.setAttribute("dir", RIGHT_TO_LEFT.indexOf(this.lang) >= 0 ? "rtl" : "ltr");
    var root = this.root = host.attachShadow({ mode: "open" });
    addStyles(root, this.mode === "embed" ? HOST_CSS : HOST_CSS + BADGE_CSS, this.nonce);
    if (this.mode !== "embed") {
      this.badge = h("button", { "class": "badge", type: "button", part: "badge",
        "aria-haspopup": "dialog", "aria-expanded": "false",
        onclick: function () { self.opened ? self.close(true) : self.open(true); } },
        [h("span", { "class": "dot", "aria-hidden": "true" }), h("span", { "class": "l", text: this.s.badge })]);
    }
    this.wrap = root.appendChild(h("div", { "class": "w" + (extraClass ? " " + extraClass : ""), "data-mode": this.mode,
      "data-position": t.badgePosition, onkeydown: function (e) {
        if (e.key === "Escape" && self.mode !== "embed") self.close(true);
        if (e.key === "Tab" && self.opened && self.mode === "floating") self.trapFocus(e);
      } }, [this.badge]));
    // a floating badge draws only itself: the panel is built when the visitor first opens it
    // (most pages never open it, and the host page's first render pays for less)
    if (this.mode !== "floating") this.buildPanel();
    this.update();
    parent.appendChild(host);
  };

  Instance.prototype.buildPanel = function () {
    var self = this;
    if (this.panel) return;
    addStyles(this.root, this.mode === "embed" ? PANEL_CSS : PANEL_CSS + FLOATING_PANEL_CSS, this.nonce);
    this.title = h("h2", { id: "ic-title", text: this.s.welcomeTitle });
    this.body = h("div", { "class": "body" });
    this.live = h("div", { "class": "sr", "aria-live": "polite" });
    var head = h("div", { "class": "head" }, [this.title, this.mode === "embed" ? null :
      h("button", { "class": "x", type: "button", "aria-label": this.s.close, text: "×", onclick: function () { self.close(true); } })]);
    this.panel = h("div", { "class": "panel", role: this.mode === "embed" ? "region" : "dialog",
      "aria-modal": this.mode === "floating" ? "true" : null,
      "aria-labelledby": "ic-title", hidden: this.mode !== "embed", part: "panel", tabindex: "-1",
      onclick: function () { self.acted = true; } }, [head, this.body, this.live]);
    this.wrap.insertBefore(this.panel, this.wrap.firstChild);
    if (this.mode === "embed") this.facade();
  };

  // Availability changed (or was first read): the dot, and the badge itself when the site hides it.
  Instance.prototype.update = function () {
    var a = this.config.availability.available;
    if (this.badge) this.badge.classList.toggle("off", !a);
    var hide = !a && this.mode === "floating" && this.config.settings.hideWhenUnavailable && !this.opened;
    if (hide) this.host.setAttribute("data-off", ""); else this.host.removeAttribute("data-off");
    // the embed's welcome card promises someone "right now" only while someone is there
    if (this.welcome) this.welcome.textContent = a ? this.config.settings.welcomeText : this.s.unavailable;
  };

  // Inline embed: the welcome card is part of the loader; the flow loads when the visitor starts.
  Instance.prototype.facade = function () {
    var self = this, c = this.config;
    this.welcome = this.body.appendChild(h("p", { text: c.availability.available ? c.settings.welcomeText : this.s.unavailable }));
    this.body.appendChild(h("button", { "class": "btn", type: "button", text: this.s.start,
      onclick: function () { self.open(true, "questions"); } }));
  };

  // The server's answer now (availability may have changed since the page loaded); never waits long.
  Instance.prototype.recheck = function () {
    var a = this.config.availability, live = lives[this.base + "|" + this.key];
    if (!live) return Promise.resolve(a);
    return Promise.race([live.check(), new Promise(function (resolve) { setTimeout(resolve, 4000, a); })]);
  };

  Instance.prototype.open = function (byVisitor, startAt) {
    var self = this;
    if (this.opened && this.mode !== "embed") return;
    if (byVisitor && !this.config.preview) fingerprint();
    // focus moves into the panel only when the visitor opened it: an auto-open must not steal it
    this.acted = this.acted || !!byVisitor;
    if (byVisitor && this.mode === "floating") this.returnTo = D.activeElement === this.host ? this.badge : D.activeElement;
    this.opened = true;
    this.buildPanel();
    this.panel.hidden = false;
    this.lockScroll(true);
    if (this.badge) this.badge.setAttribute("aria-expanded", "true");
    // the dialog takes focus at once (Escape works, screen readers announce it) until the flow
    // focuses its first control
    if (byVisitor && this.mode === "floating") this.panel.focus();
    if (!this.mounted && !this.mounting) {
      this.mounting = true;
      this.body.textContent = "";
      this.body.appendChild(h("p", { role: "status", text: this.s.loading }));
      // the flow starts from what the server says now, not what it said when the page loaded
      Promise.all([loadFlow(this), this.recheck(), this.customScripts()]).then(function (got) {
        self.mounted = true;
        got[0].mount(self.context(startAt));
      }, function () {
        self.mounting = false;
        self.body.textContent = "";
        self.body.appendChild(h("p", { role: "alert", text: self.s.failed }));
      });
    } else if (this.runtime) {
      this.runtime.rerun();
    }  // the flow's screen is back: its scripts run again
    emit("opened", { publicKey: this.key });
  };

  /** byVisitor: × / Escape / the badge (a live call asks first); else the page's Converc.close(),
   * which ends a live call at once. Focus goes back where it was only when the visitor closed it. */
  Instance.prototype.close = function (byVisitor) {
    if (!this.opened || this.mode === "embed") return;
    if (this.guard && !this.guard(byVisitor ? "visitor" : "page")) return;
    // focus goes back only from inside the widget (never taken from the page): to what opened it
    var inside = !!this.root.activeElement;
    this.opened = false;
    this.panel.hidden = true;
    this.lockScroll(false);
    if (this.badge) this.badge.setAttribute("aria-expanded", "false");
    if (inside) {
      var back = this.returnTo && this.returnTo.isConnected && this.returnTo !== D.body ? this.returnTo : this.badge;
      if (back && back.focus) back.focus();
    }
    this.returnTo = null;
    this.update();
    if (this.runtime) this.runtime.stop();  // a closed panel shows no screen: scripts tear down
    this.fire("close");
    emit("closed", { publicKey: this.key });
  };

  // Removes the widget for good (hooks first: the call hangs up, the camera stops).
  Instance.prototype.teardown = function () {
    if (this.runtime) this.runtime.stop();
    this.fire("teardown");
    if (this.host.parentNode) this.host.parentNode.removeChild(this.host);
    instances.splice(instances.indexOf(this), 1);
  };

  // The organization's custom scripts for this site (config.customScripts), loaded beside the flow.
  // Never in the flow's way: a runtime that does not load leaves the widget as it is.
  Instance.prototype.customScripts = function () {
    var self = this, cs = this.config.customScripts;
    if (!cs || !cs.scripts || !cs.scripts.length || this.mode === "preview") return Promise.resolve(null);
    var abs = function (u) { return new URL(u, self.src).href; };
    return loadScript(abs(cs.runtime), this).then(function () {
      self.runtime = W.ConvercScripts.widget({ root: self.root, slot: function () { return self.body; },
        baseUrl: self.base, publicKey: self.key, site: self.config.site,
        scripts: cs.scripts.map(function (s) { var c = {}; for (var k in s) c[k] = s[k]; c.url = abs(s.url); return c; }) });
      return self.runtime;
    })["catch"](function (e) { log("error", "custom scripts not loaded: " + e.message); return null; });
  };

  // Tab and Shift+Tab stay inside the open dialog
  Instance.prototype.trapFocus = function (e) {
    var items = Array.prototype.filter.call(this.panel.querySelectorAll(
      "button,[href],input,select,textarea,[tabindex]:not([tabindex='-1'])"), function (el) {
      return !el.disabled && el.getClientRects().length > 0;
    });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = this.root.activeElement;
    var outside = !active || !this.panel.contains(active);
    if (e.shiftKey && (active === first || outside)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (active === last || outside)) { e.preventDefault(); first.focus(); }
  };

  // The full-screen panel on a phone: the page behind it must not scroll; × stays on top.
  Instance.prototype.lockScroll = function (on) {
    if (this.mode !== "floating") return;
    if (on) this.host.setAttribute("data-open", ""); else this.host.removeAttribute("data-open");
    var html = D.documentElement, full = W.matchMedia && W.matchMedia("(max-width:480px)").matches;
    if (on && full && this.savedOverflow === undefined) {
      this.savedOverflow = html.style.overflow;
      html.style.overflow = "hidden";
    } else if (!on && this.savedOverflow !== undefined) {
      html.style.overflow = this.savedOverflow;
      this.savedOverflow = undefined;
    }
  };

  Instance.prototype.context = function (startAt) {
    var self = this;
    return {
      h: h, root: this.root, host: this.host, panel: this.panel, body: this.body, config: this.config,
      baseUrl: this.base, src: this.src, publicKey: this.key, nonce: this.nonce, mode: this.mode,
      startAt: startAt || this.config.previewStep || "welcome", domain: location.hostname, rejoin: this.rejoin || null,
      lang: this.lang,
      fingerprint: function () { return self.config.preview ? "preview" : fingerprint(); },
      attributes: attributes, emit: emit, addStyles: function (css) { addStyles(self.root, css, self.nonce); },
      focus: function (el) { if (self.mode !== "preview" && (self.acted || self.root.activeElement)) el.focus(); },
      setTitle: function (text) { self.title.textContent = text; },
      heading: this.title,
      announce: function (text) { self.live.textContent = text; },
      close: function () { self.close(true); },
      // the flow's say before the panel closes (a live call asks "End the call?" first)
      guard: function (fn) { self.guard = fn; },
      loadScript: function (url) { return loadScript(url, self); },
      log: log,
      // before "Call": a promise of {available, nextAvailableAt} as the server says now
      recheck: function () { return self.recheck(); },
      on: function (name, fn) { self.on(name, fn); },
      // the flow shows a step (welcome, question, contact, ready, call, ended, …): custom scripts follow
      screen: function (name, view) {
        if (!self.runtime) return;
        if (self.opened) return self.runtime.show(name, view);
        self.runtime.stop();  // rendered while closed: runs when the panel opens again
        self.runtime.screen = name;
        self.runtime.view = view || {};
      }
    };
  };

  // Body swaps (a page replacing all of the body's markup, a Turbo-style new <body>) take the badge with them: put it back.
  var watcher = null, watchedBody = null;
  function watch() {
    if (!W.MutationObserver || !D.body) return;
    watcher = watcher || new MutationObserver(reattach);
    watcher.disconnect();
    watchedBody = D.body;
    watcher.observe(D.documentElement, { childList: true });
    // an embed's container may be rendered anew anywhere below the body
    watcher.observe(D.body, { childList: true, subtree: instances.some(function (i) { return i.mode === "embed"; }) });
  }

  function reattach() {
    instances.forEach(function (inst) {
      if (inst.host.isConnected) return;
      inst.fire("detached");  // a live call ends with its UI: the badge comes back, the call does not
      var parent = inst.mode === "floating" ? D.body : D.getElementById(inst.container);
      if (parent) parent.appendChild(inst.host);
    });
    if (instances.length && D.body !== watchedBody) watch();
  }

  function whenBody(fn) {
    if (D.body) fn(); else D.addEventListener("DOMContentLoaded", fn);
  }

  // The config of one public key, requested once for the whole page.
  function configFor(base, key) {
    var id = base + "|" + key;
    var url = base + "/widget/config?public_key=" + encodeURIComponent(key) + "&domain=" + encodeURIComponent(location.hostname);
    return configs[id] = configs[id] || fetch(url, { credentials: "omit" }).then(function (r) {
      return r.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { /* a proxy's error page */ }
        return { status: r.status, ok: r.ok && !!body, body: body };
      });
    }, function (e) { return { status: 0, error: e.message }; });
  }

  function ready(slot, detail) {
    detail.publicKey = slot.key;
    detail.mode = slot.mode;
    if (!detail.visible && slot.mode === "floating") pendingOpen = null;
    emit("ready", detail);
  }

  // Every outcome ends in converc:ready: host pages can fall back (their own contact link, …).
  function failed(slot, res) {
    var code = res.body && res.body.error && res.body.error.code;
    var why = res.status === 0 ? "could not reach " + slot.base + " (" + res.error + ")" :
      code ? res.body.error.message : slot.base + " answered HTTP " + res.status + " without the widget's config";
    log("error", "widget not shown: " + why);
    // forget it: an SPA running the snippet again tries again
    delete slots[slot.name];
    delete configs[slot.base + "|" + slot.key];
    var detail = { visible: false, outcome: "error", reason: res.status === 0 ? "network" : code || "bad_response" };
    if (res.status) detail.status = res.status;
    ready(slot, detail);
  }

  function start(script) {
    var url = loaderUrl(script.src), embed = url.name === "embed.js";
    var container = embed ? script.getAttribute("data-ic-container") || "ic-embed" : null;
    var slot = { name: embed ? "embed:" + container : "floating", script: script, mode: embed ? "embed" : "floating",
      key: script.getAttribute("data-ic-public-key"), base: url.base,
      container: container };
    if (slots[slot.name]) return;  // already on this page (or on its way): one is enough
    slots[slot.name] = slot;
    configFor(slot.base, slot.key).then(function (res) {
      if (!res.ok) return failed(slot, res);
      slot.config = res.body;
      var id = slot.base + "|" + slot.key;
      if (res.body.show) lives[id] = lives[id] || new Live(slot.base, slot.key, res.body);
      display(slot);
    });
  }

  // Show the slot's widget, or say why not; called again whenever its site's availability changes.
  function display(slot) {
    var config = slot.config;
    if (slot.inst) return slot.inst.update();
    var reason = !config.show ? "country" : (!config.availability.available && config.settings.hideWhenUnavailable ? "unavailable" : null);
    if (reason) {
      if (slot.said === reason) return;
      slot.said = reason;
      log("info", reason === "country" ? "widget hidden: not shown in this visitor's country" : "widget hidden: nobody is available and Hide when unavailable is on");
      return ready(slot, { visible: false, outcome: "hidden", reason: reason });
    }
    whenBody(function () {
      if (slot.inst) return;
      var inst = new Instance(slot.script, slot.mode, config);
      inst.container = slot.container;
      if (slot.mode === "embed") {
        var el = D.getElementById(slot.container);
        if (!el) {
          log("error", "embed not shown: no element with id \"" + slot.container + "\" on this page (data-ic-container)");
          delete slots[slot.name];
          return ready(slot, { visible: false, outcome: "error", reason: "no_container" });
        }
        inst.render(el, "s" + (slot.script.getAttribute("data-ic-embed-style") || "0"));
      } else {
        inst.render(D.body);
      }
      slot.inst = inst;
      instances.push(inst);
      watch();
      ready(slot, { visible: true, outcome: "shown", available: config.availability.available });
      var t = target(), back = rejoinable(slot.key);
      if (back) { inst.rejoin = back; inst.open(false, "rejoin"); }
      else if (pendingOpen && t) { t.open(pendingOpen.visitor); pendingOpen = null; }
      else if (slot.mode === "floating" && config.settings.openOnLoad) inst.open(false);
    });
  }

  // A call this tab left moments ago on another page of the site (or before a reload): call.js kept
  // it in sessionStorage when the page went away; within the server's grace the widget rejoins it.
  var rejoinTaken = {};
  function rejoinable(key) {
    var record = null, name = "converc_call:" + key;
    if (rejoinTaken[key] || !cameFromThisSite()) return null;
    try { record = JSON.parse(sessionStorage.getItem(name) || "null"); } catch (e) { return null; }
    if (!record) return null;
    rejoinTaken[key] = true;
    if (record.leftAt && Date.now() - record.leftAt < (record.seconds || 30) * 1000) return record;
    try { sessionStorage.removeItem(name); } catch (e) { /* storage blocked */ }
    return null;
  }

  // Only a page this tab reached from a page of the same site (or a reload) can have a call to rejoin.
  // Where the Navigation API says the page before was another site, or none (a first visit), the
  // widget never touches sessionStorage, whose first read blocks the page on the browser process.
  function cameFromThisSite() {
    var activation = W.navigation && W.navigation.activation;
    return !activation || !!activation.from;
  }

  function target() {
    for (var i = 0; i < instances.length; i++) if (instances[i].mode === "floating") return instances[i];
    return instances[0];
  }

  function scan() {
    var scripts = D.querySelectorAll("script[data-ic-public-key]");
    for (var i = 0; i < scripts.length; i++) {
      var s = scripts[i];
      if (s.getAttribute("data-ic-started") || !loaderUrl(s.src)) continue;
      s.setAttribute("data-ic-started", "1");
      start(s);
    }
    reattach();
  }

  // The host page's API: its own button can open the widget; attributes travel with the visitor.
  var methods = {
    open: function () {
      var t = target(), visitor = gesture();
      if (t) t.open(visitor); else pendingOpen = { visitor: visitor };
    },
    close: function () {
      var t = target();
      if (t) t.close(); else pendingOpen = null;
    },
    setAttributes: function (values) {
      for (var k in values || {}) {
        var v = values[k];
        if (v === null || /^(string|number|boolean)$/.test(typeof v)) attrs[String(k).slice(0, 60)] = typeof v === "string" ? v.slice(0, 500) : v;
      }
    },
    // The dashboard's live preview renders the real widget from an unsaved config.
    preview: function (container, config) {
      container.textContent = "";
      var inst = new Instance(null, "preview", config);
      inst.render(container);
      inst.open(false, config.previewStep);
      return inst;
    }
  };

  // Converc("open") works like Converc.open(): the README's stub queues calls in that form.
  var api = function (name) {
    if (methods[name]) return methods[name].apply(null, [].slice.call(arguments, 1));
    log("warn", "Converc(\"" + name + "\"): no such call");
  };
  for (var m in methods) api[m] = methods[m];
  api._runtime = { scan: scan };
  W.Converc = api;
  var queued = stub && stub.q;
  for (var i = 0; queued && i < queued.length; i++) api.apply(null, queued[i]);

  // The config request starts from a microtask, not from this file's top level: a stack trace of
  // the request (DevTools' Network panel, Playwright) then holds only the few small functions of
  // scan, and V8 does not re-parse this whole file to find its source positions. Same request, no
  // later: the microtask runs as soon as this script ends.
  Promise.resolve().then(scan);
})();
