/**
 * The conversation lists: loading the views (and older resolved ones) into
 * the one map of summaries, and keeping it current from `conversation_updated`
 * and `visitor_presence`. The views and their counts are derived in store.js.
 */

import { api } from "../api.js";
import { VIEWS } from "../protocol.gen.js";
import { getState, isMine, set, setIn } from "../store.js";
import { toMs as ts } from "../time.js";
import { markRead, refreshDetailsSoon } from "./conversation.js";
import { clearPending, viewing } from "./notifications.js";
import { me, summary } from "./shared.js";
import { toast } from "./toasts.js";
import { clearVisitorTyping } from "./typing.js";

const LIST_LIMIT = 100;
const RESOLVED_PAGE = 30;

export async function loadLists() {
  const results = await Promise.allSettled(
    VIEWS.map((view) => api.conversations(view, view === "resolved" ? RESOLVED_PAGE : LIST_LIMIT))
  );
  const fresh = {};
  let failed = null;
  let resolvedMore = false;
  results.forEach((result, i) => {
    if (result.status !== "fulfilled") {
      failed = result.reason;
      return;
    }
    const list = (result.value && result.value.conversations) || [];
    for (const c of list) fresh[c.id] = c;
    if (VIEWS[i] === "resolved") resolvedMore = list.length >= RESOLVED_PAGE;
  });
  if (failed && failed.status !== 401) toast(`Could not load the conversation lists: ${failed.message}`, "error");
  set((s) => {
    // Keep what an event told us meanwhile if it is newer, and the open conversation.
    const merged = { ...fresh };
    for (const [id, c] of Object.entries(s.conversations)) {
      if (!merged[id] ? Number(id) === s.selectedId || c.state === "resolved" : ts(c.updated_at) > ts(merged[id].updated_at)) {
        merged[id] = c;
      }
    }
    return { conversations: merged, resolvedMore };
  });
}

export async function loadMoreResolved() {
  const resolved = Object.values(getState().conversations).filter((c) => c.state === "resolved");
  const oldest = resolved.reduce((min, c) => (min === null || c.id < min ? c.id : min), null);
  try {
    const data = await api.conversations("resolved", RESOLVED_PAGE, oldest === null ? undefined : oldest);
    const list = data.conversations || [];
    set((s) => {
      const conversations = { ...s.conversations };
      for (const c of list) if (!conversations[c.id]) conversations[c.id] = c;
      return { conversations, resolvedMore: list.length >= RESOLVED_PAGE };
    });
  } catch (error) {
    toast(error.message, "error");
  }
}

/** Store a summary unless we already hold a newer one; returns the one kept. */
export function upsert(c) {
  const previous = summary(c.id);
  if (previous && ts(previous.updated_at) > ts(c.updated_at)) return previous; // a late, older copy
  setIn("conversations", c.id, c);
  if (previous && previous.state !== c.state) setIn("visitorTyping", c.id, undefined);
  if (!isMine(c, me())) clearPending(c.id);
  return c;
}

/** Server event `conversation_updated`. */
export function conversationUpdated(c) {
  if (!c || typeof c.id !== "number") return;
  upsert(c);
  if (getState().selectedId === c.id) {
    refreshDetailsSoon(c.id);
    if (isMine(c, me()) && c.unread > 0 && viewing(c.id)) markRead(c.id);
  }
}

/** Server event `visitor_presence`: the online dot in the lists and the visitor panel. */
export function visitorPresence(data) {
  const vid = data.visitor_id;
  const online = !!data.online;
  set((s) => {
    const conversations = { ...s.conversations };
    for (const c of Object.values(s.conversations)) {
      if (c.visitor_id === vid || (c.visitor && c.visitor.id === vid) || c.id === data.conversation_id) {
        conversations[c.id] = { ...c, visitor: { ...(c.visitor || { id: vid }), online } };
      }
    }
    const details = { ...s.details };
    for (const [id, d] of Object.entries(s.details)) {
      if (d.visitor && d.visitor.id === vid) details[id] = { ...d, visitor: { ...d.visitor, online } };
    }
    return { conversations, details };
  });
  if (!online) clearVisitorTyping(data.conversation_id);
}
