// The pages as a shopper and an operator get them, in a real headless Chromium:
// - the security headers are there and the pages run under them (no CSP violation);
// - languages: Accept-Language, `?lang=`, the switcher (by keyboard), right-to-left Arabic;
// - accessibility: axe-core finds no serious or critical violation on the queue page (English
//   and Arabic), the checkout page and the dashboard; places are announced politely.

import { accessibilityProblems, adminToken, base, call, check, launch, pausedSale, run, setStatus, shots } from "./harness.mjs";

const stamp = Date.now().toString(36);

/** Collects what the browser refused under the page's Content-Security-Policy. */
function watchPolicy(page) {
  const refused = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
  });
  page.on("pageerror", (error) => refused.push(`page error: ${error.message}`));
  return refused;
}


async function headers() {
  for (const path of ["/", "/checkout.html", "/admin", "/queue.js"]) {
    const response = await fetch(base + path);
    const policy = response.headers.get("content-security-policy") || "";
    check(policy.includes("frame-ancestors 'none'") && policy.includes("worker-src 'self'"), `${path}: CSP ${policy}`);
    check(response.headers.get("x-content-type-options") === "nosniff", `${path}: nosniff`);
    check(response.headers.get("referrer-policy") === "strict-origin-when-cross-origin", `${path}: Referrer-Policy`);
  }
}

run("pages", async () => {
  await headers();
  const event = `pages-${stamp}`;
  await pausedSale(event, { ahead: 2 });
  const browser = await launch();
  const problems = [];
  try {
    // French from the browser's Accept-Language.
    const french = await browser.newContext({ locale: "fr-FR" });
    const frPage = await french.newPage();
    const frRefused = watchPolicy(frPage);
    await frPage.goto(`${base}/?event=${event}`);
    await frPage.waitForSelector('#status[data-status="paused"]');
    await frPage.waitForFunction(() => /[0-9]/.test(document.getElementById("position").textContent));
    check(await frPage.evaluate(() => document.documentElement.lang) === "fr", "Accept-Language fr gives French");
    check((await frPage.textContent("#status")) === "En pause", `French status: ${await frPage.textContent("#status")}`);
    check((await frPage.textContent("#headline")) === "Vous êtes dans la file", "French headline");
    await frPage.waitForSelector("#announce:not(:empty)");
    check((await frPage.textContent("#announce")).includes("numéro 3"), `the place is announced: ${await frPage.textContent("#announce")}`);
    check(await frPage.getAttribute("#announce", "aria-live") === "polite", "announcements are polite");
    await frPage.screenshot({ path: `${shots}/pages-french.png` });

    // The switcher, by keyboard only: Tab to it, pick English.
    let tabs = 0;
    while ((await frPage.evaluate(() => document.activeElement && document.activeElement.id)) !== "lang") {
      check(tabs < 10, "the language switcher is reachable with Tab");
      await frPage.keyboard.press("Tab");
      tabs += 1;
    }
    await frPage.selectOption("#lang", "en");
    await frPage.waitForFunction(() => document.documentElement.lang === "en");
    check((await frPage.textContent("#headline")) === "You're in line", "the switcher changes the language in place");
    check(frPage.url().includes("lang=en"), "the choice is in the address");
    check(frRefused.length === 0, `the queue page breaks its policy: ${frRefused.join("; ")}`);
    problems.push(...(await accessibilityProblems(frPage, "queue page (English)")));
    await french.close();

    // Arabic, right to left, from `?lang=`.
    const arabic = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 } });
    const arPage = await arabic.newPage();
    await arPage.goto(`${base}/?event=${event}&lang=ar`);
    await arPage.waitForSelector('#status[data-status="paused"]');
    await arPage.waitForSelector("#place:not([hidden])");
    check(await arPage.evaluate(() => document.documentElement.dir) === "rtl", "Arabic is right to left");
    check((await arPage.textContent("#status")) === "متوقف مؤقتًا", "Arabic status");
    const [label, card] = await Promise.all([arPage.locator(".figure").first().boundingBox(), arPage.locator("#page").boundingBox()]);
    check(label.x + label.width > card.x + card.width * 0.6, "right to left: the first figure sits on the right");
    await arPage.screenshot({ path: `${shots}/pages-arabic-rtl.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(arPage, "queue page (Arabic)")));
    await arabic.close();

    // The checkout page, with an admission: open the sale to a shopper alone in line.
    const solo = `pages-solo-${stamp}`;
    await pausedSale(solo);
    const shopper = await browser.newContext({ locale: "en-US" });
    const page = await shopper.newPage();
    const refused = watchPolicy(page);
    await page.goto(`${base}/?event=${solo}`);
    await page.waitForSelector("#place:not([hidden])");
    await setStatus(solo, "open");
    await page.waitForURL(/checkout\.html/, { timeout: 20000 });
    await page.waitForSelector("#reserve-form:not([hidden])");
    problems.push(...(await accessibilityProblems(page, "checkout page")));
    check(refused.length === 0, `the checkout page breaks its policy: ${refused.join("; ")}`);
    await shopper.close();

    // The dashboard, signed in.
    const operator = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const admin = await operator.newPage();
    const adminRefused = watchPolicy(admin);
    await admin.goto(`${base}/admin`);
    await admin.locator("#token").fill(adminToken);
    await admin.locator('#login button[type="submit"]').click();
    await admin.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 10000 });
    await admin.locator(`article[data-event="${event}"]`).waitFor({ timeout: 10000 });
    problems.push(...(await accessibilityProblems(admin, "dashboard")));
    check(adminRefused.length === 0, `the dashboard breaks its policy: ${adminRefused.join("; ")}`);
    await operator.close();
  } finally {
    await browser.close();
  }
  check(problems.length === 0, `accessibility:\n${problems.join("\n")}`);
  check((await call(`/v1/events/${event}`)).status === "paused", "the sale is untouched");
});
