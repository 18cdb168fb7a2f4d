/** Right column: who the visitor is, why they were handed off, and their earlier conversations. */

import { useEffect } from "preact/hooks";
import { toMs } from "../time.js";
import { html } from "../html.js";
import { REASON_LABELS, STATE_LABELS, visitorName, initials, humanize, slotText, confidence, when, ago, fullDate, preview } from "../format.js";
import { loadHistory, openConversation, showChat } from "../actions/index.js";
import { Icon } from "./icons.js";

/** "just now" or "5 min ago" (ago() says "just now" for the last 45 s). */
function seenAgo(value, now) {
  const text = ago(value, now);
  return text === "just now" ? text : `${text} ago`;
}

// Shown in their own rows; every other profile slot is listed generically.
const KNOWN_SLOTS = new Set([
  "interests", "marketing_consent", "consent", "name", "email",
  "marketing_consent_requested", "consent_at", "verified_email",
]);

export function VisitorPanel({ state, conversation: c }) {
  const details = state.details[c.id] || {};
  const visitor = details.visitor || c.visitor || null;
  const context = details.context || null;
  const name = visitorName(visitor, c.visitor_id);
  const vid = (visitor && visitor.id) || c.visitor_id;
  const profile = (visitor && visitor.profile && typeof visitor.profile === "object") ? visitor.profile : {};
  const consent = profile.marketing_consent !== undefined ? profile.marketing_consent : profile.consent;
  const interests = Array.isArray(profile.interests) ? profile.interests : profile.interests ? [profile.interests] : [];
  const otherSlots = Object.entries(profile).filter(([k, v]) => !KNOWN_SLOTS.has(k) && slotText(v) !== "");
  const online = !!(visitor && visitor.online);
  const asDrawer = state.pane === "visitor";

  // Shown over the conversation (narrow screens): Escape closes it.
  useEffect(() => {
    if (!asDrawer) return undefined;
    const onKey = (e) => { if (e.key === "Escape" && !state.dialog) showChat(c.id); };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [asDrawer, c.id, !!state.dialog]);

  return html`
    <div class="visitor-panel">
      <div class="panel-head">
        <button type="button" class="btn icon-btn back-btn" onClick=${() => showChat(c.id)} aria-label="Back to the conversation">
          <${Icon} name="back" /></button>
        <h2 class="panel-title">Visitor</h2>
      </div>

      <section class="card visitor-card" aria-label="Profile">
        <div class="visitor-id">
          <span class="avatar large" aria-hidden="true">${initials(name)}<span class=${`presence ${online ? "on" : "off"}`}></span></span>
          <div>
            <h3 class="visitor-name">${name}</h3>
            <p class=${`presence-text ${online ? "on" : "off"}`} data-testid="visitor-presence">
              ${online ? "Online now" : visitor && visitor.last_seen_at ? `Offline · seen ${seenAgo(visitor.last_seen_at, state.now)}` : "Offline"}
            </p>
          </div>
        </div>
        <dl class="facts">
          <dt>Email</dt><dd>${visitor && visitor.email ? visitor.email : html`<span class="muted">Not given</span>`}</dd>
          <dt>Marketing consent</dt>
          <dd>${consent === true ? html`<span class="chip ok">Yes</span>`
            : profile.marketing_consent_requested ? html`<span class="chip warn" title="A confirmation email was sent; consent counts once its link is confirmed">Pending confirmation</span>`
            : consent === false ? html`<span class="chip">No</span>` : html`<span class="muted">Not asked</span>`}</dd>
          ${profile.verified_email ? html`<dt>Verified email</dt><dd>${profile.verified_email}</dd>` : null}
          <dt>Interests</dt>
          <dd>${interests.length ? html`<span class="tags">${interests.map((i) => html`<span class="chip">${slotText(i)}</span>`)}</span>` : html`<span class="muted">None yet</span>`}</dd>
          ${otherSlots.map(([k, v]) => html`<dt>${humanize(k)}</dt><dd>${Array.isArray(v)
            ? html`<span class="tags">${v.map((x) => html`<span class="chip">${slotText(x)}</span>`)}</span>`
            : slotText(v)}</dd>`)}
          ${visitor && visitor.external_id ? html`<dt>Customer id</dt><dd>${visitor.external_id}</dd>` : null}
          ${visitor && visitor.created_at ? html`<dt>First seen</dt><dd title=${fullDate(visitor.created_at)}>${when(visitor.created_at, state.now)}</dd>` : null}
        </dl>
      </section>

      ${c.csat && c.csat.score ? html`
        <section class="card" aria-labelledby="csat-title">
          <h3 id="csat-title" class="card-title">Rating</h3>
          <p class="csat-big"><span class="stars" aria-hidden="true">${"★".repeat(c.csat.score)}</span> ${c.csat.score}/5</p>
          ${c.csat.comment ? html`<p class="muted">“${c.csat.comment}”</p>` : null}
        </section>` : null}

      <${Consents} visitor=${visitor} now=${state.now} />

      <${Emails} list=${details.emails} now=${state.now} />

      <${Handoff} c=${c} context=${context} />

      <section class="card" aria-labelledby="pages-title">
        <h3 id="pages-title" class="card-title">Recent pages</h3>
        ${visitor && Array.isArray(visitor.recent_pages) && visitor.recent_pages.length ? html`
          <ol class="pages">
            ${visitor.recent_pages.slice(0, 8).map((p) => html`
              <li><span class="page-url" title=${p.url}>${shortUrl(p.url)}</span>
                <span class="muted">${ago(p.at, state.now)}</span></li>`)}
          </ol>` : html`<p class="muted">No pages recorded.</p>`}
      </section>

      <${History} state=${state} vid=${vid} current=${c.id} />
    </div>
  `;
}

const CONSENT_TOPICS = { marketing_email: "Newsletter", followup_reply: "Reply by email" };
const CONSENT_SOURCES = {
  "chat:quick_reply": "quick reply in chat",
  "chat:typed": "typed in chat",
  identity_claim: "carried over at login",
  agent: "set by an agent",
  "email:double_opt_in": "confirmed by email link",
  "email:unsubscribe": "unsubscribe link",
  "identity:verified_email": "the site's verified address",
};
const CONSENT_STATUS = { pending: "pending confirmation", granted: "given", withdrawn: "withdrawn" };
const EMAIL_KINDS = {
  agent_reply: "Reply emailed", consent_confirm: "Newsletter confirmation", transcript: "Transcript",
};
const EMAIL_STATUS = { queued: "queued", sending: "sending", sent: "sent", failed: "failed", skipped: "not sent" };

/** Emails about this conversation: what, to whom, and how it went (a failure says why). */
function Emails({ list, now }) {
  if (!Array.isArray(list) || !list.length) return null;
  return html`
    <section class="card" aria-labelledby="emails-title" data-testid="conversation-emails">
      <h3 id="emails-title" class="card-title">Emails</h3>
      <ol class="consents">
        ${list.map((e) => html`
          <li key=${e.id}>
            <span>${EMAIL_KINDS[e.kind] || humanize(String(e.kind || ""))}${e.to ? ` to ${e.to}` : ""}:
              <span class=${`chip ${e.status === "sent" ? "ok" : e.status === "failed" ? "warn" : ""}`}>${EMAIL_STATUS[e.status] || e.status}</span></span>
            ${e.created_at ? html` <span class="muted" title=${fullDate(e.created_at)}>${when(e.created_at, now)}</span>` : null}
            ${e.last_error ? html`<span class=${e.status === "failed" ? "email-error" : "intent-text"}>${e.status === "failed" ? "Failed: " : ""}${e.last_error}</span>` : null}
          </li>`)}
      </ol>
    </section>`;
}

/** Every consent change: what, given or withdrawn, how, when, and the text agreed to. */
function Consents({ visitor, now }) {
  const list = visitor && Array.isArray(visitor.consents) ? visitor.consents : [];
  if (!list.length) return null;
  return html`
    <section class="card" aria-labelledby="consent-title" data-testid="consent-records">
      <h3 id="consent-title" class="card-title">Consent records</h3>
      <ol class="consents">
        ${list.slice().reverse().map((r) => html`
          <li>
            <span>${CONSENT_TOPICS[r.topic] || humanize(String(r.topic || ""))}: ${CONSENT_STATUS[r.status] || (r.granted ? "given" : "withdrawn")}
              · ${CONSENT_SOURCES[r.source] || String(r.source || "")}</span>
            ${r.at ? html` <span class="muted" title=${fullDate(r.at)}>${when(r.at, now)}</span>` : null}
            ${r.agreed_to ? html`<span class="intent-text">Agreed to: “${r.agreed_to}”</span>` : null}
          </li>`)}
      </ol>
    </section>`;
}

function shortUrl(url) {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}${u.hash}` || u.host;
  } catch (_) {
    return String(url || "");
  }
}

function productList(label, ids) {
  if (!Array.isArray(ids) || !ids.length) return null;
  return html`<dt>${label}</dt><dd><span class="tags">${ids.map((p) => html`<span class="chip">${slotText(p)}</span>`)}</span></dd>`;
}

function Handoff({ c, context }) {
  const reason = (context && context.handoff_reason) || c.handoff_reason;
  const intents = context && Array.isArray(context.last_intents) ? context.last_intents : [];
  return html`
    <section class="card" aria-labelledby="handoff-title">
      <h3 id="handoff-title" class="card-title">Context</h3>
      <dl class="facts">
        <dt>Handoff reason</dt>
        <dd>${reason ? REASON_LABELS[reason] || reason : html`<span class="muted">No handoff</span>`}</dd>
        ${productList("Products shown", context && context.products_shown)}
        ${productList("Clicked", context && context.products_clicked)}
        ${productList("Declined", context && context.products_declined)}
      </dl>
      ${intents.length ? html`
        <h4 class="sub-title">Last intents</h4>
        <ol class="intents">
          ${intents.slice(-6).reverse().map((i) => html`
            <li><span class="intent">${i.intent}${i.confidence !== undefined && i.confidence !== null ? ` · ${confidence(i.confidence)}` : ""}</span>
              ${i.text ? html`<span class="intent-text">“${i.text}”</span>` : null}</li>`)}
        </ol>` : null}
    </section>
  `;
}

/** The newer of a history entry and the live summary (kept current by events): true states. */
function fresher(listed, live) {
  return live && toMs(live.updated_at) >= toMs(listed.updated_at) ? { ...listed, ...live } : listed;
}

function History({ state, vid, current }) {
  if (!vid) return null;
  const h = state.histories[vid] || {};
  const list = (h.conversations || []).filter((x) => x.id !== current);
  return html`
    <section class="card" aria-labelledby="history-title">
      <h3 id="history-title" class="card-title">Earlier conversations</h3>
      ${h.loading && !h.conversations ? html`<p class="muted">Loading…</p>` : null}
      ${h.conversations && !list.length ? html`<p class="muted">None.</p>` : null}
      ${h.error ? html`<p class="error">${h.error}</p>` : null}
      <ul class="history">
        ${list.map((listed) => fresher(listed, state.conversations[listed.id])).map((x) => html`
          <li><button type="button" class="history-item" onClick=${() => openConversation(x)}>
            <span class="history-top"><span>${when(x.created_at, state.now)}</span>
              <span class=${`chip state-${x.state}`}>${STATE_LABELS[x.state] || x.state}</span>
              ${x.csat && x.csat.score ? html`<span class="chip csat">★ ${x.csat.score}</span>` : null}</span>
            <span class="history-preview">${preview(x.last_message, state.me, x) || "No messages"}</span>
          </button></li>`)}
      </ul>
      ${h.next ? html`<button type="button" class="btn small link" disabled=${h.loading} onClick=${() => loadHistory(vid, true)}>
        ${h.loading ? "Loading…" : "Show more"}</button>` : null}
    </section>
  `;
}
