/**
 * What the action modules share: the session's socket (connection.js sets it;
 * null while signed out) and shortcuts into the store.
 *
 * Imports between the action modules go one way (eslint's import-x/no-cycle
 * in `make lint`): a lower module that needs something done above it asks
 * through bus.js (`request`), and the owner answers (`answer`).
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
