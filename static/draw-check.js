// "Check the draw": the queue page recomputes the pre-queue lottery from its public record
// (GET /v1/events/{event}/draw) and the shopper's own place in it, in the browser, as
// load/verify_draw.py does from a terminal.
//
// The record is read only when the shopper opens the section (or asks again): every shopper
// fetching every page of a large draw the moment it happens would load the server for nothing.
// The hashing and sorting run in a Web Worker (draw-worker.js running draw-verify.js), so the
// page stays responsive however many entrants there are.

import { api, isRetryable, retryDelay, sleep } from "./api.js";
import { number, t } from "./i18n.js";

/** Entrants per page asked of the API (its most). */
const PAGE_LIMIT = 1000;
/** Tries per page while the server is busy or the network fails, before giving up. */
const TRIES_PER_PAGE = 5;

const el = (id) => document.getElementById(id);

/** What the section knows: the event, the ticket, and what it last showed (to redraw it). */
const state = {
  event: null,
  ticketId: null,
  /** Whether the draw is done, as the queue page last heard. */
  drawn: false,
  /** The first page of the record as last read (seed hash, commitment, seed). */
  record: null,
  /** What the status lines say: `{ key, values }` for progress and result, or null. */
  progress: null,
  result: null,
  /** True while a check runs, so only one does. */
  running: false,
};

/**
 * Shows the section to a shopper whose ticket takes part in the draw: `joinedAt` before
 * `startsAt` means the ticket was in the pre-queue when it closed. Others never see it.
 */
export function offerDrawCheck({ event, ticketId, joinedAt, startsAt, drawn }) {
  const joined = Date.parse(joinedAt);
  const starts = Date.parse(startsAt);
  if (Number.isNaN(joined) || Number.isNaN(starts) || joined >= starts) {
    return;
  }
  state.event = event;
  state.ticketId = String(ticketId).toLowerCase();
  state.drawn = Boolean(drawn);
  const section = el("draw-check");
  section.hidden = false;
  section.addEventListener("toggle", () => {
    if (section.open && !state.record && !state.running) {
      check();
    }
  });
  el("draw-run").addEventListener("click", () => check());
  redrawDrawCheck();
}

/** The queue page heard that the draw is done (the status moved past the pre-queue). */
export function drawIsDone() {
  if (state.drawn || !state.event) {
    return;
  }
  state.drawn = true;
  // Whoever is reading the pre-draw record is told the draw happened; the check itself waits
  // for the shopper to ask, so the draw's first seconds see no stampede of readers.
  if (state.record && !state.record.drawn) {
    state.result = null;
    state.progress = null;
  }
  redrawDrawCheck();
}

/** Writes the section again in the current language. */
export function redrawDrawCheck() {
  if (!state.event) {
    return;
  }
  const record = state.record;
  const drawnNow = state.drawn || Boolean(record && record.drawn);
  el("draw-intro").textContent = drawnNow ? t("draw.intro_after") : t("draw.intro_before");
  // A record read before the draw is stale once the draw is done: its facts wait for a new read.
  const showFacts = Boolean(record) && (record.drawn || !state.drawn);
  el("draw-facts").hidden = !showFacts;
  if (showFacts) {
    showValue("draw-seed-hash", record.seed_hash, "draw.at_start");
    showValue("draw-commitment", record.entrants_commitment, "draw.at_start");
    showValue("draw-seed", record.drawn ? record.seed : null, "draw.seed_at_start");
  }
  const button = el("draw-run");
  button.hidden = !drawnNow;
  button.disabled = state.running;
  button.textContent = state.result && state.result.outcome !== "waiting" ? t("draw.again") : t("draw.run");
  el("draw-progress").textContent = state.progress ? t(state.progress.key, localised(state.progress.values)) : "";
  const line = el("draw-result");
  const result = state.result;
  line.dataset.outcome = result ? result.outcome : "";
  line.dataset.reason = result && result.reason ? result.reason : "";
  if (result && result.place) {
    line.dataset.place = String(result.place);
    line.dataset.total = String(result.total);
  } else {
    delete line.dataset.place;
    delete line.dataset.total;
  }
  line.textContent = result ? t(result.key, localised(result.values)) : "";
}

