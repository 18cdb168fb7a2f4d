/**
 * The console's single state and its mutations (Chatwoot's pattern: the socket
 * connector and the components never keep state of their own; they call
 * actions, and actions change this store).
 *
 * Mutations replace the objects they change, so a component can compare by
 * identity. `subscribe(fn)` is called after every change (batched by the App).
 */

import { toMs } from "./time.js";

export const initialState = () => ({
  boot: "loading", // loading | login | password | ready
  section: "inbox", // inbox | live (visitors on the site) | dashboard (admins and marketers)
  live: { visitors: [], loaded: false, error: "" },
  webhooks: { list: [], loaded: false, error: "", secret: null, openId: null, deliveries: [] },
  dashboard: { filters: { range: "7d", from: "", to: "", segment: "all", utm_source: "", page: "" }, summary: null, tables: {}, query: null, loading: false, error: "", updatedAt: 0 },
  me: null, // Agent
  connection: "idle", // idle | connecting | online | reconnecting
  view: "mine", // one of VIEWS, or "followups"
  conversations: {}, // id -> Conversation summary
  resolvedMore: false, // more resolved conversations on the server
  selectedId: null,
  pane: "list", // phones: list | chat | visitor
  transcripts: {}, // id -> {messages, hasMore, loading, loadingOlder, error}
  details: {}, // id -> {visitor, context}
  histories: {}, // visitor id -> {conversations, next, loading}
  visitorTyping: {}, // conversation id -> true
  agents: {}, // id -> Agent
  followups: [],
  followupStatus: "open",
  canned: [],
  conflicts: {}, // conversation id -> text shown above the transcript
  busy: {}, // conversation id -> the action under way ("accept", ...)
  pending: {}, // conversation id -> {title, body}: unanswered, notifications repeat
  dialog: null, // {type: "transfer" | "canned" | "settings", conversationId?}
  toasts: [],
  now: Date.now(),
  notifyPermission: typeof Notification === "undefined" ? "unsupported" : Notification.permission,
});

let state = initialState();
const listeners = new Set();

export function getState() {
  return state;
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Shallow-merge `patch` (an object, or a function of the state returning one). */
export function set(patch) {
  const next = typeof patch === "function" ? patch(state) : patch;
  if (!next) return;
  state = { ...state, ...next };
  for (const listener of listeners) listener(state);
}

export function reset(extra) {
  state = { ...initialState(), ...(extra || {}) };
  for (const listener of listeners) listener(state);
}

/** Replace one entry of a keyed map in the state (`undefined` deletes it). */
export function setIn(key, id, value) {
  set((s) => {
    const map = { ...s[key] };
    if (value === undefined) delete map[id];
    else map[id] = value;
    return { [key]: map };
  });
}

/** Merge `patch` into one entry of a keyed map. */
export function mergeIn(key, id, patch) {
  set((s) => ({ [key]: { ...s[key], [id]: { ...(s[key][id] || {}), ...patch } } }));
}

// ---- Derived data -------------------------------------------------------

const HOUR = 3600 * 1000;

const ts = toMs;

export function lastActivity(c) {
  return Math.max(ts(c.updated_at), ts(c.last_message && c.last_message.created_at), ts(c.created_at));
}

export function isMine(c, me) {
  return !!(me && c && c.state === "assigned" && c.assigned_agent && c.assigned_agent.id === me.id);
}

/** Whether conversation `c` belongs in `view` (mirrors the server's view rules). */
export function inView(c, view, me, now) {
  switch (view) {
    case "queue":
      return c.state === "queued";
    case "mine":
      return isMine(c, me);
    case "open":
      return c.state === "queued" || c.state === "assigned" || (c.state === "bot" && now - lastActivity(c) < HOUR);
    case "bot":
      return c.state === "bot" && now - lastActivity(c) < HOUR;
    case "resolved":
      return c.state === "resolved";
    default:
      return false;
  }
}

const ORDER = {
  // Oldest waiting first: the queue is served in order.
  queue: (a, b) => ts(a.queued_at) - ts(b.queued_at) || a.id - b.id,
  resolved: (a, b) => ts(b.resolved_at) - ts(a.resolved_at) || b.id - a.id,
};
const byActivity = (a, b) => lastActivity(b) - lastActivity(a) || b.id - a.id;

export function viewList(s, view) {
  const list = Object.values(s.conversations).filter((c) => inView(c, view, s.me, s.now));
  return list.sort(ORDER[view] || byActivity);
}

export function counts(s) {
  const out = { queue: 0, mine: 0, open: 0, bot: 0, unread: 0 };
  for (const c of Object.values(s.conversations)) {
    for (const view of ["queue", "mine", "open", "bot"]) if (inView(c, view, s.me, s.now)) out[view] += 1;
    if (isMine(c, s.me)) out.unread += c.unread || 0;
  }
  out.followups = s.followupStatus === "open" ? s.followups.filter((f) => f.status === "open").length : null;
  return out;
}
