/**
 * Acting on a conversation: accept from the queue (or join a bot
 * conversation), transfer, resolve, hand back to the bot; one action at a
 * time per conversation, and a 409 explained as who got there first.
 *
 * Resolve and Hand back wait UNDO_MS before they are sent (a toast offers
 * Undo meanwhile): the server is asked only once the window has passed, so an
 * undone action never reached the visitor (no rating request, no bot turn).
 * Any error of the late request is shown as for any other action. If the page
 * closes during the window nothing is sent (the browser asks first); signing
 * out sends what is waiting.
 */

import { api } from "../api.js";
import { agentName, visitorName } from "../format.js";
import { getState, setIn } from "../store.js";
import { afterTakeover } from "./composer.js";
import { closeDialog } from "./dialogs.js";
import { suppressAssignmentAlert } from "./attention.js";
import { upsert } from "./summaries.js";
import { me, summary } from "./shared.js";
import { dismissToast, toast } from "./toasts.js";
import { stopTyping } from "./typing.js";

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
  suppressAssignmentAlert(cid);
  return act(cid, name, () => api.accept(cid), name === "join" ? "You joined the conversation." : "")
    .then((ok) => {
      if (ok) afterTakeover(cid);
      return ok;
    });
}

export async function transfer(cid, agentId, note) {
  const target = agentId === null ? null : getState().agents[agentId];
  const ok = await act(cid, "transfer", () => api.transfer(cid, agentId, note || undefined),
    agentId === null ? "Back in the queue." : `Transferred to ${target ? agentName(target) : "the agent"}.`);
  if (ok) closeDialog();
  return ok;
}

export const UNDO_MS = 5000;

const LATER = {
  resolve: { call: (cid) => api.resolve(cid), doing: "Resolving", done: "Resolved. The visitor is asked for a rating." },
  handback: { call: (cid) => api.handback(cid), doing: "Handing back to the bot", done: "Handed back to the bot." },
};
const waiting = new Map(); // conversation id -> {name, timer, toastId}

/** Resolve `cid` once the undo window has passed. */
export function resolve(cid) {
  return later(cid, "resolve");
}

/** Hand `cid` back to the bot once the undo window has passed. */
export function handback(cid) {
  return later(cid, "handback");
}

function later(cid, name) {
  if (getState().busy[cid] || waiting.has(cid)) return false;
  stopTyping(cid);
  const c = summary(cid);
  const who = c ? visitorName(c.visitor, c.visitor_id) : "this conversation";
  const toastId = toast(`${LATER[name].doing}: ${who}.`, "info", UNDO_MS, { undo: cid });
  const timer = setTimeout(() => commit(cid), UNDO_MS);
  waiting.set(cid, { name, timer, toastId });
  setIn("undoable", cid, name);
  return true;
}

/** Send the waiting action of `cid` now. */
function commit(cid) {
  const w = waiting.get(cid);
  if (!w) return Promise.resolve(false);
  clearTimeout(w.timer);
  waiting.delete(cid);
  setIn("undoable", cid, undefined);
  dismissToast(w.toastId);
  const { call, done } = LATER[w.name];
  return act(cid, w.name, () => call(cid), done);
}

/** Undo: the waiting action of `cid` is never sent. */
export function undo(cid) {
  const w = waiting.get(cid);
  if (!w) return;
  clearTimeout(w.timer);
  waiting.delete(cid);
  setIn("undoable", cid, undefined);
  dismissToast(w.toastId);
  toast(w.name === "resolve" ? "Not resolved: the conversation stays open." : "Not handed back: the conversation stays with you.", "ok");
}

/** Undo the most recent waiting action (the u shortcut). */
export function undoLatest() {
  const last = [...waiting.keys()].pop();
  if (last !== undefined) undo(last);
}

/** Send everything waiting (before signing out). */
export function sendWaiting() {
  return Promise.all([...waiting.keys()].map(commit));
}

/** Whether an action waits for its undo window (the page warns before closing). */
export function anyWaiting() {
  return waiting.size > 0;
}

export function dismissConflict(cid) {
  setIn("conflicts", cid, undefined);
}
