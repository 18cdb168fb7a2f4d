/** Middle column: the conversation header with its actions, the transcript and the composer. */

import { html } from "../html.js";
import { isMine } from "../store.js";
import { STATE_LABELS, REASON_LABELS, visitorName, agentName } from "../format.js";
import { accept, resolve, handback, openDialog, back, showVisitor, dismissConflict } from "../actions/index.js";
import { Icon } from "./icons.js";
import { Transcript } from "./Transcript.js";
import { Composer } from "./Composer.js";

export function EmptyConversation({ state }) {
  const waiting = Object.values(state.conversations).filter((c) => c.state === "queued").length;
  return html`
    <div class="empty-main">
      <div class="empty-illustration" aria-hidden="true"><${Icon} name="bot" size=${40} /></div>
      <h2>No conversation selected</h2>
      <p>Pick a conversation from the list${waiting ? ` — ${waiting} waiting in the queue` : ""}.</p>
    </div>
  `;
}

export function Conversation({ state, conversation: c }) {
  const me = state.me;
  const details = state.details[c.id] || {};
  const visitor = details.visitor || c.visitor || null;
  const name = visitorName(visitor, c.visitor_id);
  const mine = isMine(c, me);
  const typing = !!state.visitorTyping[c.id];
  const conflict = state.conflicts[c.id];
  return html`
    <section class="conversation" aria-labelledby="conv-title">
      <header class="conv-header">
        <button type="button" class="btn icon-btn back-btn" onClick=${back} aria-label="Back to the list">
          <${Icon} name="back" />
        </button>
        <div class="conv-title">
          <h2 id="conv-title">${name}</h2>
          <p class="conv-sub">
            <span class=${`chip state-${c.state || "unknown"}`}>${stateText(c, me)}</span>
            ${c.handoff_reason && c.state !== "bot"
              ? html`<span class="conv-reason">${REASON_LABELS[c.handoff_reason] || c.handoff_reason}</span>` : null}
            <span class=${`presence-text ${visitor && visitor.online ? "on" : "off"}`}>
              ${visitor && visitor.online ? "Online" : "Offline"}</span>
          </p>
          ${c.campaign_id ? html`<p class="opened-by" data-campaign=${c.campaign_id}>
            Opened by campaign <strong>${c.campaign_name || `#${c.campaign_id}`}</strong>${c.campaign_arm ? html` · variant <strong>${c.campaign_arm}</strong>` : null}</p>` : null}
        </div>
        <button type="button" class="btn icon-btn info-btn" onClick=${() => showVisitor(c.id)} title="Visitor details">
          <${Icon} name="user" /><span class="btn-label">Visitor</span>
        </button>
        <div class="conv-actions">
          <${Actions} state=${state} c=${c} mine=${mine} />
        </div>
      </header>
      ${conflict ? html`
        <div class="conflict" role="alert">
          <span>${conflict}</span>
          <button type="button" class="btn small link" onClick=${() => dismissConflict(c.id)} aria-label="Dismiss">
            <${Icon} name="close" /></button>
        </div>` : null}
      ${c.csat && c.csat.score ? html`<${Csat} csat=${c.csat} />` : null}
      <${Transcript} state=${state} c=${c} name=${name} />
      <div class="typing-line" aria-live="polite">${typing ? html`<span class="typing-dots" aria-hidden="true"><i></i><i></i><i></i></span> ${name} is typing…` : ""}</div>
      <${Composer} key=${c.id} state=${state} c=${c} mine=${mine} name=${name} />
    </section>
  `;
}

function stateText(c, me) {
  if (c.loading && !c.state) return "Loading…";
  if (c.state === "assigned") {
    return isMine(c, me) ? "Assigned to you" : `Assigned to ${agentName(c.assigned_agent, me)}`;
  }
  return STATE_LABELS[c.state] || c.state || "";
}

function Csat({ csat }) {
  const score = Number(csat.score) || 0;
  return html`
    <div class="csat-line" aria-label=${`Visitor rating: ${score} out of 5`}>
      <span class="stars" aria-hidden="true">${"★".repeat(score)}${"☆".repeat(Math.max(0, 5 - score))}</span>
      <span>Rated ${score}/5</span>
      ${csat.comment ? html`<q class="csat-comment">${csat.comment}</q>` : null}
    </div>
  `;
}

function Actions({ state, c, mine }) {
  // A Resolve or Hand back waiting for its undo window counts as under way.
  const busy = state.busy[c.id] || state.undoable[c.id];
  const admin = state.me && state.me.role === "admin";
  const buttons = [];
  if (c.state === "queued") {
    buttons.push(html`<button type="button" class="btn primary" disabled=${!!busy} onClick=${() => accept(c.id)}>
      ${busy === "accept" ? "Accepting…" : "Accept"}</button>`);
  }
  if (c.state === "bot") {
    buttons.push(html`<button type="button" class="btn primary" disabled=${!!busy} onClick=${() => accept(c.id)}
      title="Take over from the bot (barge in)">
      <${Icon} name="join" /> ${busy === "join" ? "Joining…" : "Join"}</button>`);
  }
  if (c.state === "assigned" && (mine || admin)) {
    buttons.push(html`<button type="button" class="btn" disabled=${!!busy} onClick=${() => openDialog("transfer", { conversationId: c.id })}
      title="Transfer to another agent">
      <${Icon} name="transfer" /><span class="btn-label">Transfer</span></button>`);
    buttons.push(html`<button type="button" class="btn" disabled=${!!busy} onClick=${() => handback(c.id)}
      title="Hand back to the bot (not resolved)" aria-label="Hand back to bot">
      <${Icon} name="bot" /><span class="btn-label"><span class="long">Hand back to bot</span><span class="short">Hand back</span></span></button>`);
    buttons.push(html`<button type="button" class="btn primary" disabled=${!!busy} onClick=${() => resolve(c.id)}>
      <${Icon} name="check" /> ${busy === "resolve" ? "Resolving…" : "Resolve"}</button>`);
  }
  return buttons;
}
