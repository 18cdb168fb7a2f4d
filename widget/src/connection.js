/**
 * Socket.IO connection and session handling (docs/protocol.md).
 *
 * On every (re)connect the client presents the session id it kept; the
 * server answers `session_confirm` with the id to keep (possibly a fresh one
 * if ours was unknown or forged). Messages typed before that confirmation —
 * or while disconnected — are queued and flushed in order once confirmed.
 *
 * A logged-in customer's identity claim rides along in every
 * `session_request`. Once the server refuses it (`identity_rejected`) it is
 * dropped for the rest of the page: the socket carries on anonymously and
 * reconnects do not present the claim again.
 */

import { io } from "socket.io-client";
import { getItem, setItem, SESSION_KEY, SESSION_USER_KEY } from "./storage.js";

export const MAX_MESSAGE_CHARS = 2000;
export const IDENTITY_REJECTED = "identity_rejected";

export class Connection {
  /**
   * @param {string} origin chat server origin
   * @param {object|null} identity `{user_id, user_hash, name?, email?}` or null
   * @param {object} handlers onStatus(state), onBotMessage(payload),
   *   onHistory(messages, reset), onNewSession(), onIdentityRejected(error),
   *   onError({code, message})
   */
  constructor(origin, identity, handlers) {
    this.origin = origin;
    this.identity = identity;
    this.handlers = handlers;
    this.sessionId = getItem(SESSION_KEY);
    // A session confirmed for a logged-in customer is not handed to whoever
    // uses this browser next (logged out, or another customer): start afresh.
    const sessionUser = getItem(SESSION_USER_KEY);
    if (sessionUser && sessionUser !== (identity ? identity.user_id : "")) this.sessionId = null;
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
      const request = { session_id: this.sessionId || null };
      if (this.identity) request.identity = this.identity;
      socket.emit("session_request", request);
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
      this.handlers.onHistory(messages, !!(data && data.reset === true));
    });
    socket.on("error", (data) => {
      if (!data || typeof data !== "object") return;
      if (data.code === IDENTITY_REJECTED) this.identityRejected(data);
      else this.handlers.onError(data);
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
    setItem(SESSION_USER_KEY, this.identity ? this.identity.user_id : "");
    this.confirmed = true;
    this.generation += 1;
    // The server replaced our id (unknown, expired or forged): a new conversation.
    if (previous && previous !== id && this.handlers.onNewSession) this.handlers.onNewSession();
    this.status("online");
    this.flush();
  }

  identityRejected(error) {
    if (!this.identity) return; // already dropped; say so only once
    this.identity = null;
    setItem(SESSION_USER_KEY, "");
    this.handlers.onIdentityRejected(error);
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
