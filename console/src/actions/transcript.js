/**
 * Transcripts: the latest page of an opened conversation, older pages on
 * demand, the outbox (my messages still being sent or refused) and the
 * `message_created` event, which also updates the summary and alerts me.
 *
 * A conversation's messages are numbered (`seq`) without holes. Each open
 * transcript keeps its position (widget/src/sequence.js): the highest number
 * up to which it holds every message. A message that skips ahead (one was
 * lost between server nodes) fetches what follows the position at once; a
 * reconnect or `resync` does the same. My own sent messages are held but do
 * not move the position past one I have not seen.
 */

import { api } from "../api.js";
import { payloadSummary, visitorName } from "../format.js";
import { getState, isMine, mergeIn, set, setIn } from "../store.js";
import { addPending, clearPending, markRead, viewing } from "./attention.js";
import { me, summary } from "./shared.js";
import { toast } from "./toasts.js";
import { clearVisitorTyping } from "./typing.js";
import { Position } from "../../../widget/src/sequence.js";

const PAGE = 50; // messages per page
const CATCH_UP = 500; // messages per catch-up request (the server's maximum)

const positions = new Map(); // cid -> Position of the open transcript
const catchingUp = new Map(); // cid -> the catch-up under way

export async function loadTranscript(cid) {
  const current = getState().transcripts[cid];
  mergeIn("transcripts", cid, { loading: true, error: "", messages: current ? current.messages : [], outbox: current ? current.outbox : [] });
  try {
    const data = await api.messages(cid, undefined, PAGE);
    const messages = (data.messages || []).slice().sort((a, b) => a.id - b.id);
    // The latest page: held through its newest number.
    const top = messages.reduce((n, m) => (Number.isInteger(m.seq) && m.seq > n ? m.seq : n), 0);
    const position = new Position(top);
    // Messages shown meanwhile (merged in below) are held too.
    for (const m of getState().transcripts[cid]?.messages || []) position.offer(m.seq);
    positions.set(cid, position);
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

/**
 * Back after a drop, after `resync`, or when a message skipped ahead: fetch
 * what follows the transcript's position (not the newest message shown) and
 * merge it in by id. One at a time per conversation; a request made while
 * one is under way runs once it is done.
 */
export function catchUp(cid) {
  const running = catchingUp.get(cid);
  if (running) {
    running.again = true;
    return running.done;
  }
  const job = { again: false, done: null };
  job.done = (async () => {
    try {
      do {
        job.again = false;
        await catchUpOnce(cid);
      } while (job.again);
    } finally {
      catchingUp.delete(cid);
    }
  })();
  catchingUp.set(cid, job);
  return job.done;
}

async function catchUpOnce(cid) {
  const t = getState().transcripts[cid];
  const position = positions.get(cid);
  if (!t || !position || !t.messages.length) return loadTranscript(cid);
  try {
    for (;;) {
      const after = position.value;
      const data = await api.messagesAfterSeq(cid, after, CATCH_UP);
      const list = data.messages || [];
      const top = list.reduce((n, m) => (Number.isInteger(m.seq) && m.seq > n ? m.seq : n), after);
      position.covered(after, top);
      addMessages(cid, list, false);
      if (list.length < CATCH_UP) return;
    }
  } catch (error) {
    mergeIn("transcripts", cid, { error: error.message });
  }
}

/**
 * Merge messages into an open transcript, in id order, without duplicates.
 * Numbered ones count towards its position; a gap below them fetches it
 * (unless `fetchGaps` is false: the caller is the fetch).
 */
export function addMessages(cid, list, fetchGaps = true) {
  const position = positions.get(cid);
  let gap = false;
  if (position && getState().transcripts[cid]) {
    for (const m of list) if (m) gap = position.offer(m.seq).gap || gap;
  }
  if (gap && fetchGaps) catchUp(cid);
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
