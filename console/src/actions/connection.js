/**
 * The socket's life: connecting with the session and disconnecting at its
 * end, the connection status (with a catch-up after a drop), a refused
 * socket, and the table through which the connector (socket.js) calls one
 * action per server event.
 */

import { api } from "../api.js";
import { WATCH } from "../protocol.gen.js";
import { AgentSocket } from "../socket.js";
import { getState, set } from "../store.js";
import { agentUpdated } from "./agents.js";
import { analyticsChanged, loadDashboard } from "./dashboard.js";
import { liveVisitorsChanged } from "./live.js";
import { loadDetails } from "./conversation.js";
import { followupCreated, loadFollowups } from "./followups.js";
import { conversationUpdated, loadLists, visitorPresence, visitorsPresence } from "./lists.js";
import { assignment } from "./notifications.js";
import { getSocket, setSocket } from "./shared.js";
import { toast } from "./toasts.js";
import { catchUp, messageCreated } from "./transcript.js";
import { visitorTyping } from "./typing.js";

let everOnline = false;
let refresher = null;

// A safety net under live events: with several server nodes, an event can be
// lost between nodes (a Redis restart, a node dying mid-publish) without the
// socket ever dropping. The lists are reloaded now and then, so a chat that
// reached an agent's queue never stays invisible for longer than this.
const LIST_REFRESH_MS = 15_000;

export function connect() {
  const socket = new AgentSocket(socketActions);
  setSocket(socket);
  socket.start();
  clearInterval(refresher);
  refresher = setInterval(refreshLists, LIST_REFRESH_MS);
}

export function disconnect() {
  const socket = getSocket();
  if (socket) socket.stop();
  setSocket(null);
  everOnline = false;
  clearInterval(refresher);
  refresher = null;
}

function refreshLists() {
  const state = getState();
  if (state.connection !== "online" || (state.me || {}).role === "marketer") return;
  loadLists();
}

function socketStatus(status) {
  set({ connection: status });
  if (status !== "online") return;
  const cid = getState().selectedId;
  if (cid !== null) getSocket().send(WATCH, { conversation_id: cid });
  // Back after a drop: catch up on what we missed.
  if (everOnline) catchUpAll();
  everOnline = true;
}

/** Reload what live events may have missed: lists, follow-ups, the open conversation. */
function catchUpAll() {
  const cid = getState().selectedId;
  if (getState().section === "dashboard") loadDashboard(getState().dashboard.filters, true);
  if ((getState().me || {}).role === "marketer") return;
  loadLists();
  loadFollowups();
  if (cid !== null) {
    catchUp(cid);
    loadDetails(cid);
  }
}

/** The server's nodes lost touch for a while: same catch-up as after a reconnect. */
function resync() {
  if (everOnline) catchUpAll();
}

function reconnectLater(ms) {
  setTimeout(() => {
    const socket = getSocket();
    if (socket) socket.reconnect();
  }, ms);
}

async function socketUnauthorized() {
  try {
    await api.me(); // a 401 here ends the session (see session.js, boot)
    reconnectLater(2000);
  } catch (error) {
    if (error.status !== 401) reconnectLater(5000);
  }
}

function socketError(data) {
  if (data && data.message) toast(data.message, "error");
}

const socketActions = {
  analyticsChanged,
  liveVisitorsChanged,
  conversationUpdated,
  messageCreated,
  visitorTyping,
  visitorPresence,
  visitorsPresence,
  agentUpdated,
  assignment,
  followupCreated,
  socketStatus,
  resync,
  socketUnauthorized,
  socketError,
};
