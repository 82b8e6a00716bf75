/*
 * chat.js - the client of gale's chat demo (modules/chat).
 *
 * Receives by long polling POST /a/message/updates, through a WebSocket on
 * /chatsocket when the page's URL has ?ws=1, or as Server-Sent Events from
 * GET /a/message/events with ?sse=1 (EventSource resumes by itself with
 * Last-Event-ID; its first connection starts where the page's messages end,
 * the inbox's data-position). Polls and sockets keep a cursor,
 * the id of the last message the stream gave it, and sends it with each poll
 * and each (re)connection so that the server answers what came after it:
 * nothing is lost across a poll's gap or a reconnection, and what arrives
 * twice (the answer to our own post, a whole-history catch-up) is shown
 * once, by id. The page starts with the room's last messages when it was
 * made and their cursor; an empty cursor asks for the whole history.
 *
 * Posting: by POST, whose answer comes once the message is sequenced; in
 * the WebSocket mode on the socket itself, with an id drawn here: the
 * server answers {"ack": id} once the message is sequenced. A post not
 * acknowledged yet is kept and sent again, with the same id, on every new
 * socket until its ack comes: one sent as a reload closed the socket (the
 * browser drops a frame sent after the server's close frame arrived,
 * without telling the page) is not lost, and one that got through the
 * first time shows once (the server and this page drop a repeated id).
 *
 * Who is here: every connection carries the tab's visitor id (drawn once
 * and kept in sessionStorage, so a reload is the same visitor) and the
 * name, and the server counts the visitor in the room while one is open
 * (and a few seconds after, so a reconnection does not show). The line
 * "3 here: ..." comes from GET /a/here every few seconds, and at once on
 * each join and leave through the WebSocket.
 *
 * User text only ever goes into the page through textContent.
 */
