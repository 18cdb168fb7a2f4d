/**
 * Socket.IO connection and session handling (docs/protocol.md).
 *
 * On every (re)connect the client presents the session id it kept; the
 * server answers `session_confirm` with the id to keep (possibly a fresh one
 * if ours was unknown or forged). Messages typed before that confirmation —
 * or while disconnected — are queued and flushed in order once confirmed.
 *
 * Every `session_request` carries `rapport: 1`: the capability flag that
 * makes the server send this client the Rapport extensions (message ids and
 * senders on `bot_uttered`, `handoff_status`, `agent_typing`, CSAT). Clients
 * without it (rasa-webchat) get Rasa's payloads unchanged.
 *
 * A logged-in customer's identity claim rides along in every
 * `session_request`. Once the server refuses it (`identity_rejected`) it is
 * dropped for the rest of the page: the socket carries on anonymously and
 * reconnects do not present the claim again.
 */

import { io } from "socket.io-client";
import {
  AGENT_TYPING,
  BOT_UTTERED,
  CARD_CLICKED,
  CSAT_RECORDED,
  CSAT_REQUEST,
  CSAT_SUBMITTED,
  ERROR,
  HANDOFF_STATUS,
  HISTORY,
  IDENTITY_REJECTED,
  RAPPORT_CAPABILITY,
  RATE_LIMITED,
  RESYNC,
  SESSION_CONFIRM,
  SESSION_REQUEST,
  UNAVAILABLE,
  USER_UTTERED,
  VISITOR_TYPING,
} from "./protocol.gen.js";
import { Outbox } from "./outbox.js";
import { getItem, setItem, SESSION_KEY, SESSION_USER_KEY } from "./storage.js";

export const MAX_MESSAGE_CHARS = 2000;
export const MAX_COMMENT_CHARS = 1000;
// A message not acknowledged by then is sent again (same client id).
const ACK_TIMEOUT_MS = 8000;

const isObject = (data) => !!data && typeof data === "object";
// The visitor a session id belongs to: ids are renewed, the visitor stays.
const visitorOf = (sessionId) => String(sessionId || "").split(".", 1)[0];

