/**
 * The selected conversation: opening it (watch/unwatch, its transcript and
 * details), marking it read when the agent sees it, the visitor's details and
 * the visitor's earlier conversations.
 */

import { api } from "../api.js";
import { UNWATCH, WATCH } from "../protocol.gen.js";
import { getState, isMine, mergeIn, set, setIn } from "../store.js";
import { clearPending, markRead } from "./attention.js";
import { getSocket, me, summary } from "./shared.js";
import { upsert } from "./summaries.js";
import { toast } from "./toasts.js";
import { loadTranscript } from "./transcript.js";
import { stopTyping } from "./typing.js";

const HISTORY_PAGE = 5;

let detailsTimer = null;

/** Show conversation `cid` (called by the router); `pane` is what a phone shows. */
export function select(cid, pane) {
  const s = getState();
  const socket = getSocket();
  const previous = s.selectedId;
  if (previous !== cid) {
    if (previous !== null) {
      stopTyping(previous);
      if (socket) socket.send(UNWATCH, { conversation_id: previous });
    }
    set({ selectedId: cid, pane });
    if (socket) socket.send(WATCH, { conversation_id: cid });
    loadTranscript(cid);
    loadDetails(cid);
  } else {
    set({ pane });
  }
  seen(cid);
}

/** The agent is looking at `cid`: it is read, and nothing to remind about. */
export function seen(cid) {
  if (document.hidden || getState().selectedId !== cid) return;
  if ((getState().pending[cid] || {}).kind === "queue") return; // reminded until someone accepts
  const c = summary(cid);
  if (getState().pending[cid] || (c && isMine(c, me()) && c.unread > 0)) markRead(cid);
  clearPending(cid);
}

/** The tab came back to the foreground: the open conversation is seen now. */
export function onVisibility() {
  if (!document.hidden && getState().selectedId !== null) seen(getState().selectedId);
}

export async function loadDetails(cid) {
  try {
    const data = await api.conversation(cid);
    if (data.conversation) upsert(data.conversation);
    setIn("details", cid, { visitor: data.visitor || null, context: data.context || null, emails: data.emails || [] });
    const vid = (data.visitor && data.visitor.id) || (data.conversation && data.conversation.visitor_id);
    if (vid) loadHistory(vid, false);
    seen(cid);
  } catch (error) {
    if (error.status === 404) {
      setIn("details", cid, { missing: true });
      mergeIn("transcripts", cid, { loading: false, error: "This conversation does not exist (or was erased)." });
    } else if (error.status !== 401) {
      toast(error.message, "error");
    }
  }
}

/** Re-read the open conversation's visitor and context (after a change), at most every 1.5 s. */
export function refreshDetailsSoon(cid) {
  if (detailsTimer) return;
  detailsTimer = setTimeout(() => {
    detailsTimer = null;
    if (getState().selectedId === cid) loadDetails(cid);
  }, 1500);
}

export async function loadHistory(vid, more) {
  const h = getState().histories[vid];
  if (h && (h.loading || (!more && h.conversations))) return;
  mergeIn("histories", vid, { loading: true });
  try {
    const data = await api.visitorConversations(vid, more && h ? h.next : undefined, HISTORY_PAGE);
    const list = data.conversations || [];
    mergeIn("histories", vid, {
      loading: false,
      conversations: (more && h && h.conversations ? h.conversations : []).concat(list),
      next: data.next_before_id === undefined ? null : data.next_before_id,
    });
  } catch (error) {
    mergeIn("histories", vid, { loading: false, error: error.message });
  }
}
