// The waitroom contract as the k6 scripts call it: configuration from the environment, user
// tokens (minted HS256 with USER_JWT_SECRET, or dev login), the event each run creates for
// itself, and the admin figures read at the end.

import http from 'k6/http';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { fail } from 'k6';
import { Trend } from 'k6/metrics';

/** The server, without a trailing slash. */
export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
/** The admin bearer token (WAITROOM_ADMIN_TOKEN on the server). */
export const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || '';
/** The server's HS256 user-token secret; dev login when unset. */
export const USER_JWT_SECRET = __ENV.USER_JWT_SECRET || '';
/** The proof-of-work difficulty (leading zero bits) the run's event asks at every join; 0 is none. */
export const PROOF_DIFFICULTY = envNumber('PROOF_DIFFICULTY', 0);

/**
 * A number from the environment, or a default.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    fail(`${name}=${raw} is not a number`);
  }
  return value;
}

/**
 * Seconds from a k6 duration such as `90s`, `2m` or `1m30s` (a bare number is seconds).
 * @param {string} text
 * @returns {number}
 */
export function durationSeconds(text) {
  if (/^\d+(\.\d+)?$/.test(text)) {
    return Number(text);
  }
  const units = /** @type {Record<string, number>} */ ({ h: 3600, m: 60, s: 1, ms: 0.001 });
  let total = 0;
  const parts = text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g);
  for (const part of parts) {
    total += Number(part[1]) * units[part[2]];
  }
  if (total <= 0) {
    fail(`DURATION=${text} is not a duration`);
  }
  return total;
}

/**
 * The parsed JSON body of a response, or an empty object.
 * @param {import('k6/http').RefinedResponse<any>} res
 * @returns {Record<string, any>}
 */
export function body(res) {
  try {
    const parsed = res.json();
    return parsed !== null && typeof parsed === 'object' ? /** @type {Record<string, any>} */ (parsed) : {};
  } catch (_) {
    return {};
  }
}

/**
 * @param {string} text
 * @returns {string}
 */
function base64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

/**
 * An HS256 user token for `userId`, valid for two hours.
 * @param {string} userId
 * @returns {string}
 */
function mintUserToken(userId) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ sub: userId, iat: now, exp: now + 7200, tier: 'regular' }));
  const signature = crypto.hmac('sha256', USER_JWT_SECRET, `${header}.${claims}`, 'base64rawurl');
  return `${header}.${claims}.${signature}`;
}

/**
 * A user bearer token for `userId`: minted when USER_JWT_SECRET is set, else by dev login.
 * @param {string} userId
 * @returns {string}
 */
export function userToken(userId) {
  if (USER_JWT_SECRET) {
    return mintUserToken(userId);
  }
  const res = http.post(`${BASE_URL}/v1/dev/login`, JSON.stringify({ user_id: userId, tier: 'regular' }), {
    headers: { 'Content-Type': 'application/json' },
    tags: { endpoint: 'login' },
  });
  const token = body(res).access_token;
  if (res.status !== 200 || typeof token !== 'string') {
    fail(`dev login answered ${res.status}: set USER_JWT_SECRET or start the server with WAITROOM_DEV_LOGIN=true`);
  }
  return token;
}

/**
 * Request parameters for a user.
 * @param {string} token
 * @param {string} endpoint
 * @param {Record<string, string>} [extra]
 * @returns {import('k6/http').RefinedParams<'text'>}
 */
