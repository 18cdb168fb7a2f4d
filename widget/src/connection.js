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
 *
 * Whenever the person changes — the page stops sending the identity, sends
 * another customer's, or an anonymous visitor signs in — the stored session
 * id and the unsent messages of the previous person are dropped before
 * anything is sent (storage.js, PERSON_KEYS). The one exception is a claim
 * carrying `merge_anonymous` (signed by the site's backend): the anonymous
 * session id is then presented with it so the server can carry that
 * conversation over. `logout()` does the same on a live page.
 */

import { io } from "socket.io-client";
import {
  AGENT_TYPING,
  BOT_UTTERED,
  CAMPAIGN_DISMISSED,
  CAMPAIGN_READY,
  CAMPAIGN_SHOWN,
  CAMPAIGN_WATCH,
  CARD_CLICKED,
  CSAT_RECORDED,
  CSAT_REQUEST,
  CSAT_SUBMITTED,
  ERROR,
  HANDOFF_STATUS,
  HISTORY,
  IDENTITY_REJECTED,
  INVALID_CAMPAIGN_TOKEN,
  NPS_SUBMITTED,
  RAPPORT_CAPABILITY,
  RATE_LIMITED,
  RESYNC,
  SESSION_CONFIRM,
  EMAIL_TRANSCRIPT,
  SESSION_REQUEST,
  SITE_TRIGGER,
  UNAVAILABLE,
  UNKNOWN_CAMPAIGN,
  USER_UTTERED,
  VISITOR_TYPING,
} from "./protocol.gen.js";
import { Outbox } from "./outbox.js";
import { Position } from "./sequence.js";
import { forgetPerson, getItem, setItem, SESSION_KEY, SESSION_USER_KEY } from "./storage.js";

export const MAX_MESSAGE_CHARS = 2000;
export const MAX_COMMENT_CHARS = 1000;
// A message not acknowledged by then is sent again (same client id).
const ACK_TIMEOUT_MS = 8000;
// At most one gap fetch in this time (the server sends in order; this is a safety net).
const GAP_FETCH_MS = 2000;

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
   *   onCsatRequest({conversation_id}), onCsatRecorded({conversation_id}),
   *   onCampaignWatch({campaign_id, token, when}), onCampaignShown({campaign_id, kind, ...})
   */
  constructor(origin, identity, handlers) {
    this.origin = origin;
    this.identity = identity;
    this.handlers = handlers;
    // A session confirmed for one person is not handed to whoever uses this
    // browser next (signed out, another customer, or a visitor who signed
    // in): their id and unsent messages are forgotten before anything is sent.
    const sessionUser = getItem(SESSION_USER_KEY);
    const user = identity ? identity.user_id : "";
    if (sessionUser !== null && sessionUser !== user) {
      const anonymous = sessionUser === "" ? getItem(SESSION_KEY) : null;
      forgetPerson();
      // Signing in with a merge the site's backend signed: present the anonymous id.
      if (anonymous && identity && identity.merge_anonymous) setItem(SESSION_KEY, anonymous);
    }
    this.sessionId = getItem(SESSION_KEY);
    this.confirmedId = null; // the id confirmed on this page, if any
    this.generation = 0; // bumped on every session_confirm (each connection)
    this.confirmed = false;
    this.queue = [];
    this.socket = null;
    // Visitor messages until the server acks them (survives reloads).
    this.outbox = new Outbox();
    this.inFlight = new Set(); // client ids emitted and awaiting their ack
    this.callbacks = new Map(); // client id -> {onSent, onAck, onRefused}
    // The newest message id this page has shown (for servers without `seq`).
    this.lastMessageId = 0;
    // The visitor's messages are numbered (`seq`) without holes: the highest
    // number up to which this page holds all of them. A reconnect, `resync`
    // or a message that skips ahead asks for what follows it (sequence.js).
    this.position = new Position();
    this.gapFetchedAt = 0;
    this.gapTimer = null;
    this.campaignEmittedAt = 0; // when a campaign event last left (campaignError)
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
    if (this.confirmedId) {
      request.after_seq = this.position.value;
      if (this.lastMessageId) request.last_message_id = this.lastMessageId;
    }
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
      const { fresh, gap } = this.position.offer(payload.seq);
      if (gap) this.fetchGap();
      if (!fresh) return; // already shown
      this.seen(payload.message_id);
      this.handlers.onBotMessage(payload);
    });
    socket.on(HISTORY, (data) => {
      const messages = isObject(data) && Array.isArray(data.messages) ? data.messages : [];
      const reset = isObject(data) && data.reset === true;
      if (reset) this.position.reset();
      for (const m of messages) {
        if (!isObject(m)) continue;
        this.seen(m.id);
        this.position.offer(m.seq);
      }
      // A catch-up (or the latest page) brings us through `through_seq`. The
      // latest page (no `after_seq`) says where we stand, even below our count.
      if (isObject(data) && Number.isInteger(data.through_seq)) {
        if (Number.isInteger(data.after_seq)) this.position.covered(data.after_seq, data.through_seq);
        else if (data.through_seq < this.position.value) this.position.reset(data.through_seq);
        else this.position.covered(this.position.value, data.through_seq);
      }
      this.handlers.onHistory(messages, reset);
      if (this.position.gap) this.fetchGap();
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
    // Proactive campaigns (docs/protocol.md): only objects naming a campaign.
    socket.on(CAMPAIGN_WATCH, (data) => {
      if (isObject(data) && data.campaign_id !== undefined && typeof data.token === "string") {
        this.handlers.onCampaignWatch(data);
      }
    });
    socket.on(CAMPAIGN_SHOWN, (data) => {
      if (isObject(data) && data.campaign_id !== undefined) this.handlers.onCampaignShown(data);
    });
    socket.on(ERROR, (data) => {
      if (!isObject(data)) return;
      if (data.code === IDENTITY_REJECTED) this.identityRejected(data);
      else if (this.campaignError(data)) console.warn("Rapport:", data.message || data.code);
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
      this.position.reset();
      if (this.handlers.onNewSession) this.handlers.onNewSession();
    }
    // "Email me this conversation" is offered only when the server says the
    // visitor has a verified or confirmed address.
    if (this.handlers.onConfirm) this.handlers.onConfirm({ emailTranscript: isObject(data) && data.email_transcript === true });
    this.status("online");
    this.flush();
    for (const entry of this.outbox.pending()) this.deliver(entry);
  }

  /**
   * Sign out (`Rapport.logout()`): forget the customer's session id and unsent
   * messages, close this connection (so nothing more of theirs arrives) and
   * start a fresh anonymous session on a new one.
   */
  logout() {
    this.identity = null;
    forgetPerson();
    this.outbox.clear();
    this.callbacks.clear();
    this.inFlight.clear();
    this.queue = [];
    this.sessionId = null;
    this.confirmedId = null;
    this.confirmed = false;
    this.lastMessageId = 0;
    this.position.reset();
    if (this.socket) {
      this.socket.disconnect();
      this.socket.connect(); // "connect" requests a session: a new anonymous one
    }
  }

  /** The anonymous visitor id of this browser (null while a customer is signed in). */
  get anonymousId() {
    return !this.identity && this.confirmedId ? visitorOf(this.confirmedId) : null;
  }

  /** A message skipped ahead of our position: ask for what follows it, now. */
  fetchGap() {
    const now = Date.now();
    if (!this.confirmedId || !this.ready) return;
    const wait = this.gapFetchedAt + GAP_FETCH_MS - now;
    if (wait > 0) {
      // Asked a moment ago: look again when the wait is over (no later
      // message may come to notice the gap).
      if (!this.gapTimer) {
        this.gapTimer = setTimeout(() => {
          this.gapTimer = null;
          if (this.position.gap) this.fetchGap();
        }, wait);
      }
      return;
    }
    this.gapFetchedAt = now;
    this.requestSession();
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

  /** "Email me this conversation": `done(text, isError)` with what to tell the visitor. */
  emailTranscript(done) {
    this.enqueue(EMAIL_TRANSCRIPT, () => ({}), null, (err, ack) => {
      if (err || !isObject(ack)) done("We couldn't send the email. Please try again.", true);
      else if (ack.ok) done(`We've emailed this conversation to ${ack.to}.`, false);
      else done(typeof ack.message === "string" ? ack.message : "We couldn't send the email.", true);
    });
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
        // Held, but it only moves the position when nothing is missing below it.
        this.position.offer(ack.seq);
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

  /**
   * An error about a campaign event is the site's or the server's business,
   * not the visitor's: it is not shown in the chat. A campaign's own codes
   * say so; a rate limit right after a campaign event (and with no message
   * of the visitor's awaiting its answer) is taken to be about that event.
   */
  campaignError(error) {
    if (error.code === UNKNOWN_CAMPAIGN || error.code === INVALID_CAMPAIGN_TOKEN) return true;
    return error.code === RATE_LIMITED && this.inFlight.size === 0 && Date.now() - this.campaignEmittedAt < 3000;
  }

  /** Queue a campaign event (remembering when, for campaignError). */
  enqueueCampaign(event, build) {
    this.enqueue(event, build, () => {
      this.campaignEmittedAt = Date.now();
    });
  }

  /** A watched campaign's condition holds on this page (sent once per watch). */
  campaignReady(campaignId, token) {
    const url = location.href.split("#")[0];
    this.enqueueCampaign(CAMPAIGN_READY, () => ({ campaign_id: campaignId, token, url }));
  }

  /** `Rapport.trigger(name, data)`: the server limits these too. */
  siteTrigger(name, data) {
    const payload = { name, url: location.href.split("#")[0] };
    if (data !== undefined) payload.data = data;
    this.enqueueCampaign(SITE_TRIGGER, () => payload);
  }

  /** The visitor closed a campaign's teaser (the server remembers it across devices). */
  campaignDismissed(campaignId) {
    this.enqueueCampaign(CAMPAIGN_DISMISSED, () => ({ campaign_id: campaignId }));
  }

  /** An NPS answer (0–10) to a survey campaign. */
  npsSubmitted(campaignId, score) {
    this.enqueueCampaign(NPS_SUBMITTED, () => ({ campaign_id: campaignId, score }));
  }

  /** A rating for a resolved conversation (queued like a message). */
  submitCsat(conversationId, score, comment) {
    const payload = { conversation_id: conversationId, score };
    const text = typeof comment === "string" ? comment.trim().slice(0, MAX_COMMENT_CHARS) : "";
    if (text) payload.comment = text;
    this.enqueue(CSAT_SUBMITTED, () => payload);
  }
}
