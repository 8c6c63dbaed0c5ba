// waitroom's JSON API as the shopper's pages use it: credentials, problem errors, retries.

/** The event of this page: `?event=` or the demo event. */
export function eventFromQuery() {
  const id = new URLSearchParams(location.search).get("event") || "demo-sale";
  return /^[a-z0-9][a-z0-9-]{0,63}$/.test(id) ? id : null;
}

/** Where this shopper's bearer token (user JWT or visitor token) is kept between pages. */
const TOKEN_KEY = "waitroom.token";

/**
 * The shopper's bearer token. A shop hands a signed-in shopper over with the token in the
 * address's fragment (`#token=…`): browsers never send a fragment to any server, so it reaches no
 * log, and the page takes it once and removes it from the address bar (and so from the history
 * and from any link the shopper copies). A token in the query (`?token=`) is never used: it would
 * be in every log on the way, and anyone could plant their own identity on a shopper with a link.
 */
export function storedToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const handedOver = fragment.get("token");
  if (handedOver || query.has("token")) {
    if (handedOver) {
      localStorage.setItem(TOKEN_KEY, handedOver);
    }
    fragment.delete("token");
    query.delete("token");
    const search = query.toString();
    const hash = fragment.toString();
    history.replaceState(history.state, "", `${location.pathname}${search ? `?${search}` : ""}${hash ? `#${hash}` : ""}`);
  }
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
  } else {
    localStorage.removeItem(TOKEN_KEY);
  }
}

/** An API answer that was not a success: carries the problem document when there is one. */
export class ApiProblem extends Error {
  constructor(status, problem, retryAfter = null) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.problem = problem;
    /** Seconds the server asked to wait (`Retry-After`), when it did. */
    this.retryAfter = retryAfter;
  }
}

/**
 * Calls the API: JSON in and out, the bearer token when there is one, cookies always (anonymous
 * visitors are known by theirs). Resolves with `{status, body}`; rejects with ApiProblem, or with
 * a TypeError when the network failed.
 */
export async function api(path, { method = "GET", body, token, headers = {} } = {}) {
  const request = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (token) {
    request.headers.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) {
    request.headers["Content-Type"] = "application/json";
    request.body = JSON.stringify(body);
  }
  const response = await fetch(path, request);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    throw new ApiProblem(response.status, parsed, retryAfterSeconds(response.headers.get("Retry-After")));
  }
  return { status: response.status, body: parsed };
}

function retryAfterSeconds(value) {
  if (!value) {
    return null;
  }
  const seconds = Number(value);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds);
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}

/** Whether trying again later may succeed: the server is busy or away, or the network failed. */
export function isRetryable(error) {
  if (error instanceof ApiProblem) {
    return error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504;
  }
  return error instanceof TypeError;
}

/** The longest wait between two tries. */
export const LONGEST_BACKOFF_MS = 30000;

/**
 * How long to wait before try `attempt` + 1 (counted from 0): doubling from one second up to
 * 30 s, never sooner than the server's `Retry-After`, and spread at random so that a crowd
 * turned away in the same second does not come back in the same second.
 */
export function retryDelay(attempt, retryAfter = null) {
  const backoff = Math.min(LONGEST_BACKOFF_MS, 1000 * 2 ** Math.min(attempt, 10));
  const spread = backoff / 2 + Math.random() * (backoff / 2);
  const asked = retryAfter === null || retryAfter === undefined ? 0 : retryAfter * 1000 * (1 + Math.random() * 0.5);
  return Math.round(Math.max(spread, asked));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where an admission is kept between the queue page, a reload and the checkout page. */
export function admissionKey(event) {
  return `waitroom.admission.${event}`;
}

/** The admission kept for `event`, if it is still valid; an expired one is forgotten. */
export function keptAdmission(event) {
  let admission = null;
  try {
    admission = JSON.parse(sessionStorage.getItem(admissionKey(event)) || "null");
  } catch {
    admission = null;
  }
  if (!admission || !admission.admission_token) {
    return null;
  }
  const expires = Date.parse(admission.admission_expires_at);
  if (!Number.isNaN(expires) && expires <= Date.now()) {
    sessionStorage.removeItem(admissionKey(event));
    return null;
  }
  return admission;
}
