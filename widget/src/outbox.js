/**
 * Visitor messages not yet acknowledged by the server (docs/protocol.md,
 * "Delivery").
 *
 * Every message gets a client id when it is typed. It stays here — and in
 * localStorage, so a reload or a crashed tab does not lose it — until the
 * server acks it (`{ok: true, message_id}`: stored) or refuses it for good.
 * It is re-sent with the same client id after an ack timeout and on every
 * reconnect; the server recognises the id, so a retry is never stored or
 * answered twice.
 */

import { getItem, OUTBOX_KEY, setItem } from "./storage.js";

// A message older than this is dropped from storage rather than sent late.
const MAX_AGE_MS = 24 * 3600 * 1000;
const MAX_ENTRIES = 50;

export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  constructor() {
    this.entries = new Map(); // clientId -> {clientId, message, pageUrl, at}
    for (const entry of this.load()) this.entries.set(entry.clientId, entry);
  }

  load() {
    try {
      const stored = JSON.parse(getItem(OUTBOX_KEY) || "[]");
      const now = Date.now();
      return Array.isArray(stored)
        ? stored.filter(
            (e) =>
              e && typeof e.clientId === "string" && typeof e.message === "string" &&
              typeof e.at === "number" && now - e.at < MAX_AGE_MS
          )
        : [];
    } catch (_) {
      return [];
    }
  }

  save() {
    setItem(OUTBOX_KEY, JSON.stringify([...this.entries.values()].slice(-MAX_ENTRIES)));
  }

  add(message, pageUrl) {
    const entry = { clientId: newClientId(), message, pageUrl, at: Date.now() };
    this.entries.set(entry.clientId, entry);
    this.save();
    return entry;
  }

  /** The server has it (or refused it for good): forget it. */
  done(clientId) {
    if (this.entries.delete(clientId)) this.save();
  }

  /** Drop every waiting message (the person using the browser changed). */
  clear() {
    this.entries.clear();
    this.save();
  }

  /** Waiting messages, oldest first. */
  pending() {
    return [...this.entries.values()].sort((a, b) => a.at - b.at);
  }
}
