/* Converc live call: the visitor's call screens inside the widget, and the WebRTC session
 * that the dashboard's call screen shares.
 *
 * The widget flow lazy-loads this file after "Call now" and calls
 *   window.ConvercCall.start({mount, shadowRoot, baseUrl, publicKey, fingerprint, mediaType,
 *     qualificationToken, contact, attributes, pageUrl, copy, calendarUrl, nextAvailableAt,
 *     theme, emit, onClose, recordingPolicy, recordingConsent})
 * Screens render into `mount` (inside the widget's shadow root), styled by a constructed
 * stylesheet (customer pages may forbid inline styles). Visitor text only ever goes in as
 * textContent.
 */
(function () {
  "use strict";
  if (window.ConvercCall) return;

  var PING_MS = 20000;
  var FINAL = { ended: 1, canceled: 1, missed: 1 };

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
    var self = this;
    var ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = function () {
      self.attempt = 0;
      self.onStatus("open");
      while (self.queue.length) ws.send(self.queue.shift());
      clearInterval(self.pinger);
      self.pinger = setInterval(function () { self.send({ type: "ping" }); }, PING_MS);
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type !== "pong") self.onMessage(message);
    };
    ws.onclose = function (event) {
      clearInterval(self.pinger);
      if (self.closed) return;
      if (event.code >= 4400 && event.code < 4500) {  // refused: reconnecting will not help
        self.closed = true;
        self.onStatus("refused", event.reason);
        return;
      }
      self.onStatus("reconnecting");
      var delay = Math.min(10000, 500 * Math.pow(2, self.attempt++)) * (0.75 + Math.random() / 2);
      self.timer = setTimeout(function () { self.connect(); }, delay);
    };
  };

  Signal.prototype.send = function (message) {
    var data = JSON.stringify(message);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
    else this.queue.push(data);
  };

  Signal.prototype.close = function () {
    this.closed = true;
    clearInterval(this.pinger);
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
    this.status = null;
    this.on = options.on || {};
  }

  Session.prototype.start = function () {
    var self = this;
    this.signal = new Signal(this.options.socketUrl, function (m) { self.handle(m); }, function (s, reason) {
      self.fire("socket", s, reason);
    });
    return this;
  };

  Session.prototype.fire = function (name) {
    var handler = this.on[name];
    if (handler) handler.apply(this, Array.prototype.slice.call(arguments, 1));
  };

  Session.prototype.handle = function (message) {
    if (message.type === "state") {
      this.status = message.status;
      if (message.recording) this.fire("recording", "recording");
      if (FINAL[message.status]) this.finish(message.status, null);
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
    var pc = new RTCPeerConnection({ iceServers: this.options.iceServers || [] });
    this.pc = pc;
    this.pendingCandidates = [];
    this.watch(pc);
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
      if (pc.connectionState === "failed" && self.role === "visitor" && !FINAL[self.status]) self.offer(true);
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

  // ---- the visitor's screens ---------------------------------------------------------------

  var CSS = [
    ":host{--cc-accent:#4f46e5;--cc-text:#1c2030;--cc-muted:#636a7e;--cc-radius:12px}",
    ".cc-screen{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--cc-text,#1c2030);",
    "display:flex;flex-direction:column;gap:12px;padding:4px 0;text-align:center}",
    ".cc-title{font-size:17px;font-weight:600;margin:0}",
    ".cc-text{margin:0;color:var(--cc-muted,#636a7e)}",
    ".cc-elapsed{font-variant-numeric:tabular-nums;font-size:28px;font-weight:600;margin:4px 0}",
    ".cc-pulse{width:56px;height:56px;margin:4px auto;border-radius:50%;background:var(--cc-accent,#4f46e5);",
    "animation:cc-pulse 1.4s ease-in-out infinite}",
    "@keyframes cc-pulse{0%,100%{transform:scale(.85);opacity:.6}50%{transform:scale(1);opacity:1}}",
    ".cc-stage{position:relative;background:#0f1222;border-radius:var(--cc-radius,12px);overflow:hidden;aspect-ratio:4/3}",
    ".cc-remote{width:100%;height:100%;object-fit:cover;display:block}",
    ".cc-local{position:absolute;right:8px;bottom:8px;width:28%;border-radius:8px;border:2px solid #fff;",
    "transform:scaleX(-1)}",
    ".cc-audio-only{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;",
    "color:#fff;font-size:16px;padding:12px}",
    ".cc-controls{display:flex;gap:8px;justify-content:center;flex-wrap:wrap}",
    ".cc-button{font:inherit;border:1px solid #cdd2e0;background:#fff;color:var(--cc-text,#1c2030);",
    "border-radius:999px;padding:8px 16px;cursor:pointer}",
    ".cc-button[aria-pressed=true]{background:#eef0f7}",
    ".cc-primary{background:var(--cc-accent,#4f46e5);border-color:var(--cc-accent,#4f46e5);color:#fff;font-weight:600}",
    ".cc-danger{background:#d93025;border-color:#d93025;color:#fff;font-weight:600}",
    ".cc-link{color:var(--cc-accent,#4f46e5);font-weight:600}",
    ".cc-alert{background:#fdecea;color:#8c1d18;border-radius:8px;padding:10px 12px;text-align:left;margin:0}",
    ".cc-rec{position:absolute;left:8px;top:8px;display:flex;align-items:center;gap:6px;padding:3px 10px;",
    "border-radius:999px;background:rgba(0,0,0,.6);color:#fff;font-size:12px;font-weight:600}",
    ".cc-rec[hidden]{display:none}",
    ".cc-rec:before{content:'';width:8px;height:8px;border-radius:50%;background:#ff4d4d;animation:cc-blink 1.2s infinite}",
    "@keyframes cc-blink{50%{opacity:.3}}",
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

  var MEDIA_ERRORS = {
    NotAllowedError: "Your browser blocked the camera and microphone. Allow them for this site " +
      "(the camera icon in the address bar), then try again.",
    SecurityError: "Your browser blocked the camera and microphone on this page. Allow them, then try again.",
    NotFoundError: "We could not find a camera or microphone. Plug one in, or call with audio only.",
    OverconstrainedError: "We could not find a camera or microphone. Plug one in, or call with audio only.",
    NotReadableError: "Another app is using your camera or microphone. Close it, then try again.",
  };

  var REQUEST_ERRORS = {
    rate_limited: "Too many call requests from your network. Please try again later.",
    call_in_progress: "You already have a call waiting for an answer.",
    calls_paused: "Our team is not taking calls right now.",
    invalid_qualification: "This took a while: please answer the questions again.",
  };

  function VisitorCall(opts) {
    this.opts = opts;
    this.copy = opts.copy || {};
    this.mediaType = opts.mediaType === "audio" ? "audio" : "video";
    this.emit = opts.emit || function () {};
    this.base = (opts.baseUrl || "").replace(/\/$/, "");
    this.onPageHide = this.onPageHide.bind(this);
  }

  VisitorCall.prototype.screen = function (title, text) {
    clearInterval(this.ticker);
    var mount = this.opts.mount;
    while (mount.firstChild) mount.removeChild(mount.firstChild);
    var box = el("div", "cc-screen");
    box.setAttribute("role", "status");
    if (title) box.appendChild(el("p", "cc-title", title));
    if (text) box.appendChild(el("p", "cc-text", text));
    mount.appendChild(box);
    return box;
  };

  VisitorCall.prototype.start = function () {
    var self = this;
    this.screen(this.mediaType === "video" ? "Allow your camera and microphone" : "Allow your microphone",
      "Your browser will ask for permission so the rep can see and hear you.");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return this.mediaFailed({ name: "SecurityError" });
    }
    navigator.mediaDevices.getUserMedia({ audio: true, video: this.mediaType === "video" })
      .then(function (stream) { self.stream = stream; self.request(); })
      .catch(function (e) { self.mediaFailed(e); });
  };

  VisitorCall.prototype.mediaFailed = function (error) {
    var self = this;
    var message = MEDIA_ERRORS[error && error.name] || MEDIA_ERRORS.NotAllowedError;
    var box = this.screen(this.mediaType === "video" ? "Camera or microphone blocked" : "Microphone blocked");
    box.appendChild(el("p", "cc-alert", message)).setAttribute("role", "alert");
    var controls = el("div", "cc-controls");
    controls.appendChild(button("Try again", "cc-primary", function () { self.start(); }));
    if (this.mediaType === "video") {
      controls.appendChild(button("Call with audio only", "", function () { self.mediaType = "audio"; self.start(); }));
    }
    controls.appendChild(button("Close", "", function () { self.close(); }));
    box.appendChild(controls);
    this.emit("call.media_blocked", { error: error && error.name });
  };

  VisitorCall.prototype.request = function () {
    var self = this, o = this.opts;
    this.screen("Calling…", null);
    var body = {
      publicKey: o.publicKey, fingerprint: o.fingerprint, mediaType: this.mediaType,
      qualificationToken: o.qualificationToken, contact: o.contact || {}, attributes: o.attributes || {},
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
      self.failed(REQUEST_ERRORS[code] || (result.json.error && result.json.error.message), code);
    }).catch(function () {
      self.failed("We could not reach our team. Check your connection and try again.", "network");
    });
  };

  VisitorCall.prototype.failed = function (message, code) {
    var self = this;
    this.stopMedia();
    var box = this.screen("We could not start the call");
    box.appendChild(el("p", "cc-alert", message || "Something went wrong. Please try again."));
    var controls = el("div", "cc-controls");
    if (this.opts.calendarUrl) controls.appendChild(this.calendarLink());
    controls.appendChild(button("Close", "", function () { self.close(); }));
    box.appendChild(controls);
    this.emit("call.failed", { code: code || "error" });
  };

  VisitorCall.prototype.queued = function (data) {
    var self = this;
    this.call = data.call;
    this.token = data.token;
    this.cancelUrl = data.cancelUrl;
    this.hangupUrl = data.hangupUrl;
    this.emit("call.requested", { callId: data.call.id, mediaType: data.call.mediaType });
    if (data.nextAvailableAt) this.nextAvailableAt = data.nextAvailableAt;
    if (FINAL[data.call.status]) return this.ended(data.call.status, "no_one_available");
    window.addEventListener("pagehide", this.onPageHide);
    this.session = new Session({
      socketUrl: data.socketUrl, iceServers: data.iceServers, role: "visitor", localStream: this.stream,
      mediaType: data.call.mediaType,
      on: {
        accepted: function (rep) { self.accepted(rep); },
        remoteStream: function (stream) { self.showRemote(stream); },
        connection: function (state) { self.connection(state); },
        ended: function (status, reason, nextAt) {
          if (nextAt) self.nextAvailableAt = nextAt;
          self.ended(status, reason);
        },
        peerLeft: function () { if (self.statusLine) self.statusLine.textContent = "Reconnecting…"; },
        recording: function (state) { self.recordingState(state); },
        socket: function (state) {
          if (state === "refused") self.failed("This call expired. Please start a new one.", "token_expired");
        },
      },
    }).start();
    ConvercCall.current = this.session;
    this.waiting();
  };

  VisitorCall.prototype.waiting = function () {
    var self = this, started = Date.now();
    // the theme's copy says it all; the default title has a second line
    var box = this.screen(this.copy.waiting || "Connecting you with our team…",
                          this.copy.waiting ? null : "Someone will pick up in a moment.");
    box.insertBefore(el("div", "cc-pulse"), box.firstChild);
    var elapsed = el("p", "cc-elapsed", "0:00");
    elapsed.setAttribute("aria-label", "Waiting time");
    box.appendChild(elapsed);
    if (this.recorded()) box.appendChild(el("p", "cc-text", this.copy.recordingNotice || "This call will be recorded."));
    box.appendChild(button("Cancel", "", function () { self.cancel(); }));
    this.ticker = setInterval(function () { elapsed.textContent = clock(Math.floor((Date.now() - started) / 1000)); }, 1000);
  };

  VisitorCall.prototype.accepted = function (rep) {
    var self = this;
    this.repName = rep.name || "";
    this.emit("call.accepted", { callId: this.call.id, repName: this.repName });
    var box = this.screen(null, null);
    var stage = el("div", "cc-stage");
    this.remoteVideo = el("video", "cc-remote");
    this.remoteVideo.autoplay = true;
    this.remoteVideo.playsInline = true;
    stage.appendChild(this.remoteVideo);
    if (this.call.mediaType === "audio") {
      stage.appendChild(el("div", "cc-audio-only", this.repName ? "On a call with " + this.repName : "On a call"));
    } else if (this.stream && this.stream.getVideoTracks().length) {
      var local = el("video", "cc-local");
      local.autoplay = true;
      local.muted = true;
      local.playsInline = true;
      local.srcObject = this.stream;
      stage.appendChild(local);
    }
    this.recIndicator = el("p", "cc-rec", "Recording");
    this.recIndicator.setAttribute("role", "status");
    this.recIndicator.hidden = !this.recordingNow;
    stage.appendChild(this.recIndicator);
    box.appendChild(stage);
    this.statusLine = el("p", "cc-text", "Connecting to " + (this.repName || "our team") + "…");
    box.appendChild(this.statusLine);
    var controls = el("div", "cc-controls");
    var mute = button("Mute", "", function () {
      var on = mute.getAttribute("aria-pressed") !== "true";
      mute.setAttribute("aria-pressed", String(on));
      mute.textContent = on ? "Unmute" : "Mute";
      self.session.setMuted(on);
    });
    mute.setAttribute("aria-pressed", "false");
    controls.appendChild(mute);
    if (this.stream && this.stream.getVideoTracks().length) {
      var camera = button("Camera off", "", function () {
        var off = camera.getAttribute("aria-pressed") !== "true";
        camera.setAttribute("aria-pressed", String(off));
        camera.textContent = off ? "Camera on" : "Camera off";
        self.session.setCameraOff(off);
      });
      camera.setAttribute("aria-pressed", "false");
      controls.appendChild(camera);
    }
    controls.appendChild(button("Hang up", "cc-danger", function () { self.hangUp(); }));
    box.appendChild(controls);
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
      var prefix = (this.copy.connected ? this.copy.connected + " " : "") + (this.repName ? this.repName + " · " : "");
      clearInterval(this.ticker);
      line.textContent = prefix + "0:00";
      this.ticker = setInterval(function () {
        line.textContent = prefix + clock(Math.floor((Date.now() - started) / 1000));
      }, 1000);
      this.emit("call.connected", { callId: this.call.id });
    } else if (state === "disconnected" || state === "failed") {
      this.statusLine.textContent = "Reconnecting…";
    }
  };

  VisitorCall.prototype.post = function (url) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ token: this.token }), credentials: "omit" });
  };

  VisitorCall.prototype.cancel = function () {
    var self = this;
    if (this.session) this.session.finished = true;  // our own screen follows, not the socket's
    this.post(this.cancelUrl).catch(function () {}).then(function () {
      self.emit("call.canceled", { callId: self.call.id });
      self.emit("call.ended", { callId: self.call.id, status: "canceled" });
      self.close();
    });
  };

  VisitorCall.prototype.hangUp = function () {
    var self = this;
    this.post(this.hangupUrl).catch(function () { self.session.hangUp(); });
    this.ended("ended", "visitor_hung_up");
  };

  VisitorCall.prototype.ended = function (status, reason) {
    var self = this;
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.session && !this.session.finished) this.session.finish(status, reason);
    this.stopMedia();
    if (this.done) return;
    this.done = true;
    var box;
    if (status === "missed") {
      var nobody = reason === "no_one_available";
      box = this.screen(nobody ? (this.copy.unavailable || "No one is available right now")
                               : (this.copy.missed || "Sorry, no one could answer"),
                        this.opts.calendarUrl ? "Book a time and we will call you." : "Please try again later.");
      // the server's answer at the moment of the miss; else the widget config's, from page load
      var next = this.nextAvailableAt || this.opts.nextAvailableAt;
      var when = next ? new Date(next) : null;
      if (when && !isNaN(when)) {
        var back = window.ConvercFlow && window.ConvercFlow.backAt ? window.ConvercFlow.backAt(next) : null;
        box.appendChild(el("p", "cc-text cc-next", back || ("Back " + when.toLocaleString())));
      }
      this.emit("call.missed", { callId: this.call.id, reason: reason });
    } else {
      box = this.screen(status === "canceled" ? "Call canceled" : (this.copy.ended || "Thanks for calling!"),
                        status === "canceled" ? null : "The call has ended.");
    }
    this.emit("call.ended", { callId: this.call.id, status: status, reason: reason });
    var controls = el("div", "cc-controls");
    if (status === "missed" && this.opts.calendarUrl) controls.appendChild(this.calendarLink());
    controls.appendChild(button("Close", "", function () { self.close(); }));
    box.appendChild(controls);
  };

  VisitorCall.prototype.calendarLink = function () {
    var link = el("a", "cc-button cc-primary cc-link", "Book a time");
    var url = String(this.opts.calendarUrl);
    if (/^https?:\/\//i.test(url)) link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    return link;
  };

  VisitorCall.prototype.onPageHide = function () {
    // leaving the page: leave the queue (or hang up) now, not after the server's grace period
    var url = this.session && this.session.status === "accepted" ? this.hangupUrl : this.cancelUrl;
    if (navigator.sendBeacon) navigator.sendBeacon(url, JSON.stringify({ token: this.token }));
  };

  VisitorCall.prototype.stopMedia = function () {
    clearInterval(this.ticker);
    if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
  };

  VisitorCall.prototype.close = function () {
    this.stopMedia();
    if (this.session) this.session.close();
    window.removeEventListener("pagehide", this.onPageHide);
    if (this.opts.onClose) this.opts.onClose();
  };

  var ConvercCall = {
    Session: Session,
    current: null,
    /** Start the visitor's call inside the widget; returns a handle to cancel or hang up. */
    start: function (opts) {
      if (!opts || !opts.mount) throw new Error("ConvercCall.start needs a mount element");
      adoptStyles(opts.shadowRoot || (opts.mount.getRootNode && opts.mount.getRootNode()), opts.theme);
      var call = new VisitorCall(opts);
      call.start();
      return {
        cancel: function () { call.cancel(); },
        hangUp: function () { call.hangUp(); },
        stats: function () { return call.session ? call.session.stats() : Promise.resolve(null); },
      };
    },
  };
  window.ConvercCall = ConvercCall;
})();
