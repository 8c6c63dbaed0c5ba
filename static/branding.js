// The operator's branding of an event's pages (the event's `page`): title, message, logo, colours
// and footer links. The server has already made the colours readable (WCAG AA); this only paints
// them. Every text the operator wrote goes in as text (textContent, attributes), never as HTML.

import { language, t } from "./i18n.js";

/** The event's `page` as last loaded, and the event's own name, to draw again on a change of language. */
let page = null;
let eventName = null;

/** `text` (one string, or one per language code) in the page's language, else English, else any. */
export function localText(text) {
  if (typeof text === "string") {
    return text;
  }
  if (!text || typeof text !== "object") {
    return "";
  }
  const wanted = language();
  const codes = Object.keys(text);
  const code = codes.find((c) => c === wanted)
    ?? codes.find((c) => c.toLowerCase().split("-")[0] === wanted)
    ?? codes.find((c) => c === "en")
    ?? codes[0];
  return code === undefined ? "" : String(text[code]);
}

/**
 * Shows the branding of `event` (the public event state), or draws the last one again when
 * called without it (after the shopper picks another language).
 */
export function showBranding(event) {
  if (event) {
    page = event.page || null;
    eventName = event.name || null;
  }
  if (!page) {
    return;
  }
  const title = page.title ? localText(page.title) : eventName;
  if (title) {
    document.getElementById("event-name").textContent = title;
    document.title = `${title} · ${t("title_suffix")}`;
  }
  showLogo(title);
  showMessage();
  showColors();
  showLinks();
}

function showLogo(title) {
  if (!page.logo_url) {
    return;
  }
  let logo = document.getElementById("brand-logo");
  if (!logo) {
    logo = document.createElement("img");
    logo.id = "brand-logo";
    logo.className = "brand-logo";
    document.getElementById("page").prepend(logo);
  }
  // The server accepts only these; checked again so a page never loads anything else.
  const url = String(page.logo_url);
  if (!url.startsWith("https://") && !(url.startsWith("/") && !url.startsWith("//"))) {
    return;
  }
  logo.src = url;
  logo.alt = t("logo_of", { name: title || "" });
}

function showMessage() {
  let message = document.getElementById("brand-message");
  if (!page.message) {
    message?.remove();
    return;
  }
  if (!message) {
    message = document.createElement("p");
    message.id = "brand-message";
    message.className = "brand-message";
    document.getElementById("headline").after(message);
  }
  message.textContent = localText(page.message);
}

function showColors() {
  const colors = page.colors;
  if (!colors) {
    return;
  }
  const root = document.documentElement.style;
  root.setProperty("--paper", colors.background);
  root.setProperty("--card", colors.background);
  root.setProperty("--ink", colors.text);
  root.setProperty("--muted", colors.text);
  root.setProperty("--link", colors.text);
  root.setProperty("--accent", colors.primary);
  root.setProperty("--accent-ink", colors.on_primary);
  root.setProperty("--line", `color-mix(in srgb, ${colors.text} 25%, ${colors.background})`);
  document.documentElement.dataset.branded = "true";
}

function showLinks() {
  let nav = document.getElementById("brand-links");
  if (!page.links || page.links.length === 0) {
    nav?.remove();
    return;
  }
  if (!nav) {
    nav = document.createElement("nav");
    nav.id = "brand-links";
    nav.className = "brand-links";
    document.querySelector("footer").prepend(nav);
  }
  nav.setAttribute("aria-label", t("shop_links"));
  const list = document.createElement("ul");
  for (const link of page.links) {
    const item = document.createElement("li");
    const anchor = document.createElement("a");
    if (String(link.url).startsWith("https://")) {
      anchor.href = link.url;
    }
    anchor.rel = "noopener";
    anchor.textContent = localText(link.label);
    item.append(anchor);
    list.append(item);
  }
  nav.replaceChildren(list);
}
