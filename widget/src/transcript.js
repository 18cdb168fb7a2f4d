/**
 * The message log: keeps messages in server order and free of duplicates.
 *
 * Bot messages carry the stored `message_id`; `history` (sent after
 * `session_confirm`; on a reconnect only what is newer than what we saw) may
 * repeat messages already on screen. Visitor bubbles are drawn before the
 * server has an id for them ("sending"); the server's ack gives them their id,
 * and a history entry with the same `client_id` claims the bubble instead of
 * being drawn twice.
 *
 * A `bot_uttered` with `sender: {type: "agent", name}` (and a history entry
 * with `direction: "agent"`, `sender_name`) is a person's message: drawn as
 * an agent bubble labelled with their name, once per run of messages.
 */

import { botMessage, disableGroup, displayName, systemNote, visitorMessage } from "./render.js";

/** role and name of a live message's sender (`bot_uttered.sender`). */
function senderOf(payload) {
  const sender = payload.sender && typeof payload.sender === "object" ? payload.sender : null;
  if (sender && sender.type === "agent") return { role: "agent", name: displayName(sender.name) };
  return { role: "bot", name: "" };
}

export class Transcript {
  constructor(log, ctx) {
    this.log = log;
    this.ctx = ctx;
    this.seen = new Set();
    this.unclaimed = []; // visitor bubbles without a server id, oldest first
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  /**
   * Insert a node in message-id order; nodes without an id stay in place.
   * Visitor bubbles not emitted yet ("queued") will get larger ids than
   * anything stored, so a stored message goes before them. `history` passes
   * "pending" instead: everything in it was stored before the bubbles it does
   * not claim (a bubble it does claim is moved to its own place then).
   */
  insert(node, id, before = "queued") {
    let placed = false;
    if (typeof id === "number") {
      node.dataset.mid = String(id);
      for (const child of this.log.children) {
        if ((child.dataset.mid && Number(child.dataset.mid) > id) || child.classList.contains(before)) {
          this.log.insertBefore(node, child);
          placed = true;
          break;
        }
      }
    }
    if (!placed) {
      this.log.appendChild(node);
      this.scrollToEnd();
    }
    this.groupSender(node);
    if (node.nextElementSibling) this.groupSender(node.nextElementSibling);
  }

  /** An agent's name is shown once per run of their messages. */
  groupSender(node) {
    const sender = node.dataset.sender;
    if (!sender || !sender.startsWith("agent:")) return;
    const prev = node.previousElementSibling;
    node.classList.toggle("same-sender", !!prev && prev.dataset.sender === sender);
  }

  /** Returns false when the message was already shown. */
  remember(id) {
    if (typeof id !== "number") return true;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }

  /**
   * Draw a visitor bubble. `shown` is what the visitor sees, `message` what is
   * sent (a quick reply shows its title but sends its payload). Returns the
   * entry; the caller sets `entry.generation` once it has really been emitted.
   */
  addVisitor(shown, message) {
    this.retireReplies();
    const node = visitorMessage(shown);
    // "pending" until the server acknowledges it; "queued" until it is emitted.
    node.classList.add("pending", "queued");
    node.setAttribute("aria-busy", "true");
    const entry = { node, text: shown, message, generation: null, clientId: null };
    this.unclaimed.push(entry);
    this.log.appendChild(node);
    this.scrollToEnd();
    return entry;
  }

  /** The server stored the message: it has its id and its place. */
  acked(entry, messageId) {
    entry.node.classList.remove("pending", "queued");
    entry.node.removeAttribute("aria-busy");
    this.unclaimed = this.unclaimed.filter((u) => u !== entry);
    if (Number.isInteger(messageId) && this.remember(messageId)) {
      entry.node.dataset.mid = String(messageId);
    }
  }

  /** The server refused the message for good (the error note says why). */
  refused(entry) {
    entry.node.classList.remove("pending", "queued");
    entry.node.removeAttribute("aria-busy");
    entry.node.classList.add("failed");
    entry.node.title = "Not sent";
    this.unclaimed = this.unclaimed.filter((u) => u !== entry);
  }

  /** A live `bot_uttered`. Returns true when something new was drawn. */
  addBot(payload) {
    const id = Number.isInteger(payload.message_id) ? payload.message_id : undefined;
    if (!this.remember(id)) return false;
    const node = botMessage(payload, this.ctx, { ...senderOf(payload), live: true });
    if (!node) return false;
    if (node.querySelector(".replies")) this.retireReplies();
    this.insert(node, id);
    return true;
  }

  addHistory(messages) {
    const sorted = messages
      .filter((m) => m && typeof m === "object" && Number.isInteger(m.id))
      .sort((a, b) => a.id - b.id);
    const last = sorted[sorted.length - 1];
    for (const m of sorted) {
      if (!this.remember(m.id)) continue;
      const payload = m.payload && typeof m.payload === "object" ? m.payload : {};
      const text = typeof m.text === "string" ? m.text : payload.text;
      if (m.direction === "visitor") {
        if (typeof text !== "string" || !text) continue;
        // Our own bubble, stored before its ack reached us (or from before a reload).
        const claim = this.unclaimed.findIndex((u) =>
          typeof m.client_id === "string" ? u.clientId === m.client_id : u.message === text || u.text === text
        );
        if (claim !== -1) {
          const [{ node }] = this.unclaimed.splice(claim, 1);
          node.classList.remove("pending", "queued");
          node.removeAttribute("aria-busy");
          // Re-sent after a reload, it may have been drawn before older messages.
          node.remove();
          this.insert(node, m.id, "pending");
          continue;
        }
        // Payload-triggered turns ("/intent{...}") are not worth showing.
        if (text.startsWith("/")) continue;
        this.insert(visitorMessage(text), m.id, "pending");
        continue;
      }
      if (m.direction === "system") {
        // Transition lines ("Alex joined the chat") are notes, not messages.
        if (typeof text === "string" && text) this.insert(systemNote(text), m.id, "pending");
        continue;
      }
      const role = m.direction === "agent" ? "agent" : "bot";
      const name = role === "agent" ? displayName(m.sender_name) : "";
      // Only the very last message's buttons can still be answered.
      const live = m === last && !this.log.querySelector(".replies:not(.used)");
      const node = botMessage({ ...payload, text }, this.ctx, { role, name, live });
      if (node) this.insert(node, m.id, "pending");
    }
    this.scrollToEnd();
  }

  /**
   * `history` with `reset: true`: the visitor was forgotten. Everything on
   * screen goes, except the local greeting and visitor messages that belong
   * to the new session (still queued, or emitted since it was confirmed).
   */
  reset(generation) {
    this.seen.clear();
    const keep = this.unclaimed.filter((u) => u.generation === null || u.generation >= generation);
    const keepNodes = new Set(keep.map((u) => u.node));
    for (const node of [...this.log.children]) {
      if (!node.classList.contains("greeting") && !keepNodes.has(node)) node.remove();
    }
    for (const node of keepNodes) delete node.dataset.mid;
    this.unclaimed = keep;
  }

  /** Sign-out: nothing of the previous person stays on screen (the greeting does). */
  clear() {
    this.seen.clear();
    this.unclaimed = [];
    for (const node of [...this.log.children]) {
      if (!node.classList.contains("greeting")) node.remove();
    }
  }

  /** The message was emitted on a confirmed connection (still awaiting its ack). */
  sent(entry, generation) {
    entry.generation = generation;
    entry.node.classList.remove("queued");
  }

  /** A new server-side conversation began: ids seen so far mean nothing to it. */
  forgetIds() {
    this.seen.clear();
    for (const node of this.log.querySelectorAll("[data-mid]")) delete node.dataset.mid;
  }

  /** Old suggestion buttons stop working once the conversation moves on. */
  retireReplies() {
    for (const group of this.log.querySelectorAll(".replies:not(.used)")) disableGroup(group);
  }

  addNode(node) {
    this.log.appendChild(node);
    this.scrollToEnd();
  }
}
