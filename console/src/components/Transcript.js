/**
 * The live transcript. Every text is rendered as text (Preact escapes it);
 * bot payloads (cards, buttons) are summarised, never rendered as markup.
 */

import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { clock, fullDate, confidence, agentName } from "../format.js";
import { formatPrice } from "../price.js";
import { toDate } from "../time.js";
import { loadOlder, retry, discard } from "../actions/index.js";

const NEAR_BOTTOM_PX = 80;

export function Transcript({ state, c, name }) {
  const t = state.transcripts[c.id] || { messages: [], outbox: [], loading: true };
  const messages = t.messages || [];
  const outbox = t.outbox || [];
  const ref = useRef(null);
  const atBottom = useRef(true);
  const last = useRef({ cid: null, first: null, lastKey: null, height: 0 });
  const [unseen, setUnseen] = useState(0);

  const firstId = messages.length ? messages[0].id : null;
  const lastKey = `${messages.length ? messages[messages.length - 1].id : ""}/${outbox.length}`;

  // Keep the view pinned to the newest message unless the agent scrolled up;
  // keep it still when older messages are prepended.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const prev = last.current;
    if (prev.cid !== c.id) {
      el.scrollTop = el.scrollHeight;
      atBottom.current = true;
      setUnseen(0);
    } else if (prev.first !== firstId && prev.lastKey === lastKey && prev.first !== null) {
      el.scrollTop += el.scrollHeight - prev.height;
    } else if (prev.lastKey !== lastKey) {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      else setUnseen((n) => n + 1);
    }
    last.current = { cid: c.id, first: firstId, lastKey, height: el.scrollHeight };
  });

  // The column can shrink (a rating or conflict line appears, the composer grows):
  // stay pinned to the newest message.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  function onScroll() {
    const el = ref.current;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom.current && unseen) setUnseen(0);
    last.current.height = el.scrollHeight;
  }

  function jump() {
    const el = ref.current;
    el.scrollTop = el.scrollHeight;
    setUnseen(0);
  }

  let previousDay = null;
  const items = [];
  for (const m of messages) {
    const date = toDate(m.created_at);
    const day = date ? date.toDateString() : null;
    if (day && day !== previousDay) {
      items.push(html`<li class="day" key=${`day-${day}`}><span>${dayLabel(m.created_at)}</span></li>`);
      previousDay = day;
    }
    items.push(html`<${Message} key=${m.id} m=${m} me=${state.me} name=${name} />`);
  }

  return html`
    <div class="transcript-wrap">
      <div class="transcript" ref=${ref} onScroll=${onScroll} tabindex="0"
        role="log" aria-live="polite" aria-relevant="additions" aria-label=${`Messages with ${name}`}
        aria-busy=${t.loading || t.loadingOlder ? "true" : "false"}>
        ${t.hasMore ? html`
          <div class="older">
            <button type="button" class="btn small" disabled=${t.loadingOlder} onClick=${() => loadOlder(c.id)}>
              ${t.loadingOlder ? "Loading…" : "Load earlier messages"}</button>
          </div>` : null}
        ${t.loading && !messages.length ? html`<p class="transcript-status">Loading messages…</p>` : null}
        ${t.error ? html`<p class="transcript-status error" role="alert">${t.error}</p>` : null}
        ${!t.loading && !t.error && !messages.length && !outbox.length ? html`<p class="transcript-status">No messages yet.</p>` : null}
        <ol class="messages">
          ${items}
          ${outbox.map((item) => html`<${Outgoing} key=${item.key} item=${item} cid=${c.id} />`)}
        </ol>
      </div>
      ${unseen ? html`<button type="button" class="btn small jump" onClick=${jump}>New messages ↓</button>` : null}
    </div>
  `;
}

function dayLabel(value) {
  const d = toDate(value);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return "Today";
  const yesterday = new Date(today.getTime() - 86400000);
  if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
}

function Time({ value }) {
  return html`<time datetime=${value} title=${fullDate(value)}>${clock(value)}</time>`;
}