/** A published hex value, left to right in every language; or, in words, when it comes. */
function showValue(id, value, pendingKey) {
  const node = el(id);
  node.dir = value ? "ltr" : "auto";
  node.toggleAttribute("data-pending", !value);
  node.textContent = value ? String(value) : t(pendingKey);
}

/** Numbers written as the current language writes them; other values as they are. */
function localised(values = {}) {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, typeof value === "number" ? number(value) : value]));
}

/**
 * Reads the record; before the draw that is all there is to show. After it, reads the whole record
 * and checks it, then shows the shopper's place or what did not match.
 */
async function check() {
  await guarded(async () => {
    const first = await drawPage(null);
    state.record = first;
    if (!first.drawn) {
      state.result = { outcome: "waiting", key: "draw.seed_later" };
      return;
    }
    await recompute(first);
  });
}

/** Runs one check at a time, showing a failure to read as such (never as a mismatch). */
async function guarded(work) {
  if (state.running) {
    return;
  }
  state.running = true;
  state.result = null;
  el("draw-check").setAttribute("aria-busy", "true");
  redrawDrawCheck();
  try {
    if (!(globalThis.crypto && crypto.subtle)) {
      state.result = { outcome: "error", reason: "unsupported", key: "draw.fail_unsupported" };
      return;
    }
    await work();
  } catch (error) {
    console.warn("the draw could not be checked", error);
    state.result = { outcome: "error", reason: "unreadable", key: "draw.fail_read" };
  } finally {
    state.running = false;
    state.progress = null;
    el("draw-check").setAttribute("aria-busy", "false");
    redrawDrawCheck();
  }
}

/** One page of the record, retried while the server is busy or the network fails. */
async function drawPage(after) {
  const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
  if (after) {
    query.set("after", after);
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { body } = await api(`/v1/events/${state.event}/draw?${query}`);
      if (!body || typeof body !== "object") {
        throw new Error("the draw's record is not a JSON object");
      }
      return body;
    } catch (error) {
      if (!isRetryable(error) || attempt + 1 >= TRIES_PER_PAGE) {
        throw error;
      }
      await sleep(retryDelay(attempt, error.retryAfter));
    }
  }
}

/**
 * Hands every page's entrants to `take`, the first page's included, following `next` to the last
 * page. Pages go to the worker as they come, so the page never holds (or copies) the whole list.
 */
async function eachPage(first, take) {
  const total = Number(first.entrants_total) || 0;
  const cursors = new Set();
  let page = first;
  let read = 0;
  for (;;) {
    const entrants = Array.isArray(page.entrants) ? page.entrants : [];
    take(entrants);
    read += entrants.length;
    if (!page.next) {
      return;
    }
    if (cursors.has(page.next)) {
      throw new Error(`the pages loop back to ${page.next}`);
    }
    cursors.add(page.next);
    state.progress = { key: "draw.reading", values: { n: read, m: total } };
    redrawDrawCheck();
    page = await drawPage(page.next);
  }
}

/** Checks the whole record in a Web Worker, then shows the shopper's place or what did not match. */
async function recompute(first) {
  const worker = new Worker(new URL("./draw-worker.js", import.meta.url), { type: "module" });
  try {
    const outcome = workerOutcome(worker);
    await eachPage(first, (entrants) => worker.postMessage({ entrants }));
    worker.postMessage({ check: { record: first, ticketId: state.ticketId } });
    const result = await outcome;
    if (result.outcome === "ok") {
      const values = { n: result.place, m: result.total };
      state.result = { outcome: "ok", key: "draw.ok", place: result.place, total: result.total, values };
    } else {
      state.result = { outcome: "mismatch", reason: result.reason, key: `draw.fail_${result.reason}`, values: result.values };
    }
  } finally {
    worker.terminate();
  }
}

/** The worker's result (see draw-verify.js), showing its progress meanwhile. */
function workerOutcome(worker) {
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.progress) {
        const [n, m] = data.progress;
        state.progress = { key: "draw.checking", values: { n, m } };
        redrawDrawCheck();
      } else if (data.result) {
        resolve(data.result);
      } else {
        reject(new Error(data.error || "the draw's check failed"));
      }
    };
    worker.onerror = (error) => reject(new Error(error.message || "the draw's check could not run"));
  });
}
