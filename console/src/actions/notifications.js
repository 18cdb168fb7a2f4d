/**
 * Notifications: a desktop notification and a beep on an assignment to me
 * (`assignment`) or a visitor message in my conversations, repeated until the
 * conversation is seen or answered (the store's `pending`); the notify mode
 * (always / only in the background), the browser permission and its banner.
 */

import { api } from "../api.js";
import { payloadSummary, visitorName } from "../format.js";
import * as notify from "../notify.js";
import { getState, isMine, set, setIn } from "../store.js";
import { markRead } from "./conversation.js";
import { upsert } from "./lists.js";
import { go } from "./navigation.js";
import { me } from "./shared.js";
import { toast } from "./toasts.js";

const REPEAT_MS = 10000; // unanswered notifications repeat this often
const BANNER_KEY = "rapport.console.notify-banner-dismissed";

const selfAccepted = new Set(); // accepted by me just now: no "assigned to you" alert

function shouldAlert() {
  const mode = (me() && me().notify_mode) || "always";
  return mode !== "hidden" || document.hidden;
}

/** Is the agent looking at `cid` right now? */
export function viewing(cid) {
  return getState().selectedId === cid && !document.hidden;
}

/** Remind about `cid` now and every REPEAT_MS until it is seen or answered. */
export function addPending(cid, title, body) {
  setIn("pending", cid, { title, body, since: Date.now() });
  alertNow(cid);
}

export function clearPending(cid) {
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

/** Start the repeat timer (the session clears it); returns the interval id. */
export function startRepeatingAlerts() {
  return setInterval(repeatAlerts, REPEAT_MS);
}

/** I am accepting `cid` myself: its `assignment` in the next 15 s is no news to me. */
export function suppressAssignmentAlert(cid) {
  selfAccepted.add(cid);
  setTimeout(() => selfAccepted.delete(cid), 15000);
}

/** Server event `assignment`: a conversation was assigned or transferred to me. */
export function assignment(data) {
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

export function dismissPermissionBanner() {
  try {
    localStorage.setItem(BANNER_KEY, "1");
  } catch (_) {
    // private mode: dismissed for this page only
  }
  set({ permissionBannerDismissed: true });
}

/** Was the "allow notifications" banner dismissed on this browser? */
export function bannerDismissed() {
  try {
    return localStorage.getItem(BANNER_KEY) === "1";
  } catch (_) {
    return false;
  }
}
