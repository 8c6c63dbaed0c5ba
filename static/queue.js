// The queue page: join, then follow the place live over a WebSocket (reconnecting with back-off,
// polling when WebSockets fail), and go to checkout the moment the shopper is let through.

import { api, ApiProblem, eventFromQuery, storedToken, storeToken, waitInWords, clockTime, STATUS_WORDS } from "./api.js";
import { proofFor } from "./pow.js";

const event = eventFromQuery();
const el = (id) => document.getElementById(id);

/** The shopper's bearer token (user JWT or visitor token), if any. */
let token = storedToken();
/** The shopper's ticket id. */
let ticketId = null;
/** True once admitted, or once the place or the sale is gone: nothing more to follow. */
let finished = false;
let socket = null;
let failedConnects = 0;
let pollTimer = null;
let pingTimer = null;
let startsAt = null;
/** The place and wait as last heard, shown again when the status changes. */
let lastPlace = null;
/** The wait the API estimated for the expected lottery place, before the draw. */
let prequeueEta = null;
/** The event's status as last heard. */
let eventStatus = null;
/** Whether the event asks joins for a proof of work (pow.js solves it). */
let needsProof = false;

const POLL_EVERY_MS = 3000;
const PING_EVERY_MS = 20000;
const LONGEST_BACKOFF_MS = 30000;
/** After this many connects that never opened, poll over HTTP while still retrying the socket. */
const CONNECTS_BEFORE_POLLING = 3;

start().catch(showError);

async function start() {
  if (!event) {
    throw new Error("This link does not name a valid sale.");
  }
  await loadEvent();
  const ticket = await join();
  ticketId = ticket.ticket_id;
  el("page").setAttribute("aria-busy", "false");
  followTicket(ticket);
  if (!finished) {
    connect();
  }
}

async function loadEvent() {
  const { body } = await api(`/v1/events/${event}`);
  el("event-name").textContent = body.name || event;
  document.title = `${body.name || event} · waiting room`;
  startsAt = body.starts_at;
  needsProof = body.proof_difficulty > 0;
  showStatus(body.status);
}

/** Joins (idempotent): anonymously when the sale allows it, else with a token from dev login. */
async function join() {
  const path = `/v1/events/${event}/tickets`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const { body } = await api(path, { method: "POST", body: await joinBody(), token });
      if (body.visitor_token) {
        token = body.visitor_token;
        storeToken(token);
      }
      return body;
    } catch (error) {
      if (!(error instanceof ApiProblem) || error.status !== 401) {
        throw error;
      }
      // No token, or one that no longer verifies: sign in again (demo sign-in).
      token = await devLogin();
    }
  }
  throw new Error("We could not sign you in to join this sale.");
}

/** The join body: `{}`, or a proof of work where the event asks for one. */
async function joinBody() {
  if (!needsProof) {
    return {};
  }
  const { proof, visitorToken } = await proofFor(event, token);
  if (visitorToken) {
    token = visitorToken;
    storeToken(token);
  }
  return { proof };
}

async function devLogin() {
  storeToken(null);
  const userId = `shopper-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
  try {
    const { body } = await api("/v1/dev/login", { method: "POST", body: { user_id: userId, tier: "regular" } });
    storeToken(body.access_token);
    return body.access_token;
  } catch (error) {
    if (error instanceof ApiProblem && (error.status === 404 || error.status === 403)) {
      throw new Error("Please sign in at the shop first: this sale needs an account.");
    }
    throw error;
  }
}

/** Shows a ticket as the API returns it (join or poll). */
function followTicket(ticket) {
  switch (ticket.status) {
    case "admitted":
      if (ticket.admission_token) {
        goToCheckout(ticket.admission_token, ticket.admission_expires_at);
      } else {
        poll();
      }
      break;
    case "waiting":
      showPlace(ticket.position, ticket.eta_seconds);
      break;
    default:
      showGone(ticket.status);
  }
}

// ---- the live socket -------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = token ? `?access_token=${encodeURIComponent(token)}` : "";
  return `${scheme}://${location.host}/v1/events/${event}/tickets/${ticketId}/ws${query}`;
}

function connect() {
  if (finished || socket) {
    return;
  }
  showConnection(pollTimer ? "polling" : "connecting");
  let opened = false;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect(false);
    return;
  }
  socket = ws;
  ws.onopen = () => {
    opened = true;
    failedConnects = 0;
    stopPolling();
    showConnection("live");
    pingTimer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_EVERY_MS);
  };
  ws.onmessage = (message) => {
    try {
      onServerMessage(JSON.parse(message.data));
    } catch (error) {
      console.warn("unreadable message", error);
    }
  };
  ws.onclose = (close) => {
    clearInterval(pingTimer);
    socket = null;
    if (!finished) {
      // 1001: the server is restarting; come back quickly, to any instance.
      scheduleReconnect(opened, close.code === 1001);
    }
  };
}

function scheduleReconnect(hadOpened, goingAway = false) {
  if (!hadOpened) {
    failedConnects += 1;
    if (failedConnects >= CONNECTS_BEFORE_POLLING) {
      startPolling();
    }
  }
  const base = goingAway ? 500 : Math.min(LONGEST_BACKOFF_MS, 1000 * 2 ** Math.max(0, failedConnects - 1));
  const delay = base * (0.7 + Math.random() * 0.6);
  showConnection(pollTimer ? "polling" : "reconnecting");
  setTimeout(connect, delay);
}

