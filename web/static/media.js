// Sound and picture of a held meeting (docs/media.md): one RTCPeerConnection to the hub, the offer sent once
// ICE gathering is complete (the hub does not trickle) over the meeting's WebSocket (`media.offer`), or over
// HTTP when the socket cannot be opened; a data-channel heartbeat every few seconds; and the meeting's media
// state fetched on each of the meeting's events (and polled) for the floor, the roll call, the waiting room
// and a closed item's confirmation.
(function () {
  "use strict";
  const root = document.querySelector("[data-media]");
  if (!root) return;
  const api = "/api/meetings/" + root.dataset.meeting + "/media";
  const el = (name) => root.querySelector("[data-media-" + name + "]");
  const status = el("status"), video = el("video"), audio = el("audio"), speaker = el("speaker");
  const caption = el("caption");
  const joinButton = el("join"), leaveButton = el("leave"), attest = el("attest");
  const GATHER_MS = 5000, POLL_MS = 2000, RETRY_MS = 3000, SOCKET_MS = 3000, ANSWER_MS = 20000;
  const media = { pc: null, peer: null, role: null, roundTrip: null, state: null, via: null };
  window.kokousMedia = media; // for the curious and for the tests
  let channel = null, beat = null, poll = null, local = null;
  let wanted = false; // joined and not hung up: a failed connection is made again
  let socket = null, offers = 0;
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
  function openSocket() {
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
        waiting.forEach((w) => w.reject(null)); // answered by HTTP instead
        waiting.clear();
      };
      made.onmessage = heard;
    });
  }

  function heard(message) {
    let data;
    try { data = JSON.parse(message.data); } catch (error) { return; }
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

  // The offer over the WebSocket when it opens; over HTTP when it does not, or closes before the answer.
  // A refusal (media.error) is not retried: HTTP would refuse it too.
  async function send(sdp) {
    const open = await openSocket();
    if (open) {
      const id = ++offers;
      try {
        const answer = await new Promise((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          setTimeout(() => waiting.delete(id) && reject(null), ANSWER_MS);
          open.send(JSON.stringify({ kind: "media.offer", sdp: sdp, id: id }));
        });
        media.via = "websocket";
        return answer;
      } catch (error) {
        if (error) throw error;
      }
    }
    media.via = "http";
    return call("/offer", { sdp: sdp, type: "offer" });
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
      const answer = await send(pc.localDescription.sdp);
      media.peer = answer.peer;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      leaveButton.hidden = false;
      joinButton.hidden = true;
      poll = setInterval(refresh, POLL_MS);
      refresh();
    } catch (error) {
      close();
      say("Idle", error.message);
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
    if (media.pc) media.pc.close();
    media.pc = null;
    local = null;
    joinButton.disabled = false;
    joinButton.hidden = false;
    leaveButton.hidden = true;
    attest.hidden = true;
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
  window.addEventListener("pagehide", () => { wanted = false; hangUp(true); });
})();
