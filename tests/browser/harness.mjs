// What the browser scripts share: the server's address and admin token, API calls, Chromium.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`browser test: set ${name}`);
    process.exit(2);
  }
  return value;
}

export const base = required("WAITROOM_URL");
export const adminToken = required("WAITROOM_ADMIN_TOKEN");
export const shots = process.env.SCREENSHOT_DIR || "target/browser";
mkdirSync(shots, { recursive: true });

/** Throws with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** Calls the API; the JSON answer, or throws with the status and body. */
export async function call(path, { method = "GET", body, token } = {}) {
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

/** A signed-in shopper's user token (dev login). */
export async function login(userId) {
  const { access_token } = await call("/v1/dev/login", { method: "POST", body: { user_id: userId, tier: "regular" } });
  return access_token;
}

/** Creates a sale open to visitors, paused so a line forms, with `ahead` shoppers already in it. */
export async function pausedSale(id, { ahead = 0, extra = {} } = {}) {
  await call("/v1/admin/events", {
    method: "POST",
    token: adminToken,
    body: {
      id,
      name: "Browser test sale",
      starts_at: new Date(Date.now() - 1000).toISOString(),
      outflow_per_second: 2,
      outflow_burst: 1,
      admission_ttl_seconds: 300,
      allow_anonymous: true,
      inventory: { "TSHIRT-M": 50 },
      abandon_after_seconds: 120,
      ...extra,
    },
  });
  await setStatus(id, "paused");
  for (let i = 0; i < ahead; i += 1) {
    await call(`/v1/events/${id}/tickets`, { method: "POST", body: {}, token: await login(`${id}-ahead-${i}`) });
  }
}

export async function setStatus(id, status) {
  await call(`/v1/admin/events/${id}`, { method: "PATCH", token: adminToken, body: { status } });
}

/** Headless Chromium from Debian, driven by playwright-core. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/** Runs a script's `main`, exiting non-zero with the error when it fails. */
export function run(name, main) {
  main().then(
    () => console.log(`${name}: passed`),
    (error) => {
      console.error(`${name}: ${error.stack || error}`);
      process.exit(1);
    },
  );
}

/** The number shown in `selector`, or null when it shows none. */
export async function numberIn(page, selector) {
  const text = (await page.textContent(selector)) || "";
  return /[0-9]/.test(text) ? Number(text.replace(/[^0-9]/g, "")) : null;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it stands (all are logged). */
export async function accessibilityProblems(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const all = result.violations.map((v) => `${v.id} (${v.impact})`).join(", ") || "none";
  console.log(`axe on ${name}: ${all}`);
  return bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}