function onServerMessage(message) {
  switch (message.type) {
    case "position":
      showPlace(message.position, message.eta_seconds);
      break;
    case "admitted":
      goToCheckout(message.admission_token, message.admission_expires_at);
      break;
    case "status":
      showStatus(message.status);
      if (message.status === "closed") {
        finish();
      }
      break;
    case "ticket":
      showGone(message.status);
      break;
    default:
      break;
  }
}

// ---- polling, when WebSockets fail -----------------------------------------------------------

function startPolling() {
  if (!pollTimer && !finished) {
    pollTimer = setInterval(poll, POLL_EVERY_MS);
    poll();
  }
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

async function poll() {
  try {
    const { body } = await api(`/v1/events/${event}/tickets/${ticketId}`, { token });
    followTicket(body);
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) {
      showGone("expired");
    }
  }
}

// ---- what the shopper sees -------------------------------------------------------------------

function showStatus(status) {
  eventStatus = status;
  const [word, explanation] = STATUS_WORDS[status] || [status, ""];
  const badge = el("status");
  badge.textContent = word;
  badge.dataset.status = status;
  let text = explanation;
  if (status === "prequeue" && startsAt) {
    text = `The sale starts at ${clockTime(startsAt)}. ${explanation}`;
  }
  el("status-explain").textContent = text;
  if (status === "sold_out" || status === "closed") {
    el("place").hidden = true;
    el("headline").textContent = STATUS_WORDS[status][1];
  } else if (lastPlace && !finished) {
    showPlace(lastPlace.position, lastPlace.eta);
  }
}

function showPlace(position, etaSeconds) {
  lastPlace = { position, eta: etaSeconds };
  el("place").hidden = false;
  el("gone").hidden = true;
  if (position === null || position === undefined) {
    // Before the draw nobody has a place; the API's estimate (when it gives one) is for the
    // expected place, counted from now.
    if (etaSeconds !== null && etaSeconds !== undefined) {
      prequeueEta = etaSeconds;
    }
    el("headline").textContent = "You're in!";
    el("position").textContent = "Lottery";
    el("position").classList.add("small");
    el("eta").textContent = prequeueEta === null ? "after the draw" : waitInWords(prequeueEta);
    el("ahead").textContent = "Your place is drawn at the start, fairly, among everyone here before it.";
    setProgress(0);
    return;
  }
  el("position").classList.remove("small");
  el("headline").textContent = position <= 1 ? "You're next!" : "You're in line";
  el("position").textContent = position.toLocaleString();
  el("eta").textContent = eventStatus === "paused" ? "on hold" : waitInWords(etaSeconds);
  el("ahead").textContent =
    position <= 1 ? "Nobody is ahead of you." : `${(position - 1).toLocaleString()} ahead of you.`;
  document.title = `#${position} · waiting room`;
  // Progress is measured from the furthest back this shopper has been.
  const key = `waitroom.furthest.${ticketId}`;
  const furthest = Math.max(position, Number(sessionStorage.getItem(key)) || 0);
  sessionStorage.setItem(key, String(furthest));
  setProgress(furthest > 1 ? (furthest - position) / (furthest - 1) : 1);
}

function setProgress(fraction) {
  const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  el("progress-bar").style.width = `${Math.max(percent, 3)}%`;
  el("progress").setAttribute("aria-valuenow", String(percent));
}

function showGone(status) {
  finish();
  el("place").hidden = true;
  el("gone").hidden = false;
  el("headline").textContent = status === "left" ? "You left the line" : "Your place has expired";
  el("gone-text").textContent =
    status === "left"
      ? "You can join again; you'll start at the back."
      : "The page was away too long, or your turn passed. You can join again at the back.";
  el("rejoin").onclick = () => location.reload();
}

function goToCheckout(admissionToken, expiresAt) {
  finish();
  sessionStorage.setItem(
    `waitroom.admission.${event}`,
    JSON.stringify({ admission_token: admissionToken, admission_expires_at: expiresAt, ticket_id: ticketId }),
  );
  el("headline").textContent = "It's your turn!";
  el("ahead").textContent = "Taking you to checkout…";
  setProgress(1);
  location.assign(`checkout.html?event=${encodeURIComponent(event)}`);
}

function finish() {
  finished = true;
  stopPolling();
  showConnection("done");
  if (socket) {
    socket.close(1000);
    socket = null;
  }
}

function showConnection(state) {
  const words = {
    connecting: "Connecting…",
    live: "Live: updates arrive by themselves",
    reconnecting: "Connection lost: reconnecting…",
    polling: "Live updates unavailable: checking every few seconds",
    done: "",
  };
  const line = el("connection");
  line.dataset.state = state;
  line.textContent = words[state] ?? "";
}

function showError(error) {
  el("page").setAttribute("aria-busy", "false");
  const box = el("error");
  box.hidden = false;
  box.textContent = error instanceof Error ? error.message : String(error);
  el("headline").textContent = "Something went wrong";
  showConnection("done");
}
