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
import { acceptedBySelf, addPending, desktop, markRead, shouldAlert, viewing } from "./attention.js";
import { alertSettings, checkQueue } from "./queue_alerts.js";
import { me } from "./shared.js";
import { upsert } from "./summaries.js";
import { toast } from "./toasts.js";

const REPEAT_MS = 10000; // unanswered notifications repeat this often (assignments, messages)
const BANNER_KEY = "rapport.console.notify-banner-dismissed";

function repeatAlerts() {
  checkQueue(); // escalations come due; a seat freed up
  const now = Date.now();
  const queueMs = alertSettings().queue_repeat_seconds * 1000;
  const due = Object.entries(getState().pending)
    .filter(([, p]) => p && now - p.last >= (p.kind === "queue" ? queueMs : REPEAT_MS) - 500);
  if (!due.length || !shouldAlert()) return;
  notify.beep();
  for (const [cid, p] of due.slice(0, 3)) {
    setIn("pending", cid, { ...p, last: now });
    desktop(cid, p);
  }
}

/** Start the repeat timer (the session clears it); returns the interval id. */
export function startRepeatingAlerts() {
  return setInterval(repeatAlerts, 1000);
}

/** Server event `assignment`: a conversation was assigned or transferred to me. */
export function assignment(data) {
  const c = data.conversation;
  if (!c || typeof c.id !== "number") return;
  upsert(c);
  if (!isMine(c, me())) return;
  if (acceptedBySelf(c.id)) return; // I accepted it myself
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
