// The live meeting page: follows the meeting over its WebSocket and swaps in the server's fresh panel.
//
// The page works without this script (every control is a form). With it, any message with a newer version
// (or a vote's progress) makes the page fetch /meetings/{id}/live/panel and swap it in, keeping focus and
// whatever the person is typing. When the WebSocket cannot connect, the page polls the panel every 2 s with
// its ETag instead. Times come from the server: the countdown runs from the server's clock at render.
// The chair's voting order editor keeps its draft in the panel (data-draft) and in the address; a move
// button fetches the panel with the new draft instead of loading the page, and keeps the focus on it.
// The page's other parts share its WebSocket through window.kokousLive (media.js sends its offers on it).
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  if (!panel) { return; }
  var meeting = panel.getAttribute("data-meeting");
  var version = parseInt(panel.getAttribute("data-version") || "0", 10);
  var status = document.getElementById("live-connection");
  var etag = null;
  var fetching = false;
  var again = false;
  var socket = null;
  var failures = 0;
  var pollTimer = null;
  var skew = 0; // the server's clock minus this browser's, from the panel's data-now

  function say(key) {
    if (!status) { return; }
    var text = status.getAttribute("data-" + key) || "";
    status.textContent = text;
    status.hidden = !text;
  }

  // ---- keeping what the person is doing across a swap ----
  function remember() {
    var active = document.activeElement;
    var kept = { focus: null, start: null, end: null, values: {}, open: {} };
    if (active && panel.contains(active) && active !== panel) {
      if (active.id) { kept.focus = { id: active.id }; }
      else if (active.form && active.form.id) {
        kept.focus = { form: active.form.id, name: active.name || "", value: active.value || "" };
      }
      if (typeof active.selectionStart === "number") {
        kept.start = active.selectionStart;
        kept.end = active.selectionEnd;
      }
    }
    panel.querySelectorAll("input[id], textarea[id], select[id]").forEach(function (field) {
      if (field.type === "hidden") { return; }
      var changed = field.tagName === "SELECT"
        ? Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; })
        : field.value !== field.defaultValue;
      // A refused form's text (data-sent) is kept as if typed: the fresh panel would not have it.
      if (changed || field.checked !== field.defaultChecked || field.hasAttribute("data-sent")) {
        kept.values[field.id] = { value: field.value, checked: field.checked };
      }
    });
    panel.querySelectorAll("details[id], details").forEach(function (details, index) {
      kept.open[details.id || "d" + index] = details.open;
    });
    return kept;
  }

  function restore(kept) {
    Object.keys(kept.values).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field) { return; }
      if (field.type === "checkbox" || field.type === "radio") { field.checked = kept.values[id].checked; }
      else { field.value = kept.values[id].value; }
      var details = field.closest("details");
      if (details) { details.open = true; }
    });
    panel.querySelectorAll("details[id], details").forEach(function (details, index) {
      var key = details.id || "d" + index;
      if (key in kept.open) { details.open = kept.open[key]; }
    });
    if (kept.focus) {
      var target = null;
      if (kept.focus.id) { target = document.getElementById(kept.focus.id); }
      else {
        var form = document.getElementById(kept.focus.form);
        if (form && kept.focus.name) {
          target = Array.prototype.find.call(form.elements, function (el) {
            return el.name === kept.focus.name && el.value === kept.focus.value;
          }) || null;
        } else if (form) {
          target = form.querySelector("button, select, textarea, input:not([type=hidden])");
        }
      }
      if (target) {
        target.focus({ preventScroll: true });
        if (kept.start !== null && typeof target.setSelectionRange === "function") {
          try { target.setSelectionRange(kept.start, kept.end); } catch (e) { /* not a text field */ }
        }
      }
    }
  }

  function swap(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#live-panel");
    if (!fresh) { return; }
    var kept = remember();
    var notice = panel.querySelector(".live-notice");
    var noticeHome = notice ? notice.parentNode.id : null;
    panel.innerHTML = fresh.innerHTML;
    if (notice) {
      // The notice of the person's own last action stays where they looked, until they act again.
      var home = noticeHome ? document.getElementById(noticeHome) : null;
      var heading = home ? home.querySelector("h2, h3") : null;
      if (heading) { heading.insertAdjacentElement("afterend", notice); }
    }
    version = Math.max(version, parseInt(fresh.getAttribute("data-version") || "0", 10));
    panel.setAttribute("data-version", String(version));
    restore(kept);
    startCountdown();
  }

  // ---- the voting order's draft ----
  var draft = null; // { order, moved, focus }: a move not yet shown
  function draftQuery() {
    var editor = panel.querySelector("[data-draft]");
    var order = draft ? draft.order : (editor ? editor.getAttribute("data-draft") : "");
    if (!order) { return ""; }
    return "?order=" + encodeURIComponent(order) + (draft ? "&moved=" + encodeURIComponent(draft.moved) : "");
  }

  function moved(asked) {
    if (!asked || !draft || asked.order !== draft.order) { return; }
    var button = document.getElementById(asked.focus[0]);
    if (!button || button.disabled) { button = document.getElementById(asked.focus[1]); }
    if (button) { button.focus({ preventScroll: false }); }
    var said = document.getElementById("order-status");
    var announce = document.getElementById("live-announce");
    if (said && announce) { announce.textContent = said.textContent; }
    draft = null;
  }

  panel.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.classList.contains("order-move") || !button || !button.value) { return; }
    event.preventDefault();
    var which = form.querySelector("input[name=moved]").value;
    var up = button.id.indexOf("move-up-") === 0;
    var ids = ["move-up-" + which, "move-down-" + which];
    draft = { order: button.value, moved: which, focus: up ? ids : ids.reverse() };
    var address = location.pathname + "?order=" + encodeURIComponent(button.value) + "&moved=" + which;
    history.replaceState(null, "", address + "#live-order");
    refresh();
  });

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    var headers = { "Accept": "text/html" };
    if (etag) { headers["If-None-Match"] = etag; }
    var asked = draft;
    fetch("/meetings/" + meeting + "/live/panel" + draftQuery(), { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("panel " + response.status); }
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) { if (html) { swap(html); moved(asked); } })
      .catch(function () { say("lost"); })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  // ---- the page's one WebSocket, shared with the page's other parts ----
  var listeners = [];
  window.kokousLive = {
    // "open", "connecting" or "closed" (polling, or between attempts).
    state: function () {
      if (!socket) { return "closed"; }
      return socket.readyState === WebSocket.OPEN ? "open"
        : socket.readyState === WebSocket.CONNECTING ? "connecting" : "closed";
    },
    // Sends a message (an object) when the socket is open; false when it is not: the caller uses HTTP.
    send: function (message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) { return false; }
      socket.send(JSON.stringify(message));
      return true;
    },
    // heard(data) for every message the server sends; closed() when the socket closes, so that whoever
    // waits for an answer knows it will not come on this socket.
    listen: function (heard, closed) { listeners.push({ heard: heard, closed: closed }); }
  };

  function tell(what, data) {
    listeners.forEach(function (listener) {
      try { if (listener[what]) { listener[what](data); } } catch (e) { /* one part's fault stays there */ }
    });
  }

  // ---- the WebSocket, with polling when it cannot be had ----
  function poll() {
    if (pollTimer) { return; }
    say("polling");
    pollTimer = window.setInterval(function () { if (!document.hidden) { refresh(); } }, 2000);
  }

  function stopPolling() {
    if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    if (!("WebSocket" in window)) { poll(); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var opened = false;
    try {
      socket = new WebSocket(scheme + location.host + "/ws/meetings/" + meeting + "?after=" + version);
    } catch (e) {
      poll();
      return;
    }
    socket.onopen = function () {
      opened = true;
      failures = 0;
      stopPolling();
      say("live");
      refresh(); // whatever happened while the connection was down
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      tell("heard", data);
      if (data.kind === "progress") { refresh(); return; }
      if (typeof data.version === "number" && data.version > version) { refresh(); }
    };
    socket.onclose = function (event) {
      socket = null;
      tell("closed");
      failures += 1;
      // docs/live.md: 1008, 4403 and 4404 will not change by trying again; the page polls instead.
      var final = event.code === 1008 || event.code === 4403 || event.code === 4404;
      if (!opened || final || failures > 2) { poll(); } else { say("lost"); refresh(); }
      if (final) { return; }
      var slow = event.code === 4429 ? 8 : 1;
      var delay = Math.min(60000, slow * 500 * Math.pow(2, Math.min(failures, 6)) * (0.75 + Math.random() / 2));
      window.setTimeout(connect, delay);
    };
    socket.onerror = function () { /* onclose follows */ };
  }

  // Tests and people with a flaky connection: `kokous:drop` closes the socket as a network drop would.
  window.addEventListener("kokous:drop", function () { if (socket) { socket.close(); } });
  window.addEventListener("online", function () { refresh(); if (!socket) { connect(); } });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && pollTimer) { refresh(); } });

  // ---- the speaking-time countdown ----
  var ticker = null;
  function startCountdown() {
    if (ticker) { window.clearInterval(ticker); ticker = null; }
    var clock = panel.querySelector(".countdown[data-ends]");
    if (!clock) { return; }
    var ends = Date.parse(clock.getAttribute("data-ends"));
    var now = Date.parse(clock.getAttribute("data-now"));
    if (isNaN(ends)) { return; }
    if (!isNaN(now)) { skew = now - Date.now(); }
    var template = clock.getAttribute("data-left") || "{time}";
    var over = clock.getAttribute("data-over") || "";
    function tick() {
      var left = Math.round((ends - (Date.now() + skew)) / 1000);
      if (left <= 0) {
        clock.textContent = over;
        clock.classList.add("over");
        window.clearInterval(ticker);
        ticker = null;
        return;
      }
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      clock.textContent = template.replace("{time}", minutes + ":" + (seconds < 10 ? "0" : "") + seconds);
    }
    tick();
    ticker = window.setInterval(tick, 1000);
  }

  startCountdown();
  connect();
})();
