// "Check the draw" on the queue page, in a real headless Chromium:
// - a shopper who joined in the pre-queue sees the published seed hash before the draw, and
//   after it the page recomputes the draw and shows the same place as the API's listing;
// - the section opens by keyboard, reads in Arabic right to left, and axe-core finds no serious
//   or critical violation with it open;
// - a tampered record (seed, one entrant, the count, the order) is caught and named.

import { accessibilityProblems, adminToken, base, call, check, launch, login, numberIn, run, setStatus, shots } from "./harness.mjs";

const event = `draw-${Date.now().toString(36)}`;
/** Shoppers who join the pre-queue through the API, besides the one in the browser. */
const OTHERS = 5;
/** Time left before the start for the others and the page to join. */
const PREQUEUE_MS = 8000;

/** A pre-queue sale starting soon, paused from the start so nobody is let through. */
async function prequeueSale() {
  const now = Date.now();
  await call("/v1/admin/events", {
    method: "POST",
    token: adminToken,
    body: {
      id: event,
      name: "Draw check sale",
      prequeue_opens_at: new Date(now - 1000).toISOString(),
      starts_at: new Date(now + PREQUEUE_MS).toISOString(),
      outflow_per_second: 2,
      outflow_burst: 1,
      admission_ttl_seconds: 300,
      allow_anonymous: true,
      inventory: { "TSHIRT-M": 50 },
      abandon_after_seconds: 120,
    },
  });
  await setStatus(event, "paused");
  return now + PREQUEUE_MS;
}

/** The whole public record: the first page's fields and every entrant in draw order. */
async function drawListing() {
  const first = await call(`/v1/events/${event}/draw?limit=1000`);
  const entrants = [...(first.entrants || [])];
  for (let page = first; page.next; ) {
    page = await call(`/v1/events/${event}/draw?limit=1000&after=${page.next}`);
    entrants.push(...page.entrants);
  }
  return { ...first, entrants };
}

/** Tabs to the section's summary and opens it with Enter. */
async function openByKeyboard(page) {
  for (let tabs = 0; !(await page.evaluate(() => document.activeElement && document.activeElement.matches("#draw-check summary"))); tabs += 1) {
    check(tabs < 15, "the draw check is reachable with Tab");
    await page.keyboard.press("Tab");
  }
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("draw-check").open);
}

/** Serves the draw's record changed by `tamper`, runs the check again and returns its outcome. */
async function checkTampered(page, tamper) {
  const pattern = `**/v1/events/${event}/draw?*`;
  await page.route(pattern, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    tamper(body);
    await route.fulfill({ response, json: body });
  });
  try {
    // The button is disabled from the click until the check ends.
    await page.click("#draw-run");
    await page.waitForSelector("#draw-run:not([disabled])", { timeout: 15000 });
    return {
      outcome: await page.getAttribute("#draw-result", "data-outcome"),
      reason: await page.getAttribute("#draw-result", "data-reason"),
      text: await page.textContent("#draw-result"),
    };
  } finally {
    await page.unroute(pattern);
  }
}

