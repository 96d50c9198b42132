// Sound and picture of a held meeting (docs/media.md): one RTCPeerConnection to the hub, the offer sent once
// ICE gathering is complete (the hub does not trickle) over the meeting's WebSocket (`media.offer`), or over
// HTTP when the socket cannot be had; a data-channel heartbeat every few seconds; the camera and the
// microphone turned on and off on the same connection (`media.renegotiate`); and the meeting's media state
// fetched on each of the meeting's events (and polled) for the floor, the roll call, the waiting room and a
// closed item's confirmation. On the live meeting's page the WebSocket is the page's own (window.kokousLive,
// web/static/live.js); on a page without it (media.html) this part opens one of its own when joining.
(function () {
  "use strict";
  const root = document.querySelector("[data-media]");
  if (!root) return;
  const api = "/api/meetings/" + root.dataset.meeting + "/media";
  const el = (name) => root.querySelector("[data-media-" + name + "]");
  const status = el("status"), video = el("video"), audio = el("audio"), speaker = el("speaker");
  const caption = el("caption"), problem = el("problem");
  const joinButton = el("join"), leaveButton = el("leave"), attest = el("attest");
  const switches = { audio: el("microphone"), video: el("camera") };
  const GATHER_MS = 5000, POLL_MS = 2000, RETRY_MS = 3000, SOCKET_MS = 3000, ANSWER_MS = 20000;
  const media = { pc: null, peer: null, role: null, roundTrip: null, state: null, via: null };
  window.kokousMedia = media; // for the curious and for the tests
  let channel = null, beat = null, poll = null, local = null;
  let wanted = false; // joined and not hung up: a failed connection is made again
  let socket = null, offers = 0, listening = false, switching = false;
  const waiting = new Map(); // offer id -> { resolve, reject } until its media.answer or media.error

  function say(key, fallback) {
    status.textContent = fallback || root.dataset["msg" + key] || "";
  }

  async function call(path, body) {
    const init = { credentials: "same-origin", headers: { "x-csrf-token": root.dataset.csrf } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || String(response.status));
    return data;
  }

  // ---- the meeting's WebSocket: the signalling, and a nudge to refresh on each of the meeting's events ----
  // The live page's socket when this part is on it; else one of this part's own, opened on joining.
  function ownSocket() {
    return new Promise((resolve) => {
      if (socket && socket.readyState === WebSocket.OPEN) return resolve(socket);
      let made;
      try {
        made = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
          "/ws/meetings/" + root.dataset.meeting);
      } catch (error) {
        return resolve(null);
      }
      const timer = setTimeout(() => { made.close(); resolve(null); }, SOCKET_MS);
      made.onopen = () => { clearTimeout(timer); socket = made; resolve(made); };
      made.onerror = () => { clearTimeout(timer); resolve(null); };
      made.onclose = () => {
        if (socket === made) socket = null;
        dropped();
      };
      made.onmessage = (message) => {
        try { heard(JSON.parse(message.data)); } catch (error) { /* not JSON: nothing for this part */ }
      };
    });
  }

  async function sharedSocket(live) {
    if (!listening) { live.listen(heard, dropped); listening = true; }
    for (let waited = 0; live.state() === "connecting" && waited < SOCKET_MS; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return live.state() === "open" ? live : null;
  }

  // Something to send on (`send(message)` is false when it cannot), or null: then HTTP.
  async function signalling() {
    if (window.kokousLive) return sharedSocket(window.kokousLive);
    const own = await ownSocket();
    if (!own) return null;
    return {
      send: (message) => own.readyState === WebSocket.OPEN && (own.send(JSON.stringify(message)), true),
    };
  }

  function dropped() {
    waiting.forEach((w) => w.reject(null)); // answered by HTTP instead
    waiting.clear();
  }

  function heard(data) {
    if (data.kind === "media.answer" || data.kind === "media.error") {
      const pending = waiting.get(data.id);
      if (!pending) return;
      waiting.delete(data.id);
      if (data.kind === "media.answer") pending.resolve(data);
      else pending.reject(new Error(data.message || String(data.status)));
    } else if (data.kind === "event" || data.kind === "snapshot") {
      refresh();
    }
  }

  // An offer (`media.offer`, or `media.renegotiate` on the connection made) over the WebSocket when it is
  // open; over HTTP when it is not, or closes before the answer. A refusal (media.error) is not retried:
  // HTTP would refuse it too.
  async function send(kind, path, sdp) {
    const way = await signalling();
    if (way) {
      const id = ++offers;
      try {
        const answer = await new Promise((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          setTimeout(() => waiting.delete(id) && reject(null), ANSWER_MS);
          if (!way.send({ kind: kind, sdp: sdp, id: id })) { waiting.delete(id); reject(null); }
        });
        media.via = "websocket";
        return answer;
      } catch (error) {
        if (error) throw error;
      }
    }
    media.via = "http";
    return call(path, { sdp: sdp, type: "offer" });
  }

  function gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const done = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_MS); // send what was found
    });
  }

  async function devices() {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    } catch (error) {
      return navigator.mediaDevices.getUserMedia({ audio: true }); // no camera: sound only
    }
  }

  function show(track) {
    const target = track.kind === "audio" ? audio : video;
    target.srcObject = new MediaStream([track]);
    target.play().catch(() => {});
  }

  async function join() {
    joinButton.disabled = true;
    say("Connecting");
    try {
      const state = await call("");
      if (!state.role) throw new Error(state.reason || "");
      media.role = state.role;
      const pc = new RTCPeerConnection({ iceServers: state.ice_servers, bundlePolicy: "max-bundle" });
      media.pc = pc;
      if (state.role === "participant") {
        try {
          local = await devices();
        } catch (error) {
          throw new Error(root.dataset.msgNoCamera);
        }
        local.getTracks().forEach((track) => pc.addTrack(track, local));
        if (!local.getVideoTracks().length) pc.addTransceiver("video", { direction: "recvonly" });
      } else {
        pc.addTransceiver("audio", { direction: "recvonly" });
        pc.addTransceiver("video", { direction: "recvonly" });
      }
      channel = pc.createDataChannel("heartbeat");
      channel.onopen = () => {
        beat = setInterval(() => channel.readyState === "open" && channel.send(String(Date.now())),
          state.heartbeat_seconds * 1000);
      };
      channel.onmessage = (event) => { media.roundTrip = Date.now() - Number(event.data); };
      pc.ontrack = (event) => show(event.track);
      pc.onconnectionstatechange = connection;
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await send("media.offer", "/offer", pc.localDescription.sdp);
      media.peer = answer.peer;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      leaveButton.hidden = false;
      joinButton.hidden = true;
      showSwitches();
      poll = setInterval(refresh, POLL_MS);
      refresh();
    } catch (error) {
      close();
      say("Idle", error.message);
    }
  }

  // ---- the camera and the microphone, turned on and off on the same connection ----
  function transceiver(kind) {
    if (!media.pc || media.role !== "participant") return null;
    return media.pc.getTransceivers().find((t) => t.receiver.track && t.receiver.track.kind === kind) || null;
  }

  function showSwitches() {
    Object.keys(switches).forEach((kind) => {
      const button = switches[kind], found = transceiver(kind);
      const name = kind === "video" ? "Camera" : "Microphone";
      button.hidden = !found;
      button.disabled = switching;
      button.textContent = root.dataset["msg" + name + (found && found.sender.track ? "Off" : "On")] || "";
    });
  }

  async function turn(kind) {
    const pc = media.pc, found = transceiver(kind);
    if (!found || switching) return;
    switching = true;
    problem.hidden = true;
    showSwitches();
    const old = found.sender.track;
    let fresh = null;
    try {
      if (old) {
        await found.sender.replaceTrack(null);
        old.stop();
        found.direction = "recvonly";
      } else {
        try {
          const asked = kind === "video" ? { video: { width: 320, height: 240 } } : { audio: true };
          fresh = (await navigator.mediaDevices.getUserMedia(asked)).getTracks()[0];
        } catch (error) {
          throw new Error(root.dataset[kind === "video" ? "msgNoCameraNow" : "msgNoMicrophoneNow"]);
        }
        await found.sender.replaceTrack(fresh);
        found.direction = "sendrecv";
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await send("media.renegotiate", "/renegotiate", pc.localDescription.sdp);
      if (media.pc === pc) await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      if (media.pc === pc) await undo(pc, found, fresh).catch(() => {});
      problem.textContent = error.message;
      problem.hidden = false;
    } finally {
      switching = false;
      if (media.pc === pc) showSwitches();
    }
  }

  // A refused renegotiation: back to the connection's last agreed state, without the device just asked for.
  async function undo(pc, found, fresh) {
    if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
    if (fresh) {
      await found.sender.replaceTrack(null);
      fresh.stop();
      found.direction = "recvonly";
    }
  }

  function connection() {
    const state = media.pc && media.pc.connectionState;
    if (state === "connected") refresh();
    else if (state === "disconnected") say("Lost"); // ICE may still recover by itself
    else if (state === "failed") {
      // The hub keeps the peer id: joining again replaces the old connection (docs/media.md).
      close();
      say("Lost");
      setTimeout(() => wanted && !media.pc && join(), RETRY_MS);
    }
  }

  async function refresh() {
    if (!media.pc) return;
    let state;
    try {
      state = await call("");
    } catch (error) {
      return; // the next poll tries again
    }
    media.state = state;
    attest.hidden = !state.must_attest;
    speaker.textContent = state.speaker_name || root.dataset.msgNobody;
    caption.textContent = state.roll_call ? root.dataset.msgRollCall : root.dataset.msgSpeaking;
    if (media.pc.connectionState !== "connected") return;
    if (state.waiting) say("Waiting");
    else if (media.role === "public" && !state.public_stream) say("Paused");
    else say(media.role === "public" ? "Following" : "Connected");
  }

  async function confirm() {
    try {
      await call("/attest", {});
      refresh();
    } catch (error) {
      say("Idle", error.message);
    }
  }

  function close() {
    clearInterval(beat);
    clearInterval(poll);
    if (socket) socket.close();
    socket = null;
    if (local) local.getTracks().forEach((track) => track.stop());
    if (media.pc) media.pc.getSenders().forEach((sender) => sender.track && sender.track.stop());
    if (media.pc) media.pc.close();
    media.pc = null;
    local = null;
    joinButton.disabled = false;
    joinButton.hidden = false;
    leaveButton.hidden = true;
    attest.hidden = true;
    problem.hidden = true;
    Object.values(switches).forEach((button) => { button.hidden = true; });
  }

  function hangUp(keepalive) {
    if (!media.pc) return;
    const body = JSON.stringify({ peer: media.role === "public" ? media.peer : "" });
    fetch(api + "/leave", {
      method: "POST", keepalive: keepalive, credentials: "same-origin", body: body,
      headers: { "content-type": "application/json", "x-csrf-token": root.dataset.csrf },
    }).catch(() => {});
    close();
    say("Idle");
  }

  joinButton.addEventListener("click", () => { wanted = true; join(); });
  leaveButton.addEventListener("click", () => { wanted = false; hangUp(false); });
  el("confirm").addEventListener("click", confirm);
  switches.audio.addEventListener("click", () => turn("audio"));
  switches.video.addEventListener("click", () => turn("video"));
  window.addEventListener("pagehide", () => { wanted = false; hangUp(true); });
})();
