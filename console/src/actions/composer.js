/**
 * Sending replies and internal notes: over the socket with an ack, over REST
 * when the socket is down or the ack times out; a refused message stays in the
 * outbox as "Not sent" to retry or discard.
 */

import { api, ApiError } from "../api.js";
import { SEND_MESSAGE } from "../protocol.gen.js";
import { getState } from "../store.js";
import { clearPending } from "./notifications.js";
import { getSocket } from "./shared.js";
import { addMessages, outbox } from "./transcript.js";
import { stopTyping } from "./typing.js";

let outboxSeq = 0;

/** Send a message or note: over the socket with an ack, over REST if the socket fails. */
export async function send(cid, text, note) {
  if (!text.trim()) return;
  const item = { key: `out-${++outboxSeq}`, text, note: !!note, status: "sending", created_at: new Date().toISOString() };
  outbox(cid, (list) => list.concat(item));
  if (!note) stopTyping(cid);
  try {
    const message = await deliver(cid, text, !!note);
    outbox(cid, (list) => list.filter((x) => x.key !== item.key));
    if (message) addMessages(cid, [message]);
    if (!note) clearPending(cid);
  } catch (error) {
    const reason = error.status === 409 || error.code === "conflict" ? "This conversation is no longer assigned to you." : error.message;
    outbox(cid, (list) => list.map((x) => (x.key === item.key ? { ...x, status: "failed", error: reason } : x)));
  }
}

async function deliver(cid, text, note) {
  const socket = getSocket();
  if (socket && socket.connected) {
    let ack;
    try {
      ack = await socket.emit(SEND_MESSAGE, { conversation_id: cid, text, note });
    } catch (_) {
      ack = null; // timeout or disconnect: the REST fallback below
    }
    if (ack && ack.ok === true) return ack.message;
    if (ack && ack.ok === false) throw new ApiError(0, ack.error, ack.message || "The message was not sent.");
  }
  const data = await api.sendMessage(cid, text, note);
  return data && data.message;
}

export function retry(cid, key) {
  const t = getState().transcripts[cid];
  const item = t && (t.outbox || []).find((x) => x.key === key);
  if (!item) return;
  outbox(cid, (list) => list.filter((x) => x.key !== key));
  send(cid, item.text, item.note);
}

export function discard(cid, key) {
  outbox(cid, (list) => list.filter((x) => x.key !== key));
}
