/*! Converc custom scripts runtime, shared by the dashboard and the widget.
 *
 * A JavaScript script is an ES module served from the Converc server at a content-hashed URL:
 *
 *   export default function (ctx) { …; return function teardown() { … }; }
 *
 * ctx: surface ("dashboard" | "widget"), screen (a dashboard page name or a widget step), script
 * ({id, name, version}), site, contact and call in view (what the viewer may already see; null when
 * none), root (the document, or the widget's shadow root), on(event, fn) (the converc:* events;
 * returns an "off" function), mount(element[, parent]) (appends element in a container the script
 * owns, in parent or the surface's default place; returns the container), log(...) (shown on the
 * script's page in the dashboard).
 *
 * Before the screen changes, and before running again on the same screen, the runtime calls the
 * script's teardown, then removes what ctx.on and ctx.mount added, so a script never runs twice
 * side by side. Whatever a script throws (loading, running, in an event handler, in its teardown) is
 * caught: the surface keeps working, and the error is reported to the script's page, where it is
 * counted. CSS scripts are style sheets attached on their screens only (in the widget, inside its
 * shadow root).
 */
(function () {
  "use strict";
  var W = window, D = document;
  if (W.ConvercScripts) return;
  var REPORTS_PER_MINUTE = 20;  // per script and page: a script logging in a loop cannot flood us

  function matches(script, screen) {
    return !script.screens || !script.screens.length || script.screens.indexOf(screen) >= 0;
  }

  function text(args) {
    return Array.prototype.map.call(args, function (a) {
      if (typeof a === "string") return a;
      if (a instanceof Error) return a.message;
      try { return JSON.stringify(a); } catch (e) { return String(a); }
    }).join(" ").slice(0, 500);
  }

  /** opts: surface, scripts, root, site, slot() (ctx.mount's default parent), addCss(script) → remove,
   * report(script, level, message, screen), load(url) → promise of the module. */
  function Runtime(opts) {
    this.opts = opts;
    this.runs = [];
    this.screen = null;
    this.view = {};
    this.sent = {};
  }

  Runtime.prototype.show = function (screen, view) {
    this.stop();
    this.screen = screen;
    this.view = view || {};
    var self = this;
    this.opts.scripts.forEach(function (s) { if (matches(s, screen)) self.start(s); });
  };

  /** The same screen again (re-rendered, or shown again): teardown first, then a fresh run. */
  Runtime.prototype.rerun = function () {
    if (this.screen !== null) this.show(this.screen, this.view);
  };

  Runtime.prototype.stop = function () {
    var runs = this.runs;
    this.runs = [];
    runs.forEach(function (run) { run.stop(); });
  };

  Runtime.prototype.start = function (script) {
    var self = this, run = new Run(this, script);
    this.runs.push(run);
    if (script.type === "css") return run.track(this.opts.addCss(script));
    Promise.resolve().then(function () { return self.opts.load(script.url); }).then(function (mod) {
      if (run.stopped) return null;
      if (!mod || typeof mod["default"] !== "function") throw new Error("the module has no default export function");
      return mod["default"](run.ctx);
    }).then(function (teardown) {
      if (typeof teardown !== "function") return;
      if (run.stopped) run.guard("teardown", teardown)();  // the screen changed while it started
      else run.teardown = teardown;
    })["catch"](function (e) { run.failed("run", e); });
  };

  Runtime.prototype.report = function (script, level, message) {
    var now = Date.now(), bucket = this.sent[script.id] = this.sent[script.id] || { start: now, n: 0 };
    if (now - bucket.start > 60000) { bucket.start = now; bucket.n = 0; }
    if (++bucket.n > REPORTS_PER_MINUTE) return;
    try { this.opts.report(script, level, message, this.screen); } catch (e) { /* reporting never breaks a page */ }
  };

  function Run(runtime, script) {
    var self = this, o = runtime.opts, view = runtime.view;
    this.runtime = runtime;
    this.script = script;
    this.screen = runtime.screen;
    this.cleanups = [];
    this.stopped = false;
    this.ctx = Object.freeze({
      surface: o.surface, screen: runtime.screen, root: o.root,
      script: { id: script.id, name: script.name, version: script.version },
      site: view.site || o.site || null, contact: view.contact || null, call: view.call || null,
      on: function (name, fn) { return self.on(name, fn); },
      mount: function (el, parent) { return self.mount(el, parent); },
      log: function () { runtime.report(script, "info", text(arguments)); }
    });
  }

  Run.prototype.track = function (fn) { if (typeof fn === "function") this.cleanups.push(fn); };

  // Wraps a script's function: whatever it throws is reported, never passed on to the surface.
  Run.prototype.guard = function (where, fn) {
    var self = this;
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { self.failed(where, e); }
    };
  };

  Run.prototype.on = function (name, fn) {
    if (this.stopped) return function () {};
    var type = "converc:" + name, handler = this.guard("on(\"" + name + "\")", function (e) { fn(e.detail || {}, e); });
    W.addEventListener(type, handler);
    var off = function () { W.removeEventListener(type, handler); };
    this.track(off);
    return off;
  };

  Run.prototype.mount = function (el, parent) {
    var box = D.createElement("div");
    box.setAttribute("data-converc-script", this.script.id);
    if (el) box.appendChild(el);
    if (this.stopped) return box;  // a late call after teardown: never shown
    var where = parent || this.runtime.opts.slot();
    if (where) where.appendChild(box);
    this.track(function () { if (box.parentNode) box.parentNode.removeChild(box); });
    return box;
  };

  Run.prototype.stop = function () {
    if (this.stopped) return;
    this.stopped = true;
    if (this.teardown) this.guard("teardown", this.teardown)();
    this.cleanups.splice(0).reverse().forEach(function (fn) { try { fn(); } catch (e) { /* ours: best effort */ } });
  };

  Run.prototype.failed = function (where, e) {
    var message = (e && e.message) || String(e);
    if (W.console) console.error("[Converc] custom script \"" + this.script.name + "\" failed (" + where + "):", e);
    this.runtime.report(this.script, "error", where + ": " + message);
  };

  // --- the widget's bridge (the loader hands over its instance's parts) ---------------------------

  function loadModule(url) { return import(url); }

  /** o: root (the shadow root), slot() (the panel's body), baseUrl, publicKey, site, scripts. */
  function widget(o) {
    var sheets = {};
    function sheet(url) {
      // fetched, then a constructable stylesheet: the host page's CSP needs no 'unsafe-inline'
      return sheets[url] = sheets[url] || fetch(url, { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      }).then(function (css) { var s = new CSSStyleSheet(); s.replaceSync(css); return s; });
    }
    var runtime = new Runtime({
      surface: "widget", scripts: o.scripts, root: o.root, site: o.site, slot: o.slot, load: loadModule,
      addCss: function (script) {
        var removed = false, added = null;
        sheet(script.url).then(function (s) {
          if (removed) return;
          added = s;
          o.root.adoptedStyleSheets = o.root.adoptedStyleSheets.concat([s]);
        })["catch"](function (e) { runtime.report(script, "error", "stylesheet: " + e.message); });
        return function () {
          removed = true;
          if (added) o.root.adoptedStyleSheets = o.root.adoptedStyleSheets.filter(function (s) { return s !== added; });
        };
      },
      report: function (script, level, message, screen) {
        fetch(o.baseUrl + "/widget/custom-scripts/reports", { method: "POST", credentials: "omit", keepalive: true,
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: JSON.stringify({ publicKey: o.publicKey, scriptId: script.id, version: script.version,
            level: level, message: message, screen: screen }) })["catch"](function () {});
      }
    });
    return runtime;
  }

  /** The dashboard: the page's data block says which scripts run on this page. */
  function dashboard(page) {
    var csrf = D.querySelector('meta[name="csrf-token"]').content;
    return new Runtime({
      surface: "dashboard", scripts: page.scripts, root: D, site: page.site, load: loadModule,
      slot: function () { return D.querySelector("main.content") || D.body; },
      addCss: function (script) {
        var link = D.createElement("link");
        link.rel = "stylesheet";
        link.href = script.url;
        link.integrity = script.integrity;
        link.setAttribute("data-converc-script", script.id);
        D.head.appendChild(link);
        return function () { if (link.parentNode) link.parentNode.removeChild(link); };
      },
      report: function (script, level, message, screen) {
        fetch(script.reportUrl, { method: "POST", credentials: "same-origin", keepalive: true,
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ level: level, message: message, screen: screen, version: script.version }) })["catch"](function () {});
      }
    });
  }

  W.ConvercScripts = { Runtime: Runtime, widget: widget, dashboard: dashboard };
})();