run("draw", async () => {
  const startsAt = await prequeueSale();
  const others = [];
  for (let i = 0; i < OTHERS; i += 1) {
    const ticket = await call(`/v1/events/${event}/tickets`, { method: "POST", body: {}, token: await login(`${event}-${i}`) });
    others.push(ticket.ticket_id);
  }
  const before = await call(`/v1/events/${event}/draw`);
  check(before.drawn === false && typeof before.seed_hash === "string", `before the start: ${JSON.stringify(before)}`);

  const browser = await launch();
  const problems = [];
  try {
    const context = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`policy: ${message.text()}`);
    });
    const joined = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/v1/events/${event}/tickets`));
    await page.goto(`${base}/?event=${event}`);
    const ticketId = (await (await joined).json()).ticket_id;
    check(Date.now() < startsAt, "the page joined before the start; give the pre-queue more time");

    // Before the draw: the seed hash as published, and the promise of the seed at the start.
    await page.waitForSelector("#draw-check:not([hidden])", { timeout: 10000 });
    await openByKeyboard(page);
    await page.waitForSelector('#draw-result[data-outcome="waiting"]', { timeout: 10000 });
    check((await page.textContent("#draw-seed-hash")) === before.seed_hash, "the page shows the published seed hash");
    check((await page.textContent("#draw-result")).includes("revealed at the start"), `before the draw: ${await page.textContent("#draw-result")}`);
    check(await page.isHidden("#draw-run"), "no check to run before the draw");
    await page.screenshot({ path: `${shots}/draw-before.png`, fullPage: true });

    // The start passes: the draw is done and the page is told.
    await page.waitForSelector('#status[data-status="paused"]', { timeout: PREQUEUE_MS + 15000 });
    await page.waitForFunction(() => /[0-9]/.test(document.getElementById("position").textContent), null, { timeout: 15000 });
    const listing = await drawListing();
    check(listing.drawn === true && listing.entrants.length === OTHERS + 1, `the draw: ${JSON.stringify(listing)}`);
    const expected = listing.entrants.indexOf(ticketId) + 1;
    check(expected > 0, `the page's ticket ${ticketId} is an entrant`);
    check(others.every((id) => listing.entrants.includes(id)), "every shopper of the pre-queue is an entrant");
    const position = await numberIn(page, "#position");
    check(position === expected, `the page's place ${position} is the listing's ${expected}`);
    const token = await page.evaluate(() => localStorage.getItem("waitroom.token"));
    const ticket = await call(`/v1/events/${event}/tickets/${ticketId}`, { token });
    check(ticket.position === expected, `the API's position ${ticket.position} is the listing's ${expected}`);

    await page.waitForSelector("#draw-run:not([hidden])");
    await page.focus("#draw-run");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#draw-result[data-outcome="ok"]', { timeout: 15000 });
    const shown = await page.textContent("#draw-result");
    console.log(`draw: the page says "${shown}"; the listing has the ticket at ${expected} of ${listing.entrants.length}`);
    check(shown === `Your place in the draw: ${expected} of ${OTHERS + 1} — checked`, `after the draw: ${shown}`);
    check(Number(await page.getAttribute("#draw-result", "data-place")) === expected, "data-place is the listing's place");
    check((await page.textContent("#draw-seed")) === listing.seed, "the page shows the revealed seed");
    check(await page.getAttribute("#draw-result", "aria-live") === "polite", "the result is announced politely");
    await page.screenshot({ path: `${shots}/draw-checked.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(page, "queue page, draw checked (English)")));

    // Arabic: the same result in its words, right to left, still accessible.
    await page.selectOption("#lang", "ar");
    await page.waitForFunction(() => document.documentElement.dir === "rtl");
    const arabic = await page.textContent("#draw-result");
    check(arabic.startsWith("مكانك في القرعة:") && arabic.endsWith("تم التحقق"), `Arabic result: ${arabic}`);
    check((await page.textContent("#draw-check summary")) === "تحقّق من القرعة", "Arabic summary");
    check(await page.evaluate(() => getComputedStyle(document.getElementById("draw-seed")).direction) === "ltr", "hex stays left to right");
    await page.screenshot({ path: `${shots}/draw-checked-arabic.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(page, "queue page, draw checked (Arabic)")));
    await page.selectOption("#lang", "en");
    await page.waitForFunction(() => document.documentElement.dir === "ltr");

    // Tampered records are caught, each by the check it breaks.
    const otherEntrant = listing.entrants.find((id) => id !== ticketId);
    const cases = [
      ["seed", (body) => { body.seed = `${body.seed.slice(0, -1)}${body.seed.endsWith("0") ? "1" : "0"}`; }],
      ["commitment", (body) => { body.entrants = body.entrants.map((id) => (id === otherEntrant ? "00000000-0000-4000-8000-000000000000" : id)); }],
      ["count", (body) => { body.entrants_total += 1; }],
      ["order", (body) => { [body.entrants[0], body.entrants[1]] = [body.entrants[1], body.entrants[0]]; }],
    ];
    for (const [reason, tamper] of cases) {
      const seen = await checkTampered(page, tamper);
      console.log(`draw: tampered ${reason}: ${seen.outcome}/${seen.reason}: ${seen.text}`);
      check(seen.outcome === "mismatch" && seen.reason === reason, `a tampered ${reason} is reported as such, got ${JSON.stringify(seen)}`);
      check(seen.text.startsWith("Check failed:"), `the failure is said plainly: ${seen.text}`);
      if (reason === "order") {
        check(seen.text.includes("places 1 and 2 "), `the places out of order are named: ${seen.text}`);
        await page.screenshot({ path: `${shots}/draw-tampered.png`, fullPage: true });
      }
    }

    // The untouched record checks again.
    await page.click("#draw-run");
    await page.waitForSelector('#draw-result[data-outcome="ok"]', { timeout: 15000 });
    await context.close();
  } finally {
    await browser.close();
  }
  check(problems.length === 0, `problems:\n${problems.join("\n")}`);
});
