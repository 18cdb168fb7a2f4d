/**
 * Store actions: everything that changes the console's state goes through
 * here. The socket connector (socket.js) calls the `on…`-style actions for
 * server events; components call the user actions. Actions talk to the REST
 * API and the socket and then mutate the store.
 */

import { api, ApiError, setCsrfToken, setUnauthenticatedHandler } from "./api.js";
import * as notify from "./notify.js";
import { SEND_MESSAGE, SET_STATUS, TYPING, UNWATCH, VIEWS, WATCH } from "./protocol.gen.js";
import { getState, isMine, mergeIn, reset, set, setIn } from "./store.js";
import { AgentSocket } from "./socket.js";
import { agentName, payloadSummary, visitorName } from "./format.js";
import { toMs } from "./time.js";

const PAGE = 50; // messages per page
const LIST_LIMIT = 100;
const RESOLVED_PAGE = 30;
const HISTORY_PAGE = 5;
const REPEAT_MS = 10000; // unanswered notifications repeat this often
const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const VISITOR_TYPING_TTL_MS = 15000;

let socket = null;
let everOnline = false;
let timers = [];
let toastSeq = 0;
let outboxSeq = 0;
const typingOut = new Map(); // conversation id -> {active, sentAt, timer}
const typingIn = new Map(); // conversation id -> timer clearing the visitor's typing flag
const selfAccepted = new Set(); // accepted by me just now: no "assigned to you" alert
let detailsTimer = null;

const ts = toMs;
const me = () => getState().me;
const summary = (cid) => getState().conversations[cid];

// ---- Session -------------------------------------------------------------

export async function boot() {
  setUnauthenticatedHandler(() => sessionLost("Your session has ended. Please sign in again."));
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", onVisibility);
  try {
    signedIn(await api.me());
  } catch (error) {
    set({ boot: "login", loginNotice: error.status === 401 ? "" : error.message });
  }
}

/** After login, `GET /api/me`: keep the CSRF token, then start or ask for a new password. */
function signedIn(data) {
  setCsrfToken(data.csrf_token);
  set({ me: data.agent, loginNotice: "" });
  if (data.must_change_password) set({ boot: "password" });
  else startSession();
}

export async function login(username, password) {
  notify.unlockAudio(); // a user gesture: sound may play from now on
  try {
    signedIn(await api.login(username, password));
    return null;
  } catch (error) {
    if (error.status === 401) return "Wrong username or password.";
    if (error.status === 400) return "Enter your username and password.";
    return error.message;
  }
}

export async function changePassword(current, next) {
  try {
    await api.changePassword(current, next);
    signedIn(await api.me());
    return null;
  } catch (error) {
    if (error.status === 401 || error.status === 403) return error.message || "The current password is wrong.";
    return error.message;
  }
}

export async function logout() {
  const wasSelected = getState().selectedId;
  if (wasSelected) stopTyping(wasSelected);
  try {
    await api.logout();
  } catch (_) {
    // The session may already be gone; sign out locally anyway.
  }
  endSession();
  reset({ boot: "login" });
  history.replaceState(null, "", location.pathname);
}

function endSession() {
  if (socket) socket.stop();
  socket = null;
  everOnline = false;
  for (const t of timers) clearInterval(t);
  timers = [];
  setCsrfToken(null);
}

function sessionLost(notice) {
  if (getState().boot !== "ready") return;
  endSession();
  reset({ boot: "login", loginNotice: notice });
}

function startSession() {
  set({ boot: "ready", notifyPermission: notify.permission(), permissionBannerDismissed: bannerDismissed() });
  route();
  loadLists();
  loadAgents();
  loadCanned();
  loadFollowups();
  socket = new AgentSocket(socketActions);
  socket.start();
  timers.push(setInterval(() => set({ now: Date.now() }), 30000));
  timers.push(setInterval(repeatAlerts, REPEAT_MS));
}

// ---- Navigation (the hash keeps the selection across reloads; phones use it for "back") ----

export function go(path) {
  const hash = `#/${path}`;
  if (location.hash !== hash) location.hash = hash;
  else route();
}

function route() {
  if (getState().boot !== "ready") return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "c" && /^\d+$/.test(parts[1] || "")) {
    select(Number(parts[1]), parts[2] === "visitor" ? "visitor" : "chat");
    return;
  }
  const view = parts[0] === "followups" || VIEWS.includes(parts[0]) ? parts[0] : null;
  if (view) set({ view, pane: "list" });
  else set({ pane: "list" });
  if (view === "followups") loadFollowups(getState().followupStatus);
}

export function back() {
  go(getState().view);
}

