// The operators' dashboard: live figures from GET /v1/admin/stream (server-sent events read
// with fetch, so the admin token travels in a header), and controls calling the admin API.
"use strict";

(() => {
  const TOKEN_KEY = "waitroom_admin_token";
  const HISTORY = 120; // points kept per chart: two minutes at one frame a second
  const { draw, formatNumber, COLOURS } = WaitroomCharts;
  const $ = (selector, root = document) => root.querySelector(selector);

  const history = new Map(); // event id -> { queue, inflow, outflowActual, outflowSet, active, sold }
  let token = sessionStorage.getItem(TOKEN_KEY);
  let streaming = null;

  // ---- the admin API ----

  async function api(method, path, body, contentType = "application/json") {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = contentType;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : (typeof body === "string" ? body : JSON.stringify(body)),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
    if (response.status === 401 || response.status === 403) forget(data && data.detail);
    if (!response.ok) throw Object.assign(new Error(problemText(data, response.status)), { problem: data });
    return data;
  }

  function problemText(problem, status) {
    if (!problem) return `HTTP ${status}`;
    const fields = (problem.errors || []).map((e) => `${e.field}: ${e.message}`);
    return [problem.detail || problem.title || `HTTP ${status}`, ...fields].join(" · ");
  }

  // ---- the token ----

  function forget(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    if (streaming) streaming.abort();
    showLogin(reason || "");
  }

  function showLogin(message) {
    $("#dashboard").hidden = true;
    $("#login").hidden = false;
    $("#login-error").textContent = message;
    setConnection("offline");
  }

  $("#login").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("#token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $("#forget").addEventListener("click", () => forget(""));

  function setConnection(state) {
    const pill = $("#connection");
    pill.textContent = state;
    pill.dataset.state = state;
  }

  // ---- the live stream ----

  async function stream() {
    while (token) {
      streaming = new AbortController();
      try {
        const response = await fetch("/v1/admin/stream", {
          headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" },
          signal: streaming.signal,
        });
        if (response.status === 401 || response.status === 403) {
          forget("The admin token was refused.");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        setConnection("live");
        await readEvents(response.body, (name, data) => {
          if (name === "stats") render(JSON.parse(data));
        });
      } catch (error) {
        if (!token) return;
      }
      setConnection("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  /** Parses a text/event-stream body, calling `onEvent(name, data)` per event. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(name, data.join("\n"));
      }
    }
  }

  // ---- rendering ----

  function render(feed) {
    $("#no-events").hidden = feed.events.length > 0;
    for (const event of feed.events) renderEvent(event);
    renderLimiter(feed.ratelimit);
  }

  function card(id) {
    let article = document.getElementById(`event-${id}`);
    if (article) return article;
    article = $("#event-card").content.firstElementChild.cloneNode(true);
    article.id = `event-${id}`;
    article.dataset.event = id;
    $(".id", article).textContent = id;
    wireControls(article, id);
    $("#events").append(article);
    return article;
  }

  function renderEvent(event) {
    const article = card(event.id);
    const s = event.stats;
    const sold = Object.values(s.sold || {}).reduce((a, b) => a + b, 0);
    const left = Object.values(s.stock_left || {}).reduce((a, b) => a + b, 0);
    $(".name", article).textContent = event.name;
    const set = (field, value) => { $(`[data-field="${field}"]`, article).textContent = value; };
    set("status", event.status);
    $(".status", article).dataset.status = event.status;
    set("queue_length", s.queue_length);
    set("joins_per_second", formatNumber(event.joins_per_second));
    set("outflow_set", formatNumber(event.outflow_set_per_second));
    set("outflow_actual", formatNumber(event.outflow_actual_per_second));
    set("outflow_effective", formatNumber(event.outflow_effective_per_second));
    // Below the set rate only while it follows an unhealthy checkout: shown as a warning.
    $('[data-field="outflow_effective"]', article).classList.toggle(
      "backed-off", event.outflow_effective_per_second < event.outflow_set_per_second);
    set("checkout_health", checkoutHealth(event.checkout_health));
    set("serving", s.serving);
    set("active", event.max_active ? `${s.active} / ${event.max_active}` : s.active);
    set("admitted", s.admitted);
    set("sold", sold);
    set("left", left);
    set("abandoned", s.abandoned);
    set("orders", `${s.orders_paid} / ${s.orders_reserved}`);
    set("seed_hash", event.seed_hash);
    set("seed", event.seed ? `seed ${event.seed}` : "(seed published after the draw)");

    const rows = Object.keys({ ...s.stock_left, ...s.sold }).sort().map((sku) =>
      `<tr><td>${escape(sku)}</td><td>${s.sold[sku] || 0}</td><td>${(s.reserved || {})[sku] || 0}</td><td>${s.stock_left[sku] || 0}</td></tr>`);
    $(".stock tbody", article).innerHTML = rows.join("");

    const h = history.get(event.id) || { queue: [], inflow: [], outflowActual: [], outflowSet: [], active: [], sold: [] };
    history.set(event.id, h);
    push(h.queue, s.queue_length);
    push(h.inflow, event.joins_per_second);
    push(h.outflowActual, event.outflow_actual_per_second);
    push(h.outflowSet, event.outflow_set_per_second);
    push(h.active, s.active);
    push(h.sold, sold);
    const chart = (name) => $(`[data-chart="${name}"]`, article);
    draw(chart("queue"), [h.queue], [COLOURS.main]);
    draw(chart("inflow"), [h.inflow], [COLOURS.main]);
    draw(chart("outflow"), [h.outflowActual, h.outflowSet], [COLOURS.main, COLOURS.second]);
    draw(chart("active"), [h.active], [COLOURS.main]);
    draw(chart("sold"), [h.sold], [COLOURS.main]);

    // Fill the inputs with the live settings unless the operator is typing in them.
    const form = $(".controls", article);
    fill(form.elements.outflow_per_second, event.outflow_set_per_second);
    fill(form.elements.max_active, event.max_active ?? "");
    fill(form.elements.starts_at, localInput(event.starts_at));
  }

  function checkoutHealth(health) {
    if (!health) return "–";
    const errors = `${formatNumber(health.error_rate * 100)}%`;
    return `${health.p95_ms} ms / ${errors} (${health.source}, ${health.samples})`;
  }

  function push(points, value) {
    points.push(value ?? null);
    if (points.length > HISTORY) points.shift();
  }

  function fill(input, value) {
    if (document.activeElement !== input && input.dataset.dirty !== "true") input.value = value;
  }

  function renderLimiter(limiter) {
    $('[data-testid="rules-source"]').textContent = rulesSource(limiter.rules);
    const instances = limiter.instances || 0;
    $('[data-testid="limiter-instances"]').textContent =
      instances > 1 ? `(all ${instances} instances)` : instances === 1 ? "(one instance)" : "";
    const rules = Object.entries(limiter.refusals_per_rule || {}).sort((a, b) => b[1] - a[1]);
    $('[data-testid="refusals"] tbody').innerHTML = rules.length
      ? rules.map(([rule, n]) => `<tr><td>${escape(rule)}</td><td>${n}</td></tr>`).join("")
      : '<tr><td colspan="2" class="muted">none</td></tr>';
    const clients = limiter.top_limited_clients || [];
    $('[data-testid="top-clients"] tbody').innerHTML = clients.length
      ? clients.map((c) => `<tr><td><code>${escape(c.key)}</code></td><td>${c.refused}</td><td>${escape(c.rule)}</td></tr>`).join("")
      : '<tr><td colspan="3" class="muted">none</td></tr>';
    const bans = limiter.bans || [];
    const body = $('[data-testid="bans"] tbody');
    body.innerHTML = bans.length
      ? bans.map((b) => `<tr><td><code>${escape(b.key)}</code></td><td data-field="scope">${escape(SCOPE_WORDS[b.scope] || b.scope)}</td><td>${escape(b.reason)}</td><td title="${escape(b.expires_at)}">${escape(clockTime(b.expires_at))}</td>` +
          `<td><button type="button" data-lift="${escape(b.key)}">Lift</button></td></tr>`).join("")
      : '<tr><td colspan="5" class="muted">none</td></tr>';
  }

  /** Where the rules in force come from, as the operator reads it. */
  function rulesSource(origin) {
    if (!origin) return "";
    if (origin.source === "store") {
      const by = origin.author ? ` by ${origin.author}` : "";
      const at = origin.changed_at ? ` at ${clockTime(origin.changed_at)}` : "";
      return `(stored for every instance: version ${origin.version}${by}${at}; they win over the rules file)`;
    }
    return "(from the rules file)";
  }

  /** A ban's scope as the operator reads it: an automatic ban of an address spares its users. */
  const SCOPE_WORDS = {
    everyone: "everyone",
    anonymous: "anonymous only (signed-in users pass)",
  };

  // ---- controls ----

  function wireControls(article, id) {
    const form = $(".controls", article);
    const error = $(".control-error", article);
    const patch = async (body) => {
      error.textContent = "";
      try {
        await api("PATCH", `/v1/admin/events/${encodeURIComponent(id)}`, body);
        for (const input of form.querySelectorAll("input")) input.dataset.dirty = "false";
        loadAudit();
      } catch (e) {
        error.textContent = e.message;
      }
    };
    for (const input of form.querySelectorAll("input")) {
      input.addEventListener("input", () => { input.dataset.dirty = "true"; });
    }
    $('[data-action="pause"]', form).addEventListener("click", () => patch({ status: "paused" }));
    $('[data-action="resume"]', form).addEventListener("click", () => patch({ status: "open" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = {};
      const outflow = form.elements.outflow_per_second.value;
      if (outflow !== "") body.outflow_per_second = Number(outflow);
      const cap = form.elements.max_active.value;
      body.max_active = cap === "" ? null : Number(cap);
      const starts = form.elements.starts_at.value;
      if (starts) body.starts_at = new Date(starts).toISOString().replace(/\.\d{3}Z$/, "Z");
      patch(body);
    });
  }

  $('[data-testid="bans"]').addEventListener("click", async (e) => {
    const key = e.target.dataset && e.target.dataset.lift;
    if (!key) return;
    $("#ban-error").textContent = "";
    try {
      await api("DELETE", `/v1/admin/bans/${encodeURIComponent(key)}`);
      e.target.closest("tr").remove();
      loadAudit();
    } catch (error) {
      $("#ban-error").textContent = error.message;
    }
  });

  $("#ban-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    $("#ban-error").textContent = "";
    try {
      await api("POST", "/v1/admin/bans", {
        key: form.elements.key.value.trim(),
        seconds: Number(form.elements.seconds.value),
        scope: form.elements.scope.value,
        reason: form.elements.reason.value.trim() || undefined,
      });
      form.reset();
      loadAudit();
    } catch (error) {
      $("#ban-error").textContent = error.message;
    }
  });

  async function loadRules() {
    $("#rules-errors").innerHTML = "";
    try {
      const rules = await api("GET", "/v1/admin/ratelimit");
      $("#rules").value = JSON.stringify(rules, null, 2);
      $("#rules-status").textContent = "rules in force";
    } catch (error) {
      $("#rules-status").textContent = error.message;
    }
  }

  $("#rules-reload").addEventListener("click", loadRules);
  $("#rules-save").addEventListener("click", async () => {
    const list = $("#rules-errors");
    list.innerHTML = "";
    let body;
    try {
      body = JSON.parse($("#rules").value);
    } catch (error) {
      list.innerHTML = `<li>not JSON: ${escape(error.message)}</li>`;
      return;
    }
    try {
      await api("PUT", "/v1/admin/ratelimit", body);
      $("#rules-status").textContent = `saved ${new Date().toLocaleTimeString()}`;
      loadAudit();
    } catch (error) {
      const errors = (error.problem && error.problem.errors) || [];
      list.innerHTML = (errors.length ? errors : [{ field: "", message: error.message }])
        .map((e) => `<li>${e.field ? `<code>${escape(e.field)}</code>: ` : ""}${escape(e.message)}</li>`).join("");
      $("#rules-status").textContent = "refused: the rules in force stay";
    }
  });

  $("#rules-drop").addEventListener("click", async () => {
    $("#rules-errors").innerHTML = "";
    try {
      const rules = await api("DELETE", "/v1/admin/ratelimit");
      $("#rules").value = JSON.stringify(rules, null, 2);
      $("#rules-status").textContent = "back to the rules file";
      loadAudit();
    } catch (error) {
      $("#rules-status").textContent = error.message;
    }
  });

  async function loadAudit() {
    try {
      const { entries } = await api("GET", "/v1/admin/audit?limit=20");
      $("#audit tbody").innerHTML = entries.map((e) =>
        `<tr><td>${escape(e.at)}</td><td><code>${escape(e.actor)}</code></td><td>${escape(e.action)}</td><td>${escape(e.target)}</td></tr>`).join("");
    } catch { /* shown by the next successful load */ }
  }

  // ---- small things ----

  function escape(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function clockTime(rfc3339) {
    const date = new Date(rfc3339);
    return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleTimeString();
  }

  function localInput(rfc3339) {
    const date = new Date(rfc3339);
    if (Number.isNaN(date.getTime())) return "";
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function start() {
    $("#login").hidden = true;
    $("#dashboard").hidden = false;
    setConnection("connecting");
    loadRules();
    loadAudit();
    stream();
  }

  if (token) start(); else showLogin("");
})();
