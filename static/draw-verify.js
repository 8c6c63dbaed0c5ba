// The pre-queue draw recomputed from its public record, the checks of load/verify_draw.py in the
// same order: the seed against its published hash, the number of entrants, no entrant twice, the
// entrants against the commitment, the shopper's ticket among them, and every place. The queue
// page runs it in a Web Worker (draw-worker.js), so a large draw never holds the page.

/** Lottery keys hashed at a time, between two progress reports. */
const KEYS_PER_CHUNK = 1000;

/**
 * Checks a draw. `record` is the first page's `seed`, `seed_hash`, `entrants_commitment` and
 * `entrants_total`; `entrants` every page's entrants in the published order. Resolves to
 * `{ outcome: "ok", place, total }` or `{ outcome: "mismatch", reason, values }`, where
 * `reason` is seed, count, duplicate, commitment, missing or order. `progress(n, total)` is
 * called as the places are checked.
 */
export async function verifyDraw(record, entrants, ticketId, progress = () => {}) {
  const seed = String(record.seed || "");
  const seedHash = String(record.seed_hash || "").toLowerCase();
  const commitment = String(record.entrants_commitment || "").toLowerCase();
  const ids = entrants.map((id) => String(id).toLowerCase());
  const ticket = String(ticketId).toLowerCase();
  const total = ids.length;
  const mismatch = (reason, values = {}) => ({ outcome: "mismatch", reason, values });

  if ((await sha256Hex(seed)) !== seedHash) {
    return mismatch("seed");
  }
  const published = Number(record.entrants_total);
  if (total !== published) {
    return mismatch("count", { n: total, m: Number.isFinite(published) ? published : 0 });
  }
  const sorted = [...ids].sort();
  if (sorted.some((id, i) => i > 0 && id === sorted[i - 1])) {
    return mismatch("duplicate");
  }
  if ((await sha256Hex(sorted.map((id) => `${id}\n`).join(""))) !== commitment) {
    return mismatch("commitment");
  }
  const place = ids.indexOf(ticket) + 1;
  if (place === 0) {
    return mismatch("missing");
  }

  // The entrants are the committed set, each once: the published order is the draw's exactly
  // when the keys ascend along it (equal keys by ticket id), so no sort is needed.
  let previous = null;
  for (let start = 0; start < total; start += KEYS_PER_CHUNK) {
    progress(start, total);
    const chunk = ids.slice(start, start + KEYS_PER_CHUNK);
    const keys = await Promise.all(chunk.map((id) => sha256Hex(`${seed}:${commitment}:${id}`)));
    for (let i = 0; i < chunk.length; i += 1) {
      const current = [keys[i], chunk[i]];
      if (previous && !inDrawOrder(previous, current)) {
        return mismatch("order", { n: start + i, next: start + i + 1 });
      }
      previous = current;
    }
  }
  progress(total, total);
  return { outcome: "ok", place, total };
}

/** Whether `[key, id]` pairs `a` then `b` follow the draw's order: ascending key, then id. */
function inDrawOrder(a, b) {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Lowercase hex SHA-256 of a text's UTF-8 bytes. */
async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
