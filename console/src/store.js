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
  section: "inbox", // inbox | live (visitors on the site) | dashboard | segments | campaigns (admins and marketers)
  live: { visitors: [], loaded: false, error: "", next: null, total: 0, loading: false, status: "" },
  webhooks: { list: [], loaded: false, error: "", secret: null, openId: null, deliveries: [], next: null, loading: false, status: "" },
  // The development mail catcher (admins, only when the server runs one): actions/dev_mail.js.
  devMail: { available: false, probed: false, messages: [], loaded: false, loading: false, error: "", status: "", selectedId: null, showHtml: false },
  systemWarnings: [], // configuration the operator should fix (admins; e.g. TRUSTED_PROXIES)
  team: { list: [], loaded: false, error: "" },
  // Segments and campaigns (admins and marketers): actions/segments.js, actions/campaigns.js.
  segments: { list: [], loaded: false, error: "", fields: [], openId: null, item: null, itemError: "" },
  campaigns: {
    list: [], loaded: false, error: "", segments: [], openId: null, item: null, itemError: "", validation: null, plan: null,
    results: false, resultsMode: "sequential", resultsData: null, resultsError: "", resultsLoading: false,
  },
  dashboard: { filters: { range: "7d", from: "", to: "", segment: "all", utm_source: "", page: "" }, summary: null, tables: {}, query: null, loading: false, error: "", updatedAt: 0 },
  me: null, // Agent
  connection: "idle", // idle | connecting | online | reconnecting
  view: "mine", // one of VIEWS, or "followups"
  conversations: {}, // id -> Conversation summary
  // view -> {next: cursor of the next page | null, edge: [key, id] of the last row loaded,
  //          total: the server's count, loading, status: what the last "Load more" loaded}
  pages: {},
  selectedId: null,
  pane: "list", // phones: list | chat | visitor
  transcripts: {}, // id -> {messages, hasMore, loading, loadingOlder, error}
  details: {}, // id -> {visitor, context}
  histories: {}, // visitor id -> {conversations, next, loading}
  visitorTyping: {}, // conversation id -> true
  agents: {}, // id -> Agent
  followups: [],
  followupStatus: "open",
  followupsPage: { next: null, loading: false, status: "" },
  canned: [],
  modes: {}, // conversation id -> "reply" | "note": the composer's mode (drafts: actions/composer.js)
  undoable: {}, // conversation id -> "resolve" | "handback": sent when its undo window ends (actions/handoff.js)
  conflicts: {}, // conversation id -> text shown above the transcript
  busy: {}, // conversation id -> the action under way ("accept", ...)
  pending: {}, // conversation id -> {title, body, kind: mine|queue, last}: unanswered, notifications repeat
  alerts: null, // {queue_repeat_seconds, queue_escalation_minutes} from GET /api/me
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

/**
 * Each view's order, the same as the server's (chat_server/db/paging.py):
 * [key, id] and whether it runs newest first. Keep the two in step: a page
 * ends where the server's cursor says, and the list shown is cut there.
 */
export const VIEW_ORDER = {
  // Oldest waiting first: the queue is served in order.
  queue: { key: (c) => ts(c.queued_at || c.created_at), descending: false },
  resolved: { key: (c) => ts(c.resolved_at || c.updated_at), descending: true },
  // Latest activity first: a new message moves a conversation to the top.
  mine: { key: (c) => ts(c.updated_at), descending: true },
  open: { key: (c) => ts(c.updated_at), descending: true },
  bot: { key: (c) => ts(c.updated_at), descending: true },
};

/** Negative when `a` comes before `b` in `view`. */
export function compareIn(view, a, b) {
  const order = VIEW_ORDER[view] || VIEW_ORDER.open;
  const diff = order.key(a) - order.key(b) || a.id - b.id;
  return order.descending ? -diff : diff;
}

/** Where a conversation sits in `view` (what a page's edge remembers). */
export const edgeOf = (view, c) => ({ key: VIEW_ORDER[view].key(c), id: c.id });

function beyond(view, c, edge) {
  const order = VIEW_ORDER[view];
  const diff = order.key(c) - edge.key || c.id - edge.id;
  return order.descending ? diff < 0 : diff > 0;
}

export function viewList(s, view) {
  const list = Object.values(s.conversations).filter((c) => inView(c, view, s.me, s.now));
  const page = s.pages[view];
  // Past the last page loaded, what we happen to know (from another view or
  // an event) would show with gaps: it waits for "Load more".
  const shown = page && page.next && page.edge ? list.filter((c) => !beyond(view, c, page.edge)) : list;
  return shown.sort((a, b) => compareIn(view, a, b));
}

export function counts(s) {
  const out = { queue: 0, mine: 0, open: 0, bot: 0, unread: 0 };
  for (const c of Object.values(s.conversations)) {
    for (const view of ["queue", "mine", "open", "bot"]) if (inView(c, view, s.me, s.now)) out[view] += 1;
    if (isMine(c, s.me)) out.unread += c.unread || 0;
  }
  // Not every conversation of a view is loaded yet: the server's count (as of
  // the last page) is the better figure.
  for (const view of ["queue", "mine", "open", "bot"]) {
    const page = s.pages[view];
    if (page && page.next && typeof page.total === "number") out[view] = Math.max(out[view], page.total);
  }
  out.followups = s.followupStatus === "open" ? s.followups.filter((f) => f.status === "open").length : null;
  return out;
}
