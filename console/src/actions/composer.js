/**
 * Sending replies and internal notes: over the socket with an ack, over REST
 * when the socket is down or the ack times out. Each message has a client id
 * that every attempt carries, so the server stores it once however often it is
 * retried; while the server cannot be reached it is retried on its own
 * ("Sending…"). A refused message stays in the outbox as "Not sent" to retry
 * or discard.
 *
 * Drafts: each conversation has its own draft with an explicit mode, reply or
 * note (drafts.js keeps them in localStorage per agent, so they survive a
 * reload, an Accept or a transfer); `modes` in the store is the mode shown.
 */

import { api, ApiError } from "../api.js";
import { SEND_MESSAGE } from "../protocol.gen.js";
import { clearDrafts, loadDraft, pruneDrafts, saveDraft } from "../drafts.js";
import { getState, setIn } from "../store.js";
import { clearPending } from "./attention.js";
import { getSocket, me } from "./shared.js";
import { addMessages, outbox } from "./transcript.js";
import { stopTyping } from "./typing.js";

const RETRY_MS = 3000;

function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The server could not be asked (offline, timeout, 5xx): worth trying again. */
const transient = (error) => !(error instanceof ApiError) || error.status === 0 || error.status >= 500;

/** Send a message or note until the server has it (or refuses it). */
export async function send(cid, text, note, clientId = newClientId()) {
  if (!text.trim()) return;
  const item = { key: clientId, text, note: !!note, status: "sending", created_at: new Date().toISOString() };
  outbox(cid, (list) => list.filter((x) => x.key !== clientId).concat(item));
  if (!note) stopTyping(cid);
  for (;;) {
    try {
      const message = await deliver(cid, text, !!note, clientId);
      outbox(cid, (list) => list.filter((x) => x.key !== clientId));
      if (message) addMessages(cid, [message]);
      if (!note) clearPending(cid);
      return;
    } catch (error) {
      const stillQueued = (getState().transcripts[cid]?.outbox || []).some((x) => x.key === clientId);
      if (transient(error) && error.code !== "invalid" && stillQueued) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      const reason = error.status === 409 || error.code === "conflict" ? "This conversation is no longer assigned to you." : error.message;
      outbox(cid, (list) => list.map((x) => (x.key === clientId ? { ...x, status: "failed", error: reason } : x)));
      return;
    }
  }
}

async function deliver(cid, text, note, clientId) {
  const socket = getSocket();
  if (socket && socket.connected) {
    let ack;
    try {
      ack = await socket.emit(SEND_MESSAGE, { conversation_id: cid, text, note, client_id: clientId });
    } catch (_) {
      ack = null; // timeout or disconnect: the REST fallback below (same client id)
    }
    if (ack && ack.ok === true) return ack.message;
    if (ack && ack.ok === false) throw new ApiError(400, ack.error, ack.message || "The message was not sent.");
  }
  const data = await api.sendMessage(cid, text, note, clientId);
  return data && data.message;
}

export function retry(cid, key) {
  const t = getState().transcripts[cid];
  const item = t && (t.outbox || []).find((x) => x.key === key);
  if (!item) return;
  send(cid, item.text, item.note, key);
}

export function discard(cid, key) {
  outbox(cid, (list) => list.filter((x) => x.key !== key));
}

// ---- Drafts and modes ---------------------------------------------------------

const agentId = () => (me() ? me().id : null);

/** The draft of `cid` ({mode, text}), the mode as currently shown. */
export function draftOf(cid) {
  const saved = loadDraft(agentId(), cid);
  const mode = getState().modes[cid];
  return mode ? { ...saved, mode } : saved;
}

/** Keep the text typed in `cid`'s composer (in its current mode). */
export function keepDraft(cid, text) {
  saveDraft(agentId(), cid, { mode: draftOf(cid).mode, text });
}

/** Switch `cid`'s composer to "reply" or "note"; the draft keeps its text. */
export function setMode(cid, mode) {
  const draft = draftOf(cid);
  setIn("modes", cid, mode);
  if (draft.mode !== mode) saveDraft(agentId(), cid, { mode, text: draft.text });
  if (mode === "note") stopTyping(cid);
}

/** Start writing in `cid` in `mode` (the r and n shortcuts): the composer gets the focus. */
export function writeIn(cid, mode) {
  setMode(cid, mode);
  requestAnimationFrame(() => {
    const box = document.getElementById("composer-input");
    if (!box) return;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
}

/** After Accept or Join: an empty composer starts as a reply; a draft keeps its mode. */
export function afterTakeover(cid) {
  if (!draftOf(cid).text.trim()) setMode(cid, "reply");
}

const DRAFT_DAYS = 7;

/** At sign-in: drafts untouched for a week are dropped. */
export function pruneOldDrafts() {
  pruneDrafts(agentId(), DRAFT_DAYS * 24 * 3600 * 1000);
}

/** Signing out: nothing of this agent's drafts stays on the computer. */
export function forgetDrafts() {
  clearDrafts(agentId());
}
