// How long the queue page's "Check the draw" takes in headless Chromium on large draws, and how
// long it holds the page's main thread: static/draw-check.js on a synthetic, correct draw of
// ENTRANTS entrants (comma-separated sizes), served page by page (1,000 per page) as
// GET /v1/events/{event}/draw serves it. Prints, per size, the time from opening the section to
// "Your place in the draw … checked" (check_ms) and the part of it spent reading the pages
// (reading_ms), the longest main-thread task and the longest gap between two animation frames.
// No waitroom server is needed: a small file server serves static/ (the queue page's markup,
// with a stand-in for queue.js that offers the check; STATIC_DIR to time another copy) and the
// record.
//
//   cd tests/browser && npm ci && ENTRANTS=10000,100000 node draw-timing.mjs

import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const sizes = (process.env.ENTRANTS || "10000,100000").split(",").map(Number);
const PAGE = 1000;
const staticDir = process.env.STATIC_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../static");
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** A correct draw of `n` random tickets, as the server would publish it. */
function syntheticDraw(n) {
  const seed = randomBytes(32).toString("hex");
  const ids = Array.from({ length: n }, () => randomUUID()).sort();
  const commitment = sha256(ids.map((id) => `${id}\n`).join(""));
  const order = ids
    .map((id) => [sha256(`${seed}:${commitment}:${id}`), id])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, id]) => id);
  return { seed, seedHash: sha256(seed), commitment, order, index: new Map(order.map((id, i) => [id, i])) };
}

/** Stands in for queue.js: the language, and the check offered to a pre-queue ticket. */
const standIn = `
import { setupLanguage } from "./i18n.js";
import { offerDrawCheck } from "./draw-check.js";
setupLanguage();
offerDrawCheck({ event: "timing", ticketId: new URLSearchParams(location.search).get("ticket"),
  joinedAt: "2026-12-05T09:00:00Z", startsAt: "2026-12-05T10:00:00Z", drawn: true });
`;

let draw = null;
const server = createServer(async (request, response) => {
  const url = new URL(request.url, "http://localhost");
  const name = url.pathname.slice(1);
  if (name === "v1/events/timing/draw") {
    const after = url.searchParams.get("after");
    const start = after ? draw.index.get(after) + 1 : 0;
    const entrants = draw.order.slice(start, start + PAGE);
    const last = start + PAGE >= draw.order.length;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({
      seed_hash: draw.seedHash, entrants_commitment: draw.commitment, drawn: true, seed: draw.seed,
      entrants_total: draw.order.length, entrants, next: last ? null : entrants[entrants.length - 1],
    }));
    return;
  }
  if (name === "" || name === "index.html") {
    const html = (await readFile(path.join(staticDir, "index.html"), "utf8")).replace('src="queue.js"', 'src="stand-in.js"');
    response.writeHead(200, { "content-type": "text/html" }).end(html);
    return;
  }
  if (name === "stand-in.js") {
    response.writeHead(200, { "content-type": "text/javascript" }).end(standIn);
    return;
  }
  if (!["draw-check.js", "draw-verify.js", "draw-worker.js", "api.js", "i18n.js", "waitroom.css"].includes(name)) {
    response.writeHead(404).end();
    return;
  }
  const type = name.endsWith(".css") ? "text/css" : "text/javascript";
  response.writeHead(200, { "content-type": type }).end(await readFile(path.join(staticDir, name)));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  for (const n of sizes) {
    draw = syntheticDraw(n);
    const ticket = draw.order[Math.floor(n / 3)];
    const page = await browser.newPage();
    await page.goto(`${origin}/?ticket=${ticket}&lang=en`);
    await page.waitForSelector("#draw-check:not([hidden])");
    await page.evaluate(() => {
      window.timing = { longest: 0, longTasks: 0, gap: 0 };
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          window.timing.longTasks += 1;
          window.timing.longest = Math.max(window.timing.longest, entry.duration);
        }
      }).observe({ type: "longtask" });
      let last = performance.now();
      const frame = (now) => {
        window.timing.gap = Math.max(window.timing.gap, now - last);
        last = now;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const started = Date.now();
    await page.click("#draw-check summary");
    await page.waitForFunction(() => document.getElementById("draw-progress").textContent.startsWith("Checking")
      || document.getElementById("draw-result").dataset.outcome, null, { timeout: 600000, polling: 50 });
    const read = Date.now() - started;
    await page.waitForSelector('#draw-result:not([data-outcome=""])', { timeout: 600000 });
    const took = Date.now() - started;
    const outcome = await page.getAttribute("#draw-result", "data-outcome");
    const text = await page.textContent("#draw-result");
    const timing = await page.evaluate(() => window.timing);
    const expected = `Your place in the draw: ${(draw.index.get(ticket) + 1).toLocaleString("en")} of ${n.toLocaleString("en")} — checked`;
    if (outcome !== "ok" || text !== expected) {
      throw new Error(`${n} entrants: expected "${expected}", saw ${outcome}: "${text}"`);
    }
    console.log(JSON.stringify({
      chromium: browser.version(), entrants: n, check_ms: took, reading_ms: read,
      longest_task_ms: Math.round(timing.longest), long_tasks: timing.longTasks, longest_frame_gap_ms: Math.round(timing.gap),
    }));
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
