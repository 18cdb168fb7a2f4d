/**
 * The conversation lists: loading the views page by page (a cursor each) into
 * the one map of summaries, and keeping it current from `conversation_updated`
 * and `visitor_presence`. The views and their counts are derived in store.js.
 */

import { api } from "../api.js";
import { VIEWS } from "../protocol.gen.js";
import { compareIn, edgeOf, getState, isMine, set, viewList } from "../store.js";
import { loadedText } from "../format.js";
import { toMs as ts } from "../time.js";
import { markRead, viewing } from "./attention.js";
import { refreshDetailsSoon } from "./conversation.js";
import { checkQueue } from "./queue_alerts.js";
import { me } from "./shared.js";
import { upsert } from "./summaries.js";
import { toast } from "./toasts.js";
import { clearVisitorTyping } from "./typing.js";

export const PAGE = 50;

/** The page's edge: its last row in the view's order (the cursor's row, or tied with it). */
function pageEdge(view, list) {
  if (!list.length) return null;
  const last = list.reduce((a, b) => (compareIn(view, a, b) > 0 ? a : b));
  return edgeOf(view, last);
}

/** Keep what an event told us meanwhile if it is newer. */
function mergeNewer(conversations, list) {
  for (const c of list) {
    const held = conversations[c.id];
    if (!held || ts(c.updated_at) >= ts(held.updated_at)) conversations[c.id] = c;
  }
}

/** The first page of every view (at start and after a reconnect). */
export async function loadLists() {
  const results = await Promise.allSettled(VIEWS.map((view) => api.conversations(view, PAGE)));
  const fresh = {};
  const pages = {};
  let failed = null;
  results.forEach((result, i) => {
    const view = VIEWS[i];
    if (result.status !== "fulfilled") {
      failed = result.reason;
      return;
    }
    const list = (result.value && result.value.conversations) || [];
    for (const c of list) fresh[c.id] = c;
    const next = result.value.next_cursor || null;
    const counts = result.value.counts || {};
    pages[view] = { next, edge: pageEdge(view, list), total: counts[view], loading: false, status: "" };
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
    return { conversations: merged, pages: { ...s.pages, ...pages } };
  });
  checkQueue();
}

/** The next page of `view`, after its cursor; announces what it loaded. */
export async function loadMore(view) {
  const page = getState().pages[view];
  if (!page || !page.next || page.loading) return;
  const patchPage = (p) => set((s) => ({ pages: { ...s.pages, [view]: { ...s.pages[view], ...p } } }));
  patchPage({ loading: true });
  try {
    const data = await api.conversations(view, PAGE, page.next);
    const list = data.conversations || [];
    const next = data.next_cursor || null;
    set((s) => {
      const conversations = { ...s.conversations };
      mergeNewer(conversations, list);
      const total = (data.counts || {})[view];
      const edge = pageEdge(view, list) || s.pages[view].edge;
      return { conversations, pages: { ...s.pages, [view]: { ...s.pages[view], next, edge, total, loading: false } } };
    });
    const shown = viewList(getState(), view).length;
    patchPage({ status: loadedText(list.length, shown, !!next, "conversations") });
  } catch (error) {
    patchPage({ loading: false });
    toast(error.message, "error");
  }
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
  const online = !!data.online;
  setOnline(new Map([[data.visitor_id, online]]), data.conversation_id);
  if (!online) clearVisitorTyping(data.conversation_id);
}

/** Server event `visitors_presence` (several nodes): visitors on other nodes came or went. */
export function visitorsPresence(data) {
  const ids = (list) => (Array.isArray(list) ? list.filter((v) => typeof v === "string") : []);
  const changes = new Map([...ids(data.online).map((v) => [v, true]), ...ids(data.offline).map((v) => [v, false])]);
  if (changes.size) setOnline(changes);
}

/** The online dot of every conversation and visitor panel of these visitors. */
function setOnline(changes, conversationId) {
  set((s) => {
    const conversations = { ...s.conversations };
    for (const c of Object.values(s.conversations)) {
      const vid = changes.has(c.visitor_id) ? c.visitor_id : c.visitor && changes.has(c.visitor.id) ? c.visitor.id : null;
      if (vid !== null) {
        conversations[c.id] = { ...c, visitor: { ...(c.visitor || { id: vid }), online: changes.get(vid) } };
      } else if (conversationId !== undefined && c.id === conversationId) {
        const [online] = changes.values();
        conversations[c.id] = { ...c, visitor: { ...(c.visitor || { id: c.visitor_id }), online } };
      }
    }
    const details = { ...s.details };
    for (const [id, d] of Object.entries(s.details)) {
      if (d.visitor && changes.has(d.visitor.id)) details[id] = { ...d, visitor: { ...d.visitor, online: changes.get(d.visitor.id) } };
    }
    return { conversations, details };
  });
}
