// The reference checkout page: reserve with the admission token, then pay (a mock payment).

import { api, ApiProblem, eventFromQuery, storedToken, clockTime } from "./api.js";

const event = eventFromQuery();
const el = (id) => document.getElementById(id);
const token = storedToken();
const admission = readAdmission();
let orderId = null;

el("back").href = `index.html?event=${encodeURIComponent(event || "")}`;
start().catch(showError);

function readAdmission() {
  try {
    return JSON.parse(sessionStorage.getItem(`waitroom.admission.${event}`) || "null");
  } catch {
    return null;
  }
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
    el("headline").textContent = "No admission here";
    throw new Error("Join the waiting room first: you'll be sent here when it's your turn.");
  }
  el("expires").textContent = admission.admission_expires_at
    ? `Your turn lasts until ${clockTime(admission.admission_expires_at)}.`
    : "";
  const { body } = await api(`/v1/events/${event}`);
  el("event-name").textContent = body.name || event;
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
  el("headline").textContent = "Reserved: now pay";
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
    el("headline").textContent = "Done!";
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

const PROBLEM_WORDS = {
  sold_out: "Sorry, that item just sold out.",
  admission_used: "This turn was already used for an order.",
  not_admitted: "Your turn has run out or is not valid here. Join the waiting room again.",
  rate_limited: "Too many tries at once: wait a moment and try again.",
};

function showError(error) {
  const box = el("error");
  box.hidden = false;
  const words = error instanceof ApiProblem ? PROBLEM_WORDS[error.code] : null;
  box.textContent = words || (error instanceof Error ? error.message : String(error));
}

function hideError() {
  el("error").hidden = true;
}