export function Message({ m, me, name }) {
  const dir = m.direction;
  if (dir === "system") {
    return html`<li class="msg msg-system" data-message-id=${m.id}>
      <span class="system-text">${m.text}</span> <${Time} value=${m.created_at} /></li>`;
  }
  if (dir === "note") {
    return html`<li class="msg msg-note" data-message-id=${m.id}>
      <div class="note-card">
        <div class="note-head">
          <span class="note-label">Internal note – the visitor never sees this</span>
        </div>
        <p class="text">${m.text}</p>
        <div class="meta">${agentName(m.agent, me) || "Agent"} · <${Time} value=${m.created_at} /></div>
      </div>
    </li>`;
  }
  const who = dir === "visitor" ? name : dir === "bot" ? "Bot" : agentName(m.agent, me) || "Agent";
  const intent = dir === "visitor" && m.intent
    ? html`<span class="intent" title="What the bot understood">${m.intent}${m.confidence !== null && m.confidence !== undefined ? ` · ${confidence(m.confidence)}` : ""}</span>`
    : null;
  // An answer that came back by email (services/email/inbound.py).
  const byEmail = dir === "visitor" && m.payload && m.payload.channel === "email";
  return html`
    <li class=${`msg msg-${dir}${byEmail ? " msg-email" : ""}`} data-message-id=${m.id}>
      <div class="bubble-wrap">
        <span class="sender">${who}${byEmail ? html` <span class="chip channel-email" title="Sent by email">by email</span>` : null}</span>
        ${m.text ? html`<p class="bubble text">${m.text}</p>` : null}
        ${dir === "bot" ? html`<${Payload} payload=${m.payload} />` : null}
        <div class="meta"><${Time} value=${m.created_at} />${intent ? " · " : ""}${intent}</div>
      </div>
    </li>
  `;
}

/** Cards and buttons the bot showed, summarised as text. */
function Payload({ payload }) {
  if (!payload || typeof payload !== "object") return null;
  const custom = payload.custom && typeof payload.custom === "object" ? payload.custom : null;
  const products = custom && Array.isArray(custom.products) ? custom.products.filter((p) => p && p.name) : [];
  const buttons = [].concat(Array.isArray(payload.quick_replies) ? payload.quick_replies : [],
    Array.isArray(payload.buttons) ? payload.buttons : []).filter((b) => b && typeof b.title === "string");
  const parts = [];
  if (products.length) {
    parts.push(html`<ul class="products" aria-label="Products shown">
      ${products.slice(0, 10).map((p) => html`<li class="product">
        <span class="product-name">${String(p.name)}</span>
        ${p.price !== undefined ? html`<span class="product-price">${formatPrice(p.price, p.currency)}</span>` : null}
      </li>`)}
    </ul>`);
  }
  if (custom && custom.type === "assistant_unavailable") parts.push(html`<p class="bubble warn">The assistant was unavailable.</p>`);
  if (buttons.length) {
    parts.push(html`<div class="offered"><span class="offered-label">Offered:</span>
      ${buttons.map((b) => html`<span class="chip">${b.title}</span>`)}</div>`);
  }
  return parts.length ? parts : null;
}

function Outgoing({ item, cid }) {
  const failed = item.status === "failed";
  return html`
    <li class=${`msg ${item.note ? "msg-note" : "msg-agent"} outgoing${failed ? " failed" : ""}`}>
      ${item.note ? html`
        <div class="note-card">
          <div class="note-head"><span class="note-label">Internal note – the visitor never sees this</span></div>
          <p class="text">${item.text}</p>
          <div class="meta">${failed ? "" : "Saving…"}</div>
        </div>` : html`
        <div class="bubble-wrap">
          <span class="sender">You</span>
          <p class="bubble text">${item.text}</p>
          <div class="meta">${failed ? "" : "Sending…"}</div>
        </div>`}
      ${failed ? html`
        <div class="send-failed" role="alert">
          <span>Not sent: ${item.error}</span>
          <button type="button" class="btn small" onClick=${() => retry(cid, item.key)}>Retry</button>
          <button type="button" class="btn small link" onClick=${() => discard(cid, item.key)}>Discard</button>
        </div>` : null}
    </li>
  `;
}
