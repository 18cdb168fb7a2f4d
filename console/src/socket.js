/**
 * The one Socket.IO connector of the console (namespace /agent). Its
 * constructor maps every server event to a store action; nothing else in the
 * console touches the socket. Client events are sent with `emit`, which
 * resolves with the server's ack (`{ok, ...}`) or rejects on timeout.
 */

import { io } from "socket.io-client";
import {
  AGENT_UPDATED,
  ANALYTICS_CHANGED,
  ASSIGNMENT,
  LIVE_VISITORS_CHANGED,
  CONVERSATION_UPDATED,
  ERROR,
  FOLLOWUP_CREATED,
  MESSAGE_CREATED,
  NAMESPACE,
  RESYNC,
  VISITOR_PRESENCE,
  VISITOR_TYPING,
  VISITORS_PRESENCE,
} from "./protocol.gen.js";

const ACK_TIMEOUT_MS = 6000;

export class AgentSocket {
  /** @param {object} actions the server-event actions (see actions/connection.js) */
  constructor(actions) {
    this.actions = actions;
    this.socket = null;
    const obj = (data) => (data && typeof data === "object" ? data : {});
    this.events = {
      [CONVERSATION_UPDATED]: (data) => actions.conversationUpdated(obj(data).conversation),
      [MESSAGE_CREATED]: (data) => actions.messageCreated(obj(data).message),
      [VISITOR_TYPING]: (data) => actions.visitorTyping(obj(data)),
      [VISITOR_PRESENCE]: (data) => actions.visitorPresence(obj(data)),
      [VISITORS_PRESENCE]: (data) => actions.visitorsPresence(obj(data)),
      [AGENT_UPDATED]: (data) => actions.agentUpdated(obj(data).agent),
      [ASSIGNMENT]: (data) => actions.assignment(obj(data)),
      [FOLLOWUP_CREATED]: (data) => actions.followupCreated(obj(data).followup),
      [ANALYTICS_CHANGED]: () => actions.analyticsChanged(),
      [LIVE_VISITORS_CHANGED]: () => actions.liveVisitorsChanged(),
      [ERROR]: (data) => actions.socketError(obj(data)),
      // The server's nodes lost touch for a while (Redis): catch up as after a reconnect.
      [RESYNC]: () => actions.resync(),
    };
  }

  start() {
    if (this.socket) return;
    // Same origin: the session cookie rides on the handshake.
    const socket = io(NAMESPACE, {
      path: "/socket.io/",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      withCredentials: true,
      reconnectionDelayMax: 10000,
    });
    this.socket = socket;
    this.actions.socketStatus("connecting");
    socket.on("connect", () => this.actions.socketStatus("online"));
    socket.on("disconnect", (reason) => {
      if (reason === "io client disconnect") return;
      this.actions.socketStatus("reconnecting");
      // The server closed us on purpose (session revoked?): socket.io will not
      // retry by itself, so let the actions check the session and reconnect.
      if (reason === "io server disconnect") this.actions.socketUnauthorized();
    });
    socket.on("connect_error", (error) => {
      // A refusal at connect (expired session) is not retried by socket.io.
      if (error && error.message === "unauthorized") this.actions.socketUnauthorized();
      else this.actions.socketStatus("reconnecting");
    });
    for (const [event, handler] of Object.entries(this.events)) socket.on(event, handler);
  }

  /** Try again after a refusal (the session turned out to be valid). */
  reconnect() {
    if (this.socket && !this.socket.connected) this.socket.connect();
  }

  stop() {
    if (!this.socket) return;
    this.socket.disconnect();
    this.socket = null;
  }

  get connected() {
    return !!(this.socket && this.socket.connected);
  }

  /** Emit with an ack; resolves with the ack body, rejects when offline or on timeout. */
  emit(event, payload, timeout) {
    if (!this.connected) return Promise.reject(new Error("disconnected"));
    return this.socket.timeout(timeout || ACK_TIMEOUT_MS).emitWithAck(event, payload);
  }

  /** Fire and forget (typing, watch): nothing to do if it is lost. */
  send(event, payload) {
    if (this.connected) this.socket.emit(event, payload, () => {});
  }
}
