// An event's branding (its `page` setting) on the shoppers' pages, in a real headless Chromium:
// title, message and link labels in the shopper's language (English, and Arabic right to left),
// the operator's colours painted (and a pale text replaced by a readable one), the logo with its
// alt text, the footer links; a title holding markup shows as text and runs nothing; axe-core
// finds no serious or critical violation. Screenshots: target/browser/branding-*.png.

import { accessibilityProblems, base, call, check, launch, pausedSale, run, shots } from "./harness.mjs";

const stamp = Date.now().toString(36);
const LOGO_URL = "https://cdn.shop.example/logo.svg";
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48"><rect width="160" height="48" rx="8" fill="#7b2cbf"/><text x="16" y="32" font-size="22" fill="#fff">SHOP</text></svg>`;
const INJECTED = "<script>window.injected = true</script><b>Soldes</b>";

const PAGE = {
  title: { en: "Spring drop", ar: "إطلاق الربيع", fr: INJECTED },
  message: { en: "One per customer. Good luck!", ar: "قطعة واحدة لكل عميل. حظًا سعيدًا!" },
  logo_url: LOGO_URL,
  colors: { primary: "#7b2cbf", background: "#fff8e7", text: "#2b2d42" },
  links: [
    { label: { en: "Help", ar: "مساعدة" }, url: "https://shop.example/help" },
    { label: "Terms", url: "https://shop.example/terms" },
  ],
};


/** A new page whose requests for the logo get an SVG (the test has no real CDN). */
async function brandedPage(browser, options) {
  const context = await browser.newContext(options);
  await context.route(LOGO_URL, (route) => route.fulfill({ status: 200, contentType: "image/svg+xml", body: LOGO }));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, errors };
}

/** The computed colour of `property` on the element `selector`. */
function colorOf(page, selector, property) {
  return page.evaluate(([s, p]) => getComputedStyle(document.querySelector(s))[p], [selector, property]);
}

async function shownBrand(page) {
  await page.waitForSelector("#brand-links a");
  return page.evaluate(() => ({
    name: document.getElementById("event-name").textContent,
    title: document.title,
    message: document.getElementById("brand-message")?.textContent,
    logoAlt: document.getElementById("brand-logo")?.alt,
    logoLoaded: document.getElementById("brand-logo")?.naturalWidth > 0,
    links: [...document.querySelectorAll("#brand-links a")].map((a) => [a.textContent, a.href]),
  }));
}

run("branding", async () => {
  const event = `brand-${stamp}`;
  await pausedSale(event, { ahead: 1, extra: { page: PAGE } });
  const pale = `brand-pale-${stamp}`;
  await pausedSale(pale, { extra: { page: { title: "Pale", colors: { primary: "#7b2cbf", background: "#ffffff", text: "#dddddd" } } } });
  const browser = await launch();
  const problems = [];
  try {
    // English from Accept-Language.
    const en = await brandedPage(browser, { locale: "en-GB" });
    await en.page.goto(`${base}/?event=${event}`);
    await en.page.waitForSelector("#place:not([hidden])");
    const english = await shownBrand(en.page);
    check(english.name === "Spring drop", `English title: ${english.name}`);
    check(english.message === "One per customer. Good luck!", `English message: ${english.message}`);
    check(english.logoAlt === "Spring drop logo", `logo alt: ${english.logoAlt}`);
    await en.page.waitForFunction(() => document.getElementById("brand-logo").complete);
    check(await en.page.evaluate(() => document.getElementById("brand-logo").naturalWidth > 0), "the logo loads");
    check(JSON.stringify(english.links) === JSON.stringify([["Help", "https://shop.example/help"], ["Terms", "https://shop.example/terms"]]), `links: ${JSON.stringify(english.links)}`);
    check(await colorOf(en.page, "html", "backgroundColor") === "rgb(255, 248, 231)", "the background is the operator's");
    check(await colorOf(en.page, "#event-name", "color") === "rgb(43, 45, 66)", "the text is the operator's");
    check(await colorOf(en.page, "#brand-links a", "color") === "rgb(43, 45, 66)", "links take the text colour");
    await en.page.screenshot({ path: `${shots}/branding-en.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(en.page, "branded queue page (English)")));
    check(en.errors.length === 0, `page errors: ${en.errors.join("; ")}`);
    await en.context.close();

    // Arabic, right to left, from `?lang=`.
    const ar = await brandedPage(browser, { locale: "en-US", viewport: { width: 390, height: 844 } });
    await ar.page.goto(`${base}/?event=${event}&lang=ar`);
    await ar.page.waitForSelector("#place:not([hidden])");
    const arabic = await shownBrand(ar.page);
    check(await ar.page.evaluate(() => document.documentElement.dir) === "rtl", "Arabic is right to left");
    check(arabic.name === "إطلاق الربيع", `Arabic title: ${arabic.name}`);
    check(arabic.message === "قطعة واحدة لكل عميل. حظًا سعيدًا!", `Arabic message: ${arabic.message}`);
    check(arabic.links[0][0] === "مساعدة" && arabic.links[1][0] === "Terms", `Arabic links: ${JSON.stringify(arabic.links)}`);
    await ar.page.screenshot({ path: `${shots}/branding-ar.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(ar.page, "branded queue page (Arabic)")));

    // The switcher redraws the branding in place: French has only the title (markup, as text).
    await ar.page.selectOption("#lang", "fr");
    await ar.page.waitForFunction(() => document.documentElement.lang === "fr");
    const french = await shownBrand(ar.page);
    check(french.name === INJECTED, `a title with markup shows as text: ${french.name}`);
    check(await ar.page.evaluate(() => document.querySelector("#event-name b, #event-name script") === null), "no element was made of the title");
    check(await ar.page.evaluate(() => window.injected === undefined), "the title's script did not run");
    check(french.message === "One per customer. Good luck!", `French falls back to English: ${french.message}`);
    check(ar.errors.length === 0, `page errors: ${ar.errors.join("; ")}`);
    await ar.context.close();

    // The checkout page carries the branding too (here without an admission).
    const co = await brandedPage(browser, { locale: "en-US" });
    await co.page.goto(`${base}/checkout.html?event=${event}`);
    const checkout = await shownBrand(co.page);
    check(checkout.name === "Spring drop", `checkout title: ${checkout.name}`);
    check(await colorOf(co.page, "html", "backgroundColor") === "rgb(255, 248, 231)", "checkout background");
    await co.page.screenshot({ path: `${shots}/branding-checkout.png`, fullPage: true });
    problems.push(...(await accessibilityProblems(co.page, "branded checkout page")));
    await co.context.close();

    // A text too pale for its background is painted readable instead.
    const pp = await brandedPage(browser, { locale: "en-US" });
    await pp.page.goto(`${base}/?event=${pale}`);
    await pp.page.waitForFunction(() => document.documentElement.dataset.branded === "true");
    check(await colorOf(pp.page, "#event-name", "color") === "rgb(0, 0, 0)", "a pale text becomes black");
    problems.push(...(await accessibilityProblems(pp.page, "queue page with pale colours")));
    await pp.page.screenshot({ path: `${shots}/branding-pale.png` });
    await pp.context.close();
  } finally {
    await browser.close();
  }
  check(problems.length === 0, `accessibility:\n${problems.join("\n")}`);
  const state = await call(`/v1/events/${event}`);
  check(state.page && state.page.colors.adjusted === false, "the operator's colours were readable");
});
