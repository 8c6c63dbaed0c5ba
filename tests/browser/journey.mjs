// A shopper's whole journey in a real headless Chromium, on a phone-sized screen:
// the queue page joins, shows the place falling live, is admitted, checks out and pays.
//
// Needs a running waitroom (WAITROOM_URL) with dev login on and an admin token
// (WAITROOM_ADMIN_TOKEN). run.sh starts one; see it for the whole procedure.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = required("WAITROOM_URL");
const adminToken = required("WAITROOM_ADMIN_TOKEN");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOT_DIR || "target/browser";
const event = `browser-${Date.now().toString(36)}`;
const SKU = "TSHIRT-M";
const SHOPPERS_AHEAD = 5;

mkdirSync(shots, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`journey: set ${name}`);
    process.exit(2);
  }
  return value;
}

function check(condition, message) {
  if (!condition) {
    throw new Error(`journey: ${message}`);
  }
}

async function call(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** A paused sale with stock, so a line forms before the outflow starts. */
async function createPausedSale() {
  await call("/v1/admin/events", {
    method: "POST",
    token: adminToken,
    body: {
      id: event,
      name: "Browser test sale",
      starts_at: new Date(Date.now() - 1000).toISOString(),
      outflow_per_second: 1,
      outflow_burst: 1,
      admission_ttl_seconds: 300,
      allow_anonymous: true,
      inventory: { [SKU]: 50 },
      abandon_after_seconds: 120,
    },
  });
  await setStatus("paused");
}

async function setStatus(status) {
  await call(`/v1/admin/events/${event}`, { method: "PATCH", token: adminToken, body: { status } });
}

async function joinShoppersAhead() {
  for (let i = 0; i < SHOPPERS_AHEAD; i += 1) {
    const { access_token } = await call("/v1/dev/login", { method: "POST", body: { user_id: `${event}-ahead-${i}`, tier: "regular" } });
    await call(`/v1/events/${event}/tickets`, { method: "POST", body: {}, token: access_token });
  }
}

async function numberIn(page, selector) {
  const text = (await page.textContent(selector)) || "";
  const value = Number(text.replace(/[^0-9]/g, ""));
  return text.match(/[0-9]/) ? value : null;
}

async function main() {
  await createPausedSale();
  await joinShoppersAhead();

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  try {
    // A desktop shopper joins too, behind the phone shopper, for a screenshot at desktop size.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await phone.newPage();
    page.on("console", (message) => console.log(`page: ${message.text()}`));
    await page.goto(`${base}/?event=${event}`);

    await page.waitForFunction(() => /[0-9]/.test(document.getElementById("position").textContent), null, { timeout: 15000 });
    const first = await numberIn(page, "#position");
    console.log(`journey: joined at place ${first}`);
    check(first === SHOPPERS_AHEAD + 1, `expected place ${SHOPPERS_AHEAD + 1}, saw ${first}`);
    await page.waitForSelector('#status[data-status="paused"]', { timeout: 5000 });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10000 });
    await page.screenshot({ path: `${shots}/queue-phone.png`, fullPage: true });

    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const desktopPage = await desktop.newPage();
    await desktopPage.goto(`${base}/?event=${event}`);
    await desktopPage.waitForFunction(() => /[0-9]/.test(document.getElementById("position").textContent), null, { timeout: 15000 });
    await desktopPage.screenshot({ path: `${shots}/queue-desktop.png` });
    await desktop.close();

    // A shopper whose browser cannot open WebSockets follows the line by polling instead.
    const noSockets = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    await noSockets.addInitScript(() => {
      window.WebSocket = function WebSocketBlocked() {
        throw new Error("WebSockets are blocked here");
      };
    });
    const pollingPage = await noSockets.newPage();
    await pollingPage.goto(`${base}/?event=${event}`);
    await pollingPage.waitForSelector('#connection[data-state="polling"]', { timeout: 20000 });
    console.log("journey: a page without WebSockets polls");

    // The sale resumes: the place falls one a second until the page goes to checkout.
    await setStatus("open");
    await page.waitForSelector('#status[data-status="open"]', { timeout: 5000 });
    const seen = [first];
    const deadline = Date.now() + 30000;
    while (!page.url().includes("checkout.html")) {
      check(Date.now() < deadline, `not admitted within 30 s; places seen: ${seen.join(", ")}`);
      const now = await numberIn(page, "#position").catch(() => null);
      if (now !== null && now !== seen[seen.length - 1]) {
        seen.push(now);
        if (now === 2) {
          await page.screenshot({ path: `${shots}/queue-phone-moving.png`, fullPage: true });
        }
      }
      await page.waitForTimeout(100);
    }
    console.log(`journey: places seen ${seen.join(" → ")}, then admitted`);
    check(seen.length >= 3, `the place should fall visibly; saw ${seen.join(", ")}`);
    for (let i = 1; i < seen.length; i += 1) {
      check(seen[i] < seen[i - 1], `the place went up: ${seen.join(", ")}`);
    }

    // Checkout: reserve one item with the admission, then pay.
    await page.waitForSelector("#reserve-form:not([hidden])", { timeout: 10000 });
    if (await page.isVisible("#sku")) {
      await page.selectOption("#sku", SKU);
    } else {
      await page.fill("#sku-text", SKU);
    }
    await page.click("#reserve");
    await page.waitForSelector("#order:not([hidden])", { timeout: 10000 });
    await page.click("#pay");
    await page.waitForSelector("#paid:not([hidden])", { timeout: 10000 });
    const status = await page.textContent("#order-status");
    check(status.trim() === "paid", `the order should be paid, is ${status}`);
    await page.screenshot({ path: `${shots}/checkout-phone.png`, fullPage: true });
    console.log(`journey: paid; screenshots in ${shots}/`);

    await pollingPage.waitForURL(/checkout\.html/, { timeout: 30000 });
    console.log("journey: the polling page was admitted too");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
