// The rep's socket, opened by every dashboard page: it is the rep's presence, and it brings the
// incoming-call alert (sound, and a browser notification when the tab is hidden), "taken by …",
// "canceled" and "missed". Reconnects with backoff; the server re-sends rings still pending.
(function () {
  "use strict";
  var box = document.getElementById("call-alerts");
  if (!box || !window.WebSocket) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var me = box.getAttribute("data-user-id");
  var alerts = {};  // call id -> {node, timer}
  var attempt = 0, pinger = null, ws = null;

  function socketUrl() {
    // this page's own host and scheme: right behind a TLS-terminating proxy too
    var path = new URL(box.getAttribute("data-socket-url"), location.href).pathname;
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function connect() {
    ws = new WebSocket(socketUrl());
    ws.onopen = function () {
      attempt = 0;
      box.setAttribute("data-state", "connected");
      clearInterval(pinger);
      pinger = setInterval(function () { ws.send(JSON.stringify({ type: "ping" })); }, 20000);
    };
    ws.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "hello") {  // the server counts us online now
        box.setAttribute("data-presence", "online");
        presenceChanged();
      }
      else if (message.type === "ring") ring(message.call);
      else if (message.type === "call-update") update(message);
      else if (message.type === "call-contact") known(message);
    };
    ws.onclose = function (event) {
      clearInterval(pinger);
      box.removeAttribute("data-presence");
      if (event.code === 4401) { box.setAttribute("data-state", "logged-out"); return; }
      box.setAttribute("data-state", "reconnecting");
      presenceChanged();
      var delay = Math.min(15000, 500 * Math.pow(2, attempt++)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // the Available switch and "Who can take a call now?" re-read themselves (htmx triggers):
  // without an open socket the rep cannot take calls, and they should see it
  function presenceChanged() {
    document.body.dispatchEvent(new CustomEvent("presence-changed"));
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function ring(call) {
    if (alerts[call.id]) return;  // a reconnect re-sends rings still pending
    var contact = call.contact || {};
    var card = el("section", "call-alert");
    card.setAttribute("role", "alertdialog");
    card.setAttribute("aria-label", "Incoming call");
    card.setAttribute("data-call-id", call.id);
    card.appendChild(el("h2", null, "Incoming " + call.mediaType + " call"));
    var who = el("p", "visitor-name"), where = el("p", "meta visitor-where");
    card.appendChild(who);
    card.appendChild(where);
    describe(who, where, call, contact);
    if (call.answers && call.answers.length) {
      var list = el("dl");
      call.answers.forEach(function (a) {
        list.appendChild(el("dt", null, a.question));
        list.appendChild(el("dd", null, a.answer || "—"));
      });
      card.appendChild(list);
    }
    var note = el("p", "meta note");
    card.appendChild(note);
    var actions = el("div", "actions");
    var accept = el("button", "primary", "Accept");
    var decline = el("button", null, "Decline");
    accept.type = decline.type = "button";
    accept.addEventListener("click", function () { answer(call, accept, note); });
    decline.addEventListener("click", function () { post(call.declineUrl); close(call.id, 0); });
    actions.appendChild(accept);
    actions.appendChild(decline);
    card.appendChild(actions);
    box.appendChild(card);
    var expires = Date.parse(call.expiresAt);
    alerts[call.id] = { node: card, note: note, call: call, who: who, where: where, timer: setTimeout(function () {
      settle(call.id, "Nobody answered in time.");
    }, Math.max(1000, expires - Date.now() + 2000)) };
    sound.start();
    notify(call, contact);
  }

  function describe(who, where, call, contact) {
    who.textContent = contact.name || contact.email || "Anonymous visitor";
    where.textContent = [contact.location, call.pageUrl || call.siteDomain].filter(Boolean).join(" · ");
    where.hidden = !where.textContent;
  }

  // the ring shows what the visitor told us as they asked; what we knew of them (an earlier
  // visit's name or email) follows a moment later
  function known(message) {
    var alert = alerts[message.callId];
    if (alert && message.contact) describe(alert.who, alert.where, alert.call, message.contact);
  }

  function post(url) {
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } });
  }

  function answer(call, button, note) {
    button.disabled = true;
    post(call.acceptUrl).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    }).then(function (result) {
      if (result.ok) { sound.stop(); location.assign(result.json.url); return; }
      settle(call.id, result.json.error ? result.json.error.message : "This call is no longer available.");
    }).catch(function () {
      button.disabled = false;
      note.textContent = "Could not reach the server. Try again.";
    });
  }

  function update(message) {
    var id = message.callId;
    if (message.status === "declined") return close(id, 0);
    if (message.status === "accepted") {
      if (message.acceptedById === me) return close(id, 0);
      return settle(id, "Taken by " + message.acceptedBy + ".");
    }
    if (message.status === "canceled") return settle(id, "The visitor left before anyone answered.");
    if (message.status === "missed") return settle(id, "Missed: nobody answered in time.");
  }

  // keep the card a moment so the rep sees what happened, without buttons
  function settle(id, text) {
    var alert = alerts[id];
    if (!alert) return;
    alert.note.textContent = text;
    alert.node.classList.add("closed");
    var actions = alert.node.querySelector(".actions");
    if (actions) actions.remove();
    close(id, 4000);
  }

  function close(id, after) {
    var alert = alerts[id];
    if (!alert) return;
    clearTimeout(alert.timer);
    if (alert.notification) alert.notification.close();
    delete alerts[id];
    if (!Object.keys(alerts).length) sound.stop();
    setTimeout(function () { alert.node.remove(); }, after);
  }

  function notify(call, contact) {
    if (!document.hidden || !window.Notification || Notification.permission !== "granted") return;
    var n = new Notification("Incoming " + call.mediaType + " call", {
      body: (contact.name || "A visitor") + (contact.location ? " · " + contact.location : ""),
      tag: "converc-call-" + call.id, requireInteraction: true,
    });
    n.onclick = function () { window.focus(); n.close(); };
    alerts[call.id].notification = n;
  }

  // a two-tone ring made with WebAudio: no file to load, and nothing plays before a first click
  var sound = {
    context: null, timer: null,
    start: function () {
      if (this.timer || !(window.AudioContext || window.webkitAudioContext)) return;
      var self = this;
      this.context = this.context || new (window.AudioContext || window.webkitAudioContext)();
      var beep = function () {
        var ctx = self.context;
        [0, 0.25].forEach(function (offset, i) {
          var osc = ctx.createOscillator(), gain = ctx.createGain();
          osc.frequency.value = i ? 660 : 880;
          gain.gain.value = 0.08;
          osc.connect(gain).connect(ctx.destination);
          osc.start(ctx.currentTime + offset);
          osc.stop(ctx.currentTime + offset + 0.2);
        });
      };
      beep();
      this.timer = setInterval(beep, 2000);
    },
    stop: function () { clearInterval(this.timer); this.timer = null; },
  };

  // browsers only let a page ask for notifications (and play sound) after the person interacts
  document.addEventListener("click", function once() {
    document.removeEventListener("click", once);
    if (sound.context && sound.context.state === "suspended") sound.context.resume();
    if (window.Notification && Notification.permission === "default") Notification.requestPermission();
  });

  connect();
})();