function select(cid, pane) {
  const s = getState();
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
function seen(cid) {
  if (document.hidden || getState().selectedId !== cid) return;
  const c = summary(cid);
  if (getState().pending[cid] || (c && isMine(c, me()) && c.unread > 0)) markRead(cid);
  clearPending(cid);
}

function onVisibility() {
  if (!document.hidden && getState().selectedId !== null) seen(getState().selectedId);
}

// ---- Lists ---------------------------------------------------------------

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

export function setView(view) {
  go(view);
}

async function loadAgents() {
  try {
    const data = await api.agents();
    const agents = {};
    for (const a of data.agents || []) agents[a.id] = a;
    set({ agents });
  } catch (_) {
    // Transfer shows an error if it still has no agents.
  }
}

// ---- One conversation ----------------------------------------------------

async function loadTranscript(cid) {
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

function addMessages(cid, list) {
  set((s) => {
    const t = s.transcripts[cid];
    if (!t) return null; // not open: fetched when it is
    const byId = new Map(t.messages.map((m) => [m.id, m]));
    for (const m of list) if (m && m.id !== undefined) byId.set(m.id, m);
    const messages = [...byId.values()].sort((a, b) => a.id - b.id);
    return { transcripts: { ...s.transcripts, [cid]: { ...t, messages } } };
  });
}

async function loadDetails(cid) {
  try {
    const data = await api.conversation(cid);
    if (data.conversation) upsert(data.conversation);
    setIn("details", cid, { visitor: data.visitor || null, context: data.context || null });
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
function refreshDetailsSoon(cid) {
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

/** Open a conversation known only from a visitor's history. */
export function openConversation(c) {
  if (c && !summary(c.id)) upsert(c);
  go(`c/${c.id}`);
}

export function showVisitor(cid) {
  go(`c/${cid}/visitor`);
}

export function showChat(cid) {
  go(`c/${cid}`);
}

export function markRead(cid) {
  const c = summary(cid);
  if (c && c.unread) setIn("conversations", cid, { ...c, unread: 0 });
  clearPending(cid);
  api.read(cid).catch(() => {});
}

// ---- Composer --------------------------------------------------------------

/** The agent typed in the composer: tell the visitor (throttled); notes stay silent. */
export function composing(cid, note) {
  if (note || !isMine(summary(cid), me()) || !socket) return;
  const state = typingOut.get(cid) || { active: false, sentAt: 0, timer: null };
  const now = Date.now();
  if (!state.active || now - state.sentAt > TYPING_REFRESH_MS) {
    socket.send(TYPING, { conversation_id: cid, typing: true });
    state.active = true;
    state.sentAt = now;
  }
  clearTimeout(state.timer);
  state.timer = setTimeout(() => stopTyping(cid), TYPING_IDLE_MS);
  typingOut.set(cid, state);
}

export function stopTyping(cid) {
  const state = typingOut.get(cid);
  if (!state || !state.active) return;
  clearTimeout(state.timer);
  state.active = false;
  if (socket) socket.send(TYPING, { conversation_id: cid, typing: false });
}

function outbox(cid, fn) {
  set((s) => {
    const t = s.transcripts[cid] || { messages: [], outbox: [] };
    return { transcripts: { ...s.transcripts, [cid]: { ...t, outbox: fn(t.outbox || []) } } };
  });
}

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

// ---- Conversation actions --------------------------------------------------

async function act(cid, name, call, done) {
  if (getState().busy[cid]) return false;
  setIn("busy", cid, name);
  setIn("conflicts", cid, undefined);
  try {
    const data = await call();
    if (data && data.conversation) upsert(data.conversation);
    if (done) toast(done, "ok");
    return true;
  } catch (error) {
    if (error.status === 409) await conflict(cid, name, error);
    else if (error.status !== 401) toast(error.message, "error");
    return false;
  } finally {
    setIn("busy", cid, undefined);
  }
}

/** Explain a 409 in terms of who got there first. */
async function conflict(cid, name, error) {
  let text = error.message || "This conversation changed in the meantime.";
  try {
    const data = await api.conversation(cid);
    const c = data.conversation;
    if (c) {
      upsert(c);
      const other = c.assigned_agent && (!me() || c.assigned_agent.id !== me().id) ? agentName(c.assigned_agent) : "";
      if ((name === "accept" || name === "join") && other) {
        text = `${other} ${name === "join" ? "joined" : "accepted"} this conversation first.`;
      } else if (c.state === "resolved") {
        text = "This conversation is already resolved.";
      } else if (other) {
        text = `${other} has this conversation now.`;
      }
    }
  } catch (_) {
    // keep the server's own message
  }
  setIn("conflicts", cid, text);
}

export function accept(cid) {
  const c = summary(cid);
  const name = c && c.state === "bot" ? "join" : "accept";
  selfAccepted.add(cid);
  setTimeout(() => selfAccepted.delete(cid), 15000);
  return act(cid, name, () => api.accept(cid), name === "join" ? "You joined the conversation." : "");
}

export async function transfer(cid, agentId, note) {
  const target = getState().agents[agentId];
  const ok = await act(cid, "transfer", () => api.transfer(cid, agentId, note || undefined),
    `Transferred to ${target ? agentName(target) : "the agent"}.`);
  if (ok) closeDialog();
  return ok;
}

export function resolve(cid) {
  stopTyping(cid);
  return act(cid, "resolve", () => api.resolve(cid), "Resolved. The visitor is asked for a rating.");
}

export function handback(cid) {
  stopTyping(cid);
  return act(cid, "handback", () => api.handback(cid), "Handed back to the bot.");
}

export function dismissConflict(cid) {
  setIn("conflicts", cid, undefined);
}

// ---- Me: status and notification settings ------------------------------------

export async function setStatus(status) {
  const before = me();
  set({ me: { ...before, status } });
  try {
    let agent = null;
    if (socket && socket.connected) {
      const ack = await socket.emit(SET_STATUS, { status }).catch(() => null);
      if (ack && ack.ok === true) agent = ack.agent || null;
      else if (ack && ack.ok === false) throw new ApiError(0, ack.error, ack.message);
      else agent = (await api.updateMe({ status })).agent;
    } else {
      agent = (await api.updateMe({ status })).agent;
    }
    if (agent) set({ me: agent });
  } catch (error) {
    set({ me: before });
    toast(`Could not change your status: ${error.message}`, "error");
  }
}

export async function setNotifyMode(mode) {
  const before = me();
  set({ me: { ...before, notify_mode: mode } });
  try {
    const data = await api.updateMe({ notify_mode: mode });
    if (data && data.agent) set({ me: data.agent });
  } catch (error) {
    set({ me: before });
    toast(error.message, "error");
  }
}

/** From a click: allow sound, ask for the desktop-notification permission, play a sample. */
export async function enableNotifications() {
  notify.unlockAudio();
  const result = await notify.requestPermission();
  set({ notifyPermission: result });
  notify.beep();
}

const BANNER_KEY = "rapport.console.notify-banner-dismissed";

export function dismissPermissionBanner() {
  try {
    localStorage.setItem(BANNER_KEY, "1");
  } catch (_) {
    // private mode: dismissed for this page only
  }
  set({ permissionBannerDismissed: true });
}

function bannerDismissed() {
  try {
    return localStorage.getItem(BANNER_KEY) === "1";
  } catch (_) {
    return false;
  }
}

// ---- Notifications ---------------------------------------------------------------

function shouldAlert() {
  const mode = (me() && me().notify_mode) || "always";
  return mode !== "hidden" || document.hidden;
}

function addPending(cid, title, body) {
  setIn("pending", cid, { title, body, since: Date.now() });
  alertNow(cid);
}

function clearPending(cid) {
  if (getState().pending[cid]) setIn("pending", cid, undefined);
}

function alertNow(cid) {
  if (!shouldAlert()) return;
  const p = getState().pending[cid];
  if (!p) return;
  notify.beep();
  notify.desktop(p.title, p.body, `rapport-conversation-${cid}`, () => go(`c/${cid}`));
}

function repeatAlerts() {
  const ids = Object.keys(getState().pending);
  if (!ids.length || !shouldAlert()) return;
  notify.beep();
  for (const cid of ids.slice(0, 3)) {
    const p = getState().pending[cid];
    notify.desktop(p.title, p.body, `rapport-conversation-${cid}`, () => go(`c/${cid}`));
  }
}

function viewing(cid) {
  return getState().selectedId === cid && !document.hidden;
}

// ---- Canned responses and follow-ups -----------------------------------------------

async function loadCanned() {
  try {
    const data = await api.canned();
    set({ canned: data.canned_responses || [] });
  } catch (_) {
    // the composer simply offers nothing
  }
}

export async function addCanned(shortcut, text) {
  try {
    const data = await api.addCanned(shortcut.replace(/^\//, ""), text);
    set((s) => ({ canned: s.canned.concat(data.canned_response).sort((a, b) => a.shortcut.localeCompare(b.shortcut)) }));
    return null;
  } catch (error) {
    if (error.status === 409) return `The shortcut /${shortcut.replace(/^\//, "")} already exists.`;
    return error.message;
  }
}

export async function deleteCanned(id) {
  try {
    await api.deleteCanned(id);
    set((s) => ({ canned: s.canned.filter((c) => c.id !== id) }));
  } catch (error) {
    toast(error.message, "error");
  }
}

export async function loadFollowups(status) {
  const wanted = status || getState().followupStatus;
  set({ followupStatus: wanted, followupsLoading: true });
  try {
    const data = await api.followups(wanted);
    if (getState().followupStatus === wanted) set({ followups: data.followups || [], followupsLoading: false });
  } catch (error) {
    set({ followupsLoading: false });
    if (error.status !== 401) toast(error.message, "error");
  }
}

export async function followupDone(id) {
  try {
    const data = await api.followupDone(id);
    set((s) => ({
      followups: s.followupStatus === "open"
        ? s.followups.filter((f) => f.id !== id)
        : s.followups.map((f) => (f.id === id ? data.followup : f)),
    }));
    toast("Follow-up marked as done.", "ok");
  } catch (error) {
    toast(error.message, "error");
  }
}

// ---- Dialogs and toasts ---------------------------------------------------------------

export function openDialog(type, extra) {
  if (type === "transfer") loadAgents();
  if (type === "canned") loadCanned();
  set({ dialog: { type, ...(extra || {}) } });
}

export function closeDialog() {
  set({ dialog: null });
}

export function toast(text, kind, ms) {
  const id = ++toastSeq;
  set((s) => ({ toasts: s.toasts.concat({ id, text, kind: kind || "info" }).slice(-4) }));
  setTimeout(() => dismissToast(id), ms || (kind === "error" ? 8000 : 4000));
}

export function dismissToast(id) {
  set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}

// ---- Server events (called by the socket connector only) ----------------------------------

function upsert(c) {
  const previous = summary(c.id);
  if (previous && ts(previous.updated_at) > ts(c.updated_at)) return previous; // a late, older copy
  setIn("conversations", c.id, c);
  if (previous && previous.state !== c.state) setIn("visitorTyping", c.id, undefined);
  if (!isMine(c, me())) clearPending(c.id);
  return c;
}

function conversationUpdated(c) {
  if (!c || typeof c.id !== "number") return;
  upsert(c);
  if (getState().selectedId === c.id) {
    refreshDetailsSoon(c.id);
    if (isMine(c, me()) && c.unread > 0 && viewing(c.id)) markRead(c.id);
  }
}

function messageCreated(m) {
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

function clearVisitorTyping(cid) {
  clearTimeout(typingIn.get(cid));
  typingIn.delete(cid);
  if (getState().visitorTyping[cid]) setIn("visitorTyping", cid, undefined);
}

function visitorTyping(data) {
  const cid = data.conversation_id;
  if (typeof cid !== "number") return;
  if (!data.typing) {
    clearVisitorTyping(cid);
    return;
  }
  setIn("visitorTyping", cid, true);
  clearTimeout(typingIn.get(cid));
  typingIn.set(cid, setTimeout(() => clearVisitorTyping(cid), VISITOR_TYPING_TTL_MS));
}

function visitorPresence(data) {
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

function agentUpdated(agent) {
  if (!agent || typeof agent.id !== "number") return;
  setIn("agents", agent.id, agent);
  if (me() && agent.id === me().id) set({ me: { ...me(), ...agent } });
}

function assignment(data) {
  const c = data.conversation;
  if (!c || typeof c.id !== "number") return;
  upsert(c);
  if (!isMine(c, me())) return;
  if (selfAccepted.has(c.id)) return; // I accepted it myself
  if (viewing(c.id)) {
    markRead(c.id);
    return;
  }
  const who = visitorName(c.visitor, c.visitor_id);
  const title = data.reason === "transfer" ? `${who} was transferred to you` : `New chat: ${who}`;
  const last = c.last_message && (c.last_message.text || payloadSummary(c.last_message.payload));
  addPending(c.id, title, last || "A visitor is waiting for you.");
}

function followupCreated(f) {
  if (!f || typeof f.id !== "number") return;
  set((s) => (s.followupStatus === "open" && !s.followups.some((x) => x.id === f.id)
    ? { followups: [f].concat(s.followups) }
    : null));
  toast(`New follow-up from ${f.email || "a visitor"}.`, "info");
}

function socketStatus(status) {
  set({ connection: status });
  if (status !== "online") return;
  const cid = getState().selectedId;
  if (cid !== null) socket.send(WATCH, { conversation_id: cid });
  if (everOnline) {
    // Back after a drop: catch up on what we missed.
    loadLists();
    loadFollowups();
    if (cid !== null) {
      loadTranscript(cid);
      loadDetails(cid);
    }
  }
  everOnline = true;
}

async function socketUnauthorized() {
  try {
    await api.me(); // a 401 here ends the session (see boot)
    setTimeout(() => socket && socket.reconnect(), 2000);
  } catch (error) {
    if (error.status !== 401) setTimeout(() => socket && socket.reconnect(), 5000);
  }
}

function socketError(data) {
  if (data && data.message) toast(data.message, "error");
}

const socketActions = {
  conversationUpdated,
  messageCreated,
  visitorTyping,
  visitorPresence,
  agentUpdated,
  assignment,
  followupCreated,
  socketStatus,
  socketUnauthorized,
  socketError,
};
