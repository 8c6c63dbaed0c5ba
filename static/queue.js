// The queue page: join, then follow the place live over a WebSocket, and go to checkout the
// moment the shopper is let through.
//
// Built for bad days: a busy server (429/503 with Retry-After), a slow or dropping network. Every
// call is retried with back-off and jitter, honouring Retry-After, for as long as the sale runs;
// the place shown stays on screen meanwhile. The socket reconnects with back-off, and polling
// takes over while it cannot stay up. The admission is kept for a reload, and one that has
// expired is never shown as "your turn".

import { api, ApiProblem, admissionKey, eventFromQuery, isRetryable, keptAdmission, retryDelay, LONGEST_BACKOFF_MS, sleep, storedToken, storeToken } from "./api.js";
import { showBranding } from "./branding.js";
import { drawIsDone, offerDrawCheck, redrawDrawCheck } from "./draw-check.js";
import { clockTime, number, setupLanguage, t, waitInWords } from "./i18n.js";
import { proofFor } from "./pow.js";

const event = eventFromQuery();
const el = (id) => document.getElementById(id);

/** The shopper's bearer token (user JWT or visitor token), if any; the visitor cookie otherwise. */
let token = storedToken();
/** The shopper's ticket id. */
let ticketId = null;
/** True once admitted, or once the place or the sale is gone: nothing more to follow. */
let finished = false;
let socket = null;
/** True while a socket is being set up (its ticket asked for), so only one is. */
let connecting = false;
/** Socket connects in a row that failed, or opened and dropped soon after. */
let failedConnects = 0;
let polling = false;
let pollTimer = null;
let pollFailures = 0;
let pingTimer = null;
let startsAt = null;
/** The place and wait as last heard, shown again when the status or language changes. */
let lastPlace = null;
/** The chance of success as last heard (`null` while unknown). */
let lastChance = null;
/** The wait the API estimated for the expected lottery place, before the draw. */
let prequeueEta = null;
/** The event's status as last heard. */
let eventStatus = null;
/** Whether the event asks joins for a proof of work (pow.js solves it). */
let needsProof = false;
/** What the connection line says, so a change of language can say it again. */
let connection = { state: "connecting", seconds: null };
/** The ticket status that ended the page, if one did. */
let goneStatus = null;
/** The error shown, as a string key or text. */
let shownError = null;
/** The last place read out to screen readers. */
let announced = null;

const POLL_EVERY_MS = 3000;
const PING_EVERY_MS = 20000;
/** After this many connects that failed, poll over HTTP while still retrying the socket. */
const CONNECTS_BEFORE_POLLING = 2;
/** A socket that closes sooner than this after opening counts as a failed connect. */
const SHORTEST_HEALTHY_SOCKET_MS = 10000;

setupLanguage(redraw);
start().catch(showError);

async function start() {
  if (!event) {
    throw new KeyedError("bad_link");
  }
  // A reload after admission: the turn is still valid, so go on to checkout with it.
  if (keptAdmission(event)) {
    showTurn();
    location.assign(`checkout.html?event=${encodeURIComponent(event)}`);
    return;
  }
  await retrying(loadEvent);
  const ticket = await retrying(join);
  ticketId = ticket.ticket_id;
  el("page").setAttribute("aria-busy", "false");
  offerDrawCheck({ event, ticketId, joinedAt: ticket.joined_at, startsAt, drawn: drawPassed(eventStatus) });
  followTicket(ticket);
  if (!finished) {
    connect();
  }
}

/** Runs `action` until it succeeds or fails for good, waiting between tries as the server asks. */
async function retrying(action) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await action();
      if (attempt > 0) {
        showConnection(socket ? "live" : "connecting");
      }
      return result;
    } catch (error) {
      if (!isRetryable(error)) {
        throw error;
      }
      const delay = retryDelay(attempt, error.retryAfter);
      showConnection("reconnecting", delay, busyOrLost(error));
      await sleep(delay);
    }
  }
}

/** The server answered that it is busy (429/503), or the network failed. */
function busyOrLost(error) {
  return error instanceof ApiProblem ? "busy" : "lost";
}

async function loadEvent() {
  const { body } = await api(`/v1/events/${event}`);
  const name = body.name || event;
  el("event-name").textContent = name;
  document.title = `${name} · ${t("title_suffix")}`;
  showBranding(body);
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
  throw new KeyedError("sign_in_failed");
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
      throw new KeyedError("need_account");
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
        startPolling();
      }
      break;
    case "waiting":
      showPlace(ticket.position, ticket.eta_seconds);
      showChance(ticket.chance_of_success);
      break;
    default:
      showGone(ticket.status);
  }
}

// ---- the live socket -------------------------------------------------------------------------

