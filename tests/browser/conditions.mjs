// The queue page on bad days, in a real headless Chromium:
// - a server answering 503 (Retry-After) for a while: the page says it is reconnecting, backs
//   off, and recovers by itself;
// - a slow 3G network (CDP throttling) and a socket that keeps dropping: the page keeps its
//   place, reconnects, falls back to polling, and is admitted all the same;
// - the admission is kept across a reload, and an expired one is never shown as a turn;
// - `chance_of_success` is shown when the socket carries it and hidden when it is null;
// - no token is ever in a URL: the socket opens with a single-use socket ticket, and a shop's
//   hand-off in the fragment (`#token=`) is taken and removed from the address bar.

import { base, check, launch, login, numberIn, pausedSale, run, setStatus, shots } from "./harness.mjs";

const stamp = Date.now().toString(36);

/** Every URL a page requests, and every socket it opens. */
function recordUrls(page) {
  const urls = [];
  page.on("request", (request) => urls.push(request.url()));
  page.on("websocket", (socket) => urls.push(socket.url()));
  return urls;
}

async function placeShown(page, timeout = 20000) {
  await page.waitForFunction(() => /[0-9]/.test(document.getElementById("position").textContent), null, { timeout });
  return numberIn(page, "#position");
}

/** A server that answers 503 for four seconds, then recovers: the page must recover too. */
async function busyServer(browser) {
  const event = `busy-${stamp}`;
  await pausedSale(event, { ahead: 2 });
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  let refused = 0;
  let busy = true;
  await page.route(`**/v1/events/${event}**`, async (route) => {
    if (busy) {
      refused += 1;
      await route.fulfill({
        status: 503,
        headers: { "Retry-After": "1", "Content-Type": "application/problem+json" },
        body: JSON.stringify({ type: "about:blank", title: "Unavailable", status: 503, code: "unavailable" }),
      });
    } else {
      await route.continue();
    }
  });
  await page.goto(`${base}/?event=${event}`);
  await page.waitForSelector('#connection[data-state="reconnecting"][data-cause="busy"]', { timeout: 5000 });
  check(await page.isHidden("#error"), "a busy server is not shown as an error");
  await page.screenshot({ path: `${shots}/conditions-busy.png` });
  await page.waitForTimeout(4000);
  const triedWhileBusy = refused;
  busy = false;
  const place = await placeShown(page, 20000);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 20000 });
  console.log(`conditions: 503 for 4 s (${triedWhileBusy} tries), then place ${place} and live`);
  check(place === 3, `expected place 3 after the outage, saw ${place}`);
  check(triedWhileBusy >= 2, `the page should keep trying while the server is busy (${triedWhileBusy} tries)`);
  check(triedWhileBusy <= 8, `the page should back off, not hammer (${triedWhileBusy} tries in 4 s)`);
  await context.close();
}

/**
 * A slow 3G network and a socket that drops a second after opening, again and again: the page
 * keeps its place, falls back to polling, and is admitted all the same; the admission survives a
 * reload and stays off the URL.
 */
async function badNetwork(browser) {
  const event = `flaky-${stamp}`;
  await pausedSale(event, { ahead: 3 });
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  const urls = recordUrls(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  // Chromium's "Slow 3G" preset: 2 s round trips, about 50 kB/s each way.
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 2000,
    downloadThroughput: (500 * 1024) / 8 * 0.8,
    uploadThroughput: (500 * 1024) / 8 * 0.8,
  });
  let sockets = 0;
  let dropping = true;
  await page.routeWebSocket(/\/ws\?/, (socket) => {
    sockets += 1;
    const server = socket.connectToServer();
    if (dropping) {
      setTimeout(() => {
        socket.close({ code: 1011, reason: "dropped by the test" });
        server.close();
      }, 800);
    }
  });
  const started = Date.now();
  await page.goto(`${base}/?event=${event}`, { timeout: 60000 });
  const place = await placeShown(page, 60000);
  console.log(`conditions: on slow 3G the place (${place}) showed after ${Date.now() - started} ms`);
  check(place === 4, `expected place 4, saw ${place}`);
  await page.waitForSelector('#connection[data-state="polling"]', { timeout: 60000 });
  console.log(`conditions: after ${sockets} dropped sockets the page polls`);
  check(sockets >= 2, `the socket should have been retried (${sockets})`);
  check((await numberIn(page, "#position")) === 4, "the place is kept while the socket drops");
  await page.screenshot({ path: `${shots}/conditions-flaky-polling.png`, fullPage: true });

  // The sockets stop dropping: the page goes live again by itself.
  dropping = false;
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 90000 });
  console.log("conditions: the socket came back and the page is live again");

  // Reloading keeps the place (same identity, same ticket).
  await page.reload({ timeout: 60000 });
  check((await placeShown(page, 60000)) === 4, "the place is kept across a reload");

  // The sale opens: admitted through the slow network, to checkout.
  await setStatus(event, "open");
  await page.waitForURL(/checkout\.html/, { timeout: 90000 });
  const kept = await page.evaluate((id) => JSON.parse(sessionStorage.getItem(`waitroom.admission.${id}`)), event);
  check(kept && kept.admission_token, "the admission is kept");
  await page.waitForSelector("#reserve-form:not([hidden])", { timeout: 60000 });

  // A reload of the checkout page, and going back to the queue page, keep the admission.
  await page.reload({ timeout: 60000 });
  await page.waitForSelector("#reserve-form:not([hidden])", { timeout: 60000 });
  await page.goto(`${base}/?event=${event}`, { timeout: 60000 });
  await page.waitForURL(/checkout\.html/, { timeout: 60000 });
  const after = await page.evaluate((id) => JSON.parse(sessionStorage.getItem(`waitroom.admission.${id}`)), event);
  check(after.admission_token === kept.admission_token, "the same admission survives the reloads");
  await page.screenshot({ path: `${shots}/conditions-flaky-admitted.png`, fullPage: true });

  checkNoTokensIn(urls, [kept.admission_token, await page.evaluate(() => localStorage.getItem("waitroom.token"))]);
  check(urls.some((url) => url.includes("/ws?ticket=")), "the socket opened with a socket ticket");
  await context.close();
}

