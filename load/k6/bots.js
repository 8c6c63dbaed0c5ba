// Bots with k6: BOTS bots with IDENTITIES user ids each (one VU per identity) join the moment
// the sale starts, ignore Retry-After, poll their tickets every INTERVAL_MS, re-post their
// joins, try checkout without an admission, and buy the instant they are admitted. The run
// creates its own event; it passes when the server stays up (no 5xx), refuses every checkout
// without an admission, and sells no more than it has.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e ADMIN_TOKEN=… -e SHOPPERS=50 -e DURATION=60s \
//     load/k6/bots.js
//
// SHOPPERS here is the number of bot identities (BOTS × IDENTITIES when those are given).
// -e PROOF_DIFFICULTY=N makes the event ask a proof of work of N bits at every join: the bots
// pay it like everyone (`proof_solve`, ms), and no longer re-post joins they hold.

import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import {
  BASE_URL,
  asUser,
  body,
  createEvent,
  durationSeconds,
  envNumber,
  joinBody,
  serverErrorCounter,
  sleepUntil,
  soldUnits,
  userToken,
} from './lib/waitroom.js';

const IDENTITIES = envNumber('IDENTITIES', 10);
const BOTS = envNumber('BOTS', Math.max(1, Math.ceil(envNumber('SHOPPERS', 50) / IDENTITIES)));
const DURATION = __ENV.DURATION || '60s';
const INTERVAL_MS = envNumber('INTERVAL_MS', 50);
const UNITS = envNumber('UNITS', 20);
const OUTFLOW = envNumber('OUTFLOW', 10);

const admitted = new Counter('bot_admitted');
const serverErrors = new Counter('server_errors');
const oversold = new Counter('oversold_units');

// Rate limits, refusals and sold out are what bots should meet; only 5xx are failures.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

export const options = {
  setupTimeout: '60s',
  scenarios: {
    bots: {
      executor: 'per-vu-iterations',
      vus: BOTS * IDENTITIES,
      iterations: 1,
      maxDuration: DURATION,
    },
  },
  thresholds: {
    'http_req_duration{endpoint:join}': ['p(95)<250'],
    'http_req_duration{endpoint:ticket}': ['p(95)<250'],
    http_req_failed: ['rate<0.01'],
    server_errors: ['count==0'],
    oversold_units: ['count==0'],
    'checks{check:no_admission}': ['rate==1'],
  },
};

/** @typedef {import('./lib/waitroom.js').EventPlan} EventPlan */

/** @returns {EventPlan} */
export function setup() {
  return createEvent('k6-bots', { outflowPerSecond: OUTFLOW, units: UNITS, skus: 1, leadSeconds: 5 });
}

const watch = serverErrorCounter(serverErrors);

/** @param {EventPlan} sale */
export default function (sale) {
  const identity = exec.vu.idInTest;
  const bot = Math.ceil(identity / IDENTITIES);
  const token = userToken(`k6-bot-${sale.id}-${bot}-${identity}`);
  const joinUrl = `${BASE_URL}/v1/events/${sale.id}/tickets`;
  const checkoutUrl = `${BASE_URL}/v1/events/${sale.id}/checkout`;
  const items = JSON.stringify({ items: [{ sku: sale.skus[0], quantity: 1 }] });
  const untilMs = sale.startsAtMs + durationSeconds(DURATION) * 1000;
  sleepUntil(sale.startsAtMs, sleep);

  /** @type {unknown} */
  let ticket;
  while (typeof ticket !== 'string' && Date.now() < untilMs) {
    const joined = watch(http.post(joinUrl, joinBody(sale, token), asUser(token, 'join')));
    ticket = body(joined).ticket_id;
    if (joined.status === 409) {
      return;
    }
    sleep(INTERVAL_MS / 1000);
  }
  if (typeof ticket !== 'string') {
    return;
  }

  const forged = watch(http.post(checkoutUrl, items, asUser(token, 'checkout', { 'Admission-Token': 'forged.token.value' })));
  check(forged, { no_admission: (r) => r.status === 403 || r.status === 429 });

  let polls = 0;
  while (Date.now() < untilMs) {
    const res = watch(http.get(`${joinUrl}/${ticket}`, asUser(token, 'ticket')));
    const state = body(res);
    if (state.status === 'admitted' && typeof state.admission_token === 'string') {
      admitted.add(1);
      const reserved = watch(http.post(checkoutUrl, items, asUser(token, 'checkout', { 'Admission-Token': state.admission_token })));
      const order = body(reserved).order_id;
      if (reserved.status === 201 && typeof order === 'string') {
        watch(
          http.post(
            `${BASE_URL}/v1/events/${sale.id}/orders/${order}/pay`,
            JSON.stringify({ payment: { card_token: 'tok_visa' } }),
            asUser(token, 'pay', { 'Admission-Token': state.admission_token }),
          ),
        );
      }
      return;
    }
    polls += 1;
    if (polls % 5 === 0) {
      // Where a join costs a proof of work, a bot does not pay for joins it already has.
      if (!(sale.proofDifficulty > 0)) {
        watch(http.post(joinUrl, '{}', asUser(token, 'join')));
      }
      const event = body(watch(http.get(`${BASE_URL}/v1/events/${sale.id}`, { tags: { endpoint: 'event' } })));
      if (event.status === 'sold_out' || event.status === 'closed') {
        return;
      }
    }
    sleep(INTERVAL_MS / 1000);
  }
}

/** @param {EventPlan} sale */
export function teardown(sale) {
  const sold = soldUnits(sale.id);
  if (sold !== null && sold > sale.units) {
    oversold.add(sold - sale.units);
  }
}
