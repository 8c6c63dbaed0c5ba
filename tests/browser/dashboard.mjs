// The operators' dashboard in a real headless Chromium: it asks for the admin token, shows an
// event's numbers changing live while a simulated sale runs, pauses the event from the page and
// sees the outflow stop, and shows why a bad rule set is refused.
//
// Needs a running waitroom (WAITROOM_URL) with dev login on and an admin token
// (WAITROOM_ADMIN_TOKEN). run.sh starts one; see it for the whole procedure.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = required("WAITROOM_URL");
const adminToken = required("WAITROOM_ADMIN_TOKEN");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOT_DIR || "target/browser";
const event = `dash-${Date.now().toString(36)}`;
const SHOPPERS = 60;

mkdirSync(shots, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`dashboard: set ${name}`);
    process.exit(2);
  }
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(`dashboard: ${message}`);
}

async function call(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An open sale admitting four shoppers a second, and a crowd joining it over a few seconds. */
async function simulateSale() {
  await call("/v1/admin/events", {
    method: "POST",
    token: adminToken,
    body: {
      id: event,
      name: "Dashboard rehearsal",
      starts_at: new Date(Date.now() - 1000).toISOString(),
      outflow_per_second: 4,
      outflow_burst: 1,
      admission_ttl_seconds: 600,
      inventory: { "TSHIRT-M": 500, HOODIE: 100 },
    },
  });
  const joining = (async () => {
    for (let i = 0; i < SHOPPERS; i += 1) {
      const { access_token } = await call("/v1/dev/login", { method: "POST", body: { user_id: `${event}-shopper-${i}` } });
      await call(`/v1/events/${event}/tickets`, { method: "POST", token: access_token, body: {} });
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
  })();
  return joining;
}

/** One signed-in shopper reading its ticket far faster than a page would: limited by user id. */
async function pollGreedily() {
  const { access_token } = await call("/v1/dev/login", { method: "POST", body: { user_id: `${event}-greedy` } });
  const ticket = await call(`/v1/events/${event}/tickets`, { method: "POST", token: access_token, body: {} });
  let limited = 0;
  for (let i = 0; i < 45; i += 1) {
    const response = await fetch(`${base}/v1/events/${event}/tickets/${ticket.ticket_id}`, { headers: { Authorization: `Bearer ${access_token}` } });
    if (response.status === 429 || response.status === 403) limited += 1;
  }
  check(limited > 0, "the greedy shopper was limited");
  return `user:${event}-greedy`;
}

const number = async (card, field) => Number((await card.locator(`[data-field="${field}"]`).textContent()).trim());

async function main() {
  const joining = simulateSale();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const problems = [];
    page.on("pageerror", (error) => problems.push(error.message));

    await page.goto(`${base}/admin`);
    await page.locator("#token").fill(adminToken);
    await page.locator('#login button[type="submit"]').click();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 10_000 });
    check(await page.evaluate(() => sessionStorage.getItem("waitroom_admin_token")) === adminToken, "the token is kept in sessionStorage");

    const card = page.locator(`article[data-event="${event}"]`);
    await card.waitFor({ timeout: 10_000 });
    const firstAdmitted = await number(card, "admitted");
    const firstJoined = await number(card, "queue_length");
    await page.waitForFunction(
      ([id, before]) => Number(document.querySelector(`#event-${id} [data-field="admitted"]`).textContent) >= before + 3,
      [event, firstAdmitted],
      { timeout: 15_000 },
    );
    await joining;
    const greedy = await pollGreedily();
    await page.locator('[data-testid="top-clients"] td', { hasText: greedy }).waitFor({ timeout: 10_000 });
    check(await page.locator('[data-testid="refusals"] tbody tr').count() > 0, "refusals per rule are shown");
    const admitted = await number(card, "admitted");
    console.log(`dashboard: admitted went from ${firstAdmitted} to ${admitted} live (queue was ${firstJoined})`);
    await page.screenshot({ path: `${shots}/dashboard-live.png`, fullPage: true });

    // Pause from the page: the status turns paused and admissions stop.
    await card.locator('[data-action="pause"]').click();
    await card.locator('[data-field="status"]', { hasText: "paused" }).waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1_500); // let a drain already under way finish
    // Shoppers join while paused, so there is always someone the outflow could admit: a stopped
    // count then means the pause holds, not that the line ran dry.
    for (let i = 0; i < 5; i += 1) {
      const { access_token } = await call("/v1/dev/login", { method: "POST", body: { user_id: `${event}-while-paused-${i}` } });
      await call(`/v1/events/${event}/tickets`, { method: "POST", token: access_token, body: {} });
    }
    await page.waitForTimeout(1_500); // the page hears of them
    const atPause = await number(card, "admitted");
    const apiAtPause = await call(`/v1/admin/events/${event}`, { token: adminToken });
    await page.waitForTimeout(3_000);
    const afterPause = await number(card, "admitted");
    const apiAfterPause = await call(`/v1/admin/events/${event}`, { token: adminToken });
    check(afterPause === atPause, `admissions continued after the pause: ${atPause} -> ${afterPause}`);
    const waiting = await number(card, "queue_length");
    check(waiting > 0, "shoppers still wait while paused");
    // The page could freeze and still pass the checks above: the API must agree that the event
    // is paused, that admissions stopped while shoppers wait, and with the figure the page shows.
    check(apiAtPause.operator_status === "paused" && apiAfterPause.status === "paused", `the API says ${apiAfterPause.status}`);
    check(apiAfterPause.stats.admitted === apiAtPause.stats.admitted, `the API saw admissions after the pause: ${apiAtPause.stats.admitted} -> ${apiAfterPause.stats.admitted}`);
    check(apiAfterPause.serving === apiAtPause.serving, `the serving number moved while paused: ${apiAtPause.serving} -> ${apiAfterPause.serving}`);
    check(apiAfterPause.stats.admitted === afterPause, `the page shows ${afterPause} admitted, the API ${apiAfterPause.stats.admitted}`);
    check(apiAfterPause.stats.queue_length > 0, "the API has shoppers waiting while paused");
    console.log(`dashboard: paused at ${atPause} admitted, still ${afterPause} three seconds later (API: ${apiAfterPause.stats.admitted}), ${waiting} waiting`);
    await page.screenshot({ path: `${shots}/dashboard-paused.png`, fullPage: true });

    // The audit log shows the pause, with who made it.
    await page.locator('[data-testid="audit"] td', { hasText: "event.change" }).first().waitFor({ timeout: 5_000 });

    // A ban made from the page shows in the list, and its Lift button ends it.
    await page.locator('#ban-form [name="key"]').fill("ip:203.0.113.7");
    await page.locator('#ban-form [name="reason"]').fill("scraping the catalogue");
    await page.locator('#ban-form [name="scope"]').selectOption("anonymous");
    await page.locator('#ban-form button[type="submit"]').click();
    const banRow = page.locator('[data-testid="bans"] tr', { hasText: "ip:203.0.113.7" });
    await banRow.waitFor({ timeout: 5_000 });
    const shownScope = await banRow.locator('[data-field="scope"]').textContent();
    check(shownScope.startsWith("anonymous"), `the ban's scope shows as ${shownScope}`);
    const { bans: madeBans } = await call("/v1/admin/bans", { token: adminToken });
    check(
      madeBans.some((ban) => ban.key === "ip:203.0.113.7" && ban.scope === "anonymous"),
      "the API keeps the scope chosen on the page",
    );
    await page.locator("#ratelimit").screenshot({ path: `${shots}/dashboard-ban.png` });
    await banRow.locator("button[data-lift]").click();
    await banRow.waitFor({ state: "detached", timeout: 5_000 });
    const { bans } = await call("/v1/admin/bans", { token: adminToken });
    check(!bans.some((ban) => ban.key === "ip:203.0.113.7"), "the lifted ban is gone");

    // A bad rule set is refused with its reasons shown, and the rules in force stay.
    const before = await call("/v1/admin/ratelimit", { token: adminToken });
    await page.locator('[data-testid="rules"]').fill(JSON.stringify({ rules: [{ name: "", limit: -1 }] }));
    await page.locator("#rules-save").click();
    await page.locator('[data-testid="rules-errors"] li').first().waitFor({ timeout: 5_000 });
    const shown = await page.locator('[data-testid="rules-errors"] li').count();
    check(shown > 0, "validation errors are listed");
    const after = await call("/v1/admin/ratelimit", { token: adminToken });
    check(JSON.stringify(after) === JSON.stringify(before), "the rules in force did not change");
    await page.locator("#ratelimit").screenshot({ path: `${shots}/dashboard-rules-refused.png` });

    check(problems.length === 0, `page errors: ${problems.join("; ")}`);
    console.log("dashboard: passed");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
