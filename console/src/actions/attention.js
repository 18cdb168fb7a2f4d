/**
 * What needs the agent's attention: unread messages and pending reminders
 * (the store's `pending`: a beep and a desktop notification, repeated until
 * the conversation is seen or answered). notifications.js decides when to
 * remind and repeats; queue_alerts.js decides which queued chats call for it.
 */

import { api } from "../api.js";
import * as notify from "../notify.js";
import { getState, setIn } from "../store.js";
import { go } from "./bus.js";
import { me, summary } from "./shared.js";

const selfAccepted = new Set(); // accepted by me just now: no "assigned to you" alert

/** Should reminders sound now (the agent's notify mode, the tab's visibility)? */
export function shouldAlert() {
  const mode = (me() && me().notify_mode) || "always";
  return mode !== "hidden" || document.hidden;
}

/** Is the agent looking at `cid` right now? */
export function viewing(cid) {
  return getState().selectedId === cid && !document.hidden;
}

/**
 * Remind about `cid` now and again until it is seen or answered: every
 * REPEAT_MS, or for a queued chat (`kind` "queue") every queue_repeat_seconds.
 */
export function addPending(cid, title, body, kind = "mine") {
  setIn("pending", cid, { title, body, kind, since: Date.now(), last: Date.now() });
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
  desktop(cid, p);
}

/** The desktop notification of pending reminder `p`; a click opens the conversation. */
export function desktop(cid, p) {
  notify.desktop(p.title, p.body, `rapport-conversation-${cid}`, () => go(`c/${cid}`));
}

/** The agent has seen `cid`'s messages: unread 0 here and on the server. */
export function markRead(cid) {
  const c = summary(cid);
  if (c && c.unread) setIn("conversations", cid, { ...c, unread: 0 });
  clearPending(cid);
  api.read(cid).catch(() => {});
}

/** I am accepting `cid` myself: its `assignment` in the next 15 s is no news to me. */
export function suppressAssignmentAlert(cid) {
  selfAccepted.add(cid);
  setTimeout(() => selfAccepted.delete(cid), 15000);
}

/** Did I accept `cid` myself just now? */
export function acceptedBySelf(cid) {
  return selfAccepted.has(cid);
}
