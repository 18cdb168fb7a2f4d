/**
 * Queued-chat alerts: every agent who could take a queued chat now (an agent
 * or admin, online, below their maximum of chats) gets the same reminder as
 * for a chat assigned to them — a beep, a desktop notification and a count in
 * the tab title — repeated every `alerts.queue_repeat_seconds` until someone
 * accepts (the conversation leaves the queue). With
 * `alerts.queue_escalation_minutes` set, admins are alerted about a chat
 * still queued after that long even when they could not take it themselves.
 *
 * The server decides who may take a chat (services/routing.py); this only
 * decides whom to remind, from what the console already knows.
 */

import { visitorName } from "../format.js";
import { getState, isMine } from "../store.js";
import { toMs } from "../time.js";
import { addPending, clearPending } from "./attention.js";
import { me } from "./shared.js";

export const DEFAULT_ALERTS = { queue_repeat_seconds: 30, queue_escalation_minutes: 0 };

export function alertSettings() {
  return { ...DEFAULT_ALERTS, ...(getState().alerts || {}) };
}

/** Could I take a chat right now? */
export function canTakeChat() {
  const agent = me();
  if (!agent || (agent.role !== "agent" && agent.role !== "admin") || agent.status !== "online") return false;
  const mine = Object.values(getState().conversations).filter((c) => isMine(c, agent)).length;
  return mine < (agent.max_chats || 0);
}

function escalated(c, now) {
  const minutes = alertSettings().queue_escalation_minutes;
  const agent = me();
  if (!minutes || !agent || agent.role !== "admin" || !c.queued_at) return false;
  return now - toMs(c.queued_at) >= minutes * 60000;
}

/** Does queued conversation `c` call for an alert to me? */
export function queuedForMe(c, now = Date.now()) {
  return !!c && c.state === "queued" && (canTakeChat() || escalated(c, now));
}

/** After a summary changed: start or stop its queue alert. */
export function queueAlert(c) {
  if (!c || typeof c.id !== "number") return;
  const pending = getState().pending[c.id];
  if (queuedForMe(c)) {
    if (!pending) {
      const who = visitorName(c.visitor, c.visitor_id);
      const title = escalated(c, Date.now()) && !canTakeChat() ? `Still waiting: ${who}` : `Waiting in the queue: ${who}`;
      const last = c.last_message && c.last_message.text;
      addPending(c.id, title, last || "A visitor is waiting for a person.", "queue");
    }
  } else if (pending && pending.kind === "queue") {
    clearPending(c.id);
  }
}

/** Every queued conversation, e.g. after the lists loaded, my status changed, or a tick. */
export function checkQueue() {
  for (const c of Object.values(getState().conversations)) {
    if (c.state === "queued" || (getState().pending[c.id] || {}).kind === "queue") queueAlert(c);
  }
}
