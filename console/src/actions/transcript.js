/**
 * Transcripts: the latest page of an opened conversation, older pages on
 * demand, the outbox (my messages still being sent or refused) and the
 * `message_created` event, which also updates the summary and alerts me.
 */

import { api } from "../api.js";
import { payloadSummary, visitorName } from "../format.js";
import { getState, isMine, mergeIn, set, setIn } from "../store.js";
import { markRead } from "./conversation.js";
import { addPending, clearPending, viewing } from "./notifications.js";
import { me, summary } from "./shared.js";
import { toast } from "./toasts.js";
import { clearVisitorTyping } from "./typing.js";

const PAGE = 50; // messages per page

export async function loadTranscript(cid) {
  const current = getState().transcripts[cid];
  mergeIn("transcripts", cid, { loading: true, error: "", messages: current ? current.messages : [], outbox: current ? current.outbox : [] });
  try {
    const data = await api.messages(cid, undefined, PAGE);
    const messages = (data.messages || []).slice().sort((a, b) => a.id - b.id);
    // A fresh latest page; events that arrived meanwhile are merged in.
    set((s) => {
      const t = s.transcripts[cid] || {};
      const known = new Set(messages.map((m) => m.id));
      const newer = (t.messages || []).filter((m) => !known.has(m.id) && (!messages.length || m.id > messages[messages.length - 1].id));
      return { transcripts: { ...s.transcripts, [cid]: { ...t, messages: messages.concat(newer), hasMore: messages.length >= PAGE, loading: false } } };
    });
  } catch (error) {
    mergeIn("transcripts", cid, { loading: false, error: error.message });
  }
}

export async function loadOlder(cid) {
  const t = getState().transcripts[cid];
  if (!t || t.loadingOlder || !t.messages.length) return;
  mergeIn("transcripts", cid, { loadingOlder: true });
  try {
    const data = await api.messages(cid, t.messages[0].id, PAGE);
    const older = data.messages || [];
    addMessages(cid, older);
    mergeIn("transcripts", cid, { loadingOlder: false, hasMore: older.length >= PAGE });
  } catch (error) {
    mergeIn("transcripts", cid, { loadingOlder: false });
    toast(error.message, "error");
  }
}

/** Merge messages into an open transcript, in id order, without duplicates. */
/**
 * Back after a drop: fetch only the messages newer than the newest one shown
 * (not the latest page again), and merge them in by id.
 */
export async function catchUp(cid) {
  const t = getState().transcripts[cid];
  const newest = t && t.messages.length ? t.messages[t.messages.length - 1].id : null;
  if (newest === null) return loadTranscript(cid);
  try {
    const data = await api.messagesAfter(cid, newest);
    addMessages(cid, data.messages || []);
  } catch (error) {
    mergeIn("transcripts", cid, { error: error.message });
  }
}

export function addMessages(cid, list) {
  set((s) => {
    const t = s.transcripts[cid];
    if (!t) return null; // not open: fetched when it is
    const byId = new Map(t.messages.map((m) => [m.id, m]));
    for (const m of list) if (m && m.id !== undefined) byId.set(m.id, m);
    const messages = [...byId.values()].sort((a, b) => a.id - b.id);
    return { transcripts: { ...s.transcripts, [cid]: { ...t, messages } } };
  });
}

/** Change the outbox of `cid` with `fn(list) → list`. */
export function outbox(cid, fn) {
  set((s) => {
    const t = s.transcripts[cid] || { messages: [], outbox: [] };
    return { transcripts: { ...s.transcripts, [cid]: { ...t, outbox: fn(t.outbox || []) } } };
  });
}

/** Server event `message_created`. */
export function messageCreated(m) {
  if (!m || typeof m.conversation_id !== "number") return;
  const cid = m.conversation_id;
  if (m.agent && me() && m.agent.id === me().id && (m.direction === "agent" || m.direction === "note")) {
    // Our own message, echoed before its ack: it replaces its "Sending…" copy.
    const t = getState().transcripts[cid];
    const note = m.direction === "note";
    const copy = t && (t.outbox || []).find((x) => x.status === "sending" && x.note === note && x.text === m.text);
    if (copy) outbox(cid, (list) => list.filter((x) => x.key !== copy.key));
  }
  addMessages(cid, [m]);
  const c = summary(cid);
  if (c && m.direction !== "note" && (!c.last_message || c.last_message.id < m.id)) {
    setIn("conversations", cid, { ...c, last_message: m });
  }
  if (m.direction === "visitor") {
    clearVisitorTyping(cid);
    if (c && isMine(c, me())) {
      if (viewing(cid)) markRead(cid);
      else addPending(cid, `${visitorName(c.visitor, c.visitor_id)} wrote`, m.text || payloadSummary(m.payload));
    }
  } else if (m.direction === "agent" && m.agent && me() && m.agent.id === me().id) {
    clearPending(cid);
  }
}
