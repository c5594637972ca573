/* Converc live call: the visitor's call screens inside the widget, and the WebRTC session
 * that the dashboard's call screen shares.
 *
 * The widget flow lazy-loads this file after "Call now" and calls
 *   window.ConvercCall.start({mount, shadowRoot, baseUrl, publicKey, fingerprint, mediaType,
 *     qualificationToken, contact, attributes, pageUrl, copy, calendarUrl, nextAvailableAt,
 *     theme, emit, onClose, recordingPolicy, recordingConsent, leaveDetails})
 * leaveDetails({callId, reason}), when given, is offered after a missed or refused call: the flow's
 * details screen, so the visitor is never left at a dead end.
 * Screens render into `mount` (inside the widget's shadow root), styled by a constructed
 * stylesheet (customer pages may forbid inline styles). Visitor text only ever goes in as
 * textContent.
 */
(function () {
  "use strict";
  if (window.ConvercCall) return;

  var PING_MS = 20000;
  var FINAL = { ended: 1, canceled: 1, missed: 1 };
  var MAX_RETRIES = 5;  // consecutive failed connections before the call is given up (~15 s)

  // ---- the signalling socket: heartbeats, reconnect with backoff ---------------------------

  function Signal(url, onMessage, onStatus) {
    this.url = url;
    this.onMessage = onMessage;
    this.onStatus = onStatus || function () {};
    this.attempt = 0;
    this.closed = false;
    this.queue = [];
    this.connect();
  }

  Signal.prototype.connect = function () {
    var self = this, ws;
    this.watchPolicy();
    try { ws = new WebSocket(this.url); } catch (e) {  // a malformed or forbidden URL throws at once
      this.closed = true;
      this.onStatus("failed", "socket_blocked");
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      self.onStatus("open");
      while (self.queue.length) ws.send(self.queue.shift());
      clearInterval(self.pinger);
      self.pinger = setInterval(function () { self.send({ type: "ping" }); }, PING_MS);
    };
    ws.onmessage = function (event) {
      var message;
      self.attempt = 0;  // the server spoke: this connection works (a proxy may accept, then close)
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type !== "pong") self.onMessage(message);
    };
    // A socket that the page's CSP forbids fires only "error" in Chromium, never "close"
    // (watchPolicy names that case): an error is a drop even when no close follows
    ws.onerror = function () {
      clearTimeout(self.errorTimer);
      self.errorTimer = setTimeout(function () { self.dropped(ws, { code: 1006 }); }, 1500);
    };
    ws.onclose = function (event) { self.dropped(ws, event); };
  };

  // The page's CSP forbids the socket: its report names our URL (or origin). No retry can help.
  Signal.prototype.watchPolicy = function () {
    var self = this;
    if (this.onViolation || !document.addEventListener) return;
    this.onViolation = function (e) {
      var blocked = e.blockedURI || "";
      if (!self.ws || !/connect-src/.test(e.effectiveDirective || e.violatedDirective || "")) return;
      if (blocked.length < 6 || self.url.indexOf(blocked) !== 0) return;
      self.attempt = MAX_RETRIES;
      self.dropped(self.ws, { code: 1006, blocked: true });
    };
    document.addEventListener("securitypolicyviolation", this.onViolation);
  };

  Signal.prototype.dropped = function (ws, event) {
    if (ws !== this.ws || ws.dropped) return;
    ws.dropped = true;
    clearTimeout(this.errorTimer);
    clearInterval(this.pinger);
    if (this.closed) return;
    if (event.code >= 4400 && event.code < 4500) {  // refused: reconnecting will not help
      this.closed = true;
      this.onStatus("refused", event.reason);
      return;
    }
    var reason = event.blocked ? "socket_blocked" : (event.code === 1006 ? "socket_unreachable" : "socket_closed");
    if (this.attempt >= MAX_RETRIES) {  // still nothing after ~15 s of retries: say so, stop waiting
      this.close();
      this.onStatus("failed", reason, event.code);
      return;
    }
    this.onStatus("reconnecting", reason, event.code);
    var self = this, delay = Math.min(10000, 500 * Math.pow(2, this.attempt++)) * (0.75 + Math.random() / 2);
    this.timer = setTimeout(function () { self.connect(); }, delay);
  };

  Signal.prototype.send = function (message) {
    var data = JSON.stringify(message);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
    else this.queue.push(data);
  };

  Signal.prototype.close = function () {
    this.closed = true;
    clearInterval(this.pinger);
    clearTimeout(this.errorTimer);
    if (this.onViolation) document.removeEventListener("securitypolicyviolation", this.onViolation);
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  };

  // ---- the WebRTC session: the visitor offers, the rep answers ------------------------------

  function Session(options) {
    this.options = options;
    this.role = options.role;
    this.localStream = options.localStream || null;
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.status = options.status || null;
    this.on = options.on || {};
  }

  Session.prototype.start = function () {
    var self = this;
    this.signal = new Signal(this.options.socketUrl, function (m) { self.handle(m); }, function (s, reason, code) {
      self.fire("socket", s, reason, code);
    });
    return this;
  };

  Session.prototype.fire = function (name) {
    var handler = this.on[name];
    if (handler) handler.apply(this, Array.prototype.slice.call(arguments, 1));
  };

  Session.prototype.handle = function (message) {
    if (message.type === "state") {
      var was = this.status;
      this.status = message.status;
      if (message.recording) this.fire("recording", "recording");
      if (FINAL[message.status]) this.finish(message.status, null);
      // answered while this socket was not listening (connecting, or a notice lost with Redis)
      else if (message.status === "accepted" && was !== "accepted") this.fire("accepted", message.rep || {});
      else this.fire("state", message.status);
    } else if (message.type === "accepted") {
      this.status = "accepted";
      this.fire("accepted", message.rep || {});
    } else if (message.type === "peer-joined") {
      if (this.role === "visitor") this.offer();
    } else if (message.type === "peer-left") {
      this.fire("peerLeft");
    } else if (message.type === "signal") {
      this.onSignal(message.data || {});
    } else if (message.type === "ended") {
      this.finish(message.status, message.reason, message.nextAvailableAt);
    } else if (message.type === "recording") {
      this.fire("recording", message.state);
    }
  };

  Session.prototype.newPeer = function () {
    if (this.pc) this.pc.close();
    var pc = new RTCPeerConnection({ iceServers: this.options.iceServers || [],
                                     iceTransportPolicy: this.options.iceTransportPolicy || "all" });
    this.pc = pc;
    this.pendingCandidates = [];
    this.watch(pc);
    this.watchReports(pc);
    return pc;
  };

  /** Send our tracks. The offerer also asks to receive any kind it does not send itself. */
  Session.prototype.addLocalTracks = function () {
    var pc = this.pc, stream = this.localStream;
    var tracks = stream ? stream.getTracks() : [];
    tracks.forEach(function (t) { pc.addTrack(t, stream); });
    if (this.role !== "visitor") return;
    var kinds = this.options.mediaType === "audio" ? ["audio"] : ["audio", "video"];
    kinds.forEach(function (kind) {
      var sends = tracks.some(function (t) { return t.kind === kind; });
      if (!sends) pc.addTransceiver(kind, { direction: "recvonly" });
    });
  };

  Session.prototype.watch = function (pc) {
    var self = this;
    pc.ontrack = function (event) {
      if (pc !== self.pc) return;  // a replaced connection's late events
      self.remoteStream.getTracks().forEach(function (t) {
        if (t.kind === event.track.kind) self.remoteStream.removeTrack(t);
      });
      self.remoteStream.addTrack(event.track);
      self.fire("remoteStream", self.remoteStream);
    };
    pc.onicecandidate = function (event) {
      if (event.candidate) self.signal.send({ type: "signal", data: { candidate: event.candidate.toJSON() } });
    };
    pc.onconnectionstatechange = function () {
      if (pc !== self.pc) return;
      self.fire("connection", pc.connectionState);
      // ICE restarts (restartIce below) come first; a connection they could not mend starts afresh
      if (pc.connectionState === "failed" && self.role === "visitor" && !FINAL[self.status] &&
          (self.iceRestarts || 0) >= 2) self.offer(true);
    };
  };

  Session.prototype.offer = function (force) {
    var self = this;
    if (!force && this.pc && this.pc.connectionState === "connected") return;
    var pc = this.newPeer();
    this.addLocalTracks();
    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      self.signal.send({ type: "signal", data: { sdp: pc.localDescription.toJSON() } });
    }).catch(function (e) { self.fire("error", e); });
  };

  Session.prototype.onSignal = function (data) {
    var self = this;
    if (data.restart && this.answerRestart(data.sdp)) return;
    if (data.sdp && data.sdp.type === "offer" && this.role === "rep") {
      var pc = this.newPeer();
      pc.setRemoteDescription(data.sdp).then(function () {
        // after the offer, so our tracks ride on the transceivers it created
        self.addLocalTracks();
        self.flushCandidates();
        return pc.createAnswer();
      }).then(function (answer) {
        return pc.setLocalDescription(answer);
      }).then(function () {
        self.signal.send({ type: "signal", data: { sdp: pc.localDescription.toJSON() } });
      }).catch(function (e) { self.fire("error", e); });
    } else if (data.sdp && data.sdp.type === "answer" && this.pc && this.role === "visitor") {
      this.pc.setRemoteDescription(data.sdp).then(function () { self.flushCandidates(); })
        .catch(function (e) { self.fire("error", e); });
    } else if (data.candidate) {
      if (this.pc && this.pc.remoteDescription) {
        this.pc.addIceCandidate(data.candidate).catch(function () {});
      } else {
        this.pendingCandidates.push(data.candidate);
      }
    }
  };

  Session.prototype.flushCandidates = function () {
    var pc = this.pc;
    this.pendingCandidates.splice(0).forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
  };

  Session.prototype.setMuted = function (muted) {
    if (this.localStream) this.localStream.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
  };

  Session.prototype.setCameraOff = function (off) {
    if (this.localStream) this.localStream.getVideoTracks().forEach(function (t) { t.enabled = !off; });
  };

  Session.prototype.hangUp = function () {
    this.signal.send({ type: "hangup" });
  };

  Session.prototype.finish = function (status, reason, nextAvailableAt) {
    if (this.finished) return;
    this.finished = true;
    this.status = status;
    this.close();
    this.fire("ended", status, reason, nextAvailableAt || null);
  };

  Session.prototype.close = function () {
    if (this.signal) this.signal.close();
    if (this.pc) this.pc.close();
    if (this.localStream) this.localStream.getTracks().forEach(function (t) { t.stop(); });
  };

  /** Inbound/outbound media counters (the end-to-end test reads framesDecoded). */
  Session.prototype.stats = function () {
    var result = { connectionState: this.pc ? this.pc.connectionState : "new", framesDecoded: 0,
                   framesEncoded: 0, audioBytesReceived: 0 };
    if (!this.pc) return Promise.resolve(result);
    return this.pc.getStats().then(function (report) {
      report.forEach(function (s) {
        if (s.type === "inbound-rtp" && s.kind === "video") result.framesDecoded += s.framesDecoded || 0;
        if (s.type === "outbound-rtp" && s.kind === "video") result.framesEncoded += s.framesEncoded || 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") result.audioBytesReceived += s.bytesReceived || 0;
      });
      return result;
    });
  };

  // ---- connection facts, reported to the server over the call socket (the call page shows them)

  Session.prototype.report = function (facts) {
    facts.type = "report";
    facts.at = Date.now() - this.firstPeerAt;  // ms since this browser first set up the connection
    if (this.signal && !this.finished) this.signal.send(facts);
  };

  Session.prototype.watchReports = function (pc) {
    var self = this;
    this.firstPeerAt = this.firstPeerAt || Date.now();
    pc.addEventListener("iceconnectionstatechange", function () {
      if (pc !== self.pc) return;
      var state = pc.iceConnectionState;
      self.report({ event: "ice", state: state });
      if (state === "connected" || state === "completed") self.reportPair(pc);
      if (state === "failed") self.report({ event: "failed", reason: "ice_failed" });
      if (self.role === "visitor") self.maybeRestartIce(pc, state);
    });
    clearInterval(this.qualityTimer);
    this.qualityTimer = setInterval(function () { self.reportQuality(); }, 5000);
  };

  // ---- ICE restart: a dropped path is mended on the same connection ---------------------------

  /** The visitor (the offerer) restarts ICE when the path drops (a blip, a network change);
   * "disconnected" first gets 2 s to recover by itself. */
  Session.prototype.maybeRestartIce = function (pc, state) {
    var self = this;
    clearTimeout(this.restartTimer);
    if (state === "failed") this.restartIce(pc);
    if (state !== "disconnected") return;
    this.restartTimer = setTimeout(function () {
      if (pc === self.pc && pc.iceConnectionState === "disconnected") self.restartIce(pc);
    }, 2000);
  };

  Session.prototype.restartIce = function (pc) {
    var self = this;
    if (FINAL[this.status] || this.finished || pc.signalingState !== "stable" || this.iceRestarts >= 3) return;
    this.iceRestarts = (this.iceRestarts || 0) + 1;
    this.report({ event: "ice", state: "restarting" });
    pc.createOffer({ iceRestart: true }).then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      self.signal.send({ type: "signal", data: { sdp: pc.localDescription.toJSON(), restart: true } });
    }).catch(function (e) { self.fire("error", e); });
  };

  /** The rep answers an ICE-restart offer on the current connection (any other offer replaces it). */
  Session.prototype.answerRestart = function (sdp) {
    var self = this, pc = this.pc;
    if (this.role !== "rep" || !pc || pc.signalingState !== "stable" || pc.connectionState === "closed") return false;
    pc.setRemoteDescription(sdp).then(function () {
      return pc.createAnswer();
    }).then(function (answer) {
      return pc.setLocalDescription(answer);
    }).then(function () {
      self.signal.send({ type: "signal", data: { sdp: pc.localDescription.toJSON() } });
    }).catch(function (e) { self.fire("error", e); });
    return true;
  };

  function selectedPair(report) {
    var pair = null;
    report.forEach(function (s) {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    });
    return pair;
  }

  Session.prototype.reportPair = function (pc) {
    var self = this;
    pc.getStats().then(function (report) {
      var pair = selectedPair(report);
      if (!pair) return;
      var local = report.get(pair.localCandidateId) || {}, remote = report.get(pair.remoteCandidateId) || {};
      self.report({ event: "connected", pair: { local: local.candidateType, remote: remote.candidateType,
                                                protocol: local.protocol } });
    }).catch(function () {});
  };

  /** RTT, jitter, loss, bitrate and frames of what this browser receives. */
  Session.prototype.reportQuality = function () {
    var self = this, pc = this.pc;
    if (this.finished) { clearInterval(this.qualityTimer); return; }
    if (!pc || pc.connectionState !== "connected") return;
    pc.getStats().then(function (report) {
      var q = { framesDecoded: 0, framesDropped: 0 }, lost = 0, received = 0, bytes = 0, now = Date.now();
      var pair = selectedPair(report);
      if (pair && pair.currentRoundTripTime !== undefined) q.rttMs = pair.currentRoundTripTime * 1000;
      report.forEach(function (s) {
        if (s.type !== "inbound-rtp") return;
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
        bytes += s.bytesReceived || 0;
        if (s.kind === "audio" && s.jitter !== undefined) q.jitterMs = s.jitter * 1000;
        if (s.kind === "video") {
          q.framesDecoded += s.framesDecoded || 0;
          q.framesDropped += s.framesDropped || 0;
          if (s.framesPerSecond) q.framesPerSecond = s.framesPerSecond;
        }
      });
      if (lost + received > 0) q.packetLossPct = Math.round(10000 * lost / (lost + received)) / 100;
      if (self.lastBytesAt && now > self.lastBytesAt) q.bitrateKbps = (bytes - self.lastBytes) * 8 / (now - self.lastBytesAt);
      self.lastBytes = bytes;
      self.lastBytesAt = now;
      self.report({ event: "quality", quality: q });
    }).catch(function () {});
  };

  // ---- the visitor's screens ---------------------------------------------------------------

  var CSS = [
    ":host{--cc-accent:#4f46e5;--cc-text:#1c2030;--cc-muted:#5a6072;--cc-radius:12px}",
    ".cc-screen{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--cc-text,#1c2030);",
    "display:flex;flex-direction:column;gap:12px;padding:4px 0;text-align:center}",
    ".cc-title{font-size:17px;font-weight:600;margin:0}.cc-title:focus{outline:none}",
    ".cc-text{margin:0;color:var(--cc-muted,#5a6072)}",
    ".cc-elapsed{font-variant-numeric:tabular-nums;font-size:28px;font-weight:600;margin:4px 0}",
    ".cc-pulse{width:56px;height:56px;margin:4px auto;border-radius:50%;background:var(--cc-accent,#4f46e5);",
    "animation:cc-pulse 1.4s ease-in-out infinite}",
    "@keyframes cc-pulse{0%,100%{transform:scale(.85);opacity:.6}50%{transform:scale(1);opacity:1}}",
    ".cc-stage{position:relative;background:#0f1222;border-radius:var(--cc-radius,12px);overflow:hidden;aspect-ratio:4/3}",
    ".cc-remote{width:100%;height:100%;object-fit:cover;display:block}",
    ".cc-local{position:absolute;right:8px;bottom:8px;width:28%;border-radius:8px;border:2px solid #fff;",
    "transform:scaleX(-1)}",
    ":host([dir=rtl]) .cc-local{right:auto;left:8px}",
    ".cc-audio-only{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;",
    "color:#fff;font-size:16px;padding:12px}",
    ".cc-controls{display:flex;gap:8px;justify-content:center;flex-wrap:wrap}",
    ".cc-button{font:inherit;border:1px solid #cdd2e0;background:#fff;color:var(--cc-text,#1c2030);",
    "border-radius:999px;padding:8px 16px;cursor:pointer}",
    ".cc-button[aria-pressed=true]{background:#eef0f7}",
    ".cc-primary{background:var(--cc-accent,#4f46e5);border-color:var(--cc-accent,#4f46e5);color:#fff;font-weight:600}",
    ".cc-danger{background:#c5221f;border-color:#c5221f;color:#fff;font-weight:600}",
    ".cc-link{color:#fff;font-weight:600;text-decoration:none}",
    ".cc-alert{background:#fdecea;color:#8c1d18;border-radius:8px;padding:10px 12px;text-align:start;margin:0}",
    ".cc-confirm{display:flex;flex-direction:column;gap:10px;padding:12px;border:1px solid #cdd2e0;border-radius:8px;",
    "background:#fff;text-align:center}",
    ".cc-rec{position:absolute;left:8px;top:8px;display:flex;align-items:center;gap:6px;padding:3px 10px;",
    "border-radius:999px;background:rgba(0,0,0,.6);color:#fff;font-size:12px;font-weight:600}",
    ".cc-rec[hidden]{display:none}",
    ".cc-rec:before{content:'';width:8px;height:8px;border-radius:50%;background:#ff4d4d;animation:cc-blink 1.2s infinite}",
    "@keyframes cc-blink{50%{opacity:.3}}",
    "@media (prefers-reduced-motion:reduce){.cc-pulse,.cc-rec:before{animation:none}}",
  ].join("");

  function adoptStyles(root, theme) {
    if (!root || !("adoptedStyleSheets" in root) || typeof CSSStyleSheet === "undefined") return;
    var sheet = new CSSStyleSheet();
    var accent = theme && (theme.primaryColor || theme.accentColor || theme.buttonColor);
    var radius = theme && theme.borderRadius;
    var extra = "";
    if (accent && /^#[0-9a-fA-F]{3,8}$/.test(accent)) extra += ":host{--cc-accent:" + accent + "}";
    if (radius !== undefined && /^\d{1,2}(px)?$/.test(String(radius))) {
      extra += ":host{--cc-radius:" + parseInt(radius, 10) + "px}";
    }
    sheet.replaceSync(CSS + extra);
    root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheet]);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function button(label, className, onClick) {
    var b = el("button", "cc-button " + (className || ""), label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function log(message) {
    if (window.console && console.error) console.error("[Converc] " + message);
  }

  // catalogue keys of the visitor's messages (the strings themselves are in the language's catalogue)
  var MEDIA_ERRORS = {
    NotAllowedError: "call.mediaNotAllowed", SecurityError: "call.mediaSecurity",
    NotFoundError: "call.mediaNotFound", OverconstrainedError: "call.mediaNotFound",
    NotReadableError: "call.mediaNotReadable",
  };

  var REQUEST_ERRORS = {
    rate_limited: "call.rateLimited", call_in_progress: "call.inProgress",
    calls_paused: "call.paused", invalid_qualification: "call.invalidQualification",
    token_used_up: "call.tokenUsedUp", call_not_allowed: "call.notAllowed",
    service_unavailable: "call.serviceUnavailable",
  };

  var SOCKET_ERRORS = {
    socket_blocked: "call.socketBlocked", socket_closed: "call.socketLost", socket_unreachable: "call.socketLost",
  };

  // ---- rejoin after a reload: the call, in this tab's sessionStorage, per site ----------------

  /** Written once a call exists, stamped when the page goes away, removed when the call ends on
   * purpose. sessionStorage is this tab and this site's origin only; the key names the widget's site. */
  var Rejoin = {
    key: function (publicKey) { return "converc_call:" + publicKey; },
    keep: function (publicKey, record) {
      try { sessionStorage.setItem(this.key(publicKey), JSON.stringify(record)); } catch (e) { /* storage blocked */ }
    },
    left: function (publicKey) {
      var record = this.read(publicKey);
      if (!record) return;
      record.leftAt = Date.now();
      this.keep(publicKey, record);
    },
    read: function (publicKey) {
      try { return JSON.parse(sessionStorage.getItem(this.key(publicKey)) || "null"); } catch (e) { return null; }
    },
    forget: function (publicKey) {
      try { sessionStorage.removeItem(this.key(publicKey)); } catch (e) { /* storage blocked */ }
    },
  };

  function VisitorCall(opts) {
    this.opts = opts;
    this.copy = opts.copy || {};
    this.mediaType = opts.mediaType === "audio" ? "audio" : "video";
    this.emit = opts.emit || function () {};
    this.base = (opts.baseUrl || "").replace(/\/$/, "");
    this.onPageHide = this.onPageHide.bind(this);
  }

  /** The language's string for `key` ({name}-style values filled in); the key itself when missing. */
  VisitorCall.prototype.t = function (key, values) {
    var text = this.copy[key];
    if (text === undefined || text === null) text = key;
    return String(text).replace(/\{(\w+)\}/g, function (m, name) { return values && name in values ? values[name] : m; });
  };

  /** A fresh screen: its title takes focus (when the visitor is in the widget) and is announced once. */
  VisitorCall.prototype.screen = function (title, text) {
    clearInterval(this.ticker);
    var mount = this.opts.mount;
    // an open "End the call?" outlives a redraw of the call (a socket that reconnected): the
    // visitor's question must not vanish under their pointer
    var asking = this.confirmBox && this.confirmBox.isConnected && this.active() ? this.confirmBox : null;
    while (mount.firstChild) mount.removeChild(mount.firstChild);
    var box = el("div", "cc-screen");
    var heading = null;
    if (title) {
      heading = box.appendChild(el("h3", "cc-title", title));
      heading.tabIndex = -1;
    }
    if (text) box.appendChild(el("p", "cc-text", text));
    mount.appendChild(box);
    if (asking) mount.insertBefore(asking, mount.firstChild);  // and it keeps the focus
    else if (heading) this.focusLater(heading, [title, text].filter(Boolean).join(" "));
    return box;
  };

  /** Focus moves to the new screen when the visitor is in the widget (a screen reader then reads
   * it); when it cannot, the live region says `say` instead. */
  VisitorCall.prototype.focusLater = function (node, say) {
    var focus = this.opts.focus, announce = this.opts.announce;
    setTimeout(function () {
      if (!node.isConnected) return;
      if (focus) focus(node);
      var root = node.getRootNode && node.getRootNode();
      if (say && announce && (!root || root.activeElement !== node)) announce(say);
    }, 0);
  };

  VisitorCall.prototype.start = function () {
    var self = this;
    this.watchMount();
    this.screen(this.t(this.mediaType === "video" ? "call.allowTitleVideo" : "call.allowTitleAudio"),
      this.t("call.allowText"));
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return this.mediaFailed({ name: "SecurityError" });
    }
    navigator.mediaDevices.getUserMedia({ audio: true, video: this.mediaType === "video" })
      .then(function (stream) {
        self.stream = stream;
        if (self.torn) return self.stopMedia();  // the widget went away while the browser asked
        self.opts.rejoin ? self.rejoin() : self.request();
      })
      .catch(function (e) { if (!self.torn) self.mediaFailed(e); });
  };

  /** Privacy: a call never outlives its widget. When the mount leaves the page (an SPA replaced the
   * body, the host page removed the widget), the tracks stop and the server hears of it. */
  VisitorCall.prototype.watchMount = function () {
    var self = this, mount = this.opts.mount;
    var check = function () { if (!mount.isConnected) self.teardown("removed"); };
    this.watcher = setInterval(check, 500);
    if (window.MutationObserver) {
      this.observer = new MutationObserver(check);
      this.observer.observe(document, { childList: true, subtree: true });
    }
  };

  VisitorCall.prototype.mediaFailed = function (error) {
    var self = this;
    var box = this.screen(this.t(this.mediaType === "video" ? "call.blockedTitleVideo" : "call.blockedTitleAudio"));
    box.appendChild(el("p", "cc-alert", this.t(MEDIA_ERRORS[error && error.name] || MEDIA_ERRORS.NotAllowedError)))
      .setAttribute("role", "alert");
    var controls = el("div", "cc-controls");
    controls.appendChild(button(this.t("call.tryAgain"), "cc-primary", function () { self.start(); }));
    if (this.mediaType === "video") {
      controls.appendChild(button(this.t("call.audioOnly"), "", function () { self.mediaType = "audio"; self.start(); }));
    }
    controls.appendChild(button(this.t("close"), "", function () { self.close(); }));
    box.appendChild(controls);
    this.emit("call.media_blocked", { error: error && error.name });
  };

  VisitorCall.prototype.request = function () {
    var self = this, o = this.opts;
    this.screen(this.t("call.calling"), null);
    var body = {
      publicKey: o.publicKey, fingerprint: o.fingerprint, mediaType: this.mediaType,
      // the contact is the one /widget/qualify validated (the server refuses any other)
      qualificationToken: o.qualificationToken, contact: o.contact || undefined, attributes: o.attributes || {},
      pageUrl: o.pageUrl || String(window.location.href),
      recordingConsent: o.recordingPolicy === "consent" && o.recordingConsent === true,
    };
    fetch(this.base + "/widget/calls", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      credentials: "omit",
    }).then(function (response) {
      return response.json().then(function (json) { return { status: response.status, json: json }; });
    }).then(function (result) {
      if (result.status === 201) return self.queued(result.json);
      var code = result.json && result.json.error && result.json.error.code;
      self.failed(REQUEST_ERRORS[code] ? self.t(REQUEST_ERRORS[code]) : (result.json.error && result.json.error.message), code);
    }).catch(function (e) {
      self.failed(self.t("call.unreachable"), "network", "could not request the call: " + e.message);
    });
  };

  /** Every failure is said: on screen, as a call.failed event with its reason, in the console. */
  VisitorCall.prototype.failed = function (message, code, detail) {
    var self = this;
    this.stopMedia();
    log("call failed (" + (code || "error") + ")" + (detail ? ": " + detail : ""));
    if (this.torn) return;
    this.done = true;
    var box = this.screen(this.t("call.failedTitle"));
    box.appendChild(el("p", "cc-alert", message || this.t("call.somethingWrong"))).setAttribute("role", "alert");
    var controls = el("div", "cc-controls");
    if (this.opts.leaveDetails && code !== "call_in_progress") {
      controls.appendChild(button(this.t("flow.leaveDetailsButton"), "cc-primary", function () {
        self.opts.leaveDetails({ reason: code === "calls_paused" ? "no_one_available" : null });
      }));
    }
    if (this.opts.calendarUrl) controls.appendChild(this.calendarLink());
    controls.appendChild(button(this.t("close"), "", function () { self.close(); }));
    box.appendChild(controls);
    this.emit("call.failed", { code: code || "error", reason: code || "error", callId: this.call ? this.call.id : null });
  };

  /** Back after a reload, or on another page of the site: the server hands the same call back
   * (still ringing or answered) with a fresh token, or says it is over. */
  VisitorCall.prototype.rejoin = function () {
    var self = this, saved = this.opts.rejoin;
    this.screen(this.t("call.reconnecting"), null);
    fetch(saved.rejoinUrl, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: saved.token }), credentials: "omit" }).then(function (response) {
      return response.json().then(function (json) { return { status: response.status, json: json }; });
    }).then(function (result) {
      if (result.status === 200) return self.queued(result.json, true);
      Rejoin.forget(self.opts.publicKey);
      self.call = { id: saved.callId };
      self.ended((result.json.call && result.json.call.status) || "ended", "over");
    })["catch"](function (e) {
      self.failed(self.t("call.unreachable"), "network", "could not rejoin the call: " + e.message);
    });
  };

  VisitorCall.prototype.queued = function (data, rejoined) {
    var self = this;
    this.call = data.call;
    this.token = data.token;
    this.cancelUrl = data.cancelUrl;
    this.hangupUrl = data.hangupUrl;
    this.failUrl = data.cancelUrl.replace(/\/cancel$/, "/fail");
    if (this.torn) return this.leave(this.tornBecause);  // closed while the request was on its way
    if (!FINAL[data.call.status] && data.rejoinUrl) {
      Rejoin.keep(this.opts.publicKey, { callId: data.call.id, token: data.token, rejoinUrl: data.rejoinUrl,
        mediaType: data.call.mediaType, seconds: data.rejoinSeconds });
    }
    this.emit("call." + (rejoined ? "rejoined" : "requested"), { callId: data.call.id, mediaType: data.call.mediaType });
    if (data.nextAvailableAt) this.nextAvailableAt = data.nextAvailableAt;
    if (FINAL[data.call.status]) return this.ended(data.call.status, "no_one_available");
    window.addEventListener("pagehide", this.onPageHide);
    this.session = new Session({
      socketUrl: data.socketUrl, iceServers: data.iceServers, role: "visitor", localStream: this.stream,
      iceTransportPolicy: data.iceTransportPolicy,
      mediaType: data.call.mediaType, status: data.call.status,
      on: {
        accepted: function (rep) { self.accepted(rep); },
        remoteStream: function (stream) { self.showRemote(stream); },
        connection: function (state) { self.connection(state); },
        ended: function (status, reason, nextAt) {
          if (nextAt) self.nextAvailableAt = nextAt;
          self.ended(status, reason);
        },
        peerLeft: function () { if (self.statusLine) self.statusLine.textContent = self.t("call.reconnecting"); },
        recording: function (state) { self.recordingState(state); },
        socket: function (state, reason, code) { self.socketState(state, reason, code); },
      },
    }).start();
    ConvercCall.current = this.session;
    if (data.call.status === "accepted") this.accepted({ name: data.call.repName }, rejoined);
    else this.waiting(Date.parse(data.call.requestedAt));
  };

  VisitorCall.prototype.socketState = function (state, reason, code) {
    if (state === "refused") return this.failed(this.t("call.expired"), "token_expired");
    if (state === "reconnecting") {
      if (window.console && console.warn) console.warn("[Converc] call connection lost (" + reason + ", code " + code + "): retrying");
      if (this.statusLine) this.statusLine.textContent = this.t("call.reconnecting");
    }
    if (state !== "failed") return;
    // the server learns it too, so the reps stop ringing (or the answered call ends)
    this.report(reason);
    this.failed(this.t(SOCKET_ERRORS[reason] || "call.socketLost"), reason,
      "the call's connection to " + this.base + " failed (" + reason + (code ? ", code " + code : "") + ")");
  };

  /** POST {token, …} to the server, surviving the page's unload (keepalive / sendBeacon). */
  VisitorCall.prototype.beacon = function (url, extra) {
    var body = { token: this.token };
    for (var k in extra || {}) body[k] = extra[k];
    var data = JSON.stringify(body);
    if (navigator.sendBeacon && navigator.sendBeacon(url, data)) return;
    fetch(url, { method: "POST", body: data, keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain;charset=UTF-8" } })["catch"](function () {});
  };

  VisitorCall.prototype.report = function (reason) {
    Rejoin.forget(this.opts.publicKey);
    if (this.session) { this.session.finished = true; this.session.close(); }
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.failUrl) this.beacon(this.failUrl, { reason: reason });
  };

  VisitorCall.prototype.waiting = function (requestedAt) {
    var self = this, started = Math.min(Date.now(), requestedAt || Date.now());  // a rejoined call keeps its time
    var box = this.screen(this.t("waiting"), null);
    box.insertBefore(el("div", "cc-pulse"), box.firstChild);
    var elapsed = el("p", "cc-elapsed", "0:00");
    elapsed.setAttribute("aria-label", this.t("call.waitingTime"));
    elapsed.setAttribute("role", "timer");
    box.appendChild(elapsed);
    if (this.recorded()) box.appendChild(el("p", "cc-text", this.t("recordingNotice")));
    box.appendChild(button(this.t("call.cancel"), "", function () { self.cancel(); }));
    this.ticker = setInterval(function () { elapsed.textContent = clock(Math.floor((Date.now() - started) / 1000)); }, 1000);
  };

  VisitorCall.prototype.accepted = function (rep, rejoined) {
    var self = this;
    this.repName = rep.name || "";
    if (!rejoined) this.emit("call.accepted", { callId: this.call.id, repName: this.repName });
    var onCall = this.repName ? this.t("call.onCallWith", { name: this.repName }) : this.t("call.onCall");
    var box = this.screen(null, null);
    var stage = el("div", "cc-stage");
    this.remoteVideo = el("video", "cc-remote");
    this.remoteVideo.autoplay = true;
    this.remoteVideo.playsInline = true;
    this.remoteVideo.setAttribute("aria-label", onCall);
    stage.appendChild(this.remoteVideo);
    if (this.call.mediaType === "audio") {
      stage.appendChild(el("div", "cc-audio-only", onCall));
    } else if (this.stream && this.stream.getVideoTracks().length) {
      var local = el("video", "cc-local");
      local.autoplay = true;
      local.muted = true;
      local.playsInline = true;
      local.setAttribute("aria-hidden", "true");
      local.srcObject = this.stream;
      stage.appendChild(local);
    }
    this.recIndicator = el("p", "cc-rec", this.t("call.recording"));
    this.recIndicator.setAttribute("role", "status");
    this.recIndicator.hidden = !this.recordingNow;
    stage.appendChild(this.recIndicator);
    box.appendChild(stage);
    this.statusLine = el("p", "cc-text", this.t("call.connectingTo", { name: this.repName || this.t("call.ourTeam") }));
    box.appendChild(this.statusLine);
    var controls = el("div", "cc-controls");
    var mute = button(this.t("call.mute"), "", function () {
      var on = mute.getAttribute("aria-pressed") !== "true";
      mute.setAttribute("aria-pressed", String(on));
      if (self.session) self.session.setMuted(on);
    });
    mute.setAttribute("aria-pressed", "false");
    controls.appendChild(mute);
    if (this.stream && this.stream.getVideoTracks().length) {
      var camera = button(this.t("call.cameraOff"), "", function () {
        var off = camera.getAttribute("aria-pressed") !== "true";
        camera.setAttribute("aria-pressed", String(off));
        if (self.session) self.session.setCameraOff(off);
      });
      camera.setAttribute("aria-pressed", "false");
      controls.appendChild(camera);
    }
    var hangUp = controls.appendChild(button(this.t("call.hangUp"), "cc-danger", function () { self.hangUp(); }));
    box.appendChild(controls);
    this.focusLater(hangUp, onCall);
  };

  /** The visitor was told (notice) or agreed (consent): the call may be recorded. */
  VisitorCall.prototype.recorded = function () {
    var policy = this.opts.recordingPolicy;
    return policy === "notice" || (policy === "consent" && this.opts.recordingConsent === true);
  };

  /** The server says the rep's recorder started or stopped: the indicator follows it. */
  VisitorCall.prototype.recordingState = function (state) {
    this.recordingNow = state === "recording";
    if (this.recIndicator) this.recIndicator.hidden = !this.recordingNow;
    this.emit("call.recording", { callId: this.call && this.call.id, state: state });
  };

  VisitorCall.prototype.showRemote = function (stream) {
    if (this.remoteVideo && this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
  };

  VisitorCall.prototype.connection = function (state) {
    if (!this.statusLine) return;
    if (state === "connected") {
      var started = Date.now(), line = this.statusLine;
      var prefix = this.t("connected") + " " + (this.repName ? this.repName + " · " : "");
      clearInterval(this.ticker);
      line.textContent = prefix + "0:00";
      this.ticker = setInterval(function () {
        line.textContent = prefix + clock(Math.floor((Date.now() - started) / 1000));
      }, 1000);
      this.emit("call.connected", { callId: this.call.id });
    } else if (state === "disconnected" || state === "failed") {
      this.statusLine.textContent = this.t("call.reconnecting");
    }
  };

  VisitorCall.prototype.post = function (url) {
    if (this.previewing) return Promise.resolve(null);  // the dashboard's preview: no call to tell
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ token: this.token }), credentials: "omit" });
  };

  VisitorCall.prototype.cancel = function () {
    var self = this;
    Rejoin.forget(this.opts.publicKey);
    if (this.session) this.session.finished = true;  // our own screen follows, not the socket's
    this.done = true;
    this.stopMedia();
    this.post(this.cancelUrl).catch(function () {}).then(function () {
      self.emit("call.canceled", { callId: self.call.id });
      self.emit("call.ended", { callId: self.call.id, status: "canceled" });
      self.close();
    });
  };

  VisitorCall.prototype.hangUp = function () {
    var self = this;
    this.post(this.hangupUrl).catch(function () { if (self.session) self.session.hangUp(); });
    this.ended("ended", "visitor_hung_up");
  };

  VisitorCall.prototype.ended = function (status, reason) {
    var self = this;
    Rejoin.forget(this.opts.publicKey);
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.session && !this.session.finished) this.session.finish(status, reason);
    this.stopMedia();
    if (this.done) return;
    this.done = true;
    var box;
    if (status === "missed") {
      var nobody = reason === "no_one_available";
      // what happens next, truthfully: nobody calls unless the visitor leaves details or books
      var next = this.t(this.opts.leaveDetails ? (this.opts.calendarUrl ? "call.leaveOrBook" : "call.leaveDetailsNext")
        : (this.opts.calendarUrl ? "call.bookNext" : "call.tryLater"));
      box = this.screen(this.t(nobody ? "unavailable" : "missed"), next);
      // the server's answer at the moment of the miss; else the widget config's, from page load
      var nextAt = this.nextAvailableAt || this.opts.nextAvailableAt;
      var back = nextAt && this.opts.backAt ? this.opts.backAt(nextAt) : null;
      if (back) box.appendChild(el("p", "cc-text cc-next", back));
      this.emit("call.missed", { callId: this.call.id, reason: reason });
    } else {
      box = this.screen(status === "canceled" ? this.t("call.canceledTitle") : this.t("ended"),
                        status === "canceled" ? null : this.t("call.endedText"));
    }
    this.emit("call.ended", { callId: this.call.id, status: status, reason: reason });
    var controls = el("div", "cc-controls");
    if (status === "missed" && this.opts.leaveDetails) {
      var callId = this.call.id;
      controls.appendChild(button(this.t("flow.leaveDetailsButton"), "cc-primary", function () {
        self.stopMedia();
        self.opts.leaveDetails({ callId: callId, reason: reason });
      }));
    }
    if (status === "missed" && this.opts.calendarUrl) controls.appendChild(this.calendarLink());
    controls.appendChild(button(this.t("close"), "", function () { self.close(); }));
    box.appendChild(controls);
  };

  VisitorCall.prototype.calendarLink = function () {
    var link = el("a", "cc-button cc-primary cc-link", this.t("calendar"));
    var url = String(this.opts.calendarUrl);
    if (/^https?:\/\//i.test(url)) link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    return link;
  };

  /** The page goes away: a reload or another page of the site, or the tab closing; nobody can tell
   * which from here. The call is kept for the server's grace (CALL_REJOIN_SECONDS): the next page
   * of this site in this tab rejoins it; otherwise it ends when the grace runs out. Media stops now. */
  VisitorCall.prototype.onPageHide = function () {
    if (!this.call || this.torn || this.done) return this.teardown("page_closed");
    Rejoin.left(this.opts.publicKey);
    this.torn = true;
    clearInterval(this.watcher);
    if (this.observer) this.observer.disconnect();
    this.stopMedia();
    if (this.session) { this.session.finished = true; this.session.close(); }
  };

  /** Is there a call (or the camera) that closing the widget would end? */
  VisitorCall.prototype.active = function () {
    if (this.torn || this.done) return false;
    return !!(this.stream || this.call);
  };

  /** The visitor pressed × or Escape during the call: ask before ending it. */
  VisitorCall.prototype.confirmEnd = function (onKeep) {
    var self = this, mount = this.opts.mount;
    if (!this.active()) return false;
    if (this.confirmBox && this.confirmBox.isConnected) return true;
    var box = this.confirmBox = el("div", "cc-confirm");
    box.setAttribute("role", "group");
    var title = box.appendChild(el("h3", "cc-title", this.t("call.endTitle")));
    title.id = "cc-confirm-title";
    title.tabIndex = -1;
    box.setAttribute("aria-labelledby", title.id);
    box.appendChild(el("p", "cc-text", this.t("call.endText")));
    var controls = el("div", "cc-controls"), keep;
    controls.appendChild(button(this.t("call.endConfirm"), "cc-danger", function () { self.teardown("closed"); }));
    keep = controls.appendChild(button(this.t("call.keep"), "", function () {
      // focus moves to the call screen before the box goes: it never falls to the host page,
      // where the next Escape would not reach the widget
      var back = mount.querySelector(".cc-screen .cc-title,.cc-screen button");
      if (back && self.opts.focus) self.opts.focus(back);
      box.remove();
      if (onKeep) onKeep();
    }));
    box.appendChild(controls);
    mount.insertBefore(box, mount.firstChild);
    this.focusLater(title, this.t("call.endTitle"));
    return keep && true;
  };

  /** End everything now, whatever the state: tracks stop, the server cancels or hangs up. */
  VisitorCall.prototype.teardown = function (why) {
    if (this.torn) return;
    Rejoin.forget(this.opts.publicKey);
    var wasActive = this.active();
    this.torn = true;
    this.tornBecause = why;
    clearInterval(this.watcher);
    if (this.observer) this.observer.disconnect();
    this.stopMedia();
    if (this.session) { this.session.finished = true; this.session.close(); }
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.call && wasActive) this.leave(why);
    if (why === "closed" && this.opts.onClose) this.opts.onClose();
  };

  /** Tell the server the visitor is gone: a waiting call is canceled, an answered one ends. */
  VisitorCall.prototype.leave = function (why) {
    this.beacon(this.cancelUrl);
    this.done = true;
    this.emit("call.ended", { callId: this.call.id, status: this.session && this.session.status === "accepted"
      ? "ended" : "canceled", reason: why });
  };

  VisitorCall.prototype.stopMedia = function () {
    clearInterval(this.ticker);
    if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
  };

  VisitorCall.prototype.close = function () {
    Rejoin.forget(this.opts.publicKey);
    this.stopMedia();
    if (this.session) this.session.close();
    this.torn = true;
    clearInterval(this.watcher);
    if (this.observer) this.observer.disconnect();
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.opts.onClose) this.opts.onClose();
  };

  var ConvercCall = {
    Session: Session,
    current: null,
    /** Start the visitor's call inside the widget; returns a handle to cancel, hang up or end it. */
    start: function (opts) {
      if (!opts || !opts.mount) throw new Error("ConvercCall.start needs a mount element");
      adoptStyles(opts.shadowRoot || (opts.mount.getRootNode && opts.mount.getRootNode()), opts.theme);
      var call = new VisitorCall(opts);
      call.start();
      return {
        cancel: function () { call.cancel(); },
        hangUp: function () { call.hangUp(); },
        /** true while a call or the camera is live (closing the widget would end it) */
        active: function () { return call.active(); },
        /** ask "End the call?" inside the call screen; false when there is nothing to end */
        confirmEnd: function (onKeep) { return call.confirmEnd(onKeep); },
        /** end it now: "closed" (the visitor confirmed), "api" (Converc.close()), "removed", "page_closed" */
        end: function (why) { call.teardown(why || "api"); },
        stats: function () { return call.session ? call.session.stats() : Promise.resolve(null); },
      };
    },
  };
  /** The dashboard's live preview: one state of the call drawn by the real screens, with no
   * camera, no request and no socket ("ringing", "in_call", "ended", "missed"). */
  ConvercCall.preview = function (opts, state) {
    adoptStyles(opts.shadowRoot || (opts.mount.getRootNode && opts.mount.getRootNode()), opts.theme);
    var call = new VisitorCall(opts);
    call.previewing = true;
    call.call = { id: "preview", mediaType: call.mediaType };
    if (state === "ringing") call.waiting(Date.now());
    else if (state === "in_call") { call.accepted({ name: opts.repName || "" }, true); call.connection("connected"); }
    else call.ended(state === "missed" ? "missed" : "ended", state === "missed" ? "no_answer" : "visitor_hung_up");
    return { active: function () { return false; }, confirmEnd: function () { return false; },
      end: function () { call.torn = true; call.stopMedia(); } };
  };
  window.ConvercCall = ConvercCall;
})();
