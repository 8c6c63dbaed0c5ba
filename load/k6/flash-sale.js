// A flash sale with k6: SHOPPERS shoppers arrive over a ramp after the start, join, wait on
// the ticket's WebSocket (WS_SHARE of them) or poll, reserve and pay when admitted. The run
// creates its own event through the admin API and checks at the end that nothing was oversold.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e ADMIN_TOKEN=… -e SHOPPERS=500 -e DURATION=90s \
//     load/k6/flash-sale.js
//
// -e PROOF_DIFFICULTY=N makes the event ask a proof of work of N bits at every join; each
// shopper then fetches a challenge and solves it before joining (`proof_solve`, ms).
//
// By default every shopper comes from the one machine k6 runs on, as a crowd behind a carrier's
// NAT does (-e ADDRESSES=one); -e ADDRESSES=per-shopper gives each its own X-Forwarded-For.

import http from 'k6/http';
import ws from 'k6/ws';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL,
  asUser,
  body,
  createEvent,
  durationSeconds,
  envNumber,
  joinBody,
  serverErrorCounter,
  shopperAddress,
  sleepUntil,
  soldUnits,
  userToken,
} from './lib/waitroom.js';

const SHOPPERS = envNumber('SHOPPERS', 200);
const DURATION = __ENV.DURATION || '90s';
const RAMP_SECONDS = envNumber('RAMP_SECONDS', 10);
const WS_SHARE = envNumber('WS_SHARE', 0.8);
const UNITS = envNumber('UNITS', Math.max(1, Math.floor(SHOPPERS / 4)));
const OUTFLOW = envNumber('OUTFLOW', 50);
const POLL_SECONDS = envNumber('POLL_SECONDS', 1);

const admitted = new Counter('admitted');
const paidUnits = new Counter('paid_units');
const serverErrors = new Counter('server_errors');
const oversold = new Counter('oversold_units');
const joinToAdmission = new Trend('join_to_admission', true);

// Sold out, rate limited and unknown tickets are answers, not failures of the server.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 404, 409, 429));

export const options = {
  setupTimeout: '120s',
  scenarios: {
    shoppers: {
      executor: 'per-vu-iterations',
      vus: SHOPPERS,
      iterations: 1,
      maxDuration: DURATION,
    },
  },
  thresholds: {
    'http_req_duration{endpoint:join}': ['p(95)<250'],
    'http_req_duration{endpoint:ticket}': ['p(95)<250'],
    'http_req_duration{endpoint:checkout}': ['p(95)<500'],
    'http_req_duration{endpoint:pay}': ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
    server_errors: ['count==0'],
    oversold_units: ['count==0'],
    checks: ['rate>0.99'],
  },
};

/**
 * @typedef {import('./lib/waitroom.js').EventPlan} EventPlan
 */

/** @returns {EventPlan} */
export function setup() {
  return createEvent('k6-sale', { outflowPerSecond: OUTFLOW, units: UNITS, skus: 1, leadSeconds: 5 });
}

const watch = serverErrorCounter(serverErrors);

/**
 * Waits on the ticket's socket; returns the admission token, or '' if the sale ended first.
 * @param {EventPlan} sale
 * @param {string} ticket
 * @param {string} token
 * @param {number} untilMs
 * @returns {string}
 */
