// The page's solver agrees with SHA-256 as Node computes it, and finds proofs the server accepts.
// Run: node --test tests/pow/
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { leadingZeroBits, sha256, solve } from "../../static/pow.js";

const hex = (words) => Array.from(words, (w) => w.toString(16).padStart(8, "0")).join("");

test("sha256 matches node's for lengths around the block edges", () => {
  for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 200]) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 31 + 7) & 0xff);
    assert.equal(hex(sha256(bytes)), createHash("sha256").update(bytes).digest("hex"), `length ${length}`);
  }
});

test("a solved nonce gives a hash with the asked zero bits", () => {
  const challenge = "p1.drop.1790000120000.12.00112233445566778899aabbccddeeff.ab";
  const nonce = solve(challenge, 12);
  assert.match(nonce, /^[0-9]+$/);
  const digest = createHash("sha256").update(`${challenge}:${nonce}`).digest();
  const bits = leadingZeroBits([digest.readUInt32BE(0), digest.readUInt32BE(4)]);
  assert.ok(bits >= 12, `only ${bits} bits`);
  // The smallest such nonce: every smaller one falls short.
  for (let n = 0; n < Number(nonce); n += 1) {
    const d = createHash("sha256").update(`${challenge}:${n}`).digest();
    assert.ok(leadingZeroBits([d.readUInt32BE(0), d.readUInt32BE(4)]) < 12);
  }
});