function checkNoTokensIn(urls, tokens) {
  for (const url of urls) {
    check(!/[?&](access_token|token)=/.test(url), `a token went into a URL: ${url}`);
    for (const token of tokens.filter(Boolean)) {
      check(!url.includes(token), `a token went into a URL: ${url}`);
    }
  }
}

/** An admission kept from long ago has expired: the page never shows it as a turn. */
async function staleAdmission(browser) {
  const event = `stale-${stamp}`;
  await pausedSale(event, { ahead: 1 });
  const context = await browser.newContext({ locale: "en-US" });
  await context.addInitScript((id) => {
    if (!sessionStorage.getItem("planted")) {
      sessionStorage.setItem("planted", "yes");
      sessionStorage.setItem(`waitroom.admission.${id}`, JSON.stringify({
        admission_token: "an.old.token",
        admission_expires_at: new Date(Date.now() - 60000).toISOString(),
        ticket_id: "00000000-0000-4000-8000-000000000000",
      }));
    }
  }, event);
  const page = await context.newPage();
  await page.goto(`${base}/?event=${event}`);
  check((await placeShown(page)) === 2, "a shopper with an expired admission queues again");
  check(!page.url().includes("checkout"), "an expired admission does not lead to checkout");
  check(!(await page.textContent("#headline")).includes("your turn"), "an expired admission is not shown as a turn");
  await page.goto(`${base}/checkout.html?event=${event}`);
  await page.waitForSelector("#error:not([hidden])");
  check(await page.isHidden("#reserve-form"), "the checkout page offers nothing without a valid admission");
  await context.close();
}

/** The socket's `chance_of_success`: a sentence when it is a number, nothing when null. */
async function chanceOfSuccess(browser) {
  const event = `chance-${stamp}`;
  await pausedSale(event, { ahead: 1 });
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  // Every position frame of the server is given the chance under test (null to begin with).
  let chance = null;
  let client;
  await page.routeWebSocket(/\/ws\?/, (socket) => {
    client = socket;
    const server = socket.connectToServer();
    server.onMessage((message) => {
      const frame = JSON.parse(message);
      if (frame.type === "position") {
        frame.chance_of_success = chance;
      }
      socket.send(JSON.stringify(frame));
    });
  });
  await page.goto(`${base}/?event=${event}`);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 15000 });
  await page.waitForTimeout(2500); // a position frame with a null chance arrives
  check(await page.isHidden("#chance"), "no chance is shown while it is null");
  const sendPosition = (value) => {
    chance = value;
    client.send(JSON.stringify({ type: "position", position: 2, eta_seconds: 30, serving: 0, chance_of_success: value }));
  };
  sendPosition(0.72);
  await page.waitForSelector('#chance[data-chance="72"]', { timeout: 5000 });
  check((await page.textContent("#chance")).includes("About 72% chance"), `72%: ${await page.textContent("#chance")}`);
  await page.screenshot({ path: `${shots}/conditions-chance.png` });
  sendPosition(0.04);
  await page.waitForSelector('#chance[data-unlikely="true"]', { timeout: 5000 });
  check((await page.textContent("#chance")).includes("you may want to leave"), "a very low chance says so");
  sendPosition(null);
  await page.waitForSelector("#chance", { state: "hidden", timeout: 5000 });
  await context.close();
}

/**
 * A shop sends a signed-in shopper with the token in the fragment: the page takes it, removes it
 * from the address bar, and queues as that shopper; `?token=` is never taken.
 */
async function handOff(browser) {
  const event = `handoff-${stamp}`;
  await pausedSale(event, { extra: { allow_anonymous: false } });
  const token = await login(`${event}-shopper`);
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const urls = recordUrls(page);
  await page.goto(`${base}/?event=${event}#token=${token}`);
  check((await placeShown(page)) === 1, "the handed-over shopper is in line");
  check(!page.url().includes(token) && !page.url().includes("#"), `the token stays in the address bar: ${page.url()}`);
  const again = await fetch(`${base}/v1/events/${event}/tickets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: "{}",
  });
  check(again.status === 200, `the page joined as the handed-over shopper (a join as them answers ${again.status})`);
  checkNoTokensIn(urls.filter((url) => !url.includes("#token=")), [token]);

  const planted = await login(`${event}-attacker`);
  const other = await browser.newContext({ locale: "en-US" });
  const victim = await other.newPage();
  await victim.goto(`${base}/?event=${event}&token=${planted}`);
  await victim.waitForFunction(() => !location.search.includes("token"));
  check(await victim.evaluate((t) => localStorage.getItem("waitroom.token") !== t, planted), "a token in the query is never taken");
  await other.close();
  await context.close();
}

run("conditions", async () => {
  const browser = await launch();
  try {
    await busyServer(browser);
    await staleAdmission(browser);
    await chanceOfSuccess(browser);
    await handOff(browser);
    await badNetwork(browser);
  } finally {
    await browser.close();
  }
});
