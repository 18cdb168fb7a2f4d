/**
 * Socket.IO connection and session handling (docs/protocol.md).
 *
 * On every (re)connect the client presents the session id it kept; the
 * server answers `session_confirm` with the id to keep (possibly a fresh one
 * if ours was unknown or forged). Messages typed before that confirmation —
 * or while disconnected — are queued and flushed in order once confirmed.
 */

import { io } from "socket.io-client";
import { getItem, setItem, SESSION_KEY } from "./storage.js";

export const MAX_MESSAGE_CHARS = 2000;

export class Connection {
  /**
   * @param {string} origin chat server origin
   * @param {object} handlers onStatus(state), onBotMessage(payload),
   *   onHistory(messages), onError({code, message})
   */
  constructor(origin, handlers) {
    this.origin = origin;
    this.handlers = handlers;
    this.sessionId = getItem(SESSION_KEY);
    this.confirmedId = null; // the id confirmed on this page, if any
    this.generation = 0; // bumped on every session_confirm (each connection)
    this.confirmed = false;
    this.queue = [];
    this.socket = null;
  }

  start() {
    const socket = io(this.origin, {
      path: "/socket.io/",
      transports: ["websocket", "polling"],
      // Fall back to long-polling when a proxy blocks WebSockets.
      tryAllTransports: true,
      reconnectionDelayMax: 10000,
    });
    this.socket = socket;
    this.status("connecting");

    socket.on("connect", () => {
      this.confirmed = false;
      socket.emit("session_request", { session_id: this.sessionId || null });
    });
    socket.on("session_confirm", (data) => this.confirm(data));
    socket.on("disconnect", (reason) => {
      this.confirmed = false;
      // "io client disconnect" only happens when we close on purpose.
      if (reason !== "io client disconnect") this.status("reconnecting");
    });
    socket.on("connect_error", () => {
      this.confirmed = false;
      this.status(socket.active ? "reconnecting" : "offline");
    });
    socket.on("bot_uttered", (payload) => {
      if (payload && typeof payload === "object") this.handlers.onBotMessage(payload);
    });
    socket.on("history", (data) => {
      const messages = data && Array.isArray(data.messages) ? data.messages : [];
      this.handlers.onHistory(messages);
    });
    socket.on("error", (data) => {
      if (data && typeof data === "object") this.handlers.onError(data);
    });
  }

  confirm(data) {
    // rasa-webchat compatible: an object {session_id} or a bare string.
    const id = data && typeof data === "object" ? data.session_id : data;
    if (typeof id !== "string" || !id) return;
    const previous = this.confirmedId;
    this.confirmedId = id;
    this.sessionId = id;
    setItem(SESSION_KEY, id);
    this.confirmed = true;
    this.generation += 1;
    // The server replaced our id (unknown, expired or forged): a new conversation.
    if (previous && previous !== id && this.handlers.onNewSession) this.handlers.onNewSession();
    this.status("online");
    this.flush();
  }

  status(state) {
    this.handlers.onStatus(state);
  }

  /** Queue an event that needs a confirmed session. */
  enqueue(event, build, onSent) {
    this.queue.push({ event, build, onSent });
    this.flush();
  }

  flush() {
    while (this.confirmed && this.socket && this.socket.connected && this.queue.length) {
      const { event, build, onSent } = this.queue.shift();
      this.socket.emit(event, build(this.sessionId));
      if (onSent) onSent(this.generation);
    }
  }

  /** Whether a message will leave right away (otherwise it waits in the queue). */
  get ready() {
    return this.confirmed && !!this.socket && this.socket.connected;
  }

  /** Send a visitor message; `onSent(generation)` runs when it is emitted. */
  sendMessage(text, onSent) {
    const message = String(text).slice(0, MAX_MESSAGE_CHARS);
    const pageUrl = location.href;
    this.enqueue(
      "user_uttered",
      (sessionId) => ({ message, session_id: sessionId, customData: { page_url: pageUrl } }),
      onSent
    );
  }

  cardClicked(productId) {
    this.enqueue("card_clicked", (sessionId) => ({
      session_id: sessionId,
      product_id: String(productId),
    }));
  }
}