(function () {
  "use strict";

  var BODY_MAX = 2000; /* bytes of UTF-8, as the server counts */
  var NAME_MAX = 40;
  var SHOWN_MAX = 1000; /* elements kept in the inbox */
  var POLL_LIMIT = 120000; /* ms a poll may take before it is retried */
  var HERE_EVERY = 5000; /* ms between two looks at who is here */
  var HERE_SHOWN = 20; /* names listed; the rest are counted */
  var GOING_AWAY_JITTER = 250; /* ms at most before a drained socket reconnects */

  var inbox = document.getElementById("inbox");
  var form = document.getElementById("messageform");
  var input = document.getElementById("message");
  var nameInput = document.getElementById("name");
  var button = form.querySelector("button");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");
  var xsrf = document.querySelector('meta[name="xsrf-token"]').content;
  var prefix = document.querySelector('meta[name="chat-prefix"]').content;
  var params = new URLSearchParams(location.search);
  var mode = params.get("ws") === "1" ? "ws" : params.get("sse") === "1" ? "sse" : "poll";
  var hereEl = document.getElementById("here");
  var encoder = new TextEncoder();
  var visitor = visitorId();
  var sock = null; /* the WebSocket, while it is open */
  var unacked = new Map(); /* id -> {frame, done, failed}: socket posts not acknowledged yet */

  var seen = new Set();
  var cursor = inbox.dataset.cursor || "";

  /* 32 random hex digits. */
  function randomId() {
    var raw = new Uint8Array(16);
    crypto.getRandomValues(raw);
    return Array.from(raw, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  /* The tab's visitor id: 32 hex digits, the same across reloads. */
  function visitorId() {
    var id = null;
    try {
      id = sessionStorage.getItem("chat.visitor");
    } catch (e) {
      /* no storage: a new visitor per page */
    }
    if (!id || !/^[0-9a-f]{32}$/.test(id)) {
      id = randomId();
      try {
        sessionStorage.setItem("chat.visitor", id);
      } catch (e) {
        /* kept for this page only */
      }
    }
    return id;
  }

  /* Who we are, for the server's count of who is here. */
  function whoAmI() {
    return { visitor: visitor, name: nameInput.value.trim() };
  }

  function query(fields) {
    return new URLSearchParams(fields).toString();
  }

  function showHere(here) {
    if (!here || typeof here.count !== "number" || !Array.isArray(here.names)) return;
    var names = here.names.filter(function (n) {
      return typeof n === "string";
    }).sort();
    var more = here.count - Math.min(names.length, HERE_SHOWN);
    var text = here.count + " here";
    if (names.length) text += ": " + names.slice(0, HERE_SHOWN).join(", ");
    if (more > 0 && names.length) text += " and " + more + " more";
    hereEl.textContent = text;
  }

  async function lookWhoIsHere() {
    for (;;) {
      try {
        var res = await fetch(prefix + "/a/here", { credentials: "same-origin" });
        if (res.ok) showHere(await res.json());
      } catch (e) {
        /* offline: the status line says so */
      }
      await sleep(HERE_EVERY);
    }
  }

  function setStatus(text, state) {
    statusEl.textContent = text;
    statusEl.dataset.state = state;
  }

  function showError(text) {
    errorEl.textContent = text || "";
    errorEl.hidden = !text;
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /* Exponential, capped at 30 s, with jitter so that clients a restart
   * disconnected together do not all come back together. */
  function backoff(failures) {
    var base = Math.min(30000, 500 * Math.pow(2, Math.min(failures - 1, 6)));
    return base / 2 + Math.random() * base / 2;
  }

  function localTime(el) {
    var d = new Date(el.dateTime);
    if (isNaN(d.getTime())) return;
    el.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    el.title = d.toLocaleString();
  }

  function isMessage(m) {
    return m !== null && typeof m === "object" && typeof m.id === "string" &&
      /^[0-9a-f]{32}$/.test(m.id) && typeof m.from === "string" &&
      typeof m.body === "string" && typeof m.time === "number";
  }

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  /* The same markup the server makes for the messages in the page. */
  function render(m) {
    var div = document.createElement("div");
    div.className = "message";
    div.id = "m" + m.id;
    div.dataset.id = m.id;
    var time = document.createElement("time");
    time.className = "time";
    time.dateTime = new Date(m.time * 1000).toISOString();
    localTime(time);
    div.append(time, " ", span("from", m.from), " ", span("body", m.body));
    return div;
  }

  function show(m) {
    if (!isMessage(m) || seen.has(m.id)) return;
    seen.add(m.id);
    var atBottom = inbox.scrollHeight - inbox.scrollTop - inbox.clientHeight < 48;
    inbox.append(render(m));
    while (inbox.children.length > SHOWN_MAX) inbox.firstElementChild.remove();
    if (atBottom) inbox.scrollTop = inbox.scrollHeight;
  }

  /* A batch from the stream: the cursor moves to its last message. */
  function receive(messages) {
    if (!Array.isArray(messages) || messages.length === 0) return;
    messages.forEach(show);
    var last = messages[messages.length - 1];
    if (isMessage(last)) cursor = last.id;
  }

  function post(url, fields, signal) {
    var body = new URLSearchParams(fields);
    body.set("_xsrf", xsrf);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-XSRFToken": xsrf },
      signal: signal
    });
  }

  /* ---- receiving: long polling ---- */

  async function poll() {
    var failures = 0;
    for (;;) {
      if (failures === 0) setStatus("Connected (long polling)", "online");
      try {
        var limit = AbortSignal.timeout ? AbortSignal.timeout(POLL_LIMIT) : undefined;
        var fields = whoAmI();
        fields.cursor = cursor;
        var res = await post(prefix + "/a/message/updates", fields, limit);
        if (res.status === 403) {
          setStatus("Your session has expired: reload the page", "error");
          return;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        var data = await res.json();
        failures = 0;
        receive(data.messages);
      } catch (e) {
        if (e.name === "TimeoutError") continue; /* a poll held too long: poll again */
        failures++;
        var wait = backoff(failures);
        setStatus("Offline: retrying in " + Math.ceil(wait / 1000) + " s", "offline");
        await sleep(wait);
      }
    }
  }

  /* ---- receiving: WebSocket ---- */

  function connect(failures) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var fields = whoAmI();
    fields.cursor = cursor;
    var ws = new WebSocket(scheme + location.host + prefix + "/chatsocket?" + query(fields));
    var opened = false;
    if (failures === 0) setStatus("Connecting…", "connecting");
    ws.onopen = function () {
      opened = true;
      sock = ws;
      setStatus("Connected (WebSocket)", "online");
      unacked.forEach(function (p) {
        ws.send(p.frame); /* in the order posted */
      });
    };
    ws.onmessage = function (ev) {
      var data;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (data && typeof data.ack === "string") acked(data.ack, null);
      else if (data && typeof data.error === "string" && unacked.has(data.id))
        acked(data.id, data.error);
      else if (data && typeof data.error === "string") showError(data.error);
      else if (data && data.here) showHere(data.here);
      else if (data) receive(data.messages);
    };
    ws.onclose = function (ev) {
      if (sock === ws) sock = null;
      /* 1001: the worker drains (a reload) and its successor is already up:
       * come back at once, the jitter spreading the room's sockets. Only
       * other failures back off, longer each time the socket did not open. */
      var away = ev.code === 1001;
      var n = away ? 0 : opened ? 1 : failures + 1;
      var wait = away ? Math.random() * GOING_AWAY_JITTER : backoff(n);
      setStatus("Offline: reconnecting in " + Math.ceil(wait / 1000) + " s", "offline");
      setTimeout(function () {
        connect(n);
      }, wait);
    };
  }

  /* ---- receiving: Server-Sent Events ---- */

  function stream() {
    var fields = whoAmI();
    var position = inbox.dataset.position;
    if (position) fields.last_event_id = position;
    var source = new EventSource(prefix + "/a/message/events?" + query(fields));
    setStatus("Connecting…", "connecting");
    source.onopen = function () {
      setStatus("Connected (Server-Sent Events)", "online");
    };
    source.onmessage = function (ev) {
      try {
        receive([JSON.parse(ev.data)]);
      } catch (e) {
        /* not a message */
      }
    };
    source.addEventListener("lost", function () {
      setStatus("Connected (Server-Sent Events; some messages were missed)", "online");
    });
    source.onerror = function () {
      /* EventSource comes back by itself, with the last id it got */
      setStatus("Offline: reconnecting", "offline");
    };
  }

  /* ---- posting ---- */

  function bytes(s) {
    return encoder.encode(s).length;
  }

  /* The socket's answer to post id: sequenced (why null), or refused. */
  function acked(id, why) {
    var p = unacked.get(id);
    if (!p) return; /* the answer to a copy sent again */
    unacked.delete(id);
    if (why) p.failed(new Error(why));
    else p.done();
  }

  /* On the socket: settled by its ack (the stream shows the message). */
  function sendOnSocket(body, name) {
    var id = randomId();
    var frame = JSON.stringify({ id: id, body: body, name: name });
    return new Promise(function (done, failed) {
      unacked.set(id, { frame: frame, done: done, failed: failed });
      if (sock) sock.send(frame); /* else the next socket sends it */
    });
  }

  /* By POST: its answer comes once the message is sequenced, or says why
   * it was not sent. */
  async function send(body, name) {
    if (mode === "ws") return sendOnSocket(body, name);
    var res = await post(prefix + "/a/message/new", { body: body, name: name });
    if (!res.ok) {
      var why = (await res.text()).trim().slice(0, 200);
      throw new Error(why || "HTTP " + res.status);
    }
    show(await res.json()); /* at once; the stream's copy is a duplicate */
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = input.value;
    var name = nameInput.value.trim();
    if (!body.trim()) return;
    if (bytes(body) > BODY_MAX) {
      showError("A message is at most " + BODY_MAX + " bytes.");
      return;
    }
    if (bytes(name) > NAME_MAX) {
      showError("A name is at most " + NAME_MAX + " bytes.");
      return;
    }
    try {
      localStorage.setItem("chat.name", name);
    } catch (e) {
      /* storage may be off: the name is only not remembered */
    }
    showError("");
    button.disabled = true;
    try {
      await send(body, name);
      input.value = "";
    } catch (e) {
      showError("Not sent: " + e.message);
    } finally {
      button.disabled = false;
      input.focus();
    }
  });

  /* ---- start ---- */

  inbox.querySelectorAll(".message").forEach(function (el) {
    seen.add(el.dataset.id);
    var time = el.querySelector("time");
    if (time) localTime(time);
  });
  inbox.scrollTop = inbox.scrollHeight;
  try {
    nameInput.value = localStorage.getItem("chat.name") || "";
  } catch (e) {
    /* no storage */
  }
  input.focus();
  document.querySelectorAll(".modes a").forEach(function (a) {
    if (a.dataset.mode === mode) a.setAttribute("aria-current", "page");
  });
  if (mode === "ws") connect(0);
  else if (mode === "sse") stream();
  else poll();
  lookWhoIsHere();
})();