/**
 * The socket's URL: it carries a short-lived, single-use socket ticket, never the shopper's
 * token (URLs end up in logs). The ticket is asked for with the token in a header, or the cookie.
 */
async function socketUrl() {
  const { body } = await api(`/v1/events/${event}/tickets/${ticketId}/socket-ticket`, { method: "POST", token });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/v1/events/${event}/tickets/${ticketId}/ws?ticket=${encodeURIComponent(body.socket_ticket)}`;
}

async function connect() {
  if (finished || socket || connecting) {
    return;
  }
  connecting = true;
  if (!polling) {
    showConnection("connecting");
  }
  let url;
  try {
    url = await socketUrl();
  } catch (error) {
    connecting = false;
    if (error instanceof ApiProblem && error.status === 404) {
      showGone("expired");
      return;
    }
    scheduleReconnect(false, false, error);
    return;
  }
  connecting = false;
  if (finished) {
    return;
  }
  let openedAt = null;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    scheduleReconnect(false);
    return;
  }
  socket = ws;
  ws.onopen = () => {
    openedAt = Date.now();
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
    if (socket === ws) {
      socket = null;
    }
    if (!finished) {
      const healthy = openedAt !== null && Date.now() - openedAt >= SHORTEST_HEALTHY_SOCKET_MS;
      // 1001: the server is restarting; come back quickly, to any instance.
      scheduleReconnect(healthy, close.code === 1001);
    }
  };
}

function scheduleReconnect(healthy, goingAway = false, error = null) {
  failedConnects = healthy ? 0 : failedConnects + 1;
  if (failedConnects >= CONNECTS_BEFORE_POLLING) {
    startPolling();
  }
  const delay = goingAway ? 300 + Math.random() * 700 : retryDelay(Math.max(0, failedConnects - 1), error && error.retryAfter);
  if (!polling) {
    showConnection("reconnecting", delay, error ? busyOrLost(error) : "lost");
  }
  setTimeout(connect, Math.min(delay, LONGEST_BACKOFF_MS * 2));
}

function onServerMessage(message) {
  switch (message.type) {
    case "position":
      showPlace(message.position, message.eta_seconds);
      showChance(message.chance_of_success);
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

// ---- polling, while the socket cannot stay up ----------------------------------------------------

function startPolling() {
  if (!polling && !finished) {
    polling = true;
    showConnection("polling");
    pollAfter(0);
  }
}

function stopPolling() {
  polling = false;
  pollFailures = 0;
  clearTimeout(pollTimer);
  pollTimer = null;
}

function pollAfter(delay) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, delay);
}

async function poll() {
  if (!polling || finished) {
    return;
  }
  let next = POLL_EVERY_MS;
  try {
    const { body } = await api(`/v1/events/${event}/tickets/${ticketId}`, { token });
    pollFailures = 0;
    followTicket(body);
    if (polling && !finished) {
      showConnection("polling");
    }
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) {
      showGone("expired");
      return;
    }
    pollFailures += 1;
    next = Math.max(POLL_EVERY_MS, retryDelay(pollFailures - 1, error.retryAfter));
    if (polling && !finished) {
      showConnection("reconnecting", next, busyOrLost(error));
    }
  }
  if (polling && !finished) {
    pollAfter(next);
  }
}

// ---- what the shopper sees -------------------------------------------------------------------

/** Says again everything the script wrote, in the language just chosen. */
function redraw() {
  showBranding();
  if (eventStatus) {
    showStatus(eventStatus);
  }
  if (lastPlace && !finished) {
    showPlace(lastPlace.position, lastPlace.eta);
  }
  showChance(lastChance);
  if (goneStatus) {
    showGone(goneStatus);
  }
  if (shownError) {
    showError(shownError);
  }
  showConnection(connection.state, connection.seconds === null ? null : connection.seconds * 1000, connection.cause);
  redrawDrawCheck();
}

/** Whether a sale in `status` is past its draw: the draw happens when the pre-queue closes. */
function drawPassed(status) {
  return ["open", "paused", "sold_out", "closed"].includes(status);
}

function showStatus(status) {
  eventStatus = status;
  if (drawPassed(status)) {
    drawIsDone();
  }
  const known = ["scheduled", "prequeue", "open", "paused", "sold_out", "closed"].includes(status);
  const badge = el("status");
  badge.textContent = known ? t(`status.${status}`) : status;
  badge.dataset.status = status;
  let text = known ? t(`status.${status}.explain`) : "";
  if (status === "prequeue" && startsAt) {
    text = `${t("sale_starts_at", { time: clockTime(startsAt) })} ${text}`;
  }
  el("status-explain").textContent = text;
  if (status === "sold_out" || status === "closed") {
    el("place").hidden = true;
    el("headline").textContent = t(`status.${status}.explain`);
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
    el("headline").textContent = t("youre_in");
    el("position").textContent = t("lottery");
    el("position").classList.add("small");
    el("eta").textContent = prequeueEta === null ? t("after_draw") : waitInWords(prequeueEta);
    el("ahead").textContent = t("lottery_explain");
    setProgress(0);
    return;
  }
  drawIsDone();
  el("position").classList.remove("small");
  el("headline").textContent = position <= 1 ? t("youre_next") : t("in_line");
  el("position").textContent = number(position);
  el("eta").textContent = eventStatus === "paused" ? t("on_hold") : waitInWords(etaSeconds);
  el("ahead").textContent = position <= 1 ? t("nobody_ahead") : t("ahead", { n: number(position - 1) });
  document.title = `#${position} · ${t("title_suffix")}`;
  announce(position);
  // Progress is measured from the furthest back this shopper has been.
  const key = `waitroom.furthest.${ticketId}`;
  const furthest = Math.max(position, Number(sessionStorage.getItem(key)) || 0);
  sessionStorage.setItem(key, String(furthest));
  setProgress(furthest > 1 ? (furthest - position) / (furthest - 1) : 1);
}

