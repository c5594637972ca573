// The rep's call screen: local camera/mic, the WebRTC session (shared with the widget's call.js)
// and the controls. The visitor offers; we answer.
(function () {
  "use strict";
  var screen = document.getElementById("call-screen");
  if (!screen || !window.ConvercCall) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("call-status");
  var remote = document.getElementById("remote-video");
  var local = document.getElementById("local-video");
  var mediaType = screen.getAttribute("data-media-type");
  var doneUrl = screen.getAttribute("data-done-url");
  var session = null, started = null, ticker = null;

  function say(text) { status.textContent = text; }

  function clock() {
    var s = Math.floor((Date.now() - started) / 1000);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  function begin(stream) {
    if (stream) local.srcObject = stream;
    session = new ConvercCall.Session({
      socketUrl: screen.getAttribute("data-socket-url"),
      iceServers: JSON.parse(screen.getAttribute("data-ice") || "[]"),
      role: "rep", localStream: stream, mediaType: mediaType,
      on: {
        remoteStream: function (s) { if (remote.srcObject !== s) remote.srcObject = s; },
        connection: function (state) {
          if (state === "connected") {
            started = started || Date.now();
            clearInterval(ticker);
            say("Connected · " + clock());
            ticker = setInterval(function () { say("Connected · " + clock()); }, 1000);
          } else if (state === "disconnected" || state === "failed") {
            say("Connection lost, reconnecting…");
          }
        },
        peerLeft: function () { say("The visitor's connection dropped, waiting for them…"); },
        socket: function (state) { if (state === "refused") finished("This call link expired."); },
        ended: function (st, reason) {
          finished(reason === "visitor_hung_up" ? "The visitor hung up." : "The call has ended.");
        },
      },
    }).start();
    window.ConvercCallScreen = { session: session };
    say("Waiting for the visitor's video…");
  }

  function finished(text) {
    clearInterval(ticker);
    say(text);
    setTimeout(function () { location.assign(doneUrl); }, 2500);
  }

  document.getElementById("hangup-button").addEventListener("click", function () {
    this.disabled = true;
    fetch(screen.getAttribute("data-hangup-url"), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    }).catch(function () { if (session) session.hangUp(); });
    if (session) session.finish("ended", "rep_hung_up");
  });

  var mute = document.getElementById("mute-button");
  mute.addEventListener("click", function () {
    var on = mute.getAttribute("aria-pressed") !== "true";
    mute.setAttribute("aria-pressed", String(on));
    mute.textContent = on ? "Unmute" : "Mute";
    if (session) session.setMuted(on);
  });
  var camera = document.getElementById("camera-button");
  if (camera) {
    camera.addEventListener("click", function () {
      var off = camera.getAttribute("aria-pressed") !== "true";
      camera.setAttribute("aria-pressed", String(off));
      camera.textContent = off ? "Camera on" : "Camera off";
      if (session) session.setCameraOff(off);
    });
  }

  navigator.mediaDevices.getUserMedia({ audio: true, video: mediaType === "video" })
    .then(begin)
    .catch(function (e) {
      // still take the call: the visitor is heard and seen, they just cannot see or hear us
      begin(null);
      say(e && e.name === "NotAllowedError"
        ? "Your camera and microphone are blocked for this site: allow them in the address bar and reload."
        : "No camera or microphone available: the visitor cannot see or hear you.");
    });
})();
