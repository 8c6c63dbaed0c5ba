// waitroom's JSON API as the shopper's pages use it: credentials, problem errors, small helpers.

/** The event of this page: `?event=` or the demo event. */
export function eventFromQuery() {
  const id = new URLSearchParams(location.search).get("event") || "demo-sale";
  return /^[a-z0-9][a-z0-9-]{0,63}$/.test(id) ? id : null;
}

/** Where this shopper's bearer token (user JWT or visitor token) is kept between pages. */
const TOKEN_KEY = "waitroom.token";

export function storedToken() {
  const fromQuery = new URLSearchParams(location.search).get("token");
  if (fromQuery) {
    localStorage.setItem(TOKEN_KEY, fromQuery);
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
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.problem = problem;
  }
}

/**
 * Calls the API: JSON in and out, the bearer token when there is one, cookies always (anonymous
 * visitors are known by theirs). Resolves with `{status, body}`; rejects with ApiProblem.
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
    throw new ApiProblem(response.status, parsed);
  }
  return { status: response.status, body: parsed };
}

/** A wait in words: "about 3 min", "less than a minute". */
export function waitInWords(seconds) {
  if (seconds === null || seconds === undefined) {
    return "unknown for now";
  }
  if (seconds < 60) {
    return "less than a minute";
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `about ${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `about ${hours} h ${rest} min` : `about ${hours} h`;
}

/** A time for people, in the shopper's own zone. */
export function clockTime(rfc3339) {
  const at = new Date(rfc3339);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** What each event status means to a shopper. */
export const STATUS_WORDS = {
  scheduled: ["Not open yet", "The waiting room opens before the sale starts. Come back a little before the start."],
  prequeue: ["Before the start", "Everyone here before the start gets a place by fair lottery when the sale starts: arriving early buys nothing, so relax."],
  open: ["Open", "The line is moving. Keep this page open: you'll go to checkout by yourself when it's your turn."],
  paused: ["Paused", "The shop has paused the line for a moment. You keep your place."],
  sold_out: ["Sold out", "Everything has been sold. Sorry!"],
  closed: ["Closed", "This sale has ended."],
};
