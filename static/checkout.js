// The reference checkout page: reserve with the admission token, then pay (a mock payment).

import { api, ApiProblem, eventFromQuery, keptAdmission, storedToken } from "./api.js";
import { showBranding } from "./branding.js";
import { clockTime, setupLanguage, t } from "./i18n.js";

const event = eventFromQuery();
const el = (id) => document.getElementById(id);
const token = storedToken();
/** The admission the queue page kept; `null` when there is none or it has expired. */
const admission = event ? keptAdmission(event) : null;
let orderId = null;
/** What the script wrote last, said again when the language changes. */
let headline = "its_your_turn";
let shownError = null;
let eventName = null;

el("back").href = `index.html?event=${encodeURIComponent(event || "")}`;
setupLanguage(redraw);
start().catch(showError);

function redraw() {
  el("headline").textContent = t(headline);
  el("event-name").textContent = eventName || t("checkout");
  showBranding();
  showExpiry();
  if (shownError) {
    showError(shownError);
  }
}

function showExpiry() {
  el("expires").textContent = admission && admission.admission_expires_at && !orderId
    ? t("turn_lasts", { time: clockTime(admission.admission_expires_at) })
    : "";
}

function setHeadline(key) {
  headline = key;
  el("headline").textContent = t(key);
}

/** The idempotency key of this admission's order: a retried reserve gets the same order back. */
function idempotencyKey() {
  const key = `waitroom.idempotency.${admission.ticket_id}`;
  let value = sessionStorage.getItem(key);
  if (!value) {
    value = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    sessionStorage.setItem(key, value);
  }
  return value;
}

function checkoutHeaders() {
  return { "Admission-Token": admission.admission_token, "Idempotency-Key": idempotencyKey() };
}

async function start() {
  if (!event || !admission || !admission.admission_token) {
    setHeadline("no_admission");
    if (event) {
      // The shop's look even here; a failure to load it changes nothing on this page.
      await api(`/v1/events/${event}`).then(({ body }) => showBranding(body), () => {});
    }
    throw new KeyedError("join_first");
  }
  showExpiry();
  const { body } = await api(`/v1/events/${event}`);
  eventName = body.name || event;
  el("event-name").textContent = eventName;
  showBranding(body);
  offerSkus(skusOf(body));
  el("reserve-form").hidden = false;
  el("reserve-form").addEventListener("submit", reserve);
  el("pay-form").addEventListener("submit", pay);
}

/** The SKUs the sale offers, as the public state lists them (or `?sku=`). */
function skusOf(state) {
  const fromQuery = new URLSearchParams(location.search).get("sku");
  if (fromQuery) {
    return [fromQuery];
  }
  if (Array.isArray(state.skus)) {
    return state.skus.map((s) => (typeof s === "string" ? s : s.sku)).filter(Boolean);
  }
  const table = state.inventory || state.stock_left || state.stock;
  return table && typeof table === "object" ? Object.keys(table) : [];
}

function offerSkus(skus) {
  const select = el("sku");
  if (skus.length === 0) {
    select.hidden = true;
    select.required = false;
    el("sku-text").hidden = false;
    el("sku-text").required = true;
    return;
  }
  for (const sku of skus) {
    const option = document.createElement("option");
    option.value = sku;
    option.textContent = sku;
    select.append(option);
  }
}

async function reserve(submit) {
  submit.preventDefault();
  hideError();
  const sku = el("sku").hidden ? el("sku-text").value.trim() : el("sku").value;
  const quantity = Number(el("quantity").value);
  el("reserve").disabled = true;
  try {
    const { body } = await api(`/v1/events/${event}/checkout`, {
      method: "POST",
      token,
      headers: checkoutHeaders(),
      body: { items: [{ sku, quantity }] },
    });
    showOrder(body);
  } catch (error) {
    el("reserve").disabled = false;
    showError(error);
  }
}

function showOrder(order) {
  orderId = order.order_id;
  el("reserve-form").hidden = true;
  el("order").hidden = false;
  setHeadline("reserved_pay");
  el("order-id").textContent = order.order_id;
  el("order-items").textContent = (order.items || []).map((i) => `${i.quantity} × ${i.sku}`).join(", ");
  el("order-until").textContent = order.reserved_until ? clockTime(order.reserved_until) : "";
  setOrderStatus(order.status);
}

async function pay(submit) {
  submit.preventDefault();
  hideError();
  el("pay").disabled = true;
  try {
    const { body } = await api(`/v1/events/${event}/orders/${orderId}/pay`, {
      method: "POST",
      token,
      headers: checkoutHeaders(),
      body: { payment: { card_token: el("card").value } },
    });
    setOrderStatus(body.status);
    el("pay-form").hidden = true;
    el("paid").hidden = false;
    setHeadline("done");
    el("expires").textContent = "";
  } catch (error) {
    el("pay").disabled = false;
    showError(error);
  }
}

function setOrderStatus(status) {
  el("order-status").textContent = status;
  el("order-status").dataset.status = status;
}

/** Problems whose words are in the strings table. */
const WORDED_PROBLEMS = new Set(["sold_out", "admission_used", "not_admitted", "rate_limited", "purchase_limit"]);

/** An error whose words are in the strings table. */
class KeyedError extends Error {
  constructor(key) {
    super(key);
    this.key = key;
  }
}

function showError(error) {
  shownError = error;
  const box = el("error");
  box.hidden = false;
  if (error instanceof KeyedError) {
    box.textContent = t(error.key);
  } else if (error instanceof ApiProblem && WORDED_PROBLEMS.has(error.code)) {
    box.textContent = t(`problem.${error.code}`);
  } else {
    box.textContent = error instanceof Error ? error.message : String(error);
  }
}

function hideError() {
  shownError = null;
  el("error").hidden = true;
}
