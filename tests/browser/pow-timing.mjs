// How long the queue page's proof of work takes in headless Chromium: static/pow.js's
// solveInWorker (a Web Worker started per solve, as the page does) on SOLVES random challenges of
// DIFFICULTY bits, timed from the call to the nonce. Prints the median and the 95th percentile.
// No waitroom server is needed: the two scripts are served from static/ by a small file server.
//
//   cd tests/browser && npm ci && DIFFICULTY=16 SOLVES=30 node pow-timing.mjs

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const difficulty = Number(process.env.DIFFICULTY || 16);
const solves = Number(process.env.SOLVES || 30);
const staticDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../static");

const server = createServer(async (request, response) => {
  const name = new URL(request.url, "http://localhost").pathname.slice(1);
  if (name === "") {
    response.writeHead(200, { "content-type": "text/html" });
    response.end("<!doctype html><title>proof of work timing</title>");
    return;
  }
  if (!["pow.js", "pow-worker.js"].includes(name)) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": "text/javascript" });
  response.end(await readFile(path.join(staticDir, name)));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  const times = await page.evaluate(
    async ({ difficulty, solves }) => {
      const { solveInWorker, sha256, leadingZeroBits } = await import("/pow.js");
      const out = [];
      for (let i = 0; i < solves; i += 1) {
        const challenge = `p1.timing.${Date.now()}.${difficulty}.${crypto.randomUUID()}.tag`;
        const started = performance.now();
        const nonce = await solveInWorker(challenge, difficulty);
        out.push(performance.now() - started);
        const hash = sha256(new TextEncoder().encode(`${challenge}:${nonce}`));
        if (leadingZeroBits(hash) < difficulty) {
          throw new Error(`nonce ${nonce} does not solve ${challenge}`);
        }
      }
      return out;
    },
    { difficulty, solves },
  );
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const median = (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
  console.log(
    JSON.stringify({
      chromium: browser.version(),
      difficulty,
      solves,
      median_ms: Number(median.toFixed(1)),
      p95_ms: Number(at(0.95).toFixed(1)),
      min_ms: Number(sorted[0].toFixed(1)),
      max_ms: Number(sorted[sorted.length - 1].toFixed(1)),
    }),
  );
} finally {
  await browser.close();
  server.close();
}