export class Connection {
  /**
   * @param {string} origin chat server origin
   * @param {object|null} identity `{user_id, user_hash, name?, email?}` or null
   * @param {object} handlers onStatus(state), onConfirm(), onBotMessage(payload),
   *   onHistory(messages, reset), onNewSession(), onIdentityRejected(error),
   *   onError({code, message}), onHandoffStatus(status), onAgentTyping({typing, name}),
   *   onCsatRequest({conversation_id}), onCsatRecorded({conversation_id})
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
    // Visitor messages until the server acks them (survives reloads).
    this.outbox = new Outbox();
    this.inFlight = new Set(); // client ids emitted and awaiting their ack
    this.callbacks = new Map(); // client id -> {onSent, onAck, onRefused}
    // The newest message id this page has shown: a reconnect asks only for newer ones.
    this.lastMessageId = 0;
  }

  /** Ask for our session (and, after the first time, what we have not seen yet). */
  requestSession() {
    // Another tab may hold a renewed id for the same visitor: present that one.
    const stored = getItem(SESSION_KEY);
    if (stored && this.sessionId && visitorOf(stored) === visitorOf(this.sessionId)) {
      this.sessionId = stored;
    }
    const request = { session_id: this.sessionId || null, [RAPPORT_CAPABILITY]: 1 };
    if (this.identity) request.identity = this.identity;
    // Reconnecting on this page: only what we have not seen yet.
    if (this.confirmedId && this.lastMessageId) request.last_message_id = this.lastMessageId;
    this.socket.emit(SESSION_REQUEST, request);
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
      this.inFlight.clear();
      this.requestSession();
    });
    // The server's nodes lost touch for a while (Redis): messages may have
    // been stored that never reached us. Ask again, as after a reconnect.
    socket.on(RESYNC, () => {
      if (this.confirmedId) this.requestSession();
    });
    socket.on(SESSION_CONFIRM, (data) => this.confirm(data));
    socket.on("disconnect", (reason) => {
      this.confirmed = false;
      // "io client disconnect" only happens when we close on purpose.
      if (reason !== "io client disconnect") this.status("reconnecting");
    });
    socket.on("connect_error", () => {
      this.confirmed = false;
      this.status(socket.active ? "reconnecting" : "offline");
    });
    socket.on(BOT_UTTERED, (payload) => {
      if (!isObject(payload)) return;
      this.seen(payload.message_id);
      this.handlers.onBotMessage(payload);
    });
    socket.on(HISTORY, (data) => {
      const messages = isObject(data) && Array.isArray(data.messages) ? data.messages : [];
      for (const m of messages) if (isObject(m)) this.seen(m.id);
      this.handlers.onHistory(messages, isObject(data) && data.reset === true);
    });
    socket.on(HANDOFF_STATUS, (data) => {
      if (isObject(data) && typeof data.state === "string") this.handlers.onHandoffStatus(data);
    });
    socket.on(AGENT_TYPING, (data) => {
      if (isObject(data)) this.handlers.onAgentTyping({ typing: data.typing === true, name: data.name });
    });
    socket.on(CSAT_REQUEST, (data) => {
      if (isObject(data) && Number.isInteger(data.conversation_id)) this.handlers.onCsatRequest(data);
    });
    socket.on(CSAT_RECORDED, (data) => {
      if (isObject(data) && Number.isInteger(data.conversation_id)) this.handlers.onCsatRecorded(data);
    });
    socket.on(ERROR, (data) => {
      if (!isObject(data)) return;
      if (data.code === IDENTITY_REJECTED) this.identityRejected(data);
      else this.handlers.onError(data);
    });
  }

  confirm(data) {
    // rasa-webchat compatible: an object {session_id} or a bare string.
    const id = isObject(data) ? data.session_id : data;
    if (typeof id !== "string" || !id) return;
    const previous = this.confirmedId;
    this.confirmedId = id;
    this.sessionId = id;
    setItem(SESSION_KEY, id);
    setItem(SESSION_USER_KEY, this.identity ? this.identity.user_id : "");
    this.confirmed = true;
    this.generation += 1;
    // Another visitor (our id was unknown, expired, forged or forgotten): a new
    // conversation. The same visitor with a renewed id is not.
    if (previous && visitorOf(previous) !== visitorOf(id)) {
      this.lastMessageId = 0;
      if (this.handlers.onNewSession) this.handlers.onNewSession();
    }
    if (this.handlers.onConfirm) this.handlers.onConfirm();
    this.status("online");
    this.flush();
    for (const entry of this.outbox.pending()) this.deliver(entry);
  }

  /** Remember the newest message id shown. */
  seen(id) {
    if (Number.isInteger(id) && id > this.lastMessageId) this.lastMessageId = id;
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

  /**
   * Queue an event that needs a confirmed session. With `onAck`, the server's
   * acknowledgement (or a timeout after `timeoutMs`) is passed to `onAck(err, ack)`.
   */
  enqueue(event, build, onSent, onAck, timeoutMs) {
    this.queue.push({ event, build, onSent, onAck, timeoutMs });
    this.flush();
  }

  flush() {
    while (this.confirmed && this.socket && this.socket.connected && this.queue.length) {
      const { event, build, onSent, onAck, timeoutMs } = this.queue.shift();
      if (onAck) this.socket.timeout(timeoutMs || ACK_TIMEOUT_MS).emit(event, build(this.sessionId), onAck);
      else this.socket.emit(event, build(this.sessionId));
      if (onSent) onSent(this.generation);
    }
  }

  /** Whether a message will leave right away (otherwise it waits in the queue). */
  get ready() {
    return this.confirmed && !!this.socket && this.socket.connected;
  }

  /**
   * Send a visitor message until the server acknowledges it. `callbacks`:
   * onSent(generation) each time it is emitted, onAck(ack) once stored,
   * onRefused(ack) if the server refuses it for good. Returns its client id.
   */
  sendMessage(text, callbacks) {
    const entry = this.outbox.add(String(text).slice(0, MAX_MESSAGE_CHARS), location.href);
    this.callbacks.set(entry.clientId, callbacks || {});
    this.deliver(entry);
    return entry.clientId;
  }

  /** Messages a previous page left unacknowledged, to show and send again. */
  restore(register) {
    for (const entry of this.outbox.pending()) this.callbacks.set(entry.clientId, register(entry));
  }

  deliver(entry) {
    const { clientId } = entry;
    if (!this.ready || this.inFlight.has(clientId)) return; // sent on (re)confirm
    this.inFlight.add(clientId);
    const callbacks = this.callbacks.get(clientId) || {};
    const payload = {
      message: entry.message,
      session_id: this.sessionId,
      client_id: clientId,
      customData: { page_url: entry.pageUrl },
    };
    this.socket.timeout(ACK_TIMEOUT_MS).emit(USER_UTTERED, payload, (err, ack) => {
      this.inFlight.delete(clientId);
      if (!this.outbox.entries.has(clientId)) return; // settled meanwhile
      if (err || !isObject(ack)) {
        // No answer: lost on a dying socket, or the server is slow. Again, same id.
        setTimeout(() => this.deliver(entry), 500);
        return;
      }
      if (ack.ok) {
        // Our own message's id does not count as seen for resuming: a reply
        // stored before it while live delivery was cut off would be skipped.
        this.outbox.done(clientId);
        this.callbacks.delete(clientId);
        if (callbacks.onAck) callbacks.onAck(ack);
        return;
      }
      // Rate limited, or the server cannot store it right now: same message, later.
      if (ack.code === RATE_LIMITED || ack.code === UNAVAILABLE) {
        const wait = Number.isFinite(ack.retry_after) ? ack.retry_after : 5;
        setTimeout(() => this.deliver(entry), Math.min(wait, 3600) * 1000);
        return;
      }
      this.outbox.done(clientId);
      this.callbacks.delete(clientId);
      if (callbacks.onRefused) callbacks.onRefused(ack);
    });
    if (callbacks.onSent) callbacks.onSent(this.generation);
  }

  cardClicked(productId) {
    this.enqueue(CARD_CLICKED, (sessionId) => ({
      session_id: sessionId,
      product_id: String(productId),
    }));
  }

  /** Typing state is only worth sending live: dropped while disconnected. */
  visitorTyping(typing) {
    if (this.ready) this.socket.emit(VISITOR_TYPING, { typing: !!typing });
  }

  /** A rating for a resolved conversation (queued like a message). */
  submitCsat(conversationId, score, comment) {
    const payload = { conversation_id: conversationId, score };
    const text = typeof comment === "string" ? comment.trim().slice(0, MAX_COMMENT_CHARS) : "";
    if (text) payload.comment = text;
    this.enqueue(CSAT_SUBMITTED, () => payload);
  }
}