function waitOnSocket(sale, ticket, token, untilMs) {
  const url = `${BASE_URL.replace(/^http/, 'ws')}/v1/events/${sale.id}/tickets/${ticket}/ws`;
  let admission = '';
  const headers = Object.assign({ Authorization: `Bearer ${token}` }, shopperAddress());
  const res = ws.connect(url, { headers, tags: { endpoint: 'ws' } }, (socket) => {
    socket.on('message', (text) => {
      /** @type {Record<string, any>} */
      let message = {};
      try {
        message = JSON.parse(text);
      } catch (_) {
        return;
      }
      if (message.type === 'admitted' && typeof message.admission_token === 'string') {
        admission = message.admission_token;
        socket.close();
      } else if (message.type === 'status' && (message.status === 'sold_out' || message.status === 'closed')) {
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), Math.max(1, untilMs - Date.now()));
  });
  check(res, { 'queue socket opens': (r) => r !== undefined && r.status === 101 });
  return admission;
}

/**
 * Polls the ticket; returns the admission token, or '' if the sale ended first.
 * @param {EventPlan} sale
 * @param {string} ticket
 * @param {string} token
 * @param {number} untilMs
 * @returns {string}
 */
function poll(sale, ticket, token, untilMs) {
  while (Date.now() < untilMs) {
    const res = watch(http.get(`${BASE_URL}/v1/events/${sale.id}/tickets/${ticket}`, asUser(token, 'ticket')));
    const state = body(res);
    if (state.status === 'admitted' && typeof state.admission_token === 'string') {
      return state.admission_token;
    }
    if (res.status === 404 || state.status === 'expired' || state.status === 'left') {
      return '';
    }
    const event = body(http.get(`${BASE_URL}/v1/events/${sale.id}`, { headers: shopperAddress(), tags: { endpoint: 'event' } }));
    if (event.status === 'sold_out' || event.status === 'closed') {
      return '';
    }
    const retryAfter = Number(res.headers['Retry-After'] || 0);
    sleep(Math.max(POLL_SECONDS, retryAfter));
  }
  return '';
}

/** @param {EventPlan} sale */
export default function (sale) {
  const shopper = exec.vu.idInTest;
  const token = userToken(`k6-shopper-${sale.id}-${shopper}`);
  sleepUntil(sale.startsAtMs + ((shopper - 1) / SHOPPERS) * RAMP_SECONDS * 1000, sleep);

  const joinUrl = `${BASE_URL}/v1/events/${sale.id}/tickets`;
  let joined = watch(http.post(joinUrl, joinBody(sale, token), asUser(token, 'join')));
  for (let tries = 0; joined.status === 429 && tries < 10; tries++) {
    sleep(Number(joined.headers['Retry-After'] || 1));
    joined = watch(http.post(joinUrl, joinBody(sale, token), asUser(token, 'join')));
  }
  const ticket = body(joined).ticket_id;
  if (!check(joined, { 'join gives a ticket or says sold out': (r) => typeof ticket === 'string' || r.status === 409 })) {
    return;
  }
  if (typeof ticket !== 'string') {
    return;
  }
  const joinedAt = Date.now();
  const untilMs = joinedAt + durationSeconds(DURATION) * 1000;
  // A socket that ends without an admission gets one last poll, as a browser page would.
  const admission =
    Math.random() < WS_SHARE
      ? waitOnSocket(sale, ticket, token, untilMs) || poll(sale, ticket, token, Date.now() + 1)
      : poll(sale, ticket, token, untilMs);
  if (!admission) {
    return;
  }
  admitted.add(1);
  joinToAdmission.add(Date.now() - joinedAt);

  const sku = sale.skus[shopper % sale.skus.length];
  const reserved = watch(
    http.post(
      `${BASE_URL}/v1/events/${sale.id}/checkout`,
      JSON.stringify({ items: [{ sku, quantity: 1 }] }),
      asUser(token, 'checkout', { 'Admission-Token': admission, 'Idempotency-Key': `${sale.id}-${shopper}` }),
    ),
  );
  const order = body(reserved).order_id;
  check(reserved, { 'checkout reserves or says sold out': (r) => r.status === 201 || r.status === 409 });
  if (reserved.status !== 201 || typeof order !== 'string') {
    return;
  }
  const paid = watch(
    http.post(
      `${BASE_URL}/v1/events/${sale.id}/orders/${order}/pay`,
      JSON.stringify({ payment: { card_token: 'tok_visa' } }),
      asUser(token, 'pay', { 'Admission-Token': admission }),
    ),
  );
  if (check(paid, { 'payment goes through': (r) => r.status === 200 })) {
    paidUnits.add(1);
  }
}

/** @param {EventPlan} sale */
export function teardown(sale) {
  const sold = soldUnits(sale.id);
  check(sold, { 'the server reports units sold': (s) => s !== null });
  if (sold !== null && sold > sale.units) {
    oversold.add(sold - sale.units);
  }
}
