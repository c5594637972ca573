// The rep's browser records the call: the visitor's audio and the rep's audio as two tracks (so the
// transcript knows who spoke) and the visitor's video, uploading a chunk every few seconds, so a
// crash loses seconds, not the call. The server mixes both voices into the audio and video files.
//
//   var recorder = await ConvercRecorder.start({baseUrl, callId, uploadToken, localStream,
//                                               remoteStream, onState});
//   recorder.state        // "starting" | "recording" | "stopping" | "stopped" | "not_allowed" | "error"
//   await recorder.stop() // flushes the last chunks, then asks the server to assemble the files
(function () {
  "use strict";

  var TIMESLICE_MS = 3000;
  var MAX_ATTEMPTS = 8;
  var AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus"];
  var VIDEO_TYPES = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"];

  function supportedType(candidates) {
    for (var i = 0; i < candidates.length; i++) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(candidates[i])) return candidates[i];
    }
    return null;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function Recorder(options) {
    this.options = options;
    this.base = (options.baseUrl || "").replace(/\/$/, "") + "/recordings/calls/" +
      encodeURIComponent(options.callId);
    this.state = "starting";
    this.error = null;
    this.tracks = {};
  }

  Recorder.prototype.setState = function (state, detail) {
    this.state = state;
    if (detail) this.error = detail;
    ConvercRecorder.state = state;
    if (typeof this.options.onState === "function") {
      try { this.options.onState(state, detail || null); } catch (e) { /* the page's bug, not ours */ }
    }
  };

  Recorder.prototype.request = function (path, body, contentType) {
    var headers = { Authorization: "Bearer " + this.options.uploadToken };
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(this.base + path, {
      method: "POST", headers: headers, body: body, credentials: "same-origin",
      // the last chunks may be sent while the page closes
      keepalive: !!body && body.size !== undefined && body.size < 60000,
    });
  };

  // One track's uploads: in order, one at a time, each retried with backoff until it lands.
  function TrackUploader(recorder, kind, mimeType) {
    this.recorder = recorder;
    this.kind = kind;
    this.mimeType = mimeType;
    this.seq = 0;
    this.pending = 0;
    this.uploadedBytes = 0;
    this.chain = Promise.resolve();
  }

  TrackUploader.prototype.push = function (blob) {
    if (!blob || !blob.size) return;
    var self = this;
    var seq = this.seq++;
    this.pending++;
    this.chain = this.chain.then(function () { return self.send(blob, seq); })
      .then(function () { self.pending--; }, function (error) {
        self.pending--;
        self.recorder.fail(self.kind + " upload failed: " + error.message);
      });
  };

  TrackUploader.prototype.send = async function (blob, seq) {
    var path = "/tracks/" + this.kind + "/chunks/" + seq;
    for (var attempt = 1; ; attempt++) {
      var response = null;
      try {
        response = await this.recorder.request(path, blob, blob.type || this.mimeType);
      } catch (networkError) {
        response = null; // offline for a moment: try again
      }
      if (response && response.ok) {
        this.uploadedBytes += blob.size;
        return;
      }
      var retriable = !response || response.status >= 500 || response.status === 429;
      if (!retriable || attempt >= MAX_ATTEMPTS) {
        throw new Error(response ? "HTTP " + response.status : "network error");
      }
      await sleep(Math.min(15000, 500 * Math.pow(2, attempt)));
    }
  };

  Recorder.prototype.fail = function (message) {
    if (this.state === "error") return;
    this.stopRecorders();
    this.setState("error", message);
  };

  Recorder.prototype.addTrack = function (kind, tracks, mimeType) {
    if (!tracks.length || !mimeType) return;
    var uploader = new TrackUploader(this, kind, mimeType);
    var mediaRecorder = new MediaRecorder(new MediaStream(tracks), { mimeType: mimeType });
    var stopped = new Promise(function (resolve) { mediaRecorder.addEventListener("stop", resolve); });
    mediaRecorder.addEventListener("dataavailable", function (event) { uploader.push(event.data); });
    this.tracks[kind] = { recorder: mediaRecorder, uploader: uploader, stopped: stopped };
  };

  Recorder.prototype.begin = async function () {
    var response = await this.request("/start");
    if (response.status === 401 || response.status === 403 || response.status === 409) {
      // policy off, the visitor did not consent, or this call's recording is already complete
      this.setState("not_allowed");
      return this;
    }
    if (!response.ok) throw new Error("could not start the recording (HTTP " + response.status + ")");
    var local = this.options.localStream, remote = this.options.remoteStream;
    this.addTrack("visitor", remote ? remote.getAudioTracks() : [], supportedType(AUDIO_TYPES));
    this.addTrack("rep", local ? local.getAudioTracks() : [], supportedType(AUDIO_TYPES));
    this.addTrack("video", remote ? remote.getVideoTracks() : [], supportedType(VIDEO_TYPES));
    // start together: the server lines the tracks up from their common start
    Object.keys(this.tracks).forEach(function (kind) { this.tracks[kind].recorder.start(TIMESLICE_MS); }, this);
    this.setState(Object.keys(this.tracks).length ? "recording" : "stopped");
    return this;
  };

  Recorder.prototype.stopRecorders = function () {
    Object.keys(this.tracks).forEach(function (kind) {
      var mediaRecorder = this.tracks[kind].recorder;
      if (mediaRecorder.state !== "inactive") mediaRecorder.stop();
    }, this);
  };

  Recorder.prototype.stop = async function () {
    if (this.state !== "recording") return this;
    this.setState("stopping");
    this.stopRecorders();
    var tracks = this.tracks;
    var kinds = Object.keys(tracks);
    await Promise.all(kinds.map(function (kind) { return tracks[kind].stopped; }));
    // every track's last chunk is queued after its stop event: wait for all uploads
    await Promise.all(kinds.map(function (kind) { return tracks[kind].uploader.chain; }));
    if (this.state === "error") return this;
    var response = await this.request("/complete");
    if (!response.ok) {
      this.setState("error", "could not finish the recording (HTTP " + response.status + ")");
      return this;
    }
    this.setState("stopped");
    return this;
  };

  Recorder.prototype.pendingChunks = function () {
    var tracks = this.tracks;
    return Object.keys(tracks).reduce(function (sum, kind) { return sum + tracks[kind].uploader.pending; }, 0);
  };

  var ConvercRecorder = {
    state: "idle",
    supported: function () { return !!(window.MediaRecorder && supportedType(AUDIO_TYPES)); },
    start: function (options) {
      var recorder = new Recorder(options);
      if (!ConvercRecorder.supported()) {
        recorder.setState("error", "this browser cannot record");
        return Promise.resolve(recorder);
      }
      recorder.setState("starting");
      return recorder.begin().catch(function (error) {
        recorder.fail(error.message);
        return recorder;
      });
    },
  };

  window.ConvercRecorder = ConvercRecorder;
})();