/**
 * Reads the place out to screen readers, politely: when it changes, and not more than a few
 * times a minute (a fast line would otherwise talk without pause).
 */
let lastAnnouncedAt = 0;
function announce(position) {
  const now = Date.now();
  if (position === announced || (now - lastAnnouncedAt < 15000 && position > 1)) {
    return;
  }
  announced = position;
  lastAnnouncedAt = now;
  el("announce").textContent = position <= 1 ? t("announce_next") : t("announce_place", { n: number(position) });
}

/** "About 70% chance to buy", or a clear word when it is very unlikely; nothing while unknown. */
function showChance(chance) {
  const line = el("chance");
  if (typeof chance !== "number" || !Number.isFinite(chance) || finished) {
    lastChance = null;
    line.hidden = true;
    delete line.dataset.chance;
    return;
  }
  lastChance = Math.min(1, Math.max(0, chance));
  const percent = Math.round(lastChance * 100);
  line.hidden = false;
  line.dataset.chance = String(percent);
  line.dataset.unlikely = String(lastChance < 0.1);
  line.textContent = lastChance < 0.1 ? t("chance_unlikely") : t("chance_about", { p: number(percent) });
}

function setProgress(fraction) {
  const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  el("progress-bar").style.width = `${Math.max(percent, 3)}%`;
  el("progress").setAttribute("aria-valuenow", String(percent));
}

function showGone(status) {
  finish();
  goneStatus = status;
  el("place").hidden = true;
  el("chance").hidden = true;
  el("gone").hidden = false;
  el("headline").textContent = status === "left" ? t("left_line") : t("place_expired");
  el("gone-text").textContent = status === "left" ? t("left_text") : t("expired_text");
  el("rejoin").onclick = () => location.reload();
}

function goToCheckout(admissionToken, expiresAt) {
  const expires = Date.parse(expiresAt);
  if (!admissionToken || (!Number.isNaN(expires) && expires <= Date.now())) {
    // A turn that is already over is not a turn: ask the API how things stand instead.
    startPolling();
    return;
  }
  finish();
  sessionStorage.setItem(
    admissionKey(event),
    JSON.stringify({ admission_token: admissionToken, admission_expires_at: expiresAt, ticket_id: ticketId }),
  );
  showTurn();
  location.assign(`checkout.html?event=${encodeURIComponent(event)}`);
}

function showTurn() {
  el("headline").textContent = t("your_turn");
  el("ahead").textContent = t("to_checkout");
  el("chance").hidden = true;
  setProgress(1);
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

/**
 * The connection line: `state` is connecting, live, reconnecting, polling or done; while
 * reconnecting, `cause` says whether the server is busy (429/503) or the connection was lost.
 */
function showConnection(state, delayMs = null, cause = null) {
  connection = { state, cause, seconds: delayMs === null ? null : Math.max(1, Math.round(delayMs / 1000)) };
  const line = el("connection");
  line.dataset.state = state;
  line.dataset.cause = cause || "";
  const key = state === "reconnecting" && cause === "busy" ? "connection.busy" : `connection.${state}`;
  line.textContent = state === "done" ? "" : t(key, { s: number(connection.seconds ?? 1) });
}

/** An error whose words are in the strings table. */
class KeyedError extends Error {
  constructor(key) {
    super(key);
    this.key = key;
  }
}

function showError(error) {
  shownError = error;
  el("page").setAttribute("aria-busy", "false");
  const box = el("error");
  box.hidden = false;
  box.textContent = error instanceof KeyedError ? t(error.key) : error instanceof Error ? error.message : String(error);
  el("headline").textContent = t("went_wrong");
  showConnection("done");
}
