// A Web Worker that checks one draw: post {entrants} once per page of the record, in order, then
// {check: {record, ticketId}}; get {progress: [n, total]} messages as it goes, then {result}
// (see draw-verify.js) or {error}.
import { verifyDraw } from "./draw-verify.js";

/** The entrants received so far, in the published order. */
const entrants = [];

self.onmessage = async ({ data }) => {
  if (data.entrants) {
    for (const id of data.entrants) {
      entrants.push(id);
    }
    return;
  }
  try {
    const { record, ticketId } = data.check;
    const result = await verifyDraw(record, entrants, ticketId, (n, total) => self.postMessage({ progress: [n, total] }));
    self.postMessage({ result });
  } catch (error) {
    self.postMessage({ error: String(error && error.message ? error.message : error) });
  }
};
