/**
 * Acting on a conversation: accept from the queue (or join a bot
 * conversation), transfer, resolve, hand back to the bot; one action at a
 * time per conversation, and a 409 explained as who got there first.
 */

import { api } from "../api.js";
import { agentName } from "../format.js";
import { getState, setIn } from "../store.js";
import { closeDialog } from "./dialogs.js";
import { upsert } from "./lists.js";
import { suppressAssignmentAlert } from "./notifications.js";
import { me, summary } from "./shared.js";
import { toast } from "./toasts.js";
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
