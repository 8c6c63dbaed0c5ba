// A Web Worker that solves one proof-of-work challenge: post {challenge, difficulty}, get {nonce}.
import { solve } from "./pow.js";

self.onmessage = (message) => {
  const { challenge, difficulty } = message.data;
  self.postMessage({ nonce: solve(challenge, difficulty) });
};
