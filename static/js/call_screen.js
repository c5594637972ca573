// The rep's call screen: local camera/mic, the WebRTC session (shared with the widget's call.js)
// and the controls. The visitor offers; we answer. When the call may be recorded (the page carries
// an upload token), recorder.js records both voices and the visitor's video once connected, and
// the last chunks are sent before the page moves on.
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
  var callId = doneUrl.split("/").pop();
  var session = null, started = null, ticker = null, localStream = null;
  var uploadToken = screen.getAttribute("data-upload-token");
  var indicator = document.getElementById("recording-indicator");
  var recording = null; // a promise of the ConvercRecorder, once started

  function say(text) { status.textContent = text; }

  // converc:* events on window, as the widget has: custom scripts listen with ctx.on(name, fn)
  function emit(name, detail) {
    window.dispatchEvent(new CustomEvent("converc:" + name, { detail: detail || {} }));
  }

  function showRecording(state, detail) {
    if (!indicator) return;
    indicator.setAttribute("data-state", state);
    indicator.hidden = ["recording", "stopping", "error"].indexOf(state) < 0;
    var label = indicator.querySelector(".recording-label");
    label.textContent = state === "stopping" ? "Saving the recording…"
      : state === "error" ? "Recording interrupted: " + (detail || "unknown error") : "Recording";
  }

  function startRecording() {
    if (!uploadToken || recording || !window.ConvercRecorder || !session) return;
    recording = ConvercRecorder.start({
      baseUrl: "", callId: screen.getAttribute("data-call-id"), uploadToken: uploadToken,
      localStream: localStream, remoteStream: session.remoteStream, onState: showRecording,
    }).then(function (recorder) {
      window.ConvercCallScreen.recorder = recorder;
      return recorder;
    });
  }

  function stopRecording() {
    if (!recording) return Promise.resolve();
    return recording.then(function (recorder) { return recorder.stop(); }).catch(function () {});
  }

  function clock() {
    var s = Math.floor((Date.now() - started) / 1000);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  function begin(stream) {
    localStream = stream;
    if (stream) local.srcObject = stream;
    session = new ConvercCall.Session({
      socketUrl: screen.getAttribute("data-socket-url"),
      iceServers: JSON.parse(screen.getAttribute("data-ice") || "[]"),
      iceTransportPolicy: screen.getAttribute("data-ice-policy") || "all",
      role: "rep", localStream: stream, mediaType: mediaType,
      on: {
        remoteStream: function (s) { if (remote.srcObject !== s) remote.srcObject = s; },
        connection: function (state) {
          if (state === "connected") {
            started = started || Date.now();
            clearInterval(ticker);
            say("Connected · " + clock());
            emit("call.connected", { callId: callId });
            ticker = setInterval(function () { say("Connected · " + clock()); }, 1000);
            startRecording();
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
    emit("call.ended", { callId: callId });
    say(text);
    var shown = new Promise(function (resolve) { setTimeout(resolve, 2500); });
    // leave once the last chunks are up; after 20 s anyway: the server assembles what arrived
    var patience = new Promise(function (resolve) { setTimeout(resolve, 20000); });
    Promise.race([Promise.all([shown, stopRecording()]), patience]).then(function () { location.assign(doneUrl); });
  }

  window.addEventListener("pagehide", function () { stopRecording(); });

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