export function asUser(token, endpoint, extra = {}) {
  return {
    headers: Object.assign(
      { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      shopperAddress(),
      extra,
    ),
    tags: { endpoint },
  };
}

/**
 * Where the shoppers come from. `one` (the default): every request from the machine k6 runs on,
 * as a crowd behind one carrier NAT, campus or office arrives. `per-shopper`: each virtual user
 * sends its own documentation address in `X-Forwarded-For` (for a server that trusts the k6
 * machine as a proxy), so each shopper is its own client to the rate limiter.
 */
export const ADDRESSES = __ENV.ADDRESSES || 'one';
if (ADDRESSES !== 'one' && ADDRESSES !== 'per-shopper') {
  throw new Error(`ADDRESSES must be "one" or "per-shopper", not "${ADDRESSES}"`);
}

/**
 * The headers naming this virtual user's address, if shoppers have addresses of their own.
 * @returns {Record<string, string>}
 */
export function shopperAddress() {
  if (ADDRESSES !== 'per-shopper' || typeof __VU !== 'number' || __VU < 1) {
    return {};
  }
  const vu = __VU;
  return { 'X-Forwarded-For': `2001:db8:0:0:0:0:${Math.floor(vu / 65536).toString(16)}:${(vu % 65536).toString(16)}` };
}

/**
 * @param {string} endpoint
 * @returns {import('k6/http').RefinedParams<'text'>}
 */
function asAdmin(endpoint) {
  return {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    tags: { endpoint },
  };
}

/**
 * What a run's event is.
 * @typedef {object} EventPlan
 * @property {string} id
 * @property {number} startsAtMs
 * @property {number} units
 * @property {string[]} skus
 * @property {number} proofDifficulty leading zero bits every join's proof of work needs (0: none)
 */

/**
 * Creates a fresh event through the admin API, starting `leadSeconds` from now.
 * @param {string} prefix
 * @param {{ outflowPerSecond: number, units: number, skus: number, leadSeconds: number }} plan
 * @returns {EventPlan}
 */
export function createEvent(prefix, plan) {
  if (!ADMIN_TOKEN) {
    fail('ADMIN_TOKEN is required: each run creates its own event through the admin API');
  }
  const id = `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const startsAtMs = Date.now() + plan.leadSeconds * 1000;
  /** @type {Record<string, number>} */
  const inventory = {};
  const skus = [];
  for (let i = 0; i < plan.skus; i++) {
    const sku = `sku-${i + 1}`;
    skus.push(sku);
    inventory[sku] = Math.floor(plan.units / plan.skus) + (i < plan.units % plan.skus ? 1 : 0);
  }
  const res = http.post(
    `${BASE_URL}/v1/admin/events`,
    JSON.stringify({
      id,
      name: `k6 rehearsal ${id}`,
      starts_at: new Date(startsAtMs).toISOString(),
      outflow_per_second: plan.outflowPerSecond,
      outflow_burst: Math.max(1, Math.round(plan.outflowPerSecond)),
      admission_ttl_seconds: 120,
      allow_anonymous: false,
      inventory,
      mode: 'queue',
      abandon_after_seconds: 60,
      proof_difficulty: PROOF_DIFFICULTY,
    }),
    asAdmin('create event'),
  );
  if (res.status !== 201 && res.status !== 200) {
    fail(`creating the event answered ${res.status}: ${res.body}`);
  }
  return { id, startsAtMs, units: plan.units, skus, proofDifficulty: PROOF_DIFFICULTY };
}

/** How long finding each proof of work took, milliseconds. */
const proofSolve = new Trend('proof_solve', true);

/**
 * How many zero bits a hash written in hex starts with.
 * @param {string} hex
 * @returns {number}
 */
export function leadingZeroBits(hex) {
  let bits = 0;
  for (const digit of hex) {
    const nibble = parseInt(digit, 16);
    if (nibble !== 0) {
      return bits + Math.clz32(nibble) - 28;
    }
    bits += 4;
  }
  return bits;
}

/**
 * The smallest decimal nonce such that SHA-256 of `challenge:nonce` starts with `difficulty`
 * zero bits (about 2^difficulty hashes), as the queue page's static/pow.js finds it.
 * @param {string} challenge
 * @param {number} difficulty
 * @returns {string}
 */
export function solveProof(challenge, difficulty) {
  for (let nonce = 0; ; nonce++) {
    const text = String(nonce);
    if (leadingZeroBits(crypto.sha256(`${challenge}:${text}`, 'hex')) >= difficulty) {
      return text;
    }
  }
}

/**
 * The body of a join: `{}`, or with a freshly solved proof of work when the event asks for one
 * (a proof is good for one join, so every try pays again).
 * @param {EventPlan} sale
 * @param {string} token
 * @returns {string}
 */
export function joinBody(sale, token) {
  if (!(sale.proofDifficulty > 0)) {
    return '{}';
  }
  const res = http.get(`${BASE_URL}/v1/events/${sale.id}/challenge`, asUser(token, 'challenge'));
  const { challenge, difficulty } = body(res);
  if (res.status !== 200 || typeof challenge !== 'string' || typeof difficulty !== 'number') {
    return '{}';
  }
  const started = Date.now();
  const nonce = solveProof(challenge, difficulty);
  proofSolve.add(Date.now() - started);
  return JSON.stringify({ proof: { challenge, nonce } });
}

/**
 * Units sold by the server's count (the admin event detail's `stats.sold`, summed over SKUs).
 * @param {string} eventId
 * @returns {number | null}
 */
export function soldUnits(eventId) {
  const res = http.get(`${BASE_URL}/v1/admin/events/${eventId}`, asAdmin('admin event'));
  const detail = body(res);
  const stats = detail.stats && typeof detail.stats === 'object' ? detail.stats : detail;
  const sold = stats.sold;
  if (typeof sold === 'number') {
    return sold;
  }
  if (sold && typeof sold === 'object') {
    return Object.values(sold).reduce((sum, units) => sum + Number(units), 0);
  }
  return null;
}

/**
 * Waits until the wall clock reads `atMs` (k6 sleeps in seconds).
 * @param {number} atMs
 * @param {(seconds: number) => void} sleep
 */
export function sleepUntil(atMs, sleep) {
  const wait = atMs - Date.now();
  if (wait > 0) {
    sleep(wait / 1000);
  }
}

/**
 * A pass-through for responses that adds every 5xx to `counter`.
 * @param {import('k6/metrics').Counter} counter
 * @returns {(res: import('k6/http').RefinedResponse<any>) => import('k6/http').RefinedResponse<any>}
 */
export function serverErrorCounter(counter) {
  return (res) => {
    if (res.status >= 500) {
      counter.add(1);
    }
    return res;
  };
}
