/**
 * What the action modules share: the session's socket (connection.js sets it;
 * null while signed out) and shortcuts into the store.
 *
 * The action modules import each other's functions and call them only from
 * inside functions (never at load time), so the import cycles between them
 * are harmless. Keep it so: export functions, not values computed on load.
 */

import { getState } from "../store.js";

let socket = null;

/** The session's AgentSocket, or null when signed out. */
export function getSocket() {
  return socket;
}

export function setSocket(value) {
  socket = value;
}

/** The signed-in agent. */
export function me() {
  return getState().me;
}

/** The summary of conversation `cid`, if the lists know it. */
export function summary(cid) {
  return getState().conversations[cid];
}
