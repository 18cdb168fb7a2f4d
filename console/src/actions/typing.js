/**
 * Typing indicators: mine to the visitor (throttled, stopped when idle, never
 * for notes) and the visitor's (`visitor_typing`), which clears itself.
 */

import { TYPING } from "../protocol.gen.js";
import { getState, isMine, setIn } from "../store.js";
import { getSocket, me, summary } from "./shared.js";

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const VISITOR_TYPING_TTL_MS = 15000;

const typingOut = new Map(); // conversation id -> {active, sentAt, timer}
const typingIn = new Map(); // conversation id -> timer clearing the visitor's typing flag

/** The agent typed in the composer: tell the visitor (throttled); notes stay silent. */
export function composing(cid, note) {
  const socket = getSocket();
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
  const socket = getSocket();
  if (socket) socket.send(TYPING, { conversation_id: cid, typing: false });
}

export function clearVisitorTyping(cid) {
  clearTimeout(typingIn.get(cid));
  typingIn.delete(cid);
  if (getState().visitorTyping[cid]) setIn("visitorTyping", cid, undefined);
}

/** Server event `visitor_typing`. */
export function visitorTyping(data) {
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
