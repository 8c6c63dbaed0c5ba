// Proof of work at join: solving the challenge of GET /v1/events/{event}/challenge.
//
// A proof is a decimal nonce such that SHA-256 of `challenge + ":" + nonce` starts with
// `difficulty` zero bits. `solve` finds the smallest one (about 2^difficulty hashes); the page
// runs it in a Web Worker (pow-worker.js) so the page stays responsive while it works.
// SHA-256 is written out here because crypto.subtle.digest is asynchronous and costs far more
// per call than one hash of a hundred bytes.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const W = new Uint32Array(64);

/** SHA-256 of `bytes` (a Uint8Array) as 8 big-endian 32-bit words. */
export function sha256(bytes) {
  const length = bytes.length;
  const blocks = ((length + 9 + 63) >> 6) << 6;
  const padded = new Uint8Array(blocks);
  padded.set(bytes);
  padded[length] = 0x80;
  const bits = length * 8;
  padded[blocks - 4] = bits >>> 24;
  padded[blocks - 3] = bits >>> 16;
  padded[blocks - 2] = bits >>> 8;
  padded[blocks - 1] = bits;
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  for (let offset = 0; offset < blocks; offset += 64) {
    for (let i = 0; i < 16; i += 1) {
      const j = offset + i * 4;
      W[i] = (padded[j] << 24) | (padded[j + 1] << 16) | (padded[j + 2] << 8) | padded[j + 3];
    }
    for (let i = 16; i < 64; i += 1) {
      const a = W[i - 15];
      const b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i += 1) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return h;
}

/** How many zero bits a hash (8 words) starts with. */
export function leadingZeroBits(words) {
  let bits = 0;
  for (const word of words) {
    if (word === 0) {
      bits += 32;
    } else {
      return bits + Math.clz32(word);
    }
  }
  return bits;
}

/** The smallest decimal nonce whose `challenge:nonce` hash starts with `difficulty` zero bits. */
export function solve(challenge, difficulty) {
  const prefix = new TextEncoder().encode(`${challenge}:`);
  const buffer = new Uint8Array(prefix.length + 20);
  buffer.set(prefix);
  for (let nonce = 0; ; nonce += 1) {
    const digits = String(nonce);
    for (let i = 0; i < digits.length; i += 1) {
      buffer[prefix.length + i] = digits.charCodeAt(i);
    }
    const hash = sha256(buffer.subarray(0, prefix.length + digits.length));
    if (leadingZeroBits(hash) >= difficulty) {
      return digits;
    }
  }
}

/** Solves in a Web Worker (pow-worker.js next to this file); resolves to the nonce. */
export function solveInWorker(challenge, difficulty) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./pow-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (message) => {
      worker.terminate();
      resolve(message.data.nonce);
    };
    worker.onerror = (error) => {
      worker.terminate();
      reject(error);
    };
    worker.postMessage({ challenge, difficulty });
  });
}

/**
 * A proof for joining `event`: fetches a challenge (with `token`, when the shopper has one) and
 * solves it in a worker. Resolves to `{ proof, visitorToken }`: the join body's `proof`, and the
 * visitor token the challenge was bound to when the shopper had none (join with it).
 */
export async function proofFor(event, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(`/v1/events/${event}/challenge`, { headers, credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`the challenge could not be fetched (${response.status})`);
  }
  const body = await response.json();
  const nonce = await solveInWorker(body.challenge, body.difficulty);
  return { proof: { challenge: body.challenge, nonce }, visitorToken: body.visitor_token || null };
}
